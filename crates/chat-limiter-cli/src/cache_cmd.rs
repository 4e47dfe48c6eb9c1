//! The response cache on the command line: `run --cache PATH` (with `--cache-policy`,
//! `--cache-max-age`, `--cache-nondeterministic`), and `chat-limiter cache stats|prune PATH`.
//!
//! PATH is a SQLite file (created when missing); with the `redis` feature, a `redis://` or
//! `rediss://` URL names a Redis shared across hosts instead.

use std::path::PathBuf;
use std::time::Duration;

use chat_limiter::{Cache, CachePolicy, ChatLimiter};
use clap::{Args, Subcommand};

use crate::logger::say;
use crate::via_auto::parse_deadline;
use crate::Fatal;

/// The cache flags of `run`.
#[derive(Debug, Clone, Default, Args)]
pub struct CacheFlags {
    /// Answer repeated deterministic requests from this response cache (a SQLite file, or a
    /// redis:// URL with the `redis` feature) and store new answers in it.
    #[arg(long, value_name = "PATH")]
    pub cache: Option<String>,
    /// `read-write`, `read-only` (never store) or `refresh` (always send, store the new answer).
    #[arg(long, value_name = "POLICY", requires = "cache", value_parser = policy_parser(),
          default_value = policy_name(CachePolicy::default()))]
    pub cache_policy: Option<CachePolicy>,
    /// Entries older than this are sent again (`90s`, `30m`, `2h`, `7d`; default: no limit).
    #[arg(long, value_name = "AGE", requires = "cache")]
    pub cache_max_age: Option<String>,
    /// Also cache non-deterministic requests (temperature above 0, or unset, and no seed):
    /// a rerun then replays one sample instead of drawing a new one.
    #[arg(long, requires = "cache")]
    pub cache_nondeterministic: bool,
}

fn policy_name(p: CachePolicy) -> &'static str {
    match p {
        CachePolicy::ReadOnly => "read-only",
        CachePolicy::Refresh => "refresh",
        _ => "read-write",
    }
}

fn policy_parser() -> impl clap::builder::TypedValueParser<Value = CachePolicy> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(["read-write", "read-only", "refresh"])
        .try_map(|s| s.parse::<CachePolicy>())
}

/// A duration flag (`90s`, `30m`, `2h`, `7d`) named `flag` in its errors.
fn duration(flag: &str, text: &str) -> Result<Duration, Fatal> {
    parse_deadline(text).map_err(|e| Fatal::usage(e.replace("--deadline", flag)))
}

/// Opens the store PATH names: a Redis URL or a SQLite file.
fn open_store(path: &str) -> Result<Cache, Fatal> {
    if path.starts_with("redis://") || path.starts_with("rediss://") {
        #[cfg(feature = "redis")]
        return Ok(Cache::redis(path)?);
        #[cfg(not(feature = "redis"))]
        return Err(Fatal::usage(
            "a redis:// cache needs a chat-limiter built with the `redis` feature",
        ));
    }
    Ok(Cache::sqlite(path)?)
}

/// The cache `run` uses, if any.
pub fn open(flags: &CacheFlags) -> Result<Option<Cache>, Fatal> {
    let Some(path) = &flags.cache else { return Ok(None) };
    let mut cache = open_store(path)?
        .policy(flags.cache_policy.unwrap_or_default())
        .cache_nondeterministic(flags.cache_nondeterministic);
    if let Some(age) = &flags.cache_max_age {
        cache = cache.max_age(duration("--cache-max-age", age)?);
    }
    Ok(Some(cache))
}

/// After a run: what the cache did, and why lines were not cached (nothing silent).
pub fn report(limiter: &ChatLimiter) {
    let Some(cache) = limiter.cache() else { return };
    let c = cache.counters();
    say(&format!(
        "  cache: {} answered from the cache, {} sent, {} stored, {} not cacheable, {} errors\n",
        c.hits, c.misses, c.writes, c.skipped, c.errors
    ));
    if c.skipped > 0 {
        say(&format!(
            "  cache: {} requests were non-deterministic (temperature above 0 or unset, no seed) \
             and were neither looked up nor stored; --cache-nondeterministic caches them\n",
            c.skipped
        ));
    }
}

/// `chat-limiter cache`.
#[derive(Debug, Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    command: CacheCommand,
}

#[derive(Debug, Subcommand)]
enum CacheCommand {
    /// How many entries the cache holds, their size and ages.
    Stats {
        /// The cache (a SQLite file, or a redis:// URL).
        path: String,
    },
    /// Removes entries older than --max-age, or all of them with --all.
    Prune {
        /// The cache (a SQLite file, or a redis:// URL).
        path: String,
        /// Remove entries older than this (`90s`, `30m`, `2h`, `7d`).
        #[arg(long, value_name = "AGE", required_unless_present = "all", conflicts_with = "all")]
        max_age: Option<String>,
        /// Remove every entry.
        #[arg(long)]
        all: bool,
    },
}

/// Runs `chat-limiter cache ...`; prints to stdout.
pub fn cache(args: &CacheArgs) -> Result<u8, Fatal> {
    let path = match &args.command {
        CacheCommand::Stats { path } | CacheCommand::Prune { path, .. } => path,
    };
    let local = !path.contains("://");
    if local && !PathBuf::from(path).is_file() {
        return Err(Fatal::usage(format!("no cache at {path}")));
    }
    let cache = open_store(path)?;
    let failed = |e: chat_limiter::Error| Fatal::failed(e.to_string());
    match &args.command {
        CacheCommand::Stats { .. } => {
            let s = cache.stats().map_err(failed)?;
            let now = now_ms();
            let age = |t: Option<u64>| t.map_or("-".into(), |t| ago(now.saturating_sub(t)));
            println!("entries {}", s.entries);
            println!("bytes {}", s.bytes);
            println!("oldest {}", age(s.oldest_ms));
            println!("newest {}", age(s.newest_ms));
        }
        CacheCommand::Prune { max_age, all, .. } => {
            let older = if *all {
                Duration::ZERO
            } else {
                // clap requires one of --max-age and --all.
                duration("--max-age", max_age.as_deref().unwrap_or_default())?
            };
            let n = cache.prune(older).map_err(failed)?;
            println!("removed {n}");
        }
    }
    Ok(0)
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `3h12m ago`, `45s ago`.
fn ago(ms: u64) -> String {
    let s = ms / 1000;
    match (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60) {
        (0, 0, 0, sec) => format!("{sec}s ago"),
        (0, 0, m, sec) => format!("{m}m{sec}s ago"),
        (0, h, m, _) => format!("{h}h{m:02}m ago"),
        (d, h, _, _) => format!("{d}d{h:02}h ago"),
    }
}
