//! The summary's 429s, attempts and retries are the server's own counts, with real 429s. The
//! 429s come from a seeded fault (OpenAI's 429 `credit_balance_exhausted`, which retrying
//! cannot fix, beside 5xx that are retried), so they happen whatever the machine's speed.

mod cli_common;

use std::time::Duration;

use chat_limiter_emulator::{Emulator, FaultKind};
use cli_common::*;

#[test]
fn the_summary_counts_every_429_the_server_sent() {
    let emu = Emulator::openai()
        .unlimited()
        .fault(FaultKind::BillingError, 0.2)
        .fault(FaultKind::Status500, 0.2)
        .seed(5)
        .start()
        .expect("emulator");
    let dir = tempfile::tempdir().expect("tmp");
    let input = write_lines(dir.path(), "in.jsonl", &prompts(30));
    let out = dir.path().join("out.jsonl");
    let stats = dir.path().join("stats.json");
    cli()
        .args(["run", input.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .args(["--model", "gpt-4o-mini", "--base-url", &emu.base_url(), "--no-progress"])
        .args(["--max-retries", "30", "--stats-json"])
        .arg(&stats)
        .env("OPENAI_API_KEY", KEY)
        .timeout(Duration::from_secs(120))
        .assert()
        .code(1); // the quota 429s are failures (re-sent by the next run)
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).expect("stats")).expect("json");
    let server = emu.stats();
    assert!(server.rate_limited > 0, "the test must meet 429s: {server:?}");
    assert!(server.requests > 30, "and retries: {server:?}");
    assert_eq!(s["rate_limited"].as_u64(), Some(server.rate_limited), "{s}");
    assert_eq!(s["attempts"].as_u64(), Some(server.requests), "{s}");
    assert_eq!(s["retries"].as_u64(), Some(server.requests - 30), "{s}");
}
