//! What `chat-limiter emulate` prints (plain values, never Rust `Debug` text), its OpenRouter
//! and credit flags, and the help texts: provider values listed, defaults taken from the
//! library.

mod cli_common;

use chat_limiter::BatchConfig;
use cli_common::*;
use serde_json::Value;

/// `chat-limiter emulate ARGS`'s three lines: base URL, settings, how to use it.
fn banner(args: &[&str]) -> (Killed, Vec<String>) {
    let (child, lines) = start_emulate(args, 3);
    for l in &lines {
        assert!(!l.contains("Some(") && !l.contains("None"), "Debug text in {l:?}");
    }
    assert!(lines[2].contains("/_stats") && lines[2].contains("Ctrl-C"), "{lines:?}");
    (child, lines)
}

/// `GET {base}/key` on an OpenRouter emulator.
fn key_info(base: &str) -> Value {
    let mut resp = agent()
        .get(&format!("{base}/key"))
        .header("authorization", "Bearer sk-or-anything")
        .call()
        .expect("GET /key");
    assert_eq!(resp.status().as_u16(), 200);
    serde_json::from_str(&resp.body_mut().read_to_string().expect("body")).expect("JSON")
}

#[test]
fn emulate_prints_plain_limits_for_each_provider() {
    let (_c, lines) = banner(&["--provider", "openai", "--rpm", "600"]);
    assert!(lines[0].starts_with("http://127.0.0.1:") && lines[0].ends_with("/v1"), "{lines:?}");
    // The token limit was not given: the emulator's default is shown as a number.
    assert_eq!(lines[1], "emulating OpenAI: rpm 600, tpm 200000");

    let (_c, lines) =
        banner(&["--provider", "anthropic", "--input-tpm", "40000", "--output-tpm", "8000"]);
    assert_eq!(lines[1], "emulating Anthropic: rpm 1000, input tpm 40000, output tpm 8000");

    let (_c, lines) = banner(&["--provider", "openrouter"]);
    assert!(lines[0].ends_with("/api/v1"), "{lines:?}");
    assert!(
        lines[1].starts_with("emulating OpenRouter: rpm unlimited, credits unlimited, prices $")
    );
}

#[test]
fn emulate_openrouter_interval_and_credits_take_effect() {
    let args = [
        "--provider",
        "openrouter",
        "--rpm",
        "20",
        "--request-window",
        "10",
        "--rpd",
        "500",
        "--credits",
        "5",
        "--prompt-price",
        "0.000003",
        "--completion-price",
        "0.000015",
    ];
    let (_c, lines) = banner(&args);
    assert_eq!(
        lines[1],
        "emulating OpenRouter: requests 20 per 10s, rpd 500, credits $5.0000, \
         prices $0.000003 per prompt token, $0.000015 per completion token"
    );
    let key = key_info(&lines[0]);
    let data = &key["data"];
    assert_eq!(data["limit"].as_f64(), Some(5.0), "{key}");
    assert_eq!(data["limit_remaining"].as_f64(), Some(5.0), "{key}");
    assert_eq!(data["rate_limit"]["requests"].as_i64(), Some(20), "{key}");
    assert_eq!(data["rate_limit"]["interval"].as_str(), Some("10s"), "{key}");
}

#[test]
fn emulate_rejects_openrouter_settings_elsewhere_and_bad_windows() {
    for flag in ["--credits", "--prompt-price", "--completion-price"] {
        let a = cli().args(["emulate", "--provider", "openai", flag, "1"]).assert().code(2);
        let stderr = String::from_utf8_lossy(&a.get_output().stderr).to_string();
        assert!(stderr.contains(flag) && stderr.contains("OpenRouter"), "{flag}: {stderr}");
    }
    // A window needs a request count, and must be positive.
    cli().args(["emulate", "--provider", "openrouter", "--request-window", "10"]).assert().code(2);
    cli()
        .args(["emulate", "--provider", "openrouter", "--rpm", "5", "--request-window", "0"])
        .assert()
        .code(2);
    cli().args(["emulate", "--provider", "openrouter", "--credits", "-1"]).assert().code(2);
}

#[test]
fn help_lists_the_providers_and_the_library_defaults() {
    for cmd in ["run", "emulate", "limits"] {
        let a = cli().args([cmd, "--help"]).assert().code(0);
        let help = String::from_utf8_lossy(&a.get_output().stdout).to_string();
        assert!(help.contains("possible values: openai, anthropic, openrouter"), "{cmd}: {help}");
    }
    let a = cli().args(["run", "--help"]).assert().code(0);
    let help = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    let d = BatchConfig::default();
    let shown = |flag: &str, value: usize| {
        let line = help.lines().skip_while(|l| !l.contains(flag)).take(3).collect::<String>();
        line.contains(&format!("[default: {value}]"))
    };
    assert!(shown("--max-workers", d.max_workers), "{help}");
    assert!(shown("--max-concurrent-requests", d.max_concurrent_requests), "{help}");
    for renamed in ["--rpm", "--tpm", "--input-tpm", "--output-tpm", "--max-concurrent "] {
        assert!(!help.contains(renamed), "{renamed} is still in run --help");
    }
    for name in ["--request-limit", "--token-limit", "--input-token-limit", "--output-token-limit"]
    {
        assert!(help.contains(name), "{name} missing: {help}");
    }
    // Provider names are accepted in any case, as the library's parser does.
    let a = cli().args(["emulate", "--provider", "OpenAI", "--port", "70000"]).assert().code(2);
    let stderr = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(stderr.contains("--port") && !stderr.contains("--provider"), "{stderr}");
}
