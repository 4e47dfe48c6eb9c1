//! Measures the emulator: small requests per second from several keep-alive ureq clients,
//! and how many slow (1–3 s) requests it holds at once.
//!
//! Run: `cargo run --release --example emulator_throughput`
//! (optional args: `<threads> <seconds> <slow-concurrency>`, default `8 3 160`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use chat_limiter_emulator::Emulator;

const BODY: &str = r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":8}"#;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .proxy(None)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let threads = args.first().copied().unwrap_or(8);
    let secs = args.get(1).copied().unwrap_or(3);
    let slow = args.get(2).copied().unwrap_or(160);

    let emu = Emulator::openai().unlimited().start()?;
    let url = format!("{}/chat/completions", emu.base_url());
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (url, done, failed) = (url.clone(), Arc::clone(&done), Arc::clone(&failed));
            thread::spawn(move || {
                let agent = agent();
                while Instant::now() < deadline {
                    let ok = agent
                        .post(&url)
                        .header("authorization", "Bearer sk-bench")
                        .header("content-type", "application/json")
                        .send(BODY)
                        .and_then(|mut r| {
                            r.body_mut().read_to_string().map(|_| r.status().as_u16())
                        });
                    match ok {
                        Ok(200) => done.fetch_add(1, Ordering::Relaxed),
                        _ => failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let n = done.load(Ordering::Relaxed);
    println!(
        "small requests: {n} in {elapsed:.2} s with {threads} client threads = {:.0} req/s ({} failed)",
        n as f64 / elapsed,
        failed.load(Ordering::Relaxed)
    );
    drop(emu);

    // Slow requests: 1 s base latency + up to 2 s jitter, all at once.
    let emu = Emulator::openai()
        .unlimited()
        .latency(Duration::from_secs(1), Duration::ZERO)
        .jitter(Duration::from_secs(2))
        .start()?;
    let url = format!("{}/chat/completions", emu.base_url());
    let start = Instant::now();
    let clients: Vec<_> = (0..slow)
        .map(|_| {
            let url = url.clone();
            thread::spawn(move || {
                agent()
                    .post(&url)
                    .header("authorization", "Bearer sk-bench")
                    .header("content-type", "application/json")
                    .send(BODY)
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            })
        })
        .collect();
    let ok = clients.into_iter().filter_map(|c| c.join().ok()).filter(|s| *s == 200).count();
    println!(
        "slow requests: {ok}/{slow} succeeded, peak in flight {}, all done in {:.2} s",
        emu.stats().peak_in_flight,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
