//! `--long-wait`: a daily cap reached mid-run. With `fail` the run ends at once, the lines the
//! cap refused are recorded as failures the next run sends again, and nothing waits a day.
//! (`wait`, the default, pauses until the reset; the library tests it with a manual clock.)

mod cli_common;

use std::time::{Duration, Instant};

use chat_limiter_emulator::Emulator;
use cli_common::*;

#[test]
fn a_daily_cap_with_long_wait_fail_records_the_refused_lines_for_the_next_run() {
    let emu = Emulator::openai().rpm(1_000).rpd(3).start().expect("emulator");
    let dir = tempfile::tempdir().expect("tmp");
    let input = write_lines(dir.path(), "in.jsonl", &prompts(8));
    let out = dir.path().join("out.jsonl");
    let started = Instant::now();
    cli()
        .args(["run", input.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .args(["--model", "gpt-4o-mini", "--base-url", &emu.base_url(), "--no-progress"])
        .args(["--long-wait", "fail", "--max-workers", "1"])
        .env("OPENAI_API_KEY", KEY)
        .assert()
        .code(1);
    assert!(started.elapsed() < Duration::from_secs(60), "nothing waited for the reset");
    let recs = records(&out);
    assert_eq!(recs.len(), 8, "every line has a record");
    let ok = recs.iter().filter(|r| r["error"].is_null()).count();
    assert_eq!(ok, 3, "the cap's three requests succeeded");
    // The limiter learned the 3-per-day bucket from the headers: the other lines are not sent
    // (the emulator saw only the three), and are recorded for the next run to send.
    assert_eq!(emu.stats().requests, 3);
    for r in recs.iter().filter(|r| !r["error"].is_null()) {
        assert_eq!(r["error"]["code"], "wait_too_long", "{r}");
        assert_eq!(r["error"]["retryable"], true, "the next run sends it again: {r}");
    }
}
