//! The durable response cache: [`Cache`], set with
//! [`ChatLimiterBuilder::cache`](crate::ChatLimiterBuilder::cache).
//!
//! A call's key is a SHA-256 of everything that can change its answer (`key.rs`: provider,
//! base URL, endpoint, non-credential headers and the canonical request body, never the
//! key). A hit skips the limiter and the network and returns the stored answer with
//! [`ChatCompletionResponse::cached`] set (a stream: [`ChatStream::is_cached`]); only
//! successful answers are stored, a stream only once it completed. See `docs/cache.md`.
//!
//! [`ChatCompletionResponse::cached`]: crate::ChatCompletionResponse::cached
//! [`ChatStream::is_cached`]: crate::ChatStream::is_cached

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::error::Result;
use crate::types::{ChatCompletionChunk, ChatCompletionResponse};

mod entry;
mod key;
#[cfg(test)]
mod key_proptests;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "cache")]
mod sqlite;
mod store;

pub(crate) use key::KeyParts;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::RedisCacheStore;
#[cfg(feature = "cache")]
#[cfg_attr(docsrs, doc(cfg(feature = "cache")))]
pub use sqlite::SqliteStore;
pub use store::{CacheEntry, CacheStats, CacheStore, MemoryStore};

pub(crate) use entry::Parse;
use entry::{Stored, StoredChunk};
use store::now_ms;

/// What the cache may do on a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CachePolicy {
    /// Answer from the cache when it can, store every new successful answer (the default).
    #[default]
    ReadWrite,
    /// Answer from the cache when it can; never write (a shared, curated cache).
    ReadOnly,
    /// Never answer from the cache: always send, and store the new answer over the old.
    Refresh,
}

impl std::str::FromStr for CachePolicy {
    type Err = String;
    /// `read-write`, `read-only` or `refresh` (the CLI's `--cache-policy`).
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "read-write" | "readwrite" => Ok(CachePolicy::ReadWrite),
            "read-only" | "readonly" => Ok(CachePolicy::ReadOnly),
            "refresh" => Ok(CachePolicy::Refresh),
            other => {
                Err(format!("unknown cache policy {other:?}: read-write, read-only or refresh"))
            }
        }
    }
}

/// What one [`Cache`] did in this process (all its clones together).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CacheCounters {
    /// Calls answered from the cache.
    pub hits: u64,
    /// Cacheable calls that found nothing (or only an entry past the age limit) and were sent.
    pub misses: u64,
    /// Answers stored.
    pub writes: u64,
    /// Calls not looked up because they are non-deterministic (see
    /// [`Cache::cache_nondeterministic`]).
    pub skipped: u64,
    /// Store failures (each logged as a warning; the call went on without the cache).
    pub errors: u64,
}

#[derive(Debug, Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    writes: AtomicU64,
    skipped: AtomicU64,
    errors: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// A response cache: a [`CacheStore`] and the rules for using it. Cheap to clone; clones
/// share the store and the counters.
///
/// Defaults: [`CachePolicy::default`] (read-write), no age limit, non-deterministic
/// requests not cached.
///
/// ```
/// use chat_limiter::{Cache, CachePolicy, ChatCompletionRequest, ChatLimiter, Message};
/// use chat_limiter_emulator::Emulator;
/// use std::time::Duration;
///
/// let emu = Emulator::openai().start().unwrap();
/// let dir = std::env::temp_dir().join(format!("cache-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let cache = Cache::sqlite(dir.join("answers.db"))?
///     .policy(CachePolicy::ReadWrite)
///     .max_age(Duration::from_secs(7 * 86_400));
/// let limiter = ChatLimiter::builder()
///     .model("gpt-4o-mini")
///     .api_key("sk-test")
///     .base_url(emu.base_url())
///     .cache(cache.clone())
///     .build()?;
/// // Temperature 0: deterministic, so cached.
/// let req = ChatCompletionRequest::new("gpt-4o-mini", vec![Message::user("Hi")]).temperature(0.0);
/// let first = limiter.chat_completion(&req)?;
/// let again = limiter.chat_completion(&req)?;
/// assert!(!first.cached && again.cached);
/// assert_eq!(first.text(), again.text());
/// assert_eq!(emu.stats().requests, 1); // the second never reached the server
/// assert_eq!(cache.counters().hits, 1);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<_, chat_limiter::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Cache {
    store: Arc<dyn CacheStore>,
    policy: CachePolicy,
    max_age: Option<Duration>,
    nondeterministic: bool,
    counters: Arc<Counters>,
}

impl Cache {
    /// A cache over any store.
    pub fn new(store: impl CacheStore + 'static) -> Self {
        Cache {
            store: Arc::new(store),
            policy: CachePolicy::default(),
            max_age: None,
            nondeterministic: false,
            counters: Arc::default(),
        }
    }

    /// A cache in the SQLite file at `path` (created when missing), the default store: safe
    /// with many threads and several processes on one file.
    ///
    /// Errors: [`Error::Cache`](crate::Error::Cache) when the file cannot be opened.
    #[cfg(feature = "cache")]
    #[cfg_attr(docsrs, doc(cfg(feature = "cache")))]
    pub fn sqlite(path: impl AsRef<std::path::Path>) -> Result<Self> {
        Ok(Cache::new(SqliteStore::open(path)?))
    }

    /// A cache in Redis at `url`, shared across hosts; entries expire after
    /// [`max_age`](Self::max_age) when one is set.
    ///
    /// Errors: [`Error::Cache`](crate::Error::Cache) for an invalid URL (it connects lazily).
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn redis(url: &str) -> Result<Self> {
        Ok(Cache::new(RedisCacheStore::open(url)?))
    }

    /// A cache in this process's memory ([`MemoryStore`]).
    pub fn memory() -> Self {
        Cache::new(MemoryStore::new())
    }

    /// What the cache may do (default [`CachePolicy::ReadWrite`]).
    #[must_use]
    pub fn policy(mut self, policy: CachePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The age limit of an entry: older ones are not used (and are replaced when the call
    /// is sent again). Default: none.
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// Also cache non-deterministic requests: `temperature` above 0, or none given (every
    /// provider's default is 1), with no `seed`. Off by default: such a request is asked
    /// again because its answer is a sample, and replaying one sample for every rerun
    /// silently removes the variation the caller asked for (an eval that samples 5 answers
    /// per prompt would get one answer 5 times).
    #[must_use]
    pub fn cache_nondeterministic(mut self, yes: bool) -> Self {
        self.nondeterministic = yes;
        self
    }

    /// The policy in force.
    pub fn current_policy(&self) -> CachePolicy {
        self.policy
    }

    /// What the store holds (all processes' entries).
    pub fn stats(&self) -> Result<CacheStats> {
        self.store.stats()
    }

    /// Removes the entries older than `older_than` (`Duration::ZERO`: all) and returns how
    /// many it removed.
    pub fn prune(&self, older_than: Duration) -> Result<u64> {
        let cutoff = if older_than.is_zero() {
            u64::MAX
        } else {
            now_ms().saturating_sub(older_than.as_millis() as u64)
        };
        self.store.prune(cutoff)
    }

    /// What this cache did in this process.
    pub fn counters(&self) -> CacheCounters {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CacheCounters {
            hits: get(&c.hits),
            misses: get(&c.misses),
            writes: get(&c.writes),
            skipped: get(&c.skipped),
            errors: get(&c.errors),
        }
    }

    /// The call's key, or `None` when the call is not to be cached (a body that is not JSON,
    /// or a non-deterministic request the user did not opt into).
    pub(crate) fn key_for(&self, parts: &KeyParts<'_>) -> Option<String> {
        if !self.nondeterministic && key::is_nondeterministic(parts.body) {
            bump(&self.counters.skipped);
            return None;
        }
        Some(key::cache_key(parts))
    }

    /// The stored value under `key` when the policy allows reading it and it is fresh.
    fn read(&self, key: &str) -> Option<Stored> {
        if self.policy == CachePolicy::Refresh {
            return None;
        }
        let found = self.store.get(key).and_then(|e| match e {
            Some(e) if self.is_fresh(&e) => Stored::from_bytes(&e.value).map(Some),
            _ => Ok(None),
        });
        match found {
            Ok(Some(s)) => Some(s),
            Ok(None) => {
                bump(&self.counters.misses);
                None
            }
            Err(e) => {
                self.failed("lookup", &e);
                None
            }
        }
    }

    fn is_fresh(&self, e: &CacheEntry) -> bool {
        self.max_age
            .is_none_or(|age| now_ms().saturating_sub(e.created_ms) <= age.as_millis() as u64)
    }

    /// A store failure: the call goes on without the cache, and the user is told.
    fn failed(&self, what: &str, e: &crate::Error) {
        bump(&self.counters.errors);
        log::warn!("response cache {what} failed, going on without it: {e}");
    }

    /// A hit for a chat completion; `parse` reads the stored body (the call's own parser).
    pub(crate) fn response(&self, key: &str, parse: Parse<'_>) -> Option<ChatCompletionResponse> {
        let resp = self.read(key)?.into_response(parse);
        self.hit(resp)
    }

    /// A hit for a stream: its request id and chunks.
    pub(crate) fn stream(&self, key: &str) -> Option<(Option<String>, Vec<ChatCompletionChunk>)> {
        let chunks = self.read(key)?.into_chunks();
        self.hit(chunks)
    }

    fn hit<T>(&self, value: Result<T>) -> Option<T> {
        match value {
            Ok(v) => {
                bump(&self.counters.hits);
                Some(v)
            }
            Err(e) => {
                self.failed("read", &e);
                None
            }
        }
    }

    /// Stores a successful chat completion (unless read-only).
    pub(crate) fn store_response(&self, key: &str, model: &str, resp: &ChatCompletionResponse) {
        let stored =
            Stored::Response { request_id: resp.request_id.clone(), body: resp.raw.clone() };
        self.write(key, model, &stored);
    }

    /// Stores a completed stream's chunks (unless read-only).
    pub(crate) fn store_stream(
        &self,
        key: &str,
        model: &str,
        request_id: Option<String>,
        chunks: &[ChatCompletionChunk],
    ) {
        let chunks = chunks.iter().map(StoredChunk::from).collect();
        self.write(key, model, &Stored::Stream { request_id, chunks });
    }

    fn write(&self, key: &str, model: &str, stored: &Stored) {
        if self.policy == CachePolicy::ReadOnly {
            return;
        }
        let entry =
            CacheEntry { created_ms: now_ms(), model: model.into(), value: stored.to_bytes() };
        match self.store.put(key, &entry, self.max_age) {
            Ok(()) => bump(&self.counters.writes),
            Err(e) => self.failed("write", &e),
        }
    }
}

/// A call's body as JSON, for its key (`None`: not JSON, never cached).
pub(crate) fn body_json(body: Option<&[u8]>) -> Option<Value> {
    body.and_then(|b| serde_json::from_slice(b).ok())
}
