//! [`RedisCacheStore`]: entries in Redis, shared by every process and host that uses the same
//! server. Each entry is a hash (`created_ms`, `model`, `value`) under
//! `chat-limiter:cache:<key>`, given the cache's age limit as its TTL, so Redis expires old
//! entries by itself.

use std::time::Duration;

use parking_lot::Mutex;

use super::store::{stats_of, CacheEntry, CacheStats, CacheStore};
use crate::error::{Error, Result};

/// The prefix of every cache key in Redis.
const PREFIX: &str = "chat-limiter:cache:";
/// Connect, read and write timeout of one Redis call.
const TIMEOUT: Duration = Duration::from_secs(2);
/// Idle connections kept.
const POOL: usize = 16;

/// Cache entries in Redis.
pub struct RedisCacheStore {
    client: redis::Client,
    /// Only to keep it out of error messages (it may hold a password).
    url: String,
    pool: Mutex<Vec<redis::Connection>>,
}

impl std::fmt::Debug for RedisCacheStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: leave it out.
        f.debug_struct("RedisCacheStore").finish_non_exhaustive()
    }
}

/// A Redis failure, without the URL (which may hold a password).
fn failed(e: &redis::RedisError, url: &str) -> Error {
    let msg = format!("Redis cache unavailable: {e}");
    Error::Cache(if url.is_empty() { msg } else { msg.replace(url, "<redis url>") })
}

impl RedisCacheStore {
    /// Checks the URL; connects on first use.
    ///
    /// Errors: [`Error::Cache`] for an invalid URL.
    pub fn open(url: &str) -> Result<Self> {
        let client = redis::Client::open(url).map_err(|e| {
            let msg = format!("invalid Redis cache URL: {e}");
            Error::Cache(if url.is_empty() { msg } else { msg.replace(url, "<redis url>") })
        })?;
        Ok(RedisCacheStore { client, url: url.to_string(), pool: Mutex::new(Vec::new()) })
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T> {
        let pooled = self.pool.lock().pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => {
                let c = self
                    .client
                    .get_connection_with_timeout(TIMEOUT)
                    .map_err(|e| failed(&e, &self.url))?;
                c.set_read_timeout(Some(TIMEOUT)).map_err(|e| failed(&e, &self.url))?;
                c.set_write_timeout(Some(TIMEOUT)).map_err(|e| failed(&e, &self.url))?;
                c
            }
        };
        let out = f(&mut conn).map_err(|e| failed(&e, &self.url))?;
        let mut pool = self.pool.lock();
        if pool.len() < POOL {
            pool.push(conn);
        }
        Ok(out)
    }

    /// Every cache key in Redis, by `SCAN` (never `KEYS`, which blocks the server).
    fn keys(&self) -> Result<Vec<String>> {
        self.with(|c| {
            let mut out = Vec::new();
            let mut cursor: u64 = 0;
            loop {
                let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(format!("{PREFIX}*"))
                    .arg("COUNT")
                    .arg(1000)
                    .query(c)?;
                out.extend(batch);
                if next == 0 {
                    return Ok(out);
                }
                cursor = next;
            }
        })
    }

    /// The creation time and value size of a stored key (`None`: gone meanwhile).
    fn meta(&self, full_key: &str) -> Result<Option<(u64, usize)>> {
        self.with(|c| {
            let (created, len): (Option<u64>, usize) = redis::pipe()
                .cmd("HGET")
                .arg(full_key)
                .arg("created_ms")
                .cmd("HSTRLEN")
                .arg(full_key)
                .arg("value")
                .query(c)?;
            Ok(created.map(|t| (t, len)))
        })
    }
}

impl CacheStore for RedisCacheStore {
    fn get(&self, key: &str) -> Result<Option<CacheEntry>> {
        self.with(|c| {
            let (created, model, value): (Option<u64>, Option<String>, Option<Vec<u8>>) =
                redis::cmd("HMGET")
                    .arg(format!("{PREFIX}{key}"))
                    .arg("created_ms")
                    .arg("model")
                    .arg("value")
                    .query(c)?;
            Ok(match (created, value) {
                (Some(created_ms), Some(value)) => {
                    Some(CacheEntry { created_ms, model: model.unwrap_or_default(), value })
                }
                _ => None,
            })
        })
    }

    fn put(&self, key: &str, entry: &CacheEntry, ttl: Option<Duration>) -> Result<()> {
        let full = format!("{PREFIX}{key}");
        self.with(|c| {
            let mut p = redis::pipe();
            p.atomic()
                .cmd("DEL")
                .arg(&full)
                .ignore()
                .cmd("HSET")
                .arg(&full)
                .arg("created_ms")
                .arg(entry.created_ms)
                .arg("model")
                .arg(&entry.model)
                .arg("value")
                .arg(&entry.value[..])
                .ignore();
            if let Some(ttl) = ttl {
                p.cmd("PEXPIRE").arg(&full).arg(ttl.as_millis().max(1) as u64).ignore();
            }
            p.query::<()>(c)
        })
    }

    fn stats(&self) -> Result<CacheStats> {
        let mut metas = Vec::new();
        for k in self.keys()? {
            metas.extend(self.meta(&k)?);
        }
        Ok(stats_of(metas.into_iter()))
    }

    fn prune(&self, cutoff_ms: u64) -> Result<u64> {
        let mut removed = 0;
        for k in self.keys()? {
            if matches!(self.meta(&k)?, Some((t, _)) if t < cutoff_ms) {
                removed += self.with(|c| redis::cmd("DEL").arg(&k).query::<u64>(c))?;
            }
        }
        Ok(removed)
    }
}
