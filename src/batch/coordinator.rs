//! The coordinator loop of a batch (see `run.rs`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::{prepare_all, Coordinator};
use crate::batch::config::{BatchProgress, BatchResult};
use crate::batch::lane::{Item, Lane, GROW_EVERY};
use crate::error::Error;
use crate::types::ChatCompletionRequest;

/// How often the coordinator looks at the stop flag while no result arrives.
const STOP_POLL: Duration = Duration::from_millis(100);

impl Coordinator<'_> {
    pub(super) fn run<I, F>(
        &mut self,
        mut input: I,
        work: &Sender<Item>,
        results: &Receiver<BatchResult>,
        cancel: &AtomicBool,
        mut on_result: F,
    ) where
        I: Iterator<Item = (usize, ChatCompletionRequest)>,
        F: FnMut(BatchResult),
    {
        let started = Instant::now();
        let mut input_done = false;
        loop {
            // Twice what the lanes may have in flight (so a doubling finds its items ready),
            // not twice the ceiling: a small or fast batch holds little of its input.
            let targets: usize = self.lanes.values().map(|l| l.limit).sum();
            let buffer = 2 * targets.clamp(16, self.cap.max(16));
            if !input_done && self.pending < buffer {
                let want = buffer - self.pending;
                let chunk: Vec<_> = input.by_ref().take(want).collect();
                input_done = chunk.len() < want;
                for (index, request, call) in prepare_all(self.limiter.engine(), chunk) {
                    self.summary.total += 1;
                    match call {
                        Ok(call) => self.admit(Item { index, request, call }),
                        // Unusable as given (no messages, a NaN): reported, never sent.
                        Err(e) => self.finish_unsent(index, request, e, cancel, &mut on_result),
                    }
                }
            }
            // Asked to stop: what was read comes back cancelled; the rest of the input is
            // left unread. stop_on_first_error reports the whole input instead.
            let stopped = self.config.stop.as_ref().is_some_and(|f| f.load(Ordering::Relaxed));
            if stopped {
                cancel.store(true, Ordering::Relaxed);
            }
            if cancel.load(Ordering::Relaxed) {
                self.cancel_rest(&mut input, !stopped, &mut on_result);
                input_done = true;
            }
            self.dispatch(work);
            if self.grow(!input_done) {
                self.dispatch(work);
            }
            if self.in_flight == 0 && (input_done && self.pending == 0) {
                break;
            }
            // Bounded, so a stop set from another thread is seen even while every request
            // waits in the limiter and no result comes; short while a lane may still grow.
            let poll =
                if self.may_grow(!input_done, Instant::now()) { GROW_EVERY } else { STOP_POLL };
            let r = match results.recv_timeout(poll) {
                Ok(r) => r,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            self.finish(r, !input_done, cancel, &mut on_result);
        }
        self.summary.elapsed = started.elapsed();
    }

    /// Lets each adaptive lane double its target (at most every `GROW_EVERY`; see `lane.rs`);
    /// returns whether one did.
    fn grow(&mut self, more_input: bool) -> bool {
        let now = Instant::now();
        if self.last_grow.is_some_and(|t| now < t + GROW_EVERY) || !self.may_grow(more_input, now) {
            return false;
        }
        self.last_grow = Some(now);
        let limits = self.limiter.current_limits();
        let mut grew = false;
        for lane in self.lanes.values_mut() {
            let backlog = lane.has_backlog(more_input);
            let model = limits.model(&lane.model);
            let queued = model.map_or(0, |m| m.queued);
            // One lane for all models watches only the default one: what it sees is partial.
            let own = model.filter(|_| self.config.group_by_model);
            let seen = own.map(|m| m.in_flight as usize + m.queued);
            let room = own.and_then(|m| {
                let remaining = usize::try_from(m.requests.as_ref()?.remaining).ok()?;
                Some((m.in_flight as usize).saturating_add(remaining))
            });
            grew |= lane.tick(backlog, queued, seen, room, now);
        }
        grew
    }

    /// Whether an adaptive lane may still double its target (see [`Lane::may_grow`]).
    fn may_grow(&self, more_input: bool, now: Instant) -> bool {
        self.config.adaptive_batch_size
            && self.lanes.values().any(|l| l.may_grow(l.has_backlog(more_input), now))
    }

    fn admit(&mut self, item: Item) {
        let key =
            if self.config.group_by_model { item.call.model.to_string() } else { String::new() };
        if !self.lanes.contains_key(&key) {
            self.order.push(key.clone());
            // Each model: at most max_concurrent_requests, and no more than its fair share of
            // the workers, so a model waiting for its limits never holds up another's items.
            let share = (self.cap / self.order.len()).clamp(1, self.config.max_concurrent_requests);
            for lane in self.lanes.values_mut() {
                lane.set_max(share);
            }
            let lane = Lane::new(self.lane_model(&key), share, self.config.adaptive_batch_size);
            self.lanes.insert(key.clone(), lane);
        }
        if let Some(lane) = self.lanes.get_mut(&key) {
            lane.pending.push_back(item);
            self.pending += 1;
        }
    }

    /// The limiter model a lane watches ("" lane: the limiter's default model).
    fn lane_model(&self, key: &str) -> String {
        if key.is_empty() {
            self.limiter.model().unwrap_or_default().to_string()
        } else {
            key.to_string()
        }
    }

    /// Sends items to the workers, round robin over lanes with room.
    fn dispatch(&mut self, work: &Sender<Item>) {
        let n = self.order.len();
        let mut idle_rounds = 0;
        while idle_rounds < n && self.in_flight < self.cap {
            let key = &self.order[self.next_lane % n];
            self.next_lane = (self.next_lane + 1) % n;
            let Some(lane) = self.lanes.get_mut(key) else { break };
            if lane.has_room() {
                if let Some(item) = lane.pending.pop_front() {
                    // One more worker when every started one is busy.
                    if self.workers <= self.in_flight && (self.spawn)() {
                        self.workers += 1;
                        self.summary.workers = self.workers;
                    }
                    if work.send(item).is_ok() {
                        lane.in_flight += 1;
                        self.in_flight += 1;
                        self.pending -= 1;
                        self.summary.peak_in_flight =
                            self.summary.peak_in_flight.max(self.in_flight);
                        idle_rounds = 0;
                        continue;
                    }
                }
            }
            idle_rounds += 1;
        }
    }

    fn finish<F: FnMut(BatchResult)>(
        &mut self,
        r: BatchResult,
        more_input: bool,
        cancel: &AtomicBool,
        on_result: &mut F,
    ) {
        self.in_flight -= 1;
        let key = match (self.config.group_by_model, r.request.model.is_empty()) {
            (true, false) => r.request.model.clone(),
            (true, true) => self.limiter.model().unwrap_or_default().to_string(),
            (false, _) => String::new(),
        };
        if let Some(lane) = self.lanes.get_mut(&key) {
            lane.in_flight -= 1;
            lane.completed(r.duration, Instant::now());
            if self.config.adaptive_batch_size {
                let backlog = lane.has_backlog(more_input);
                let queued =
                    self.limiter.current_limits().model(&lane.model).map_or(0, |m| m.queued);
                lane.adapt(backlog, queued);
            }
        }
        self.summary.retries += u64::from(r.attempts.saturating_sub(1));
        self.count(&r, cancel);
        self.report(r, on_result);
    }

    /// An item that could not be prepared: a failed result, sent nowhere.
    fn finish_unsent<F: FnMut(BatchResult)>(
        &mut self,
        index: usize,
        request: ChatCompletionRequest,
        error: Error,
        cancel: &AtomicBool,
        on_result: &mut F,
    ) {
        let r = BatchResult {
            index,
            request,
            result: Err(error),
            attempts: 0,
            duration: Duration::ZERO,
        };
        self.count(&r, cancel);
        self.report(r, on_result);
    }

    fn count(&mut self, r: &BatchResult, cancel: &AtomicBool) {
        match &r.result {
            Ok(_) => self.summary.succeeded += 1,
            Err(Error::Cancelled) => self.summary.cancelled += 1,
            Err(_) => {
                self.summary.failed += 1;
                if self.config.stop_on_first_error {
                    cancel.store(true, Ordering::Relaxed);
                }
            }
        }
    }

    /// Reports every item not yet started as cancelled (never silently dropped).
    fn cancel_rest<I: Iterator<Item = (usize, ChatCompletionRequest)>, F: FnMut(BatchResult)>(
        &mut self,
        input: &mut I,
        read_the_rest: bool,
        on_result: &mut F,
    ) {
        let mut rest: Vec<(usize, ChatCompletionRequest)> = Vec::new();
        for lane in self.lanes.values_mut() {
            rest.extend(lane.pending.drain(..).map(|item| (item.index, item.request)));
        }
        self.pending = 0;
        let pending = rest.len();
        let mut unread = 0;
        let rest_of_input: Box<dyn Iterator<Item = (usize, ChatCompletionRequest)> + '_> =
            if read_the_rest { Box::new(input.by_ref()) } else { Box::new(std::iter::empty()) };
        for (index, request) in rest.into_iter().chain(rest_of_input) {
            unread += 1;
            if unread > pending {
                self.summary.total += 1;
            }
            self.summary.cancelled += 1;
            let r = BatchResult {
                index,
                request,
                result: Err(Error::Cancelled),
                attempts: 0,
                duration: Duration::ZERO,
            };
            self.report(r, on_result);
        }
    }

    fn report<F: FnMut(BatchResult)>(&mut self, r: BatchResult, on_result: &mut F) {
        self.done += 1;
        if r.result.is_err() {
            self.failed += 1;
        }
        let now = Instant::now();
        self.recent.push_back(now);
        while self.recent.front().is_some_and(|t| now - *t > Duration::from_secs(5)) {
            self.recent.pop_front();
        }
        on_result(r);
        if let Some(progress) = &self.config.on_progress {
            // The 429 count needs every model's lock: refresh it at most ten times a second.
            if self.last_429_check.is_none_or(|t| now - t > Duration::from_millis(100)) {
                self.last_429_check = Some(now);
                self.rate_limited =
                    self.limiter.current_limits().models.iter().map(|m| m.rate_limited).sum();
            }
            let span = self.recent.front().map_or(0.0, |t| (now - *t).as_secs_f64()).max(1.0);
            progress(&BatchProgress {
                done: self.done,
                failed: self.failed,
                in_flight: self.in_flight,
                rate_limited: self.rate_limited,
                rate_per_sec: self.recent.len() as f64 / span,
                total: self.total,
            });
        }
    }
}
