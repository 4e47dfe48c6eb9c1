//! `chat-limiter run --via batch` through the binary against the emulator's batch APIs, both
//! providers: a job split over several batches, kill -9 while polling and during the download
//! then resume, a rerun that resubmits only the expired lines, cancel, and nothing ever
//! submitted twice.

mod cli_common;

use std::time::{Duration, Instant};

use cli_common::batch::*;
use cli_common::{assert_no_key, cli, records, spawnable, KEY};

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
