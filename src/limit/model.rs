//! The limit state of one (provider, key, model): buckets, the FIFO queue, the pause, the
//! in-flight count. Pure decisions on an explicit `now`; the blocking is in `limiter.rs`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::limit::bucket::{Bucket, DEFAULT_WINDOW};
use crate::limit::snapshot::ModelLimits;

mod learn;
mod ramp;
mod shared;

#[cfg(feature = "redis")]
pub(crate) use learn::FIRST_CONTACT_MARGIN;
use ramp::Ramp;

/// What one request reserves besides one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Cost {
    /// Combined tokens (OpenAI, OpenRouter).
    pub tokens: u64,
    /// Input tokens (Anthropic ITPM).
    pub input: u64,
    /// Output tokens (Anthropic OTPM).
    pub output: u64,
}

/// When a request was admitted and how far its buckets' refund counters stood then, so a
/// later header sync can credit what the server regained in between.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Since {
    pub admitted: Instant,
    pub marks: [f64; 4],
}

/// Limits known before any response, and how much of them to use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LimitConfig {
    pub requests: Option<u32>,
    pub tokens: Option<u32>,
    pub input: Option<u32>,
    pub output: Option<u32>,
    pub request_ratio: f64,
    pub token_ratio: f64,
    /// The windows the configured limits are counted over.
    pub request_window: Duration,
    pub token_window: Duration,
    pub max_in_flight: u32,
    /// Whether to hold everyone behind a first request until its headers tell the limits.
    pub learn_from_headers: bool,
    /// The longest a request may wait for the buckets; longer fails it at once
    /// ([`LongWait::Fail`](crate::LongWait::Fail)). `None`: wait as long as the window says.
    pub max_wait: Option<Duration>,
}

/// The answer to "may the head of the queue go now?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Poll {
    /// Reserved; `probe` is set for the cold-start request whose headers teach the limits.
    Admit { probe: bool },
    /// Not before this instant (buckets refill, or a pause ends).
    WaitUntil(Instant),
    /// Until something changes (a request finishes, or the probe answers).
    WaitSignal,
    /// The request exceeds a whole bucket.
    NeverFits { dimension: &'static str, needed: u64, capacity: u64 },
}

/// A dimension's name, its bucket, and what a request costs in it.
type Dim<'a> = (&'static str, &'a mut Option<Bucket>, fn(&Cost) -> u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Learning {
    Done,
    NeedProbe,
    Probing,
}

#[derive(Debug)]
pub(crate) struct ModelState {
    requests: Option<Bucket>,
    tokens: Option<Bucket>,
    input: Option<Bucket>,
    output: Option<Bucket>,
    cfg: LimitConfig,
    queue: VecDeque<u64>,
    next_ticket: u64,
    in_flight: u32,
    paused_until: Option<Instant>,
    learning: Learning,
    /// The head is asking the shared store (outside the lock): nobody else may reserve.
    reserving: bool,
    rate_limited: u64,
    completed: u64,
    /// When the first request was admitted (see `release_holds`).
    first_admission: Option<Instant>,
    /// Limits were configured: no discovery.
    configured: bool,
    /// While no bucket tells the rate: how many may be in flight (slow start, see `ramp.rs`).
    ramp: Ramp,
    /// Buckets sized from a `remaining` with no limit beside it (Azure): their size is a lower
    /// bound that grows with larger readings.
    inferred: [bool; 4],
}

impl ModelState {
    pub(crate) fn new(cfg: LimitConfig, now: Instant) -> Self {
        let mk = |limit: Option<u32>, ratio, window| {
            limit.map(|l| {
                let mut b = Bucket::new(u64::from(l), window, ratio, now);
                b.hold_refill(now);
                b.trust_window();
                b
            })
        };
        let any_known =
            [cfg.requests, cfg.tokens, cfg.input, cfg.output].iter().any(Option::is_some);
        ModelState {
            requests: mk(cfg.requests, cfg.request_ratio, cfg.request_window),
            tokens: mk(cfg.tokens, cfg.token_ratio, cfg.token_window),
            input: mk(cfg.input, cfg.token_ratio, cfg.token_window),
            output: mk(cfg.output, cfg.token_ratio, cfg.token_window),
            cfg,
            queue: VecDeque::new(),
            next_ticket: 0,
            in_flight: 0,
            paused_until: None,
            learning: if cfg.learn_from_headers && !any_known {
                Learning::NeedProbe
            } else {
                Learning::Done
            },
            reserving: false,
            rate_limited: 0,
            completed: 0,
            first_admission: None,
            configured: any_known,
            ramp: Ramp::new(),
            inferred: [false; 4],
        }
    }

    /// Joins the queue; a retry of a rate-limited request joins at the front.
    pub(crate) fn enqueue(&mut self, front: bool) -> u64 {
        let t = self.next_ticket;
        self.next_ticket += 1;
        if front {
            self.queue.push_front(t);
        } else {
            self.queue.push_back(t);
        }
        t
    }

    pub(crate) fn head(&self) -> Option<u64> {
        self.queue.front().copied()
    }

    /// Leaves the queue without being admitted.
    pub(crate) fn remove(&mut self, ticket: u64) {
        self.queue.retain(|&t| t != ticket);
    }

    fn dims(&mut self) -> [Dim<'_>; 4] {
        [
            ("requests", &mut self.requests, |_| 1),
            ("tokens", &mut self.tokens, |c| c.tokens),
            ("input tokens", &mut self.input, |c| c.input),
            ("output tokens", &mut self.output, |c| c.output),
        ]
    }

    /// Decides for the head of the queue. On `Admit` the cost is taken and the head leaves.
    pub(crate) fn poll_head(&mut self, cost: &Cost, now: Instant) -> Poll {
        if let Some(poll) = self.gate(cost, now) {
            return poll;
        }
        let mut ready_at: Option<Instant> = None;
        for (_, bucket, need) in self.dims() {
            if let Some(at) = bucket.as_mut().and_then(|b| b.wait_for(need(cost), now)) {
                ready_at = Some(ready_at.map_or(at, |r| r.max(at)));
            }
        }
        if let Some(at) = ready_at {
            return Poll::WaitUntil(at);
        }
        self.take(cost, now);
        self.queue.pop_front();
        Poll::Admit { probe: self.admitted(now) }
    }

    /// Everything but the buckets' balance: a cost over a whole bucket, the pause, the
    /// in-flight cap, the cold-start probe. `None` means the buckets decide.
    pub(crate) fn gate(&mut self, cost: &Cost, now: Instant) -> Option<Poll> {
        for (name, bucket, need) in self.dims() {
            if let Some(b) = bucket {
                if b.never_fits(need(cost)) {
                    return Some(Poll::NeverFits {
                        dimension: name,
                        needed: need(cost),
                        capacity: b.limit(),
                    });
                }
            }
        }
        if let Some(until) = self.paused_until {
            if until > now {
                return Some(Poll::WaitUntil(until));
            }
            self.paused_until = None;
        }
        if self.reserving || self.in_flight >= self.cfg.max_in_flight {
            return Some(Poll::WaitSignal);
        }
        if self.discovering() {
            if self.in_flight >= self.ramp.allowed() {
                return Some(Poll::WaitSignal);
            }
            if let Some(at) = self.ramp.paced_until(now) {
                return Some(Poll::WaitUntil(at));
            }
        }
        match self.learning {
            Learning::Probing => Some(Poll::WaitSignal),
            Learning::NeedProbe if self.in_flight > 0 => Some(Poll::WaitSignal),
            _ => None,
        }
    }

    /// Charges `cost` to every known bucket.
    fn take(&mut self, cost: &Cost, now: Instant) {
        for (_, bucket, need) in self.dims() {
            if let Some(b) = bucket {
                b.take(need(cost), now);
            }
        }
    }

    /// Counts a request that left the queue as admitted; returns whether it is the
    /// cold-start probe.
    fn admitted(&mut self, now: Instant) -> bool {
        self.in_flight += 1;
        if self.discovering() {
            self.ramp.sent(now);
        }
        self.first_admission.get_or_insert(now);
        let probe = self.learning == Learning::NeedProbe;
        if probe {
            self.learning = Learning::Probing;
        }
        probe
    }

    /// The part of `cost` that known buckets charge (a dimension with no bucket yet charges
    /// nothing, so it must not be refunded at settlement either).
    pub(crate) fn charged(&self, cost: &Cost) -> Cost {
        Cost {
            tokens: if self.tokens.is_some() { cost.tokens } else { 0 },
            input: if self.input.is_some() { cost.input } else { 0 },
            output: if self.output.is_some() { cost.output } else { 0 },
        }
    }

    /// A request finished (in any way). `answered` tells whether the server answered in a way
    /// that taught something, `succeeded` whether it took the request (a 2xx); `admitted` is
    /// when it left the queue (its round trip paces a model being discovered).
    pub(crate) fn release(
        &mut self,
        probe: bool,
        answered: bool,
        succeeded: bool,
        admitted: Instant,
        now: Instant,
    ) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if succeeded && self.discovering() {
            self.ramp.grow(now.saturating_duration_since(admitted));
        }
        if answered {
            self.release_holds(now);
        }
        self.completed += 1;
        if probe {
            self.learning = if answered { Learning::Done } else { Learning::NeedProbe };
        }
    }

    /// Corrects the reservation once real usage is known.
    pub(crate) fn settle(&mut self, reserved: &Cost, actual: &Cost, now: Instant) {
        let pairs = [
            (&mut self.tokens, reserved.tokens, actual.tokens),
            (&mut self.input, reserved.input, actual.input),
            (&mut self.output, reserved.output, actual.output),
        ];
        for (bucket, r, a) in pairs {
            if let (Some(b), true) = (bucket, r > 0) {
                let delta =
                    i64::try_from(r).unwrap_or(i64::MAX) - i64::try_from(a).unwrap_or(i64::MAX);
                if delta != 0 {
                    b.adjust(delta, now);
                }
            }
        }
    }

    /// Where each bucket's refund counter stands (recorded at admission, see [`Since`]).
    pub(crate) fn refund_marks(&self) -> [f64; 4] {
        let mark = |b: &Option<Bucket>| b.as_ref().map_or(0.0, |b| b.refunded);
        [mark(&self.requests), mark(&self.tokens), mark(&self.input), mark(&self.output)]
    }

    /// Holds the whole queue until `until` (a 429: nobody else should try before then).
    pub(crate) fn count_rejection(&mut self) {
        self.rate_limited += 1; // a 429 that paused nothing
        self.ramp.shrink(self.in_flight);
    }
    /// Pauses admission until `until`; true when that is later than the pause in force.
    pub(crate) fn pause(&mut self, until: Instant) -> bool {
        self.rate_limited += 1;
        self.ramp.shrink(self.in_flight);
        let extended = self.paused_until.is_none_or(|p| until > p);
        self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
        extended
    }

    pub(crate) fn snapshot(&mut self, model: &str, now: Instant) -> ModelLimits {
        let snap = |b: &mut Option<Bucket>| b.as_mut().map(|b| b.snapshot(now));
        ModelLimits {
            model: model.to_string(),
            requests: snap(&mut self.requests),
            tokens: snap(&mut self.tokens),
            input_tokens: snap(&mut self.input),
            output_tokens: snap(&mut self.output),
            paused_for: self
                .paused_until
                .and_then(|p| p.checked_duration_since(now))
                .filter(|d| !d.is_zero()),
            rate_limited: self.rate_limited,
            in_flight: self.in_flight,
            queued: self.queue.len(),
            completed: self.completed,
        }
    }

    pub(crate) fn reset_usage(&mut self) {
        for b in [&mut self.requests, &mut self.tokens, &mut self.input, &mut self.output]
            .into_iter()
            .flatten()
        {
            b.reset_used();
        }
        self.rate_limited = 0;
        self.completed = 0;
    }

    /// Time until the pause ends.
    pub(crate) fn paused_for(&self, now: Instant) -> Duration {
        self.paused_until.and_then(|p| p.checked_duration_since(now)).unwrap_or_default()
    }
}
