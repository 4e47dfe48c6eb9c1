//! `--via auto --deadline` through the binary: a job the real-time path cannot finish by the
//! deadline is split (the first lines real time, the rest through the batch API), and lines
//! held by a batch of an earlier run that is still running are collected, never sent again.

mod cli_common;

use std::time::Duration;

use chat_limiter::{BatchApi, BatchItem, ChatCompletionRequest, ChatLimiter, Message, Provider};
use chat_limiter_emulator::{BatchEmulation, Emulator};
use cli_common::batch::*;
use cli_common::{cli, prompts, records, write_lines, KEY};

fn batch_answers(recs: &[serde_json::Value]) -> Vec<usize> {
    let text = |r: &serde_json::Value| {
        let b = &r["response"]["body"];
        b["choices"][0]["message"]["content"]
            .as_str()
            .or_else(|| b["content"][0]["text"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    let mut lines: Vec<usize> = recs
        .iter()
        .filter(|r| text(r).starts_with("batch answer to:"))
        .map(|r| r["custom_id"].as_str().unwrap()[1..].parse::<usize>().unwrap())
        .collect();
    lines.sort_unstable();
    lines
}

#[test]
fn a_job_the_deadline_cannot_hold_goes_real_time_first_and_the_rest_to_the_batch_api() {
    for provider in ["openai", "anthropic"] {
        let dir = tempfile::tempdir().unwrap();
        let mut b = BatchEmulation::default();
        b.processing_time = Duration::from_millis(300);
        let builder = if provider == "openai" { Emulator::openai() } else { Emulator::anthropic() };
        // 600 requests a minute: after the burst, 10 a second.
        let emu = builder
            .api_key(KEY)
            .requests_per(600, Duration::from_secs(60))
            .batch(b)
            .start()
            .unwrap();
        let n = 700;
        let inp = write_lines(dir.path(), "in.jsonl", &prompts(n));
        let out = dir.path().join("out.jsonl");
        let mut a = auto_args(provider, &emu, &inp, &out, "2s");
        let cap = a.iter().position(|x| x == "--batch-max-requests").unwrap();
        a.drain(cap..cap + 2);
        let done = cli().env(key_var(provider), KEY).args(a).output().unwrap();
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert!(done.status.success(), "{provider}: {stderr}");
        assert!(stderr.contains("--via auto: realtime + batch"), "{provider}: {stderr}");
        assert!(stderr.contains("one request of one output token"), "{provider}: {stderr}");
        let recs = records(&out);
        assert_eq!(recs.len(), n, "{provider}: one record per line");
        assert!(recs.iter().all(|r| r["response"]["status_code"] == 200), "{provider}");
        let by_batch = batch_answers(&recs);
        let sent_batch = emu.batch_stats().requests as usize;
        let sent_realtime = emu.stats().accepted as usize - 1; // the probe
        assert_eq!(by_batch.len(), sent_batch, "{provider}");
        assert_eq!(sent_batch + sent_realtime, n, "{provider}: no line sent twice: {stderr}");
        assert!(sent_batch > 0 && sent_realtime >= 600, "{provider}: {sent_realtime}");
        // The real-time share is the start of the job, the batch's the end.
        assert_eq!(by_batch, (n - sent_batch..n).collect::<Vec<_>>(), "{provider}");
        assert_eq!(emu.stats().rate_limited, 0, "{provider}: the real-time share kept the limit");
    }
}

#[test]
fn lines_held_by_a_batch_still_running_are_collected_not_sent_again() {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator("anthropic", 1500, 0);
    let (inp, out) = (input(dir.path()), dir.path().join("out.jsonl"));
    let limiter = ChatLimiter::builder()
        .provider(Provider::Anthropic)
        .model(model("anthropic"))
        .api_key(KEY)
        .base_url(emu.base_url())
        .build()
        .unwrap();
    // An earlier `--via batch` run submitted lines 6-8 (questions 5-7) and stopped.
    let items: Vec<BatchItem> = (6..=8)
        .map(|n| {
            let q = format!("question {}", n - 1);
            let req = ChatCompletionRequest::new("", vec![Message::user(q)]).max_tokens(8);
            BatchItem::new(format!("l{n}-0badf00d"), req)
        })
        .collect();
    let batch = BatchApi::new(&limiter).unwrap().submit(&items).unwrap();
    let state = serde_json::json!({"version": 1, "provider": "anthropic", "tag": "0badf00d",
        "parts": [{"lines": [6, 7, 8], "batch_id": batch.id, "done": false}]});
    std::fs::write(out.with_file_name("out.jsonl.batches.json"), state.to_string()).unwrap();

    let done = cli()
        .env(key_var("anthropic"), KEY)
        .args(auto_args("anthropic", &emu, &inp, &out, "2h"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{stderr}");
    assert!(stderr.contains("--via auto: realtime"), "{stderr}");
    assert_answered_once_any_path(&out);
    assert_eq!(emu.batch_stats().batches, 1, "nothing submitted again: {stderr}");
    assert_eq!(emu.stats().accepted, 1 + 5, "the probe and lines 1-5 only: {stderr}");
}

/// Every one of the 8 lines answered once (real time or batch).
fn assert_answered_once_any_path(out: &std::path::Path) {
    let recs = records(out);
    assert_eq!(recs.len(), 8, "{recs:?}");
    let ids = cli_common::by_id(&recs);
    assert_eq!(ids.len(), 8, "{recs:?}");
    assert!(recs.iter().all(|r| r["response"]["status_code"] == 200), "{recs:?}");
}
