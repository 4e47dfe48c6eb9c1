//! Helpers of the `--via batch` tests: emulators with batch settings, the job's input and
//! flags, and the exactly-once check.

use std::path::Path;
use std::time::{Duration, Instant};

use chat_limiter_emulator::{BatchEmulation, Emulator};

use super::{records, write_lines, KEY};

pub fn emulator(provider: &str, processing_ms: u64, expire: u64) -> Emulator {
    emulator_with(provider, processing_ms, expire, Duration::ZERO)
}

pub fn emulator_with(
    provider: &str,
    processing_ms: u64,
    expire: u64,
    download: Duration,
) -> Emulator {
    let mut b = BatchEmulation::default();
    b.download_delay = download;
    b.processing_time = Duration::from_millis(processing_ms);
    b.max_requests = Some(3);
    b.expire_items = expire;
    let builder = if provider == "openai" { Emulator::openai() } else { Emulator::anthropic() };
    builder.api_key(KEY).batch(b).start().expect("emulator")
}

pub fn model(provider: &str) -> &'static str {
    if provider == "openai" {
        "gpt-4o-mini"
    } else {
        "claude-3-5-haiku-latest"
    }
}

pub fn key_var(provider: &str) -> &'static str {
    if provider == "openai" {
        "OPENAI_API_KEY"
    } else {
        "ANTHROPIC_API_KEY"
    }
}

/// Eight prompts; ids with a space, which Anthropic's batch API would refuse as custom_ids.
pub fn input(dir: &Path) -> std::path::PathBuf {
    let lines: Vec<String> = (0..8)
        .map(|i| serde_json::json!({"id": format!("item {i}"), "prompt": format!("question {i}"), "max_tokens": 8}).to_string())
        .collect();
    write_lines(dir, "in.jsonl", &lines)
}

pub fn args(provider: &str, emu: &Emulator, input: &Path, out: &Path) -> Vec<String> {
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
pub fn assert_answered_once(out: &Path) {
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

/// Waits until the job's state shows `n` submitted batches.
pub fn wait_for_batches(state: &Path, n: usize) {
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

pub fn auto_args(
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
