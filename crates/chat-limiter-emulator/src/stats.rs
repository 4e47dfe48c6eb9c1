//! What the server saw, so tests and benchmarks can assert on the provider's view.

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use parking_lot::Mutex;
use serde::Serialize;

/// Counts for one second of the timeline.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SecondStats {
    /// Seconds since the emulator started (or since the last `reset_stats`).
    pub second: u64,
    /// 2xx responses finished in this second.
    pub accepted: u64,
    /// 429 responses sent in this second.
    pub rate_limited: u64,
}

/// A snapshot of the server-side statistics (`Emulator::stats`, `GET /_stats`).
#[derive(Clone, Debug, Default, Serialize)]
#[non_exhaustive]
pub struct EmulatorStats {
    /// Requests received on the API routes (not counting `/_stats`).
    pub requests: u64,
    /// 2xx responses (including streams, malformed-body and garbage-header faults).
    pub accepted: u64,
    /// 429 responses (rate limits and quota errors).
    pub rate_limited: u64,
    /// Responses by HTTP status (dropped and stalled connections have none).
    pub by_status: BTreeMap<u16, u64>,
    /// Injected faults by [`FaultKind::name`](super::FaultKind::name), plus `"quota"` for
    /// quota-mode errors.
    pub faults: BTreeMap<String, u64>,
    /// Prompt tokens reported in the usage of completed chat responses.
    pub input_tokens: u64,
    /// Completion tokens reported in the usage of completed chat responses.
    pub output_tokens: u64,
    /// Requests being handled right now.
    pub in_flight: u64,
    /// Highest number of requests handled at once.
    pub peak_in_flight: u64,
    /// Accepted and 429 counts per second; seconds with neither are present as zeros.
    pub timeline: Vec<SecondStats>,
    /// Accepted chat requests whose exact body had already been accepted before.
    pub duplicate_bodies: u64,
    /// OpenRouter credits spent (USD).
    pub credits_spent: f64,
    /// What the completed chat requests would have cost under the emulator's price table
    /// ([`EmulatorBuilder::price_table`](super::EmulatorBuilder::price_table)), USD; 0 with
    /// no table.
    pub cost_usd: f64,
    /// Completed chat requests whose model the price table does not have (not in
    /// `cost_usd`).
    pub unpriced_requests: u64,
}

#[derive(Debug)]
struct Inner {
    stats: EmulatorStats,
    seen: HashSet<u64>,
    start: Instant,
}

/// Thread-safe collector.
#[derive(Debug)]
pub(crate) struct StatsCollector(Mutex<Inner>);

impl StatsCollector {
    pub(crate) fn new() -> Self {
        StatsCollector(Mutex::new(Inner {
            stats: EmulatorStats::default(),
            seen: HashSet::new(),
            start: Instant::now(),
        }))
    }

    pub(crate) fn snapshot(&self) -> EmulatorStats {
        self.0.lock().stats.clone()
    }

    /// Clears everything except the in-flight gauge, which live requests still decrement.
    pub(crate) fn reset(&self) {
        let mut inner = self.0.lock();
        let in_flight = inner.stats.in_flight;
        inner.stats = EmulatorStats { in_flight, peak_in_flight: in_flight, ..Default::default() };
        inner.seen.clear();
        inner.start = Instant::now();
    }

    pub(crate) fn begin(&self) {
        let mut inner = self.0.lock();
        inner.stats.requests += 1;
        inner.stats.in_flight += 1;
        inner.stats.peak_in_flight = inner.stats.peak_in_flight.max(inner.stats.in_flight);
    }

    pub(crate) fn end(&self) {
        let mut inner = self.0.lock();
        inner.stats.in_flight = inner.stats.in_flight.saturating_sub(1);
    }

    pub(crate) fn status(&self, status: u16) {
        let mut inner = self.0.lock();
        let second = inner.start.elapsed().as_secs();
        *inner.stats.by_status.entry(status).or_default() += 1;
        let accepted = (200..300).contains(&status);
        if !accepted && status != 429 {
            return;
        }
        let timeline = &mut inner.stats.timeline;
        while timeline.len() as u64 <= second {
            let second = timeline.len() as u64;
            timeline.push(SecondStats { second, ..Default::default() });
        }
        let slot = &mut timeline[second as usize];
        if accepted {
            slot.accepted += 1;
            inner.stats.accepted += 1;
        } else {
            slot.rate_limited += 1;
            inner.stats.rate_limited += 1;
        }
    }

    pub(crate) fn fault(&self, name: &str) {
        *self.0.lock().stats.faults.entry(name.to_string()).or_default() += 1;
    }

    /// Records an accepted chat request: its usage, its cost and whether its body repeats.
    pub(crate) fn completed(&self, body_hash: u64, input: u64, output: u64, cost: f64) {
        let mut inner = self.0.lock();
        if !inner.seen.insert(body_hash) {
            inner.stats.duplicate_bodies += 1;
        }
        inner.stats.input_tokens += input;
        inner.stats.output_tokens += output;
        inner.stats.credits_spent += cost;
    }
}

impl StatsCollector {
    /// Adds a completed request's cost under the price table (`None`: its model is unpriced).
    pub(crate) fn priced(&self, usd: Option<f64>) {
        let mut inner = self.0.lock();
        match usd {
            Some(usd) => inner.stats.cost_usd += usd,
            None => inner.stats.unpriced_requests += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_duplicates() {
        let s = StatsCollector::new();
        s.begin();
        s.begin();
        s.end();
        s.status(200);
        s.status(429);
        s.status(500);
        s.completed(1, 10, 5, 0.0);
        s.completed(1, 10, 5, 0.0);
        s.completed(2, 1, 1, 0.0);
        let st = s.snapshot();
        assert_eq!((st.requests, st.accepted, st.rate_limited), (2, 1, 1));
        assert_eq!((st.in_flight, st.peak_in_flight), (1, 2));
        assert_eq!(st.by_status.get(&500), Some(&1));
        assert_eq!(st.duplicate_bodies, 1);
        assert_eq!((st.input_tokens, st.output_tokens), (21, 11));
        assert_eq!(st.timeline[0], SecondStats { second: 0, accepted: 1, rate_limited: 1 });
        s.reset();
        assert_eq!(s.snapshot().requests, 0);
    }
}
