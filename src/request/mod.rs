//! The life of a request, written once for chat, raw and streamed calls: prepare (validate,
//! build the body, estimate the cost), acquire (wait for the limiter), attempt (send, follow
//! the headers, classify the answer), settle (charge what the provider reported) and retry
//! (the one [`RetryPolicy`]).
//!
//! [`Engine`] owns everything a call needs; [`ChatLimiter`](crate::ChatLimiter) is a thin,
//! cloneable facade over it.

use std::sync::Arc;

use crate::budget::Spend;
use crate::cache::Cache;
use crate::config::Config;
use crate::limit::clock::Clock;
use crate::limit::limiter::Limiter;
use crate::provider_id::Provider;
use crate::retry::RetryPolicy;
use crate::secret::ApiKey;
use crate::tokens::TokenCounter;
use crate::transport::{Prepared, Transport};

mod cached;
mod calls;
mod credits;
mod direct;
#[cfg(test)]
mod direct_tests;
#[cfg(test)]
mod metrics_tests;
mod prepare;
mod raw;
mod run;
#[cfg(test)]
mod run_tests;

pub(crate) use direct::{DirectBody, Replay};
pub(crate) use prepare::Call;
pub use raw::RawResponse;

/// Everything a call needs, resolved and validated by the builder.
pub(crate) struct Engine {
    provider: Provider,
    model: Option<String>,
    key: ApiKey,
    /// The auth and fixed headers every request sends, built once (they hold the key: never
    /// printed; `Engine` has no `Debug`).
    auth: Vec<(&'static str, String)>,
    /// The resolved configuration: provider and base URL are set.
    config: Config,
    base_url: String,
    /// The base URL joined with the chat path, once (every chat call is sent there).
    chat_url: String,
    /// `chat_url` and `auth` parsed for the transport, once (`transport/prepared.rs`).
    prepared: Option<Prepared>,
    transport: Box<dyn Transport>,
    limiter: Limiter,
    policy: RetryPolicy,
    counter: Arc<dyn TokenCounter>,
    clock: Arc<dyn Clock>,
    credits: Option<credits::Credits>,
    /// The response cache, when one is set.
    cache: Option<Cache>,
    /// Prices, budget and money spent.
    spend: Spend,
}

/// The parts the builder hands over.
pub(crate) struct EngineParts {
    pub provider: Provider,
    pub model: Option<String>,
    pub key: ApiKey,
    pub config: Config,
    pub transport: Box<dyn Transport>,
    pub limiter: Limiter,
    pub counter: Arc<dyn TokenCounter>,
    pub clock: Arc<dyn Clock>,
    pub cache: Option<Cache>,
    pub spend: Spend,
}

impl Engine {
    pub(crate) fn new(p: EngineParts) -> Self {
        let c = &p.config;
        let policy = RetryPolicy::new(c.max_retries, c.base_backoff, c.max_backoff)
            .waiting_long(c.long_wait == crate::config::LongWait::Wait);
        let base_url = c.base_url.clone().unwrap_or_else(|| p.provider.default_base_url().into());
        let credits =
            (c.check_credits && p.provider == Provider::OpenRouter).then(credits::Credits::default);
        let auth = crate::provider::wire::auth_headers(p.provider, p.key.expose());
        let chat_url = format!("{base_url}{}", crate::provider::wire::chat_path(p.provider));
        let prepared = Prepared::new(&chat_url, &auth);
        Engine {
            provider: p.provider,
            model: p.model,
            key: p.key,
            auth,
            config: p.config,
            base_url,
            chat_url,
            prepared,
            transport: p.transport,
            limiter: p.limiter,
            policy,
            counter: p.counter,
            clock: p.clock,
            credits,
            cache: p.cache,
            spend: p.spend,
        }
    }

    pub(crate) fn provider(&self) -> Provider {
        self.provider
    }
    pub(crate) fn model(&self) -> Option<&str> {
        self.model.as_deref()
    }
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }
    pub(crate) fn limiter(&self) -> &Limiter {
        &self.limiter
    }
    pub(crate) fn policy(&self) -> &RetryPolicy {
        &self.policy
    }
    pub(crate) fn cache(&self) -> Option<&Cache> {
        self.cache.as_ref()
    }
    pub(crate) fn spend(&self) -> &Spend {
        &self.spend
    }
}
