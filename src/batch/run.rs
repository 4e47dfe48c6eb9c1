//! The batch engine: a coordinator on the caller's thread and a pool of workers.
//!
//! The coordinator reads the input lazily, prepares it (in parallel on rayon's pool for large
//! chunks), keeps each model's waiting items in a [`Lane`], hands items to the workers over a
//! crossbeam channel while the lane has room, and receives results on another. It alone does the bookkeeping, so there is no shared mutable state
//! beyond the channels and one cancel flag. Memory is bounded by the pending buffer plus the
//! requests in flight, whatever the input size.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver, Sender};
use rayon::prelude::*;

use crate::batch::config::{BatchConfig, BatchResult};
use crate::batch::lane::{Item, Lane};
use crate::client::ChatLimiter;
use crate::error::{Error, Result};
use crate::request::{Call, Engine};
use crate::retry::RetryPolicy;
use crate::types::ChatCompletionRequest;

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
    /// Retries made (attempts beyond the first of each item, the request loop's included).
    pub retries: u64,
    /// Most requests in flight at once.
    pub peak_in_flight: usize,
    /// Worker threads the batch started (it starts them as needed, up to `max_workers`).
    pub workers: usize,
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
    // The input's buffer is given back as its requests move into their results.
    let requests = super::shrinking::Shrinking::new(requests);
    process_chat_completion_stream(limiter, requests, config, Some(total), |r| {
        let i = r.index;
        slots[i] = Some(r);
    })?;
    // The engine reports every index it read exactly once (tested), so every slot is filled.
    // `map` over the slots' own iterator collects in place (an `Option<BatchResult>` is the
    // size of a `BatchResult`): `flatten` built a second vector, 560 bytes an item more at
    // the batch's peak.
    Ok(slots.into_iter().map(|slot| slot.expect("every index is reported exactly once")).collect())
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
    let engine = limiter.engine();
    // The one retry policy of the request loop, with the batch's overrides if any.
    // Its stop flag also stops the requests already waiting in the limiter: once set, none
    // of them is sent.
    let cancel = Arc::new(AtomicBool::new(false));
    let policy = engine
        .policy()
        .with(config.max_retries_per_item, config.retry_delay)
        .cancelled_by(Arc::clone(&cancel));
    let (work_tx, work_rx) = unbounded::<Item>();
    let (done_tx, done_rx) = unbounded::<BatchResult>();
    let mut summary = BatchSummary::default();
    // Workers are plain threads: they block on the network and the limiter, which is not
    // work for rayon's CPU-sized pool. They start as the batch needs them (a 3-item batch
    // starts 3), up to `max_workers`.
    std::thread::scope(|scope| {
        let spawn = || {
            let (rx, tx, cancel, policy) = (work_rx.clone(), done_tx.clone(), &*cancel, &policy);
            std::thread::Builder::new()
                .name("chat-limiter-batch".into())
                .spawn_scoped(scope, move || worker(engine, policy, &rx, &tx, cancel))
                .is_ok()
        };
        let mut coord = Coordinator {
            limiter,
            config,
            cap: super::open_files::capped_workers(config.max_workers),
            workers: 0,
            spawn: &spawn,
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
            last_grow: None,
            rate_limited: 0,
        };
        coord.run(requests.into_iter().enumerate(), &work_tx, &done_rx, &cancel, on_result);
        drop(work_tx); // workers end when the channel closes
    });
    Ok(summary)
}

fn worker(
    engine: &Engine,
    policy: &RetryPolicy,
    rx: &Receiver<Item>,
    tx: &Sender<BatchResult>,
    cancel: &AtomicBool,
) {
    while let Ok(item) = rx.recv() {
        let started = Instant::now();
        let mut attempts = 0;
        let result = if cancel.load(Ordering::Relaxed) {
            Err(Error::Cancelled)
        } else {
            engine.chat_prepared(&item.call, policy, &mut attempts)
        };
        let r = BatchResult {
            index: item.index,
            request: item.request,
            result,
            attempts,
            duration: started.elapsed(),
        };
        if tx.send(r).is_err() {
            return;
        }
    }
}

/// Prepares items (validation, body, cost estimate: CPU work, tiktoken counts included) in
/// parallel on rayon's pool when there are enough of them to be worth it.
fn prepare_all(
    engine: &Engine,
    chunk: Vec<(usize, ChatCompletionRequest)>,
) -> Vec<(usize, ChatCompletionRequest, Result<Call>)> {
    let one = |(index, request): (usize, ChatCompletionRequest)| {
        let call = engine.prepare_chat(&request, false);
        (index, request, call)
    };
    if chunk.len() < PARALLEL_PREPARE_MIN {
        chunk.into_iter().map(one).collect()
    } else {
        chunk.into_par_iter().map(one).collect()
    }
}

/// Below this many items, preparing on the coordinator's thread is cheaper than a hand-off.
const PARALLEL_PREPARE_MIN: usize = 64;

struct Coordinator<'a> {
    limiter: &'a ChatLimiter,
    config: &'a BatchConfig,
    cap: usize,
    workers: usize,
    spawn: &'a dyn Fn() -> bool,
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
    /// When the lanes last had a chance to grow (see `Coordinator::grow`).
    last_grow: Option<Instant>,
    rate_limited: u64,
}

#[path = "coordinator.rs"]
mod coordinator;
