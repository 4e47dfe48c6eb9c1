//! [`Config`]: every setting of a [`ChatLimiter`](crate::ChatLimiter), with its one default.
//!
//! The builder only sets these fields and [`ChatLimiter::config`](crate::ChatLimiter::config)
//! returns the whole of it, resolved. Each default is written once, in `Default`, and every
//! doc, the CLI's `--help` and the README read it from there.

use std::time::Duration;

use crate::error::Error;
use crate::openai_api::OpenAiApi;
use crate::provider_id::Provider;

/// Longest timeout or backoff accepted: anything above is surely a unit mistake.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(3600);

/// What a request does when the server asks it to wait longer than
/// [`max_backoff`](Config::max_backoff) (a daily cap, a long `retry-after`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LongWait {
    /// Pause the model's queue until the time the server gave (at most two days), say so once
    /// on the logging facade, then go on: nothing fails that can simply wait.
    #[default]
    Wait,
    /// Fail at once with the server's error, so the caller can stop and come back later
    /// (its `retry_after` says when).
    Fail,
}

/// Every setting of a [`ChatLimiter`](crate::ChatLimiter).
///
/// Built by [`ChatLimiterBuilder`](crate::ChatLimiterBuilder), whose setters carry the same
/// names as the getters here; read back, resolved, with
/// [`ChatLimiter::config`](crate::ChatLimiter::config). `None` means "decide at build time":
/// the provider from the model name, the base URL from the provider, a limit from the
/// provider's response headers.
///
/// ```
/// use chat_limiter::{ChatLimiter, Config, Provider};
/// use std::time::Duration;
/// let defaults = Config::default();
/// assert_eq!(defaults.max_retries(), 5);
/// assert_eq!(defaults.request_window(), Duration::from_secs(60));
///
/// let limiter = ChatLimiter::builder()
///     .model("gpt-4o")
///     .api_key("sk-test")
///     .request_limit(500)
///     .build()?;
/// let config = limiter.config();
/// assert_eq!(config.provider(), Some(Provider::OpenAI));
/// assert_eq!(config.base_url(), Some("https://api.openai.com/v1"));
/// assert_eq!(config.request_limit(), Some(500));
/// // The same settings for another key: start a builder from them.
/// let twin = ChatLimiter::builder().config(config.clone()).api_key("sk-other").build()?;
/// assert_eq!(twin.config().request_limit(), Some(500));
/// # Ok::<_, chat_limiter::Error>(())
/// ```
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct Config {
    pub(crate) provider: Option<Provider>,
    pub(crate) base_url: Option<String>,
    pub(crate) request_limit: Option<u32>,
    pub(crate) token_limit: Option<u32>,
    pub(crate) input_token_limit: Option<u32>,
    pub(crate) output_token_limit: Option<u32>,
    pub(crate) request_window: Duration,
    pub(crate) token_window: Duration,
    pub(crate) request_buffer_ratio: f64,
    pub(crate) token_buffer_ratio: f64,
    pub(crate) max_retries: u32,
    pub(crate) base_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) long_wait: LongWait,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) max_in_flight: u32,
    pub(crate) default_max_tokens: u32,
    pub(crate) learn_limits: bool,
    pub(crate) check_credits: bool,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) openai_api: OpenAiApi,
    pub(crate) responses_models: Vec<String>,
    pub(crate) max_cost: Option<f64>,
}

// By hand: extra headers may carry credentials (a proxy's key), so only their names show.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Config")
            .field("provider", &self.provider)
            .field("base_url", &self.base_url)
            .field("request_limit", &self.request_limit)
            .field("token_limit", &self.token_limit)
            .field("input_token_limit", &self.input_token_limit)
            .field("output_token_limit", &self.output_token_limit)
            .field("request_window", &self.request_window)
            .field("token_window", &self.token_window)
            .field("request_buffer_ratio", &self.request_buffer_ratio)
            .field("token_buffer_ratio", &self.token_buffer_ratio)
            .field("max_retries", &self.max_retries)
            .field("base_backoff", &self.base_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("long_wait", &self.long_wait)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_in_flight", &self.max_in_flight)
            .field("default_max_tokens", &self.default_max_tokens)
            .field("learn_limits", &self.learn_limits)
            .field("check_credits", &self.check_credits)
            .field("header_names", &header_names)
            .field("openai_api", &self.openai_api)
            .field("responses_models", &self.responses_models)
            .field("max_cost", &self.max_cost)
            .finish()
    }
}

impl Default for Config {
    /// The defaults: provider and base URL decided at build time, limits learned from the
    /// provider's headers over one-minute windows, 5 retries with backoff from 0.5 s to 60 s,
    /// waiting out longer server hints (a daily cap) by pausing the queue, a 600 s attempt timeout and 10 s to connect, at most 4,096 requests in flight per model (a batch's default ceiling),
    /// 1024 output tokens assumed when a request sets none, OpenRouter credit checks on, no
    /// spending limit.
    fn default() -> Self {
        Config {
            provider: None,
            base_url: None,
            request_limit: None,
            token_limit: None,
            input_token_limit: None,
            output_token_limit: None,
            request_window: Duration::from_secs(60),
            token_window: Duration::from_secs(60),
            request_buffer_ratio: 1.0,
            token_buffer_ratio: 1.0,
            max_retries: 5,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            long_wait: LongWait::Wait,
            timeout: Duration::from_secs(600),
            connect_timeout: Duration::from_secs(10),
            max_in_flight: 4096,
            default_max_tokens: 1024,
            learn_limits: true,
            check_credits: true,
            headers: Vec::new(),
            openai_api: OpenAiApi::ChatCompletions,
            responses_models: Vec::new(),
            max_cost: None,
        }
    }
}

impl Config {
    /// The provider; `None` before build means "detect it from the model name".
    pub fn provider(&self) -> Option<Provider> {
        self.provider
    }
    /// The API base URL; `None` before build means "the provider's public one".
    pub fn base_url(&self) -> Option<&str> {
        self.base_url.as_deref()
    }
    /// Requests per [`request_window`](Self::request_window); `None`: learned from headers.
    pub fn request_limit(&self) -> Option<u32> {
        self.request_limit
    }
    /// Tokens per [`token_window`](Self::token_window) (OpenAI, OpenRouter); `None`: learned.
    pub fn token_limit(&self) -> Option<u32> {
        self.token_limit
    }
    /// Anthropic input tokens per [`token_window`](Self::token_window); `None`: learned.
    pub fn input_token_limit(&self) -> Option<u32> {
        self.input_token_limit
    }
    /// Anthropic output tokens per [`token_window`](Self::token_window); `None`: learned.
    pub fn output_token_limit(&self) -> Option<u32> {
        self.output_token_limit
    }
    /// The window [`request_limit`](Self::request_limit) is counted over (a minute, or a day
    /// for a per-day limit).
    pub fn request_window(&self) -> Duration {
        self.request_window
    }
    /// The window the token limits are counted over.
    pub fn token_window(&self) -> Duration {
        self.token_window
    }
    /// Fraction of the request limit to use, in (0, 1].
    pub fn request_buffer_ratio(&self) -> f64 {
        self.request_buffer_ratio
    }
    /// Fraction of the token limits to use, in (0, 1].
    pub fn token_buffer_ratio(&self) -> f64 {
        self.token_buffer_ratio
    }
    /// Retries after a request's first attempt.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }
    /// First backoff delay; it doubles each retry.
    pub fn base_backoff(&self) -> Duration {
        self.base_backoff
    }
    /// Longest backoff delay of our own; longer server hints follow
    /// [`long_wait`](Self::long_wait).
    pub fn max_backoff(&self) -> Duration {
        self.max_backoff
    }
    /// What a request does when the server asks for a wait longer than `max_backoff`.
    pub fn long_wait(&self) -> LongWait {
        self.long_wait
    }
    /// Time limit of one attempt (connect, send and the whole answer); between chunks for a
    /// stream.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
    /// Time limit for connecting.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }
    /// Most requests in flight per model at once, whatever the rate.
    pub fn max_in_flight(&self) -> u32 {
        self.max_in_flight
    }
    /// `max_tokens` assumed when a request sets none: sent to Anthropic (which requires it)
    /// and reserved against output limits.
    pub fn default_max_tokens(&self) -> u32 {
        self.default_max_tokens
    }
    /// With no limits configured, hold requests behind a first one until its headers tell the
    /// limits.
    pub fn learn_limits(&self) -> bool {
        self.learn_limits
    }
    /// OpenRouter: check the key's credit with `GET /key` and fail fast when it is spent.
    pub fn check_credits(&self) -> bool {
        self.check_credits
    }
    /// Extra headers sent with every request (name, value).
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }
    /// OpenAI: the API chat requests go to unless the request or
    /// [`responses_models`](Self::responses_models) says otherwise (see [`OpenAiApi`]).
    pub fn openai_api(&self) -> OpenAiApi {
        self.openai_api
    }
    /// OpenAI: models whose requests go to the Responses API whatever
    /// [`openai_api`](Self::openai_api) says; an entry ending in `*` is a prefix
    /// (`o3-pro*`), any other an exact name, both ignoring ASCII case.
    pub fn responses_models(&self) -> &[String] {
        &self.responses_models
    }
    /// A hard spending limit in USD for this limiter (a [`Budget`](crate::Budget) of its
    /// own); unset: no limit.
    pub fn max_cost(&self) -> Option<f64> {
        self.max_cost
    }

    /// Checks every field; the error names the setting that is wrong.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        for (name, r) in [
            ("request_buffer_ratio", self.request_buffer_ratio),
            ("token_buffer_ratio", self.token_buffer_ratio),
        ] {
            if !(r > 0.0 && r <= 1.0) {
                return Err(Error::Config(format!("{name} must be in (0, 1], got {r}")));
            }
        }
        for (name, v) in [
            ("request_limit", self.request_limit),
            ("token_limit", self.token_limit),
            ("input_token_limit", self.input_token_limit),
            ("output_token_limit", self.output_token_limit),
        ] {
            if v == Some(0) {
                return Err(Error::Config(format!(
                    "{name} must be at least 1 (or unset to learn it)"
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
        for (name, d) in [
            ("timeout", self.timeout),
            ("connect_timeout", self.connect_timeout),
            ("max_backoff", self.max_backoff),
        ] {
            check_duration(name, d)?;
        }
        if self.base_backoff.is_zero() || self.base_backoff > self.max_backoff {
            return Err(Error::Config(format!(
                "base_backoff must be > 0 and <= max_backoff ({:?}), got {:?}",
                self.max_backoff, self.base_backoff
            )));
        }
        check_range("max_in_flight", self.max_in_flight, 1, 100_000)?;
        check_range("default_max_tokens", self.default_max_tokens, 1, 10_000_000)?;
        for (name, _) in &self.headers {
            if name.is_empty()
                || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(Error::Config(format!("invalid header name {name:?}")));
            }
        }
        let responses =
            self.openai_api == OpenAiApi::Responses || !self.responses_models.is_empty();
        if responses && self.provider.is_some_and(|p| p != Provider::OpenAI) {
            return Err(Error::Config(format!(
                "openai_api/responses_models: only OpenAI serves the Responses API here, not {}",
                self.provider.map(|p| p.to_string()).unwrap_or_default()
            )));
        }
        if let Some(url) = &self.base_url {
            let lower = url.trim().to_ascii_lowercase();
            if !(lower.starts_with("http://") || lower.starts_with("https://")) {
                return Err(Error::Config(format!(
                    "base_url must start with http:// or https://, got {url:?}"
                )));
            }
        }
        Ok(())
    }
}

/// A duration setting: more than zero, at most [`MAX_DURATION`].
pub(crate) fn check_duration(name: &str, d: Duration) -> Result<(), Error> {
    if d.is_zero() || d > MAX_DURATION {
        return Err(Error::Config(format!("{name} must be between 1 ns and 1 hour, got {d:?}")));
    }
    Ok(())
}

/// A count setting within `lo..=hi`.
pub(crate) fn check_range(name: &str, n: u32, lo: u32, hi: u32) -> Result<(), Error> {
    if !(lo..=hi).contains(&n) {
        return Err(Error::Config(format!("{name} must be in {lo}..={hi}, got {n}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_setting() {
        let ok = Config::default();
        assert!(ok.validate().is_ok());
        let cases: Vec<(&str, Config)> = vec![
            ("token_buffer_ratio", Config { token_buffer_ratio: 0.0, ..Config::default() }),
            ("token_buffer_ratio", Config { token_buffer_ratio: f64::NAN, ..Config::default() }),
            ("request_limit", Config { request_limit: Some(0), ..Config::default() }),
            ("base_url", Config { base_url: Some("ftp://x".into()), ..Config::default() }),
            ("timeout", Config { timeout: Duration::ZERO, ..Config::default() }),
            ("max_in_flight", Config { max_in_flight: 0, ..Config::default() }),
            ("header", Config { headers: vec![("a b".into(), "v".into())], ..Config::default() }),
        ];
        for (name, c) in cases {
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(name), "{name}: {e}");
        }
    }
}
