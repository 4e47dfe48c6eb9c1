//! [`Permit`]: one admitted request's reservation, from admission to settle and release.

use std::sync::Arc;

use super::ModelLimiter;
use crate::limit::info::RateLimitInfo;
use crate::limit::model::{Cost, Since};

/// A reservation: holds an in-flight slot until dropped.
#[derive(Debug)]
pub(crate) struct Permit {
    pub(super) model: Arc<ModelLimiter>,
    /// What the buckets were charged (dimensions without a bucket at admission charge 0).
    pub(super) cost: Cost,
    /// What the request asked to reserve.
    pub(super) requested: Cost,
    pub(super) since: Since,
    pub(super) probe: bool,
    pub(super) answered: bool,
    pub(super) succeeded: bool,
    /// Its in-flight slot is given back (by [`settle_and_release`](Self::settle_and_release));
    /// the drop has nothing left to do.
    pub(super) released: bool,
}

impl Permit {
    /// A reservation of `cost` (what the buckets were charged) for a request that asked for
    /// `requested`.
    pub(super) fn new(
        model: Arc<ModelLimiter>,
        cost: Cost,
        requested: Cost,
        since: Since,
        probe: bool,
    ) -> Self {
        let (answered, succeeded, released) = (false, false, false);
        Permit { model, cost, requested, since, probe, answered, succeeded, released }
    }

    /// What was reserved.
    pub(crate) fn cost(&self) -> Cost {
        self.cost
    }

    /// Records that the server answered (so a cold-start probe has done its job).
    pub(crate) fn answered(&mut self) {
        self.answered = true;
    }

    /// Records that the server took the request (a 2xx): a model being discovered may then
    /// send more at once.
    pub(crate) fn succeeded(&mut self) {
        self.succeeded = true;
    }

    /// Follows what this request's response headers said. A cold-start probe, admitted
    /// before its buckets existed, is then charged to the buckets the headers created, so
    /// that settling it later corrects a real charge.
    ///
    /// A bucket that this very response created from a `remaining` figure already counts the
    /// request (the server charged it before answering), so it is charged once, not again, and
    /// not corrected at settle time either: the server's figure is the truth. This holds for
    /// tokens and input tokens, which every provider charges at admission. Output tokens may
    /// be counted only as they are produced (a stream's headers come first), so a new output
    /// bucket is still charged late and settled: at worst one request's output counted twice
    /// on a cold start, the safe side.
    pub(crate) fn sync(&mut self, info: &RateLimitInfo) {
        self.model.sync(info, Some(&self.since));
        if self.probe && !self.model.is_shared() {
            let mut st = self.model.state.lock();
            let now_charged = st.charged(&self.requested);
            let mut cost = now_charged;
            let mut extra = Cost::default();
            for (now_c, had, counted, extra_slot, cost_slot) in [
                (
                    now_charged.tokens,
                    self.cost.tokens,
                    info.tokens.remaining.is_some(),
                    &mut extra.tokens,
                    &mut cost.tokens,
                ),
                (
                    now_charged.input,
                    self.cost.input,
                    info.input_tokens.remaining.is_some(),
                    &mut extra.input,
                    &mut cost.input,
                ),
                (now_charged.output, self.cost.output, false, &mut extra.output, &mut cost.output),
            ] {
                if now_c > had && counted {
                    *cost_slot = had; // the new bucket's figure already holds this request
                } else {
                    *extra_slot = now_c - had.min(now_c);
                }
            }
            st.charge_late(&extra, self.model.clock.now());
            self.cost = cost;
        }
    }

    /// Records the usage the provider reported for this request, in the model's metrics.
    pub(crate) fn reported(&self, input: u64, output: u64) {
        self.model.metrics.reported(input, output);
    }

    /// Corrects the reservation to what the request really cost (in the provider's accounting).
    pub(crate) fn settle(&mut self, actual: Cost) {
        let mut st = self.model.state.lock();
        st.settle(&self.cost, &actual, self.model.clock.now());
        self.model.head_cv.notify_all();
        drop(st);
        let (r, a) = (self.cost, actual);
        let delta = |r: u64, a: u64| {
            if r == 0 {
                0 // a dimension not charged at admission is not corrected either
            } else {
                i64::try_from(r).unwrap_or(i64::MAX) - i64::try_from(a).unwrap_or(i64::MAX)
            }
        };
        let delta = [delta(r.tokens, a.tokens), delta(r.input, a.input), delta(r.output, a.output)];
        if delta != [0; 3] {
            if let Some((store, key)) = self.model.shared_up() {
                self.model.mirror(store.settle(key, delta));
            }
        }
        self.cost = actual;
    }

    /// [`settle`](Self::settle), then gives the slot back: a non-streamed answer is done with
    /// both at once. With local buckets that is one lock of the model and one wake-up, not
    /// two of each; with a shared store the settle's round trip comes first, as it would.
    pub(crate) fn settle_and_release(mut self, actual: Cost) {
        if self.model.is_shared() {
            return self.settle(actual); // the drop releases
        }
        let mut st = self.model.state.lock();
        let now = self.model.clock.now();
        st.settle(&self.cost, &actual, now);
        st.release(self.probe, self.answered, self.succeeded, self.since.admitted, now);
        self.released = true;
        self.model.head_cv.notify_all();
        drop(st);
        self.cost = actual;
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        let mut st = self.model.state.lock();
        let now = self.model.clock.now();
        st.release(self.probe, self.answered, self.succeeded, self.since.admitted, now);
        self.model.head_cv.notify_all();
    }
}
