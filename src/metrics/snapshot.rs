//! The public view of the metrics: [`MetricsSnapshot`] and its parts.

use std::collections::BTreeMap;

use super::{FailureKind, Histogram};
use crate::provider_id::Provider;

/// Every model's metrics, as returned by [`ChatLimiter::metrics`](crate::ChatLimiter::metrics).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// The provider.
    pub provider: Provider,
    /// One entry per model used so far, sorted by name.
    pub models: Vec<ModelMetrics>,
    /// Money spent so far, in USD (real costs, worst cases where a real cost is unknown; see
    /// [`ChatLimiter::spend`](crate::ChatLimiter::spend)); `None` while no answer was priced.
    pub spend_usd: Option<f64>,
}

impl MetricsSnapshot {
    /// The entry for `model`, if it has been used.
    pub fn model(&self, model: &str) -> Option<&ModelMetrics> {
        self.models.iter().find(|m| m.model == model)
    }

    /// Attempts sent, over every model.
    pub fn sent(&self) -> u64 {
        self.models.iter().map(|m| m.requests.sent).sum()
    }

    /// 429 answers, over every model.
    pub fn rate_limited(&self) -> u64 {
        self.models.iter().map(|m| m.rate_limited).sum()
    }
}

/// What the requests of one model came to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModelMetrics {
    /// The model name.
    pub model: String,
    /// Attempts sent and how calls ended.
    pub requests: CallCounts,
    /// 429 answers (rate limits and quota errors alike), each one, also those that paused
    /// nothing.
    pub rate_limited: u64,
    /// Attempts that were tried again (after a 429, a 5xx, a reset, an unreadable answer).
    pub retries: u64,
    /// Tokens charged to the limiter's buckets at admission, per dimension, in the provider's
    /// accounting: `tokens` (OpenAI, OpenRouter: prompt + `max_tokens`), `input` and `output`
    /// (Anthropic). Charged once per attempt admitted; dimensions whose limit is not known yet
    /// are not charged.
    pub tokens_charged: TokenCounts,
    /// Tokens the provider reported in the usage of its answers (a stream counts only when its
    /// usage arrived): `input` the prompt, `output` the completion, `tokens` their sum.
    pub tokens_reported: TokenCounts,
    /// Requests being sent or awaiting an answer now.
    pub in_flight: u32,
    /// Requests waiting to be admitted now.
    pub queued: usize,
    /// How long each admission waited for the limits (queue, buckets, pauses).
    pub wait: Histogram,
    /// How long each attempt took, from sending to the answer read (for a stream: to its
    /// first bytes), failed ones included.
    pub latency: Histogram,
}

/// Attempts sent and how calls ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CallCounts {
    /// Attempts sent to the provider (every retry is one more).
    pub sent: u64,
    /// Calls that ended with an answer.
    pub succeeded: u64,
    /// Calls that ended in an error, by kind (kinds with none are left out).
    pub failed: BTreeMap<FailureKind, u64>,
}

impl CallCounts {
    /// Calls that ended in an error, of any kind.
    pub fn failed_total(&self) -> u64 {
        self.failed.values().sum()
    }
}

/// Tokens per limit dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct TokenCounts {
    /// Combined tokens: OpenAI and OpenRouter's one token limit when charged (0 for
    /// Anthropic), input + output when reported.
    pub tokens: u64,
    /// Input tokens.
    pub input: u64,
    /// Output tokens.
    pub output: u64,
}
