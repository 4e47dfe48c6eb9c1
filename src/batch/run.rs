//! The batch engine: a coordinator on the caller's thread and a pool of workers.
//!
//! The coordinator reads the input lazily, keeps each model's waiting items in a [`Lane`],
//! hands items to the workers over a crossbeam channel while the lane has room, and receives
//! results on another. It alone does the bookkeeping, so there is no shared mutable state
//! beyond the channels and one cancel flag. Memory is bounded by the pending buffer plus the
//! requests in flight, whatever the input size.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver, Sender};

use crate::batch::config::{BatchConfig, BatchResult};
use crate::batch::lane::Lane;
use crate::client::ChatLimiter;
use crate::error::{Error, Result};
use crate::types::ChatCompletionRequest;

type Item = (usize, ChatCompletionRequest);

/// Counts kept by the coordinator, returned when the batch ends.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub struct BatchSummary {
    /// Items read.
    pub total: usize,
    /// Items that succeeded.
    pub succeeded: usize,
    /// Items that failed (not counting cancelled ones).
    pub failed: usize,
    /// Items cancelled by `stop_on_first_error`.
    pub cancelled: usize,
    /// Extra attempts made by the batch (beyond the first of each item).
    pub retries: u64,
    /// Most requests in flight at once.
    pub peak_in_flight: usize,
    /// Wall time.
    pub elapsed: Duration,
}

/// Runs a batch and returns one result per request, in input order.
///
/// ```no_run
/// use chat_limiter::{create_chat_completion_requests, process_chat_completion_batch, BatchConfig, ChatLimiter};
/// let limiter = ChatLimiter::for_model("gpt-4o")?;
/// let requests = create_chat_completion_requests("gpt-4o", ["Hello!", "What is Rust?"], Some(50), None);
/// for r in process_chat_completion_batch(&limiter, requests, &BatchConfig::default())? {
///     match &r.result {
///         Ok(resp) => println!("{}: {}", r.index, resp.text()),
///         Err(e) => println!("{}: error {e}", r.index),
///     }
/// }
/// # Ok::<_, chat_limiter::Error>(())
/// ```
pub fn process_chat_completion_batch(
    limiter: &ChatLimiter,
    requests: Vec<ChatCompletionRequest>,
    config: &BatchConfig,
) -> Result<Vec<BatchResult>> {
    let mut slots: Vec<Option<BatchResult>> = Vec::new();
    slots.resize_with(requests.len(), || None);
    let total = requests.len();
    process_chat_completion_stream(limiter, requests, config, Some(total), |r| {
        let i = r.index;
        slots[i] = Some(r);
    })?;
    // The engine reports every index it read exactly once (tested), so every slot is filled.
    Ok(slots.into_iter().flatten().collect())
}

/// Runs a batch from any iterator and hands each result to `on_result` as it completes
/// (completion order; `index` gives the input position). Memory stays bounded whatever the
/// input size: items are read only as fast as they can be sent.
pub fn process_chat_completion_stream<I, F>(
    limiter: &ChatLimiter,
    requests: I,
    config: &BatchConfig,
    total: Option<usize>,
    on_result: F,
) -> Result<BatchSummary>
where
    I: IntoIterator<Item = ChatCompletionRequest>,
    F: FnMut(BatchResult),
{
    config.validate()?;
    let cap = config.max_concurrent_requests.min(config.max_workers);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cap)
        .thread_name(|i| format!("chat-limiter-batch-{i}"))
        .build()
        .map_err(|e| Error::Config(format!("cannot start the worker pool: {e}")))?;
    let (work_tx, work_rx) = unbounded::<Item>();
    let (done_tx, done_rx) = unbounded::<BatchResult>();
    let cancel = AtomicBool::new(false);
    let mut summary = BatchSummary::default();
    // rayon: a dedicated pool whose scope lets workers borrow the limiter and config and
    // re-raises a worker's panic here instead of losing it.
    pool.in_place_scope(|scope| {
        for _ in 0..cap {
            let (rx, tx, cancel) = (work_rx.clone(), done_tx.clone(), &cancel);
            scope.spawn(move |_| worker(limiter, config, &rx, &tx, cancel));
        }
        drop(done_tx);
        let mut coord = Coordinator {
            limiter,
            config,
            cap,
            lanes: HashMap::new(),
            order: Vec::new(),
            next_lane: 0,
            in_flight: 0,
            pending: 0,
            done: 0,
            failed: 0,
            recent: VecDeque::new(),
            total,
            summary: &mut summary,
            last_429_check: None,
            rate_limited: 0,
        };
        coord.run(requests.into_iter().enumerate(), &work_tx, &done_rx, &cancel, on_result);
        drop(work_tx); // workers end when the channel closes
    });
    Ok(summary)
}

fn worker(
    limiter: &ChatLimiter,
    config: &BatchConfig,
    rx: &Receiver<Item>,
    tx: &Sender<BatchResult>,
    cancel: &AtomicBool,
) {
    while let Ok((index, request)) = rx.recv() {
        let started = Instant::now();
        let mut attempts = 0;
        let result = loop {
            if cancel.load(Ordering::Relaxed) {
                break Err(Error::Cancelled);
            }
            attempts += 1;
            match limiter.chat_completion(&request) {
                Err(e) if attempts <= config.max_retries_per_item && worth_retrying(&e) => {
                    let factor = 2u32.saturating_pow(attempts - 1);
                    std::thread::sleep(config.retry_delay.saturating_mul(factor));
                }
                other => break other,
            }
        };
        let r = BatchResult { index, request, result, attempts, duration: started.elapsed() };
        if tx.send(r).is_err() {
            return;
        }
    }
}

/// Whether the batch should try an item again after the limiter gave up on it.
fn worth_retrying(e: &Error) -> bool {
    match e {
        Error::RetriesExhausted { last, .. } => {
            last.is_retryable() || matches!(**last, Error::InvalidResponse { .. })
        }
        Error::InvalidResponse { .. } | Error::Stream(_) => true,
        other => other.is_retryable(),
    }
}

struct Coordinator<'a> {
    limiter: &'a ChatLimiter,
    config: &'a BatchConfig,
    cap: usize,
    lanes: HashMap<String, Lane>,
    order: Vec<String>,
    next_lane: usize,
    in_flight: usize,
    pending: usize,
    done: usize,
    failed: usize,
    recent: VecDeque<Instant>,
    total: Option<usize>,
    summary: &'a mut BatchSummary,
    last_429_check: Option<Instant>,
    rate_limited: u64,
}

#[path = "coordinator.rs"]
mod coordinator;
