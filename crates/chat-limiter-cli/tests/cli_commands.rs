//! `chat-limiter emulate`, `demo` and `limits`.

mod cli_common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use chat_limiter_emulator::Emulator;
use cli_common::*;

/// Kills the child when the test ends, whatever happens.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn emulate_prints_a_base_url_that_answers() {
    let child = spawnable()
        .args(["emulate", "--provider", "openai", "--rpm", "77", "--latency-ms", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut child = Killed(child);
    let stdout = child.0.stdout.take().expect("stdout");
    let mut url = String::new();
    BufReader::new(stdout).read_line(&mut url).expect("first line");
    let url = url.trim();
    assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/v1"), "{url}");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .proxy(None)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let resp = agent
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
