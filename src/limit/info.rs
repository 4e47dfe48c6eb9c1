//! What a provider's response headers say about its limits, in one shape for all providers.
//!
//! Each provider module parses its own header format into a [`RateLimitInfo`]; the limiter only
//! ever sees this. Every field is optional: a header that is absent or unparseable is "unknown",
//! never an error.

use std::time::Duration;

/// One limit dimension (requests, tokens, input tokens or output tokens) as last reported.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub(crate) struct DimensionInfo {
    /// The bucket's capacity (`x-ratelimit-limit-*`, `anthropic-ratelimit-*-limit`).
    pub limit: Option<u64>,
    /// What is left right now.
    pub remaining: Option<u64>,
    /// Time from when the response was received until the bucket is full again
    /// (OpenAI's relative durations and Anthropic's absolute timestamps both end up here).
    pub reset: Option<Duration>,
}

impl DimensionInfo {
    /// Whether any field is known.
    pub fn is_known(&self) -> bool {
        self.limit.is_some() || self.remaining.is_some() || self.reset.is_some()
    }
}

/// Everything one response said about rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub(crate) struct RateLimitInfo {
    /// Requests per window.
    pub requests: DimensionInfo,
    /// Tokens per window (OpenAI; Anthropic's combined `tokens-*` family).
    pub tokens: DimensionInfo,
    /// Anthropic input tokens per minute.
    pub input_tokens: DimensionInfo,
    /// Anthropic output tokens per minute.
    pub output_tokens: DimensionInfo,
    /// The server's retry hint: `retry-after-ms`, `retry-after` (seconds or HTTP-date), or
    /// OpenRouter's `X-RateLimit-Reset` on its 429s, relative to when the response arrived.
    pub retry_after: Option<Duration>,
    /// How finely the resets were reported: OpenAI truncates to whole milliseconds, Anthropic
    /// to whole seconds. Zero means exact. The refill window derived from a reset is only
    /// trusted as far as this allows.
    pub reset_resolution: Duration,
    /// The resets were absolute times turned into waits against the response's `Date`
    /// (Anthropic), so they may be off by more than their resolution (see `window.rs`).
    pub resets_against_date: bool,
    /// How the token `remaining` figures were rounded: 0 when floored to a whole token
    /// (OpenAI), or N when rounded to the nearest N (Anthropic rounds to 1000).
    pub token_remaining_rounding: u64,
}

impl RateLimitInfo {
    /// Whether the response carried any rate-limit information at all.
    pub fn is_empty(&self) -> bool {
        !(self.requests.is_known()
            || self.tokens.is_known()
            || self.input_tokens.is_known()
            || self.output_tokens.is_known()
            || self.retry_after.is_some())
    }
}
