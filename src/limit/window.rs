//! Learning a bucket's refill window from what the headers say.
//!
//! Providers refill continuously, so `reset = deficit × window / limit`. Both figures are
//! rounded: the reset is truncated (OpenAI to milliseconds, Anthropic to seconds) and the
//! remaining count is floored (or, for Anthropic's tokens, rounded to the nearest 1000), so one
//! reading only brackets the window: with a floored remaining, `deficit ∈ (d − 1, d]` and
//! `reset ∈ [r, r + resolution)` give `window ∈ [r × limit / d, (r + resolution) × limit /
//! (d − 1))`; a rounded one widens the deficit to `(d − N/2, d + N/2]`. Readings are intersected, and
//! the window used is the long end of what is left (refilling no faster than the server), or
//! the minute (or day) when the bracket contains it. A reading that contradicts the bracket
//! means the headers now describe another window (say a daily one), and starts a new bracket.

use std::time::Duration;

/// What is known about a bucket's window, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct WindowEstimate {
    lo: f64,
    hi: f64,
    /// Used while no reading has bounded the window from above.
    assumed: f64,
}

impl WindowEstimate {
    /// Nothing seen yet: assume `w` (a minute, for per-minute limits).
    pub(crate) fn assumed(w: Duration) -> Self {
        WindowEstimate { lo: 0.0, hi: f64::INFINITY, assumed: w.as_secs_f64() }
    }

    /// A window the caller configured: trusted until a reading contradicts it.
    pub(crate) fn known(w: Duration) -> Self {
        let s = w.as_secs_f64();
        WindowEstimate { lo: s, hi: s, assumed: s }
    }

    /// The window to refill over, in seconds.
    pub(crate) fn seconds(&self) -> f64 {
        let w = if self.hi.is_finite() {
            [60.0, 86_400.0].into_iter().find(|c| self.lo <= *c && *c <= self.hi).unwrap_or(self.hi)
        } else {
            self.assumed.max(self.lo)
        };
        w.clamp(0.001, 1e12)
    }

    /// Narrows the bracket with one reading.
    pub(crate) fn observe(
        &mut self,
        limit: u64,
        remaining: u64,
        reset: Duration,
        res: Duration,
        rounding: u64,
    ) {
        let Some((lo, hi)) = bracket(limit, remaining, reset, res, rounding) else { return };
        let (nlo, nhi) = (self.lo.max(lo), self.hi.min(hi));
        if nlo <= nhi * (1.0 + 1e-9) {
            self.lo = nlo;
            self.hi = nhi.max(nlo);
        } else {
            self.lo = lo;
            self.hi = hi;
        }
    }
}

/// The bracket `[lo, hi)` of windows consistent with one reading, in seconds.
///
/// `rounding`: 0 when `remaining` was floored to a whole unit, N when rounded to the nearest N.
pub(crate) fn bracket(
    limit: u64,
    remaining: u64,
    reset: Duration,
    res: Duration,
    rounding: u64,
) -> Option<(f64, f64)> {
    if remaining >= limit || reset.is_zero() {
        return None;
    }
    let (l, d) = (limit as f64, (limit - remaining) as f64);
    // The true deficit lies in (d - above, d + below].
    let half = rounding as f64 / 2.0;
    let (above, below) = if rounding > 1 { (half, half) } else { (1.0, 0.0) };
    let r = reset.as_secs_f64();
    let lo = r * l / (d + below);
    let hi = if d > above { (r + res.as_secs_f64()) * l / (d - above) } else { f64::INFINITY };
    (lo.is_finite() && lo > 0.0).then_some((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn learn(readings: &[(u64, u64, Duration)], res: Duration) -> f64 {
        let mut w = WindowEstimate::assumed(Duration::from_secs(60));
        for &(l, r, reset) in readings {
            w.observe(l, r, reset, res, 0);
        }
        w.seconds()
    }

    #[test]
    fn documented_captures_give_a_minute_or_a_day() {
        let one = |l, r, reset| learn(&[(l, r, reset)], ms(1));
        assert_eq!(one(40_000, 39_880, ms(180)), 60.0);
        assert_eq!(one(300_000, 295_432, ms(913)), 60.0);
        assert_eq!(one(500, 499, ms(120)), 60.0, "one request: at least a minute, so a minute");
        assert_eq!(one(200, 199, Duration::from_secs(432)), 86_400.0, "at least a day");
        assert_eq!(one(5_000_000, 4_999_999, ms(0)), 60.0, "a 0s reset says nothing");
    }

    #[test]
    fn floored_remaining_never_makes_the_window_short() {
        // A 60 s bucket of 500 at 499.4 when a request came: remaining 498 (floor of 498.4),
        // reset 1.6 / (500/60) = 192 ms. Read naively, 0.192 × 500 / 2 = 48 s: too fast.
        let w = learn(&[(500, 498, ms(192))], ms(1));
        assert!(w >= 60.0, "{w}");
    }

    #[test]
    fn readings_narrow_a_short_window() {
        // 4 requests per second, seen at several depths.
        let w = learn(&[(4, 3, ms(250)), (4, 1, ms(720)), (4, 0, ms(1000))], ms(1));
        assert!((1.0..=1.4).contains(&w), "{w}");
        // Whole-second Anthropic resets on a per-minute bucket.
        let w = learn(
            &[(50, 49, Duration::from_secs(2)), (50, 20, Duration::from_secs(36))],
            Duration::from_secs(1),
        );
        assert_eq!(w, 60.0);
    }

    #[test]
    fn rounded_token_remainders_widen_the_bracket_instead_of_misleading_it() {
        // Anthropic: 6,000 output tokens per minute, 600 used (true remaining 5,400, reported
        // "5000"), reset 6 s. Read as floored, it would say a 36-42 s window: 40% too fast.
        let mut w = WindowEstimate::assumed(Duration::from_secs(60));
        w.observe(6_000, 5_000, Duration::from_secs(6), Duration::from_secs(1), 1_000);
        assert_eq!(w.seconds(), 60.0);
    }

    #[test]
    fn a_contradicting_reading_starts_over() {
        let mut w = WindowEstimate::known(Duration::from_secs(60));
        w.observe(200, 100, Duration::from_secs(43_200), ms(1), 0); // half a day to refill 100
        assert!((w.seconds() - 86_400.0).abs() < 1.0);
        assert_eq!(WindowEstimate::known(Duration::from_secs(2)).seconds(), 2.0);
    }

    #[test]
    fn hostile_figures_stay_finite() {
        let mut w = WindowEstimate::assumed(Duration::from_secs(60));
        w.observe(u64::MAX, 0, Duration::MAX, Duration::MAX, u64::MAX);
        w.observe(1, 0, Duration::from_nanos(1), Duration::ZERO, 0);
        assert!(w.seconds().is_finite() && w.seconds() > 0.0);
    }
}
