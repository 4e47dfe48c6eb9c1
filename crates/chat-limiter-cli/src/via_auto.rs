//! `chat-limiter run --via auto --deadline 2h`: the batch API when the deadline allows the
//! provider's 24-hour window (half the price), else the real-time path at the limits; then,
//! while the deadline allows, lines a batch returned expired (or cancelled, or failed for a
//! passing reason) are finished on the real-time path. It says why it chose.

use std::time::{Duration, Instant};

use chat_limiter::Provider;

use crate::setup::{prepass, resolve_provider};
use crate::{run, via_batch, Fatal, RunArgs};

/// The window within which both batch APIs promise to finish a batch.
const BATCH_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Reads `90s`, `30m`, `2h`, `1d` (a number and a unit).
pub fn parse_deadline(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("--deadline: cannot read {text:?}; use 90s, 30m, 2h or 1d"))?;
    let unit_secs = match unit.trim() {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => return Err(format!("--deadline: unknown unit in {text:?}; use s, m, h or d")),
    };
    Duration::try_from_secs_f64(n * unit_secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("--deadline must be positive, got {text:?}"))
}

/// Which path, and why.
pub fn choose(provider: Provider, deadline: Duration) -> (bool, String) {
    if provider == Provider::OpenRouter {
        return (false, "OpenRouter has no batch API".into());
    }
    if deadline >= BATCH_WINDOW {
        return (
            true,
            format!(
                "the deadline ({:.1} h) leaves the batch API its 24 h window: half the price",
                deadline.as_secs_f64() / 3600.0
            ),
        );
    }
    (
        false,
        format!(
            "the deadline ({:.1} h) is shorter than the batch API's 24 h window, which it cannot promise to meet",
            deadline.as_secs_f64() / 3600.0
        ),
    )
}

/// Runs the job on the chosen path; returns the exit code.
pub fn run(args: &RunArgs) -> Result<u8, Fatal> {
    let started = Instant::now();
    let text = args
        .deadline
        .as_deref()
        .ok_or_else(|| Fatal::usage("--via auto needs --deadline (90s, 30m, 2h, 1d)"))?;
    let deadline = parse_deadline(text).map_err(Fatal::usage)?;
    let need_model = args.provider.is_none() && args.model.is_none();
    let (_, first_model) = prepass(args, need_model)?;
    let (provider, _) = resolve_provider(args, first_model)?;
    let (batch, why) = choose(provider, deadline);
    eprintln!("chat-limiter: --via auto: {} ({why})", if batch { "batch" } else { "realtime" });
    if !batch {
        return run::run(args, None).map(|o| o.exit_code());
    }
    let code = via_batch::run(args, None)?;
    if code == 0 {
        return Ok(0);
    }
    if started.elapsed() >= deadline {
        eprintln!("chat-limiter: --via auto: the deadline has passed; unfinished lines stay recorded as retryable");
        return Ok(code);
    }
    // The real-time path sends exactly the lines whose records are retryable.
    eprintln!("chat-limiter: --via auto: finishing the lines the batches did not answer on the real-time path");
    run::run(args, None).map(|o| o.exit_code())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_read_with_units_and_bad_ones_are_refused() {
        assert_eq!(parse_deadline("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_deadline("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_deadline("1.5d"), Ok(Duration::from_secs(129_600)));
        assert!(parse_deadline("2").is_err());
        assert!(parse_deadline("0h").is_err());
        assert!(parse_deadline("h").is_err());
        assert!(parse_deadline("3w").is_err());
    }

    #[test]
    fn the_batch_api_only_when_its_window_fits_the_deadline() {
        assert!(choose(Provider::OpenAI, Duration::from_secs(86_400)).0);
        assert!(choose(Provider::Anthropic, Duration::from_secs(200_000)).0);
        assert!(!choose(Provider::OpenAI, Duration::from_secs(7200)).0);
        assert!(!choose(Provider::OpenRouter, Duration::from_secs(900_000)).0);
    }
}
