//! A long wait, through the binary: a daily cap of 3 requests reached with `--long-wait wait`
//! (the default). While the run waits, each second of its timeline says which limit binds and
//! until when (the live line shows the same fields), here about eight hours ahead: one
//! request of the three comes back every eight hours.

mod cli_common;

use std::time::{Duration, Instant};

use chat_limiter_emulator::Emulator;
use cli_common::*;
use serde_json::Value;

#[test]
fn a_daily_cap_makes_the_timeline_say_what_the_run_waits_on_and_until_when() {
    let emu = Emulator::openai().rpm(1_000).rpd(3).start().expect("emulator");
    let dir = tempfile::tempdir().expect("tmp");
    let input = write_lines(dir.path(), "in.jsonl", &prompts(8));
    let out = dir.path().join("out.jsonl");
    let child = spawnable()
        .args(["run", input.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .args(["--model", "gpt-4o-mini", "--base-url", &emu.base_url(), "--no-progress"])
        .args(["--max-workers", "1"])
        .env("OPENAI_API_KEY", KEY)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let _guard = Killed(child);
    let timeline = dir.path().join("out.jsonl.timeline.jsonl");
    let deadline = Instant::now() + Duration::from_secs(60);
    let waiting = loop {
        let text = std::fs::read_to_string(&timeline).unwrap_or_default();
        let found = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|s| s.get("wait_until").is_some());
        if let Some(s) = found {
            break s;
        }
        assert!(Instant::now() < deadline, "no second of the timeline told the wait: {text}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let t = waiting["t"].as_u64().expect("t");
    let until = waiting["wait_until"].as_u64().expect("until");
    let ahead = until.saturating_sub(t);
    assert!((7 * 3_600..=8 * 3_600 + 60).contains(&ahead), "one request per 8 h: {waiting}");
    assert_eq!(waiting["wait_on"], "gpt-4o-mini: requests limit 3 per 1d", "{waiting}");
    assert_eq!(waiting["binds"], "gpt-4o-mini: requests", "{waiting}");
    let lim = &waiting["models"]["gpt-4o-mini"]["limits"]["requests"];
    assert_eq!((lim["limit"].as_u64(), lim["window_s"].as_f64()), (Some(3), Some(86_400.0)));
    assert_eq!(emu.stats().requests, 3, "nothing was sent past the cap");
}
