//! Money through the binary: `--dry-run` estimates within 1% of what the emulator charges
//! under the same price file (several models, tokens counted by the emulator) while sending
//! and writing nothing; `--max-cost` stops cleanly, leaving the lines not sent for a rerun
//! that finishes them, each line answered once.

mod cli_common;

use std::path::Path;

use chat_limiter_emulator::{Emulator, OutputLen};
use cli_common::*;
use serde_json::{json, Value};

const PRICES: &str = r#"{"prices_as_of": "2030-01-01", "models": [
  {"provider": "openai", "model": "gpt-4o", "input": 2.5, "output": 10},
  {"provider": "openai", "model": "gpt-4o-mini", "input": 0.15, "output": 0.6},
  {"provider": "openai", "model": "gpt-4.1", "input": 2, "output": 8}
]}"#;

/// 90 lines over three models, prompts of 10 to ~900 characters, max_tokens 100 to 400.
fn mixed() -> Vec<String> {
    let models = ["gpt-4o", "gpt-4o-mini", "gpt-4.1"];
    (0..90)
        .map(|i| {
            let prompt = format!("q{i} {}", "lorem ipsum dolor ".repeat(i * 7 % 50));
            json!({"id": format!("l{i}"), "model": models[i % 3], "prompt": prompt,
                   "max_tokens": 100 + (i * 37 % 301)})
            .to_string()
        })
        .collect()
}

/// The `total` row of the dry run: (expected USD, worst USD).
fn totals(stdout: &str) -> (f64, f64) {
    let row = stdout.lines().find(|l| l.starts_with("total")).expect("a total row");
    let cols: Vec<&str> = row.split_whitespace().collect();
    let n = cols.len();
    (cols[n - 2].parse().unwrap(), cols[n - 1].parse().unwrap())
}

fn run_on(emu: &Emulator, input: &Path, out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    cli()
        .args(["run", input.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .args(["--provider", "openai", "--base-url", &emu.base_url(), "--no-progress"])
        .args(extra)
        .env("OPENAI_API_KEY", KEY)
        .assert()
}

#[test]
fn dry_run_estimates_within_one_percent_of_the_emulators_charge() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_lines(dir.path(), "in.jsonl", &mixed());
    let prices = dir.path().join("prices.json");
    std::fs::write(&prices, PRICES).unwrap();
    let p = prices.to_str().unwrap();
    let out = dir.path().join("out.jsonl");
    let expected = Emulator::openai()
        .unlimited()
        .output_len(OutputLen::Fraction(0.5))
        .price_table(PRICES)
        .start()
        .unwrap();
    let dry = run_on(&expected, &input, &out, &["--dry-run", "--prices", p]).code(0);
    let stdout = String::from_utf8(dry.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("prices as of 2030-01-01"), "{stdout}");
    for model in ["gpt-4o ", "gpt-4o-mini ", "gpt-4.1 "] {
        assert!(stdout.lines().any(|l| l.starts_with(model) && l.contains(" 30 ")), "{stdout}");
    }
    assert!(!out.exists(), "a dry run writes nothing");
    assert!(!dir.path().join("out.jsonl.lock").exists());
    assert_eq!(expected.stats().requests, 0, "a dry run sends nothing");
    let (exp_usd, worst_usd) = totals(&stdout);

    // The expected cost against an emulator that writes half of max_tokens.
    let stats_json = dir.path().join("stats.json");
    run_on(&expected, &input, &out, &["--prices", p, "--stats-json", stats_json.to_str().unwrap()])
        .code(0);
    let charged = expected.stats().cost_usd;
    assert_eq!(expected.stats().unpriced_requests, 0);
    assert!((exp_usd - charged).abs() / charged < 0.01, "dry run {exp_usd} vs emulator {charged}");
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(&stats_json).unwrap()).unwrap();
    let spent = summary["spend"]["spent_usd"].as_f64().unwrap();
    assert!((spent - charged).abs() < 1e-9, "summary {spent} vs emulator {charged}");

    // The worst case against an emulator that writes all of max_tokens.
    let worst = Emulator::openai()
        .unlimited()
        .output_len(OutputLen::Max)
        .price_table(PRICES)
        .start()
        .unwrap();
    let out2 = dir.path().join("out2.jsonl");
    run_on(&worst, &input, &out2, &["--prices", p]).code(0);
    let charged = worst.stats().cost_usd;
    assert!(
        (worst_usd - charged).abs() / charged < 0.01,
        "dry run {worst_usd} vs emulator {charged}"
    );
}

#[test]
fn dry_run_says_when_a_model_has_no_price_and_gives_the_time_at_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (0..10)
        .map(|i| json!({"id": i, "model": if i < 4 { "my-finetune" } else { "gpt-4o" }, "prompt": "hi", "max_tokens": 10}).to_string())
        .collect();
    let input = write_lines(dir.path(), "in.jsonl", &lines);
    let out = dir.path().join("out.jsonl");
    let a = cli()
        .args(["run", input.to_str().unwrap(), "-o", out.to_str().unwrap(), "--dry-run"])
        .args(["--provider", "openai", "--request-limit", "5"])
        .assert()
        .code(0);
    let stdout = String::from_utf8(a.get_output().stdout.clone()).unwrap();
    let ft = stdout.lines().find(|l| l.starts_with("my-finetune")).unwrap();
    assert!(ft.contains("unknown"), "{stdout}");
    assert!(stdout.contains("no price for my-finetune"), "{stdout}");
    assert!(stdout.contains("2.0 min (requests bind: 5/min)"), "{stdout}");
    assert!(!out.exists());
}

#[test]
fn max_cost_stops_cleanly_and_the_rerun_finishes_the_lines_left_unsent() {
    let emu = Emulator::openai()
        .unlimited()
        .output_len(OutputLen::Max)
        .latency(std::time::Duration::from_millis(10), std::time::Duration::ZERO)
        .price_table(PRICES)
        .start()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (0..60)
        .map(|i| json!({"id": format!("c{i}"), "model": "gpt-4o", "prompt": format!("question {i}"), "max_tokens": 100}).to_string())
        .collect();
    let input = write_lines(dir.path(), "in.jsonl", &lines);
    let out = dir.path().join("out.jsonl");
    let prices = dir.path().join("prices.json");
    std::fs::write(&prices, PRICES).unwrap();
    let p = prices.to_str().unwrap();
    // Each line costs about $0.001 (100 output tokens of gpt-4o): $0.02 pays for ~20.
    let first =
        run_on(&emu, &input, &out, &["--prices", p, "--max-cost", "0.02", "--max-workers", "8"])
            .code(3);
    let stderr = String::from_utf8(first.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("stopped by --max-cost"), "{stderr}");
    let recs = records(&out);
    let stats = emu.stats();
    assert!(stats.cost_usd <= 0.02, "charged {}", stats.cost_usd);
    assert!(!recs.is_empty() && recs.len() < 60, "{} records", recs.len());
    assert!(recs.iter().all(|r| r["error"].is_null()), "only answers are recorded");
    assert_eq!(recs.len() as u64, stats.accepted, "every answer written, nothing else sent");

    run_on(&emu, &input, &out, &["--prices", p, "--max-cost", "1"]).code(0);
    let recs = records(&out);
    assert_eq!(recs.len(), 60);
    assert_eq!(by_id(&recs).len(), 60, "each line answered once");
    let stats = emu.stats();
    assert_eq!(stats.accepted, 60);
    assert_eq!(stats.duplicate_bodies, 0, "nothing paid twice");
}

#[test]
fn max_cost_is_refused_where_it_could_not_hold() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_lines(dir.path(), "in.jsonl", &prompts(2));
    let out = dir.path().join("out.jsonl");
    let a = cli()
        .args(["run", input.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .args(["--model", "gpt-4o", "--via", "batch", "--max-cost", "1"])
        .env("OPENAI_API_KEY", KEY)
        .assert()
        .code(2);
    let stderr = String::from_utf8(a.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("--max-cost works with --via realtime only"), "{stderr}");
    cli()
        .args(["run", input.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .args(["--model", "gpt-4o", "--max-cost", "-1"])
        .env("OPENAI_API_KEY", KEY)
        .assert()
        .code(2);
}

#[test]
fn max_cost_with_an_unpriced_model_records_a_configuration_failure_unsent() {
    let emu = Emulator::openai().start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = write_lines(dir.path(), "in.jsonl", &prompts(3));
    let out = dir.path().join("out.jsonl");
    cli()
        .args(["run", input.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .args(["--model", "gpt-unpriced", "--provider", "openai", "--base-url", &emu.base_url()])
        .args(["--max-cost", "1", "--no-progress"])
        .env("OPENAI_API_KEY", KEY)
        .assert()
        .code(1);
    let recs = records(&out);
    assert_eq!(recs.len(), 3);
    for r in &recs {
        assert_eq!(r["error"]["code"], "no_price", "{r}");
        assert_eq!(r["error"]["class"], "configuration", "{r}");
        assert_eq!(r["error"]["retryable"], true, "a rerun with --prices sends it: {r}");
    }
    assert_eq!(emu.stats().requests, 0, "nothing was sent");
}
