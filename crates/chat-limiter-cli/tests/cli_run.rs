//! `chat-limiter run`: the input shapes, the output shape, bad lines, exit codes, stats JSON.

mod cli_common;

use chat_limiter_emulator::Emulator;
use cli_common::*;
use serde_json::{json, Value};

#[test]
fn openai_batch_lines_become_batch_output_lines() {
    let emu = Emulator::openai().start().expect("emulator");
    let dir = tempfile::tempdir().expect("tmp");
    let lines: Vec<String> = ["gpt-4o", "gpt-4o-mini", "gpt-4o"]
        .iter()
        .enumerate()
        .map(|(i, m)| {
            json!({"custom_id": format!("req-{i}"), "method": "POST", "url": "/v1/chat/completions",
                "body": {"model": m, "messages": [{"role": "user", "content": format!("hi {i}")}], "max_tokens": 5}})
            .to_string()
        })
        .collect();
    let input = write_lines(dir.path(), "in.jsonl", &lines);
    let out = dir.path().join("out.jsonl");
    let run = cli()
        .args([
            "run",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--base-url",
            &emu.base_url(),
        ])
        .env("OPENAI_API_KEY", KEY)
        .assert()
        .code(0);
    assert_no_key(&run.get_output().stderr);
    assert_no_key(&std::fs::read(&out).expect("output"));
    let recs = by_id(&records(&out));
    assert_eq!(recs.len(), 3);
    for (i, m) in ["gpt-4o", "gpt-4o-mini", "gpt-4o"].iter().enumerate() {
        let r = &recs[&format!("req-{i}")];
        assert_eq!(r["error"], Value::Null);
        assert_eq!(r["response"]["status_code"], 200);
        assert!(r["response"]["request_id"].is_string(), "{r}");
        assert_eq!(r["response"]["body"]["object"], "chat.completion");
        assert_eq!(r["response"]["body"]["model"], *m);
        assert!(r["id"].is_string());
    }
    assert_eq!(emu.stats().accepted, 3);
}

#[test]
fn anthropic_batch_lines_keep_their_system_prompt() {
    let emu = Emulator::anthropic().start().expect("emulator");
    let dir = tempfile::tempdir().expect("tmp");
    let system = "You answer in exactly one word, always.";
    let user = "What colour is the sky?";
    let lines = [
        json!({"custom_id": "s-string", "params": {"model": "claude-3-5-haiku-latest", "max_tokens": 10,
            "system": system, "messages": [{"role": "user", "content": user}]}}),
        json!({"custom_id": "s-blocks", "params": {"model": "claude-3-5-haiku-latest", "max_tokens": 10,
            "system": [{"type": "text", "text": system}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": user}]}]}}),
        json!({"custom_id": "no-system", "params": {"model": "claude-3-5-haiku-latest", "max_tokens": 10,
            "messages": [{"role": "user", "content": user}]}}),
    ]
    .map(|v| v.to_string());
    let input = write_lines(dir.path(), "in.jsonl", &lines);
    let out = dir.path().join("out.jsonl");
    cli()
        .args([
            "run",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--base-url",
            &emu.base_url(),
        ])
        .args(["--no-progress"])
        .env("ANTHROPIC_API_KEY", KEY)
        .assert()
        .code(0);
    let recs = by_id(&records(&out));
    // The emulator counts ceil(chars / 4) over the system text and the messages: the input
    // tokens prove the system prompt reached it.
    let with = (system.chars().count() + user.chars().count()).div_ceil(4) as u64;
    let without = user.chars().count().div_ceil(4) as u64;
    for (id, want) in [("s-string", with), ("s-blocks", with), ("no-system", without)] {
        let body = &recs[id]["response"]["body"];
        assert_eq!(body["type"], "message", "{id}");
        assert_eq!(body["usage"]["input_tokens"], want, "{id}");
    }
}

#[test]
fn bare_bodies_and_prompt_lines_with_default_model_and_line_number_ids() {
    let emu = Emulator::openai().start().expect("emulator");
    let dir = tempfile::tempdir().expect("tmp");
    let lines = [
        json!({"custom_id": "bare", "messages": [{"role": "user", "content": "one"}], "max_tokens": 4}),
        json!({"messages": [{"role": "user", "content": "two"}], "max_tokens": 4}),
        json!({"id": "p1", "prompt": "three", "max_tokens": 4}),
        json!({"id": 7, "prompt": "four", "system": "be brief", "max_tokens": 4}),
        json!({"prompt": "five", "model": "gpt-4o", "max_tokens": 4}),
    ]
    .map(|v| v.to_string());
    let input = write_lines(dir.path(), "in.jsonl", &lines);
    let out = dir.path().join("out.jsonl");
    cli()
        .args([
            "run",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--model",
            "gpt-4o-mini",
        ])
        .args(["--base-url", &emu.base_url()])
        .env("OPENAI_API_KEY", KEY)
        .assert()
        .code(0);
    let recs = by_id(&records(&out));
    let mut ids: Vec<&str> = recs.keys().map(String::as_str).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["2", "5", "7", "bare", "p1"]);
    assert_eq!(recs["bare"]["response"]["body"]["model"], "gpt-4o-mini");
    assert_eq!(recs["5"]["response"]["body"]["model"], "gpt-4o");
}

#[test]
fn malformed_and_duplicate_lines_get_error_records_and_the_run_goes_on() {
    let emu = Emulator::openai().start().expect("emulator");
    let dir = tempfile::tempdir().expect("tmp");
    let lines = [
        json!({"id": "a", "prompt": "one"}).to_string(),
        "{not json".to_string(),
        json!({"id": "x", "prompt": "two"}).to_string(),
        json!({"id": "x", "prompt": "three"}).to_string(),
        "[1, 2]".to_string(),
        json!({"id": "b", "prompt": "four"}).to_string(),
    ];
    let input = write_lines(dir.path(), "in.jsonl", &lines);
    let out = dir.path().join("out.jsonl");
    let args =
        ["run", input.to_str().unwrap(), "-o", out.to_str().unwrap(), "--model", "gpt-4o-mini"];
    cli()
        .args(args)
        .args(["--base-url", &emu.base_url()])
        .env("OPENAI_API_KEY", KEY)
        .assert()
        .code(1);
    let recs = records(&out);
    assert_eq!(recs.len(), 6, "one record per line");
    let find = |id: &str, code: Option<&str>| {
        recs.iter().filter(|r| r["custom_id"] == id && r["error"]["code"].as_str() == code).count()
    };
    assert_eq!(find("a", None) + find("x", None) + find("b", None), 3);
    assert_eq!(find("2", Some("invalid_input")), 1);
    assert_eq!(find("5", Some("invalid_input")), 1);
    assert_eq!(find("x", Some("duplicate_custom_id")), 1);
    let msg = |id: &str| {
        let r = recs.iter().find(|r| r["custom_id"] == id && !r["error"].is_null()).expect("error");
        r["error"]["message"].as_str().unwrap_or_default().to_string()
    };
    assert!(msg("2").contains("line 2"), "{}", msg("2"));
    assert!(msg("x").contains("line 4"), "{}", msg("x"));
    assert_eq!(emu.stats().accepted, 3);

    // A rerun has nothing left to do and writes nothing new.
    let before = std::fs::read(&out).expect("output");
    cli()
        .args(args)
        .args(["--base-url", &emu.base_url()])
        .env("OPENAI_API_KEY", KEY)
        .assert()
        .code(1);
    assert_eq!(std::fs::read(&out).expect("output"), before);
    assert_eq!(emu.stats().accepted, 3);
}

#[test]
fn exit_code_1_when_a_request_fails_and_2_on_configuration_errors() {
    let emu = Emulator::openai().models(vec!["gpt-4o-mini".into()]).start().expect("emulator");
    let dir = tempfile::tempdir().expect("tmp");
    let lines = [
        json!({"id": "ok", "prompt": "hi"}),
        json!({"id": "bad", "prompt": "hi", "model": "gpt-4o"}),
    ]
    .map(|v| v.to_string());
    let input = write_lines(dir.path(), "in.jsonl", &lines);
    let out = dir.path().join("out.jsonl");
    let (i, o) = (input.to_str().unwrap(), out.to_str().unwrap());
    let base = emu.base_url();
    let ok = ["run", i, "-o", o, "--model", "gpt-4o-mini", "--base-url", &base];
    cli().args(ok).env("OPENAI_API_KEY", KEY).assert().code(1);
    let recs = by_id(&records(&out));
    assert_eq!(recs["ok"]["error"], Value::Null);
    assert_eq!(recs["bad"]["response"]["status_code"], 404);
    // A 404 (a model the key cannot use, a wrong --base-url) is configuration: the next run
    // sends the line again (issue 13).
    assert_eq!(recs["bad"]["error"]["retryable"], true);
    assert_eq!(recs["bad"]["error"]["class"], "configuration");

    // Missing key, unknown model, unreadable input, bad flag values: 2, and nothing sent.
    let sent = emu.stats().requests;
    let missing = cli().args(ok).assert().code(2);
    let stderr = String::from_utf8_lossy(&missing.get_output().stderr).to_string();
    assert!(stderr.contains("OPENAI_API_KEY"), "{stderr}");
    cli()
        .args(["run", i, "-o", o, "--model", "my-model"])
        .env("OPENAI_API_KEY", KEY)
        .assert()
        .code(2);
    cli()
        .args(["run", "/nonexistent/in.jsonl", "-o", o, "--model", "gpt-4o"])
        .env("OPENAI_API_KEY", KEY)
        .assert()
        .code(2);
    cli().args(ok).args(["--request-limit", "many"]).env("OPENAI_API_KEY", KEY).assert().code(2);
    cli().args(ok).args(["--max-workers", "0"]).env("OPENAI_API_KEY", KEY).assert().code(2);
    cli().args(ok).args(["--timeout", "-1"]).env("OPENAI_API_KEY", KEY).assert().code(2);
    #[cfg(not(feature = "redis"))]
    {
        let r = cli()
            .args(ok)
            .args(["--redis", "redis://127.0.0.1:1"])
            .env("OPENAI_API_KEY", KEY)
            .assert()
            .code(2);
        assert!(String::from_utf8_lossy(&r.get_output().stderr).contains("redis"));
    }
    assert_eq!(emu.stats().requests, sent);
}

#[test]
fn stats_json_holds_the_summary() {
    let emu = Emulator::openai().rpm(1000).tpm(500_000).start().expect("emulator");
    let dir = tempfile::tempdir().expect("tmp");
    let mut lines = prompts(20);
    lines.push("oops".into());
    let input = write_lines(dir.path(), "in.jsonl", &lines);
    let out = dir.path().join("out.jsonl");
    let stats = dir.path().join("stats.json");
    cli()
        .args([
            "run",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--model",
            "gpt-4o-mini",
        ])
        .args(["--base-url", &emu.base_url(), "--stats-json", stats.to_str().unwrap()])
        .env("OPENAI_API_KEY", KEY)
        .assert()
        .code(1);
    let s: Value = serde_json::from_slice(&std::fs::read(&stats).expect("stats")).expect("JSON");
    assert_eq!(s["provider"], "openai");
    assert_eq!(s["total_lines"], 21);
    assert_eq!(s["succeeded"], 20);
    assert_eq!(s["invalid_input"], 1);
    assert_eq!(s["failed"], 0);
    assert_eq!(s["rate_limited"], 0);
    assert!(s["completion_tokens"].as_u64().unwrap_or(0) >= 20 * 4);
    assert!(s["achieved_rpm"].as_f64().unwrap_or(0.0) > 0.0);
    assert!(s["wall_secs"].as_f64().unwrap_or(0.0) > 0.0);
    assert_eq!(s["limits"][0]["model"], "gpt-4o-mini");
    assert_eq!(s["limits"][0]["rpm"], 1000, "learned from the headers: {s}");
    assert_eq!(s["limits"][0]["tpm"], 500_000);
    if cfg!(target_os = "linux") {
        assert!(s["peak_rss_kib"].as_u64().unwrap_or(0) > 0);
    }
}
