//! How `--via auto` chooses: the time the real-time path needs at the known limits, from each
//! line's admission charge, against the deadline; and the batch API's 24-hour window.
//!
//! - Deadline of 24 h or more: the whole job goes to the batch API (half the price, and its
//!   window fits the deadline).
//! - Shorter, and the real-time path fits it (with a margin for latency and the tail): real
//!   time, at the limits.
//! - Shorter, and the real-time path cannot fit it: the lines it can finish in time go real
//!   time, in order, and the rest go to the batch API at once, which usually answers within
//!   hours but promises only 24 h. It is said so.
//! - No limit known (none configured, none learned): the time cannot be estimated; real time.

use std::time::Duration;

use chat_limiter::{LimitsSnapshot, Provider};

/// The window within which both batch APIs promise to finish a batch.
pub const BATCH_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// The part of the deadline the real-time path may plan to use: the rest is left for latency,
/// retries and the last answers.
pub const DEADLINE_MARGIN: f64 = 0.8;

/// One limit as the real-time path meets it: a steady rate, and what may go at once first.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dim {
    /// Units per second.
    pub per_sec: f64,
    /// Units available at the start (the bucket's remaining).
    pub burst: f64,
}

impl Dim {
    /// A limit with nothing assumed available at the start (the safe reading for a configured
    /// limit: another process may have used the provider's bucket).
    pub fn steady(per_sec: f64) -> Self {
        Dim { per_sec, burst: 0.0 }
    }
}

/// The limits the real-time path is held to; `None` where no limit is known.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    /// Requests.
    pub requests: Option<Dim>,
    /// Tokens at admission (OpenAI, OpenRouter: prompt + `max_tokens`).
    pub tokens: Option<Dim>,
    /// Anthropic input tokens.
    pub input: Option<Dim>,
    /// Anthropic output tokens (charged `max_tokens` at admission).
    pub output: Option<Dim>,
}

impl Rates {
    /// The limits of a limiter's snapshot for `model`: each limit over its window, with what
    /// remains now as the start's burst.
    pub fn from_snapshot(
        snap: &LimitsSnapshot,
        model: &str,
        windows: (Duration, Duration),
    ) -> Self {
        let Some(m) = snap.model(model) else { return Rates::default() };
        let dim = |d: &Option<chat_limiter::DimensionSnapshot>, w: Duration| {
            d.as_ref().filter(|d| d.limit > 0).map(|d| Dim {
                per_sec: d.limit as f64 / w.as_secs_f64().max(1e-9),
                burst: d.remaining as f64,
            })
        };
        let (rw, tw) = windows;
        Rates {
            requests: dim(&m.requests, rw),
            tokens: dim(&m.tokens, tw),
            input: dim(&m.input_tokens, tw),
            output: dim(&m.output_tokens, tw),
        }
    }

    /// Whether any limit is known.
    pub fn known(&self) -> bool {
        self.requests.or(self.tokens).or(self.input).or(self.output).is_some()
    }

    /// Seconds to send this much at these limits (the slowest dimension decides).
    pub fn seconds(&self, t: &Totals) -> f64 {
        let dims = [
            (self.requests, t.lines),
            (self.tokens, t.tokens),
            (self.input, t.input),
            (self.output, t.output),
        ];
        dims.iter()
            .filter_map(|(d, n)| d.map(|d| (*n as f64 - d.burst).max(0.0) / d.per_sec))
            .fold(0.0, f64::max)
    }
}

/// What some lines charge at admission.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Lines.
    pub lines: u64,
    /// Prompt + `max_tokens` (one token bucket).
    pub tokens: u64,
    /// Prompt tokens.
    pub input: u64,
    /// `max_tokens`.
    pub output: u64,
}

impl Totals {
    /// Adds one line of `prompt` tokens and `max_output` tokens of output.
    pub fn add(&mut self, prompt: u64, max_output: u64) {
        self.lines += 1;
        self.tokens += prompt + max_output;
        self.input += prompt;
        self.output += max_output;
    }
}

/// The job's totals, and where the real-time path's share ends.
#[derive(Debug, Clone, Default)]
pub struct Estimate {
    /// Every line to send.
    pub all: Totals,
    /// The lines that fit the deadline's budget on the real-time path, from the start.
    pub fits: Totals,
    /// The last line number among those.
    pub fits_until: u64,
}

/// Walks the lines in order (`(line number, prompt tokens, max output tokens)`), keeping the
/// longest prefix the real-time path can send within `budget_secs`.
pub fn estimate(
    lines: impl IntoIterator<Item = (u64, u64, u64)>,
    rates: &Rates,
    budget_secs: f64,
) -> Estimate {
    let mut e = Estimate::default();
    let mut open = true;
    for (n, prompt, max_output) in lines {
        e.all.add(prompt, max_output);
        if open && rates.seconds(&e.all) <= budget_secs {
            e.fits = e.all;
            e.fits_until = n;
        } else {
            open = false;
        }
    }
    e
}

/// Where the lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// All on the real-time path.
    Realtime,
    /// All through the batch API.
    Batch,
    /// Lines up to this one on the real-time path, the rest through the batch API.
    Split(u64),
}

/// The choice, and a sentence saying why.
pub fn choose(
    provider: Provider,
    deadline: Duration,
    e: &Estimate,
    rates: &Rates,
) -> (Choice, String) {
    let hours = human;
    let d = deadline.as_secs_f64();
    let need = rates.known().then(|| rates.seconds(&e.all));
    let need_text = need.map_or("an unknown time (no limit known)".to_string(), hours);
    if provider == Provider::OpenRouter {
        return (Choice::Realtime, "OpenRouter has no batch API".into());
    }
    if deadline >= BATCH_WINDOW {
        return (
            Choice::Batch,
            format!(
                "the deadline ({}) leaves the batch API its 24 h window: half the price \
                 (real time at the limits would take {need_text})",
                hours(d)
            ),
        );
    }
    match need {
        None => (
            Choice::Realtime,
            format!(
                "no limit is known to estimate the real-time path; the batch API cannot promise \
                 the deadline ({}) within its 24 h window",
                hours(d)
            ),
        ),
        Some(s) if s <= d * DEADLINE_MARGIN => (
            Choice::Realtime,
            format!(
                "real time at the limits takes about {} for {} lines, within the deadline ({})",
                hours(s),
                e.all.lines,
                hours(d)
            ),
        ),
        Some(s) if e.fits.lines == 0 => (
            Choice::Batch,
            format!(
                "real time would take about {} and cannot send even one line in time; the \
                 batch API usually answers within hours (it promises 24 h)",
                hours(s)
            ),
        ),
        Some(s) => (
            Choice::Split(e.fits_until),
            format!(
                "real time at the limits would take about {} for {} lines, more than the \
                 deadline ({}): the first {} lines (to line {}) go real time, the other {} to \
                 the batch API, which usually answers within hours (it promises 24 h), at half \
                 the price",
                hours(s),
                e.all.lines,
                hours(d),
                e.fits.lines,
                e.fits_until,
                e.all.lines - e.fits.lines
            ),
        ),
    }
}

/// `45 s`, `12 min`, `2.8 h`.
pub fn human(secs: f64) -> String {
    if secs < 120.0 {
        format!("{secs:.0} s")
    } else if secs < 7200.0 {
        format!("{:.0} min", secs / 60.0)
    } else {
        format!("{:.1} h", secs / 3600.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rpm(n: f64) -> Rates {
        Rates { requests: Some(Dim::steady(n / 60.0)), ..Rates::default() }
    }

    fn lines(n: u64, prompt: u64, out: u64) -> Vec<(u64, u64, u64)> {
        (1..=n).map(|i| (i, prompt, out)).collect()
    }

    #[test]
    fn the_slowest_dimension_sets_the_time() {
        let r = Rates {
            requests: Some(Dim::steady(10.0)),
            tokens: Some(Dim::steady(100.0)),
            ..Rates::default()
        };
        let t = Totals { lines: 10, tokens: 1000, ..Totals::default() };
        assert_eq!(r.seconds(&t), 10.0, "tokens bind: 1000 at 100/s");
        assert!(!Rates::default().known());
        assert_eq!(
            (human(1.6), human(600.0), human(10_000.0)),
            ("2 s".into(), "10 min".into(), "2.8 h".into())
        );
        let full = Rates { requests: Some(Dim { per_sec: 1.0, burst: 60.0 }), ..r };
        assert_eq!(full.seconds(&Totals { lines: 90, ..t }), 30.0, "60 at once, then 30 at 1/s");
        assert_eq!(full.seconds(&Totals { lines: 10, ..t }), 10.0, "tokens still bind");
    }

    #[test]
    fn the_prefix_that_fits_the_budget() {
        let e = estimate(lines(100, 10, 10), &rpm(60.0), 30.0);
        assert_eq!((e.all.lines, e.fits.lines, e.fits_until), (100, 30, 30));
        assert_eq!(e.all.tokens, 2000);
    }

    #[test]
    fn each_deadline_and_size_gets_its_path() {
        let r = rpm(60.0); // one line per second
        let small = estimate(lines(100, 10, 10), &r, 3600.0 * DEADLINE_MARGIN);
        let hour = Duration::from_secs(3600);
        assert_eq!(choose(Provider::OpenAI, hour, &small, &r).0, Choice::Realtime);
        assert_eq!(
            choose(Provider::OpenAI, Duration::from_secs(86_400), &small, &r).0,
            Choice::Batch,
            "a day's deadline: half the price"
        );
        let big = estimate(lines(10_000, 10, 10), &r, 3600.0 * DEADLINE_MARGIN);
        let (c, why) = choose(Provider::Anthropic, hour, &big, &r);
        assert_eq!(c, Choice::Split(2880), "{why}");
        assert!(why.contains("2.8 h") && why.contains("first 2880 lines"), "{why}");
        assert_eq!(choose(Provider::OpenRouter, hour, &big, &r).0, Choice::Realtime);
        let none = estimate(lines(10, 1, 1), &Rates::default(), 1.0);
        assert_eq!(choose(Provider::OpenAI, hour, &none, &Rates::default()).0, Choice::Realtime);
        let tiny = estimate(lines(10, 1, 1), &r, 0.5);
        let short = Duration::from_millis(600);
        assert_eq!(choose(Provider::OpenAI, short, &tiny, &r).0, Choice::Batch);
    }
}
