//! The response cache's two figures, side by side in one run: how many requests per second
//! a hit serves, and what a miss costs over no cache at all.
//!
//! ```text
//! cargo run --release --example cache_bench                 # 480 requests, 200 ms latency
//! cargo run --release --example cache_bench -- 960 300      # more requests, other latency
//! ```
//!
//! The server is the in-process emulator with no limits. Hits: a SQLite cache (and, for
//! comparison, the in-memory store) filled with 1,000 answers, then read back by 1 and 8
//! threads through `chat_completion`. Misses: the same batch of unique, deterministic
//! prompts over 16 workers against the emulator at a provider-like latency, with no cache
//! and with a SQLite cache (every call a lookup that misses plus a store), three interleaved
//! rounds each (both warmed up first), medians; and the same at zero latency, where the difference is the cache's
//! whole cost per call in microseconds.

use std::time::{Duration, Instant};

use chat_limiter::{
    process_chat_completion_batch, BatchConfig, Cache, ChatCompletionRequest, ChatLimiter, Message,
    Provider,
};
use chat_limiter_emulator::Emulator;

const MODEL: &str = "gpt-4o-mini";
const ROUNDS: usize = 3;
const WORKERS: usize = 16;
const FILLED: usize = 1000;

fn request(tag: &str, i: usize) -> ChatCompletionRequest {
    ChatCompletionRequest::new(MODEL, vec![Message::user(format!("{tag} question {i}"))])
        .max_tokens(16)
        .temperature(0.0)
}

fn limiter(emu: &Emulator, cache: Option<&Cache>) -> ChatLimiter {
    let mut b = ChatLimiter::builder()
        .provider(Provider::OpenAI)
        .model(MODEL)
        .api_key("sk-bench")
        .base_url(emu.base_url())
        .max_in_flight(WORKERS as u32 * 2);
    if let Some(c) = cache {
        b = b.cache(c.clone());
    }
    b.build().expect("limiter")
}

/// Seconds to run `n` unique requests (tagged `tag`) over the worker pool.
fn batch_secs(l: &ChatLimiter, tag: &str, n: usize) -> f64 {
    let requests: Vec<_> = (0..n).map(|i| request(tag, i)).collect();
    let config = BatchConfig::default().max_workers(WORKERS).max_concurrent_requests(WORKERS);
    let t0 = Instant::now();
    let results = process_chat_completion_batch(l, requests, &config).expect("batch");
    let secs = t0.elapsed().as_secs_f64();
    assert!(results.iter().all(|r| r.success()), "every request succeeded");
    secs
}

/// Requests per second served from `cache` (already holding `FILLED` answers) by `threads`.
fn hit_rate(l: &ChatLimiter, threads: usize) -> f64 {
    let per = 20_000 / threads;
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            s.spawn(move || {
                for i in 0..per {
                    let r = l.chat_completion(&request("fill", (i * 7 + t) % FILLED)).expect("hit");
                    assert!(r.cached);
                }
            });
        }
    });
    (per * threads) as f64 / t0.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median seconds without and with a SQLite cache (all misses), interleaved rounds.
fn miss_rounds(emu: &Emulator, dir: &std::path::Path, n: usize, name: &str) -> (f64, f64) {
    let plain = limiter(emu, None);
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let cache = Cache::sqlite(dir.join(format!("{name}-{round}.db"))).expect("cache");
        let cached = limiter(emu, Some(&cache));
        // Warm both (connections to the server and to the file): the one-time costs of a
        // start are not the cost of a miss.
        batch_secs(&plain, &format!("{name} warm plain {round}"), WORKERS);
        batch_secs(&cached, &format!("{name} warm cached {round}"), WORKERS);
        cache.prune(Duration::ZERO).expect("empty the cache again");
        let base = cache.counters();
        without.push(batch_secs(&plain, &format!("{name} plain {round}"), n));
        with.push(batch_secs(&cached, &format!("{name} cached {round}"), n));
        let c = cache.counters();
        assert_eq!(c.misses - base.misses, n as u64, "every call was a miss");
        assert_eq!(c.writes - base.writes, n as u64);
    }
    (median(without), median(with))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(480);
    let latency_ms: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let dir = std::env::temp_dir().join(format!("chat-limiter-cache-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch folder");

    // Hits.
    let fast = Emulator::openai().unlimited().start().expect("emulator");
    let sqlite = Cache::sqlite(dir.join("hits.db")).expect("cache");
    let memory = Cache::memory();
    let mut hit_rows = Vec::new();
    for (name, cache) in [("SQLite", &sqlite), ("memory", &memory)] {
        let l = limiter(&fast, Some(cache));
        batch_secs(&l, "fill", FILLED);
        for threads in [1, 8] {
            hit_rows.push((name, threads, hit_rate(&l, threads)));
        }
    }

    // Misses, at zero and at provider-like latency.
    let (zero_plain, zero_cached) = miss_rounds(&fast, &dir, n, "zero");
    let slow = Emulator::openai()
        .unlimited()
        .latency(Duration::from_millis(latency_ms), Duration::ZERO)
        .start()
        .expect("emulator");
    let (slow_plain, slow_cached) = miss_rounds(&slow, &dir, n, "slow");
    let _ = std::fs::remove_dir_all(&dir);

    println!("| measurement | figure |");
    println!("|---|---|");
    for (name, threads, rate) in hit_rows {
        println!(
            "| hits served from the {name} cache, {threads} thread(s) | {rate:.0} requests/s |"
        );
    }
    let per_miss_us = (zero_cached - zero_plain) / n as f64 * 1e6;
    println!(
        "| {n} misses, {WORKERS} workers, 0 ms latency: no cache / SQLite cache | {:.3} s / {:.3} s ({:+.1}%; {per_miss_us:+.0} µs of batch time per miss) |",
        zero_plain,
        zero_cached,
        (zero_cached / zero_plain - 1.0) * 100.0
    );
    println!(
        "| {n} misses, {WORKERS} workers, {latency_ms} ms latency: no cache / SQLite cache | {:.3} s / {:.3} s ({:+.2}%) |",
        slow_plain,
        slow_cached,
        (slow_cached / slow_plain - 1.0) * 100.0
    );
}
