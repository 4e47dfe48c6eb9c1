//! [`ChatLimiterBuilder`]: every setting of a [`ChatLimiter`], validated in one place.

use std::sync::Arc;
use std::time::Duration;

use crate::client::{ChatLimiter, Inner};
use crate::error::{Error, Result};
use crate::limit::clock::{Clock, SystemClock};
use crate::limit::limiter::Limiter;
use crate::limit::model::LimitConfig;
use crate::provider::{Provider, ProviderConfig};
use crate::retry::Backoff;
use crate::secret::ApiKey;
use crate::tokens::{CharEstimator, TokenCounter};

mod base_url;
#[cfg(feature = "redis")]
mod redis;

use base_url::{is_loopback, plain_http_warning};

/// Longest timeout or backoff accepted: anything above is surely a unit mistake.
const MAX_DURATION: Duration = Duration::from_secs(3600);

/// Builds a [`ChatLimiter`]. Every setter is optional; [`build`](Self::build) validates.
///
/// ```
/// use chat_limiter::{ChatLimiter, Provider};
/// use std::time::Duration;
/// let limiter = ChatLimiter::builder()
///     .model("my-finetune")
///     .provider(Provider::OpenAI)          // the name says nothing: override
///     .api_key("sk-test")
///     .base_url("http://127.0.0.1:9/v1")
///     .request_limit(500)
///     .token_limit(30_000)
///     .max_retries(3)
///     .timeout(Duration::from_secs(30))
///     .build()?;
/// assert_eq!(limiter.provider(), Provider::OpenAI);
/// # Ok::<_, chat_limiter::Error>(())
/// ```
#[derive(Default)]
#[must_use]
pub struct ChatLimiterBuilder {
    model: Option<String>,
    provider: Option<Provider>,
    api_key: Option<ApiKey>,
    config: Option<ProviderConfig>,
    base_url: Option<String>,
    limits: [Option<u32>; 4],
    windows: [Option<Duration>; 2],
    request_buffer_ratio: Option<f64>,
    token_buffer_ratio: Option<f64>,
    max_retries: Option<u32>,
    base_backoff: Option<Duration>,
    max_backoff: Option<Duration>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    max_in_flight: Option<u32>,
    default_max_tokens: Option<u32>,
    learn_limits: Option<bool>,
    check_credits: Option<bool>,
    agent: Option<ureq::Agent>,
    clock: Option<Arc<dyn Clock>>,
    token_counter: Option<Arc<dyn TokenCounter>>,
    headers: Vec<(String, String)>,
    #[cfg(feature = "redis")]
    redis: redis::RedisOptions,
}

impl std::fmt::Debug for ChatLimiterBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatLimiterBuilder")
            .field("model", &self.model)
            .field("provider", &self.provider)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl ChatLimiterBuilder {
    /// The default model (used by [`ChatLimiter::simple_chat`] callers and for detection).
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }
    /// Overrides provider detection (needed for model names that do not tell).
    pub fn provider(mut self, provider: Provider) -> Self {
        self.provider = Some(provider);
        self
    }
    /// The API key; without it the provider's environment variable is read.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(ApiKey::new(key));
        self
    }
    /// A whole provider configuration; individual setters below override its fields.
    pub fn config(mut self, config: ProviderConfig) -> Self {
        self.config = Some(config);
        self
    }
    /// The API base URL (e.g. a proxy, or the emulator's `base_url()`).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }
    /// Requests per minute. Unset: learned from the provider's headers.
    pub fn request_limit(mut self, rpm: u32) -> Self {
        self.limits[0] = Some(rpm);
        self
    }
    /// Requests per `window` (e.g. a day, for a per-day limit). Unset: learned from headers.
    pub fn request_limit_per(mut self, n: u32, window: Duration) -> Self {
        self.limits[0] = Some(n);
        self.windows[0] = Some(window);
        self
    }
    /// Tokens per `window`, for every token limit (e.g. a day). Unset: learned from headers.
    pub fn token_limit_per(mut self, n: u32, window: Duration) -> Self {
        self.limits[1] = Some(n);
        self.windows[1] = Some(window);
        self
    }
    /// Tokens per minute (OpenAI, OpenRouter). Unset: learned from headers.
    pub fn token_limit(mut self, tpm: u32) -> Self {
        self.limits[1] = Some(tpm);
        self
    }
    /// Anthropic input tokens per minute. Unset: learned from headers.
    pub fn input_token_limit(mut self, itpm: u32) -> Self {
        self.limits[2] = Some(itpm);
        self
    }
    /// Anthropic output tokens per minute. Unset: learned from headers.
    pub fn output_token_limit(mut self, otpm: u32) -> Self {
        self.limits[3] = Some(otpm);
        self
    }
    /// Fraction of the request limit to use, in (0, 1]. Default 1.
    pub fn request_buffer_ratio(mut self, ratio: f64) -> Self {
        self.request_buffer_ratio = Some(ratio);
        self
    }
    /// Fraction of the token limits to use, in (0, 1]. Default 1.
    pub fn token_buffer_ratio(mut self, ratio: f64) -> Self {
        self.token_buffer_ratio = Some(ratio);
        self
    }
    /// Retries after the first attempt. Default 5.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = Some(n);
        self
    }
    /// First backoff delay (doubles each retry). Default 0.5 s.
    pub fn base_backoff(mut self, d: Duration) -> Self {
        self.base_backoff = Some(d);
        self
    }
    /// Longest backoff, and the longest server retry hint honoured. Default 60 s.
    pub fn max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = Some(d);
        self
    }
    /// Time limit for one attempt (connect, send, and the whole answer). Default 600 s.
    /// For streams it applies between chunks instead.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }
    /// Time limit for connecting. Default 10 s.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = Some(d);
        self
    }
    /// Most requests in flight per model at once, whatever the rate. Default 512.
    pub fn max_in_flight(mut self, n: u32) -> Self {
        self.max_in_flight = Some(n);
        self
    }
    /// `max_tokens` assumed when a request sets none: sent to Anthropic (which requires it)
    /// and reserved against output limits. Default 1024.
    pub fn default_max_tokens(mut self, n: u32) -> Self {
        self.default_max_tokens = Some(n);
        self
    }
    /// With no limits configured, hold requests behind a first one until its headers tell the
    /// limits (default true; OpenRouter sends none, so it never waits).
    pub fn learn_limits(mut self, on: bool) -> Self {
        self.learn_limits = Some(on);
        self
    }
    /// OpenRouter: check the key's credit with `GET /key` and fail fast when it is spent.
    /// Default true.
    pub fn check_credits(mut self, on: bool) -> Self {
        self.check_credits = Some(on);
        self
    }
    /// A custom `ureq::Agent` (TLS, proxy, pool settings). The limiter still sets, per request,
    /// no redirects (so the key never follows one) and non-2xx as answers, not errors.
    pub fn agent(mut self, agent: ureq::Agent) -> Self {
        self.agent = Some(agent);
        self
    }
    /// The clock the limiter uses (tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }
    /// The prompt-token counter. Default [`CharEstimator`].
    pub fn token_counter(mut self, counter: Arc<dyn TokenCounter>) -> Self {
        self.token_counter = Some(counter);
        self
    }
    /// An extra header on every request, e.g. OpenRouter's `HTTP-Referer` or `X-Title`.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Validates everything and builds the limiter.
    ///
    /// Errors: [`Error::UnknownModel`] when the provider cannot be told, [`Error::MissingApiKey`]
    /// when no key is given or set, [`Error::Config`] naming any out-of-range value.
    pub fn build(self) -> Result<ChatLimiter> {
        let provider = self.resolve_provider()?;
        let key = match self.api_key.clone() {
            Some(k) => k,
            None => ApiKey::new(std::env::var(provider.env_var()).unwrap_or_default()),
        };
        if key.is_empty() {
            return Err(Error::MissingApiKey { provider, var: provider.env_var() });
        }
        if key.expose().chars().any(|c| c.is_control() || c == ' ') {
            return Err(Error::Config("the API key contains spaces or control characters".into()));
        }
        let config = self.resolve_config(provider)?;
        let timeout = check_duration("timeout", self.timeout, Duration::from_secs(600))?;
        let connect =
            check_duration("connect_timeout", self.connect_timeout, Duration::from_secs(10))?;
        let max_in_flight = check_range("max_in_flight", self.max_in_flight, 512, 1, 100_000)?;
        let default_max_tokens =
            check_range("default_max_tokens", self.default_max_tokens, 1024, 1, 10_000_000)?;
        for (name, _) in &self.headers {
            if name.is_empty()
                || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(Error::Config(format!("invalid header name {name:?}")));
            }
        }
        if let Some(warning) = plain_http_warning(&config.base_url) {
            eprintln!("{warning}");
        }
        let learn = self.learn_limits.unwrap_or(true) && provider != Provider::OpenRouter;
        let limits = LimitConfig {
            requests: config.default_request_limit,
            tokens: config.default_token_limit,
            input: config.default_input_token_limit,
            output: config.default_output_token_limit,
            request_ratio: config.request_buffer_ratio,
            token_ratio: config.token_buffer_ratio,
            request_window: config.request_window,
            token_window: config.token_window,
            max_in_flight,
            learn_from_headers: learn,
        };
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let limiter = Limiter::new(limits, clock);
        #[cfg(feature = "redis")]
        let limiter = self.redis.apply(
            limiter,
            provider,
            &key,
            (config.request_buffer_ratio, config.token_buffer_ratio),
        )?;
        let agent = self.agent.unwrap_or_else(|| default_agent(&config.base_url, connect));
        Ok(ChatLimiter::from_inner(Inner {
            backoff: Backoff::new(config.base_backoff, config.max_backoff),
            limiter,
            provider,
            model: self.model,
            key,
            agent,
            timeout,
            counter: self.token_counter.unwrap_or_else(|| Arc::new(CharEstimator::default())),
            default_max_tokens,
            check_credits: self.check_credits.unwrap_or(true) && provider == Provider::OpenRouter,
            credits: Default::default(),
            credit_refresh: Default::default(),
            headers: self.headers,
            config,
        }))
    }

    fn resolve_provider(&self) -> Result<Provider> {
        let from_config = self.config.as_ref().map(|c| c.provider);
        match (self.provider, from_config) {
            (Some(p), Some(c)) if p != c => Err(Error::Config(format!(
                "provider override {p} contradicts the ProviderConfig's provider {c}"
            ))),
            (Some(p), _) | (None, Some(p)) => Ok(p),
            (None, None) => match &self.model {
                Some(m) => {
                    Provider::detect(m).ok_or_else(|| Error::UnknownModel { model: m.clone() })
                }
                None => Err(Error::Config("set a model or a provider".into())),
            },
        }
    }

    fn resolve_config(&self, provider: Provider) -> Result<ProviderConfig> {
        let mut c = self.config.clone().unwrap_or_else(|| ProviderConfig::new(provider));
        if let Some(u) = &self.base_url {
            c.base_url = u.trim().trim_end_matches('/').to_string();
        }
        let [r, t, i, o] = self.limits;
        c.default_request_limit = r.or(c.default_request_limit);
        c.default_token_limit = t.or(c.default_token_limit);
        c.default_input_token_limit = i.or(c.default_input_token_limit);
        c.default_output_token_limit = o.or(c.default_output_token_limit);
        c.request_window = self.windows[0].unwrap_or(c.request_window);
        c.token_window = self.windows[1].unwrap_or(c.token_window);
        c.request_buffer_ratio = self.request_buffer_ratio.unwrap_or(c.request_buffer_ratio);
        c.token_buffer_ratio = self.token_buffer_ratio.unwrap_or(c.token_buffer_ratio);
        c.max_retries = self.max_retries.unwrap_or(c.max_retries);
        c.base_backoff = self.base_backoff.unwrap_or(c.base_backoff);
        c.max_backoff = self.max_backoff.unwrap_or(c.max_backoff);
        c.validate()?;
        Ok(c)
    }
}

fn check_duration(name: &str, v: Option<Duration>, default: Duration) -> Result<Duration> {
    let d = v.unwrap_or(default);
    if d.is_zero() || d > MAX_DURATION {
        return Err(Error::Config(format!("{name} must be between 1 ns and 1 hour, got {d:?}")));
    }
    Ok(d)
}

fn check_range(name: &str, v: Option<u32>, default: u32, lo: u32, hi: u32) -> Result<u32> {
    let n = v.unwrap_or(default);
    if !(lo..=hi).contains(&n) {
        return Err(Error::Config(format!("{name} must be in {lo}..={hi}, got {n}")));
    }
    Ok(n)
}

/// The agent used when the caller brings none: connection reuse for many threads, no proxy for
/// loopback addresses (the emulator, tests), the environment's proxy otherwise.
fn default_agent(base_url: &str, connect: Duration) -> ureq::Agent {
    let mut cfg = ureq::Agent::config_builder()
        .timeout_connect(Some(connect))
        .max_idle_connections(1024)
        .max_idle_connections_per_host(1024)
        .user_agent(concat!("chat-limiter/", env!("CARGO_PKG_VERSION")));
    if is_loopback(base_url) {
        cfg = cfg.proxy(None);
    }
    cfg.build().into()
}
