//! Kill-and-resume soak: one emulator with every fault kind on, ~300 lines, six interrupted
//! runs (3 × SIGKILL, 3 × SIGINT, each at a seeded pseudo-random number of new output lines),
//! each resumed by the next run on the same output, then a run left to finish. Every custom_id
//! ends up with exactly one record (success or typed error), and the emulator answered few
//! bodies twice (the bound is stated below).

mod cli_common;

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use chat_limiter_emulator::{Emulator, FaultKind};
use cli_common::*;

const LINES: usize = 300;
const CONCURRENCY: u64 = 8;

/// A small deterministic PRNG (xorshift64*), so the kill moments are the same every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// Waits until `out` holds `target` lines or the child exits on its own; returns whether it
/// is still running. Bounded by a watchdog.
fn wait_until(child: &mut Killed, out: &std::path::Path, target: usize) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if child.0.try_wait().expect("try_wait").is_some() {
            return false;
        }
        if line_count(out) >= target {
            return true;
        }
        assert!(Instant::now() < deadline, "the run neither wrote {target} lines nor exited");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Waits for the child's exit, killing it (and failing) past the watchdog.
fn exit_of(child: &mut Killed, secs: u64) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = child.0.try_wait().expect("try_wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "the run did not exit within {secs} s");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn three_sigkills_and_three_sigints_under_every_fault_kind_lose_and_repeat_nothing() {
    let started = Instant::now();
    let emu = Emulator::openai()
        .rpm(10_000_000)
        .tpm(1_000_000_000)
        .fault_rate(0.06)
        .fault(FaultKind::ConnectionDrop, 0.02)
        .fault(FaultKind::Stall, 0.01)
        .fault(FaultKind::MalformedBody, 0.02)
        .fault(FaultKind::GarbageHeaders, 0.05)
        .fault(FaultKind::MidStreamError, 0.01)
        .quota_error_rate(0.005)
        .stall(Duration::from_millis(400))
        .latency(Duration::from_millis(3), Duration::ZERO)
        .seed(13)
        .start()
        .expect("emulator");
    let dir = tempfile::tempdir().expect("tmp");
    let input = write_lines(dir.path(), "in.jsonl", &prompts(LINES));
    let out = dir.path().join("out.jsonl");
    let (i, o, base) = (input.to_str().unwrap(), out.to_str().unwrap(), emu.base_url());
    let conc = CONCURRENCY.to_string();
    let args = [
        "run",
        i,
        "-o",
        o,
        "--model",
        "gpt-4o-mini",
        "--base-url",
        &base,
        "--max-concurrent-requests",
        &conc,
        "--max-workers",
        &conc,
        "--timeout",
        "0.3", // below the 400 ms stall
        "--no-progress",
    ];

    let mut rng = Rng(0x5eed_2026_c0ff_ee01);
    let (mut runs, mut kills, mut ints) = (0, 0, 0);
    for (round, sig) in [libc::SIGKILL, libc::SIGINT].repeat(3).into_iter().enumerate() {
        let before = line_count(&out);
        let child = spawnable()
            .args(args)
            .env("OPENAI_API_KEY", KEY)
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let mut child = Killed(child);
        runs += 1;
        let target = (before + 5 + rng.below(30) as usize).min(LINES - 1);
        if !wait_until(&mut child, &out, target) {
            panic!("round {round}: the run finished before its interruption at {target} lines");
        }
        // SAFETY: kill(2) on the pid of a child this test spawned and has not reaped.
        assert_eq!(unsafe { libc::kill(child.0.id() as libc::pid_t, sig) }, 0, "kill");
        let status = exit_of(&mut child, 20);
        if sig == libc::SIGKILL {
            kills += 1;
            assert_eq!(status.code(), None, "round {round}: SIGKILL ends the process");
        } else {
            ints += 1;
            assert_eq!(status.code(), Some(130), "round {round}: SIGINT exits with 130");
        }
        eprintln!("round {round}: signal {sig} at {} lines (target {target})", line_count(&out));
    }

    let mut finish = |extra: &[&str]| {
        let mut child = Killed(
            spawnable()
                .args(args)
                .args(extra)
                .env("OPENAI_API_KEY", KEY)
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn"),
        );
        runs += 1;
        let code = exit_of(&mut child, 40).code().expect("exited, not killed by a signal");
        assert!(code == 0 || code == 1, "exit code {code}");
        code
    };
    if finish(&[]) == 1 {
        // Only final failures (quota errors, retries spent) make it 1: send those again.
        finish(&["--retry", "failed"]);
    }

    let recs = records(&out);
    let mut counts: HashMap<String, usize> = HashMap::new();
    for r in &recs {
        *counts.entry(r["custom_id"].as_str().expect("custom_id").to_string()).or_default() += 1;
        if r["error"].is_null() {
            assert_eq!(r["response"]["status_code"], 200, "{r}");
            assert!(r["response"]["body"]["choices"][0]["message"]["content"].is_string(), "{r}");
        } else {
            assert!(r["error"]["code"].is_string(), "neither success nor error record: {r}");
            assert!(r["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{r}");
        }
    }
    let ids = by_id(&recs);
    for n in 0..LINES {
        assert!(ids.contains_key(&format!("p{n}")), "p{n} has no record");
    }
    assert_eq!(ids.len(), LINES, "records for ids not in the input");
    let twice: Vec<_> = counts.iter().filter(|(_, c)| **c > 1).collect();
    assert!(twice.is_empty(), "custom_ids recorded twice after compaction: {twice:?}");
    assert_eq!(recs.len(), LINES);
    let errors = recs.iter().filter(|r| !r["error"].is_null()).count();

    let st = emu.stats();
    let fault = |k: FaultKind| st.faults.get(k.name()).copied().unwrap_or(0);
    // The bound: a body is answered twice only (a) when it was in flight at an interruption
    // (at most --max-concurrent-requests per interruption; SIGINT lets in-flight requests
    // finish and records them, so in practice only the SIGKILLs contribute), or (b) when the
    // client re-sent after an unusable 2xx the server counted as accepted: a malformed body,
    // a connection cut mid-body or garbage headers — or a client timeout on a slow answer,
    // which this latency (3 ms vs a 300 ms timeout) leaves to the stalls, never accepted.
    let unusable = fault(FaultKind::MalformedBody)
        + fault(FaultKind::ConnectionDrop)
        + fault(FaultKind::GarbageHeaders);
    let bound = 6 * CONCURRENCY + unusable;
    eprintln!(
        "kill soak: {runs} runs, {kills} SIGKILL + {ints} SIGINT, {LINES} lines ({errors} error \
         records), {} duplicate bodies (bound {bound}), {} attempts, faults {:?}, {:.1} s",
        st.duplicate_bodies,
        st.requests,
        st.faults,
        started.elapsed().as_secs_f64()
    );
    assert!(
        st.duplicate_bodies <= bound,
        "{} bodies answered twice > {bound}",
        st.duplicate_bodies
    );
    for kind in [FaultKind::Status500, FaultKind::ConnectionDrop, FaultKind::MalformedBody] {
        assert!(fault(kind) > 0, "{kind:?} never fired");
    }
    assert!(started.elapsed() < Duration::from_secs(60), "the soak took too long");
}
