//! Batch benchmark: how close to the provider's limits does a batch run?
//!
//! Runs batches against the emulator and prints, side by side: wall time, the ideal time for
//! that workload under those limits, efficiency = ideal / wall, 429s, retries and the peak of
//! requests in flight seen by the server, the workers the batch started, and the process's peak
//! threads and resident memory (emulator included: it runs in this process, one thread per
//! connection) and the loopback sockets left in TIME_WAIT (connections not reused).
//!
//! The ideal is a simulation of the *server's* buckets (the same accounting as the emulator:
//! RPM, TPM charged `ceil(chars/4) + max_tokens` at admission, Anthropic OTPM reserving
//! `max_tokens` and refunding the unused part when the answer is complete) admitting the
//! requests in input order as early as the buckets allow, plus the last answer's latency.
//! It assumes unlimited concurrency, so it is a lower bound on any client's wall time.
//!
//! Run: `cargo run --release --example batch_bench`
//! (about seven minutes: per-minute buckets start full, so a run must last more than a
//! minute's worth of limit before the rate binds). `--only TEXT` (repeatable) runs the rows
//! whose name contains TEXT, e.g. `--only Burst --only "in flight:" --only "Low latency"`.

use std::time::{Duration, Instant};

use chat_limiter::{
    process_chat_completion_stream, BatchConfig, ChatCompletionRequest, ChatLimiter, Message,
    Provider,
};
use chat_limiter_emulator::{Emulator, EmulatorBuilder, OutputLen};

#[path = "bench_support/ideal.rs"]
mod ideal;
#[path = "bench_support/peak.rs"]
mod peak;
#[path = "bench_support/scale_cases.rs"]
mod scale_cases;
#[path = "bench_support/workload.rs"]
mod workload;
use ideal::{simulate, Bucket, Item};
use workload::prompt;

struct Case {
    name: &'static str,
    emulator: EmulatorBuilder,
    provider: Provider,
    model: &'static str,
    items: Vec<(String, u32)>,
    /// Server buckets for the simulation: (capacity, window seconds).
    buckets: Vec<(f64, f64)>,
    /// Actual output per request as a fraction of max_tokens (the emulator's OutputLen).
    output_fraction: f64,
    latency: (Duration, Duration),
    configure: Configure,
    /// The batch's settings (`BatchConfig::default()` unless the row is about them).
    batch: fn() -> BatchConfig,
    naive_rpm: Option<u64>,
    /// The server fails some attempts after charging them: the ideal then counts every attempt
    /// it received (a client that loses nothing must send a failed item again).
    faults: bool,
}

/// Alternating blocks: 100 small requests (RPM binds), 25 large ones (TPM binds).
fn mixed(pairs: usize) -> Vec<(String, u32)> {
    let mut v = Vec::new();
    for p in 0..pairs {
        for i in 0..100 {
            v.push((prompt(40, p * 1000 + i), 10));
        }
        for i in 0..25 {
            v.push((prompt(400, p * 1000 + 500 + i), 100));
        }
    }
    v
}

type Configure = fn(chat_limiter::ChatLimiterBuilder) -> chat_limiter::ChatLimiterBuilder;

fn keep(b: chat_limiter::ChatLimiterBuilder) -> chat_limiter::ChatLimiterBuilder {
    b
}

/// OpenAI, 300 RPM and 12,000 TPM, mixed blocks: RPM and TPM bind in turn.
fn mixed_case(name: &'static str, configure: Configure, naive_rpm: Option<u64>) -> Case {
    Case {
        name,
        emulator: Emulator::openai().rpm(300).tpm(12_000).output_len(OutputLen::Max),
        provider: Provider::OpenAI,
        model: "gpt-4o-mini",
        items: mixed(4),
        buckets: vec![(300.0, 60.0), (12_000.0, 60.0)],
        output_fraction: 1.0,
        latency: (Duration::from_millis(20), Duration::ZERO),
        configure,
        batch: BatchConfig::default,
        naive_rpm,
        faults: false,
    }
}

/// 2 s latency at 100 requests per second (a 200-request bucket over 2 s): 200+ in flight.
fn latency_case(name: &'static str, configure: Configure) -> Case {
    Case {
        name,
        emulator: Emulator::openai()
            .requests_per(200, Duration::from_secs(2))
            .tpm(10_000_000)
            .output_len(OutputLen::Fraction(0.5)),
        provider: Provider::OpenAI,
        model: "gpt-4o-mini",
        items: (0..3_000).map(|i| (prompt(40, i), 100)).collect(),
        buckets: vec![(200.0, 2.0), (10_000_000.0, 60.0)],
        output_fraction: 0.5,
        latency: (Duration::from_secs(1), Duration::from_millis(20)),
        configure,
        batch: BatchConfig::default,
        naive_rpm: None,
        faults: false,
    }
}

/// OpenAI 240 RPM / 90k TPM, 300 requests, with 3% 500s, 3% 503s, 2% connection resets and
/// 2% garbage bodies: what failures cost at the limit. The emulator charges a failed attempt
/// like any other, so the ideal counts every attempt it received.
fn fault_case() -> Case {
    Case {
        name: "OpenAI 240 RPM / 90k TPM, 10% faults (500, 503, resets, garbage bodies)",
        emulator: workload::fault_mix(),
        provider: Provider::OpenAI,
        model: "gpt-4o-mini",
        items: (0..300).map(|i| (prompt(400, i), 200)).collect(),
        buckets: vec![(240.0, 60.0), (90_000.0, 60.0)],
        output_fraction: 0.5,
        latency: (Duration::from_millis(50), Duration::from_millis(1)),
        configure: keep,
        batch: BatchConfig::default,
        naive_rpm: None,
        faults: true,
    }
}

/// Every row; `--faults-only` keeps the fault row, `--only TEXT` (repeatable) the rows whose
/// name contains one of the texts.
fn cases() -> Vec<Case> {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--faults-only") {
        return vec![fault_case()];
    }
    let only: Vec<&String> = args.windows(2).filter(|w| w[0] == "--only").map(|w| &w[1]).collect();
    let all = all_cases();
    if only.is_empty() {
        return all;
    }
    all.into_iter().filter(|c| only.iter().any(|o| c.name.contains(o.as_str()))).collect()
}

fn all_cases() -> Vec<Case> {
    let mut rows = vec![
        fault_case(),
        mixed_case(
            "OpenAI mixed, limits configured",
            |b| b.request_limit(300).token_limit(12_000),
            None,
        ),
        mixed_case("OpenAI mixed, cold start", keep, None),
        Case {
            name: "Anthropic ITPM/OTPM, cold start",
            emulator: Emulator::anthropic()
                .rpm(1_000)
                .input_tpm(20_000)
                .output_tpm(6_000)
                .output_len(OutputLen::Fraction(0.5)),
            provider: Provider::Anthropic,
            model: "claude-haiku-4-5",
            items: (0..200).map(|i| (prompt(200, i), 100)).collect(),
            buckets: vec![(1_000.0, 60.0), (20_000.0, 60.0), (6_000.0, 60.0)],
            output_fraction: 0.5,
            latency: (Duration::from_millis(50), Duration::from_millis(2)),
            configure: keep,
            batch: BatchConfig::default,
            naive_rpm: None,
            faults: false,
        },
        latency_case("Latency 2 s, 100 req/s (200+ in flight), limits configured", |b| {
            b.request_limit(200).request_window(Duration::from_secs(2))
        }),
        latency_case("Latency 2 s, 100 req/s, cold start (one probe costs one latency)", keep),
        mixed_case(
            "Baseline: RPM-only try-and-sleep (ratelimit crate) + sleep on 429",
            keep,
            Some(300),
        ),
    ];
    rows.extend(scale_cases::all());
    rows
}

fn tokens(chars: usize) -> f64 {
    (chars as f64 / 4.0).ceil().max(1.0)
}

fn main() {
    println!(
        "| case | succeeded | ideal s | wall s | efficiency | 429s | retries | peak in flight \
         | workers | peak threads | peak RSS MiB | TIME_WAIT after |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for case in cases() {
        run(case);
    }
}

fn run(case: Case) {
    let (base, per_token) = case.latency;
    let emu = case.emulator.latency(base, per_token).start().expect("emulator");
    let limiter = (case.configure)(
        ChatLimiter::builder().provider(case.provider).api_key("sk-bench").base_url(emu.base_url()),
    )
    .build()
    .expect("limiter");
    let anthropic = case.provider == Provider::Anthropic;
    let items: Vec<Item> = case
        .items
        .iter()
        .map(|(p, max)| {
            let prompt = tokens(p.chars().count());
            let out = (f64::from(*max) * case.output_fraction).ceil();
            let latency = base.as_secs_f64() + per_token.as_secs_f64() * out;
            let charge = if anthropic {
                vec![1.0, prompt, f64::from(*max)]
            } else {
                vec![1.0, prompt + f64::from(*max)]
            };
            let refund =
                if anthropic { vec![0.0, 0.0, f64::from(*max) - out] } else { vec![0.0; 2] };
            Item { charge, refund, latency }
        })
        .collect();
    let buckets: Vec<Bucket> =
        case.buckets.iter().map(|&(cap, w)| Bucket { cap, rate: cap / w }).collect();
    let mut ideal = simulate(&buckets, &items);
    let requests: Vec<ChatCompletionRequest> = case
        .items
        .iter()
        .map(|(p, max)| {
            ChatCompletionRequest::new(case.model, vec![Message::user(p.clone())]).max_tokens(*max)
        })
        .collect();
    let n = requests.len();
    let peak = peak::Peak::start();
    let started = Instant::now();
    let mut workers = 64; // the naive baseline's fixed pool
    let ok = match case.naive_rpm {
        None => {
            let mut ok = 0;
            let summary =
                process_chat_completion_stream(&limiter, requests, &(case.batch)(), Some(n), |r| {
                    ok += usize::from(r.success())
                })
                .expect("batch");
            workers = summary.workers;
            ok
        }
        Some(rpm) => naive(&emu.base_url(), requests, rpm),
    };
    let wall = started.elapsed().as_secs_f64();
    let (rss_mib, threads) = peak.finish();
    let time_wait = peak::time_wait();
    let stats = emu.stats();
    if case.faults {
        let extra = stats.requests.saturating_sub(n as u64) as usize;
        let all: Vec<Item> =
            items.iter().chain(items.iter().cycle().take(extra)).cloned().collect();
        ideal = simulate(&buckets, &all);
    }
    println!(
        "| {} | {}/{} | {:.1} | {:.2} | {:.3} | {} | {} | {} | {workers} | {threads} \
         | {rss_mib:.0} | {time_wait} |",
        case.name,
        ok,
        n,
        ideal,
        wall,
        ideal / wall,
        stats.rate_limited,
        stats.requests.saturating_sub(n as u64),
        stats.peak_in_flight
    );
}

/// What many users hand-roll: a request-rate limiter (try, else sleep) in front of a plain
/// HTTP client that sleeps out `retry-after` on a 429 and tries again. It knows nothing of
/// tokens and reads no rate-limit headers.
fn naive(base_url: &str, requests: Vec<ChatCompletionRequest>, rpm: u64) -> usize {
    let rl = ratelimit::Ratelimiter::builder(rpm)
        .period(Duration::from_secs(60))
        .max_tokens(rpm)
        .initial_available(rpm)
        .build()
        .expect("ratelimit");
    let agent: ureq::Agent =
        ureq::Agent::config_builder().proxy(None).http_status_as_error(false).build().into();
    let url = format!("{base_url}/chat/completions");
    let queue = crossbeam_channel::unbounded();
    for r in requests {
        queue.0.send(r).expect("queue");
    }
    drop(queue.0);
    let ok = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..64 {
            s.spawn(|| {
                while let Ok(req) = queue.1.recv() {
                    let body = serde_json::to_string(&req).expect("json");
                    for _attempt in 0..20 {
                        while let Err(ratelimit::TryWaitError::Insufficient(wait)) = rl.try_wait() {
                            std::thread::sleep(wait);
                        }
                        let Ok(resp) = agent
                            .post(&url)
                            .header("authorization", "Bearer sk-bench")
                            .header("content-type", "application/json")
                            .send(&body)
                        else {
                            continue;
                        };
                        if resp.status() == 200 {
                            ok.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            break;
                        }
                        let wait = resp
                            .headers()
                            .get("retry-after")
                            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                            .unwrap_or(1);
                        std::thread::sleep(Duration::from_secs(wait));
                    }
                }
            });
        }
    });
    ok.into_inner()
}
