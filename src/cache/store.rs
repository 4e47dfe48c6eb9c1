//! [`CacheStore`]: where entries live. SQLite ([`SqliteStore`](super::SqliteStore), the
//! default), Redis ([`RedisCacheStore`](super::RedisCacheStore), shared across hosts), an
//! in-memory map ([`MemoryStore`]), or your own.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use crate::error::Result;

/// One stored answer: when it was written and its bytes (the JSON of the cached response).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEntry {
    /// When the entry was written, in milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// The model the answer is for (shown by `stats`).
    pub model: String,
    /// The stored response.
    pub value: Vec<u8>,
}

/// What a store holds, as `chat-limiter cache stats` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CacheStats {
    /// Entries stored.
    pub entries: u64,
    /// The bytes of their values.
    pub bytes: u64,
    /// When the oldest was written (ms since the Unix epoch), if any.
    pub oldest_ms: Option<u64>,
    /// When the newest was written (ms since the Unix epoch), if any.
    pub newest_ms: Option<u64>,
}

/// A place to keep cache entries by key (a 64-character hex SHA-256). Implementations must be
/// safe to share between threads; the SQLite and Redis ones are also safe between processes.
///
/// Every method returns [`Error::Cache`](crate::Error::Cache) when the store fails.
pub trait CacheStore: Send + Sync + std::fmt::Debug {
    /// The entry under `key`, if any (whatever its age: the [`Cache`](super::Cache) decides).
    fn get(&self, key: &str) -> Result<Option<CacheEntry>>;
    /// Stores `entry` under `key`, replacing any older one. `ttl`, when given, is the age
    /// limit: a store that can expire entries by itself (Redis) may drop it after that.
    fn put(&self, key: &str, entry: &CacheEntry, ttl: Option<Duration>) -> Result<()>;
    /// What the store holds.
    fn stats(&self) -> Result<CacheStats>;
    /// Removes the entries written before `cutoff_ms` (ms since the Unix epoch; `u64::MAX`
    /// removes all) and returns how many it removed.
    fn prune(&self, cutoff_ms: u64) -> Result<u64>;
}

/// Now in milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Stats over any list of entries (the memory and Redis stores).
pub(crate) fn stats_of<'a>(entries: impl Iterator<Item = (u64, usize)> + 'a) -> CacheStats {
    let mut s = CacheStats::default();
    for (created, bytes) in entries {
        s.entries += 1;
        s.bytes += bytes as u64;
        s.oldest_ms = Some(s.oldest_ms.map_or(created, |o| o.min(created)));
        s.newest_ms = Some(s.newest_ms.map_or(created, |n| n.max(created)));
    }
    s
}

/// Entries in a map in this process: for tests, benchmarks and short-lived programs (nothing
/// survives the process). Ignores `ttl` (the cache's age limit still applies on reads).
#[derive(Debug, Default)]
pub struct MemoryStore {
    map: Mutex<HashMap<String, CacheEntry>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// The keys it holds (in no order).
    pub fn keys(&self) -> Vec<String> {
        self.map.lock().keys().cloned().collect()
    }
}

impl CacheStore for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<CacheEntry>> {
        Ok(self.map.lock().get(key).cloned())
    }
    fn put(&self, key: &str, entry: &CacheEntry, _ttl: Option<Duration>) -> Result<()> {
        self.map.lock().insert(key.to_string(), entry.clone());
        Ok(())
    }
    fn stats(&self) -> Result<CacheStats> {
        Ok(stats_of(self.map.lock().values().map(|e| (e.created_ms, e.value.len()))))
    }
    fn prune(&self, cutoff_ms: u64) -> Result<u64> {
        let mut map = self.map.lock();
        let before = map.len();
        map.retain(|_, e| e.created_ms >= cutoff_ms);
        Ok((before - map.len()) as u64)
    }
}

/// A shared store: several [`Cache`](super::Cache)s (other policies) over one store.
impl<T: CacheStore + ?Sized> CacheStore for std::sync::Arc<T> {
    fn get(&self, key: &str) -> Result<Option<CacheEntry>> {
        (**self).get(key)
    }
    fn put(&self, key: &str, entry: &CacheEntry, ttl: Option<Duration>) -> Result<()> {
        (**self).put(key, entry, ttl)
    }
    fn stats(&self) -> Result<CacheStats> {
        (**self).stats()
    }
    fn prune(&self, cutoff_ms: u64) -> Result<u64> {
        (**self).prune(cutoff_ms)
    }
}
