//! The shared limiter: one [`ModelLimiter`] per model, each a `parking_lot` Mutex around the
//! model's state with Condvars for the FIFO queue.
//!
//! Admission is first come, first served: only the head of a model's queue may reserve, and it
//! waits (on a timed condvar) until the buckets can cover its whole cost, while everyone behind
//! it waits for their turn. This is what keeps a large request from starving behind a stream of
//! small ones (DESIGN.md lesson 1). Followers wait on one of 64 condvars picked by ticket, so a
//! change of head wakes about one thread, not the whole queue.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::error::Error;
use crate::limit::clock::Clock;
use crate::limit::info::RateLimitInfo;
use crate::limit::model::{Cost, LimitConfig, ModelState, Poll};
use crate::limit::snapshot::ModelLimits;

const SLOTS: usize = 64;
/// Upper bound on any single condvar wait, so a missed signal costs latency, never a hang.
const MAX_WAIT: Duration = Duration::from_millis(250);

/// The limiter for every model of one provider and key.
#[derive(Debug)]
pub(crate) struct Limiter {
    cfg: LimitConfig,
    clock: Arc<dyn Clock>,
    models: Mutex<HashMap<String, Arc<ModelLimiter>>>,
}

impl Limiter {
    pub(crate) fn new(cfg: LimitConfig, clock: Arc<dyn Clock>) -> Self {
        Limiter { cfg, clock, models: Mutex::new(HashMap::new()) }
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
}

impl ModelLimiter {
    /// Waits for this request's turn and reserves its cost.
    ///
    /// `front` puts the request at the head of the queue: a request that was rate limited
    /// goes back first rather than behind everyone who arrived while it was out.
    pub(crate) fn acquire(self: &Arc<Self>, cost: Cost, front: bool) -> Result<Permit, Error> {
        let mut st = self.state.lock();
        let ticket = st.enqueue(front);
        if front {
            // The displaced head must step back into the queue.
            self.head_cv.notify_all();
        }
        loop {
            if st.head() != Some(ticket) {
                self.slots[slot(ticket)].wait_for(&mut st, MAX_WAIT);
                continue;
            }
            let now = self.clock.now();
            match st.poll_head(&cost, now) {
                Poll::Admit { probe } => {
                    self.wake_head(&st);
                    return Ok(Permit {
                        model: Arc::clone(self),
                        cost: st.charged(&cost),
                        probe,
                        answered: false,
                    });
                }
                Poll::NeverFits { dimension, needed, capacity } => {
                    st.remove(ticket);
                    self.wake_head(&st);
                    return Err(Error::NeverFits { dimension, needed, capacity });
                }
                Poll::WaitUntil(at) => {
                    let wait = at.saturating_duration_since(now).min(MAX_WAIT);
                    self.head_cv.wait_for(&mut st, wait.max(Duration::from_micros(50)));
                }
                Poll::WaitSignal => {
                    self.head_cv.wait_for(&mut st, MAX_WAIT);
                }
            }
        }
    }

    fn wake_head(&self, st: &ModelState) {
        if let Some(h) = st.head() {
            self.slots[slot(h)].notify_all();
        }
    }

    /// Follows what a response's headers said.
    pub(crate) fn sync(&self, info: &RateLimitInfo) {
        if info.is_empty() {
            return;
        }
        let mut st = self.state.lock();
        st.sync(info, self.clock.now());
        self.head_cv.notify_all();
    }

    /// Pauses the whole queue for `d` (a 429 for this model).
    pub(crate) fn pause(&self, d: Duration) {
        let mut st = self.state.lock();
        let until = self.clock.now() + d;
        st.pause(until);
    }
}

fn slot(ticket: u64) -> usize {
    (ticket % SLOTS as u64) as usize
}

/// A reservation: holds an in-flight slot until dropped.
#[derive(Debug)]
pub(crate) struct Permit {
    model: Arc<ModelLimiter>,
    cost: Cost,
    probe: bool,
    answered: bool,
}

impl Permit {
    /// What was reserved.
    pub(crate) fn cost(&self) -> Cost {
        self.cost
    }

    /// Records that the server answered (so a cold-start probe has done its job).
    pub(crate) fn answered(&mut self) {
        self.answered = true;
    }

    /// Corrects the reservation to what the request really cost (in the provider's accounting).
    pub(crate) fn settle(&mut self, actual: Cost) {
        let mut st = self.model.state.lock();
        st.settle(&self.cost, &actual, self.model.clock.now());
        self.cost = actual;
        self.model.head_cv.notify_all();
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut st = self.model.state.lock();
        st.release(self.probe, self.answered, self.model.clock.now());
        self.model.head_cv.notify_all();
    }
}

#[cfg(test)]
#[path = "limiter_tests.rs"]
mod tests;
