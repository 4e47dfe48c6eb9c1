//! The command line's logger for the library's events (the `log` facade): one line per event
//! on stderr, `chat-limiter: LEVEL: message`.
//!
//! The level is `warn` unless `CHAT_LIMITER_LOG` says otherwise (`error`, `warn`, `info`,
//! `debug`, `trace` or `off`). A failed write (a closed stderr) is ignored, never a panic. A
//! dozen lines of our own instead of a logging crate: the CLI needs no more than this.

use std::io::Write;

use log::{LevelFilter, Log, Metadata, Record};

/// The environment variable that sets the level.
pub const LEVEL_VAR: &str = "CHAT_LIMITER_LOG";

struct StderrLogger;

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }
    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            let level = match record.level() {
                log::Level::Warn => "warning".to_string(),
                other => other.as_str().to_ascii_lowercase(),
            };
            let _ = writeln!(std::io::stderr(), "chat-limiter: {level}: {}", record.args());
        }
    }
    fn flush(&self) {}
}

/// Writes `text` to stderr as it is; a failed write (a closed stderr) is ignored, never a
/// panic (`eprint!` panics on one).
pub fn say(text: &str) {
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// The level `CHAT_LIMITER_LOG` asks for (`warn` when unset or not understood).
pub fn level_from(value: Option<&str>) -> LevelFilter {
    value.and_then(|v| v.trim().parse().ok()).unwrap_or(LevelFilter::Warn)
}

/// Installs the logger (once; a second call changes nothing).
pub fn install() {
    let level = level_from(std::env::var(LEVEL_VAR).ok().as_deref());
    if log::set_logger(&StderrLogger).is_ok() {
        log::set_max_level(level);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_comes_from_the_variable_with_warn_by_default() {
        assert_eq!(level_from(None), LevelFilter::Warn);
        assert_eq!(level_from(Some("debug")), LevelFilter::Debug);
        assert_eq!(level_from(Some(" OFF ")), LevelFilter::Off);
        assert_eq!(level_from(Some("loud")), LevelFilter::Warn);
    }
}
