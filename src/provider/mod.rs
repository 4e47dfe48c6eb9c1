//! Providers: which one a model belongs to, where it lives, and its default configuration.
//!
//! Each provider's wire format (request body, response, errors, rate-limit headers) lives in its
//! own file; this module holds what is common: detection from the model name (providers.md §4),
//! the environment variable for the key, and [`ProviderConfig`].

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Error;

pub(crate) mod anthropic;
mod api_error;
mod json;
pub(crate) mod openai;
pub(crate) mod openrouter;
pub(crate) mod sse;
pub(crate) mod wire;

/// A chat API provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Provider {
    /// OpenAI Chat Completions.
    OpenAI,
    /// Anthropic Messages.
    Anthropic,
    /// OpenRouter (OpenAI-compatible, many vendors).
    OpenRouter,
}

impl Provider {
    /// All providers.
    pub const ALL: [Provider; 3] = [Provider::OpenAI, Provider::Anthropic, Provider::OpenRouter];

    /// Detects the provider from a model name, or `None` when it cannot be told.
    ///
    /// `vendor/model` ids are OpenRouter's; `claude-*` is Anthropic; `gpt-*`, `o1`/`o3`/`o4*`,
    /// `chatgpt-*` and the other OpenAI families are OpenAI (providers.md §4).
    ///
    /// ```
    /// use chat_limiter::Provider;
    /// assert_eq!(Provider::detect("gpt-4o"), Some(Provider::OpenAI));
    /// assert_eq!(Provider::detect("claude-3-5-sonnet-20241022"), Some(Provider::Anthropic));
    /// assert_eq!(Provider::detect("meta-llama/llama-3.2-3b-instruct:free"), Some(Provider::OpenRouter));
    /// assert_eq!(Provider::detect("my-model"), None);
    /// ```
    pub fn detect(model: &str) -> Option<Provider> {
        let m = model.trim();
        if m.is_empty() || m.chars().any(char::is_whitespace) {
            return None;
        }
        if m.contains('/') {
            let (vendor, rest) = m.split_once('/')?;
            return (!vendor.is_empty() && !rest.is_empty()).then_some(Provider::OpenRouter);
        }
        let lower = m.to_ascii_lowercase();
        if lower.starts_with("claude-") {
            return Some(Provider::Anthropic);
        }
        let openai_prefixes = [
            "gpt-",
            "chatgpt-",
            "codex-",
            "ft:",
            "text-embedding-",
            "omni-moderation",
            "davinci-",
            "babbage-",
            "computer-use-preview",
        ];
        let o_series =
            lower.len() >= 2 && lower.as_bytes()[0] == b'o' && lower.as_bytes()[1].is_ascii_digit();
        if o_series || openai_prefixes.iter().any(|p| lower.starts_with(p)) {
            return Some(Provider::OpenAI);
        }
        None
    }

    /// The environment variable that holds this provider's API key.
    pub fn env_var(self) -> &'static str {
        match self {
            Provider::OpenAI => "OPENAI_API_KEY",
            Provider::Anthropic => "ANTHROPIC_API_KEY",
            Provider::OpenRouter => "OPENROUTER_API_KEY",
        }
    }

    /// The provider's public API base URL (paths such as `/chat/completions` are appended).
    pub fn default_base_url(self) -> &'static str {
        match self {
            Provider::OpenAI => "https://api.openai.com/v1",
            Provider::Anthropic => "https://api.anthropic.com/v1",
            Provider::OpenRouter => "https://openrouter.ai/api/v1",
        }
    }

    /// The lower-case name (`openai`, `anthropic`, `openrouter`).
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::OpenAI => "openai",
            Provider::Anthropic => "anthropic",
            Provider::OpenRouter => "openrouter",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Provider::OpenAI => "OpenAI",
            Provider::Anthropic => "Anthropic",
            Provider::OpenRouter => "OpenRouter",
        })
    }
}

impl FromStr for Provider {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "openai" => Ok(Provider::OpenAI),
            "anthropic" => Ok(Provider::Anthropic),
            "openrouter" => Ok(Provider::OpenRouter),
            other => Err(Error::Config(format!(
                "unknown provider {other:?}: expected openai, anthropic or openrouter"
            ))),
        }
    }
}

/// Per-provider settings, with the seed library's fields.
///
/// Limits left at `None` are discovered from the provider's response headers (a cold start lets
/// one request through, learns the limits, then opens the gate).
///
/// ```
/// use chat_limiter::{Provider, ProviderConfig};
/// let mut cfg = ProviderConfig::new(Provider::OpenAI);
/// cfg.default_request_limit = Some(100);
/// cfg.default_token_limit = Some(50_000);
/// cfg.request_buffer_ratio = 0.8; // use 80% of the limit
/// assert_eq!(cfg.base_url, "https://api.openai.com/v1");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ProviderConfig {
    /// Which provider.
    pub provider: Provider,
    /// Base URL; the chat path (`/chat/completions` or `/messages`) is appended.
    pub base_url: String,
    /// Requests per minute, when known in advance.
    pub default_request_limit: Option<u32>,
    /// Tokens per minute (OpenAI, OpenRouter), when known in advance.
    pub default_token_limit: Option<u32>,
    /// Anthropic input tokens per minute, when known in advance.
    pub default_input_token_limit: Option<u32>,
    /// Anthropic output tokens per minute, when known in advance.
    pub default_output_token_limit: Option<u32>,
    /// The window `default_request_limit` is counted over: a minute (default), or a day for a
    /// per-day limit such as a free tier's 200 requests per day.
    pub request_window: Duration,
    /// The window the token limits are counted over (default a minute).
    pub token_window: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff delay; doubles each retry.
    pub base_backoff: Duration,
    /// Longest backoff delay, and the cap on server retry hints.
    pub max_backoff: Duration,
    /// Fraction of the request limit to use, in (0, 1].
    pub request_buffer_ratio: f64,
    /// Fraction of the token limits to use, in (0, 1].
    pub token_buffer_ratio: f64,
}

impl ProviderConfig {
    /// The defaults for `provider`: its public base URL, limits discovered from headers,
    /// 5 retries, backoff from 0.5 s to 60 s, full use of the limits.
    pub fn new(provider: Provider) -> Self {
        ProviderConfig {
            provider,
            base_url: provider.default_base_url().to_string(),
            default_request_limit: None,
            default_token_limit: None,
            default_input_token_limit: None,
            default_output_token_limit: None,
            request_window: Duration::from_secs(60),
            token_window: Duration::from_secs(60),
            max_retries: 5,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            request_buffer_ratio: 1.0,
            token_buffer_ratio: 1.0,
        }
    }

    /// Checks every field; the error names the one that is wrong.
    pub fn validate(&self) -> Result<(), Error> {
        for (name, r) in [
            ("request_buffer_ratio", self.request_buffer_ratio),
            ("token_buffer_ratio", self.token_buffer_ratio),
        ] {
            if !(r > 0.0 && r <= 1.0) {
                return Err(Error::Config(format!("{name} must be in (0, 1], got {r}")));
            }
        }
        for (name, v) in [
            ("default_request_limit", self.default_request_limit),
            ("default_token_limit", self.default_token_limit),
            ("default_input_token_limit", self.default_input_token_limit),
            ("default_output_token_limit", self.default_output_token_limit),
        ] {
            if v == Some(0) {
                return Err(Error::Config(format!(
                    "{name} must be at least 1 (or unset to discover it)"
                )));
            }
        }
        for (name, w) in
            [("request_window", self.request_window), ("token_window", self.token_window)]
        {
            if w < Duration::from_millis(100) || w > Duration::from_secs(31 * 86_400) {
                return Err(Error::Config(format!(
                    "{name} must be between 100 ms and 31 days, got {w:?}"
                )));
            }
        }
        if self.max_retries > 100 {
            return Err(Error::Config(format!(
                "max_retries must be at most 100, got {}",
                self.max_retries
            )));
        }
        if self.base_backoff.is_zero() || self.base_backoff > self.max_backoff {
            return Err(Error::Config(format!(
                "base_backoff must be > 0 and <= max_backoff ({:?}), got {:?}",
                self.max_backoff, self.base_backoff
            )));
        }
        if self.max_backoff > Duration::from_secs(3600) {
            return Err(Error::Config(format!(
                "max_backoff must be at most 1 hour, got {:?}",
                self.max_backoff
            )));
        }
        let url = self.base_url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(Error::Config(format!(
                "base_url must start with http:// or https://, got {url:?}"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_follows_spec_order() {
        for m in [
            "gpt-4o",
            "gpt-4.1",
            "o1",
            "o3-mini",
            "o4-mini",
            "chatgpt-4o-latest",
            "ft:gpt-4o-mini:org::x",
        ] {
            assert_eq!(Provider::detect(m), Some(Provider::OpenAI), "{m}");
        }
        for m in ["claude-3-5-sonnet-20241022", "claude-sonnet-4-5", "Claude-opus-4-1"] {
            assert_eq!(Provider::detect(m), Some(Provider::Anthropic), "{m}");
        }
        for m in ["openai/gpt-4o", "anthropic/claude-sonnet-4.5", "openrouter/auto", "x/y:free"] {
            assert_eq!(Provider::detect(m), Some(Provider::OpenRouter), "{m}");
        }
        for m in ["", "llama-3", "omni", "o", "/x", "x/", "gpt 4", "ollama"] {
            assert_eq!(Provider::detect(m), None, "{m}");
        }
    }

    #[test]
    fn config_validation_names_the_field() {
        let mut c = ProviderConfig::new(Provider::Anthropic);
        assert!(c.validate().is_ok());
        c.token_buffer_ratio = 0.0;
        assert!(c.validate().unwrap_err().to_string().contains("token_buffer_ratio"));
        c.token_buffer_ratio = f64::NAN;
        assert!(c.validate().is_err());
        c.token_buffer_ratio = 1.0;
        c.default_request_limit = Some(0);
        assert!(c.validate().unwrap_err().to_string().contains("default_request_limit"));
        c.default_request_limit = None;
        c.base_url = "ftp://x".into();
        assert!(c.validate().unwrap_err().to_string().contains("base_url"));
    }

    #[test]
    fn provider_parses_case_insensitively() {
        assert_eq!("OpenRouter".parse::<Provider>().unwrap(), Provider::OpenRouter);
        assert!("azure".parse::<Provider>().is_err());
    }
}
