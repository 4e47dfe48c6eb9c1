//! Latency distributions: exact percentiles of one second's latencies, and a log-bucketed
//! histogram that the timeline stores so the report can merge seconds into longer spans
//! (percentiles of merged seconds cannot be computed from their percentiles).

use serde::{Deserialize, Serialize};

/// Buckets per doubling: each bucket is 2^(1/4) ≈ 19% wide, so a percentile read from the
/// histogram is within 10% of the true value.
const PER_DOUBLING: f64 = 4.0;

/// p50, p90 and p99, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
}

/// Exact nearest-rank percentiles of `ms` (sorted in place); `None` when empty.
pub fn percentiles(ms: &mut [u64]) -> Option<Percentiles> {
    if ms.is_empty() {
        return None;
    }
    ms.sort_unstable();
    let rank = |q: f64| {
        let i = (q * ms.len() as f64).ceil() as usize;
        ms[i.clamp(1, ms.len()) - 1]
    };
    Some(Percentiles { p50: rank(0.50), p90: rank(0.90), p99: rank(0.99) })
}

/// The bucket of a latency in milliseconds (bucket 0 holds everything up to 1 ms).
pub fn bucket(ms: u64) -> u32 {
    if ms <= 1 {
        return 0;
    }
    ((ms as f64).log2() * PER_DOUBLING).floor() as u32 + 1
}

/// The value a bucket stands for: its geometric middle, in milliseconds.
pub fn bucket_ms(b: u32) -> u64 {
    if b == 0 {
        return 1;
    }
    let lo = 2f64.powf(f64::from(b - 1) / PER_DOUBLING);
    (lo * 2f64.powf(0.5 / PER_DOUBLING)).round() as u64
}

/// A sparse histogram: `(bucket, count)` pairs sorted by bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Hist(pub Vec<(u32, u64)>);

impl Hist {
    /// The histogram of `ms`.
    pub fn of(ms: &[u64]) -> Self {
        let mut h = Hist::default();
        for &v in ms {
            h.add(bucket(v), 1);
        }
        h
    }

    /// Adds `count` to bucket `b`.
    pub fn add(&mut self, b: u32, count: u64) {
        match self.0.binary_search_by_key(&b, |&(k, _)| k) {
            Ok(i) => self.0[i].1 += count,
            Err(i) => self.0.insert(i, (b, count)),
        }
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &Hist) {
        for &(b, c) in &other.0 {
            self.add(b, c);
        }
    }

    /// Values counted.
    pub fn count(&self) -> u64 {
        self.0.iter().map(|&(_, c)| c).sum()
    }

    /// p50, p90 and p99 as read from the buckets; `None` when empty.
    pub fn percentiles(&self) -> Option<Percentiles> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let at = |q: f64| {
            let rank = ((q * n as f64).ceil() as u64).max(1);
            let mut seen = 0;
            for &(b, c) in &self.0 {
                seen += c;
                if seen >= rank {
                    return bucket_ms(b);
                }
            }
            self.0.last().map_or(0, |&(b, _)| bucket_ms(b))
        };
        Some(Percentiles { p50: at(0.50), p90: at(0.90), p99: at(0.99) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_percentiles_by_nearest_rank() {
        let mut v: Vec<u64> = (1..=100).rev().collect();
        assert_eq!(percentiles(&mut v), Some(Percentiles { p50: 50, p90: 90, p99: 99 }));
        assert_eq!(percentiles(&mut [7]), Some(Percentiles { p50: 7, p90: 7, p99: 7 }));
        assert_eq!(percentiles(&mut []), None);
    }

    #[test]
    fn histogram_percentiles_are_within_ten_percent_and_merge() {
        let a: Vec<u64> = (1..=500).map(|i| i * 4).collect();
        let b: Vec<u64> = (501..=1000).map(|i| i * 4).collect();
        let mut h = Hist::of(&a);
        h.merge(&Hist::of(&b));
        assert_eq!(h.count(), 1000);
        let p = h.percentiles().expect("values");
        for (got, want) in [(p.p50, 2000.0), (p.p90, 3600.0), (p.p99, 3960.0)] {
            assert!((got as f64 - want).abs() / want < 0.10, "{got} vs {want}");
        }
        assert!(bucket(1) == 0 && bucket(2) > 0 && bucket(1_000) < bucket(1_200));
    }
}
