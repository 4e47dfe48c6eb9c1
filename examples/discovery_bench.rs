//! Benchmark: limits the happy path does not tell, at default settings.
//!
//! Each row runs one job against the emulator with nothing configured in the client and
//! prints it beside the ideal (the server's own buckets admitting every request as early as
//! they allow, plus the last answer's latency; see `bench_support/ideal.rs`):
//!
//! - `openrouter 10 s cold`: OpenRouter, 100 requests per 10 s, no rate-limit headers on
//!   success, `X-RateLimit-*` only on 429s, `GET /key` reporting the interval;
//! - `429-only 1 min`: an OpenAI-compatible server with 120 requests a minute that sends its
//!   `x-ratelimit-*` headers only on 429s;
//! - `429-only 10 s, 70`: the same dialect, 70 requests per 10 s: a limit just past a doubling
//!   of the slow start's window, its worst case; and `429-only 10 s, 500`, a larger limit;
//! - `anthropic cold, 529 first`: Anthropic whose first answer is a 529 with no headers;
//! - `daily cap (fail)` and `daily cap (wait)`: 100 requests a day, hit mid-run; with
//!   `LongWait::Fail` the run stops with every unsent line unsent, with `LongWait::Wait` it
//!   pauses and says until when (the bench then stops it, a day being long).
//!
//! Run: `cargo run --release --example discovery_bench` (about four minutes); `-- NAME` runs
//! only the rows whose name contains NAME.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chat_limiter::{
    process_chat_completion_stream, BatchConfig, ChatCompletionRequest, ChatLimiter, LongWait,
    Message, Provider,
};
use chat_limiter_emulator::{Emulator, EmulatorBuilder, FaultKind, HeaderDialect};

#[path = "bench_support/ideal.rs"]
mod ideal;
use ideal::{simulate, Bucket, Item};

const LATENCY: Duration = Duration::from_millis(100);

/// The warnings the library logs (a daily cap's "resuming at ...").
static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;
impl log::Log for Capture {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::Level::Warn
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            WARNINGS.lock().unwrap().push(r.args().to_string());
        }
    }
    fn flush(&self) {}
}

struct Row {
    name: &'static str,
    emulator: EmulatorBuilder,
    provider: Provider,
    model: &'static str,
    items: usize,
    /// The server's request bucket: (capacity, window seconds).
    bucket: (f64, f64),
    long_wait: LongWait,
    /// Stop the run this long after it starts (the daily cap that waits).
    stop_after: Option<Duration>,
}

/// An OpenAI-compatible server with `limit` requests per 10 s that sends its headers only on
/// 429s, and `items` requests for it.
fn only_on_429(name: &'static str, limit: u64, items: usize) -> Row {
    Row {
        name,
        emulator: Emulator::openai()
            .requests_per(limit, Duration::from_secs(10))
            .header_dialect(HeaderDialect::OnlyOn429),
        provider: Provider::OpenAI,
        model: "gpt-4o-mini",
        items,
        bucket: (limit as f64, 10.0),
        long_wait: LongWait::Wait,
        stop_after: None,
    }
}

fn main() {
    let _ = log::set_logger(&Capture).map(|()| log::set_max_level(log::LevelFilter::Warn));
    let rows = [
        Row {
            name: "openrouter 10 s cold",
            emulator: Emulator::openrouter().requests_per(100, Duration::from_secs(10)),
            provider: Provider::OpenRouter,
            model: "openai/gpt-4o-mini",
            items: 300,
            bucket: (100.0, 10.0),
            long_wait: LongWait::Wait,
            stop_after: None,
        },
        Row {
            name: "429-only 1 min",
            emulator: Emulator::openai().rpm(120).header_dialect(HeaderDialect::OnlyOn429),
            provider: Provider::OpenAI,
            model: "gpt-4o-mini",
            items: 360,
            bucket: (120.0, 60.0),
            long_wait: LongWait::Wait,
            stop_after: None,
        },
        // The same dialect with a limit just past a doubling of the slow start's window (62
        // requests in the first five round trips, 126 in six): the worst alignment.
        only_on_429("429-only 10 s, 70", 70, 210),
        // A larger limit: the window in flight when it is crossed is larger too.
        only_on_429("429-only 10 s, 500", 500, 1500),
        Row {
            name: "anthropic cold, 529 first",
            emulator: Emulator::anthropic().rpm(100).first_faults(vec![FaultKind::Status529]),
            provider: Provider::Anthropic,
            model: "claude-haiku-4-5",
            items: 200,
            bucket: (100.0, 60.0),
            long_wait: LongWait::Wait,
            stop_after: None,
        },
        Row {
            name: "daily cap (fail)",
            emulator: Emulator::openai().rpd(100).rpm(10_000),
            provider: Provider::OpenAI,
            model: "gpt-4o-mini",
            items: 150,
            bucket: (100.0, 86_400.0),
            long_wait: LongWait::Fail,
            stop_after: None,
        },
        Row {
            name: "daily cap (wait)",
            emulator: Emulator::openai().rpd(100).rpm(10_000),
            provider: Provider::OpenAI,
            model: "gpt-4o-mini",
            items: 150,
            bucket: (100.0, 86_400.0),
            long_wait: LongWait::Wait,
            stop_after: Some(Duration::from_secs(5)),
        },
    ];
    println!("| case | answered | unsent | ideal s | wall s | efficiency | 429s | 429s % |");
    println!("|---|---|---|---|---|---|---|---|");
    // `-- NAME` runs only the rows whose name contains NAME.
    let only = std::env::args().nth(1);
    for row in rows {
        if only.as_deref().is_none_or(|o| row.name.contains(o)) {
            run(row);
        }
    }
    for w in WARNINGS.lock().unwrap().iter() {
        println!("\nlogged: {w}");
    }
}

fn run(row: Row) {
    let emu = row
        .emulator
        .api_key("sk-bench-discovery")
        .latency(LATENCY, Duration::ZERO)
        .start()
        .expect("emulator");
    let limiter = ChatLimiter::builder()
        .provider(row.provider)
        .api_key("sk-bench-discovery")
        .base_url(emu.base_url())
        .long_wait(row.long_wait)
        .build()
        .expect("limiter");
    let requests: Vec<ChatCompletionRequest> = (0..row.items)
        .map(|i| {
            let q = format!("discovery question {i}");
            ChatCompletionRequest::new(row.model, vec![Message::user(q)]).max_tokens(8)
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    if let Some(after) = row.stop_after {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            std::thread::sleep(after);
            stop.store(true, Ordering::SeqCst);
        });
    }
    let config = BatchConfig::default().stop(Arc::clone(&stop));
    let started = Instant::now();
    let (mut answered, mut unsent) = (0usize, 0usize);
    process_chat_completion_stream(&limiter, requests, &config, None, |r| {
        if r.success() {
            answered += 1;
        } else if r.attempts == 0
            || matches!(r.result, Err(chat_limiter::Error::WaitTooLong { .. }))
        {
            unsent += 1;
        }
    })
    .expect("batch");
    let wall = started.elapsed().as_secs_f64();
    let (cap, window) = row.bucket;
    let sent = answered.min(row.items);
    let items =
        vec![Item { charge: vec![1.0], refund: vec![0.0], latency: LATENCY.as_secs_f64() }; sent];
    let ideal = simulate(&[Bucket { cap, rate: cap / window }], &items);
    let rejected = emu.stats().rate_limited;
    let requests = emu.stats().requests.max(1);
    // A daily cap's rows are about stopping or waiting, not speed: no efficiency there.
    let (ideal, efficiency) = if row.bucket.1 >= 86_400.0 {
        ("-".to_string(), "-".to_string())
    } else {
        (format!("{ideal:.1}"), format!("{:.3}", ideal / wall))
    };
    println!(
        "| {} | {answered} | {unsent} | {ideal} | {wall:.1} | {efficiency} | {rejected} | {:.1}% |",
        row.name,
        100.0 * rejected as f64 / requests as f64
    );
}
