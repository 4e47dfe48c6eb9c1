//! The Redis [`SharedStore`]: a small pool of blocking connections with timeouts, the four
//! limit scripts, and the failure policy (fall back to local limiting, or fail) with recovery.

use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::limit::info::{DimensionInfo, RateLimitInfo};
use crate::limit::redis_scripts::{parse_reserved, parse_state, Scripts};
use crate::limit::store::{ReserveArgs, Reserved, Route, SharedState, SharedStore};
use crate::limit::window::Precision;

/// What the limiter does when Redis cannot be reached or stops answering.
///
/// Either way nothing panics and no call waits longer than the Redis timeout
/// ([`redis_timeout`](crate::ChatLimiterBuilder::redis_timeout)); after a failure Redis is left
/// alone for [`redis_retry_interval`](crate::ChatLimiterBuilder::redis_retry_interval) and
/// then tried again, and shared limiting resumes as soon as it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RedisFailurePolicy {
    /// Keep going with this process's own buckets, starting from the last levels Redis
    /// reported; print one warning on stderr per outage. While Redis is away, processes no
    /// longer see each other, so together they may exceed the limit (the providers' 429s,
    /// which pause the model, are then the safety net). The default.
    #[default]
    FallbackLocal,
    /// Fail every request that needs a reservation with [`Error::Store`](crate::Error::Store)
    /// until Redis answers again: for deployments where exceeding a shared limit is worse
    /// than not sending.
    Fail,
}

/// Connection settings of the Redis store.
#[derive(Debug, Clone)]
pub(crate) struct RedisSettings {
    pub url: String,
    pub policy: RedisFailurePolicy,
    /// Bounds connecting, and each command's write and read.
    pub timeout: Duration,
    /// How long to leave Redis alone after a failure.
    pub retry_interval: Duration,
    /// Idle connections kept (size it for the worker count).
    pub pool_size: usize,
    /// Expiry of each model's key, refreshed on every write.
    pub ttl: Duration,
}

#[derive(Debug, Default)]
struct Health {
    /// Redis failed; do not try again before this instant.
    down_until: Option<Instant>,
    /// The failure was announced on stderr (once per outage).
    announced: bool,
}

/// Bucket state in Redis, shared by every process using the same provider and key.
pub(crate) struct RedisStore {
    client: redis::Client,
    settings: RedisSettings,
    ratios: (f64, f64),
    scripts: Scripts,
    pool: Mutex<Vec<redis::Connection>>,
    health: Mutex<Health>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a Redis password: leave it out.
        f.debug_struct("RedisStore").field("policy", &self.settings.policy).finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Checks the URL; connects lazily, so a Redis that is down at start is a runtime
    /// condition for the policy, not a build error.
    pub(crate) fn new(settings: RedisSettings, ratios: (f64, f64)) -> Result<Self, String> {
        let client = redis::Client::open(settings.url.as_str())
            .map_err(|e| redact_url(&format!("invalid Redis URL: {e}"), &settings.url))?;
        Ok(RedisStore {
            client,
            settings,
            ratios,
            scripts: Scripts::new(),
            pool: Mutex::new(Vec::new()),
            health: Mutex::new(Health::default()),
        })
    }

    /// Runs one script on a pooled connection; any failure marks Redis down.
    fn run(
        &self,
        script: &redis::Script,
        key: &str,
        args: &[String],
    ) -> Result<Vec<String>, String> {
        let result = self.checkout().and_then(|mut conn| {
            let mut inv = script.key(key);
            inv.arg(self.settings.ttl.as_millis().max(1) as u64)
                .arg(self.ratios.0)
                .arg(self.ratios.1);
            for a in args {
                inv.arg(a.as_str());
            }
            let out = inv.invoke::<Vec<String>>(&mut conn)?;
            self.checkin(conn);
            Ok(out)
        });
        match result {
            Ok(out) => {
                self.recovered();
                Ok(out)
            }
            Err(e) => Err(self.failed(&e)),
        }
    }

    fn checkout(&self) -> redis::RedisResult<redis::Connection> {
        if let Some(conn) = self.pool.lock().pop() {
            return Ok(conn);
        }
        let t = self.settings.timeout;
        let conn = self.client.get_connection_with_timeout(t)?;
        conn.set_read_timeout(Some(t))?;
        conn.set_write_timeout(Some(t))?;
        Ok(conn)
    }

    fn checkin(&self, conn: redis::Connection) {
        let mut pool = self.pool.lock();
        if pool.len() < self.settings.pool_size {
            pool.push(conn);
        }
    }

    /// Marks Redis down (dropping pooled connections, which are likely dead too) and says so.
    fn failed(&self, e: &redis::RedisError) -> String {
        // Only the error's kind and detail: never the URL, which may hold a password.
        let detail = redact_url(&e.to_string(), &self.settings.url);
        let msg = format!("Redis limit store unavailable: {detail}");
        self.pool.lock().clear();
        let mut h = self.health.lock();
        h.down_until = Some(Instant::now() + self.settings.retry_interval);
        if !h.announced {
            h.announced = true;
            let then = match self.settings.policy {
                RedisFailurePolicy::FallbackLocal => "limiting locally until it answers again",
                RedisFailurePolicy::Fail => "failing requests until it answers again",
            };
            log::warn!(target: "chat_limiter::store", "Redis limit store unreachable ({detail}); {then}");
        }
        msg
    }

    fn recovered(&self) {
        let mut h = self.health.lock();
        if h.down_until.take().is_some() || h.announced {
            if h.announced {
                log::info!(target: "chat_limiter::store", "Redis limit store is back; limits are shared again");
            }
            h.announced = false;
        }
    }

    fn state(
        &self,
        key: &str,
        script: &redis::Script,
        args: &[String],
    ) -> Result<SharedState, String> {
        let reply = self.run(script, key, args)?;
        parse_state(&reply).map(|(_, s)| s)
    }
}

impl SharedStore for RedisStore {
    fn route(&self) -> Route {
        let h = self.health.lock();
        match h.down_until {
            Some(t) if Instant::now() < t => match self.settings.policy {
                RedisFailurePolicy::FallbackLocal => Route::Local,
                RedisFailurePolicy::Fail => Route::Fail(
                    "Redis limit store unavailable; waiting before trying it again".into(),
                ),
            },
            _ => Route::Shared,
        }
    }

    fn fails_hard(&self) -> bool {
        self.settings.policy == RedisFailurePolicy::Fail
    }

    fn reserve(&self, key: &str, args: &ReserveArgs) -> Result<Reserved, String> {
        let mut a = Vec::with_capacity(12);
        for (cost, init) in args.cost.iter().zip(args.init.iter()) {
            let (limit, rate) = init.unwrap_or((0.0, 0.0));
            a.extend([cost.to_string(), limit.to_string(), rate.to_string()]);
        }
        let reply = self.run(&self.scripts.reserve, key, &a)?;
        parse_reserved(&reply)
    }

    fn settle(&self, key: &str, delta: [i64; 3]) -> Result<SharedState, String> {
        let a: Vec<String> = delta.iter().map(i64::to_string).collect();
        self.state(key, &self.scripts.settle, &a)
    }

    fn sync(&self, key: &str, info: &RateLimitInfo, age: Duration) -> Result<SharedState, String> {
        let dims = [&info.requests, &info.tokens, &info.input_tokens, &info.output_tokens];
        let mut a = Vec::with_capacity(12);
        for (i, d) in dims.into_iter().enumerate() {
            a.extend(sync_args(d, &Precision::of(info, i, Some(age))));
        }
        self.state(key, &self.scripts.sync, &a)
    }

    fn pause(&self, key: &str, d: Duration) -> Result<SharedState, String> {
        let ms = d.as_secs_f64() * 1000.0;
        self.state(key, &self.scripts.pause, &[ms.to_string()])
    }
}

/// Removes the URL (which may hold a password) from an error message, should the Redis
/// client ever echo it.
fn redact_url(msg: &str, url: &str) -> String {
    if url.is_empty() {
        return msg.to_string();
    }
    msg.replace(url, "<redis url>")
}

/// (limit or 0, remaining or -1, window seconds or 0) for the sync script.
///
/// The shared state keeps no record of how precise its window is, so only windows known to
/// within 2% are sent; coarser ones would make the shared rate wobble.
fn sync_args(d: &DimensionInfo, precision: &Precision) -> [String; 3] {
    let limit = d.limit.filter(|&l| l > 0);
    let window = match (limit, d.remaining, d.reset) {
        (Some(l), Some(r), Some(reset)) => crate::limit::window::bracket(l, r, reset, precision)
            .filter(|&(lo, hi)| hi.is_finite() && (hi - lo) / hi <= 0.02)
            .map_or(0.0, |(_, hi)| hi),
        _ => 0.0,
    };
    let remaining = d.remaining.map_or(-1.0, |r| r as f64);
    [limit.unwrap_or(0).to_string(), remaining.to_string(), window.to_string()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_args_encode_unknowns() {
        let ms = Precision { resolution: Duration::from_millis(1), ..Precision::EXACT };
        assert_eq!(sync_args(&DimensionInfo::default(), &ms), ["0", "-1", "0"]);
        let d = DimensionInfo {
            limit: Some(500),
            remaining: Some(499),
            reset: Some(Duration::from_millis(120)),
        };
        assert_eq!(sync_args(&d, &ms), ["500", "499", "0"], "one request: window not pinned down");
        let d = DimensionInfo {
            limit: Some(40_000),
            remaining: Some(39_880),
            reset: Some(Duration::from_millis(180)),
        };
        let [_, _, w] = sync_args(&d, &ms);
        let w: f64 = w.parse().unwrap();
        assert!((60.0..61.0).contains(&w), "{w}");
    }

    #[test]
    fn bad_urls_are_refused_without_echoing_them() {
        let s = RedisSettings {
            url: "nope://user:hunter2@host".into(),
            policy: RedisFailurePolicy::Fail,
            timeout: Duration::from_millis(100),
            retry_interval: Duration::from_secs(1),
            pool_size: 4,
            ttl: Duration::from_secs(60),
        };
        let e = RedisStore::new(s, (1.0, 1.0)).unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
    }
}
