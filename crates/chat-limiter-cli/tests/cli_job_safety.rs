//! Job safety of `chat-limiter run`, through the binary: one process per output, inputs read
//! once, outputs that must be regular files, a full disk, failures that are not final, changed
//! requests, a byte order mark, and a summary that agrees with the server's counts.

mod cli_common;

use std::process::Stdio;
use std::time::Duration;

use chat_limiter_emulator::Emulator;
use cli_common::*;

fn run_args<'a>(input: &'a str, out: &'a str, base: &'a str) -> Vec<&'a str> {
    vec!["run", input, "-o", out, "--model", "gpt-4o-mini", "--base-url", base, "--no-progress"]
}

fn stderr_of(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).to_string()
}

#[test]
fn a_second_process_on_the_same_output_is_refused_and_told_who_holds_it() {
    let emu = Emulator::openai()
        .unlimited()
        .latency(Duration::from_millis(200), Duration::ZERO)
        .start()
        .expect("emu");
    let dir = tempfile::tempdir().expect("tmp");
    let input = write_lines(dir.path(), "in.jsonl", &prompts(40));
    let out = dir.path().join("out.jsonl");
    let (i, o, base) = (input.to_str().unwrap(), out.to_str().unwrap(), emu.base_url());
    let first = spawnable()
        .args(run_args(i, o, &base))
        .args(["--max-concurrent-requests", "2"])
        .env("OPENAI_API_KEY", KEY)
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut first = Killed(first);
    wait_for_lines(&out, 1, Duration::from_secs(20));
    let a = cli().args(run_args(i, o, &base)).env("OPENAI_API_KEY", KEY).assert().code(2);
    let err = stderr_of(&a);
    assert!(err.contains(&format!("in use by process {}", first.0.id())), "{err}");
    assert!(first.0.wait().expect("wait").success());
    let recs = records(&out);
    assert_eq!(recs.len(), 40, "every line exactly once");
    assert_eq!(by_id(&recs).len(), 40);
    assert_eq!(emu.stats().duplicate_bodies, 0);
}

#[test]
fn a_pipe_as_input_is_read_once_and_every_line_sent() {
    let emu = Emulator::openai().unlimited().start().expect("emu");
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("out.jsonl");
    let text = prompts(25).join("\n") + "\n";
    // No --model: the provider comes from the first line, read from the pipe and kept.
    let lines: Vec<String> = (0..25)
        .map(|i| {
            serde_json::json!({"id": format!("p{i}"), "prompt": format!("q {i}"), "model": "gpt-4o-mini"})
                .to_string()
        })
        .collect();
    let text_with_model = lines.join("\n") + "\n";
    for (n, (text, model)) in [(text, true), (text_with_model, false)].into_iter().enumerate() {
        let out = dir.path().join(format!("out{n}.jsonl"));
        let mut args = vec![
            "run".to_string(),
            "/dev/stdin".into(),
            "-o".into(),
            out.to_str().unwrap().into(),
            "--base-url".into(),
            emu.base_url(),
        ];
        if model {
            args.extend(["--model".into(), "gpt-4o-mini".into()]);
        }
        cli().args(&args).env("OPENAI_API_KEY", KEY).write_stdin(text).assert().code(0);
        assert_eq!(by_id(&records(&out)).len(), 25, "run {n}");
    }
    let _ = out;
}

#[test]
fn outputs_that_are_not_regular_files_or_are_the_input_are_refused() {
    let emu = Emulator::openai().unlimited().start().expect("emu");
    let dir = tempfile::tempdir().expect("tmp");
    let input = write_lines(dir.path(), "in.jsonl", &prompts(3));
    let (i, base) = (input.to_str().unwrap(), emu.base_url());
    for (out, want) in [
        ("/dev/full", "not a regular file"),
        ("/dev/stdout", "not a regular file"),
        (i, "is the input"),
    ] {
        let a = cli().args(run_args(i, out, &base)).env("OPENAI_API_KEY", KEY).assert().code(2);
        assert!(stderr_of(&a).contains(want), "{out}: {}", stderr_of(&a));
    }
    assert_eq!(emu.stats().requests, 0, "nothing sent");
    assert_eq!(std::fs::read_to_string(&input).expect("read"), prompts(3).join("\n") + "\n");
}

#[test]
fn wrong_base_url_and_quota_failures_are_sent_again_and_retry_failed_sends_final_ones() {
    let emu = Emulator::openai().unlimited().start().expect("emu");
    let dir = tempfile::tempdir().expect("tmp");
    let input = write_lines(dir.path(), "in.jsonl", &prompts(30));
    let out = dir.path().join("out.jsonl");
    let (i, o) = (input.to_str().unwrap(), out.to_str().unwrap());
    let wrong = format!("{}/nowhere", emu.base_url());
    // The first three requests all answer 404: the run stops instead of recording the same
    // failure on every line, and says what to check.
    let a = cli().args(run_args(i, o, &wrong)).env("OPENAI_API_KEY", KEY).assert().code(2);
    let stderr = stderr_of(&a);
    assert!(stderr.contains("the first 3 requests all failed with HTTP 404"), "{stderr}");
    assert!(stderr.contains("--base-url"), "{stderr}");
    let recs = records(&out);
    // The three, and those already in flight when the third answered.
    assert!((3..10).contains(&recs.len()), "the other lines were never sent: {}", recs.len());
    assert_eq!(emu.stats().requests as usize, recs.len(), "nothing sent without a record");
    for r in &recs {
        assert_eq!(r["error"]["class"], "configuration", "{r}");
        assert_eq!(r["error"]["retryable"], true, "{r}");
    }
    cli().args(run_args(i, o, &emu.base_url())).env("OPENAI_API_KEY", KEY).assert().code(0);
    let recs = records(&out);
    assert_eq!(recs.len(), 30, "old records replaced");
    assert!(recs.iter().all(|r| r["error"].is_null()));
    assert_eq!(emu.stats().accepted, 30);

    // A final failure (invalid input) is skipped by default and sent again on request.
    let bad = write_lines(dir.path(), "bad.jsonl", &[r#"{"id":"x","prompt":7}"#.to_string()]);
    let out2 = dir.path().join("out2.jsonl");
    let (b, o2) = (bad.to_str().unwrap(), out2.to_str().unwrap());
    cli().args(run_args(b, o2, &emu.base_url())).env("OPENAI_API_KEY", KEY).assert().code(1);
    let fixed = r#"{"id":"x","prompt":"seven"}"#.to_string();
    std::fs::write(&bad, format!("{fixed}\n")).expect("fix");
    // The fixed line is a new request (no fingerprint on an input error): --retry failed.
    let a =
        cli().args(run_args(b, o2, &emu.base_url())).env("OPENAI_API_KEY", KEY).assert().code(1);
    assert!(stderr_of(&a).contains("skipped (done before) 1"), "{}", stderr_of(&a));
    cli()
        .args(run_args(b, o2, &emu.base_url()))
        .args(["--retry", "failed"])
        .env("OPENAI_API_KEY", KEY)
        .assert()
        .code(0);
    let recs = records(&out2);
    assert_eq!(recs.len(), 1);
    assert!(recs[0]["error"].is_null());
}

#[test]
fn a_changed_line_is_sent_again_instead_of_skipped() {
    let emu = Emulator::openai().unlimited().start().expect("emu");
    let dir = tempfile::tempdir().expect("tmp");
    let input = write_lines(dir.path(), "in.jsonl", &prompts(4));
    let out = dir.path().join("out.jsonl");
    let (i, o, base) = (input.to_str().unwrap(), out.to_str().unwrap(), emu.base_url());
    cli().args(run_args(i, o, &base)).env("OPENAI_API_KEY", KEY).assert().code(0);
    let mut lines = prompts(4);
    lines[2] =
        serde_json::json!({"id": "p2", "prompt": "another question", "max_tokens": 8}).to_string();
    write_lines(dir.path(), "in.jsonl", &lines);
    let a = cli().args(run_args(i, o, &base)).env("OPENAI_API_KEY", KEY).assert().code(0);
    assert!(stderr_of(&a).contains("changed requests 1"), "{}", stderr_of(&a));
    assert_eq!(emu.stats().accepted, 5);
    let recs = records(&out);
    assert_eq!(recs.len(), 4, "the old answer of p2 is gone");
}

#[test]
fn bom_and_missing_final_newlines_are_not_traps() {
    let emu = Emulator::openai().unlimited().start().expect("emu");
    let dir = tempfile::tempdir().expect("tmp");
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, format!("\u{feff}{}", prompts(3).join("\n"))).expect("write");
    let out = dir.path().join("out.jsonl");
    let (i, o, base) = (input.to_str().unwrap(), out.to_str().unwrap(), emu.base_url());
    cli().args(run_args(i, o, &base)).env("OPENAI_API_KEY", KEY).assert().code(0);
    assert_eq!(by_id(&records(&out)).len(), 3);
    // The last record loses its newline (an editor): it is whole, so it is kept.
    let text = std::fs::read_to_string(&out).expect("read");
    std::fs::write(&out, text.trim_end()).expect("write");
    let a = cli().args(run_args(i, o, &base)).env("OPENAI_API_KEY", KEY).assert().code(0);
    assert!(stderr_of(&a).contains("skipped (done before) 3"), "{}", stderr_of(&a));
    assert_eq!(emu.stats().accepted, 3, "nothing sent twice");
    assert_eq!(line_count(&out), 3);
}

#[test]
fn the_summary_counts_attempts_and_429s_as_the_server_does() {
    let (_emu, lines) = start_emulate(&["--provider", "openai", "--fault-rate", "0.3"], 1);
    let base = lines[0].clone();
    let dir = tempfile::tempdir().expect("tmp");
    let input = write_lines(dir.path(), "in.jsonl", &prompts(40));
    let out = dir.path().join("out.jsonl");
    let stats = dir.path().join("stats.json");
    let (i, o) = (input.to_str().unwrap(), out.to_str().unwrap());
    // 5xx faults make the client retry; the server counts every attempt.
    cli()
        .args(run_args(i, o, &base))
        .args(["--max-retries", "20", "--stats-json"])
        .arg(&stats)
        .env("OPENAI_API_KEY", KEY)
        .timeout(Duration::from_secs(240))
        .assert()
        .code(0);
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).expect("stats")).expect("json");
    let server: serde_json::Value = agent()
        .get(format!("{}/_stats", base.trim_end_matches("/v1")))
        .call()
        .expect("stats")
        .body_mut()
        .read_to_string()
        .map(|t| serde_json::from_str(&t).expect("json"))
        .expect("body");
    assert!(server["requests"].as_u64().unwrap() > 40, "the test must meet retries: {server}");
    assert_eq!(s["attempts"], server["requests"], "{s} vs {server}");
    assert_eq!(s["rate_limited"], server["rate_limited"], "{s} vs {server}");
    assert_eq!(s["retries"].as_u64(), Some(server["requests"].as_u64().unwrap() - 40));
}
