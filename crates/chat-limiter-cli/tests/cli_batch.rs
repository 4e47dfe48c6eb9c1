//! `chat-limiter run --via batch` through the binary against the emulator's batch APIs, both
//! providers: a job split over several batches, kill -9 while polling then resume, a rerun
//! that resubmits only the expired lines, and nothing ever submitted twice.

mod cli_common;

use std::path::Path;
use std::time::{Duration, Instant};

use chat_limiter_emulator::{BatchEmulation, Emulator};
use cli_common::{assert_no_key, cli, records, spawnable, write_lines, KEY};

fn emulator(provider: &str, processing_ms: u64, expire: u64) -> Emulator {
    emulator_with(provider, processing_ms, expire, Duration::ZERO)
}

fn emulator_with(provider: &str, processing_ms: u64, expire: u64, download: Duration) -> Emulator {
    let mut b = BatchEmulation::default();
    b.download_delay = download;
    b.processing_time = Duration::from_millis(processing_ms);
    b.max_requests = Some(3);
    b.expire_items = expire;
    let builder = if provider == "openai" { Emulator::openai() } else { Emulator::anthropic() };
    builder.api_key(KEY).batch(b).start().expect("emulator")
}

fn model(provider: &str) -> &'static str {
    if provider == "openai" {
        "gpt-4o-mini"
    } else {
        "claude-3-5-haiku-latest"
    }
}

fn key_var(provider: &str) -> &'static str {
    if provider == "openai" {
        "OPENAI_API_KEY"
    } else {
        "ANTHROPIC_API_KEY"
    }
}

/// Eight prompts; ids with a space, which Anthropic's batch API would refuse as custom_ids.
fn input(dir: &Path) -> std::path::PathBuf {
    let lines: Vec<String> = (0..8)
        .map(|i| serde_json::json!({"id": format!("item {i}"), "prompt": format!("question {i}"), "max_tokens": 8}).to_string())
        .collect();
    write_lines(dir, "in.jsonl", &lines)
}

fn args(provider: &str, emu: &Emulator, input: &Path, out: &Path) -> Vec<String> {
    [
        "run",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--via",
        "batch",
        "--provider",
        provider,
        "--model",
        model(provider),
        "--base-url",
        &emu.base_url(),
        "--batch-max-requests",
        "3",
        "--poll-interval",
        "0.05",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Every line answered exactly once, with the answer to its own question.
fn assert_answered_once(out: &Path) {
    let recs = records(out);
    assert_eq!(recs.len(), 8, "{recs:?}");
    for i in 0..8 {
        let mine: Vec<_> = recs.iter().filter(|r| r["custom_id"] == format!("item {i}")).collect();
        assert_eq!(mine.len(), 1, "item {i}: {mine:?}");
        let body = &mine[0]["response"]["body"];
        let text = body["choices"][0]["message"]["content"]
            .as_str()
            .or_else(|| body["content"][0]["text"].as_str())
            .unwrap_or_default();
        assert_eq!(text, format!("batch answer to: question {i}"), "{}", mine[0]);
    }
}

#[test]
fn a_job_is_split_over_several_batches_and_a_rerun_submits_nothing() {
    for provider in ["openai", "anthropic"] {
        let dir = tempfile::tempdir().unwrap();
        let emu = emulator(provider, 300, 0);
        let (inp, out) = (input(dir.path()), dir.path().join("out.jsonl"));
        let done = cli()
            .env(key_var(provider), KEY)
            .args(args(provider, &emu, &inp, &out))
            .output()
            .unwrap();
        assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
        assert_no_key(&done.stderr);
        assert!(
            String::from_utf8_lossy(&done.stderr).contains("succeeded"),
            "progress shows counts"
        );
        assert_answered_once(&out);
        assert_eq!(emu.batch_stats().batches, 3, "{provider}: 8 lines at 3 per batch");
        assert!(
            out.with_file_name("out.jsonl.batches.json").exists(),
            "the job state is beside the output"
        );
        let again = cli()
            .env(key_var(provider), KEY)
            .args(args(provider, &emu, &inp, &out))
            .output()
            .unwrap();
        assert!(again.status.success());
        assert_eq!(emu.batch_stats().batches, 3, "a finished job submits nothing");
        assert_answered_once(&out);
    }
}

#[test]
fn kill_9_while_polling_then_resume_submits_no_batch_twice() {
    for provider in ["openai", "anthropic"] {
        let dir = tempfile::tempdir().unwrap();
        let emu = emulator(provider, 2500, 0);
        let (inp, out) = (input(dir.path()), dir.path().join("out.jsonl"));
        let state = out.with_file_name("out.jsonl.batches.json");
        let mut child = spawnable()
            .env(key_var(provider), KEY)
            .args(args(provider, &emu, &inp, &out))
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ids = std::fs::read_to_string(&state)
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .map(|v| {
                    v["parts"]
                        .as_array()
                        .map(|p| p.iter().filter(|p| p["batch_id"].is_string()).count())
                        .unwrap_or(0)
                })
                .unwrap_or(0);
            if ids == 3 {
                break;
            }
            assert!(Instant::now() < deadline, "the batches were never all submitted");
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().expect("kill -9");
        let _ = child.wait();
        assert_eq!(records(&out).len(), 0, "killed while the batches were still running");
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
fn kill_9_during_the_download_then_resume_writes_every_line_once() {
    for provider in ["openai", "anthropic"] {
        let dir = tempfile::tempdir().unwrap();
        // Each results download takes 1.5 s: the kill lands while the second batch's is served.
        let emu = emulator_with(provider, 200, 0, Duration::from_millis(1500));
        let (inp, out) = (input(dir.path()), dir.path().join("out.jsonl"));
        let child = spawnable()
            .env(key_var(provider), KEY)
            .args(args(provider, &emu, &inp, &out))
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut child = cli_common::Killed(child);
        cli_common::wait_for_lines(&out, 3, Duration::from_secs(20));
        child.0.kill().expect("kill -9");
        let _ = child.0.wait();
        let written = records(&out).len();
        assert!((3..8).contains(&written), "killed mid-job: {written} records");
        let downloads_before = emu.batch_stats().downloads;
        let done = cli()
            .env(key_var(provider), KEY)
            .args(args(provider, &emu, &inp, &out))
            .output()
            .unwrap();
        assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
        assert_answered_once(&out);
        let stats = emu.batch_stats();
        assert_eq!((stats.batches, stats.requests), (3, 8), "{provider}: nothing submitted twice");
        assert!(stats.downloads > downloads_before, "the resumed run downloaded what was left");
    }
}

#[test]
fn expired_lines_are_recorded_retryable_and_a_rerun_resubmits_only_those() {
    for provider in ["openai", "anthropic"] {
        let dir = tempfile::tempdir().unwrap();
        let emu = emulator(provider, 100, 2);
        let (inp, out) = (input(dir.path()), dir.path().join("out.jsonl"));
        let first = cli()
            .env(key_var(provider), KEY)
            .args(args(provider, &emu, &inp, &out))
            .output()
            .unwrap();
        assert_eq!(first.status.code(), Some(1), "expired lines are failures of this run");
        let expired: Vec<_> =
            records(&out).into_iter().filter(|r| r["error"]["code"] == "batch_expired").collect();
        assert_eq!(expired.len(), 2, "{provider}");
        assert!(expired.iter().all(|r| r["error"]["retryable"] == true));
        let second = cli()
            .env(key_var(provider), KEY)
            .args(args(provider, &emu, &inp, &out))
            .output()
            .unwrap();
        assert!(second.status.success(), "{}", String::from_utf8_lossy(&second.stderr));
        assert_answered_once(&out);
        let stats = emu.batch_stats();
        assert_eq!(
            (stats.batches, stats.requests),
            (4, 10),
            "{provider}: only the 2 expired lines again"
        );
    }
}

/// Waits until the job's state shows `n` submitted batches.
fn wait_for_batches(state: &Path, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ids = std::fs::read_to_string(state)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| {
                v["parts"]
                    .as_array()
                    .map(|p| p.iter().filter(|p| p["batch_id"].is_string()).count())
            })
            .unwrap_or(0);
        if ids == n {
            return;
        }
        assert!(Instant::now() < deadline, "the batches were never all submitted");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn batches_cancel_stops_a_running_job_and_status_shows_each_batch() {
    for provider in ["openai", "anthropic"] {
        let dir = tempfile::tempdir().unwrap();
        let emu = emulator(provider, 60_000, 0);
        let (inp, out) = (input(dir.path()), dir.path().join("out.jsonl"));
        let child = spawnable()
            .env(key_var(provider), KEY)
            .args(args(provider, &emu, &inp, &out))
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut child = cli_common::Killed(child);
        wait_for_batches(&out.with_file_name("out.jsonl.batches.json"), 3);
        let o = out.to_str().unwrap();
        let cancel = cli()
            .env(key_var(provider), KEY)
            .args(["batches", "cancel", "-o", o, "--base-url", &emu.base_url()])
            .output()
            .unwrap();
        assert!(cancel.status.success(), "{}", String::from_utf8_lossy(&cancel.stderr));
        assert_eq!(String::from_utf8_lossy(&cancel.stdout).lines().count(), 3);
        assert_eq!(emu.batch_stats().cancels, 3);
        // The running job sees its batches end and records every line as cancelled.
        let status = child.0.wait().unwrap();
        assert_eq!(status.code(), Some(1));
        let recs = records(&out);
        assert_eq!(recs.len(), 8);
        assert!(recs.iter().all(|r| r["error"]["code"] == "batch_cancelled" && r["error"]["retryable"] == true), "{recs:?}");
        let shown = cli()
            .env(key_var(provider), KEY)
            .args(["batches", "status", "-o", o, "--base-url", &emu.base_url()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&shown.stdout).to_string();
        let want = if provider == "openai" { "\tcancelled\t" } else { "\tended\t" };
        assert_eq!(
            text.lines().filter(|l| l.contains(want) && l.ends_with("recorded")).count(),
            3,
            "{text}"
        );
        assert_no_key(&shown.stdout);
    }
}

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

fn auto_args(
    provider: &str,
    emu: &Emulator,
    input: &Path,
    out: &Path,
    deadline: &str,
) -> Vec<String> {
    let mut a = args(provider, emu, input, out);
    let via = a.iter().position(|x| x == "batch").unwrap();
    a[via] = "auto".into();
    a.extend(["--deadline".to_string(), deadline.to_string()]);
    a
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
    assert!(stderr.contains("--via auto: realtime") && stderr.contains("24 h window"), "{stderr}");
    assert_eq!(emu.batch_stats().batches, 0);
    assert_eq!(emu.stats().accepted, 8);
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

#[test]
fn openrouter_has_no_batch_api_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let inp = input(dir.path());
    let out = dir.path().join("out.jsonl");
    let done = cli()
        .env("OPENROUTER_API_KEY", KEY)
        .args([
            "run",
            inp.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--via",
            "batch",
            "--provider",
            "openrouter",
            "--model",
            "openai/gpt-4o",
        ])
        .output()
        .unwrap();
    assert_eq!(done.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&done.stderr).contains("no batch API"));
}
