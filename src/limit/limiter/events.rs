//! What the limiter tells the log (target `chat_limiter::limit`): limits learned or changed,
//! waits on a long window, and, at `debug`, every admission decision. Formatting lives here so
//! the admission loop keeps one-line calls; nothing here runs unless its level is enabled,
//! except a comparison of four limits after a sync.

use std::time::{Duration, Instant};

use super::ModelLimiter;
use crate::limit::model::{Cost, ModelState};

/// The log target of the limiter's events.
pub(crate) const TARGET: &str = "chat_limiter::limit";

/// A wait on the buckets at least this long is told at `warn`, once per model and deadline
/// (a daily cap, a long window), not only at `debug`: a run that stops for hours says so.
const LONG: Duration = Duration::from_secs(60);

const DIMS: [&str; 4] = ["requests", "tokens", "input tokens", "output tokens"];

/// `6h12m`, `45m3s`, `12s`: a wait as a person reads it.
pub(crate) fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m{sec}s"),
        (h, m, _) => format!("{h}h{m:02}m"),
    }
}

/// `1 per 60s`, `10000 per 1d`: a limit and its window.
fn per(limit: u64, window: f64) -> String {
    let w = Duration::from_secs_f64(window.max(0.0));
    if window >= 1.0 {
        format!("{limit} per {}", human_duration(w))
    } else {
        format!("{limit} per {:.3}s", window)
    }
}

/// Whether two windows differ enough to say so (estimates move a little with every reading).
fn window_moved(a: f64, b: f64) -> bool {
    (a - b).abs() > 0.05 * a.max(b)
}

impl ModelLimiter {
    /// Tells what changed between the limits known `before` a sync and now.
    pub(super) fn tell_limits(&self, before: [Option<(u64, f64)>; 4], st: &ModelState) {
        let after = st.known_limits();
        if before == after || !log::log_enabled!(target: TARGET, log::Level::Info) {
            return;
        }
        for ((name, b), a) in DIMS.iter().zip(before).zip(after) {
            match (b, a) {
                (None, Some((l, w))) => {
                    log::info!(target: TARGET, "{}: learned the {name} limit: {}", self.model, per(l, w));
                }
                (Some((l0, w0)), Some((l, w))) if l0 != l || window_moved(w0, w) => {
                    log::info!(target: TARGET, "{}: {name} limit changed from {} to {}", self.model, per(l0, w0), per(l, w));
                }
                _ => {}
            }
        }
    }

    /// Why the head of the queue must wait, for `debug` and long waits: the bucket short of
    /// the cost (with what it has and needs), a pause after a 429, or the in-flight cap.
    pub(super) fn why_wait(&self, st: &mut ModelState, cost: &Cost, now: Instant) -> String {
        let s = st.snapshot(&self.model, now);
        if let Some(p) = s.paused_for {
            return format!("the pause after a 429 ({:.2}s left)", p.as_secs_f64());
        }
        let need = [1, cost.tokens, cost.input, cost.output];
        let dims = [s.requests, s.tokens, s.input_tokens, s.output_tokens];
        let short: Vec<String> = DIMS
            .iter()
            .zip(dims)
            .zip(need)
            .filter_map(|((name, d), n)| {
                let d = d?;
                (d.remaining < n)
                    .then(|| format!("the {name} bucket (has {}, needs {n})", d.remaining))
            })
            .collect();
        if short.is_empty() {
            "a free slot (in-flight cap, or the first answer teaching the limits)".to_string()
        } else {
            short.join(" and ")
        }
    }

    /// Tells a first wait of the head: at `debug` always; at `warn`, with the time it resumes,
    /// when it is long and later than the last long wait told for this model.
    pub(super) fn tell_wait(
        &self,
        st: &mut ModelState,
        cost: &Cost,
        now: Instant,
        until: Option<Instant>,
    ) -> Option<String> {
        let wait = until.map(|u| u.saturating_duration_since(now));
        let long = wait.is_some_and(|w| w >= LONG) && {
            let mut told = self.long_wait_told.lock();
            let newer = told.is_none_or(|t| until.is_some_and(|u| u > t + LONG));
            if newer {
                *told = until;
            }
            newer
        };
        let debug = log::log_enabled!(target: TARGET, log::Level::Debug);
        let warn = long && log::log_enabled!(target: TARGET, log::Level::Warn);
        if !debug && !warn {
            return None;
        }
        let why = self.why_wait(st, cost, now);
        match wait {
            Some(w) if long => {
                let resume = httpdate::fmt_http_date(self.clock.system_now() + w);
                log::warn!(target: TARGET, "{}: waiting on {why}: resuming at {resume}, in {}", self.model, human_duration(w));
            }
            Some(w) => {
                log::debug!(target: TARGET, "{}: head of the queue waits {:.3}s for {why}", self.model, w.as_secs_f64())
            }
            None => {
                log::debug!(target: TARGET, "{}: head of the queue waits for {why}", self.model)
            }
        }
        Some(why)
    }

    /// Tells an admission at `debug`: what it was charged and what it waited for.
    pub(super) fn tell_admit(
        &self,
        charged: &Cost,
        since: Instant,
        now: Instant,
        why: Option<&str>,
    ) {
        if log::log_enabled!(target: TARGET, log::Level::Debug) {
            let waited = now.saturating_duration_since(since).as_secs_f64();
            let why = why.map_or(String::new(), |w| format!(" for {w}"));
            log::debug!(
                target: TARGET,
                "{}: admitted after {waited:.3}s{why}; charged {} tokens, {} input, {} output",
                self.model, charged.tokens, charged.input, charged.output
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_as_a_person_says_them() {
        assert_eq!(per(500, 60.0), "500 per 1m0s");
        assert_eq!(per(10_000, 86_400.0), "10000 per 24h00m");
        assert_eq!(per(20, 0.5), "20 per 0.500s");
        assert_eq!(human_duration(Duration::from_secs(45 * 60 + 3)), "45m3s");
        assert!(window_moved(60.0, 86_400.0));
        assert!(!window_moved(60.0, 61.0));
    }
}
