//! [`SqliteStore`]: the default store, one SQLite file (rusqlite with its bundled SQLite).
//!
//! Safe with many threads (a small pool of connections, so reads run side by side) and
//! several processes on one file: WAL journal (readers never block the writer), a busy
//! timeout so a process or thread waits for another's write instead of failing, and
//! `INSERT OR REPLACE` so two writers storing the same answer both succeed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use parking_lot::Mutex;
use rusqlite::{params, Connection, OptionalExtension};

use super::store::{CacheEntry, CacheStats, CacheStore};
use crate::error::{Error, Result};

/// How long a process waits for another's write lock before a cache error.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Cache entries in one SQLite file, shared by threads and processes.
pub struct SqliteStore {
    path: PathBuf,
    /// Idle connections: a thread takes one (or opens one), so reads run side by side (WAL);
    /// writes queue on SQLite's own lock, within the busy timeout.
    pool: Mutex<Vec<Connection>>,
}

/// Idle connections kept.
const POOL: usize = 16;

/// A connection to `path` set up for sharing: busy timeout, `synchronous=NORMAL`.
fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // NORMAL in WAL mode is durable across a process crash (not a power loss), enough for a
    // cache, and spares an fsync per write.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish_non_exhaustive()
    }
}

/// SQLite's "busy" or "locked": another connection holds the lock.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn failed(what: &str, path: &Path, e: rusqlite::Error) -> Error {
    Error::Cache(format!("{what} {}: {e}", path.display()))
}

impl SqliteStore {
    /// Opens (creating when missing) the cache file at `path`.
    ///
    /// Errors: [`Error::Cache`] when the file cannot be opened or is not a cache.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let conn =
            Connection::open(&path).map_err(|e| failed("cannot open the cache", &path, e))?;
        let setup = || -> rusqlite::Result<()> {
            conn.busy_timeout(BUSY_TIMEOUT)?;
            // WAL (kept in the file): readers and one writer at a time across processes.
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.execute_batch(
                "CREATE TABLE IF NOT EXISTS chat_cache (
                     key        TEXT PRIMARY KEY,
                     created_ms INTEGER NOT NULL,
                     model      TEXT NOT NULL,
                     value      BLOB NOT NULL
                 );
                 CREATE INDEX IF NOT EXISTS chat_cache_created ON chat_cache (created_ms);",
            )
        };
        // Two processes setting up one new file at once: the switch to WAL can answer "busy"
        // without waiting on the busy timeout (SQLite's way out of a lock upgrade deadlock),
        // so the setup itself is retried, within the same timeout.
        let started = std::time::Instant::now();
        loop {
            match setup() {
                Err(e) if is_busy(&e) && started.elapsed() < BUSY_TIMEOUT => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                other => break other.map_err(|e| failed("cannot set up the cache", &path, e))?,
            }
        }
        Ok(SqliteStore { path, pool: Mutex::new(vec![conn]) })
    }

    /// Runs `f` on an idle connection (opening one when none is idle) and puts it back.
    fn with<T>(&self, what: &str, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let idle = self.pool.lock().pop();
        let conn = match idle {
            Some(c) => c,
            None => {
                connect(&self.path).map_err(|e| failed("cannot open the cache", &self.path, e))?
            }
        };
        let out = f(&conn).map_err(|e| failed(what, &self.path, e));
        let mut pool = self.pool.lock();
        if pool.len() < POOL {
            pool.push(conn);
        }
        out
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Milliseconds as SQLite's signed integer (saturating: a date past 2262 is never written).
fn ms(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl CacheStore for SqliteStore {
    fn get(&self, key: &str) -> Result<Option<CacheEntry>> {
        self.with("cannot read the cache", |c| {
            c.prepare_cached("SELECT created_ms, model, value FROM chat_cache WHERE key = ?1")?
                .query_row(params![key], |r| {
                    Ok(CacheEntry {
                        created_ms: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                        model: r.get(1)?,
                        value: r.get(2)?,
                    })
                })
                .optional()
        })
    }

    fn put(&self, key: &str, entry: &CacheEntry, _ttl: Option<Duration>) -> Result<()> {
        self.with("cannot write the cache", |c| {
            c.prepare_cached(
                "INSERT OR REPLACE INTO chat_cache (key, created_ms, model, value)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![key, ms(entry.created_ms), entry.model, entry.value])
            .map(|_| ())
        })
    }

    fn stats(&self) -> Result<CacheStats> {
        self.with("cannot read the cache", |c| {
            c.query_row(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(value)), 0), MIN(created_ms),
                        MAX(created_ms)
                 FROM chat_cache",
                [],
                |r| {
                    let n = |v: i64| u64::try_from(v).unwrap_or(0);
                    Ok(CacheStats {
                        entries: n(r.get(0)?),
                        bytes: n(r.get(1)?),
                        oldest_ms: r.get::<_, Option<i64>>(2)?.map(n),
                        newest_ms: r.get::<_, Option<i64>>(3)?.map(n),
                    })
                },
            )
        })
    }

    fn prune(&self, cutoff_ms: u64) -> Result<u64> {
        self.with("cannot prune the cache", |c| {
            c.execute("DELETE FROM chat_cache WHERE created_ms < ?1", params![ms(cutoff_ms)])
                .map(|n| n as u64)
        })
    }
}
