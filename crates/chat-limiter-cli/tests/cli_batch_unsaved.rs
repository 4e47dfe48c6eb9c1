//! `--via batch` through the binary where a run stopped at the worst moments: an Anthropic
//! batch created but its id never saved (the batch is found, not paid for twice, and another
//! job's batch of the same size is not mistaken for it), a part that was never created, and
//! Ctrl-C while polling (the batches keep running and a rerun collects them).

mod cli_common;

use std::process::Command;
use std::time::{Duration, Instant};

use chat_limiter::{BatchApi, BatchItem, ChatCompletionRequest, ChatLimiter, Message, Provider};
use cli_common::batch::*;
use cli_common::{cli, records, spawnable, KEY};

fn anthropic_api(emu: &chat_limiter_emulator::Emulator) -> BatchApi {
    let limiter = ChatLimiter::builder()
        .provider(Provider::Anthropic)
        .model(model("anthropic"))
        .api_key(KEY)
        .base_url(emu.base_url())
        .build()
        .unwrap();
    BatchApi::new(&limiter).unwrap()
}

fn items(ids: impl Fn(u64) -> String, question: impl Fn(u64) -> String) -> Vec<BatchItem> {
    (1..=3)
        .map(|n| {
            let req =
                ChatCompletionRequest::new("", vec![Message::user(question(n))]).max_tokens(8);
            BatchItem::new(ids(n), req)
        })
        .collect()
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// The state a run leaves when it is killed after asking for part 1 (lines 1-3) and before
/// saving the id the provider answered with.
fn stopped_state(out: &std::path::Path, tag: &str) {
    let state = serde_json::json!({"version": 1, "provider": "anthropic", "tag": tag,
        "parts": [{"lines": [1, 2, 3], "batch_id": null, "done": false,
                   "submitted_at": unix_now()}]});
    std::fs::write(out.with_file_name("out.jsonl.batches.json"), state.to_string()).unwrap();
}

#[test]
fn an_anthropic_batch_created_but_not_saved_is_found_and_another_jobs_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator("anthropic", 300, 0);
    let (inp, out) = (input(dir.path()), dir.path().join("out.jsonl"));
    let api = anthropic_api(&emu);
    // Another job with the same key submitted three requests at the same moment, with ids
    // that look like ours but without our tag, and other questions.
    api.submit(&items(|n| format!("l{n}"), |n| format!("another job's question {n}"))).unwrap();
    // Ours: lines 1-3 (questions 0-2), created, then the run was killed.
    api.submit(&items(|n| format!("l{n}-deadbeef"), |n| format!("question {}", n - 1))).unwrap();
    stopped_state(&out, "deadbeef");

    let done = cli()
        .env(key_var("anthropic"), KEY)
        .args(args("anthropic", &emu, &inp, &out))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{stderr}");
    assert!(stderr.contains("watching rather than paying twice"), "{stderr}");
    assert!(stderr.contains("holds the unsaved part"), "{stderr}");
    assert_answered_once(&out);
    let stats = emu.batch_stats();
    // The two batches above, and two for lines 4-8: lines 1-3 were not submitted again.
    assert_eq!((stats.batches, stats.requests), (4, 11), "{stderr}");
}

#[test]
fn an_anthropic_part_never_created_is_submitted_again() {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator("anthropic", 100, 0);
    let (inp, out) = (input(dir.path()), dir.path().join("out.jsonl"));
    stopped_state(&out, "cafe0123");
    let done = cli()
        .env(key_var("anthropic"), KEY)
        .args(args("anthropic", &emu, &inp, &out))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{stderr}");
    assert!(stderr.contains("none was created"), "{stderr}");
    assert_answered_once(&out);
    let stats = emu.batch_stats();
    assert_eq!((stats.batches, stats.requests), (3, 8), "{stderr}");
}

#[test]
fn ctrl_c_while_polling_leaves_the_batches_running_and_a_rerun_collects_them() {
    for provider in ["openai", "anthropic"] {
        let dir = tempfile::tempdir().unwrap();
        let emu = emulator(provider, 2500, 0);
        let (inp, out) = (input(dir.path()), dir.path().join("out.jsonl"));
        let state = out.with_file_name("out.jsonl.batches.json");
        let child = spawnable()
            .env(key_var(provider), KEY)
            .args(args(provider, &emu, &inp, &out))
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        wait_for_batches(&state, 3);
        let pid = child.id().to_string();
        assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
        let started = Instant::now();
        let stopped = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&stopped.stderr);
        assert_eq!(stopped.status.code(), Some(130), "{provider}: {stderr}");
        assert!(started.elapsed() < Duration::from_secs(2), "{provider}: stops at once");
        assert!(stderr.contains("keep running at the provider"), "{provider}: {stderr}");
        assert!(stderr.contains("batches cancel"), "{provider}: {stderr}");
        assert_eq!(records(&out).len(), 0, "{provider}: nothing had ended yet");
        assert_eq!(emu.batch_stats().cancels, 0, "{provider}: Ctrl-C cancels nothing");

        let done = cli()
            .env(key_var(provider), KEY)
            .args(args(provider, &emu, &inp, &out))
            .output()
            .unwrap();
        assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
        assert_answered_once(&out);
        let stats = emu.batch_stats();
        assert_eq!((stats.batches, stats.requests), (3, 8), "{provider}: nothing submitted twice");
    }
}

#[test]
fn a_job_of_chat_and_responses_lines_goes_to_one_batch_per_endpoint_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator("openai", 300, 0);
    let lines: Vec<String> = (0..4)
        .map(|i| {
            if i % 2 == 0 {
                serde_json::json!({"custom_id": format!("c{i}"), "method": "POST",
                    "url": "/v1/chat/completions", "body": {"model": "gpt-4o-mini",
                    "messages": [{"role": "user", "content": format!("question {i}")}],
                    "max_tokens": 8}})
            } else {
                serde_json::json!({"custom_id": format!("r{i}"), "method": "POST",
                    "url": "/v1/responses", "body": {"model": "gpt-4o-mini",
                    "input": format!("question {i}"), "max_output_tokens": 16}})
            }
            .to_string()
        })
        .collect();
    let inp = cli_common::write_lines(dir.path(), "in.jsonl", &lines);
    let out = dir.path().join("out.jsonl");
    let done = cli().env(key_var("openai"), KEY).args(args("openai", &emu, &inp, &out)).output();
    let done = done.unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{stderr}");
    let recs = cli_common::by_id(&records(&out));
    assert_eq!(recs.len(), 4);
    for (id, object) in [
        ("c0", "chat.completion"),
        ("c2", "chat.completion"),
        ("r1", "response"),
        ("r3", "response"),
    ] {
        assert_eq!(recs[id]["response"]["body"]["object"], object, "{id}: {}", recs[id]);
    }
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.with_file_name("out.jsonl.batches.json")).unwrap(),
    )
    .unwrap();
    let endpoints: Vec<&str> = state["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["endpoint"].as_str().unwrap_or("/v1/chat/completions"))
        .collect();
    assert_eq!(endpoints, ["/v1/chat/completions", "/v1/responses"]);
    let again = cli().env(key_var("openai"), KEY).args(args("openai", &emu, &inp, &out)).output();
    assert!(again.unwrap().status.success());
    assert_eq!(emu.batch_stats().batches, 2, "nothing submitted twice");
}
