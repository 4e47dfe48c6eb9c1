//! The ideal schedule of a workload under a provider's buckets (shared by the benchmarks).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// One server bucket.
pub struct Bucket {
    pub cap: f64,
    pub rate: f64,
}

/// One request: its charge per bucket at admission, what is refunded when it completes, and
/// its latency in seconds.
#[derive(Clone)]
pub struct Item {
    pub charge: Vec<f64>,
    pub refund: Vec<f64>,
    pub latency: f64,
}

struct Refund(f64, usize);

impl PartialEq for Refund {
    fn eq(&self, o: &Self) -> bool {
        self.0 == o.0
    }
}
impl Eq for Refund {}
impl PartialOrd for Refund {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Refund {
    fn cmp(&self, o: &Self) -> Ordering {
        o.0.total_cmp(&self.0) // earliest first
    }
}

/// Seconds until the last answer when every request is admitted, in order, as soon as all
/// buckets hold its charge (a request larger than a bucket waits for a full bucket).
pub fn simulate(buckets: &[Bucket], items: &[Item]) -> f64 {
    let dt = 0.001;
    let mut level: Vec<f64> = buckets.iter().map(|b| b.cap).collect();
    let mut refunds = BinaryHeap::new();
    let (mut t, mut last, mut i) = (0.0f64, 0.0f64, 0usize);
    while i < items.len() {
        while refunds.peek().is_some_and(|r: &Refund| r.0 <= t) {
            if let Some(Refund(_, k)) = refunds.pop() {
                for (d, l) in level.iter_mut().enumerate() {
                    *l = (*l + items[k].refund[d]).min(buckets[d].cap);
                }
            }
        }
        while i < items.len()
            && items[i].charge.iter().enumerate().all(|(d, c)| level[d] >= c.min(buckets[d].cap))
        {
            for (d, l) in level.iter_mut().enumerate() {
                *l -= items[i].charge[d];
            }
            refunds.push(Refund(t + items[i].latency, i));
            last = last.max(t + items[i].latency);
            i += 1;
        }
        t += dt;
        for (d, l) in level.iter_mut().enumerate() {
            *l = (*l + buckets[d].rate * dt).min(buckets[d].cap);
        }
    }
    last
}
