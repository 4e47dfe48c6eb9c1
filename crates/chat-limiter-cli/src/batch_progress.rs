//! The progress of a `--via batch` job: each batch's counts and how long it has been running.
//!
//! On a terminal, one bar per batch (items ended of its total, its status, errored, expired and
//! cancelled counts, and its running time), redrawn in place. Elsewhere (a log file, CI), one
//! line per batch when its status or counts change, and otherwise at most every
//! [`HEARTBEAT`], so a long batch neither floods the log nor looks dead.

use std::collections::HashMap;
use std::io::{self, IsTerminal};
use std::time::{Duration, Instant};

use chat_limiter::{BatchInfo, RequestCounts};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::auto_plan::human;
use crate::batch_submit::unix_now;

/// How often an unchanged batch is reported when there is no terminal.
pub const HEARTBEAT: Duration = Duration::from_secs(600);

/// What was last shown of a batch.
struct Shown {
    what: (String, RequestCounts),
    at: Instant,
    bar: Option<ProgressBar>,
}

/// Whether a line is due for a batch now (lines mode): the first time, on a change, or after
/// [`HEARTBEAT`] unchanged.
fn due(last: Option<&Shown>, what: &(String, RequestCounts)) -> bool {
    last.is_none_or(|s| &s.what != what || s.at.elapsed() >= HEARTBEAT)
}

/// The job's progress display.
pub struct Progress {
    multi: Option<MultiProgress>,
    shown: HashMap<String, Shown>,
    started: Instant,
}

impl Progress {
    /// Bars when stderr is a terminal and `no_progress` is not set, else lines.
    pub fn new(no_progress: bool) -> Self {
        let multi = (!no_progress && io::stderr().is_terminal())
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Progress { multi, shown: HashMap::new(), started: Instant::now() }
    }

    /// How long `info` has been running: since its creation when the provider says, else since
    /// this run started polling.
    fn running(&self, info: &BatchInfo) -> Duration {
        let now = unix_now();
        match info.created_at {
            Some(t) if t <= now => Duration::from_secs(now - t),
            _ => self.started.elapsed(),
        }
    }

    /// Shows the batch as last read.
    pub fn show(&mut self, info: &BatchInfo) {
        let c = info.counts;
        let what = (info.status.to_string(), c);
        let detail = format!(
            "{}: {} errored, {} expired, {} canceled, running {}",
            info.status,
            c.errored,
            c.expired,
            c.canceled,
            human(self.running(info).as_secs_f64())
        );
        let ended = c.total.saturating_sub(c.processing);
        if let Some(multi) = &self.multi {
            let entry = self.shown.entry(info.id.clone()).or_insert_with(|| {
                let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
                let bar = multi.add(ProgressBar::new(c.total).with_style(style));
                bar.set_prefix(info.id.clone());
                Shown { what: what.clone(), at: Instant::now(), bar: Some(bar) }
            });
            if let Some(bar) = &entry.bar {
                bar.set_length(c.total);
                bar.set_position(ended);
                bar.set_message(detail);
                if info.status.is_terminal() {
                    bar.finish();
                }
            }
            return;
        }
        if due(self.shown.get(&info.id), &what) {
            crate::logger::say(&format!(
                "chat-limiter: batch {} {}/{} succeeded, {detail}\n",
                info.id, c.succeeded, c.total
            ));
            self.shown.insert(info.id.clone(), Shown { what, at: Instant::now(), bar: None });
        }
    }

    /// Prints a message without breaking the bars.
    pub fn say(&self, text: &str) {
        match &self.multi {
            Some(m) => {
                let _ = m.println(text.trim_end());
            }
            None => crate::logger::say(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_only_when_a_batch_changes_or_after_the_heartbeat() {
        let counts = RequestCounts { total: 3, processing: 3, ..RequestCounts::default() };
        let what = ("in_progress".to_string(), counts);
        assert!(due(None, &what), "the first sight of a batch is shown");
        let last = Shown { what: what.clone(), at: Instant::now(), bar: None };
        assert!(!due(Some(&last), &what), "the same counts again are not");
        let one = RequestCounts { processing: 2, succeeded: 1, ..counts };
        assert!(due(Some(&last), &("in_progress".to_string(), one)));
        assert!(due(Some(&last), &("completed".to_string(), counts)));
        let Some(long_ago) = Instant::now().checked_sub(HEARTBEAT) else { return };
        let stale = Shown { at: long_ago, ..last };
        assert!(due(Some(&stale), &what), "an unchanged batch is still reported now and then");
    }
}
