//! Monitoring: a point-in-time view of every model's limits and usage.

use std::time::Duration;

use crate::provider_id::Provider;

/// One limit dimension as the limiter sees it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DimensionSnapshot {
    /// The provider's limit per window.
    pub limit: u64,
    /// What may be used right now (after the buffer ratio).
    pub remaining: u64,
    /// Units charged since the limiter started or since the last
    /// [`reset_usage_tracking`](crate::ChatLimiter::reset_usage_tracking).
    pub used: u64,
    /// Time until the bucket is full again.
    pub reset: Duration,
    /// The window `limit` is counted over (a minute unless the server or the configuration
    /// says otherwise; `limit / window` is the refill rate).
    pub window: Duration,
}

/// The limits and usage of one model.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModelLimits {
    /// The model name.
    pub model: String,
    /// Requests per window, when known.
    pub requests: Option<DimensionSnapshot>,
    /// Tokens per window (OpenAI, OpenRouter), when known.
    pub tokens: Option<DimensionSnapshot>,
    /// Input tokens per minute (Anthropic), when known.
    pub input_tokens: Option<DimensionSnapshot>,
    /// Output tokens per minute (Anthropic), when known.
    pub output_tokens: Option<DimensionSnapshot>,
    /// How long the model's queue stays paused after a 429, when it is.
    pub paused_for: Option<Duration>,
    /// 429s seen for this model.
    pub rate_limited: u64,
    /// Requests being sent or awaiting an answer.
    pub in_flight: u32,
    /// Requests waiting to be admitted.
    pub queued: usize,
    /// Requests finished (any outcome).
    pub completed: u64,
}

/// Every model's limits, as returned by [`current_limits`](crate::ChatLimiter::current_limits).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LimitsSnapshot {
    /// The provider.
    pub provider: Provider,
    /// One entry per model used so far, sorted by name.
    pub models: Vec<ModelLimits>,
}

impl LimitsSnapshot {
    /// The entry for `model`, if it has been used.
    pub fn model(&self, model: &str) -> Option<&ModelLimits> {
        self.models.iter().find(|m| m.model == model)
    }
}
