//! Memory benchmark: how much does a batch hold per item?
//!
//! Starts the emulator (OpenAI, no limits, no latency) and, for each item count and each batch
//! form, runs the batch in a **child process** (this example re-executes itself with
//! `child FORM ITEMS URL`) so that each figure is the peak RSS of one run alone, read by the
//! parent from `wait4`'s resource usage (`ru_maxrss`). The forms:
//!
//! * `collect`: `process_chat_completion_batch` over a `Vec` of requests, every result kept
//!   until the batch returns (what a caller that wants them all in order holds);
//! * `stream`: `process_chat_completion_stream` over a lazy iterator, each result dropped in
//!   the callback (the bounded form).
//!
//! The client's CPU (user + system time of the child; the emulator runs in the parent) is
//! shown per item. "KiB per item" is the peak over the items; below the table, the growth per item between the
//! smallest and the largest count (what one more item costs, the fixed cost of threads and
//! buffers taken out). Every child checks that each item succeeded.
//!
//! Run: `cargo run --release --example memory_bench` (item counts: `-- 10000 100000`, the
//! default; about a minute on two cores).

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Instant;

use chat_limiter::{
    process_chat_completion_batch, process_chat_completion_stream, BatchConfig,
    ChatCompletionRequest, ChatLimiter, Message, Provider,
};
use chat_limiter_emulator::Emulator;

const MODEL: &str = "gpt-4o-mini";

/// Item `i`: a short prompt of about 100 characters, an answer of 32 to 64 tokens.
fn request(i: usize) -> ChatCompletionRequest {
    let prompt =
        format!("item {i}: summarise in one line why the sky looks blue at noon and red at dusk");
    ChatCompletionRequest::new(MODEL, vec![Message::user(prompt)]).max_tokens(64)
}

fn limiter(url: &str) -> ChatLimiter {
    ChatLimiter::builder()
        .provider(Provider::OpenAI)
        .model(MODEL)
        .api_key("sk-bench")
        .base_url(url)
        .build()
        .expect("limiter")
}

/// The child: runs one batch and exits non-zero unless every item succeeded.
fn child(form: &str, n: usize, url: &str) {
    let l = limiter(url);
    let config = BatchConfig::default();
    let ok = match form {
        "collect" => {
            let results = process_chat_completion_batch(&l, (0..n).map(request).collect(), &config)
                .expect("batch");
            let ok = results.iter().filter(|r| r.result.is_ok()).count();
            // Everything is still held here, at the peak: the figure is the caller's whole cost.
            assert_eq!(results.len(), n);
            ok
        }
        "stream" => {
            let mut ok = 0;
            process_chat_completion_stream(&l, (0..n).map(request), &config, Some(n), |r| {
                ok += usize::from(r.result.is_ok());
            })
            .expect("batch");
            ok
        }
        other => panic!("unknown form {other}"),
    };
    if ok != n {
        eprintln!("{form} {n}: only {ok} items succeeded");
        std::process::exit(1);
    }
}

/// Runs a child and returns (peak RSS in KiB, wall seconds, CPU seconds, user and system).
// The child is reaped by `wait4` (which gives its resource usage), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn measure(form: &str, n: usize, url: &str) -> (u64, f64, f64) {
    let exe = std::env::current_exe().expect("own path");
    let start = Instant::now();
    let mut c = Command::new(exe)
        .args(["child", form, &n.to_string(), url])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child");
    let mut err = String::new();
    c.stderr.take().expect("piped").read_to_string(&mut err).expect("child stderr");
    let pid = c.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills; `pid` is our own unreaped child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed().as_secs_f64();
    assert_eq!(got, pid, "wait4 failed");
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "child failed: {err}");
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let cpu = secs(usage.ru_utime) + secs(usage.ru_stime);
    (usage.ru_maxrss as u64, wall, cpu) // Linux: ru_maxrss in KiB
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child") {
        let n = args[3].parse().expect("item count");
        return child(&args[2], n, &args[4]);
    }
    let counts: Vec<usize> = if args.len() > 1 {
        args[1..].iter().map(|a| a.parse().expect("an item count")).collect()
    } else {
        vec![10_000, 100_000]
    };
    let emu = Emulator::openai().unlimited().start().expect("emulator");
    let url = emu.base_url();
    println!("`cargo run --release --example memory_bench -- {}`\n", join(&counts));
    println!("| items | form | peak RSS MiB | KiB per item | wall s | client CPU µs per item |");
    println!("|---:|---|---:|---:|---:|---:|");
    let mut peaks = Vec::new();
    for &n in &counts {
        for form in FORMS {
            let (kib, wall, cpu) = measure(form, n, &url);
            let per_item = kib as f64 / n.max(1) as f64;
            let cpu_us = cpu * 1e6 / n.max(1) as f64;
            let mib = kib as f64 / 1024.0;
            println!("| {n} | {form} | {mib:.1} | {per_item:.2} | {wall:.2} | {cpu_us:.0} |");
            peaks.push((form, n, kib));
        }
    }
    let (small, large) = (counts.iter().min(), counts.iter().max());
    if let (Some(&small), Some(&large), true) = (small, large, counts.len() > 1) {
        println!();
        for form in FORMS {
            let peak = |n| peaks.iter().find(|p| p.0 == form && p.1 == n).map_or(0, |p| p.2);
            let growth = peak(large) as f64 - peak(small) as f64;
            let per_item = growth / (large - small).max(1) as f64;
            println!("{form}: {per_item:.2} KiB per item from {small} to {large} items");
        }
    }
}

const FORMS: [&str; 2] = ["collect", "stream"];

fn join(counts: &[usize]) -> String {
    counts.iter().map(usize::to_string).collect::<Vec<_>>().join(" ")
}
