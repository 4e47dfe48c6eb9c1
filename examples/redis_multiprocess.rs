//! Benchmark: N processes share one API key's request limit through Redis.
//!
//! The parent starts a private `redis-server` (or uses `REDIS_URL`) and the crate's OpenAI
//! emulator enforcing R requests per minute, then re-runs itself as N child processes with W
//! worker threads each, splitting one batch between them. It does this twice: with the Redis
//! backend, and with in-memory limiters that each believe they own the whole limit. Then it
//! measures the Redis backend's added latency and round trips per request on an
//! unconstrained run.
//!
//! ```text
//! cargo run --release --example redis_multiprocess --features redis -- [N] [W] [RPM] [ITEMS]
//! ```
//!
//! `BENCH_RATIO=0.995` makes the clients use 99.5 % of the limit (the request buffer ratio).

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_limiter::{ChatCompletionRequest, ChatLimiter, Message, Provider};
use chat_limiter_emulator::Emulator;

const LATENCY: Duration = Duration::from_millis(100);
const KEY: &str = "sk-bench-not-a-real-key";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("child") {
        return child(&args[1..]);
    }
    let num = |i: usize, d: u64| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let (procs, workers, rpm, items) = (num(0, 4), num(1, 16), num(2, 1200), num(3, 1500));
    let _redis_guard;
    let redis = match std::env::var("REDIS_URL") {
        Ok(u) => u,
        Err(_) => {
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            _redis_guard = KillOnDrop(
                Command::new("redis-server")
                    .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                    .args(["--save", "", "--appendonly", "no"])
                    .stdout(Stdio::null())
                    .spawn()
                    .expect("redis-server must be installed (or set REDIS_URL)"),
            );
            std::thread::sleep(Duration::from_millis(300));
            format!("redis://127.0.0.1:{port}/")
        }
    };
    // A perfect limiter sends the first RPM at once (the bucket starts full), the rest at
    // the refill rate, and waits one latency for the last answer.
    let ideal = (items.saturating_sub(rpm) as f64) * 60.0 / rpm as f64 + LATENCY.as_secs_f64();
    println!("{procs} processes x {workers} workers, {items} requests, limit {rpm} RPM");
    println!("ideal wall time {ideal:.2} s");
    for (label, url) in [("redis", redis.as_str()), ("in-memory", "-")] {
        let server = Emulator::openai()
            .rpm(rpm)
            .tpm(1_000_000_000)
            .latency(LATENCY, Duration::ZERO)
            .start()
            .expect("emulator");
        let base_url = server.base_url();
        let started = Instant::now();
        let children: Vec<_> = (0..procs)
            .map(|p| {
                let share = items / procs + u64::from(p < items % procs);
                Command::new(std::env::current_exe().unwrap())
                    .args(["child", &base_url, url, &share.to_string()])
                    .args([workers.to_string(), rpm.to_string()])
                    .spawn()
                    .expect("spawn child")
            })
            .collect();
        for mut c in children {
            c.wait().unwrap();
        }
        let wall = started.elapsed().as_secs_f64();
        let stats = server.stats();
        println!(
            "{label:>9}: wall {wall:.2} s, efficiency {:.3}, 200s {}, 429s {}",
            ideal / wall,
            stats.accepted,
            stats.rate_limited
        );
    }
    overhead(&redis);
}

/// One child process: `workers` threads share one limiter and `items` requests.
fn child(args: &[String]) {
    let (url, redis, items) = (&args[0], &args[1], args[2].parse::<usize>().unwrap());
    let (workers, rpm) = (args[3].parse::<usize>().unwrap(), args[4].parse::<u32>().unwrap());
    let mut b = ChatLimiter::builder()
        .provider(Provider::OpenAI)
        .api_key(KEY)
        .base_url(url.as_str())
        .request_limit(rpm)
        .max_retries(20)
        .request_buffer_ratio(ratio())
        .redis_pool_size(workers as u32);
    if redis != "-" {
        b = b.redis(redis.as_str());
    }
    let limiter = b.build().unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..workers)
        .map(|_| {
            let (l, next) = (limiter.clone(), Arc::clone(&next));
            std::thread::spawn(move || {
                while next.fetch_add(1, Ordering::SeqCst) < items {
                    let req = ChatCompletionRequest::new("gpt-4o-mini", vec![Message::user("hi")])
                        .max_tokens(5);
                    if let Err(e) = l.chat_completion(&req) {
                        eprintln!("request failed: {e}");
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

/// `BENCH_RATIO`: the share of the limit the clients use (default 1, the whole limit).
fn ratio() -> f64 {
    std::env::var("BENCH_RATIO").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0)
}

/// Added latency and Redis commands per request, on a limit that never makes anyone wait.
fn overhead(redis: &str) {
    let server =
        Emulator::openai().rpm(1_000_000_000).tpm(1_000_000_000_000).start().expect("emulator");
    let base_url = server.base_url();
    let n = 2000;
    let mut per = [0.0; 2];
    for (i, url) in [Some(redis), None].into_iter().enumerate() {
        let mut b = ChatLimiter::builder()
            .provider(Provider::OpenAI)
            .api_key(KEY)
            .base_url(base_url.as_str())
            .request_limit(1_000_000_000);
        if let Some(u) = url {
            b = b.redis(u);
        }
        let l = b.build().unwrap();
        let req = ChatCompletionRequest::new("gpt-4o-mini", vec![Message::user("hi")]);
        l.chat_completion(&req).unwrap(); // warm up connections and scripts
        let calls_before = script_calls(redis);
        let started = Instant::now();
        for _ in 0..n {
            l.chat_completion(&req.clone().max_tokens(5)).unwrap();
        }
        per[i] = started.elapsed().as_secs_f64() / n as f64;
        if url.is_some() {
            let calls = script_calls(redis) - calls_before;
            println!("redis round trips per request: {:.2}", calls as f64 / n as f64);
        }
    }
    println!(
        "sequential request: {:.0} us with redis, {:.0} us in-memory: +{:.0} us per request",
        per[0] * 1e6,
        per[1] * 1e6,
        (per[0] - per[1]) * 1e6
    );
}

/// EVAL and EVALSHA calls Redis has served.
fn script_calls(url: &str) -> u64 {
    let mut conn = redis::Client::open(url).unwrap().get_connection().unwrap();
    let info: String = redis::cmd("INFO").arg("commandstats").query(&mut conn).unwrap();
    info.lines()
        .filter(|l| l.starts_with("cmdstat_evalsha:") || l.starts_with("cmdstat_eval:"))
        .filter_map(|l| l.split("calls=").nth(1)?.split(',').next()?.parse::<u64>().ok())
        .sum()
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
