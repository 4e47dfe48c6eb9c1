//! More `--via batch` and `--via auto` through the binary: a run killed between creating a
//! batch and saving its id, the enqueued-token limit, and the choice of `--via auto`.

mod cli_common;

use std::time::Duration;

use chat_limiter_emulator::{BatchEmulation, Emulator};
use cli_common::batch::*;
use cli_common::{cli, records, KEY};

#[test]
fn a_run_killed_between_creating_a_batch_and_saving_its_id_finds_it_by_its_file() {
    use chat_limiter::{
        BatchApi, BatchItem, ChatCompletionRequest, ChatLimiter, Message, Provider,
    };
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator("openai", 300, 0);
    let (inp, out) = (input(dir.path()), dir.path().join("out.jsonl"));
    // What the run had done when it was killed: lines 1-3 uploaded and their batch created,
    // but only the file id saved.
    let limiter = ChatLimiter::builder()
        .provider(Provider::OpenAI)
        .model("gpt-4o-mini")
        .api_key(KEY)
        .base_url(emu.base_url())
        .build()
        .unwrap();
    let api = BatchApi::new(&limiter).unwrap();
    let part: Vec<BatchItem> = (1..=3)
        .map(|n| {
            let q = format!("question {}", n - 1);
            BatchItem::new(
                format!("l{n}"),
                ChatCompletionRequest::new("", vec![Message::user(q)]).max_tokens(8),
            )
        })
        .collect();
    let file = api.upload(&part).unwrap();
    api.create_from_file(&file).unwrap();
    let state = serde_json::json!({"version": 1, "provider": "openai",
        "parts": [{"lines": [1, 2, 3], "file_id": file, "batch_id": null, "done": false}]});
    std::fs::write(out.with_file_name("out.jsonl.batches.json"), state.to_string()).unwrap();
    let done =
        cli().env("OPENAI_API_KEY", KEY).args(args("openai", &emu, &inp, &out)).output().unwrap();
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert_answered_once(&out);
    let stats = emu.batch_stats();
    assert_eq!(
        (stats.batches, stats.requests, stats.files),
        (3, 8, 3),
        "the first batch was not created twice"
    );
}

#[test]
fn batches_over_the_enqueued_token_limit_wait_for_earlier_ones_then_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = BatchEmulation::default();
    b.processing_time = Duration::from_millis(300);
    b.max_requests = Some(3);
    // "question N" is 3 tokens: one batch of 3 lines (9 tokens) at a time.
    b.enqueued_tokens = Some(10);
    let emu = Emulator::openai().api_key(KEY).batch(b).start().unwrap();
    let (inp, out) = (input(dir.path()), dir.path().join("out.jsonl"));
    let done =
        cli().env("OPENAI_API_KEY", KEY).args(args("openai", &emu, &inp, &out)).output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{stderr}");
    assert!(stderr.contains("waits for the enqueued-token limit"), "{stderr}");
    assert_answered_once(&out);
    // Submitted 3 at once: 1 accepted, 2 refused whole (not billed); then 2 again (1 accepted),
    // then the last one.
    assert_eq!(emu.batch_stats().batches, 6);
}

#[test]
fn via_auto_takes_the_real_time_path_for_a_deadline_shorter_than_the_batch_window() {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator("openai", 100, 0);
    let (inp, out) = (input(dir.path()), dir.path().join("out.jsonl"));
    let done = cli()
        .env("OPENAI_API_KEY", KEY)
        .args(auto_args("openai", &emu, &inp, &out, "2h"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{stderr}");
    assert!(
        stderr.contains("--via auto: realtime") && stderr.contains("within the deadline"),
        "{stderr}"
    );
    assert_eq!(emu.batch_stats().batches, 0);
    assert_eq!(emu.stats().accepted, 1 + 8, "a one-token probe for the limits, then the job");
    assert_eq!(records(&out).iter().filter(|r| r["response"]["status_code"] == 200).count(), 8);
}

#[test]
fn via_auto_uses_the_batch_api_and_finishes_expired_lines_on_the_real_time_path() {
    for provider in ["openai", "anthropic"] {
        let dir = tempfile::tempdir().unwrap();
        let emu = emulator(provider, 100, 2);
        let (inp, out) = (input(dir.path()), dir.path().join("out.jsonl"));
        let done = cli()
            .env(key_var(provider), KEY)
            .args(auto_args(provider, &emu, &inp, &out, "2d"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert!(done.status.success(), "{stderr}");
        assert!(
            stderr.contains("--via auto: batch") && stderr.contains("half the price"),
            "{stderr}"
        );
        let recs = cli_common::by_id(&records(&out));
        assert_eq!(recs.len(), 8);
        assert!(recs.values().all(|r| r["response"]["status_code"] == 200), "{recs:?}");
        assert_eq!(records(&out).len(), 8, "one record per line after the run");
        assert_eq!(emu.batch_stats().requests, 8, "{provider}");
        assert_eq!(emu.stats().accepted, 2, "{provider}: only the 2 expired lines in real time");
    }
}
