//! Slow start for a model whose limits nobody told us: no limit configured, and no bucket
//! learned yet (OpenRouter and many OpenAI-compatible servers send no rate-limit headers on
//! success, only on their 429s).
//!
//! Without it the whole queue would go at once and meet the server's limit as a storm of
//! 429s. Instead, the way TCP finds a path's capacity: a small window of requests in flight
//! that doubles every round trip while answers succeed (slow start), halves on a 429, and then
//! grows by one per window's worth of successes (congestion avoidance). As soon as an answer
//! reveals a limit (a 429's `X-RateLimit-Limit`, or the key's `rate_limit` hint) a bucket
//! governs instead, and the ramp stops mattering; it only ever applies to a model with no
//! bucket at all.

/// Requests in flight before anything is known: the probe and one more.
const INITIAL_WINDOW: f64 = 2.0;

/// The in-flight window of a model being discovered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Ramp {
    window: f64,
    /// Below this the window doubles per round trip; above it, it grows by one.
    threshold: f64,
}

impl Ramp {
    pub(crate) fn new() -> Self {
        Ramp { window: INITIAL_WINDOW, threshold: f64::INFINITY }
    }

    /// How many requests may be in flight now.
    pub(crate) fn allowed(&self) -> u32 {
        // The window is at least 1 and finite (it only grows by bounded steps).
        self.window.clamp(1.0, f64::from(u32::MAX)) as u32
    }

    /// A request succeeded: one more in slow start (a doubling per round trip), one more per
    /// window's worth after the first 429.
    pub(crate) fn grow(&mut self) {
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
        for round in [2, 4, 8, 16] {
            assert_eq!(r.allowed(), round);
            for _ in 0..round {
                r.grow();
            }
        }
        assert_eq!(r.allowed(), 32);
        r.shrink(32);
        assert_eq!(r.allowed(), 16);
        for _ in 0..17 {
            r.grow(); // 1/16, then 1/16.06, ...: one more after about a window of successes
        }
        assert_eq!(r.allowed(), 17, "one more per window of successes");
        r.shrink(0);
        assert_eq!(r.allowed(), 8, "halves from the window when little is in flight");
        for _ in 0..10 {
            r.shrink(0);
        }
        assert_eq!(r.allowed(), 1, "never below one");
    }
}
