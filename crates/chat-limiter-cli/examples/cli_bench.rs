//! Command-line benchmark: `chat-limiter run` as a child process against the emulator in a
//! process of its own, measuring the client's peak RSS (`wait4`'s `ru_maxrss`), wall time,
//! lines per second and CPU, and the emulator's CPU (both share the machine's cores).
//!
//! Rows: 100k and 1M generated lines on an unlimited server (no limits, no latency), the
//! same 1M job rerun on its finished output (resume: every line skipped), and the
//! 300-request fault-mix job (OpenAI 240 RPM / 90k TPM, 3% 500s, 3% 503s, 2% connection
//! resets, 2% garbage bodies), whose ideal counts every attempt the server charged (as in
//! `examples/batch_bench.rs`).
//!
//! Run: `cargo build --release -p chat-limiter-cli --examples && \
//!       target/release/examples/cli_bench [--bin 'LABEL=PATH [FLAGS]']... \
//!       [--sizes 100000,1000000] [--no-faults] [--no-resume] [--hashed-ids]`
//! Without `--bin` it measures `target/release/chat-limiter` beside the example. Several
//! `--bin` give before/after rows side by side; FLAGS are added to each `run` of that row
//! (`--bin 'w32=target/release/chat-limiter --max-workers 32'`). The generated ids are
//! `l{n}` (numbered: a bit each in the run's id set), or with `--hashed-ids` `u{n}-x` (8 bytes
//! each). The emulator is this same program run with
//! `--serve unlimited|faults` (it prints its base URL, serves until its stdin closes, then
//! prints its request counts).

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chat_limiter_emulator::Emulator;

#[path = "../../../examples/bench_support/workload.rs"]
mod workload;
use workload::prompt;
#[path = "../../../examples/bench_support/ideal.rs"]
#[allow(dead_code)]
mod ideal;
use ideal::{simulate, Bucket, Item};

/// The fault job's size and its prompt (as in `batch_bench`).
const FAULT_LINES: usize = 300;
const FAULT_PROMPT_CHARS: usize = 400;
const FAULT_MAX_TOKENS: u32 = 200;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        serve(args.get(i + 1).map_or("unlimited", String::as_str));
        return;
    }
    let mut bins: Vec<(String, PathBuf, Vec<String>)> = Vec::new();
    let mut sizes = vec![100_000usize, 1_000_000];
    let (mut faults, mut resume, mut hashed) = (true, true, false);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--bin" => {
                let v = it.next().expect("--bin 'LABEL=PATH [FLAGS]'");
                let mut words = v.split_whitespace();
                let first = words.next().unwrap_or_default();
                let (label, path) = first.split_once('=').expect("--bin 'LABEL=PATH [FLAGS]'");
                let flags: Vec<String> = words.map(str::to_string).collect();
                let label = if flags.is_empty() {
                    label.to_string()
                } else {
                    format!("{label} {}", flags.join(" "))
                };
                bins.push((label, PathBuf::from(path), flags));
            }
            "--sizes" => {
                let v = it.next().expect("--sizes N,M");
                sizes = v.split(',').map(|s| s.trim().parse().expect("a size")).collect();
            }
            "--no-faults" => faults = false,
            "--no-resume" => resume = false,
            "--hashed-ids" => hashed = true,
            other => panic!("unknown argument {other}"),
        }
    }
    if bins.is_empty() {
        let me = std::env::current_exe().expect("current exe");
        let bin = me.parent().and_then(Path::parent).expect("target dir").join("chat-limiter");
        bins.push(("this build".into(), bin, Vec::new()));
    }
    let dir = tempfile::tempdir().expect("temp dir");
    println!("rerun: {}", rerun_line(&args));
    println!();
    println!(
        "| binary | job | lines | ok | wall s | lines/s | peak RSS MiB | client CPU s | \
         emulator CPU s | efficiency | 429s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for &n in &sizes {
        let input = dir.path().join(format!("in-{n}.jsonl"));
        write_input(&input, n, |i| {
            // `l17` is a numbered id (a bit each); `u17-x` a hashed one (8 bytes each).
            let id = if hashed { format!("u{i}-x") } else { format!("l{i}") };
            format!("{{\"custom_id\":\"{id}\",\"prompt\":\"say {i}\",\"max_tokens\":8}}")
        });
        for (label, bin, flags) in &bins {
            let out = dir.path().join(format!("out-{n}.jsonl"));
            let _ = std::fs::remove_file(&out);
            let m = measure(bin, flags, "unlimited", (&input, n), &out);
            print_row(label, "unlimited", n, &m, None);
            if resume && n == *sizes.iter().max().unwrap_or(&n) {
                let again = measure(bin, flags, "unlimited", (&input, n), &out);
                print_row(label, "resume (all done)", n, &again, None);
            }
            let _ = std::fs::remove_file(&out);
        }
        let _ = std::fs::remove_file(&input);
    }
    if faults {
        let input = dir.path().join("faults.jsonl");
        write_input(&input, FAULT_LINES, |i| {
            let p = prompt(FAULT_PROMPT_CHARS, i);
            format!(
                "{{\"custom_id\":\"f{i}\",\"prompt\":\"{p}\",\"max_tokens\":{FAULT_MAX_TOKENS}}}"
            )
        });
        for (label, bin, flags) in &bins {
            let out = dir.path().join("faults-out.jsonl");
            let _ = std::fs::remove_file(&out);
            let m = measure(bin, flags, "faults", (&input, FAULT_LINES), &out);
            let ideal = fault_ideal(m.server_requests);
            print_row(label, "fault mix", FAULT_LINES, &m, Some(ideal / m.wall));
        }
    }
    println!();
    println!("this bench's own peak RSS (a floor of the figures): {:.1} MiB", own_peak_mib());
}

fn rerun_line(args: &[String]) -> String {
    let quoted: Vec<String> =
        args.iter().map(|a| if a.contains(' ') { format!("'{a}'") } else { a.clone() }).collect();
    format!(
        "cargo build --release -p chat-limiter-cli --examples && \\\n  \
         target/release/examples/cli_bench {}",
        quoted.join(" ")
    )
}

fn write_input(path: &Path, n: usize, line: impl Fn(usize) -> String) {
    let mut w = BufWriter::new(std::fs::File::create(path).expect("input"));
    for i in 0..n {
        writeln!(w, "{}", line(i)).expect("write input");
    }
    w.flush().expect("flush input");
}

/// The ideal wall time of the fault job when the server received `requests` attempts: every
/// attempt is charged (1 request, ceil(chars/4) + max_tokens tokens), in input order.
fn fault_ideal(requests: u64) -> f64 {
    let tokens = (FAULT_PROMPT_CHARS as f64 / 4.0).ceil() + f64::from(FAULT_MAX_TOKENS);
    let latency = 0.05 + 0.001 * (f64::from(FAULT_MAX_TOKENS) * 0.5).ceil();
    let item = Item { charge: vec![1.0, tokens], refund: vec![0.0; 2], latency };
    let n = (requests as usize).max(FAULT_LINES);
    let items = vec![item; n];
    let buckets = [Bucket { cap: 240.0, rate: 4.0 }, Bucket { cap: 90_000.0, rate: 1_500.0 }];
    simulate(&buckets, &items)
}

/// What one run of the binary came to.
struct Measured {
    ok: usize,
    wall: f64,
    rss_mib: f64,
    client_cpu: f64,
    emulator_cpu: f64,
    server_requests: u64,
    rate_limited: u64,
}

fn print_row(label: &str, job: &str, n: usize, m: &Measured, efficiency: Option<f64>) {
    let eff = efficiency.map_or("-".to_string(), |e| format!("{e:.3}"));
    println!(
        "| {label} | {job} | {n} | {} | {:.1} | {:.0} | {:.1} | {:.1} | {:.1} | {eff} | {} |",
        m.ok,
        m.wall,
        n as f64 / m.wall,
        m.rss_mib,
        m.client_cpu,
        m.emulator_cpu,
        m.rate_limited
    );
}

// Both children are reaped by `wait` (wait4, for their resource usage), not `Child::wait`.
#[allow(clippy::zombie_processes)]
fn measure(
    bin: &Path,
    flags: &[String],
    mode: &str,
    (input, lines): (&Path, usize),
    out: &Path,
) -> Measured {
    let me = std::env::current_exe().expect("current exe");
    let mut emu = Command::new(me)
        .args(["--serve", mode])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("emulator process");
    let mut emu_out = BufReader::new(emu.stdout.take().expect("emulator stdout"));
    let mut base = String::new();
    emu_out.read_line(&mut base).expect("emulator base URL");
    let mut cmd = Command::new(bin);
    for v in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"] {
        cmd.env_remove(v);
    }
    let started = Instant::now();
    let client = cmd
        .arg("run")
        .arg(input)
        .arg("-o")
        .arg(out)
        .args(["--provider", "openai", "--model", "gpt-4o-mini", "--no-progress"])
        .args(["--base-url", base.trim()])
        .args(flags)
        .env("OPENAI_API_KEY", "sk-cli-bench")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chat-limiter");
    let (status, usage) = wait(&client);
    let wall = started.elapsed().as_secs_f64();
    assert!(status == 0 || status == 1, "chat-limiter exited with {status}");
    drop(emu.stdin.take()); // the emulator prints its counts and exits
    let mut counts = String::new();
    emu_out.read_to_string(&mut counts).expect("emulator counts");
    let (_, emu_usage) = wait(&emu);
    let mut nums = counts.split_whitespace().map(|s| s.parse::<u64>().unwrap_or(0));
    let (server_requests, rate_limited) = (nums.next().unwrap_or(0), nums.next().unwrap_or(0));
    Measured {
        ok: succeeded(out, lines),
        wall,
        rss_mib: usage.ru_maxrss as f64 / 1024.0,
        client_cpu: cpu(&usage),
        emulator_cpu: cpu(&emu_usage),
        server_requests,
        rate_limited,
    }
}

/// Distinct custom_ids with a success record (a loss or a double record would show). The
/// ids are a letter and the line's index, kept as bits: this process must stay small, since
/// a child's `ru_maxrss` starts from its parent's peak (Linux counts the forked image's
/// high-water mark at exec).
fn succeeded(out: &Path, n: usize) -> usize {
    let file = std::fs::File::open(out).expect("output");
    let mut done = vec![false; n];
    for line in BufReader::new(file).lines() {
        let line = line.expect("output line");
        let v: serde_json::Value = serde_json::from_str(&line).expect("a record");
        if v["error"].is_null() {
            let id = v["custom_id"].as_str().expect("custom_id");
            let i: usize = id[1..].trim_end_matches("-x").parse().expect("a generated id");
            done[i] = true;
        }
    }
    done.iter().filter(|d| **d).count()
}

/// This process's peak RSS in MiB: the floor of every child's figure.
fn own_peak_mib() -> f64 {
    // SAFETY: a zeroed rusage is a valid value of this plain C struct; getrusage fills it.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    u.ru_maxrss as f64 / 1024.0
}

fn cpu(u: &libc::rusage) -> f64 {
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

/// Waits for a child with `wait4`, returning its exit code and resource usage.
fn wait(child: &Child) -> (i32, libc::rusage) {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value of this plain C struct, and wait4 only
    // writes into the two out-pointers, which live for the call.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4 failed");
    (libc::WEXITSTATUS(status), usage)
}

/// `--serve MODE`: the emulator in this process until stdin closes.
fn serve(mode: &str) {
    let b = match mode {
        "faults" => {
            workload::fault_mix().latency(Duration::from_millis(50), Duration::from_millis(1))
        }
        _ => Emulator::openai().unlimited().latency(Duration::ZERO, Duration::ZERO),
    };
    let emu = b.start().expect("emulator");
    println!("{}", emu.base_url());
    std::io::stdout().flush().expect("stdout");
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    let s = emu.stats();
    println!("{} {}", s.requests, s.rate_limited);
}
