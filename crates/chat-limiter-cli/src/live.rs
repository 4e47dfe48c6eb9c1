//! The live view: the message of `run`'s progress line, refreshed every second by the
//! sampler. Beside indicatif's `done/total` it shows the ETA at the limits, and per model the last minute's
//! rate against each limit as the provider counts it (requests admitted; tokens as charged:
//! prompt estimate + `max_tokens` at admission for OpenAI and OpenRouter, settled input and
//! output for Anthropic), the requests in flight, 429s, retries, which limit binds, and
//! during a long wait until when.

use std::fmt::Write as _;
use std::time::Duration;

use crate::timeline::Second;

/// One limit of a model on the live line.
#[derive(Debug, Clone, PartialEq)]
pub struct Rate {
    /// `requests`, `tokens`, `input_tokens` or `output_tokens`.
    pub dim: &'static str,
    /// Units charged over the last minute.
    pub last_minute: f64,
    /// The limit, per minute.
    pub limit_per_min: f64,
}

/// A model's limits on the live line.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRates {
    /// The model.
    pub model: String,
    /// Its known limits.
    pub rates: Vec<Rate>,
}

/// Running totals of a run, for the live line.
#[derive(Debug, Default, Clone, Copy)]
pub struct Totals {
    /// Lines finished.
    pub done: u64,
    /// 429 answers.
    pub r429: u64,
    /// Retries.
    pub retries: u64,
}

impl Totals {
    /// Adds one second.
    pub fn add(&mut self, s: &Second) {
        self.done += s.done;
        self.r429 += s.r429;
        self.retries += s.retries;
    }
}

/// A count with a k/M suffix: `59.8k`.
pub fn human(n: f64) -> String {
    match n.abs() {
        a if a >= 1e6 => format!("{:.1}M", n / 1e6),
        a if a >= 1e4 => format!("{:.1}k", n / 1e3),
        _ => format!("{n:.0}"),
    }
}

/// A window or wait in its largest whole unit: `1d`, `10s`, `1h`, `2h13m`.
pub fn span(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        _ if s >= 86_400 && s.is_multiple_of(86_400) => format!("{}d", s / 86_400),
        _ if s >= 86_400 => format!("{}d{}h", s / 86_400, s % 86_400 / 3_600),
        _ if s >= 3_600 && s.is_multiple_of(3_600) => format!("{}h", s / 3_600),
        _ if s >= 3_600 => format!("{}h{:02}m", s / 3_600, s % 3_600 / 60),
        _ if s >= 60 && s.is_multiple_of(60) => format!("{}m", s / 60),
        _ if s >= 60 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{s}s"),
    }
}

/// A Unix time as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn utc(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Days to a civil date (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        secs / 3_600,
        secs % 3_600 / 60,
        secs % 60
    )
}

/// The short name of a dimension on the live line.
pub fn label(dim: &str) -> &'static str {
    match dim {
        "requests" => "req",
        "tokens" => "tok",
        "input_tokens" => "in-tok",
        _ => "out-tok",
    }
}

/// The progress line's message for this second.
pub fn line(models: &[ModelRates], sec: &Second, t: Totals, eta: Option<Duration>) -> String {
    let mut s = match eta {
        Some(eta) => format!("ETA {} | ", span(eta)),
        None => "ETA - | ".to_string(),
    };
    for m in models.iter().filter(|m| !m.rates.is_empty()).take(2) {
        let _ = write!(s, "{}:", m.model);
        for r in &m.rates {
            let (used, limit) = (human(r.last_minute), human(r.limit_per_min));
            let _ = write!(s, " {} {used}/{limit} per min", label(r.dim));
        }
        if m.rates.iter().any(|r| r.dim == "tokens") {
            s.push_str(" (tok: admission charge)");
        }
        s.push_str(" | ");
    }
    let _ = write!(s, "{} in flight | 429s {} | retries {} | ", sec.in_flight, t.r429, t.retries);
    match &sec.binds {
        Some(b) => {
            let _ = write!(s, "bound by {b}");
        }
        None => s.push_str("no limit binding"),
    }
    if let (Some(until), Some(on)) = (sec.wait_until, &sec.wait_on) {
        let left = Duration::from_secs(until.saturating_sub(sec.t));
        let _ = write!(s, " | waiting until {} (in {}) on {on}", utc(until), span(left));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_spans_read_plainly() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_796_169_600 + 3_661), "2026-12-02 01:01:01 UTC");
        assert_eq!(span(Duration::from_secs(86_400)), "1d");
        assert_eq!(span(Duration::from_secs(10)), "10s");
        assert_eq!(span(Duration::from_secs(7_980)), "2h13m");
        assert_eq!(human(59_800.0), "59.8k");
        assert_eq!(human(598.0), "598");
    }
}
