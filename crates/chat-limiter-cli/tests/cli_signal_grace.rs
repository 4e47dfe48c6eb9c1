//! After SIGINT the requests in flight may finish within `--grace`; a second signal, or the
//! end of the grace period, ends the run at once (exit 130) instead of waiting for slow answers.

mod cli_common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chat_limiter_emulator::Emulator;
use cli_common::*;

fn interrupted_run(second_signal: bool, grace: &str) -> Duration {
    // Answers take 10 s: nothing in flight can finish within the test's bounds.
    let emu = Emulator::openai()
        .unlimited()
        .latency(Duration::from_secs(10), Duration::ZERO)
        .start()
        .expect("emulator");
    let dir = tempfile::tempdir().expect("tmp");
    let input = write_lines(dir.path(), "in.jsonl", &prompts(20));
    let out = dir.path().join("out.jsonl");
    let child = spawnable()
        .args(["run", input.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .args(["--model", "gpt-4o-mini", "--base-url", &emu.base_url(), "--no-progress"])
        .args(["--grace", grace])
        .env("OPENAI_API_KEY", KEY)
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut child = Killed(child);
    // Wait until the requests are in flight at the server.
    let t0 = Instant::now();
    while emu.stats().requests == 0 && t0.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = child.0.id().to_string();
    let signal = || assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let signalled = Instant::now();
    signal();
    if second_signal {
        std::thread::sleep(Duration::from_millis(200));
        signal();
    }
    let status = child.0.wait().expect("wait");
    assert_eq!(status.code(), Some(130));
    signalled.elapsed()
}

#[test]
fn a_second_signal_ends_the_run_at_once() {
    let took = interrupted_run(true, "60");
    assert!(took < Duration::from_secs(5), "a second Ctrl-C did not wait the grace: {took:?}");
}

#[test]
fn the_grace_period_bounds_the_wait_for_answers_in_flight() {
    let took = interrupted_run(false, "1");
    assert!(took >= Duration::from_millis(900), "it waited for the grace: {took:?}");
    assert!(took < Duration::from_secs(6), "but not for the 10 s answers: {took:?}");
}
