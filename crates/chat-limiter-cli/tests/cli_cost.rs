//! Money through the binary: `--dry-run` estimates within 1% of what the emulator charges
//! under the same price file (several models, tokens counted by the emulator; with the
//! `tiktoken` feature, OpenAI prompts are counted exactly instead) while sending and writing
//! nothing; `--max-cost` stops cleanly, leaving the lines not sent for a rerun
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
fn mixed(models: [&str; 3]) -> Vec<String> {
    (0..90)
        .map(|i| {
            let prompt = format!("q{i} {}", "lorem ipsum dolor ".repeat(i * 7 % 50));
            json!({"id": format!("l{i}"), "model": models[i % 3], "prompt": prompt,
                   "max_tokens": 100 + (i * 37 % 301)})
            .to_string()
        })
        .collect()
}

/// The `total` row of the dry run: (input tokens, expected USD, worst USD).
fn totals(stdout: &str) -> (u64, f64, f64) {
    let row = stdout.lines().find(|l| l.starts_with("total")).expect("a total row");
    let cols: Vec<&str> = row.split_whitespace().collect();
    let n = cols.len();
    (cols[2].parse().unwrap(), cols[n - 2].parse().unwrap(), cols[n - 1].parse().unwrap())
}

/// `run` against `emu` for `provider`, with its key.
fn run_for(
    provider: &str,
    emu: &Emulator,
    input: &Path,
    out: &Path,
    extra: &[&str],
) -> assert_cmd::assert::Assert {
    let var = if provider == "anthropic" { "ANTHROPIC_API_KEY" } else { "OPENAI_API_KEY" };
    cli()
        .args(["run", input.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .args(["--provider", provider, "--base-url", &emu.base_url(), "--no-progress"])
        .args(extra)
        .env(var, KEY)
        .assert()
}

fn run_on(emu: &Emulator, input: &Path, out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    run_for("openai", emu, input, out, extra)
}

/// The dry run of a mixed workload, then the same input through emulators that write half
/// and all of max_tokens: the expected and worst-case totals are within 1% of their charges.
fn dry_run_within_one_percent(provider: &str, models: [&str; 3], prices: &str) {
    let dir = tempfile::tempdir().unwrap();
    let input = write_lines(dir.path(), "in.jsonl", &mixed(models));
    let price_file = dir.path().join("prices.json");
    std::fs::write(&price_file, prices).unwrap();
    let p = price_file.to_str().unwrap();
    let out = dir.path().join("out.jsonl");
    let emulator = |len| {
        let b = if provider == "anthropic" { Emulator::anthropic() } else { Emulator::openai() };
        b.unlimited().output_len(len).price_table(prices).start().unwrap()
    };
    let half = emulator(OutputLen::Fraction(0.5));
    let dry = run_for(provider, &half, &input, &out, &["--dry-run", "--prices", p]).code(0);
    let stdout = String::from_utf8(dry.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("prices as of 2030-01-01"), "{stdout}");
    for model in models {
        let row = stdout.lines().find(|l| l.split_whitespace().next() == Some(model));
        assert_eq!(row.and_then(|r| r.split_whitespace().nth(1)), Some("30"), "{stdout}");
    }
    assert!(!out.exists(), "a dry run writes nothing");
    assert!(!dir.path().join("out.jsonl.lock").exists());
    assert_eq!(half.stats().requests, 0, "a dry run sends nothing");
    let (input_tokens, exp_usd, worst_usd) = totals(&stdout);

    let stats_json = dir.path().join("stats.json");
    let sj = stats_json.to_str().unwrap();
    run_for(provider, &half, &input, &out, &["--prices", p, "--stats-json", sj]).code(0);
    let stats = half.stats();
    assert_eq!((stats.accepted, stats.unpriced_requests), (90, 0));
    let within = |a: u64, b: u64| (a as f64 - b as f64).abs() / b as f64 <= 0.01;
    assert!(within(input_tokens, stats.input_tokens), "{input_tokens} vs {}", stats.input_tokens);
    let charged = stats.cost_usd;
    assert!((exp_usd - charged).abs() / charged < 0.01, "dry run {exp_usd} vs emulator {charged}");
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(&stats_json).unwrap()).unwrap();
    let spent = summary["spend"]["spent_usd"].as_f64().unwrap();
    assert!((spent - charged).abs() < 1e-9, "summary {spent} vs emulator {charged}");

    let full = emulator(OutputLen::Max);
    let out2 = dir.path().join("out2.jsonl");
    run_for(provider, &full, &input, &out2, &["--prices", p]).code(0);
    let worst_charged = full.stats().cost_usd;
    let rel = |a: f64, b: f64| 100.0 * (a - b) / b;
    eprintln!(
        "{provider}: expected {exp_usd} vs {charged} ({:+.3}%), worst {worst_usd} vs \
         {worst_charged} ({:+.3}%)",
        rel(exp_usd, charged),
        rel(worst_usd, worst_charged)
    );
    assert!(
        (worst_usd - worst_charged).abs() / worst_charged < 0.01,
        "dry run {worst_usd} vs emulator {worst_charged}"
    );
}

#[test]
fn dry_run_estimates_within_one_percent_of_the_emulators_charge_anthropic() {
    // tiktoken counts OpenAI models only: this runs the same with and without the feature.
    let prices = r#"{"prices_as_of": "2030-01-01", "models": [
      {"provider": "anthropic", "model": "claude-3-5-haiku", "input": 0.8, "output": 4},
      {"provider": "anthropic", "model": "claude-sonnet-4", "input": 3, "output": 15},
      {"provider": "anthropic", "model": "claude-opus-4", "input": 15, "output": 75}
    ]}"#;
    let models =
        ["claude-3-5-haiku-20241022", "claude-sonnet-4-20250514", "claude-opus-4-20250514"];
    dry_run_within_one_percent("anthropic", models, prices);
}

/// The emulator counts characters / 4, as the default estimate does; with the `tiktoken`
/// feature the dry run counts OpenAI prompts exactly instead (next test).
#[cfg(not(feature = "tiktoken"))]
#[test]
fn dry_run_estimates_within_one_percent_of_the_emulators_charge_openai() {
    dry_run_within_one_percent("openai", ["gpt-4o", "gpt-4o-mini", "gpt-4.1"], PRICES);
}

#[cfg(feature = "tiktoken")]
#[test]
fn with_tiktoken_the_dry_run_counts_openai_prompts_exactly() {
    use chat_limiter::{Message, TiktokenEncoding};
    let dir = tempfile::tempdir().unwrap();
    let lines = mixed(["gpt-4o", "gpt-4o-mini", "gpt-4.1"]);
    let input = write_lines(dir.path(), "in.jsonl", &lines);
    let out = dir.path().join("out.jsonl");
    let a = cli()
        .args(["run", input.to_str().unwrap(), "-o", out.to_str().unwrap(), "--dry-run"])
        .args(["--provider", "openai"])
        .assert()
        .code(0);
    let stdout = String::from_utf8(a.get_output().stdout.clone()).unwrap();
    let want: u64 = lines
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let msg = Message::user(v["prompt"].as_str().unwrap());
            TiktokenEncoding::O200kBase.count_messages(&[msg])
        })
        .sum();
    assert_eq!(totals(&stdout).0, want, "{stdout}");
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
