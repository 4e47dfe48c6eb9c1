//! `ModelState` with a shared store: the store holds the buckets, the local buckets mirror
//! what it last said (for snapshots, and as the starting point if the store goes away).

use std::time::Instant;

use super::{Bucket, Cost, ModelState, DEFAULT_WINDOW};
use crate::limit::store::{ReserveArgs, SharedState};

impl ModelState {
    /// What to ask the store for: the cost in each dimension, and the limits known here so
    /// the store can create buckets it does not have yet (configured limits, or limits this
    /// process learned while the store was away).
    pub(crate) fn reserve_args(&self, cost: &Cost) -> ReserveArgs {
        let init = |b: &Option<Bucket>| b.as_ref().map(|b| (b.limit() as f64, b.rate()));
        ReserveArgs {
            cost: [1, cost.tokens, cost.input, cost.output],
            init: [init(&self.requests), init(&self.tokens), init(&self.input), init(&self.output)],
        }
    }

    /// Each dimension's limit and window in seconds (requests, tokens, input, output), when
    /// known: what a change of limits is told from (the store mirrors them here too).
    pub(crate) fn known_limits(&self) -> [Option<(u64, f64)>; 4] {
        let known = |b: &Option<Bucket>| {
            b.as_ref().filter(|b| b.rate() > 0.0).map(|b| (b.limit(), b.limit() as f64 / b.rate()))
        };
        [known(&self.requests), known(&self.tokens), known(&self.input), known(&self.output)]
    }

    /// Marks the head as asking the store, so nobody else reserves meanwhile.
    pub(crate) fn set_reserving(&mut self, on: bool) {
        self.reserving = on;
    }

    /// Admits `ticket` on a reservation the store granted: counts the usage locally, takes
    /// over the store's view, and returns whether it is the cold-start probe.
    pub(crate) fn admit_shared(
        &mut self,
        ticket: u64,
        cost: &Cost,
        state: &SharedState,
        now: Instant,
    ) -> bool {
        self.take(cost, now);
        self.mirror(state, now);
        // The head may have been displaced by a retry while it was away asking the store.
        self.remove(ticket);
        self.admitted(now)
    }

    /// Takes over the store's view of the buckets and the pause.
    ///
    /// Limits the store knows (another process learned them) end the cold start here too:
    /// there is nothing left for a probe to learn.
    pub(crate) fn mirror(&mut self, state: &SharedState, now: Instant) {
        let ratios = [self.cfg.request_ratio, self.cfg.token_ratio, self.cfg.token_ratio];
        let buckets = [&mut self.requests, &mut self.tokens, &mut self.input, &mut self.output];
        for (i, (bucket, dim)) in buckets.into_iter().zip(state.dims.iter()).enumerate() {
            let Some(d) = dim else { continue };
            let b = bucket.get_or_insert_with(|| {
                let ratio = ratios[i.min(2)];
                Bucket::new(d.limit.max(1.0) as u64, DEFAULT_WINDOW, ratio, now)
            });
            b.mirror(d.limit, d.rate, d.level, now);
        }
        if let Some(p) = state.paused_for {
            let until = now + p;
            self.paused_until = Some(self.paused_until.map_or(until, |old| old.max(until)));
        }
        if state.dims.iter().any(Option::is_some) && self.learning == super::Learning::NeedProbe {
            self.learning = super::Learning::Done;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::{LimitConfig, Poll};
    use super::*;
    use crate::limit::store::SharedDim;

    fn cfg() -> LimitConfig {
        LimitConfig {
            requests: Some(60),
            tokens: None,
            input: None,
            output: None,
            request_ratio: 1.0,
            token_ratio: 1.0,
            request_window: std::time::Duration::from_secs(60),
            token_window: std::time::Duration::from_secs(60),
            max_in_flight: 10,
            learn_from_headers: true,
            max_wait: None,
        }
    }

    #[test]
    fn reserve_args_carry_local_limits_for_creation() {
        let st = ModelState::new(cfg(), Instant::now());
        let args = st.reserve_args(&Cost { tokens: 7, input: 0, output: 0 });
        assert_eq!(args.cost, [1, 7, 0, 0]);
        assert_eq!(args.init[0], Some((60.0, 1.0)));
        assert_eq!(args.init[1], None);
    }

    #[test]
    fn mirror_learns_shared_limits_and_pause_and_ends_the_cold_start() {
        let now = Instant::now();
        let mut st = ModelState::new(LimitConfig { requests: None, ..cfg() }, now);
        let state = SharedState {
            dims: [
                None,
                Some(SharedDim { limit: 1000.0, rate: 1000.0 / 60.0, level: -50.0 }),
                None,
                None,
            ],
            paused_for: Some(Duration::from_secs(2)),
        };
        let t = st.enqueue(false);
        assert!(!st.admit_shared(t, &Cost { tokens: 10, ..Cost::default() }, &state, now));
        let snap = st.snapshot("m", now);
        let tokens = snap.tokens.expect("created from the store");
        assert_eq!((tokens.limit, tokens.remaining), (1000, 0));
        assert_eq!(snap.paused_for, Some(Duration::from_secs(2)));
        assert_eq!(snap.in_flight, 1);
        st.enqueue(false);
        assert_eq!(
            st.gate(&Cost::default(), now),
            Some(Poll::WaitUntil(now + Duration::from_secs(2))),
            "the shared pause holds the local queue"
        );
    }

    #[test]
    fn a_reserving_head_blocks_a_displacing_retry() {
        let now = Instant::now();
        let mut st = ModelState::new(cfg(), now);
        let head = st.enqueue(false);
        st.set_reserving(true);
        let retry = st.enqueue(true);
        assert_eq!(st.head(), Some(retry));
        assert_eq!(st.gate(&Cost::default(), now), Some(Poll::WaitSignal));
        st.set_reserving(false);
        st.admit_shared(head, &Cost::default(), &SharedState::default(), now);
        assert_eq!(st.head(), Some(retry), "the displaced head left from the middle");
    }
}
