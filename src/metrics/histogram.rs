//! A small fixed-bucket histogram of durations: one atomic counter per bucket, so recording
//! is a few relaxed atomic adds and never takes a lock on the request path.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// The buckets' upper bounds, in seconds (each bucket counts durations `<=` its bound; one
/// more bucket counts the rest). From a millisecond to an hour: an admission that waited
/// nothing, a request's latency, a pause after a 429 and a wait on a daily cap all land in a
/// bucket that tells them apart.
pub const BUCKET_BOUNDS: [f64; 16] = [
    0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];

/// Where durations are counted (crate-internal; read through [`Histogram`]).
#[derive(Debug, Default)]
pub(crate) struct AtomicHistogram {
    /// Per bucket, the last one for durations above every bound.
    counts: [AtomicU64; BUCKET_BOUNDS.len() + 1],
    /// Sum of every duration, in microseconds.
    sum_us: AtomicU64,
}

impl AtomicHistogram {
    /// Counts one duration.
    pub(crate) fn record(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = BUCKET_BOUNDS.iter().position(|&b| secs <= b).unwrap_or(BUCKET_BOUNDS.len());
        self.counts[i].fetch_add(1, Relaxed);
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.sum_us.fetch_add(us, Relaxed);
    }

    /// What has been counted so far.
    pub(crate) fn snapshot(&self) -> Histogram {
        Histogram {
            counts: self.counts.iter().map(|c| c.load(Relaxed)).collect(),
            sum: Duration::from_micros(self.sum_us.load(Relaxed)),
        }
    }
}

/// A distribution of durations in the fixed buckets of [`BUCKET_BOUNDS`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Histogram {
    /// How many durations fell in each bucket: `counts[i]` for those in
    /// `(BUCKET_BOUNDS[i-1], BUCKET_BOUNDS[i]]`, and one last entry for those above an hour
    /// (`BUCKET_BOUNDS.len() + 1` entries; not cumulative).
    pub counts: Vec<u64>,
    /// The sum of every duration counted.
    pub sum: Duration,
}

impl Histogram {
    /// How many durations were counted.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The mean duration, when any was counted.
    pub fn mean(&self) -> Option<Duration> {
        let n = self.count();
        (n > 0).then(|| self.sum / u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// The upper bound of the bucket holding the `q` quantile (`0.5` the median, `0.99` the
    /// 99th percentile): the true value is at most this. `None` when nothing was counted, or
    /// when the quantile lies above the last bound (more than an hour).
    pub fn quantile_bound(&self, q: f64) -> Option<Duration> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * n as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return BUCKET_BOUNDS.get(i).map(|&b| Duration::from_secs_f64(b));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_land_in_their_bucket_and_sum() {
        let h = AtomicHistogram::default();
        h.record(Duration::ZERO);
        h.record(Duration::from_millis(1)); // on a bound: that bucket
        h.record(Duration::from_millis(300));
        h.record(Duration::from_secs(7200));
        let s = h.snapshot();
        assert_eq!(s.counts.len(), BUCKET_BOUNDS.len() + 1);
        assert_eq!(s.counts[0], 2);
        assert_eq!(s.counts[6], 1, "300 ms is in (0.25, 0.5]");
        assert_eq!(s.counts[BUCKET_BOUNDS.len()], 1, "two hours is above every bound");
        assert_eq!(s.count(), 4);
        assert_eq!(s.sum, Duration::from_micros(1_000 + 300_000 + 7_200_000_000));
    }

    #[test]
    fn quantiles_are_bucket_bounds() {
        let h = AtomicHistogram::default();
        for _ in 0..9 {
            h.record(Duration::from_millis(40));
        }
        h.record(Duration::from_secs(3));
        let s = h.snapshot();
        assert_eq!(s.quantile_bound(0.5), Some(Duration::from_millis(50)));
        assert_eq!(s.quantile_bound(0.9), Some(Duration::from_millis(50)));
        assert_eq!(s.quantile_bound(0.95), Some(Duration::from_secs(5)));
        assert_eq!(Histogram::default().quantile_bound(0.5), None);
        assert_eq!(Histogram::default().mean(), None);
        assert_eq!(s.mean(), Some(Duration::from_micros((9 * 40_000 + 3_000_000) / 10)));
    }
}
