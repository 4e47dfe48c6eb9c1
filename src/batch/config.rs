//! [`BatchConfig`] and the per-item [`BatchResult`].

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::types::{ChatCompletionRequest, ChatCompletionResponse};

/// A progress report, given to [`BatchConfig::on_progress`] after every finished item.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct BatchProgress {
    /// Items finished (succeeded, failed or cancelled).
    pub done: usize,
    /// Items that failed or were cancelled.
    pub failed: usize,
    /// Items being sent or waiting for the limiter.
    pub in_flight: usize,
    /// 429s seen by the limiter so far (all models).
    pub rate_limited: u64,
    /// Items finished per second over the last few seconds.
    pub rate_per_sec: f64,
    /// Total items, when known in advance.
    pub total: Option<usize>,
}

/// A progress callback.
pub type ProgressFn = Arc<dyn Fn(&BatchProgress) + Send + Sync>;

/// How a batch runs. Every field does what it says; defaults reach the provider's limits
/// without tuning.
///
/// ```
/// use chat_limiter::BatchConfig;
/// use std::time::Duration;
/// let config = BatchConfig::default()
///     .max_concurrent_requests(64)
///     .max_retries_per_item(3)
///     .retry_delay(Duration::from_secs(1))
///     .group_by_model(true);
/// assert_eq!(config.max_workers, 4096); // a ceiling: the pool grows to what the batch needs
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct BatchConfig {
    /// Most requests in flight for one model (one lane with `group_by_model`, the whole batch
    /// without it); default 4,096, as `max_workers`. A ceiling, like `max_workers`: with
    /// `adaptive_batch_size` a lane holds what `rate × latency` needs, up to this.
    pub max_concurrent_requests: usize,
    /// Most worker threads, so most requests in flight for the whole batch (1 to 16,384;
    /// default 4,096: a 3,000-RPM key at 60 s latency, a reasoning model's, needs 3,000 in
    /// flight). Each worker sends one request at a time and mostly waits on the network or the
    /// limiter, so the pool is sized for `rate × latency`, not for the CPU count. It is a
    /// ceiling, not a size: a worker starts only when every started one is busy, and with
    /// `adaptive_batch_size` each lane's in-flight target starts at 4 and grows (see there),
    /// so a 3-item batch starts 3 workers and a fast one on a small machine a few dozen.
    /// A worker costs its touched stack, its connection's buffers and one socket (4,096 in
    /// flight against the in-process emulator peaked at 1.4 GiB resident for both sides).
    /// The pool is also capped at a third of the process's open-file limit (less 64): under
    /// the common soft limit of 1,024 that is 320 workers, said once at `warn` on the logging
    /// facade; raise `ulimit -n` for more (the command line raises its own to the hard
    /// limit). With several models each gets at most an equal share of the workers.
    pub max_workers: usize,
    /// Retries of one item after its first attempt. `None`: the limiter's
    /// [`max_retries`](crate::Config::max_retries). There is one retry loop (the limiter's);
    /// this only changes its count for batch items.
    pub max_retries_per_item: Option<u32>,
    /// First backoff delay of an item's retries (doubling after each). `None`: the limiter's
    /// [`base_backoff`](crate::Config::base_backoff).
    pub retry_delay: Option<Duration>,
    /// Stop at the first failed item; items not started are reported as
    /// [`Error::Cancelled`](crate::Error::Cancelled) (default false).
    pub stop_on_first_error: bool,
    /// Give each model its own queue and share of the workers, so a model that is waiting for
    /// its limits never holds up another's items (default true).
    pub group_by_model: bool,
    /// Adapt the requests in flight to `rate × latency` (Little's law) between 4 and
    /// `max_concurrent_requests`, instead of always using all of them (default true). Each
    /// lane starts at 4 and, while its limiter has nobody waiting and all its slots are busy
    /// with work left, doubles its target every 10 ms (a burst into a full bucket has hundreds
    /// in flight within a tenth of a second) and adds one per completion; it shrinks by one
    /// per completion while more than a quarter of its requests wait in the limiter. When
    /// responses take under 125 ms, a doubling is kept only if it brings 15% more completions
    /// per second, else the target goes back and holds for a second: there the CPU, not the
    /// pool, binds. `false`: every lane uses `max_concurrent_requests` from the start.
    pub adaptive_batch_size: bool,
    /// Called after each finished item.
    pub on_progress: Option<ProgressFn>,
    /// Set it to true to stop the batch: nothing more is sent, the items already read but not
    /// yet sent come back as [`Error::Cancelled`](crate::Error::Cancelled) with 0 attempts,
    /// and the requests in flight finish. Checked after every finished item.
    pub stop: Option<Arc<AtomicBool>>,
}

impl std::fmt::Debug for BatchConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchConfig")
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .field("max_workers", &self.max_workers)
            .field("max_retries_per_item", &self.max_retries_per_item)
            .field("retry_delay", &self.retry_delay)
            .field("stop_on_first_error", &self.stop_on_first_error)
            .field("group_by_model", &self.group_by_model)
            .field("adaptive_batch_size", &self.adaptive_batch_size)
            .field("on_progress", &self.on_progress.is_some())
            .field("stop", &self.stop)
            .finish()
    }
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_concurrent_requests: 4096,
            max_workers: 4096,
            max_retries_per_item: None,
            retry_delay: None,
            stop_on_first_error: false,
            group_by_model: true,
            adaptive_batch_size: true,
            on_progress: None,
            stop: None,
        }
    }
}

impl BatchConfig {
    /// Sets [`max_concurrent_requests`](Self::max_concurrent_requests).
    #[must_use]
    pub fn max_concurrent_requests(mut self, n: usize) -> Self {
        self.max_concurrent_requests = n;
        self
    }
    /// Sets [`max_workers`](Self::max_workers).
    #[must_use]
    pub fn max_workers(mut self, n: usize) -> Self {
        self.max_workers = n;
        self
    }
    /// Sets [`max_retries_per_item`](Self::max_retries_per_item).
    #[must_use]
    pub fn max_retries_per_item(mut self, n: u32) -> Self {
        self.max_retries_per_item = Some(n);
        self
    }
    /// Sets [`retry_delay`](Self::retry_delay).
    #[must_use]
    pub fn retry_delay(mut self, d: Duration) -> Self {
        self.retry_delay = Some(d);
        self
    }
    /// Sets [`stop_on_first_error`](Self::stop_on_first_error).
    #[must_use]
    pub fn stop_on_first_error(mut self, on: bool) -> Self {
        self.stop_on_first_error = on;
        self
    }
    /// Sets [`group_by_model`](Self::group_by_model).
    #[must_use]
    pub fn group_by_model(mut self, on: bool) -> Self {
        self.group_by_model = on;
        self
    }
    /// Sets [`adaptive_batch_size`](Self::adaptive_batch_size).
    #[must_use]
    pub fn adaptive_batch_size(mut self, on: bool) -> Self {
        self.adaptive_batch_size = on;
        self
    }
    /// Sets [`on_progress`](Self::on_progress).
    #[must_use]
    pub fn on_progress(mut self, f: impl Fn(&BatchProgress) + Send + Sync + 'static) -> Self {
        self.on_progress = Some(Arc::new(f));
        self
    }

    /// Sets [`stop`](Self::stop).
    #[must_use]
    pub fn stop(mut self, flag: Arc<AtomicBool>) -> Self {
        self.stop = Some(flag);
        self
    }

    /// Checks the values; the error names the field.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if !(1..=16_384).contains(&self.max_workers) {
            return bad(format!("max_workers must be in 1..=16384, got {}", self.max_workers));
        }
        if !(1..=100_000).contains(&self.max_concurrent_requests) {
            return bad(format!(
                "max_concurrent_requests must be in 1..=100000, got {}",
                self.max_concurrent_requests
            ));
        }
        if let Some(n) = self.max_retries_per_item.filter(|n| *n > 100) {
            return bad(format!("max_retries_per_item must be at most 100, got {n}"));
        }
        if let Some(d) = self.retry_delay.filter(|d| d.is_zero() || *d > Duration::from_secs(3600))
        {
            return bad(format!("retry_delay must be between 1 ns and 1 hour, got {d:?}"));
        }
        Ok(())
    }
}

/// The outcome of one batch item.
#[derive(Debug)]
#[non_exhaustive]
pub struct BatchResult {
    /// Position of the item in the input.
    pub index: usize,
    /// The request that was sent.
    pub request: ChatCompletionRequest,
    /// The response, or why there is none.
    pub result: std::result::Result<ChatCompletionResponse, Error>,
    /// Attempts made for this item (0: it was never sent).
    pub attempts: u32,
    /// Time from the item's first attempt to its result.
    pub duration: Duration,
}

impl BatchResult {
    /// Whether the item succeeded.
    pub fn success(&self) -> bool {
        self.result.is_ok()
    }
    /// The response, when the item succeeded.
    pub fn response(&self) -> Option<&ChatCompletionResponse> {
        self.result.as_ref().ok()
    }
    /// The error, when the item failed.
    pub fn error(&self) -> Option<&Error> {
        self.result.as_ref().err()
    }
}
