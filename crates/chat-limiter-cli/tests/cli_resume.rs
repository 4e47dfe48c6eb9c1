//! `chat-limiter run` resumes: after `kill -9` every custom_id ends up in the output exactly
//! once; retryable failures are sent again and their old records replaced; a torn last line is
//! cut off.

mod cli_common;

use std::collections::HashMap;
use std::time::Duration;

use chat_limiter_emulator::Emulator;
use cli_common::*;

/// How often each custom_id appears in the output.
fn id_counts(path: &std::path::Path) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for r in records(path) {
        *counts.entry(r["custom_id"].as_str().expect("custom_id").to_string()).or_default() += 1;
    }
    counts
}

#[test]
fn kill_while_waiting_for_the_limiter_then_resume_sends_nothing_twice() {
    // The client's own 60 RPM lets 60 requests through at once and the 61st a second later:
    // killing the process right after the 60th record leaves nothing in flight, so the
    // emulator must see every body exactly once across both runs.
    let emu = Emulator::openai().unlimited().start().expect("emulator");
    let dir = tempfile::tempdir().expect("tmp");
    let input = write_lines(dir.path(), "in.jsonl", &prompts(70));
    let out = dir.path().join("out.jsonl");
    let (i, o) = (input.to_str().unwrap(), out.to_str().unwrap());
    let base = emu.base_url();
    let mut child = spawnable()
        .args([
            "run",
            i,
            "-o",
            o,
            "--model",
            "gpt-4o-mini",
            "--base-url",
            &base,
            "--request-limit",
            "60",
        ])
        .env("OPENAI_API_KEY", KEY)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    wait_for_lines(&out, 60, Duration::from_secs(20));
    child.kill().expect("kill -9");
    let _ = child.wait();
    assert_eq!(emu.stats().accepted, 60, "the 61st request must still be waiting");

    cli()
        .args([
            "run",
            i,
            "-o",
            o,
            "--model",
            "gpt-4o-mini",
            "--base-url",
            &base,
            "--request-limit",
            "100000",
        ])
        .env("OPENAI_API_KEY", KEY)
        .assert()
        .code(0);
    let counts = id_counts(&out);
    assert_eq!(counts.len(), 70);
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    let st = emu.stats();
    assert_eq!((st.accepted, st.duplicate_bodies), (70, 0));
}

#[test]
fn kill_with_requests_in_flight_then_resume_loses_and_duplicates_no_record() {
    // Requests in flight at the kill were answered but never recorded, so the rerun must send
    // them again: the output holds each id once, and the server saw at most the in-flight
    // requests twice (no API offers idempotency keys for chat completions).
    let emu = Emulator::openai()
        .unlimited()
        .latency(Duration::from_millis(20), Duration::ZERO)
        .start()
        .expect("emulator");
    let dir = tempfile::tempdir().expect("tmp");
    let n = 300;
    let input = write_lines(dir.path(), "in.jsonl", &prompts(n));
    let out = dir.path().join("out.jsonl");
    let (i, o) = (input.to_str().unwrap(), out.to_str().unwrap());
    let base = emu.base_url();
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
        "16",
    ];
    let mut child = spawnable()
        .args(args)
        .env("OPENAI_API_KEY", KEY)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    wait_for_lines(&out, 50, Duration::from_secs(20));
    child.kill().expect("kill -9");
    let _ = child.wait();
    let first = line_count(&out);
    assert!(first < n, "killed too late to test anything ({first} lines)");

    cli().args(args).env("OPENAI_API_KEY", KEY).assert().code(0);
    let counts = id_counts(&out);
    assert_eq!(counts.len(), n);
    assert!(counts.values().all(|c| *c == 1), "{counts:?}");
    let st = emu.stats();
    assert!(st.duplicate_bodies <= 16, "{} resent, more than were in flight", st.duplicate_bodies);
    assert_eq!(st.accepted, n as u64 + st.duplicate_bodies);
}

#[test]
fn retryable_failures_are_sent_again_and_their_records_replaced() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = write_lines(dir.path(), "in.jsonl", &prompts(5));
    let out = dir.path().join("out.jsonl");
    let (i, o) = (input.to_str().unwrap(), out.to_str().unwrap());
    // Nothing listens on port 1: every request fails with a (retryable) transport error.
    let dead = ["run", i, "-o", o, "--model", "gpt-4o-mini", "--base-url", "http://127.0.0.1:1/v1"];
    cli().args(dead).args(["--max-retries", "0"]).env("OPENAI_API_KEY", KEY).assert().code(1);
    let recs = records(&out);
    assert_eq!(recs.len(), 5);
    assert!(recs
        .iter()
        .all(|r| r["error"]["code"] == "transport_error" && r["error"]["retryable"] == true));

    // Leave a torn last line, as a kill in the middle of a write would.
    let mut bytes = std::fs::read(&out).expect("output");
    bytes.extend_from_slice(br#"{"id":"line-9","custom_id":"p9","respo"#);
    std::fs::write(&out, bytes).expect("tear");

    let emu = Emulator::openai().start().expect("emulator");
    let live = ["run", i, "-o", o, "--model", "gpt-4o-mini", "--base-url", &emu.base_url()];
    cli().args(live).env("OPENAI_API_KEY", KEY).assert().code(0);
    let recs = records(&out);
    assert_eq!(recs.len(), 5, "old failure records replaced, torn line gone");
    assert!(recs.iter().all(|r| r["error"].is_null() && r["response"]["status_code"] == 200));
    assert_eq!(emu.stats().accepted, 5);
}
