//! `chat-limiter run` against an emulator with every fault kind on, killed with `kill -9` in the
//! middle and run again: every custom_id ends up exactly once in the output, as a success or a
//! typed error record; the key appears in no output, log or stats file.

mod cli_common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chat_limiter_emulator::{Emulator, FaultKind};
use cli_common::*;

/// The error codes a record may carry after faults (README.md, "Output lines").
const CODES: [&str; 8] = [
    "transport_error",
    "timeout",
    "invalid_response",
    "insufficient_quota",
    "server_error",
    "service_unavailable_error",
    "server_is_overloaded",
    "api_error",
];

#[test]
fn kill_and_resume_under_every_fault_kind() {
    let n = 2_000;
    let concurrency = 16;
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
        .stall(Duration::from_millis(500))
        .latency(Duration::from_millis(1), Duration::ZERO)
        .seed(11)
        .start()
        .expect("emulator");
    let dir = tempfile::tempdir().expect("tmp");
    let input = write_lines(dir.path(), "in.jsonl", &prompts(n));
    let out = dir.path().join("out.jsonl");
    let stats = dir.path().join("stats.json");
    let (i, o, s) = (input.to_str().unwrap(), out.to_str().unwrap(), stats.to_str().unwrap());
    let base = emu.base_url();
    let conc = concurrency.to_string();
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
        "0.3", // below the 500 ms stall
        "--no-progress",
        "--stats-json",
        s,
    ];

    let mut child = spawnable()
        .args(args)
        .env("OPENAI_API_KEY", KEY)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    wait_for_lines(&out, n / 3, Duration::from_secs(90));
    child.kill().expect("kill -9");
    let _ = child.wait();
    let first = line_count(&out);
    assert!(first < n, "killed too late to test anything ({first} lines)");

    let started = Instant::now();
    let done =
        cli().args(args).env("OPENAI_API_KEY", KEY).timeout(Duration::from_secs(120)).output();
    let done = done.expect("the resumed run finishes (no hang)");
    assert!(started.elapsed() < Duration::from_secs(120));
    let code = done.status.code().expect("exited, not killed by a signal");
    assert!(code == 0 || code == 1, "exit code {code}");
    assert_no_key(&done.stderr);
    assert_no_key(&done.stdout);
    assert_no_key(&std::fs::read(&out).expect("output"));
    assert_no_key(&std::fs::read(&stats).expect("stats file"));

    let recs = records(&out);
    let mut counts: HashMap<String, usize> = HashMap::new();
    for r in &recs {
        let id = r["custom_id"].as_str().expect("custom_id");
        *counts.entry(id.to_string()).or_default() += 1;
        if r["error"].is_null() {
            assert_eq!(r["response"]["status_code"], 200, "{r}");
            assert!(r["response"]["body"]["choices"][0]["message"]["content"].is_string(), "{r}");
        } else {
            let code = r["error"]["code"].as_str().expect("error code");
            assert!(CODES.contains(&code), "unexpected error record {r}");
            assert!(r["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{r}");
            assert!(r["error"]["retryable"].is_boolean(), "{r}");
        }
    }
    assert_eq!(counts.len(), n, "every input line has a record");
    assert!(counts.values().all(|c| *c == 1), "a custom_id appears twice");
    let ok = recs.iter().filter(|r| r["error"].is_null()).count();
    assert!(ok >= n * 9 / 10, "only {ok} of {n} succeeded");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&stats).expect("stats")).expect("stats JSON");
    assert_eq!(summary["total_lines"], n as u64);

    let st = emu.stats();
    for kind in [FaultKind::Status500, FaultKind::ConnectionDrop, FaultKind::Stall] {
        assert!(st.faults.get(kind.name()).copied().unwrap_or(0) > 0, "{kind:?} never fired");
    }
    // Only requests in flight at the kill may be sent twice after the server accepted them.
    assert!(st.duplicate_bodies <= concurrency as u64, "{} resent", st.duplicate_bodies);
}
