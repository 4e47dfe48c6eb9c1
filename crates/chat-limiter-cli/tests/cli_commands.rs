//! `chat-limiter emulate`, `demo` and `limits`.

mod cli_common;

use chat_limiter_emulator::Emulator;
use cli_common::*;

#[test]
fn emulate_prints_a_base_url_that_answers() {
    let (_child, lines) =
        start_emulate(&["--provider", "openai", "--rpm", "77", "--latency-ms", "1"], 1);
    let url = lines[0].trim();
    assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/v1"), "{url}");
    let resp = agent()
        .post(&format!("{url}/chat/completions"))
        .header("authorization", "Bearer sk-anything")
        .header("content-type", "application/json")
        .send(r#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"max_tokens":3}"#)
        .expect("request");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers().get("x-ratelimit-limit-requests").and_then(|v| v.to_str().ok()),
        Some("77")
    );
}

#[test]
fn emulate_rejects_limits_of_another_provider() {
    cli().args(["emulate", "--provider", "openai", "--input-tpm", "5"]).assert().code(2);
    cli().args(["emulate", "--provider", "azure"]).assert().code(2);
}

#[test]
fn demo_runs_offline_without_a_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("demo.jsonl");
    let a = cli()
        .args(["demo", "--requests", "40", "--no-progress", "-o", out.to_str().unwrap()])
        .assert()
        .code(0);
    let stderr = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(stderr.contains("succeeded 40"), "{stderr}");
    assert!(stderr.contains("0 duplicate bodies"), "{stderr}");
    let recs = records(&out);
    assert_eq!(recs.len(), 40);
    assert!(recs.iter().all(|r| r["error"].is_null()));
}

#[test]
fn demo_without_output_removes_its_temporary_folder() {
    let tmp = tempfile::tempdir().expect("tmp");
    let a = cli()
        .args(["demo", "--requests", "5", "--no-progress"])
        .env("TMPDIR", tmp.path())
        .assert()
        .code(0);
    let stderr = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(stderr.contains("succeeded 5"), "{stderr}");
    assert!(stderr.contains("not kept"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).expect("read tmp").collect();
    assert!(left.is_empty(), "the demo left {left:?} behind");

    // With -o the results stay, and the scratch input is still removed.
    let out = tmp.path().join("kept.jsonl");
    cli()
        .args(["demo", "--requests", "3", "--no-progress", "-o", out.to_str().unwrap()])
        .env("TMPDIR", tmp.path())
        .assert()
        .code(0);
    assert_eq!(records(&out).len(), 3);
    let mut left: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("read tmp")
        .map(|e| e.expect("entry").file_name())
        .collect();
    left.sort();
    // The results and their timeline (what `chat-limiter report` draws) stay.
    assert_eq!(left, ["kept.jsonl", "kept.jsonl.timeline.jsonl"].map(std::ffi::OsString::from));
}

#[test]
fn limits_shows_what_the_headers_said() {
    let emu = Emulator::openai().rpm(321).tpm(54_321).start().expect("emulator");
    let a = cli()
        .args(["limits", "--model", "gpt-4o", "--base-url", &emu.base_url()])
        .env("OPENAI_API_KEY", KEY)
        .assert()
        .code(0);
    let out = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    let row = |dim: &str| {
        out.lines().find(|l| l.contains("gpt-4o") && l.contains(dim)).map(str::to_string)
    };
    assert!(row("requests").is_some_and(|r| r.contains(" 321 ")), "{out}");
    assert!(row("tokens").is_some_and(|r| r.contains(" 54321 ")), "{out}");
    assert_eq!(emu.stats().requests, 1, "one probe");
    assert_no_key(&a.get_output().stdout);

    let emu = Emulator::anthropic().input_tpm(40_000).output_tpm(8_000).start().expect("emulator");
    let a = cli()
        .args(["limits", "--model", "claude-3-5-haiku-latest", "--base-url", &emu.base_url()])
        .env("ANTHROPIC_API_KEY", KEY)
        .assert()
        .code(0);
    let out = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    assert!(out.contains("input tokens") && out.contains("40000"), "{out}");
    assert!(out.contains("output tokens") && out.contains("8000"), "{out}");

    let emu = Emulator::openrouter().credits(12.5).start().expect("emulator");
    let a = cli()
        .args(["limits", "--model", "openai/gpt-4o", "--base-url", &emu.base_url()])
        .env("OPENROUTER_API_KEY", KEY)
        .assert()
        .code(0);
    let out = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    assert!(out.contains("credit remaining  $12.5000"), "{out}");
}

#[test]
fn limits_fails_cleanly_without_a_key_or_a_server() {
    cli().args(["limits", "--model", "gpt-4o"]).assert().code(2);
    cli().args(["limits", "--model", "mystery"]).env("OPENAI_API_KEY", KEY).assert().code(2);
    cli()
        .args(["limits", "--model", "gpt-4o", "--base-url", "http://127.0.0.1:1/v1"])
        .env("OPENAI_API_KEY", KEY)
        .assert()
        .code(1);
}
