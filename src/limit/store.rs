//! The seam between the in-process limiter and a shared bucket store (Redis).
//!
//! The in-process [`ModelLimiter`](crate::limit::limiter::ModelLimiter) keeps what is local by
//! nature: the FIFO queue of this process's threads, the in-flight cap, the cold-start probe.
//! A shared store takes over the bucket arithmetic, so that many processes draw from one set of
//! buckets. Its reservation is a *reservation in time*: the store always takes the cost and
//! answers how long to wait before sending, so later arrivals from any process queue behind
//! the debt (FIFO by arrival at the store, no starvation, one round trip per admission).

#![cfg_attr(not(feature = "redis"), allow(dead_code))] // only the Redis store implements it

use std::time::Duration;

use crate::limit::info::RateLimitInfo;

/// Index of each dimension in the arrays below: requests, tokens, input, output.
pub(crate) const DIMENSIONS: [&str; 4] = ["requests", "tokens", "input tokens", "output tokens"];

/// One dimension as the store holds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SharedDim {
    /// The provider's limit.
    pub limit: f64,
    /// Refill per second.
    pub rate: f64,
    /// Units available now (negative while reservations are waiting to be repaid).
    pub level: f64,
}

/// The store's view of one model after an operation.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SharedState {
    /// Requests, tokens, input tokens, output tokens; `None` where no limit is known.
    pub dims: [Option<SharedDim>; 4],
    /// How long the model stays paused (a 429 seen by any process).
    pub paused_for: Option<Duration>,
}

/// The answer to a reservation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reserved {
    /// Taken; send after `wait`.
    Granted {
        /// Time until the reservation is covered by refill (and any pause has ended).
        wait: Duration,
        /// The buckets after the reservation.
        state: SharedState,
    },
    /// The cost exceeds a whole bucket the store knows of; nothing was taken.
    NeverFits {
        /// Index into [`DIMENSIONS`].
        dim: usize,
        /// What the request needs.
        needed: u64,
        /// The bucket's limit.
        limit: u64,
    },
}

/// What a reservation asks for, and how to create buckets the store does not have yet.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct ReserveArgs {
    /// Cost in each dimension.
    pub cost: [u64; 4],
    /// (limit, refill per second) known locally, used only if the store has no bucket yet.
    pub init: [Option<(f64, f64)>; 4],
}

/// Where the head of a queue should reserve right now.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Route {
    /// In the shared store.
    Shared,
    /// In the local buckets: the store is down and the policy is to fall back.
    Local,
    /// Nowhere: the store is down and the policy is to fail with this message.
    Fail(String),
}

/// A store of bucket state shared between processes.
///
/// Every operation is one atomic read-modify-write on the model's key. Errors are strings
/// for [`Error::Store`](crate::Error::Store); the store itself tracks its health (so a failure
/// switches [`route`](Self::route) until a retry succeeds).
pub(crate) trait SharedStore: Send + Sync + std::fmt::Debug {
    /// Where to reserve now.
    fn route(&self) -> Route;
    /// Whether an error on reservation fails the request (else the caller falls back).
    fn fails_hard(&self) -> bool;
    /// Reserves `args.cost` in time.
    fn reserve(&self, key: &str, args: &ReserveArgs) -> Result<Reserved, String>;
    /// Corrects a reservation: `delta` (reserved minus actual) per token dimension
    /// (tokens, input, output); positive gives back.
    fn settle(&self, key: &str, delta: [i64; 3]) -> Result<SharedState, String>;
    /// Follows a response's rate-limit headers; `age` is how long after its request's
    /// admission the response came (how stale the figures may be).
    fn sync(&self, key: &str, info: &RateLimitInfo, age: Duration) -> Result<SharedState, String>;
    /// Pauses the model for every process until at least `d` from now.
    fn pause(&self, key: &str, d: Duration) -> Result<SharedState, String>;
}
