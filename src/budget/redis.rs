//! A [`Budget`](super::Budget) kept in Redis (feature `redis`): one hash per budget name,
//! every read-modify-write in a Lua script, so any number of processes reserve and settle
//! against the same counters atomically.
//!
//! Hash `chat-limiter:budget:{name}`, fields in nanodollars: `spent`, `reserved`, and
//! `exhausted_at` (the limit under which a request did not fit: a process with a limit no
//! larger is refused at once; a rerun with a larger limit is not). Expires after
//! [`TTL`] without writes.

use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::{BudgetStore, Levels, Reserve};
use crate::error::{redact, Error, Result};

/// Expiry of a budget's hash, refreshed on every write.
const TTL: Duration = Duration::from_secs(7 * 86_400);
/// Bound on connecting and on each command.
const TIMEOUT: Duration = Duration::from_secs(1);
/// How often a request that fits once others settle asks again.
const POLL: Duration = Duration::from_millis(10);
/// Longest such wait: a process that died holding a reservation leaves it counted, and this
/// keeps the others from waiting for it forever (they stop as if exhausted).
const MAX_WAIT: Duration = Duration::from_secs(600);

/// ARGV: limit, amount, TTL ms. Reply: {outcome (1 granted, 0 wait, -1 exhausted), spent}.
const RESERVE: &str = r#"
local k = KEYS[1]
local limit, amount, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local spent = tonumber(redis.call('HGET', k, 'spent') or '0')
local reserved = tonumber(redis.call('HGET', k, 'reserved') or '0')
local ex = tonumber(redis.call('HGET', k, 'exhausted_at') or '-1')
if ex >= limit then return {-1, spent} end
if spent + reserved + amount <= limit then
  redis.call('HINCRBY', k, 'reserved', amount)
  redis.call('PEXPIRE', k, ttl)
  return {1, spent}
end
if spent + amount > limit or reserved == 0 then
  redis.call('HSET', k, 'exhausted_at', ARGV[1])
  redis.call('PEXPIRE', k, ttl)
  return {-1, spent}
end
return {0, spent}
"#;

/// ARGV: reserved, actual, TTL ms.
const SETTLE: &str = r#"
local k = KEYS[1]
local reserved = tonumber(redis.call('HGET', k, 'reserved') or '0')
redis.call('HSET', k, 'reserved', string.format('%d', math.max(0, reserved - tonumber(ARGV[1]))))
redis.call('HINCRBY', k, 'spent', ARGV[2])
redis.call('PEXPIRE', k, tonumber(ARGV[3]))
return 1
"#;

/// The Redis side of a shared budget.
pub(crate) struct RedisBudget {
    client: redis::Client,
    url: String,
    key: String,
    reserve: redis::Script,
    settle: redis::Script,
    pool: Mutex<Vec<redis::Connection>>,
}

impl RedisBudget {
    /// Checks the URL and the name; connects lazily.
    pub(crate) fn new(url: &str, name: &str) -> Result<Self> {
        if name.is_empty() || name.chars().any(|c| c.is_control() || c == ' ') {
            return Err(Error::Config(format!("invalid budget name {name:?}")));
        }
        let client = redis::Client::open(url)
            .map_err(|e| Error::Config(redact(&format!("invalid Redis URL: {e}"), url)))?;
        Ok(RedisBudget {
            client,
            url: url.to_string(),
            key: format!("chat-limiter:budget:{name}"),
            reserve: redis::Script::new(RESERVE),
            settle: redis::Script::new(SETTLE),
            pool: Mutex::new(Vec::new()),
        })
    }

    /// Runs `f` on a pooled connection; the error never holds the URL.
    fn with<T>(
        &self,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T> {
        let conn = match self.pool.lock().pop() {
            Some(c) => Ok(c),
            None => self.client.get_connection_with_timeout(TIMEOUT).and_then(|c| {
                c.set_read_timeout(Some(TIMEOUT))?;
                c.set_write_timeout(Some(TIMEOUT))?;
                Ok(c)
            }),
        };
        let fail = |e: redis::RedisError| {
            Error::Store(redact(&format!("Redis budget unavailable: {e}"), &self.url))
        };
        let mut conn = conn.map_err(fail)?;
        let out = f(&mut conn).map_err(fail)?;
        self.pool.lock().push(conn);
        Ok(out)
    }

    fn ttl_ms() -> u64 {
        TTL.as_millis() as u64
    }
}

impl BudgetStore for RedisBudget {
    fn reserve(&self, limit: u64, amount: u64) -> Result<Reserve> {
        let start = Instant::now();
        loop {
            let (outcome, spent): (i64, u64) = self.with(|c| {
                self.reserve.key(&self.key).arg(limit).arg(amount).arg(Self::ttl_ms()).invoke(c)
            })?;
            match outcome {
                1 => return Ok(Reserve::Granted),
                0 if start.elapsed() < MAX_WAIT => std::thread::sleep(POLL),
                _ => return Ok(Reserve::Exhausted { spent }),
            }
        }
    }

    fn settle(&self, reserved: u64, actual: u64) -> Result<()> {
        self.with(|c| {
            self.settle
                .key(&self.key)
                .arg(reserved)
                .arg(actual)
                .arg(Self::ttl_ms())
                .invoke::<i64>(c)
        })
        .map(drop)
    }

    fn levels(&self, limit: u64) -> Result<Levels> {
        let (spent, reserved, ex): (Option<u64>, Option<u64>, Option<i64>) = self.with(|c| {
            redis::cmd("HMGET")
                .arg(&self.key)
                .arg("spent")
                .arg("reserved")
                .arg("exhausted_at")
                .query(c)
        })?;
        Ok(Levels {
            spent: spent.unwrap_or(0),
            reserved: reserved.unwrap_or(0),
            exhausted: ex.is_some_and(|e| e >= 0 && e as u64 >= limit),
        })
    }
}
