//! The builder's Redis settings (feature `redis`): where the shared buckets live and what to
//! do when Redis is away.

use std::sync::Arc;
use std::time::Duration;

use super::{check_duration, check_range, ChatLimiterBuilder};
use crate::error::{Error, Result};
use crate::limit::limiter::Limiter;
use crate::limit::redis_store::{RedisFailurePolicy, RedisSettings, RedisStore};
use crate::provider_id::Provider;
use crate::secret::ApiKey;

/// Expiry of a model's state in Redis: long enough to outlive any limit window of interest
/// (daily buckets), short enough that abandoned keys and models go away.
const TTL: Duration = Duration::from_secs(2 * 86_400);

/// What the Redis setters collected.
#[derive(Debug, Clone, Default)]
pub(crate) struct RedisOptions {
    url: Option<String>,
    policy: Option<RedisFailurePolicy>,
    timeout: Option<Duration>,
    retry_interval: Option<Duration>,
    pool_size: Option<u32>,
}

impl ChatLimiterBuilder {
    /// Keeps the limits in Redis (`redis://host:port/db`, `rediss://` for TLS if the `redis`
    /// crate was built with it), so every process and host using the same provider and key
    /// shares one set of buckets. Each model's state lives under
    /// `chat-limiter:{provider}:{key fingerprint}:{model}`; the API key itself is never
    /// written. Connections are made lazily: Redis being down at start is handled by the
    /// [`redis_failure_policy`](Self::redis_failure_policy), not by `build()`.
    pub fn redis(mut self, url: impl Into<String>) -> Self {
        self.redis.url = Some(url.into());
        self
    }
    /// What to do while Redis is unreachable. Default [`RedisFailurePolicy::FallbackLocal`].
    pub fn redis_failure_policy(mut self, policy: RedisFailurePolicy) -> Self {
        self.redis.policy = Some(policy);
        self
    }
    /// Bound on connecting to Redis and on each command's write and read. Default 1 s.
    pub fn redis_timeout(mut self, d: Duration) -> Self {
        self.redis.timeout = Some(d);
        self
    }
    /// How long to leave Redis alone after a failure before trying it again. Default 5 s.
    pub fn redis_retry_interval(mut self, d: Duration) -> Self {
        self.redis.retry_interval = Some(d);
        self
    }
    /// Idle Redis connections kept for reuse. Set it to about the number of threads calling
    /// the limiter (a batch's `max_workers`); more are opened on demand. Default 32.
    pub fn redis_pool_size(mut self, n: u32) -> Self {
        self.redis.pool_size = Some(n);
        self
    }
}

impl RedisOptions {
    /// Puts `limiter`'s buckets in Redis when a URL was given.
    pub(crate) fn apply(
        &self,
        limiter: Limiter,
        provider: Provider,
        key: &ApiKey,
        ratios: (f64, f64),
    ) -> Result<Limiter> {
        let Some(url) = self.url.clone() else {
            return Ok(limiter);
        };
        let settings = RedisSettings {
            url,
            policy: self.policy.unwrap_or_default(),
            timeout: check_duration("redis_timeout", self.timeout, Duration::from_secs(1))?,
            retry_interval: check_duration(
                "redis_retry_interval",
                self.retry_interval,
                Duration::from_secs(5),
            )?,
            pool_size: check_range("redis_pool_size", self.pool_size, 32, 1, 10_000)? as usize,
            ttl: TTL,
        };
        let store = RedisStore::new(settings, ratios).map_err(Error::Config)?;
        let prefix = format!("chat-limiter:{}:{}:", provider.as_str(), key.fingerprint());
        Ok(limiter.with_store(Arc::new(store), prefix))
    }
}
