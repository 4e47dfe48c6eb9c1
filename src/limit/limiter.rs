//! The shared limiter: one [`ModelLimiter`] per model, each a `parking_lot` Mutex around the
//! model's state with Condvars for the FIFO queue.
//!
//! Admission is first come, first served: only the head of a model's queue may reserve, and it
//! waits (on a timed condvar) until the buckets can cover its whole cost, while everyone behind
//! it waits for their turn. This is what keeps a large request from starving behind a stream of
//! small ones (docs/design.md lesson 1). Followers wait on one of 64 condvars picked by
//! ticket, so a change of head wakes about one thread, not the whole queue.
//!
//! Why not the `ratelimit` crate (a dependency of the benchmarks only): its buckets are
//! try-then-sleep, and with many threads taking small permits a large request retrying on
//! its own never finds the bucket full enough: measured, it starved (docs/design.md lesson 1).
//! `batch_bench` keeps it as the baseline users would hand-roll.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::error::Error;
use crate::limit::clock::Clock;
use crate::limit::info::RateLimitInfo;
use crate::limit::model::{Cost, LimitConfig, ModelState, Poll, Since};
use crate::limit::snapshot::ModelLimits;
use crate::limit::store::{Reserved, Route, SharedStore, DIMENSIONS};
use crate::metrics::{ModelMetrics, Recorder};

const SLOTS: usize = 64;
/// Upper bound on any single condvar wait, so a missed signal costs latency, never a hang.
const MAX_WAIT: Duration = Duration::from_millis(250);

/// The limiter for every model of one provider and key.
#[derive(Debug)]
pub(crate) struct Limiter {
    cfg: LimitConfig,
    clock: Arc<dyn Clock>,
    models: Mutex<HashMap<String, Arc<ModelLimiter>>>,
    /// The shared store and the key prefix of this provider and key, when there is one.
    shared: Option<(Arc<dyn SharedStore>, String)>,
}

impl Limiter {
    pub(crate) fn new(cfg: LimitConfig, clock: Arc<dyn Clock>) -> Self {
        Limiter { cfg, clock, models: Mutex::new(HashMap::new()), shared: None }
    }

    /// Keeps the buckets in `store`, each model under `prefix` + model name.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn with_store(mut self, store: Arc<dyn SharedStore>, prefix: String) -> Self {
        self.shared = Some((store, prefix));
        self
    }

    /// The limiter of `model`, created on first use.
    pub(crate) fn model(&self, model: &str) -> Arc<ModelLimiter> {
        let mut models = self.models.lock();
        if let Some(m) = models.get(model) {
            return Arc::clone(m);
        }
        let m = Arc::new(ModelLimiter {
            model: model.to_string(),
            state: Mutex::new(ModelState::new(self.cfg, self.clock.now())),
            head_cv: Condvar::new(),
            slots: std::array::from_fn(|_| Condvar::new()),
            clock: Arc::clone(&self.clock),
            max_wait: self.cfg.max_wait,
            shared: self.shared.as_ref().map(|(s, p)| (Arc::clone(s), format!("{p}{model}"))),
            hinted: AtomicBool::new(false),
            metrics: Recorder::default(),
            long_wait_told: Mutex::new(None),
        });
        models.insert(model.to_string(), Arc::clone(&m));
        m
    }

    pub(crate) fn snapshot(&self) -> Vec<ModelLimits> {
        let models: Vec<_> = self.models.lock().values().cloned().collect();
        let now = self.clock.now();
        let mut out: Vec<_> =
            models.iter().map(|m| m.state.lock().snapshot(&m.model, now)).collect();
        out.sort_by(|a, b| a.model.cmp(&b.model));
        out
    }

    /// Every model's metrics, sorted by model name.
    pub(crate) fn metrics(&self) -> Vec<ModelMetrics> {
        let models: Vec<_> = self.models.lock().values().cloned().collect();
        let now = self.clock.now();
        let mut out: Vec<_> = models
            .iter()
            .map(|m| {
                let s = m.state.lock().snapshot(&m.model, now);
                m.metrics.snapshot(&m.model, s.in_flight, s.queued)
            })
            .collect();
        out.sort_by(|a, b| a.model.cmp(&b.model));
        out
    }

    pub(crate) fn reset_usage(&self) {
        for m in self.models.lock().values() {
            m.state.lock().reset_usage();
        }
    }
}

/// The limiter of one model.
#[derive(Debug)]
pub(crate) struct ModelLimiter {
    model: String,
    state: Mutex<ModelState>,
    /// The head of the queue waits here for refill, the end of a pause, or a free slot.
    head_cv: Condvar,
    /// Everyone else waits here, on `slots[ticket % SLOTS]`, for their turn at the head.
    slots: [Condvar; SLOTS],
    clock: Arc<dyn Clock>,
    /// See [`LimitConfig::max_wait`].
    max_wait: Option<Duration>,
    /// The shared store and this model's key in it.
    shared: Option<(Arc<dyn SharedStore>, String)>,
    /// A limit hint was offered (see [`hint_requests`](Self::hint_requests)).
    hinted: AtomicBool,
    /// What this model's requests came to.
    metrics: Recorder,
    /// The end of the last long wait told at `info` (see `events.rs`).
    long_wait_told: Mutex<Option<std::time::Instant>>,
}

impl ModelLimiter {
    /// Where the request loop records this model's metrics.
    pub(crate) fn metrics(&self) -> &Recorder {
        &self.metrics
    }

    /// Waits for this request's turn and reserves its cost.
    ///
    /// `front` puts the request at the head of the queue: a request that was rate limited
    /// goes back first rather than behind everyone who arrived while it was out.
    #[cfg(test)]
    pub(crate) fn acquire(self: &Arc<Self>, cost: Cost, front: bool) -> Result<Permit, Error> {
        self.acquire_unless(cost, front, None)
    }

    /// [`acquire`](Self::acquire), leaving the queue unadmitted with [`Error::Cancelled`] once
    /// `cancel` is set (seen within one bounded wait, 250 ms at most).
    pub(crate) fn acquire_unless(
        self: &Arc<Self>,
        cost: Cost,
        front: bool,
        cancel: Option<&AtomicBool>,
    ) -> Result<Permit, Error> {
        let mut st = self.state.lock();
        let ticket = st.enqueue(front);
        let entered = self.clock.now();
        let mut why: Option<String> = None;
        let mut told = false;
        if front {
            // The displaced head must step back into the queue.
            self.head_cv.notify_all();
        }
        loop {
            if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                st.remove(ticket);
                self.wake_head(&st);
                return Err(Error::Cancelled);
            }
            if st.head() != Some(ticket) {
                self.slots[slot(ticket)].wait_for(&mut st, MAX_WAIT);
                continue;
            }
            let now = self.clock.now();
            let poll = match st.gate(&cost, now) {
                Some(poll) => poll,
                None => match self.shared.as_ref().map(|(store, _)| store.route()) {
                    Some(Route::Shared) => match self.reserve_shared(&mut st, ticket, &cost)? {
                        Some(permit) => return Ok(permit),
                        None => continue, // the store failed: fall back from the next turn
                    },
                    Some(Route::Fail(msg)) => {
                        st.remove(ticket);
                        self.wake_head(&st);
                        return Err(Error::Store(msg));
                    }
                    Some(Route::Local) | None => st.poll_head(&cost, now),
                },
            };
            match poll {
                Poll::Admit { probe } => {
                    self.wake_head(&st);
                    let since = Since { admitted: now, marks: st.refund_marks() };
                    let charged = st.charged(&cost);
                    self.tell_admit(&charged, entered, now, why.as_deref());
                    return Ok(Permit::new(Arc::clone(self), charged, cost, since, probe));
                }
                Poll::NeverFits { dimension, needed, capacity } => {
                    st.remove(ticket);
                    self.wake_head(&st);
                    return Err(Error::NeverFits { dimension, needed, capacity });
                }
                Poll::WaitUntil(at) => {
                    let full_wait = at.saturating_duration_since(now);
                    if self.max_wait.is_some_and(|max| full_wait > max) {
                        st.remove(ticket);
                        self.wake_head(&st);
                        return Err(Error::WaitTooLong {
                            model: self.model.clone(),
                            wait: full_wait,
                        });
                    }
                    if !told {
                        told = true;
                        why = self.tell_wait(&mut st, &cost, now, Some(at));
                    }
                    let wait = full_wait.min(MAX_WAIT);
                    if self.clock.is_virtual() {
                        // A test clock: reaching the deadline is moving the clock to it (at
                        // least as far as the real clock's shortest wait, so a deadline that
                        // rounds to now cannot spin).
                        let step = wait.max(Duration::from_micros(50));
                        MutexGuard::unlocked(&mut st, || self.clock.sleep(step));
                    } else {
                        self.head_cv.wait_for(&mut st, wait.max(Duration::from_micros(50)));
                    }
                }
                Poll::WaitSignal => {
                    if !told {
                        told = true;
                        why = self.tell_wait(&mut st, &cost, now, None);
                    }
                    self.head_cv.wait_for(&mut st, MAX_WAIT);
                }
            }
        }
    }

    /// Reserves in the shared store for the head `ticket`, then waits out the reservation.
    ///
    /// The lock is released during the round trip (the `reserving` flag keeps the rest of the
    /// queue behind) and during the wait, which belongs to this request alone: the next head
    /// reserves behind it at once. `Ok(None)`: the store failed and the policy falls back.
    fn reserve_shared(
        self: &Arc<Self>,
        st: &mut MutexGuard<'_, ModelState>,
        ticket: u64,
        cost: &Cost,
    ) -> Result<Option<Permit>, Error> {
        let Some((store, key)) = self.shared.as_ref() else { return Ok(None) };
        let args = st.reserve_args(cost);
        st.set_reserving(true);
        let result = MutexGuard::unlocked(st, || store.reserve(key, &args));
        st.set_reserving(false);
        self.head_cv.notify_all();
        match result {
            Ok(Reserved::Granted { wait, state }) => {
                let probe = st.admit_shared(ticket, cost, &state, self.clock.now());
                self.wake_head(st);
                let since = Since { admitted: self.clock.now() + wait, marks: st.refund_marks() };
                log::debug!(target: events::TARGET, "{}: the shared store admits it in {:.3}s", self.model, wait.as_secs_f64());
                let permit = Permit::new(Arc::clone(self), st.charged(cost), *cost, since, probe);
                MutexGuard::unlocked(st, || self.wait_out(wait));
                Ok(Some(permit))
            }
            Ok(Reserved::NeverFits { dim, needed, limit }) => {
                st.remove(ticket);
                self.wake_head(st);
                Err(Error::NeverFits { dimension: DIMENSIONS[dim], needed, capacity: limit })
            }
            Err(msg) if store.fails_hard() => {
                st.remove(ticket);
                self.wake_head(st);
                Err(Error::Store(msg))
            }
            Err(_) => Ok(None),
        }
    }

    /// Sleeps until a shared reservation is due, and past a pause learned meanwhile (a 429
    /// here or, through the store, in another process).
    fn wait_out(&self, wait: Duration) {
        self.clock.sleep(wait);
        let paused = self.state.lock().paused_for(self.clock.now());
        self.clock.sleep(paused);
    }

    /// The store and key, when the store is the one to follow right now.
    fn shared_up(&self) -> Option<(&dyn SharedStore, &str)> {
        let (store, key) = self.shared.as_ref()?;
        (store.route() == Route::Shared).then_some((store.as_ref(), key.as_str()))
    }

    /// Whether the buckets live in a shared store right now (then the store does the charging).
    fn is_shared(&self) -> bool {
        self.shared_up().is_some()
    }

    /// Takes over what the store answered to a settle, sync or pause.
    fn mirror(&self, state: Result<crate::limit::store::SharedState, String>) {
        if let Ok(state) = state {
            let mut st = self.state.lock();
            let before = st.known_limits();
            st.mirror(&state, self.clock.now());
            self.tell_limits(before, &st);
            drop(st);
            self.head_cv.notify_all();
        }
    }

    fn wake_head(&self, st: &ModelState) {
        if let Some(h) = st.head() {
            self.slots[slot(h)].notify_all();
        }
    }

    /// Follows what a response's headers said.
    pub(crate) fn sync(&self, info: &RateLimitInfo, since: Option<&Since>) {
        if info.is_empty() {
            return;
        }
        let mut st = self.state.lock();
        let before = st.known_limits();
        let now = self.clock.now();
        st.sync(info, now, since);
        self.tell_limits(before, &st);
        self.head_cv.notify_all();
        drop(st);
        if let Some((store, key)) = self.shared_up() {
            let age = since.map(|s| now.saturating_duration_since(s.admitted));
            self.mirror(store.sync(key, info, age.unwrap_or_default()));
        }
    }

    /// Whether no hint was offered yet.
    pub(crate) fn wants_hint(&self) -> bool {
        !self.hinted.load(Ordering::Relaxed)
    }

    /// Offers a request limit known from elsewhere than a response (OpenRouter's `GET /key`
    /// hint, `None` when it states none): offered once, taken only with no request bucket.
    pub(crate) fn hint_requests(&self, hint: Option<(u64, Duration)>) {
        if self.hinted.swap(true, Ordering::Relaxed) {
            return;
        }
        if let Some((limit, window)) = hint {
            let mut st = self.state.lock();
            st.hint_requests(limit, window, self.clock.now());
            self.head_cv.notify_all();
        }
    }

    /// Counts a 429 that paused nothing (the request gave up), so the model's 429 count is
    /// every 429 the server sent.
    pub(crate) fn count_rejection(&self) {
        self.state.lock().count_rejection();
    }

    /// Pauses the model's queue for `d`; true when that extends the pause in force (so a
    /// caller can say so once, not once per rejected request).
    pub(crate) fn pause(&self, d: Duration) -> bool {
        let mut st = self.state.lock();
        let until = self.clock.now() + d;
        let extended = st.pause(until);
        drop(st);
        if let Some((store, key)) = self.shared_up() {
            self.mirror(store.pause(key, d));
        }
        extended
    }
}

fn slot(ticket: u64) -> usize {
    (ticket % SLOTS as u64) as usize
}

mod events;
mod permit;

pub(crate) use events::human_duration;
pub(crate) use permit::Permit;

#[cfg(test)]
#[path = "limiter_tests.rs"]
mod tests;
