//! A continuous-refill token bucket with reservations, as the providers run them.
//!
//! Pure arithmetic on an explicit `now`, so it is tested with exact instants. The level may go
//! below zero: a request admitted on an estimate that turned out low is charged the difference,
//! and the debt is paid back by refill before anyone else is admitted.

use std::time::{Duration, Instant};

use crate::limit::info::DimensionInfo;
use crate::limit::snapshot::DimensionSnapshot;
use crate::limit::window::{Precision, WindowEstimate};

/// The window assumed when the server does not let us derive one (per-minute limits).
pub(crate) const DEFAULT_WINDOW: Duration = Duration::from_secs(60);

/// One limit dimension.
#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    /// The provider's limit for the window.
    limit: f64,
    /// The share of the limit we use (buffer ratio).
    ratio: f64,
    /// Units available now, relative to `limit * ratio` as full. May be negative.
    level: f64,
    /// Refill per second.
    rate: f64,
    /// When `level` was last brought up to date.
    updated: Instant,
    /// Units charged since the last usage reset (monitoring only).
    pub(crate) used: u64,
    /// While set, time passes without refill (see [`hold_refill`](Self::hold_refill)).
    held: bool,
    /// Units given back by settlements since the bucket was made (see [`sync`](Self::sync)).
    pub(crate) refunded: f64,
    /// What is known of the refill window behind `rate`.
    window: WindowEstimate,
}

impl Bucket {
    /// A full bucket of `limit` units refilling over `window`.
    pub(crate) fn new(limit: u64, window: Duration, ratio: f64, now: Instant) -> Self {
        let limit = limit.max(1) as f64;
        let window = window.max(Duration::from_millis(1)).as_secs_f64();
        Bucket {
            limit,
            ratio,
            level: limit * ratio,
            rate: limit / window,
            updated: now,
            used: 0,
            held: false,
            refunded: 0.0,
            window: WindowEstimate::assumed(Duration::from_secs_f64(window)),
        }
    }

    /// The usable capacity (limit times the buffer ratio).
    pub(crate) fn capacity(&self) -> f64 {
        self.limit * self.ratio
    }

    /// The provider's limit.
    pub(crate) fn limit(&self) -> u64 {
        self.limit as u64
    }

    /// Refill per second.
    pub(crate) fn rate(&self) -> f64 {
        self.rate
    }

    /// Takes over a shared store's view of this dimension (limit, refill rate, level as of
    /// `now`), keeping the local usage counter: the store is the truth, this is its mirror.
    pub(crate) fn mirror(&mut self, limit: f64, rate: f64, level: f64, now: Instant) {
        if limit >= 1.0 && rate > 0.0 && level.is_finite() {
            self.limit = limit;
            self.rate = rate;
            self.level = level.min(self.capacity());
            self.updated = now;
        }
    }

    /// The bucket as [`current_limits`](crate::ChatLimiter::current_limits) shows it.
    pub(crate) fn snapshot(&mut self, now: Instant) -> DimensionSnapshot {
        DimensionSnapshot {
            limit: self.limit(),
            remaining: self.level(now).max(0.0) as u64,
            used: self.used,
            reset: self.time_to_full(now),
            window: Duration::from_secs_f64(self.limit / self.rate.max(1e-9)),
        }
    }

    /// Units available at `now`.
    pub(crate) fn level(&mut self, now: Instant) -> f64 {
        self.refill(now);
        self.level
    }

    /// Marks the window as configured: trusted until a reset contradicts it.
    pub(crate) fn trust_window(&mut self) {
        self.window = WindowEstimate::known(Duration::from_secs_f64(self.limit / self.rate));
    }

    /// Stops refill. A configured bucket starts full, but the provider's own bucket may only
    /// start when our first request reaches it; until then no refill credit accrues.
    pub(crate) fn hold_refill(&mut self, now: Instant) {
        self.refill(now);
        self.held = true;
    }

    /// Restarts refill, crediting it from `from` (when the provider's bucket is known to have
    /// existed; not after `now`).
    pub(crate) fn release_refill(&mut self, from: Instant, now: Instant) {
        if self.held {
            self.held = false;
            self.updated = from.min(now);
            self.refill(now);
        }
    }

    fn refill(&mut self, now: Instant) {
        if self.held {
            self.updated = self.updated.max(now);
            return;
        }
        if now > self.updated {
            let dt = (now - self.updated).as_secs_f64();
            self.level = (self.level + dt * self.rate).min(self.capacity());
            self.updated = now;
        }
    }

    /// Whether `cost` can never be admitted (it exceeds the provider's whole limit).
    pub(crate) fn never_fits(&self, cost: u64) -> bool {
        cost as f64 > self.limit
    }

    /// When `cost` units will be available: `None` if now.
    ///
    /// A cost between the usable capacity and the limit waits for a full bucket and then
    /// overdraws, so a buffer ratio never turns a legal request into one that can never run.
    pub(crate) fn wait_for(&mut self, cost: u64, now: Instant) -> Option<Instant> {
        self.refill(now);
        let need = (cost as f64).min(self.capacity());
        if self.level >= need {
            return None;
        }
        let secs = (need - self.level) / self.rate;
        Some(now + Duration::from_secs_f64(secs.min(1e9)))
    }

    /// Takes `cost` units (the caller checked [`wait_for`](Self::wait_for)).
    pub(crate) fn take(&mut self, cost: u64, now: Instant) {
        self.refill(now);
        self.level -= cost as f64;
        self.used = self.used.saturating_add(cost);
    }

    /// Corrects an earlier charge: positive `delta` gives units back, negative charges more.
    pub(crate) fn adjust(&mut self, delta: i64, now: Instant) {
        self.refill(now);
        self.level = (self.level + delta as f64).min(self.capacity());
        if delta < 0 {
            self.used = self.used.saturating_add(delta.unsigned_abs());
        } else {
            self.used = self.used.saturating_sub(delta as u64);
            self.refunded += delta as f64;
        }
    }

    /// Time until the bucket is full again.
    pub(crate) fn time_to_full(&mut self, now: Instant) -> Duration {
        self.refill(now);
        let secs = ((self.capacity() - self.level) / self.rate).clamp(0.0, 1e9);
        Duration::from_secs_f64(if secs.is_nan() { 0.0 } else { secs })
    }

    /// Follows what the server reported.
    ///
    /// A reported limit sets the size (and the refill rate, from the window the reset implies);
    /// a reported remaining can only lower our balance, never raise it, because the server's
    /// figure is as of that request's admission and does not know of requests still on the way.
    ///
    /// `credit` is what the server has certainly regained since it computed `remaining`
    /// (refill and refunds since the request was admitted): the header is as of admission,
    /// so applying it raw at response time would throw away a latency's worth of capacity
    /// on every response.
    ///
    /// The refill window is learned from the resets (see `window.rs`; `precision` is how
    /// exactly the figures were reported).
    ///
    /// `precision.rounding` is how `remaining` was rounded (0: floored; N: to the nearest N). A rounded
    /// figure is read at the top of its range, so rounding alone never lowers a correct
    /// balance (usage by someone else below N/2 goes unseen until the server says 429).
    pub(crate) fn sync(
        &mut self,
        info: &DimensionInfo,
        precision: &Precision,
        now: Instant,
        credit: f64,
    ) {
        self.refill(now);
        if let Some(limit) = info.limit.filter(|&l| l > 0) {
            if let (Some(remaining), Some(reset)) = (info.remaining, info.reset) {
                self.window.observe(limit, remaining, reset, precision);
            }
            let limit = limit as f64;
            if (limit - self.limit).abs() > f64::EPSILON {
                // Keep the same deficit when the size changes, so a larger limit is usable
                // at once and a smaller one does not leave us above it.
                let deficit = self.capacity() - self.level;
                self.limit = limit;
                self.level = self.capacity() - deficit;
            }
            self.rate = limit / self.window.seconds();
        }
        if let Some(remaining) = info.remaining {
            let rounding = precision.rounding;
            let slack = if rounding > 1 { (rounding / 2) as f64 - 1.0 } else { 0.0 };
            let usable =
                remaining as f64 + slack + credit.max(0.0) - self.limit * (1.0 - self.ratio);
            self.level = self.level.min(usable);
        }
    }

    /// Forgets monitoring counters.
    pub(crate) fn reset_used(&mut self) {
        self.used = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn refills_linearly_and_caps_at_capacity() {
        let t0 = Instant::now();
        let mut b = Bucket::new(600, Duration::from_secs(60), 1.0, t0); // 10 per second
        b.take(600, t0);
        assert_eq!(b.level(t0), 0.0);
        assert!((b.level(t0 + ms(1500)) - 15.0).abs() < 1e-9);
        assert_eq!(b.level(t0 + Duration::from_secs(3600)), 600.0);
    }

    #[test]
    fn wait_for_is_exact() {
        let t0 = Instant::now();
        let mut b = Bucket::new(60, Duration::from_secs(60), 1.0, t0); // 1 per second
        b.take(60, t0);
        assert_eq!(b.wait_for(5, t0), Some(t0 + Duration::from_secs(5)));
        assert_eq!(b.wait_for(5, t0 + Duration::from_secs(5)), None);
    }

    #[test]
    fn buffer_ratio_limits_use_but_not_admissibility() {
        let t0 = Instant::now();
        let mut b = Bucket::new(100, Duration::from_secs(60), 0.5, t0);
        assert_eq!(b.capacity(), 50.0);
        assert!(!b.never_fits(80), "fits the provider's limit");
        assert!(b.never_fits(101));
        assert_eq!(b.wait_for(80, t0), None, "a full bucket admits it");
        b.take(80, t0);
        assert_eq!(b.level(t0), -30.0);
    }

    #[test]
    fn sync_only_lowers_and_learns_size() {
        let t0 = Instant::now();
        let mut b = Bucket::new(1000, Duration::from_secs(60), 1.0, t0);
        b.take(100, t0);
        let info = DimensionInfo { limit: Some(1000), remaining: Some(950), reset: Some(ms(3000)) };
        b.sync(&info, &Precision::EXACT, t0, 0.0);
        assert_eq!(b.level(t0), 900.0, "server's higher remaining does not raise ours");
        let info =
            DimensionInfo { limit: Some(1000), remaining: Some(500), reset: Some(ms(30_000)) };
        b.sync(&info, &Precision::EXACT, t0, 0.0);
        assert_eq!(b.level(t0), 500.0, "another process used the key: follow the server");
        let bigger = DimensionInfo { limit: Some(2000), remaining: None, reset: None };
        b.sync(&bigger, &Precision::EXACT, t0, 0.0);
        assert_eq!(b.limit(), 2000);
        assert_eq!(b.level(t0), 1500.0, "same deficit in a larger bucket");
    }

    #[test]
    fn daily_window_slows_refill() {
        let t0 = Instant::now();
        let mut b = Bucket::new(200, Duration::from_secs(60), 1.0, t0);
        let info = DimensionInfo {
            limit: Some(200),
            remaining: Some(199),
            reset: Some(Duration::from_secs(432)),
        };
        b.sync(&info, &Precision::EXACT, t0, 0.0);
        b.take(199, t0);
        assert_eq!(b.wait_for(1, t0), Some(t0 + Duration::from_secs(432)));
    }

    #[test]
    fn held_bucket_accrues_nothing_until_released() {
        let t0 = Instant::now();
        let mut b = Bucket::new(60, Duration::from_secs(60), 1.0, t0);
        b.hold_refill(t0);
        b.take(60, t0);
        assert_eq!(b.level(t0 + Duration::from_secs(10)), 0.0);
        b.release_refill(t0 + Duration::from_secs(8), t0 + Duration::from_secs(10));
        assert_eq!(b.level(t0 + Duration::from_secs(10)), 2.0, "credited from the start");
        assert_eq!(b.level(t0 + Duration::from_secs(13)), 5.0);
    }

    #[test]
    fn adjust_gives_back_and_overdraws() {
        let t0 = Instant::now();
        let mut b = Bucket::new(100, Duration::from_secs(60), 1.0, t0);
        b.take(60, t0);
        b.adjust(20, t0);
        assert_eq!(b.level(t0), 60.0);
        b.adjust(-100, t0);
        assert_eq!(b.level(t0), -40.0);
        assert_eq!(b.used, 140);
        b.adjust(1000, t0);
        assert_eq!(b.level(t0), 100.0, "never above capacity");
    }
}
