//! The crate's one error type.
//!
//! Every failure is typed so callers can tell "fix your config" from "the provider said no" from
//! "we gave up after retrying". No variant ever holds an API key: provider messages are passed
//! through [`redact`] before they are stored.

use std::time::Duration;

use crate::provider_id::Provider;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No API key was given and the provider's environment variable is not set (or is empty).
    #[error("no API key for {provider}: set the {var} environment variable or pass one with .api_key(..)")]
    MissingApiKey {
        /// The provider that needs a key.
        provider: Provider,
        /// The environment variable that was read.
        var: &'static str,
    },
    /// The provider cannot be told from the model name.
    #[error("cannot detect the provider of model {model:?}: pass .provider(Provider::OpenAI) (or Anthropic, OpenRouter) to the builder")]
    UnknownModel {
        /// The model name that was given.
        model: String,
    },
    /// A configuration value is out of range or missing; the message names the field.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The request itself is unusable (for example no messages); nothing was sent.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The provider answered with an error status.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// The connection failed, was reset, or timed out before a full answer arrived.
    #[error("transport error talking to {provider}: {message}")]
    Transport {
        /// The provider being called.
        provider: Provider,
        /// What went wrong, without any credentials.
        message: String,
        /// Whether the failure was a timeout.
        timeout: bool,
    },
    /// The provider answered 2xx but the body could not be understood.
    #[error("invalid response from {provider}: {message}")]
    InvalidResponse {
        /// The provider being called.
        provider: Provider,
        /// What was wrong with it.
        message: String,
    },
    /// A streamed response broke: a malformed event, an error event or a cut connection.
    #[error("stream error: {0}")]
    Stream(String),
    /// The request costs more than the bucket can ever hold, so it can never be admitted.
    #[error("request can never be admitted: it needs {needed} {dimension} but the limit is {capacity}; reduce max_tokens or the prompt")]
    NeverFits {
        /// Which limit (`requests`, `tokens`, `input tokens`, `output tokens`).
        dimension: &'static str,
        /// What the request needs.
        needed: u64,
        /// The size of the bucket.
        capacity: u64,
    },
    /// OpenRouter reports that the key has no credit left; requests would only get 402.
    #[error("OpenRouter credits exhausted: {remaining} remaining on this key")]
    CreditsExhausted {
        /// Credits (USD) left, as reported by `GET /key`.
        remaining: f64,
    },
    /// Every attempt failed; `last` is the final error.
    #[error("gave up after {attempts} attempts; last error: {last}")]
    RetriesExhausted {
        /// How many attempts were made.
        attempts: u32,
        /// The error of the final attempt.
        last: Box<Error>,
    },
    /// The limits would hold the request longer than allowed (a daily cap with
    /// [`LongWait::Fail`](crate::LongWait::Fail)); it was not sent.
    #[error("not sent: the limits of {model} would hold it for {:.0} s (long_wait is Fail)", wait.as_secs_f64())]
    WaitTooLong {
        /// The model whose limits bind.
        model: String,
        /// How long the request would have waited.
        wait: Duration,
    },
    /// A price table could not be read; the message names the entry or field at fault.
    #[error("invalid price table: {0}")]
    PriceTable(String),
    /// The spending limit ([`Budget`](crate::Budget)) cannot cover this request's worst-case
    /// cost; it was not sent, and no later request is (rerun with a larger budget).
    #[error("not sent: the budget of ${limit_usd:.4} cannot cover it (spent ${spent_usd:.4}, worst case of this request ${needed_usd:.4})")]
    BudgetExhausted {
        /// The budget, USD.
        limit_usd: f64,
        /// Spent (settled) so far, USD.
        spent_usd: f64,
        /// This request's worst-case cost, USD.
        needed_usd: f64,
    },
    /// The item was not started because the batch stopped early.
    #[error("cancelled: the batch stopped before this item was started")]
    Cancelled,
    /// The shared (Redis) limit store failed and the policy is to fail.
    #[error("limit store error: {0}")]
    Store(String),
    /// The response cache's store failed (opening it, or `stats`/`prune`). A lookup or write
    /// that fails during a call is logged and the call goes on without the cache.
    #[error("cache error: {0}")]
    Cache(String),
}

/// The details of an error status returned by a provider.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ApiError {
    /// The provider that answered.
    pub provider: Provider,
    /// HTTP status code.
    pub status: u16,
    /// Provider error type (`rate_limit_error`, `insufficient_quota`, `invalid_request_error`, ...).
    pub error_type: Option<String>,
    /// Provider error code (`rate_limit_exceeded`, `insufficient_quota`, ...), when given.
    pub code: Option<String>,
    /// The provider's message, with any API key removed.
    pub message: String,
    /// The request id (`x-request-id`, `request-id` or `X-Generation-Id`).
    pub request_id: Option<String>,
    /// The server's retry hint, when it gave one.
    pub retry_after: Option<Duration>,
    /// Whether this error is worth retrying (rate limits, overload, 5xx), per
    /// docs/providers.md §5.
    pub retryable: bool,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} API error {}", self.provider, self.status)?;
        if let Some(t) = &self.error_type {
            write!(f, " ({t}")?;
            if let Some(c) = &self.code {
                write!(f, "/{c}")?;
            }
            write!(f, ")")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        if let Some(ra) = self.retry_after {
            write!(f, " [retry after {:.3}s]", ra.as_secs_f64())?;
        }
        Ok(())
    }
}

impl Error {
    /// The HTTP status, when the error came from a provider answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::RetriesExhausted { last, .. } => last.status(),
            _ => None,
        }
    }

    /// The provider's error details, when the error came from a provider answer.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            Error::RetriesExhausted { last, .. } => last.api_error(),
            _ => None,
        }
    }

    /// Whether retrying the same request later could succeed: a provider error classed as
    /// retryable (rate limits, overload, 5xx), a failed connection, or a 2xx answer that could
    /// not be read (a proxy's garbage, a cut body). This is the one rule the request loop and
    /// the batch follow.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(e) => e.retryable,
            Error::Transport { .. } | Error::InvalidResponse { .. } => true,
            _ => false,
        }
    }

    /// Whether the error is a rate-limit rejection (429 that is not a quota or billing error).
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, Error::Api(e) if e.status == 429 && e.retryable)
    }
}

/// Removes `secret` from `text` in every form a server could echo it: exact, in any letter
/// case, base64 or base64url (at any alignment, padded or not), URL-encoded, and any run of
/// [`crate::secret::MIN_RUN`] or more consecutive characters of any of these.
///
/// Provider error messages and transport errors can echo what was sent; this keeps keys out of
/// everything the crate stores or prints. Secrets shorter than 4 bytes are ignored.
pub(crate) fn redact(text: &str, secret: &str) -> String {
    crate::secret::redact_forms(text, secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_removes_key() {
        assert_eq!(redact("bad key sk-abcdef here", "sk-abcdef"), "bad key [REDACTED] here");
        assert_eq!(redact("nothing", "sk-abcdef"), "nothing");
        assert_eq!(redact("x SK-ABCDEF y", "sk-abcdef"), "x [REDACTED] y");
    }

    #[test]
    fn retries_exhausted_exposes_last_status() {
        let api = ApiError {
            provider: Provider::OpenAI,
            status: 503,
            error_type: None,
            code: None,
            message: "overloaded".into(),
            request_id: Some("req_1".into()),
            retry_after: None,
            retryable: true,
        };
        let e = Error::RetriesExhausted { attempts: 3, last: Box::new(Error::Api(Box::new(api))) };
        assert_eq!(e.status(), Some(503));
        assert!(e.to_string().contains("gave up after 3 attempts"));
        assert!(e.to_string().contains("req_1"));
    }
}
