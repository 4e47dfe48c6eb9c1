//! One model's share of a batch: its waiting items and how many it may have in flight.
//!
//! With `adaptive_batch_size` the in-flight target follows Little's law without knowing the
//! rate or the latency: it grows by one per completion while the model's limiter has nobody
//! waiting (so concurrency, not the rate, is what holds the lane back: this doubles the target
//! every round trip), and shrinks by one while more than a quarter of the lane's requests are
//! waiting in the limiter (the rate binds and the extra requests in flight buy nothing).

use std::collections::VecDeque;

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

/// The smallest adaptive target: enough to keep a lane busy through a slow response or two.
const MIN_TARGET: usize = 4;

#[derive(Debug)]
pub(crate) struct Lane {
    pub model: String,
    pub pending: VecDeque<Item>,
    pub in_flight: usize,
    pub limit: usize,
    pub max: usize,
}

impl Lane {
    pub(crate) fn new(model: String, max: usize) -> Self {
        Lane { model, pending: VecDeque::new(), in_flight: 0, limit: max, max }
    }

    /// Lowers the lane's ceiling (more lanes now share the workers).
    pub(crate) fn set_max(&mut self, max: usize) {
        self.max = max.max(1);
        self.limit = self.limit.min(self.max);
    }

    pub(crate) fn has_room(&self) -> bool {
        self.in_flight < self.limit
    }

    /// Adapts the target after a completion. `backlog` tells whether the lane has work waiting
    /// for a slot; `queued` is how many of its requests wait in the limiter.
    pub(crate) fn adapt(&mut self, backlog: bool, queued: usize) {
        let floor = MIN_TARGET.min(self.max);
        if backlog && queued == 0 && self.in_flight + 1 >= self.limit {
            self.limit = (self.limit + 1).min(self.max);
        } else if queued > self.limit / 4 + 2 {
            self.limit = self.limit.saturating_sub(1).max(floor);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_when_concurrency_binds_and_shrinks_when_the_rate_binds() {
        let mut lane = Lane::new("m".into(), 100);
        lane.limit = 10;
        lane.in_flight = 9;
        lane.adapt(true, 0);
        assert_eq!(lane.limit, 11);
        lane.adapt(false, 0);
        assert_eq!(lane.limit, 11, "no backlog: no reason to grow");
        lane.adapt(true, 8);
        assert_eq!(lane.limit, 10);
        for _ in 0..100 {
            lane.adapt(true, 50);
        }
        assert_eq!(lane.limit, MIN_TARGET);
        lane.set_max(2);
        assert_eq!(lane.limit, 2);
    }
}
