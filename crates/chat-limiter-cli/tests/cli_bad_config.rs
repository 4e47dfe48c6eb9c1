//! `chat-limiter` rejects zero, absurd and non-numeric settings with exit code 2 and a message
//! naming the setting, before anything is sent; a plain-http base URL to another host warns.

mod cli_common;

use chat_limiter_emulator::Emulator;
use cli_common::*;

#[test]
fn zero_and_absurd_run_flags_exit_2_naming_the_setting() {
    let emu = Emulator::openai().start().expect("emulator");
    let dir = tempfile::tempdir().expect("tmp");
    let input = write_lines(dir.path(), "in.jsonl", &prompts(3));
    let out = dir.path().join("out.jsonl");
    let (i, o) = (input.to_str().unwrap(), out.to_str().unwrap());
    let base = emu.base_url();
    let ok = ["run", i, "-o", o, "--model", "gpt-4o-mini", "--base-url", &base];
    // (flag, value, a word the message must contain)
    let cases = [
        ("--request-limit", "0", "request_limit"),
        ("--token-limit", "0", "token_limit"),
        ("--input-token-limit", "0", "input_token_limit"),
        ("--output-token-limit", "0", "output_token_limit"),
        ("--request-limit", "-5", "-5"),
        ("--request-limit", "99999999999", "--request-limit"),
        ("--max-workers", "100000", "max_workers"),
        ("--max-concurrent-requests", "0", "max_concurrent_requests"),
        ("--max-concurrent-requests", "99999999999", "max_concurrent_requests"),
        ("--max-retries", "1000", "max_retries"),
        ("--timeout", "0", "timeout"),
        ("--timeout", "NaN", "--timeout"),
        ("--timeout", "inf", "--timeout"),
        ("--timeout", "1e30", "--timeout"),
        ("--timeout", "86400", "timeout"),
        ("--timeout", "soon", "--timeout"),
        ("--provider", "gemini", "gemini"),
    ];
    for (flag, value, named) in cases {
        let out = cli()
            .args(ok)
            .args([flag, value])
            .env("OPENAI_API_KEY", KEY)
            .assert()
            .code(2)
            .get_output()
            .clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(named), "{flag} {value}: {stderr}");
        assert_no_key(&out.stderr);
        assert_no_key(&out.stdout);
    }
    assert_eq!(emu.stats().requests, 0, "nothing may be sent with a bad configuration");
    assert!(!out.exists() || std::fs::read(&out).unwrap().is_empty());
}

#[test]
fn bad_emulator_flags_exit_2() {
    for args in [
        ["--fault-rate", "1.5"],
        ["--fault-rate", "NaN"],
        ["--fault-rate", "-0.1"],
        ["--rpm", "0"],
        ["--tpm", "0"],
        ["--latency-ms", "-1"],
    ] {
        let out = cli().args(["emulate", "--provider", "openai"]).args(args).assert().code(2);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(!stderr.is_empty(), "{args:?}: no message");
    }
    // Anthropic has no plain token limit: the emulator refuses the mix.
    cli().args(["emulate", "--provider", "anthropic", "--tpm", "10"]).assert().code(2);
}

#[test]
fn plain_http_to_another_host_warns_without_printing_the_key() {
    // An empty input: the limiter is built (and warns), nothing is sent, no DNS is needed.
    let dir = tempfile::tempdir().expect("tmp");
    let input = write_lines(dir.path(), "in.jsonl", &[]);
    let out = dir.path().join("out.jsonl");
    let run = |base: &str| {
        cli()
            .args(["run", input.to_str().unwrap(), "-o", out.to_str().unwrap()])
            .args(["--model", "gpt-4o-mini", "--base-url", base, "--no-progress"])
            .env("OPENAI_API_KEY", KEY)
            .assert()
            .code(0)
            .get_output()
            .clone()
    };
    let remote = run("http://example.invalid/v1");
    let stderr = String::from_utf8_lossy(&remote.stderr);
    assert!(stderr.contains("warning") && stderr.contains("plain http://"), "{stderr}");
    assert_no_key(&remote.stderr);
    for quiet in ["https://example.invalid/v1", "http://127.0.0.1:9/v1", "http://localhost:9/v1"] {
        let stderr = String::from_utf8_lossy(&run(quiet).stderr).to_string();
        assert!(!stderr.contains("warning"), "{quiet}: {stderr}");
    }
}
