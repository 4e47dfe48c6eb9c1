//! `chat-limiter run` with OpenAI Batch API lines whose `url` is `/v1/responses`, through the
//! binary against the emulator: each goes to the Responses API and its output record holds the
//! Responses object in the Batch output shape; chat lines beside them stay chat lines; a rerun
//! resumes; --openai-api sends plain lines to the Responses API.

mod cli_common;

use chat_limiter_emulator::Emulator;
use cli_common::*;
use serde_json::{json, Value};

fn run(emu: &Emulator, input: &std::path::Path, out: &std::path::Path, extra: &[&str]) -> i32 {
    let mut args = vec!["run", input.to_str().unwrap(), "-o", out.to_str().unwrap()];
    let url = emu.base_url();
    args.extend(["--base-url", url.as_str(), "--no-progress"]);
    args.extend(extra);
    let a = cli().args(&args).env("OPENAI_API_KEY", KEY).assert();
    assert_no_key(&a.get_output().stderr);
    a.get_output().status.code().unwrap_or(-1)
}

#[test]
fn responses_lines_are_answered_by_the_responses_api_in_the_batch_shape() {
    let emu = Emulator::openai().rpm(500).start().expect("emulator");
    let dir = tempfile::tempdir().expect("tmp");
    let lines: Vec<String> = [
        json!({"custom_id": "r-string", "method": "POST", "url": "/v1/responses",
            "body": {"model": "o4-mini", "input": "What is Rust?", "instructions": "Be brief.",
                     "max_output_tokens": 40, "reasoning": {"effort": "low"}}}),
        json!({"custom_id": "r-items", "method": "POST", "url": "/v1/responses",
            "body": {"model": "gpt-4o-mini", "max_output_tokens": 30, "input": [
                {"role": "user", "content": [{"type": "input_text", "text": "Hello there"}]}]}}),
        json!({"custom_id": "chat", "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}}),
        json!({"custom_id": "bad", "method": "POST", "url": "/v1/responses",
            "body": {"model": "gpt-4o-mini", "input": [{"type": "reasoning", "summary": []}]}}),
    ]
    .iter()
    .map(Value::to_string)
    .collect();
    let input = write_lines(dir.path(), "in.jsonl", &lines);
    let out = dir.path().join("out.jsonl");
    assert_eq!(run(&emu, &input, &out, &[]), 1, "one line cannot be sent");
    let recs = by_id(&records(&out));
    assert_eq!(recs.len(), 4);
    for id in ["r-string", "r-items"] {
        let r = &recs[id];
        assert_eq!(r["error"], Value::Null, "{r}");
        assert_eq!(r["response"]["status_code"], 200);
        assert!(r["response"]["request_id"].as_str().is_some_and(|s| s.starts_with("req_")));
        let body = &r["response"]["body"];
        assert_eq!(body["object"], "response", "{r}");
        assert!(body["output"].as_array().is_some_and(|o| !o.is_empty()));
        assert!(body["usage"]["output_tokens"].as_u64().is_some_and(|n| n > 0));
    }
    let first = &recs["r-string"]["response"]["body"];
    assert_eq!(first["instructions"], "Be brief.");
    assert_eq!(first["max_output_tokens"], 40);
    assert_eq!(first["reasoning"]["effort"], "low");
    assert!(first["usage"]["output_tokens_details"]["reasoning_tokens"].as_u64().unwrap() > 0);
    assert_eq!(recs["chat"]["response"]["body"]["object"], "chat.completion");
    let bad = &recs["bad"]["error"];
    assert_eq!(bad["class"], "input", "{bad}");
    assert!(bad["message"].as_str().unwrap().contains("reasoning"), "{bad}");
    assert_eq!(emu.stats().accepted, 3);
    // A rerun sends nothing that is done.
    assert_eq!(run(&emu, &input, &out, &[]), 1);
    assert_eq!(emu.stats().accepted, 3, "nothing paid twice");
}

#[test]
fn openai_api_and_responses_models_choose_the_wire_for_plain_lines() {
    let emu = Emulator::openai().rpm(500).start().expect("emulator");
    let dir = tempfile::tempdir().expect("tmp");
    let lines = [
        r#"{"id":"a","prompt":"hello","model":"gpt-4o-mini","max_tokens":20}"#.to_string(),
        r#"{"id":"b","prompt":"hello","model":"o4-mini","max_tokens":20}"#.to_string(),
        r#"{"id":"c","model":"gpt-4o-mini","max_tokens":20,"messages":[{"role":"user","content":[{"type":"text","text":"see"},{"type":"image_url","image_url":{"url":"https://x/a.png","detail":"low"}}]}]}"#.to_string(),
    ];
    let input = write_lines(dir.path(), "in.jsonl", &lines);
    let out = dir.path().join("all.jsonl");
    assert_eq!(run(&emu, &input, &out, &["--openai-api", "responses"]), 0);
    let recs = by_id(&records(&out));
    assert_eq!(recs["a"]["response"]["body"]["object"], "response");
    assert_eq!(recs["b"]["response"]["body"]["object"], "response");
    // The image went as an `input_image` part and was charged by OpenAI's rule: 1 + 85.
    assert_eq!(recs["c"]["response"]["body"]["usage"]["input_tokens"], 86, "{}", recs["c"]);
    let out = dir.path().join("some.jsonl");
    assert_eq!(run(&emu, &input, &out, &["--responses-models", "o4*,gpt-5-pro"]), 0);
    let recs = by_id(&records(&out));
    assert_eq!(recs["a"]["response"]["body"]["object"], "chat.completion");
    assert_eq!(recs["b"]["response"]["body"]["object"], "response");
    // The Responses API is OpenAI's: another provider is a usage error before anything runs.
    let a = cli()
        .args([
            "run",
            input.to_str().unwrap(),
            "-o",
            dir.path().join("x.jsonl").to_str().unwrap(),
            "--provider",
            "anthropic",
            "--openai-api",
            "responses",
            "--base-url",
            &emu.base_url(),
        ])
        .env("ANTHROPIC_API_KEY", KEY)
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("openai_api"));
}
