//! Anthropic emulator behaviour against docs/providers.md §2 and §6.

mod emu_common;

use std::time::Duration;

use chat_limiter_emulator::{Emulator, OtpmMode, OutputLen};
use emu_common::*;

fn url(emu: &Emulator) -> String {
    format!("{}/messages", emu.base_url())
}

fn body(max: u64) -> String {
    format!(
        r#"{{"model":"claude-sonnet-4-5","max_tokens":{max},"system":"abcd","messages":[{{"role":"user","content":"efgh"}}]}}"#
    )
}

fn is_rfc3339_whole_seconds(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 20 && b[4] == b'-' && b[10] == b'T' && b[13] == b':' && b[19] == b'Z'
}

fn num(r: &Resp, h: &str) -> u64 {
    r.h(h).unwrap_or_else(|| panic!("missing {h}")).parse().unwrap()
}

#[test]
fn headers_and_otpm_reservation_settled_to_actual() {
    let emu = Emulator::anthropic()
        .rpm(50)
        .input_tpm(30_000)
        .output_tpm(8000)
        .output_len(OutputLen::Fixed(1000))
        .start()
        .unwrap();
    let a = agent();
    let r = post(&a, &url(&emu), &ANTHROPIC_AUTH, &body(4000));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(num(&r, "anthropic-ratelimit-requests-limit"), 50);
    assert_eq!(num(&r, "anthropic-ratelimit-requests-remaining"), 49);
    assert_eq!(num(&r, "anthropic-ratelimit-input-tokens-limit"), 30_000);
    assert_eq!(
        num(&r, "anthropic-ratelimit-input-tokens-remaining"),
        30_000,
        "29,998 rounds to 30,000"
    );
    assert_eq!(num(&r, "anthropic-ratelimit-output-tokens-limit"), 8000);
    assert_eq!(num(&r, "anthropic-ratelimit-output-tokens-remaining"), 4000, "max_tokens reserved");
    assert_eq!(num(&r, "anthropic-ratelimit-tokens-limit"), 38_000);
    assert_eq!(num(&r, "anthropic-ratelimit-tokens-remaining"), 34_000);
    for dim in ["requests", "tokens", "input-tokens", "output-tokens"] {
        let reset = r.h(&format!("anthropic-ratelimit-{dim}-reset")).unwrap();
        assert!(is_rfc3339_whole_seconds(reset), "{dim}: {reset}");
    }
    assert!(r.h("request-id").unwrap().starts_with("req_"));
    let j = r.json();
    assert_eq!(j["type"], "message");
    assert!(j["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(j["usage"]["input_tokens"], 2, "system + message = 8 chars");
    assert_eq!(j["usage"]["output_tokens"], 1000);
    assert_eq!(j["stop_reason"], "end_turn");
    assert_eq!(j["content"][0]["type"], "text");
    // The first request settled to 1000 actual; the second reserves 4000 again.
    let r = post(&a, &url(&emu), &ANTHROPIC_AUTH, &body(4000));
    assert_eq!(num(&r, "anthropic-ratelimit-output-tokens-remaining"), 3000);
}

#[test]
fn otpm_actual_output_mode() {
    let emu = Emulator::anthropic()
        .output_tpm(8000)
        .otpm_mode(OtpmMode::ActualOutput)
        .output_len(OutputLen::Fixed(1000))
        .start()
        .unwrap();
    let a = agent();
    let r = post(&a, &url(&emu), &ANTHROPIC_AUTH, &body(4000));
    assert_eq!(num(&r, "anthropic-ratelimit-output-tokens-remaining"), 8000);
    let r = post(&a, &url(&emu), &ANTHROPIC_AUTH, &body(4000));
    assert_eq!(num(&r, "anthropic-ratelimit-output-tokens-remaining"), 7000);
}

#[test]
fn output_tpm_429() {
    let emu = Emulator::anthropic().output_tpm(8000).should_retry_header(true).start().unwrap();
    let a = agent();
    assert_eq!(post(&a, &url(&emu), &ANTHROPIC_AUTH, &body(5000)).status, 200);
    let r = post(&a, &url(&emu), &ANTHROPIC_AUTH, &body(5000));
    assert_eq!(r.status, 429);
    let j = r.json();
    assert_eq!(j["type"], "error");
    assert_eq!(j["error"]["type"], "rate_limit_error");
    let msg = j["error"]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("This request would exceed the rate limit for your organization ("),
        "{msg}"
    );
    assert!(msg.contains(") of 8,000 output tokens per minute. For details, refer to: https://docs.anthropic.com/en/api/rate-limits."));
    assert!(j["request_id"].as_str().unwrap().starts_with("req_"));
    let retry: u64 = r.h("retry-after").unwrap().parse().unwrap();
    assert!((1..=38).contains(&retry), "{retry}");
    assert_eq!(r.h("x-should-retry"), Some("true"));
    assert!(r.h("anthropic-ratelimit-output-tokens-remaining").is_some());
}

#[test]
fn rpm_429_names_requests() {
    let emu = Emulator::anthropic().rpm(1).start().unwrap();
    let a = agent();
    assert_eq!(post(&a, &url(&emu), &ANTHROPIC_AUTH, &body(10)).status, 200);
    let r = post(&a, &url(&emu), &ANTHROPIC_AUTH, &body(10));
    assert_eq!(r.status, 429);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("of 1 requests per minute"));
    assert_eq!(r.h("retry-after"), Some("60"));
}

#[test]
fn auth_and_validation() {
    let emu = Emulator::anthropic().api_key("sk-ant-good").start().unwrap();
    let a = agent();
    let version = ("anthropic-version", "2023-06-01");
    let r = post(&a, &url(&emu), &[version], &body(10));
    assert_eq!((r.status, r.json()["error"]["type"].as_str()), (401, Some("authentication_error")));
    let r = post(&a, &url(&emu), &[("x-api-key", "sk-ant-bad"), version], &body(10));
    assert_eq!(r.json()["error"]["message"], "invalid x-api-key");
    let key = ("x-api-key", "sk-ant-good");
    let r = post(&a, &url(&emu), &[key], &body(10));
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["message"], "anthropic-version: header is required");
    let hdrs = [key, version];
    let r = post(
        &a,
        &url(&emu),
        &hdrs,
        r#"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"x"}]}"#,
    );
    assert_eq!(
        (r.status, r.json()["error"]["message"].as_str()),
        (400, Some("max_tokens: Field required"))
    );
    let r = post(
        &a,
        &url(&emu),
        &hdrs,
        r#"{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"system","content":"x"}]}"#,
    );
    assert_eq!(r.status, 400);
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("messages: Unexpected role \"system\""));
    let r = post(
        &a,
        &url(&emu),
        &hdrs,
        r#"{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#,
    );
    assert_eq!((r.status, r.json()["error"]["type"].as_str()), (404, Some("not_found_error")));
    let r = post(&a, &url(&emu), &hdrs, "[1,2");
    assert_eq!(
        (r.status, r.json()["error"]["type"].as_str()),
        (400, Some("invalid_request_error"))
    );
}

#[test]
fn spend_cap_mode() {
    let emu = Emulator::anthropic().quota_error_rate(1.0).start().unwrap();
    let r = post(&agent(), &url(&emu), &ANTHROPIC_AUTH, &body(10));
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["error"]["type"], "rate_limit_error");
    assert_eq!(r.json()["error"]["details"]["error_code"], "enforced_spend_limit_reached");
    assert!(r.h("retry-after").is_none());
}

#[test]
fn stream_event_order_and_incremental_arrival() {
    let emu = Emulator::anthropic()
        .output_len(OutputLen::Fixed(15))
        .latency(Duration::ZERO, Duration::from_millis(30))
        .start()
        .unwrap();
    let b = r#"{"model":"claude-haiku-4-5","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hello"}]}"#;
    let (status, headers, lines) = stream_lines(&agent(), &url(&emu), &ANTHROPIC_AUTH, b);
    assert_eq!(status, 200);
    assert!(headers["content-type"].starts_with("text/event-stream"));
    assert!(headers.contains_key("anthropic-ratelimit-output-tokens-remaining"));
    let events: Vec<&str> = lines.iter().filter_map(|(_, l)| l.strip_prefix("event: ")).collect();
    let mut want = vec!["message_start", "content_block_start", "ping"];
    want.extend(std::iter::repeat_n("content_block_delta", 15));
    want.extend(["content_block_stop", "message_delta", "message_stop"]);
    assert_eq!(events, want);
    let data = data_json(&lines);
    assert_eq!(data.len(), events.len(), "one data line per event");
    for (e, d) in events.iter().zip(&data) {
        assert_eq!(d["type"], *e);
    }
    assert_eq!(data[0]["message"]["usage"]["input_tokens"], 2);
    assert_eq!(data[0]["message"]["usage"]["output_tokens"], 1);
    assert!(data[0]["message"]["stop_reason"].is_null());
    assert_eq!(data[3]["delta"]["type"], "text_delta");
    let delta = &data[data.len() - 2];
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(delta["usage"]["output_tokens"], 15);
    let spread = lines.last().unwrap().0 - lines[0].0;
    assert!(spread >= Duration::from_millis(300), "{spread:?}");
}
