//! OpenAI emulator behaviour against docs/providers.md §1 and §6.

mod emu_common;

use std::time::Duration;

use chat_limiter_emulator::{Emulator, OutputLen};
use emu_common::*;

fn url(emu: &Emulator) -> String {
    format!("{}/chat/completions", emu.base_url())
}

fn body(max: u64) -> String {
    format!(
        r#"{{"model":"gpt-4o-mini","messages":[{{"role":"user","content":"abcd"}}],"max_completion_tokens":{max}}}"#
    )
}

#[test]
fn headers_after_one_request() {
    let emu = Emulator::openai().rpm(500).tpm(300_000).start().unwrap();
    let r = post(&agent(), &url(&emu), &OPENAI_AUTH, &body(10));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.h("x-ratelimit-limit-requests"), Some("500"));
    assert_eq!(r.h("x-ratelimit-remaining-requests"), Some("499"));
    assert_eq!(r.h("x-ratelimit-reset-requests"), Some("120ms"));
    assert_eq!(r.h("x-ratelimit-limit-tokens"), Some("300000"));
    // 4 chars → 1 prompt token, plus 10 reserved: 11 tokens at 5000/s = 2.2 ms.
    assert_eq!(r.h("x-ratelimit-remaining-tokens"), Some("299989"));
    assert_eq!(r.h("x-ratelimit-reset-tokens"), Some("2ms"));
    let id = r.h("x-request-id").unwrap();
    assert!(
        id.starts_with("req_") && id.len() == 36 && id[4..].chars().all(|c| c.is_ascii_hexdigit())
    );
    assert_eq!(r.h("openai-version"), Some("2020-10-01"));
    assert!(r.h("openai-processing-ms").is_some());
    let j = r.json();
    assert_eq!(j["object"], "chat.completion");
    assert!(j["id"].as_str().unwrap().starts_with("chatcmpl-"));
    let usage = &j["usage"];
    assert_eq!(usage["prompt_tokens"], 1);
    let completion = usage["completion_tokens"].as_u64().unwrap();
    assert!((5..=10).contains(&completion));
    assert_eq!(usage["total_tokens"].as_u64().unwrap(), 1 + completion);
    let text = j["choices"][0]["message"]["content"].as_str().unwrap();
    assert_eq!(text.split(' ').count() as u64, completion);
}

#[test]
fn rpm_429_body_and_retry_after() {
    let emu = Emulator::openai().rpm(2).tpm(1000).start().unwrap();
    let a = agent();
    for _ in 0..2 {
        assert_eq!(post(&a, &url(&emu), &OPENAI_AUTH, &body(10)).status, 200);
    }
    let r = post(&a, &url(&emu), &OPENAI_AUTH, &body(10));
    assert_eq!(r.status, 429);
    assert_eq!(r.h("retry-after"), Some("30"));
    assert_eq!(r.h("x-ratelimit-remaining-requests"), Some("0"));
    let e = &r.json()["error"];
    assert_eq!(e["type"], "requests");
    assert_eq!(e["code"], "rate_limit_exceeded");
    let msg = e["message"].as_str().unwrap();
    assert!(msg.starts_with("Rate limit reached for gpt-4o-mini in organization org-emulator on requests per min (RPM): Limit 2, Used 2, Requested 1. Please try again in "), "{msg}");
    assert!(msg.ends_with("Visit https://platform.openai.com/account/rate-limits to learn more."));
    let stats = emu.stats();
    assert_eq!((stats.accepted, stats.rate_limited), (2, 1));
}

#[test]
fn tpm_429_and_request_too_large() {
    let emu = Emulator::openai().rpm(100).tpm(100).omit_headers_on_429(true).start().unwrap();
    let a = agent();
    assert_eq!(post(&a, &url(&emu), &OPENAI_AUTH, &body(60)).status, 200);
    let r = post(&a, &url(&emu), &OPENAI_AUTH, &body(60));
    assert_eq!(r.status, 429);
    let e = &r.json()["error"];
    assert_eq!(e["type"], "tokens");
    assert!(e["message"]
        .as_str()
        .unwrap()
        .contains("tokens per min (TPM): Limit 100, Used 61, Requested 61."));
    assert!(r.h("retry-after").is_some());
    assert!(r.h("x-ratelimit-remaining-tokens").is_none(), "headers omitted on 429");
    let r = post(&a, &url(&emu), &OPENAI_AUTH, &body(200));
    assert_eq!(r.status, 429);
    let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(msg.starts_with("Request too large for gpt-4o-mini in organization org-emulator on tokens per min (TPM): Limit 100, Requested 201. The input or output tokens must be reduced"), "{msg}");
    assert!(r.h("retry-after").is_none());
}

#[test]
fn auth_model_and_validation_errors() {
    let emu = Emulator::openai().api_key("sk-right-key-123").start().unwrap();
    let a = agent();
    let r = post(&a, &url(&emu), &[], &body(5));
    assert_eq!(r.status, 401);
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("You didn't provide an API key."));
    assert!(r.json()["error"]["code"].is_null());
    let r = post(&a, &url(&emu), &[("authorization", "Bearer sk-wrong-key-999")], &body(5));
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["code"], "invalid_api_key");
    let ok = [("authorization", "Bearer sk-right-key-123")];
    let r = post(
        &a,
        &url(&emu),
        &ok,
        r#"{"model":"llama-3","messages":[{"role":"user","content":"x"}]}"#,
    );
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], "model_not_found");
    let r = post(
        &a,
        &url(&emu),
        &ok,
        r#"{"model":"o3-mini","messages":[{"role":"user","content":"x"}],"max_tokens":5}"#,
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "unsupported_parameter");
    assert_eq!(r.json()["error"]["param"], "max_tokens");
    let r = post(&a, &url(&emu), &ok, "{not json");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["type"], "invalid_request_error");
    let r = post(&a, &url(&emu), &ok, r#"{"model":"gpt-4o","messages":[]}"#);
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (400, Some("empty_array")));
    let r = post(
        &a,
        &url(&emu),
        &ok,
        r#"{"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"max_tokens":"ten"}"#,
    );
    assert_eq!(r.status, 400);
    let r = post(
        &a,
        &url(&emu),
        &ok,
        r#"{"model":"o3","messages":[{"role":"user","content":"x"}],"max_completion_tokens":5}"#,
    );
    assert_eq!(r.status, 200);
}

#[test]
fn quota_mode_and_should_retry() {
    let emu = Emulator::openai().quota_error_rate(1.0).should_retry_header(true).start().unwrap();
    let r = post(&agent(), &url(&emu), &OPENAI_AUTH, &body(5));
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["error"]["code"], "insufficient_quota");
    assert_eq!(r.json()["error"]["type"], "insufficient_quota");
    assert!(r.h("retry-after").is_none());
    assert_eq!(r.h("x-should-retry"), Some("false"));
    assert_eq!(emu.stats().faults.get("quota"), Some(&1));
}

#[test]
fn refund_to_actual_usage() {
    let emu = Emulator::openai()
        .tpm(1000)
        .refund_to_actual(true)
        .output_len(OutputLen::Fixed(3))
        .start()
        .unwrap();
    let a = agent();
    let first = post(&a, &url(&emu), &OPENAI_AUTH, &body(500));
    assert_eq!(first.h("x-ratelimit-remaining-tokens"), Some("499"));
    let second = post(&a, &url(&emu), &OPENAI_AUTH, &body(500));
    // First settled to 1 + 3 = 4 tokens; a little refill may have happened meanwhile.
    let rem: u64 = second.h("x-ratelimit-remaining-tokens").unwrap().parse().unwrap();
    assert!((495..=500).contains(&rem), "{rem}");
}

#[test]
fn stream_event_order_with_usage_and_incremental_arrival() {
    let emu = Emulator::openai()
        .output_len(OutputLen::Max)
        .latency(Duration::ZERO, Duration::from_millis(30))
        .start()
        .unwrap();
    let b = r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":20,"stream":true,"stream_options":{"include_usage":true}}"#;
    let (status, headers, lines) = stream_lines(&agent(), &url(&emu), &OPENAI_AUTH, b);
    assert_eq!(status, 200);
    assert!(headers["content-type"].starts_with("text/event-stream"));
    assert!(headers.contains_key("x-ratelimit-remaining-tokens"));
    assert!(lines.iter().all(|(_, l)| l.starts_with("data: ")), "no event: lines");
    assert_eq!(lines.last().unwrap().1, "data: [DONE]");
    let chunks = data_json(&lines);
    assert_eq!(chunks.len(), 1 + 20 + 1 + 1);
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(chunks[0]["choices"][0]["delta"]["content"], "");
    let text: String = chunks[1..21]
        .iter()
        .map(|c| c["choices"][0]["delta"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(text.split(' ').count(), 20);
    let fin = &chunks[21];
    assert_eq!(fin["choices"][0]["delta"], serde_json::json!({}));
    assert_eq!(fin["choices"][0]["finish_reason"], "length");
    assert!(chunks[..22].iter().all(|c| c["usage"].is_null() && c.get("usage").is_some()));
    let last = &chunks[22];
    assert_eq!(last["choices"], serde_json::json!([]));
    assert_eq!(last["usage"]["completion_tokens"], 20);
    assert!(chunks
        .iter()
        .all(|c| c["object"] == "chat.completion.chunk" && c["id"] == chunks[0]["id"]));
    // 20 tokens × 30 ms: a buffered response would deliver every line at once.
    let spread = lines.last().unwrap().0 - lines[0].0;
    assert!(spread >= Duration::from_millis(400), "{spread:?}");
}

#[test]
fn stream_without_usage_has_no_usage_field() {
    let emu = Emulator::openai().start().unwrap();
    let b = r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":4,"stream":true}"#;
    let (_, _, lines) = stream_lines(&agent(), &url(&emu), &OPENAI_AUTH, b);
    let chunks = data_json(&lines);
    assert!(chunks.iter().all(|c| c.get("usage").is_none()));
    assert!(chunks.iter().all(|c| !c["choices"].as_array().unwrap().is_empty()));
}

#[test]
fn daily_bucket_shows_when_it_binds() {
    // docs/providers.md §1.6: free tier 200 RPD → `limit-requests: 200`, one request = 7m12s.
    let emu = Emulator::openai().rpm(500).rpd(200).tpm(40_000).start().unwrap();
    let r = post(&agent(), &url(&emu), &OPENAI_AUTH, &body(119));
    assert_eq!(r.h("x-ratelimit-limit-requests"), Some("200"));
    assert_eq!(r.h("x-ratelimit-remaining-requests"), Some("199"));
    assert_eq!(r.h("x-ratelimit-reset-requests"), Some("7m12s"));
    // 1 + 119 = 120 tokens at 40,000 TPM: 180 ms (the §1.6 capture).
    assert_eq!(r.h("x-ratelimit-remaining-tokens"), Some("39880"));
    assert_eq!(r.h("x-ratelimit-reset-tokens"), Some("180ms"));
}
