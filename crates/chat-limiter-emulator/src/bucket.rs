//! Continuous-refill token buckets and the per-(key, model) limiter built from them.
//!
//! Every function takes `now` explicitly so the arithmetic is testable exactly with
//! synthetic instants; only the server reads the real clock.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Tolerance for float noise when comparing bucket levels (far below one token).
const EPS: f64 = 1e-6;

/// A limit dimension, named the way the providers name them in their 429s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Dim {
    /// Requests per minute (OpenRouter: per configured interval).
    Requests,
    /// Requests per day (window 86400 s).
    RequestsDay,
    /// OpenAI tokens per minute.
    Tokens,
    /// OpenAI tokens per day.
    TokensDay,
    /// Anthropic input tokens per minute.
    InputTokens,
    /// Anthropic output tokens per minute.
    OutputTokens,
}

/// One bucket: capacity `limit`, refilled continuously at `limit / window`.
#[derive(Clone, Debug)]
pub(crate) struct Bucket {
    limit: u64,
    window: Duration,
    /// May go negative when a settlement charges more than was reserved.
    level: f64,
    last: Instant,
}

impl Bucket {
    /// A full bucket.
    pub(crate) fn new(limit: u64, window: Duration, now: Instant) -> Self {
        Bucket { limit, window, level: limit as f64, last: now }
    }

    fn rate(&self) -> f64 {
        self.limit as f64 / self.window.as_secs_f64()
    }

    /// The level at `now` without mutating (instants before `last` count as `last`).
    pub(crate) fn level_at(&self, now: Instant) -> f64 {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        (self.level + dt * self.rate()).min(self.limit as f64)
    }

    fn advance(&mut self, now: Instant) {
        self.level = self.level_at(now);
        if now > self.last {
            self.last = now;
        }
    }

    /// Whether `amount` can be taken now.
    pub(crate) fn fits(&self, amount: f64, now: Instant) -> bool {
        self.level_at(now) + EPS >= amount
    }

    /// Adds `delta` to the consumed amount: positive charges, negative refunds (capped at full).
    pub(crate) fn charge(&mut self, delta: f64, now: Instant) {
        self.advance(now);
        self.level = (self.level - delta).min(self.limit as f64);
    }

    /// Whole units available (floor, never negative).
    pub(crate) fn remaining(&self, now: Instant) -> u64 {
        (self.level_at(now) + EPS).floor().max(0.0) as u64
    }

    /// Time until the bucket is full again: deficit × window / limit.
    pub(crate) fn time_to_full(&self, now: Instant) -> Duration {
        self.time_to_level(self.limit as f64, now)
    }

    /// Time until `amount` fits.
    pub(crate) fn time_until(&self, amount: f64, now: Instant) -> Duration {
        self.time_to_level(amount.min(self.limit as f64), now)
    }

    fn time_to_level(&self, target: f64, now: Instant) -> Duration {
        let deficit = (target - self.level_at(now)).max(0.0);
        // Multiply before dividing and round to the nanosecond so that exact cases such as
        // 1 request at 500 RPM give exactly 120 ms rather than 119.999… ms.
        let secs = deficit * self.window.as_secs_f64() / self.limit as f64;
        Duration::from_nanos((secs * 1e9).round() as u64)
    }
}

/// A configured limit: which dimension, its capacity and its window.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LimitSpec {
    pub(crate) dim: Dim,
    pub(crate) limit: u64,
    pub(crate) window: Duration,
}

/// State of one dimension as reported in headers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DimView {
    pub(crate) dim: Dim,
    pub(crate) limit: u64,
    pub(crate) remaining: u64,
    pub(crate) to_full: Duration,
}

/// Why a request was not admitted.
#[derive(Clone, Debug)]
pub(crate) struct Rejection {
    pub(crate) dim: Dim,
    pub(crate) limit: u64,
    pub(crate) used: u64,
    pub(crate) requested: u64,
    /// Time until the request would fit (zero-length never happens for a real rejection).
    pub(crate) wait: Duration,
    /// The request exceeds the capacity itself and can never succeed.
    pub(crate) too_large: bool,
}

/// Buckets per (key, model), created full on first use.
#[derive(Debug)]
pub(crate) struct Limiter {
    specs: Vec<LimitSpec>,
    states: Mutex<HashMap<(String, String), Vec<Bucket>>>,
}

impl Limiter {
    pub(crate) fn new(specs: Vec<LimitSpec>) -> Self {
        Limiter { specs, states: Mutex::new(HashMap::new()) }
    }

    fn with_buckets<T>(
        &self,
        key: &str,
        model: &str,
        now: Instant,
        f: impl FnOnce(&[LimitSpec], &mut Vec<Bucket>) -> T,
    ) -> T {
        let mut states = self.states.lock();
        let buckets = states.entry((key.to_string(), model.to_string())).or_insert_with(|| {
            self.specs.iter().map(|s| Bucket::new(s.limit, s.window, now)).collect()
        });
        f(&self.specs, buckets)
    }

    /// Checks every dimension first and charges all of them only if all fit, so a
    /// rejected request consumes nothing. A zero amount still needs one unit available
    /// (an exhausted output bucket blocks even when nothing is reserved up front).
    pub(crate) fn admit(
        &self,
        key: &str,
        model: &str,
        charge: &[(Dim, f64)],
        now: Instant,
    ) -> Result<Vec<DimView>, Rejection> {
        self.with_buckets(key, model, now, |specs, buckets| {
            for (spec, bucket) in specs.iter().zip(buckets.iter()) {
                let amount = amount_for(charge, spec.dim);
                let need = if amount <= 0.0 { 1.0 } else { amount };
                if !bucket.fits(need, now) {
                    return Err(Rejection {
                        dim: spec.dim,
                        limit: spec.limit,
                        used: spec.limit - bucket.remaining(now).min(spec.limit),
                        requested: amount.ceil() as u64,
                        wait: bucket.time_until(need, now),
                        too_large: need > spec.limit as f64,
                    });
                }
            }
            for (spec, bucket) in specs.iter().zip(buckets.iter_mut()) {
                bucket.charge(amount_for(charge, spec.dim), now);
            }
            Ok(views(specs, buckets, now))
        })
    }

    /// Settles a finished request: positive deltas charge more, negative ones refund.
    pub(crate) fn adjust(&self, key: &str, model: &str, deltas: &[(Dim, f64)], now: Instant) {
        self.with_buckets(key, model, now, |specs, buckets| {
            for (spec, bucket) in specs.iter().zip(buckets.iter_mut()) {
                let delta = amount_for(deltas, spec.dim);
                if delta != 0.0 {
                    bucket.charge(delta, now);
                }
            }
        })
    }

    /// Current state of every dimension, for headers on responses that charged nothing.
    pub(crate) fn views(&self, key: &str, model: &str, now: Instant) -> Vec<DimView> {
        self.with_buckets(key, model, now, |specs, buckets| views(specs, buckets, now))
    }
}

fn amount_for(charge: &[(Dim, f64)], dim: Dim) -> f64 {
    charge.iter().filter(|(d, _)| *d == dim).map(|(_, a)| a).sum()
}

fn views(specs: &[LimitSpec], buckets: &[Bucket], now: Instant) -> Vec<DimView> {
    specs
        .iter()
        .zip(buckets)
        .map(|(s, b)| DimView {
            dim: s.dim,
            limit: s.limit,
            remaining: b.remaining(now),
            to_full: b.time_to_full(now),
        })
        .collect()
}

/// The view of `dim`, if configured.
pub(crate) fn find(views: &[DimView], dim: Dim) -> Option<DimView> {
    views.iter().copied().find(|v| v.dim == dim)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn starts_full_and_reports_time_to_full() {
        let t0 = Instant::now();
        let mut b = Bucket::new(500, MIN, t0);
        assert_eq!(b.remaining(t0), 500);
        assert_eq!(b.time_to_full(t0), Duration::ZERO);
        b.charge(1.0, t0);
        assert_eq!(b.remaining(t0), 499);
        assert_eq!(b.time_to_full(t0), Duration::from_millis(120));
    }

    #[test]
    fn refills_linearly_and_caps_at_capacity() {
        let t0 = Instant::now();
        let mut b = Bucket::new(300_000, MIN, t0);
        b.charge(4568.0, t0);
        assert_eq!(b.time_to_full(t0).as_millis(), 913);
        // 5000 tokens per second refill.
        assert_eq!(b.remaining(t0 + Duration::from_millis(500)), 295_432 + 2500);
        assert_eq!(b.remaining(t0 + Duration::from_secs(5)), 300_000);
        b.charge(-1_000_000.0, t0);
        assert_eq!(b.remaining(t0), 300_000, "refunds never overfill");
    }

    #[test]
    fn daily_window_arithmetic() {
        let t0 = Instant::now();
        let mut b = Bucket::new(1_500_000, Duration::from_secs(86_400), t0);
        b.charge(17_250.0, t0);
        assert_eq!(b.time_to_full(t0).as_millis(), 993_600);
        let mut r = Bucket::new(200, Duration::from_secs(86_400), t0);
        r.charge(1.0, t0);
        assert_eq!(r.time_to_full(t0), Duration::from_secs(432));
    }

    #[test]
    fn time_until_amount_fits() {
        let t0 = Instant::now();
        let mut b = Bucket::new(600, MIN, t0);
        b.charge(600.0, t0);
        assert!(!b.fits(1.0, t0));
        assert_eq!(b.time_until(1.0, t0), Duration::from_millis(100));
        assert!(b.fits(1.0, t0 + Duration::from_millis(100)));
        assert_eq!(b.time_until(5000.0, t0), MIN, "capped at capacity");
    }

    #[test]
    fn limiter_rejects_without_consuming() {
        let t0 = Instant::now();
        let lim = Limiter::new(vec![
            LimitSpec { dim: Dim::Requests, limit: 10, window: MIN },
            LimitSpec { dim: Dim::Tokens, limit: 100, window: MIN },
        ]);
        let ok = lim.admit("k", "m", &[(Dim::Requests, 1.0), (Dim::Tokens, 60.0)], t0).unwrap();
        assert_eq!(find(&ok, Dim::Tokens).unwrap().remaining, 40);
        let err =
            lim.admit("k", "m", &[(Dim::Requests, 1.0), (Dim::Tokens, 60.0)], t0).unwrap_err();
        assert_eq!((err.dim, err.limit, err.used, err.requested), (Dim::Tokens, 100, 60, 60));
        assert_eq!(err.wait, Duration::from_secs(12));
        assert!(!err.too_large);
        let v = lim.views("k", "m", t0);
        assert_eq!(find(&v, Dim::Requests).unwrap().remaining, 9, "rejection consumed nothing");
        let big = lim.admit("k", "m", &[(Dim::Tokens, 101.0)], t0).unwrap_err();
        assert!(big.too_large);
        // Other keys and models have their own buckets.
        assert!(lim.admit("k2", "m", &[(Dim::Tokens, 100.0)], t0).is_ok());
        assert!(lim.admit("k", "m2", &[(Dim::Tokens, 100.0)], t0).is_ok());
    }

    #[test]
    fn limiter_settlement_refunds_and_overcharges() {
        let t0 = Instant::now();
        let lim =
            Limiter::new(vec![LimitSpec { dim: Dim::OutputTokens, limit: 1000, window: MIN }]);
        lim.admit("k", "m", &[(Dim::OutputTokens, 800.0)], t0).unwrap();
        lim.adjust("k", "m", &[(Dim::OutputTokens, -500.0)], t0);
        assert_eq!(find(&lim.views("k", "m", t0), Dim::OutputTokens).unwrap().remaining, 700);
        lim.adjust("k", "m", &[(Dim::OutputTokens, 900.0)], t0);
        assert_eq!(find(&lim.views("k", "m", t0), Dim::OutputTokens).unwrap().remaining, 0);
        // Level is -200 now; one unit fits only after 201 tokens of refill (12.06 s).
        let err = lim.admit("k", "m", &[(Dim::OutputTokens, 0.0)], t0).unwrap_err();
        assert_eq!(err.wait, Duration::from_millis(12_060));
    }
}
