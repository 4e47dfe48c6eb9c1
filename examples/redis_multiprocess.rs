//! Benchmark: N processes share one API key's request limit through Redis.
//!
//! The parent starts a private `redis-server` (or uses `REDIS_URL`) and a small stand-in for
//! the provider that enforces R requests per minute (continuous refill, OpenAI headers, 429
//! with `retry-after-ms`), then re-runs itself as N child processes with W worker threads
//! each, splitting one batch between them. It does this twice: with the Redis backend, and
//! with in-memory limiters that each believe they own the whole limit. Then it measures the
//! Redis backend's added latency and round trips per request on an unconstrained run.
//!
//! The stand-in is used until the crate's emulator (feature `emulator`) is merged into this
//! branch; it only does what the benchmark needs.
//!
//! ```text
//! cargo run --release --example redis_multiprocess --features redis -- [N] [W] [RPM] [ITEMS]
//! ```
//!
//! `BENCH_RATIO=0.995` makes the clients use 99.5 % of the limit (the request buffer ratio).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_limiter::{ChatCompletionRequest, ChatLimiter, Message, Provider};
use parking_lot::Mutex;

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
        let server = Stub::start(rpm as f64, LATENCY);
        let started = Instant::now();
        let children: Vec<_> = (0..procs)
            .map(|p| {
                let share = items / procs + u64::from(p < items % procs);
                Command::new(std::env::current_exe().unwrap())
                    .args(["child", &server.url, url, &share.to_string()])
                    .args([workers.to_string(), rpm.to_string()])
                    .spawn()
                    .expect("spawn child")
            })
            .collect();
        for mut c in children {
            c.wait().unwrap();
        }
        let wall = started.elapsed().as_secs_f64();
        println!(
            "{label:>9}: wall {wall:.2} s, efficiency {:.3}, 200s {}, 429s {}",
            ideal / wall,
            server.ok.load(Ordering::SeqCst),
            server.rejected.load(Ordering::SeqCst)
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
    let server = Stub::start(1e9, Duration::ZERO);
    let n = 2000;
    let mut per = [0.0; 2];
    for (i, url) in [Some(redis), None].into_iter().enumerate() {
        let mut b = ChatLimiter::builder()
            .provider(Provider::OpenAI)
            .api_key(KEY)
            .base_url(server.url.as_str())
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

/// The stand-in provider: one continuous-refill request bucket of `rpm` per minute.
struct Stub {
    url: String,
    ok: Arc<AtomicU64>,
    rejected: Arc<AtomicU64>,
}

impl Stub {
    fn start(rpm: f64, latency: Duration) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let (ok, rejected) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let bucket = Arc::new(Mutex::new((rpm, Instant::now())));
        let (o, r) = (Arc::clone(&ok), Arc::clone(&rejected));
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (o, r, b) = (Arc::clone(&o), Arc::clone(&r), Arc::clone(&bucket));
                std::thread::spawn(move || serve(conn, rpm, latency, &b, &o, &r));
            }
        });
        Stub { url, ok, rejected }
    }
}

fn serve(
    conn: TcpStream,
    rpm: f64,
    latency: Duration,
    bucket: &Mutex<(f64, Instant)>,
    ok: &AtomicU64,
    rejected: &AtomicU64,
) {
    let rate = rpm / 60.0;
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut out = conn;
    let mut line = String::new();
    loop {
        let mut len = 0;
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line.trim_end().is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let (admitted, level) = {
            let mut b = bucket.lock();
            let now = Instant::now();
            b.0 = (b.0 + (now - b.1).as_secs_f64() * rate).min(rpm);
            b.1 = now;
            let admitted = b.0 >= 1.0;
            if admitted {
                b.0 -= 1.0;
            }
            (admitted, b.0)
        };
        let reset_ms = ((rpm - level) / rate * 1000.0).ceil() as u64;
        let mut head = format!(
            "x-ratelimit-limit-requests: {rpm}\r\nx-ratelimit-remaining-requests: {}\r\n\
             x-ratelimit-reset-requests: {reset_ms}ms\r\n",
            level.max(0.0) as u64
        );
        let (status, body) = if admitted {
            ok.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(latency);
            (
                200,
                r#"{"id":"c","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":5,"total_tokens":10}}"#,
            )
        } else {
            rejected.fetch_add(1, Ordering::SeqCst);
            let wait = ((1.0 - level) / rate * 1000.0).ceil() as u64;
            head.push_str(&format!("retry-after-ms: {wait}\r\n"));
            (
                429,
                r#"{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
            )
        };
        let resp = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{head}\r\n{body}",
            body.len()
        );
        if out.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}
