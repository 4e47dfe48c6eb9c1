//! Slow start for a model whose limits nobody told us: no limit configured, and no bucket
//! learned yet (OpenRouter and many OpenAI-compatible servers send no rate-limit headers on
//! success, only on their 429s).
//!
//! Without it the whole queue would go at once and meet the server's limit as a storm of
//! 429s. Instead, the way TCP finds a path's capacity: a small window of requests in flight
//! that doubles every round trip while answers succeed (slow start), halves on a 429, and then
//! grows by one per window's worth of successes (congestion avoidance). Admissions are paced
//! (`round trip / window` apart, the round trip smoothed as TCP's SRTT) rather than sent in a
//! burst each time a round of answers comes back: the round in which the limit is crossed then
//! has one request on the way every 1.5 ms (64 per 100 ms) instead of a burst of 64 in a
//! millisecond, so only the requests sent while the first 429 travels back are rejected,
//! however loaded the machine is when that burst would have left. As soon as an answer
//! reveals a limit (a 429's `X-RateLimit-Limit`, or the key's `rate_limit` hint) a bucket
//! governs instead, and the ramp stops mattering; it only ever applies to a model with no
//! bucket at all.

use std::time::{Duration, Instant};

/// Requests in flight before anything is known: the probe and one more.
const INITIAL_WINDOW: f64 = 2.0;

/// The weight of a new round trip in the smoothed one (TCP's 1/8, RFC 6298).
const RTT_GAIN: f64 = 0.125;

/// The in-flight window of a model being discovered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Ramp {
    window: f64,
    /// Below this the window doubles per round trip; above it, it grows by one.
    threshold: f64,
    /// Smoothed round trip of the successful requests, in seconds (none yet: no pacing).
    srtt: Option<f64>,
    /// The next admission is not before this (pacing).
    next_at: Option<Instant>,
}

impl Ramp {
    pub(crate) fn new() -> Self {
        Ramp { window: INITIAL_WINDOW, threshold: f64::INFINITY, srtt: None, next_at: None }
    }

    /// When pacing lets the next request go, if later than `now`.
    pub(crate) fn paced_until(&self, now: Instant) -> Option<Instant> {
        self.next_at.filter(|at| *at > now)
    }

    /// A request was admitted at `now`: the next one waits a round trip's share of the window.
    pub(crate) fn sent(&mut self, now: Instant) {
        if let Some(rtt) = self.srtt {
            let gap = Duration::try_from_secs_f64(rtt / self.window.max(1.0)).unwrap_or_default();
            self.next_at = now.checked_add(gap);
        }
    }

    /// How many requests may be in flight now.
    pub(crate) fn allowed(&self) -> u32 {
        // The window is at least 1 and finite (it only grows by bounded steps).
        self.window.clamp(1.0, f64::from(u32::MAX)) as u32
    }

    /// A request succeeded after `rtt`: one more in slow start (a doubling per round trip),
    /// one more per window's worth after the first 429.
    pub(crate) fn grow(&mut self, rtt: Duration) {
        let rtt = rtt.as_secs_f64().min(3_600.0);
        self.srtt = Some(self.srtt.map_or(rtt, |s| s + RTT_GAIN * (rtt - s)));
        let step = if self.window < self.threshold { 1.0 } else { 1.0 / self.window };
        self.window = (self.window + step).min(1e9);
    }

    /// A 429: the window halves from what was in flight, and growth turns additive.
    pub(crate) fn shrink(&mut self, in_flight: u32) {
        let half = (f64::from(in_flight.max(self.allowed())) / 2.0).max(1.0);
        self.window = half;
        self.threshold = half;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_per_round_trip_halves_on_a_429_then_grows_by_one() {
        let mut r = Ramp::new();
        assert_eq!(r.allowed(), 2);
        // A round trip: every request in the window succeeds.
        let rtt = Duration::from_millis(100);
        for round in [2, 4, 8, 16] {
            assert_eq!(r.allowed(), round);
            for _ in 0..round {
                r.grow(rtt);
            }
        }
        assert_eq!(r.allowed(), 32);
        r.shrink(32);
        assert_eq!(r.allowed(), 16);
        for _ in 0..17 {
            r.grow(rtt); // 1/16, then 1/16.06, ...: one more after about a window of successes
        }
        assert_eq!(r.allowed(), 17, "one more per window of successes");
        r.shrink(0);
        assert_eq!(r.allowed(), 8, "halves from the window when little is in flight");
        for _ in 0..10 {
            r.shrink(0);
        }
        assert_eq!(r.allowed(), 1, "never below one");
    }

    #[test]
    fn admissions_are_paced_a_round_trip_over_the_window() {
        let t0 = Instant::now();
        let mut r = Ramp::new();
        r.sent(t0);
        assert_eq!(r.paced_until(t0), None, "no round trip known: the probe is not paced");
        for _ in 0..6 {
            r.grow(Duration::from_millis(80)); // window 8, round trip 80 ms
        }
        r.sent(t0);
        assert_eq!(r.paced_until(t0), Some(t0 + Duration::from_millis(10)));
        assert_eq!(r.paced_until(t0 + Duration::from_millis(10)), None);
        // The smoothed round trip moves an eighth of the way towards a new one.
        r.grow(Duration::from_millis(160));
        r.sent(t0);
        let gap = r.paced_until(t0).unwrap() - t0;
        assert_eq!(gap, Duration::from_secs_f64(0.09 / 9.0));
        r.grow(Duration::MAX); // a hostile figure stays finite
        r.sent(t0);
        assert!(r.paced_until(t0).is_some());
    }
}
