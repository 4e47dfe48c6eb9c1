//! Anthropic over httpmock: system handling, headers, RFC 3339 limits, retry classification.

mod common;

use chat_limiter::{ChatCompletionRequest, Message, Provider};
use common::{builder, KEY};
use httpmock::prelude::*;
use serde_json::json;

fn ok_body() -> serde_json::Value {
    json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-3-5-sonnet-20241022",
        "content": [{"type": "text", "text": "Hello"}, {"type": "text", "text": " there"}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 20, "output_tokens": 5, "cache_creation_input_tokens": 3, "cache_read_input_tokens": 7}})
}

fn rfc3339_in(secs: u64) -> String {
    let t = std::time::SystemTime::now() + std::time::Duration::from_secs(secs);
    let s = httpdate::fmt_http_date(t); // only to get a valid, near time; converted below
    let parsed = httpdate::parse_http_date(&s).unwrap();
    let secs = parsed.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[test]
fn system_messages_move_to_top_level_and_response_maps_back() {
    let server = MockServer::start();
    let m = server.mock(|when, then| {
        when.method(POST)
            .path("/v1/messages")
            .header("x-api-key", KEY)
            .header("anthropic-version", "2023-06-01")
            .json_body_includes(r#"{"system":"rule one\n\nrule two","max_tokens":1024,"stop_sequences":["END"],"top_k":3}"#)
            .json_body_includes(r#"{"messages":[{"role":"user","content":"hi"}]}"#)
            .is_true(|req| {
                let b = String::from_utf8_lossy(req.body().as_ref()).to_string();
                !b.contains("frequency_penalty") && !b.contains("\"role\":\"system\"")
            });
        then.status(200)
            .header("request-id", "req_01")
            .header("anthropic-ratelimit-requests-limit", "50")
            .header("anthropic-ratelimit-requests-remaining", "49")
            .header("anthropic-ratelimit-requests-reset", rfc3339_in(2))
            .header("anthropic-ratelimit-input-tokens-limit", "30000")
            .header("anthropic-ratelimit-input-tokens-remaining", "30000")
            .header("anthropic-ratelimit-input-tokens-reset", rfc3339_in(0))
            .header("anthropic-ratelimit-output-tokens-limit", "8000")
            .header("anthropic-ratelimit-output-tokens-remaining", "7000")
            .header("anthropic-ratelimit-output-tokens-reset", rfc3339_in(8))
            .json_body(ok_body());
    });
    let limiter = builder(Provider::Anthropic, &server.url("/v1")).build().unwrap();
    let req = ChatCompletionRequest::new(
        "claude-3-5-sonnet-20241022",
        vec![Message::system("rule one"), Message::user("hi"), Message::system("rule two")],
    )
    .stop(["END"])
    .frequency_penalty(0.5)
    .top_k(3);
    let resp = limiter.chat_completion(&req).unwrap();
    m.assert_calls(1);
    assert_eq!(resp.text(), "Hello there");
    assert_eq!(resp.choices[0].finish_reason.as_deref(), Some("stop"));
    let u = resp.usage.unwrap();
    assert_eq!(u.prompt_tokens, 30, "input + cache creation + cache read");
    assert_eq!(u.completion_tokens, 5);
    assert_eq!(resp.request_id.as_deref(), Some("req_01"));
    let snap = limiter.current_limits();
    let m = snap.model("claude-3-5-sonnet-20241022").unwrap();
    assert_eq!(m.requests.unwrap().limit, 50);
    assert_eq!(m.input_tokens.unwrap().limit, 30_000);
    assert_eq!(m.output_tokens.unwrap().limit, 8_000);
    // "7000" is rounded to the nearest 1000: the balance may be anything up to 7,499.
    assert!(m.output_tokens.unwrap().remaining <= 7_499, "{m:?}");
}

#[test]
fn spend_cap_429_is_terminal_and_529_is_retried() {
    let server = MockServer::start();
    let cap = server.mock(|when, then| {
        when.method(POST).path("/v1/messages").body_includes("spend");
        then.status(429).json_body(json!({"type": "error", "error": {"type": "rate_limit_error",
            "message": "You have reached your monthly spend limit", "details": {"error_code": "enforced_spend_limit_reached"}},
            "request_id": "req_cap"}));
    });
    let overloaded = server.mock(|when, then| {
        when.method(POST).path("/v1/messages").body_includes("busy");
        then.status(529).json_body(json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}));
    });
    let limiter = builder(Provider::Anthropic, &server.url("/v1")).max_retries(2).build().unwrap();
    let err = limiter.simple_chat("claude-sonnet-4-5", "spend", 10).unwrap_err();
    cap.assert_calls(1);
    assert!(!err.is_retryable());
    assert_eq!(err.api_error().unwrap().request_id.as_deref(), Some("req_cap"));
    let err = limiter.simple_chat("claude-sonnet-4-5", "busy", 10).unwrap_err();
    overloaded.assert_calls(3);
    assert_eq!(err.status(), Some(529));
}

#[test]
fn request_without_user_messages_is_rejected_before_sending() {
    let server = MockServer::start();
    let m = server.mock(|when, then| {
        when.any_request();
        then.status(200).json_body(ok_body());
    });
    let limiter = builder(Provider::Anthropic, &server.url("/v1")).build().unwrap();
    let only_system = ChatCompletionRequest::new("claude-sonnet-4-5", vec![Message::system("x")]);
    assert!(matches!(
        limiter.chat_completion(&only_system),
        Err(chat_limiter::Error::InvalidRequest(_))
    ));
    let none = ChatCompletionRequest::new("claude-sonnet-4-5", vec![]);
    assert!(matches!(limiter.chat_completion(&none), Err(chat_limiter::Error::InvalidRequest(_))));
    m.assert_calls(0);
}
