//! Learning a bucket's refill window from what the headers say.
//!
//! Providers refill continuously, so `reset = deficit × window / limit`. Both figures are
//! rounded: the reset is truncated (OpenAI to milliseconds, Anthropic to seconds) and the
//! remaining count is floored (or, for Anthropic's tokens, rounded to the nearest 1000), so one
//! reading only brackets the window: with a floored remaining, `deficit ∈ (d − 1, d]` and
//! `reset ∈ [r − below, r + above)` give `window ∈ [(r − below) × limit / d, (r + above) ×
//! limit / (d − 1))`; a rounded one widens the deficit to `(d − N/2, d + N/2]`.
//!
//! A relative reset (OpenAI's `20ms`) is as of when the server computed it, so `below = 0` and
//! `above = resolution`. An absolute one (Anthropic's `…T22:25:33Z`) is turned into a wait
//! against the response's `Date`, also whole seconds and stamped when the answer is sent, up to
//! a request's latency after the figures were computed: the reset may be rounded either way
//! (one resolution), `Date` is floored (one more below) and late by up to the request's age
//! (above). Read as exact, a 1 s reset for one request of a 1,000-per-minute bucket said the
//! window was at least 1,000 s: sixteen times too slow. Readings are intersected, and
//! the window used is the long end of what is left (refilling no faster than the server), or
//! the minute (or day) when the bracket contains it. A reading that contradicts the bracket
//! means the headers now describe another window (say a daily one), and starts a new bracket.

use std::time::Duration;

use crate::limit::info::RateLimitInfo;

/// How exactly a reading's figures were reported (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Precision {
    /// The unit the reset was reported in (zero: exact).
    pub resolution: Duration,
    /// The reset was an absolute time, turned into a wait against the response's `Date`.
    pub against_date: bool,
    /// How long the request had been admitted when its response arrived: how late `Date`
    /// may be after the figures (only used with `against_date`).
    pub age: Duration,
    /// 0 when `remaining` was floored to a whole unit, N when rounded to the nearest N.
    pub rounding: u64,
}

impl Precision {
    /// Exact figures: nothing rounded.
    pub(crate) const EXACT: Precision = Precision {
        resolution: Duration::ZERO,
        against_date: false,
        age: Duration::ZERO,
        rounding: 0,
    };

    /// How exactly dimension `d` (0 requests, 1 tokens, 2 input, 3 output) of `info` was
    /// reported, for a response that came `age` after its request's admission (unknown: 0).
    pub(crate) fn of(info: &RateLimitInfo, d: usize, age: Option<Duration>) -> Precision {
        Precision {
            resolution: info.reset_resolution,
            against_date: info.resets_against_date,
            age: age.unwrap_or_default(),
            rounding: if d == 0 { 0 } else { info.token_remaining_rounding },
        }
    }

    /// How far below and above the reported reset the true one may be, in seconds.
    fn reset_slack(&self) -> (f64, f64) {
        let res = self.resolution.as_secs_f64();
        if self.against_date {
            (2.0 * res, res + self.age.as_secs_f64())
        } else {
            (0.0, res)
        }
    }
}

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
    pub(crate) fn observe(&mut self, limit: u64, remaining: u64, reset: Duration, p: &Precision) {
        let Some((lo, hi)) = bracket(limit, remaining, reset, p) else { return };
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

/// The bracket `[lo, hi)` of windows consistent with one reading, in seconds; `None` when the
/// reading bounds nothing (a zero reset, or one within its own rounding of zero for a single
/// unit of deficit).
pub(crate) fn bracket(
    limit: u64,
    remaining: u64,
    reset: Duration,
    p: &Precision,
) -> Option<(f64, f64)> {
    if remaining >= limit || reset.is_zero() {
        return None;
    }
    let (l, d) = (limit as f64, (limit - remaining) as f64);
    // The true deficit lies in (d - above, d + below].
    let half = p.rounding as f64 / 2.0;
    let (above, below) = if p.rounding > 1 { (half, half) } else { (1.0, 0.0) };
    let r = reset.as_secs_f64();
    let (early, late) = p.reset_slack();
    // A reset within its own rounding of zero bounds nothing from below, but may still bound
    // the window from above ("full again in about a second").
    let lo = ((r - early) * l / (d + below)).max(0.0);
    let hi = if d > above { (r + late) * l / (d - above) } else { f64::INFINITY };
    (lo.is_finite() && (lo > 0.0 || hi.is_finite())).then_some((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// OpenAI's shape: relative resets truncated to `res`, floored remainders.
    fn relative(res: Duration) -> Precision {
        Precision { resolution: res, ..Precision::EXACT }
    }

    /// Anthropic's shape: whole-second absolute resets measured against `Date`.
    fn against_date(age: Duration, rounding: u64) -> Precision {
        Precision { resolution: Duration::from_secs(1), against_date: true, age, rounding }
    }

    fn learn(readings: &[(u64, u64, Duration)], p: Precision) -> f64 {
        let mut w = WindowEstimate::assumed(Duration::from_secs(60));
        for &(l, r, reset) in readings {
            w.observe(l, r, reset, &p);
        }
        w.seconds()
    }

    #[test]
    fn documented_captures_give_a_minute_or_a_day() {
        let one = |l, r, reset| learn(&[(l, r, reset)], relative(ms(1)));
        assert_eq!(one(40_000, 39_880, ms(180)), 60.0);
        assert_eq!(one(300_000, 295_432, ms(913)), 60.0);
        assert_eq!(one(500, 499, ms(120)), 60.0, "one request: at least a minute, so a minute");
        let day = one(200, 199, Duration::from_secs(432));
        assert!((86_399.0..=86_400.0).contains(&day), "at least a day: {day}");
        assert_eq!(one(5_000_000, 4_999_999, ms(0)), 60.0, "a 0s reset says nothing");
    }

    #[test]
    fn floored_remaining_never_makes_the_window_short() {
        // A 60 s bucket of 500 at 499.4 when a request came: remaining 498 (floor of 498.4),
        // reset 1.6 / (500/60) = 192 ms. Read naively, 0.192 × 500 / 2 = 48 s: too fast.
        let w = learn(&[(500, 498, ms(192))], relative(ms(1)));
        assert!(w >= 60.0, "{w}");
    }

    #[test]
    fn readings_narrow_a_short_window() {
        // 4 requests per second, seen at several depths.
        let p = relative(ms(1));
        let w = learn(&[(4, 3, ms(250)), (4, 1, ms(720)), (4, 0, ms(1000))], p);
        assert!((1.0..=1.4).contains(&w), "{w}");
        // Whole-second Anthropic resets on a per-minute bucket.
        let w = learn(
            &[(50, 49, Duration::from_secs(2)), (50, 20, Duration::from_secs(36))],
            against_date(ms(100), 0),
        );
        assert_eq!(w, 60.0);
    }

    #[test]
    fn whole_second_resets_against_date_do_not_stretch_the_window() {
        // One request of 1,000 a minute is 60 ms to refill; the reset is rounded up to the
        // next second and `Date` floored, so they read one or two seconds apart. Read as
        // exact, that said "at least 1,000 s" (learned as 16m40s).
        let p = against_date(ms(250), 0);
        assert_eq!(learn(&[(1_000, 999, Duration::from_secs(1))], p), 60.0);
        assert_eq!(learn(&[(1_000, 999, Duration::from_secs(2))], p), 60.0);
        // Every reading an Anthropic-style server gives for a true 60 s bucket, at every
        // fraction of a second and depth, with up to 0.3 s between its figures and `Date`.
        for (limit, rounding) in [(1_000u64, 0u64), (26_000, 1_000), (6_000, 1_000)] {
            let mut w = WindowEstimate::assumed(Duration::from_secs(60));
            for i in 0..2_000u64 {
                let computed = 1_000.0 + i as f64 * 0.137; // server time the figures are from
                let sent = computed + (i % 7) as f64 * 0.05; // when `Date` is stamped
                let deficit = 1 + (i * 7_919) % (limit - 1);
                let wait = deficit as f64 * 60.0 / limit as f64;
                let reset_at = (computed + wait).ceil();
                let r = reset_at - sent.floor();
                let remaining = limit - deficit;
                let shown = if rounding > 1 {
                    ((remaining + rounding / 2) / rounding * rounding).min(limit)
                } else {
                    remaining
                };
                let age = Duration::from_secs_f64(sent - computed);
                let p = against_date(age, rounding);
                w.observe(limit, shown, Duration::from_secs_f64(r.max(0.0)), &p);
                assert_eq!(w.seconds(), 60.0, "limit {limit}, reading {i}: {w:?}");
            }
        }
    }

    #[test]
    fn rounded_token_remainders_widen_the_bracket_instead_of_misleading_it() {
        // Anthropic: 6,000 output tokens per minute, 600 used (true remaining 5,400, reported
        // "5000"), reset 6 s. Read as floored, it would say a 36-42 s window: 40% too fast.
        let mut w = WindowEstimate::assumed(Duration::from_secs(60));
        w.observe(6_000, 5_000, Duration::from_secs(6), &against_date(ms(0), 1_000));
        assert_eq!(w.seconds(), 60.0);
    }

    #[test]
    fn a_contradicting_reading_starts_over() {
        let mut w = WindowEstimate::known(Duration::from_secs(60));
        w.observe(200, 100, Duration::from_secs(43_200), &relative(ms(1))); // half a day for 100
        assert!((w.seconds() - 86_400.0).abs() < 1.0);
        assert_eq!(WindowEstimate::known(Duration::from_secs(2)).seconds(), 2.0);
    }

    #[test]
    fn hostile_figures_stay_finite() {
        let mut w = WindowEstimate::assumed(Duration::from_secs(60));
        let hostile = Precision {
            resolution: Duration::MAX,
            against_date: true,
            age: Duration::MAX,
            rounding: u64::MAX,
        };
        w.observe(u64::MAX, 0, Duration::MAX, &hostile);
        w.observe(1, 0, Duration::from_nanos(1), &Precision::EXACT);
        assert!(w.seconds().is_finite() && w.seconds() > 0.0);
    }
}
