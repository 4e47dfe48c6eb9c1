//! [`ChatLimiterBuilder`]: sets a [`Config`] and the parts that are not settings (key, agent,
//! clock, token counter), and validates everything in [`build`](ChatLimiterBuilder::build).

use std::sync::Arc;
use std::time::Duration;

use super::base_url::{is_loopback, plain_http_warning};
use super::ChatLimiter;
use crate::budget::{Budget, Spend};
use crate::cache::Cache;
use crate::config::{Config, LongWait};
use crate::error::{Error, Result};
use crate::limit::clock::{Clock, SystemClock};
use crate::limit::limiter::Limiter;
use crate::limit::model::LimitConfig;
use crate::pricing::PriceTable;
use crate::provider_id::Provider;
use crate::request::{Engine, EngineParts};
use crate::secret::ApiKey;
use crate::tokens::{CharEstimator, TokenCounter};
use crate::transport::{CallingThreadResolver, CoarseTimeouts, Transport, UreqTransport};

#[cfg(feature = "redis")]
mod redis;

/// Builds a [`ChatLimiter`]. Every setter is optional and named like the [`Config`] getter it
/// sets; [`build`](Self::build) validates. Defaults are [`Config::default`]'s.
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
/// assert_eq!(limiter.config().max_retries(), 3);
/// # Ok::<_, chat_limiter::Error>(())
/// ```
#[derive(Default)]
#[must_use]
pub struct ChatLimiterBuilder {
    config: Config,
    model: Option<String>,
    api_key: Option<ApiKey>,
    agent: Option<ureq::Agent>,
    transport: Option<Box<dyn Transport>>,
    clock: Option<Arc<dyn Clock>>,
    token_counter: Option<Arc<dyn TokenCounter>>,
    cache: Option<Cache>,
    price_table: Option<PriceTable>,
    budget: Option<Budget>,
    #[cfg(feature = "redis")]
    redis: redis::RedisOptions,
}

impl std::fmt::Debug for ChatLimiterBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatLimiterBuilder")
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A setter for one `Config` field: `name(value)` stores `map(value)` in `config.name`.
macro_rules! setters {
    ($( $(#[$doc:meta])* $name:ident: $ty:ty => $map:expr; )*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, value: $ty) -> Self {
                self.config.$name = $map(value);
                self
            }
        )*
    };
}

impl ChatLimiterBuilder {
    /// The default model (for requests that name none, and to detect the provider).
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }
    /// The API key; without it the provider's environment variable is read.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(ApiKey::new(key));
        self
    }
    /// Every setting at once, e.g. another limiter's [`config`](ChatLimiter::config); the
    /// setters called after this one change single fields of it.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }
    /// The API base URL (a proxy, or an emulator's `base_url()`), written as the provider's
    /// own SDKs take it: Anthropic's root (`https://api.anthropic.com`) and `.../v1` alike.
    /// Default: the provider's environment variable
    /// ([`Provider::base_url_env_var`]) when set, else the provider's public URL.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.config.base_url = Some(url.into().trim().trim_end_matches('/').to_string());
        self
    }
    /// An extra header on every request, e.g. OpenRouter's `HTTP-Referer` or `X-Title`.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.headers.push((name.into(), value.into()));
        self
    }
    setters! {
        /// Overrides provider detection (needed for model names that do not tell).
        provider: Provider => Some;
        /// Requests per [`request_window`](Self::request_window). Unset: learned from headers.
        request_limit: u32 => Some;
        /// Tokens per [`token_window`](Self::token_window) (OpenAI, OpenRouter). Unset: learned.
        token_limit: u32 => Some;
        /// Anthropic input tokens per token window. Unset: learned from headers.
        input_token_limit: u32 => Some;
        /// Anthropic output tokens per token window. Unset: learned from headers.
        output_token_limit: u32 => Some;
        /// The window the request limit is counted over (e.g. a day for a per-day limit).
        request_window: Duration => std::convert::identity;
        /// The window every token limit is counted over.
        token_window: Duration => std::convert::identity;
        /// Fraction of the request limit to use, in (0, 1].
        request_buffer_ratio: f64 => std::convert::identity;
        /// Fraction of the token limits to use, in (0, 1].
        token_buffer_ratio: f64 => std::convert::identity;
        /// Retries after a request's first attempt.
        max_retries: u32 => std::convert::identity;
        /// First backoff delay (doubles each retry).
        base_backoff: Duration => std::convert::identity;
        /// Longest backoff of our own; a server hint longer than this is handled as
        /// [`long_wait`](Self::long_wait) says.
        max_backoff: Duration => std::convert::identity;
        /// What a request does when the server asks for a longer wait than `max_backoff`:
        /// wait (pausing the model's queue) or fail at once.
        long_wait: LongWait => std::convert::identity;
        /// Time limit of one attempt (connect, send and the whole answer); for streams it
        /// applies between chunks instead.
        timeout: Duration => std::convert::identity;
        /// Time limit for connecting (used by the default agent).
        connect_timeout: Duration => std::convert::identity;
        /// Most requests in flight per model at once, whatever the rate.
        max_in_flight: u32 => std::convert::identity;
        /// `max_tokens` assumed when a request sets none: sent to Anthropic (which requires
        /// it) and reserved against output limits.
        default_max_tokens: u32 => std::convert::identity;
        /// With no limits configured, hold requests behind a first one until its headers tell
        /// the limits (OpenRouter sends none, so it never waits).
        learn_limits: bool => std::convert::identity;
        /// OpenRouter: check the key's credit with `GET /key` and fail fast when it is spent.
        check_credits: bool => std::convert::identity;
        /// OpenAI: the API chat requests go to by default (see [`OpenAiApi`](crate::OpenAiApi)).
        openai_api: crate::OpenAiApi => std::convert::identity;
        /// A hard spending limit in USD: a [`Budget`] of this limiter's own (use
        /// [`budget`](Self::budget) to share one). Needs every model used priced.
        max_cost: f64 => Some;
    }
    /// OpenAI: models sent to the Responses API whatever [`openai_api`](Self::openai_api)
    /// says; an entry ending in `*` is a prefix (`o3-pro*`), any other an exact name.
    pub fn responses_models<S: Into<String>>(
        mut self,
        models: impl IntoIterator<Item = S>,
    ) -> Self {
        self.config.responses_models = models.into_iter().map(Into::into).collect();
        self
    }
    /// The prices costs are computed with. Default [`PriceTable::default`], the shipped
    /// dated table; merge your own over it for current prices (docs/pricing.md).
    pub fn price_table(mut self, table: PriceTable) -> Self {
        self.price_table = Some(table);
        self
    }
    /// A spending limit shared with other limiters (or, [`Budget::redis`], processes).
    pub fn budget(mut self, budget: Budget) -> Self {
        self.budget = Some(budget);
        self
    }
    /// A custom `ureq::Agent` (TLS, proxy, pool settings). The limiter still sets, per request,
    /// no redirects (so the key never follows one) and non-2xx as answers, not errors.
    pub fn agent(mut self, agent: ureq::Agent) -> Self {
        self.agent = Some(agent);
        self
    }
    /// The clock the limiter and the request loop use (tests: [`ManualClock`](crate::ManualClock)).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }
    /// The prompt-token counter. Default [`CharEstimator`].
    pub fn token_counter(mut self, counter: Arc<dyn TokenCounter>) -> Self {
        self.token_counter = Some(counter);
        self
    }
    /// A response cache: a deterministic chat request answered before is answered from it,
    /// without the limiter or the network (see [`Cache`]). Default: none.
    pub fn cache(mut self, cache: Cache) -> Self {
        self.cache = Some(cache);
        self
    }
    /// The transport (the crate's unit tests use an in-memory one).
    #[cfg(test)]
    pub(crate) fn transport(mut self, transport: Box<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Validates everything and builds the limiter.
    ///
    /// Errors: [`Error::UnknownModel`] when the provider cannot be told, [`Error::MissingApiKey`]
    /// when no key is given or set, [`Error::Config`] naming any out-of-range setting.
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
        let mut config = self.config;
        config.provider = Some(provider);
        // An explicit setting wins, then the provider's environment variable, then its
        // public URL; each as the provider's ecosystem writes it.
        let from_env =
            || std::env::var(provider.base_url_env_var()).ok().filter(|u| !u.trim().is_empty());
        let url = config
            .base_url
            .clone()
            .or_else(from_env)
            .unwrap_or_else(|| provider.default_base_url().into());
        let base_url = config.base_url.insert(provider.normalize_base_url(&url));
        if let Some(warning) = plain_http_warning(base_url) {
            log::warn!(target: "chat_limiter::config", "{warning}");
        }
        config.validate()?;
        let limits = LimitConfig {
            requests: config.request_limit,
            tokens: config.token_limit,
            input: config.input_token_limit,
            output: config.output_token_limit,
            request_ratio: config.request_buffer_ratio,
            token_ratio: config.token_buffer_ratio,
            request_window: config.request_window,
            token_window: config.token_window,
            max_in_flight: config.max_in_flight,
            learn_from_headers: config.learn_limits && provider != Provider::OpenRouter,
            max_wait: (config.long_wait == LongWait::Fail).then_some(config.max_backoff),
        };
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let limiter = Limiter::new(limits, Arc::clone(&clock));
        #[cfg(feature = "redis")]
        let limiter = self.redis.apply(
            limiter,
            provider,
            &key,
            (config.request_buffer_ratio, config.token_buffer_ratio),
        )?;
        let budget = match (self.budget, config.max_cost) {
            (Some(_), Some(_)) => {
                return Err(Error::Config("set max_cost or budget, not both".into()))
            }
            (Some(b), None) => Some(b),
            (None, Some(usd)) => Some(Budget::new(usd)?),
            (None, None) => None,
        };
        let spend = Spend::new(self.price_table.unwrap_or_default(), budget);
        let transport = match self.transport {
            Some(t) => t,
            None => {
                let agent = self.agent.unwrap_or_else(|| default_agent(&config));
                Box::new(UreqTransport::new(agent))
            }
        };
        Ok(ChatLimiter::from_engine(Engine::new(EngineParts {
            provider,
            model: self.model,
            key,
            config,
            transport,
            limiter,
            counter: self.token_counter.unwrap_or_else(|| Arc::new(CharEstimator::default())),
            clock,
            cache: self.cache,
            spend,
        })))
    }

    fn resolve_provider(&self) -> Result<Provider> {
        match (self.config.provider, &self.model) {
            (Some(p), _) => Ok(p),
            (None, Some(m)) => {
                Provider::detect(m).ok_or_else(|| Error::UnknownModel { model: m.clone() })
            }
            (None, None) => Err(Error::Config("set a model or a provider".into())),
        }
    }
}

/// A duration setting outside the config (the Redis ones), checked like the config's.
#[cfg(feature = "redis")]
fn check_duration(name: &str, v: Option<Duration>, default: Duration) -> Result<Duration> {
    let d = v.unwrap_or(default);
    crate::config::check_duration(name, d)?;
    Ok(d)
}

/// A count setting outside the config (the Redis ones), checked like the config's.
#[cfg(feature = "redis")]
fn check_range(name: &str, v: Option<u32>, default: u32, lo: u32, hi: u32) -> Result<u32> {
    let n = v.unwrap_or(default);
    crate::config::check_range(name, n, lo, hi)?;
    Ok(n)
}

/// The default agent's input buffer per connection, and the largest response head it reads.
const AGENT_BUFFER: usize = 32 * 1024;

/// The agent used when the caller brings none: connection reuse for many threads, no proxy for
/// loopback addresses (the emulator, tests), the environment's proxy otherwise, names resolved
/// on the calling thread (see `transport/resolver.rs` for why), I/O timeouts in whole
/// milliseconds (see `transport/coarse_timeouts.rs`), and already set as every
/// attempt needs it (no redirects, statuses as answers, the attempt timeout), so requests need
/// no configuration of their own.
fn default_agent(config: &Config) -> ureq::Agent {
    let base_url = config.base_url().unwrap_or("");
    let mut cfg = ureq::Agent::config_builder()
        .timeout_connect(Some(config.connect_timeout))
        .timeout_global(Some(config.timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        // As many idle connections as a batch's default ceiling of workers, so thousands in
        // flight reuse their sockets instead of a connection (and a TIME_WAIT) per request.
        .max_idle_connections(4096)
        .max_idle_connections_per_host(4096)
        // Every open connection holds an input and an output buffer, allocated and zeroed
        // whole: ureq's 128 KiB each made 256 KiB a connection, 1 GiB at 4,096 in flight.
        // The input buffer holds a whole response head (a provider's is 1-3 KiB), so the
        // largest head accepted is its size.
        .max_response_header_size(AGENT_BUFFER)
        .input_buffer_size(AGENT_BUFFER)
        .output_buffer_size(AGENT_BUFFER / 2)
        .user_agent(concat!("chat-limiter/", env!("CARGO_PKG_VERSION")));
    if is_loopback(base_url) {
        cfg = cfg.proxy(None);
    }
    ureq::Agent::with_parts(cfg.build(), CoarseTimeouts::default(), CallingThreadResolver)
}
