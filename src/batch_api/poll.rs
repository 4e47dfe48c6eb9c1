//! How often a running batch is polled: seconds at first, minutes later.

use std::time::Duration;

/// The delays between two polls of a batch: `first`, growing by `factor` up to `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollSchedule {
    /// The first delay.
    pub first: Duration,
    /// The longest delay.
    pub max: Duration,
    /// The growth per poll (at least 1).
    pub factor: f64,
}

impl Default for PollSchedule {
    /// 5 s, growing by half each poll, at most 5 minutes: a batch that takes hours is polled
    /// about a dozen times an hour.
    fn default() -> Self {
        PollSchedule { first: Duration::from_secs(5), max: Duration::from_secs(300), factor: 1.5 }
    }
}

impl PollSchedule {
    /// The delay before poll number `n` (0 for the first).
    pub fn delay(&self, n: u32) -> Duration {
        let factor = if self.factor.is_finite() { self.factor.max(1.0) } else { 1.0 };
        let secs = self.first.as_secs_f64() * factor.powi(n.min(1000) as i32);
        let max = self.max.max(self.first);
        if !secs.is_finite() || secs >= max.as_secs_f64() {
            max
        } else {
            Duration::from_secs_f64(secs)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_then_caps() {
        let s = PollSchedule::default();
        assert_eq!(s.delay(0), Duration::from_secs(5));
        assert_eq!(s.delay(1), Duration::from_secs_f64(7.5));
        assert!(s.delay(5) > s.delay(4));
        assert_eq!(s.delay(50), Duration::from_secs(300));
        assert_eq!(s.delay(u32::MAX), Duration::from_secs(300));
    }

    #[test]
    fn a_bad_factor_does_not_shrink_or_explode() {
        let s = PollSchedule { factor: f64::NAN, ..PollSchedule::default() };
        assert_eq!(s.delay(9), Duration::from_secs(5));
        let s = PollSchedule { factor: 0.1, ..PollSchedule::default() };
        assert_eq!(s.delay(3), Duration::from_secs(5));
    }
}
