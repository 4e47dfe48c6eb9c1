//! [`BatchError`]: what can go wrong with a provider batch, typed.

use crate::error::Error;
use crate::provider_id::Provider;

/// One of the providers' per-batch caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    /// The number of requests in one batch.
    Requests,
    /// The size of one batch: the input file (OpenAI) or the request body (Anthropic).
    Bytes,
    /// The tokens a model may have enqueued in unfinished batches (OpenAI).
    EnqueuedTokens,
}

impl std::fmt::Display for Cap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Cap::Requests => "requests per batch",
            Cap::Bytes => "bytes per batch",
            Cap::EnqueuedTokens => "enqueued tokens",
        })
    }
}

/// Everything that can go wrong with a provider batch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    /// The provider has no batch API (OpenRouter).
    #[error("{provider} has no batch API; use the real-time path")]
    Unsupported {
        /// The limiter's provider.
        provider: Provider,
    },
    /// A request to the batch API failed (typed as for every other call).
    #[error(transparent)]
    Request(#[from] Error),
    /// One item cannot be sent (the request is unusable or its id is not accepted).
    #[error("item {custom_id:?} cannot be sent: {reason}")]
    InvalidItem {
        /// The item's id.
        custom_id: String,
        /// Why.
        reason: String,
    },
    /// Two items share an id: their results could not be told apart.
    #[error("custom_id {0:?} appears more than once")]
    DuplicateCustomId(String),
    /// A single item is larger than one of the caps, so no split can make it fit.
    #[error("item {custom_id:?} needs {needed} {cap} but the cap is {limit}")]
    TooLarge {
        /// The item's id.
        custom_id: String,
        /// Which cap.
        cap: Cap,
        /// What the item alone needs.
        needed: u64,
        /// The cap.
        limit: u64,
    },
    /// The provider answered 2xx with something that is not a batch, a file or a result.
    #[error("unexpected answer from the batch API: {0}")]
    InvalidResponse(String),
    /// A step only OpenAI's batch API has (input files), asked of another provider.
    #[error("{what} exists only in OpenAI's batch API")]
    OpenAiOnly {
        /// The step.
        what: &'static str,
    },
    /// A job with no items.
    #[error("the job has no items")]
    Empty,
}
