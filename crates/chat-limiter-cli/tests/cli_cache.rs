//! `run --cache` and `chat-limiter cache stats|prune` through the binary: a rerun of a
//! finished job into a new output costs zero requests at the emulator, two processes fill
//! one cache file at once, the policies and the non-deterministic rule, and the refusals.

mod cli_common;

use std::path::Path;

use chat_limiter_emulator::Emulator;
use cli_common::*;
use serde_json::{json, Value};

/// `n` deterministic prompt lines (temperature 0) from `from`.
fn det_lines(from: usize, n: usize) -> Vec<String> {
    (from..from + n)
        .map(|i| {
            json!({"id": format!("p{i}"), "prompt": format!("question {i}"), "max_tokens": 8,
                   "temperature": 0})
            .to_string()
        })
        .collect()
}

fn run(emu: &Emulator, input: &Path, out: &Path, cache: &Path, extra: &[&str]) -> String {
    let assert = cli()
        .args(["run", input.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .args(["--model", "gpt-4o-mini", "--base-url", &emu.base_url()])
        .args(["--cache", cache.to_str().unwrap()])
        .args(extra)
        .env("OPENAI_API_KEY", KEY)
        .assert()
        .code(0);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert_no_key(stderr.as_bytes());
    stderr
}

fn cache_cmd(args: &[&str]) -> (i32, String) {
    let out = cli().arg("cache").args(args).output().expect("runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn a_rerun_with_the_cache_costs_zero_requests() {
    let emu = Emulator::openai().start().expect("emulator");
    let dir = tempfile::tempdir().expect("tmp");
    let input = write_lines(dir.path(), "in.jsonl", &det_lines(0, 20));
    let cache = dir.path().join("cache.db");
    let (out1, out2) = (dir.path().join("out1.jsonl"), dir.path().join("out2.jsonl"));
    let first = run(&emu, &input, &out1, &cache, &[]);
    assert_eq!(emu.stats().requests, 20);
    assert!(first.contains("0 answered from the cache, 20 sent, 20 stored"), "{first}");
    // The same job into a new output (a changed metric, say): all from the cache.
    let again = run(&emu, &input, &out2, &cache, &[]);
    assert_eq!(emu.stats().requests, 20, "the rerun cost zero requests");
    assert!(again.contains("20 answered from the cache, 0 sent, 0 stored"), "{again}");
    // The summary does not read as if they were paid for.
    assert!(
        again.contains(
            "sent 20 (20 answered from the cache, not sent to the provider)  HTTP attempts 0"
        ),
        "{again}"
    );
    assert!(again.contains("tokens reported: in 0 out 0"), "{again}");
    let (a, b) = (by_id(&records(&out1)), by_id(&records(&out2)));
    assert_eq!(b.len(), 20);
    for (id, rec) in &b {
        assert_eq!(rec["error"], Value::Null, "{rec}");
        assert_eq!(rec["response"]["cached"], true, "the record says it is cached: {rec}");
        assert_eq!(rec["response"]["body"], a[id]["response"]["body"], "{id}: the same answer");
        assert_eq!(a[id]["response"].get("cached"), None, "a sent answer has no mark");
    }
    // Refresh sends everything again and stores it anew.
    let out3 = dir.path().join("out3.jsonl");
    let refresh = run(&emu, &input, &out3, &cache, &["--cache-policy", "refresh"]);
    assert_eq!(emu.stats().requests, 40);
    assert!(refresh.contains("0 answered from the cache, 0 sent, 20 stored"), "{refresh}");
    // Read-only on an empty cache sends and stores nothing.
    let (empty, out4) = (dir.path().join("empty.db"), dir.path().join("out4.jsonl"));
    let ro = run(&emu, &input, &out4, &empty, &["--cache-policy", "read-only"]);
    assert_eq!(emu.stats().requests, 60);
    assert!(ro.contains("20 sent, 0 stored"), "{ro}");
    assert_eq!(cache_cmd(&["stats", empty.to_str().unwrap()]).1.lines().next(), Some("entries 0"));
}

#[test]
fn two_processes_fill_one_cache_file_at_once() {
    let emu = Emulator::openai().start().expect("emulator");
    let dir = tempfile::tempdir().expect("tmp");
    let cache = dir.path().join("cache.db");
    let halves = [
        write_lines(dir.path(), "a.jsonl", &det_lines(0, 40)),
        write_lines(dir.path(), "b.jsonl", &det_lines(40, 40)),
    ];
    let children: Vec<_> = halves
        .iter()
        .enumerate()
        .map(|(i, input)| {
            spawnable()
                .args(["run", input.to_str().unwrap(), "-o"])
                .arg(dir.path().join(format!("out{i}.jsonl")))
                .args(["--model", "gpt-4o-mini", "--base-url", &emu.base_url(), "--no-progress"])
                .args(["--cache", cache.to_str().unwrap()])
                .env("OPENAI_API_KEY", KEY)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert!(stderr.contains("40 sent, 40 stored, 0 not cacheable, 0 errors"), "{stderr}");
    }
    assert_eq!(emu.stats().requests, 80);
    let (code, stats) = cache_cmd(&["stats", cache.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(stats.starts_with("entries 80\nbytes "), "{stats}");
    // A third process answers all 80 from what the other two stored.
    let all = write_lines(dir.path(), "all.jsonl", &det_lines(0, 80));
    let third = run(&emu, &all, &dir.path().join("all-out.jsonl"), &cache, &[]);
    assert!(third.contains("80 answered from the cache, 0 sent"), "{third}");
    assert_eq!(emu.stats().requests, 80);
    // prune: by age keeps fresh entries, --all removes them.
    assert_eq!(cache_cmd(&["prune", cache.to_str().unwrap(), "--max-age", "1h"]).1, "removed 0\n");
    assert_eq!(cache_cmd(&["prune", cache.to_str().unwrap(), "--all"]).1, "removed 80\n");
    assert!(cache_cmd(&["stats", cache.to_str().unwrap()]).1.starts_with("entries 0\n"));
}

#[test]
fn non_deterministic_lines_are_cached_only_when_asked() {
    let emu = Emulator::openai().start().expect("emulator");
    let dir = tempfile::tempdir().expect("tmp");
    let input = write_lines(dir.path(), "in.jsonl", &prompts(5)); // no temperature: default 1
    let cache = dir.path().join("cache.db");
    let first = run(&emu, &input, &dir.path().join("o1.jsonl"), &cache, &[]);
    assert!(first.contains("5 not cacheable"), "{first}");
    assert!(first.contains("--cache-nondeterministic"), "the run says why and what to do");
    run(&emu, &input, &dir.path().join("o2.jsonl"), &cache, &[]);
    assert_eq!(emu.stats().requests, 10, "sent again: a sample is not replayed");
    let flag = ["--cache-nondeterministic"];
    run(&emu, &input, &dir.path().join("o3.jsonl"), &cache, &flag);
    let asked = run(&emu, &input, &dir.path().join("o4.jsonl"), &cache, &flag);
    assert!(asked.contains("5 answered from the cache"), "{asked}");
    assert_eq!(emu.stats().requests, 15);
}

#[test]
fn misuse_is_refused_with_a_usage_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = write_lines(dir.path(), "in.jsonl", &det_lines(0, 1));
    let out = dir.path().join("out.jsonl");
    let missing = dir.path().join("missing.db");
    let batch = cli()
        .args(["run", input.to_str().unwrap(), "-o", out.to_str().unwrap(), "--via", "batch"])
        .args(["--model", "gpt-4o-mini", "--cache", missing.to_str().unwrap()])
        .env("OPENAI_API_KEY", KEY)
        .output()
        .unwrap();
    assert_eq!(batch.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&batch.stderr).contains("--via realtime"));
    assert_eq!(cache_cmd(&["stats", missing.to_str().unwrap()]).0, 2, "no such cache");
    let bad_age = cli()
        .args(["run", input.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .args(["--model", "gpt-4o-mini", "--cache", missing.to_str().unwrap()])
        .args(["--cache-max-age", "soon"])
        .env("OPENAI_API_KEY", KEY)
        .output()
        .unwrap();
    assert_eq!(bad_age.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_age.stderr).contains("--cache-max-age"));
    let policy_alone = cli()
        .args(["run", input.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .args(["--model", "gpt-4o-mini", "--cache-policy", "refresh"])
        .env("OPENAI_API_KEY", KEY)
        .output()
        .unwrap();
    assert_eq!(policy_alone.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&policy_alone.stderr);
    assert!(stderr.contains("--cache <PATH>"), "--cache-policy needs --cache: {stderr}");
}

#[test]
fn cache_max_age_sends_older_answers_again() {
    let emu = Emulator::openai().start().expect("emulator");
    let dir = tempfile::tempdir().expect("tmp");
    let input = write_lines(dir.path(), "in.jsonl", &det_lines(0, 3));
    let cache = dir.path().join("cache.db");
    run(&emu, &input, &dir.path().join("o1.jsonl"), &cache, &[]);
    let fresh = run(&emu, &input, &dir.path().join("o2.jsonl"), &cache, &["--cache-max-age", "1h"]);
    assert!(fresh.contains("3 answered from the cache"), "{fresh}");
    std::thread::sleep(std::time::Duration::from_millis(1100)); // the entries are now > 1 s old
    let stale = run(&emu, &input, &dir.path().join("o3.jsonl"), &cache, &["--cache-max-age", "1s"]);
    assert!(stale.contains("0 answered from the cache, 3 sent, 3 stored"), "{stale}");
    assert_eq!(emu.stats().requests, 6);
}
