//! One model's share of a batch: its waiting items and how many it may have in flight.
//!
//! With `adaptive_batch_size` the in-flight target (`limit`) finds `rate × latency` (Little's
//! law) without knowing either. It starts at [`MIN_TARGET`] and grows while the model's limiter
//! has nobody waiting and the lane uses all of its target with work waiting (concurrency, not
//! the rate, holds the lane back):
//!
//! - by doubling at most every [`GROW_EVERY`] ([`Lane::tick`]), so a burst into a full bucket
//!   has hundreds in flight within a tenth of a second instead of one round trip per doubling;
//! - by one per completion ([`Lane::adapt`]) while responses are slow (see below), which
//!   doubles it every round trip.
//!
//! It shrinks by one per completion while more than a quarter of the lane's requests wait in
//! the limiter (the rate binds and the extra requests in flight buy nothing).
//!
//! When responses are fast enough to measure within [`MEASURE_MAX`], each doubling must pay:
//! if the completion rate at the new target is less than [`GAIN`] times the rate before it,
//! the local CPU (or the server) binds, not concurrency, so the target goes back to where it
//! was and stays there for [`HOLD`] before it probes again. Slower responses cannot be measured
//! that quickly and need not be: at hundreds of milliseconds per request the pool sizes that
//! reach a provider's limits cost threads and memory, not CPU.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::request::Call;
use crate::types::ChatCompletionRequest;

/// A batch item, prepared and ready to send.
#[derive(Debug)]
pub(crate) struct Item {
    /// Its position in the input.
    pub index: usize,
    /// The request as given (returned in its result).
    pub request: ChatCompletionRequest,
    /// The request as it goes on the wire.
    pub call: Call,
}

/// The smallest adaptive target, and where an adaptive lane starts: enough to keep a lane busy
/// through a slow response or two, and no more workers than a handful of items need.
pub(crate) const MIN_TARGET: usize = 4;
/// Shortest time between two doublings of the target.
pub(crate) const GROW_EVERY: Duration = Duration::from_millis(10);
/// Responses slower than half this are not measured before the target doubles again.
const MEASURE_MAX: Duration = Duration::from_millis(250);
/// How much more throughput a doubling must bring to be kept.
const GAIN: f64 = 1.15;
/// How long the target stays put after a doubling that did not pay.
const HOLD: Duration = Duration::from_secs(1);
/// Completions needed in a measurement window for its rate to count.
const MIN_SAMPLES: u32 = 8;

#[derive(Debug)]
pub(crate) struct Lane {
    pub model: String,
    pub pending: VecDeque<Item>,
    pub in_flight: usize,
    pub limit: usize,
    pub max: usize,
    growth: Growth,
}

/// What [`Lane::tick`] remembers between doublings.
#[derive(Debug, Default)]
struct Growth {
    /// When the target last doubled (or went back).
    changed: Option<Instant>,
    /// Completions counted at the current target, from one latency after `changed`.
    samples: u32,
    /// The completion rate measured at the target before the last doubling.
    rate_before: Option<f64>,
    /// The target before the last doubling.
    limit_before: usize,
    /// A smoothed response time (limiter wait included).
    latency: Option<Duration>,
    /// No doubling before this instant (the last one did not pay).
    hold_until: Option<Instant>,
}

impl Lane {
    /// A lane allowed `max` in flight; `adaptive` lanes start at [`MIN_TARGET`] and grow.
    pub(crate) fn new(model: String, max: usize, adaptive: bool) -> Self {
        let limit = if adaptive { MIN_TARGET.min(max) } else { max };
        Lane {
            model,
            pending: VecDeque::new(),
            in_flight: 0,
            limit,
            max,
            growth: Growth::default(),
        }
    }

    /// Lowers the lane's ceiling (more lanes now share the workers).
    pub(crate) fn set_max(&mut self, max: usize) {
        self.max = max.max(1);
        self.limit = self.limit.min(self.max);
    }

    pub(crate) fn has_room(&self) -> bool {
        self.in_flight < self.limit
    }

    /// Whether work waits for this lane: items of its own, or input not read yet.
    pub(crate) fn has_backlog(&self, more_input: bool) -> bool {
        !self.pending.is_empty() || more_input
    }

    /// Whether [`tick`](Self::tick) may still raise the target: the coordinator then wakes
    /// every [`GROW_EVERY`] instead of waiting for results.
    pub(crate) fn may_grow(&self, backlog: bool, now: Instant) -> bool {
        backlog
            && self.limit < self.max
            && self.in_flight >= self.limit
            && self.growth.hold_until.is_none_or(|t| now >= t)
    }

    /// Records a finished request that took `took` (sent at the target in force).
    pub(crate) fn completed(&mut self, took: Duration, now: Instant) {
        let g = &mut self.growth;
        g.latency = Some(g.latency.map_or(took, |l| (l * 7 + took) / 8));
        let settle = g.latency.unwrap_or_default();
        if g.changed.is_some_and(|t| now >= t + settle) {
            g.samples = g.samples.saturating_add(1);
        }
    }

    /// Doubles the target when nothing but concurrency holds the lane back (see the module
    /// doc). `backlog`: work waits for a slot; `queued`: the model's requests waiting in the
    /// limiter; `seen`: the model's requests the limiter knows of (admitted or queued), when
    /// the lane has the model to itself; `room`: how many of the model's requests the limiter
    /// would have in flight if it admitted all it can now (admitted plus the request bucket's
    /// remaining), when known: a doubling stops there, since what goes past it only waits in
    /// the limiter (a thread and a connection each). Returns whether the target grew.
    pub(crate) fn tick(
        &mut self,
        backlog: bool,
        queued: usize,
        seen: Option<usize>,
        room: Option<usize>,
        now: Instant,
    ) -> bool {
        if !self.may_grow(backlog, now) || queued > 0 {
            return false;
        }
        // Until most of the last doubling has reached the limiter (workers starting, items
        // in the channel), `queued` cannot tell whether the rate binds: wait, or a burst
        // would double past what the bucket admits.
        if seen.is_some_and(|seen| seen * 4 < self.in_flight * 3) {
            return false;
        }
        let g = &mut self.growth;
        if g.hold_until.is_some_and(|t| now >= t) {
            // A new probe: the measurement before the hold is stale.
            g.hold_until = None;
            g.rate_before = None;
        }
        let measured = g.latency.filter(|l| *l * 2 <= MEASURE_MAX);
        let window = measured.map_or(GROW_EVERY, |l| (l * 2).max(GROW_EVERY));
        if g.changed.is_some_and(|t| now < t + window) {
            return false;
        }
        let mut rate = None;
        if let (Some(latency), Some(changed)) = (measured, g.changed) {
            let span = now.saturating_duration_since(changed + latency).as_secs_f64();
            if g.samples < MIN_SAMPLES || span <= 0.0 {
                return false; // not enough completions at this target yet to judge it
            }
            let now_rate = f64::from(g.samples) / span;
            if g.rate_before.is_some_and(|before| now_rate < before * GAIN) {
                // The last doubling did not pay: back to the target before it, for a while.
                self.limit = g.limit_before.max(MIN_TARGET.min(self.max));
                g.hold_until = Some(now + HOLD);
                g.rate_before = None;
                g.changed = Some(now);
                g.samples = 0;
                return false;
            }
            rate = Some(now_rate);
        }
        let target = self.limit.saturating_mul(2).min(self.max);
        let target = room.map_or(target, |room| target.min(room));
        if target <= self.limit {
            return false; // the bucket admits no more than the lane already has in flight
        }
        let g = &mut self.growth;
        g.rate_before = rate;
        g.limit_before = self.limit;
        self.limit = target;
        g.changed = Some(now);
        g.samples = 0;
        true
    }

    /// Adapts the target after a completion. `backlog` tells whether the lane has work waiting
    /// for a slot; `queued` is how many of its requests wait in the limiter.
    pub(crate) fn adapt(&mut self, backlog: bool, queued: usize) {
        let floor = MIN_TARGET.min(self.max);
        // Fast responses: only measured doublings (tick) grow the target, or thousands of
        // completions a second would push it past what the CPU can use.
        let g = &self.growth;
        let blind = g.latency.is_none_or(|l| l * 2 > MEASURE_MAX) && g.hold_until.is_none();
        if backlog && queued == 0 && blind && self.in_flight + 1 >= self.limit {
            self.limit = (self.limit + 1).min(self.max);
        } else if queued > self.limit / 4 + 2 {
            self.limit = self.limit.saturating_sub(1).max(floor);
        }
    }
}

#[cfg(test)]
#[path = "lane_tests.rs"]
mod tests;
