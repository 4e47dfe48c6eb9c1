//! OpenRouter over httpmock: attribution headers, credit checks, 402 and the /auth/key fallback.

mod common;

use chat_limiter::{Error, Provider};
use common::{builder, KEY};
use httpmock::prelude::*;
use serde_json::json;

fn ok_body() -> serde_json::Value {
    json!({"id": "gen-1", "provider": "OpenAI", "model": "openai/gpt-4o-mini", "object": "chat.completion", "created": 1,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop", "native_finish_reason": "stop"}],
        "usage": {"prompt_tokens": 4, "completion_tokens": 1, "total_tokens": 5, "cost": 0.00002}})
}

fn key_body(remaining: f64) -> serde_json::Value {
    json!({"data": {"label": "sk-or-v1-abc...xyz", "limit": 10.0, "limit_remaining": remaining, "usage": 1.5,
        "is_free_tier": false, "rate_limit": {"requests": 1000, "interval": "1h", "note": "deprecated"}}})
}

#[test]
fn chat_sends_attribution_headers_and_reads_cost() {
    let server = MockServer::start();
    let key = server.mock(|when, then| {
        when.method(GET).path("/api/v1/key").header("authorization", format!("Bearer {KEY}"));
        then.status(200).json_body(key_body(8.5));
    });
    let chat = server.mock(|when, then| {
        when.method(POST)
            .path("/api/v1/chat/completions")
            .header("HTTP-Referer", "https://example.org")
            .header("X-Title", "tests")
            .json_body_includes(r#"{"model":"openai/gpt-4o-mini","top_k":4}"#);
        then.status(200).header("X-Generation-Id", "gen-1").json_body(ok_body());
    });
    let limiter = builder(Provider::OpenRouter, &server.url("/api/v1"))
        .header("HTTP-Referer", "https://example.org")
        .header("X-Title", "tests")
        .build()
        .unwrap();
    let req = chat_limiter::ChatCompletionRequest::new(
        "openai/gpt-4o-mini",
        vec![chat_limiter::Message::user("hi")],
    )
    .top_k(4);
    let resp = limiter.chat_completion(&req).unwrap();
    assert_eq!(resp.text(), "ok");
    assert_eq!(resp.usage.unwrap().cost, Some(0.00002));
    chat.assert_calls(1);
    key.assert_calls(1);
    let info = limiter.openrouter_key_info().unwrap();
    assert_eq!(info.limit_remaining, Some(8.5));
    assert!(!info.credits_exhausted());
}

#[test]
fn spent_credit_fails_fast_without_sending() {
    let server = MockServer::start();
    let key = server.mock(|when, then| {
        when.method(GET).path("/api/v1/key");
        then.status(200).json_body(key_body(0.0));
    });
    let chat = server.mock(|when, then| {
        when.method(POST).path("/api/v1/chat/completions");
        then.status(200).json_body(ok_body());
    });
    let limiter = builder(Provider::OpenRouter, &server.url("/api/v1")).build().unwrap();
    for _ in 0..3 {
        let err = limiter.simple_chat("openai/gpt-4o-mini", "hi", 5).unwrap_err();
        assert!(matches!(err, Error::CreditsExhausted { .. }), "{err:?}");
    }
    chat.assert_calls(0);
    key.assert_calls(1);
}

#[test]
fn payment_required_stops_further_requests() {
    let server = MockServer::start();
    let _key = server.mock(|when, then| {
        when.method(GET).path("/api/v1/auth/key");
        then.status(200).json_body(
            json!({"data": {"label": "x", "usage": 1.0, "limit": null, "is_free_tier": false,
            "rate_limit": {"requests": 10, "interval": "10s"}}}),
        );
    });
    let chat = server.mock(|when, then| {
        when.method(POST).path("/api/v1/chat/completions");
        then.status(402).json_body(json!({"error": {"code": 402, "message": "This request requires more credits, or fewer max_tokens. You requested up to 16384 tokens, but can only afford 3324."}}));
    });
    let limiter = builder(Provider::OpenRouter, &server.url("/api/v1")).build().unwrap();
    let info = limiter.openrouter_key_info().unwrap();
    assert_eq!(info.rate_limit_requests, Some(10), "older /auth/key shape via the fallback");
    let err = limiter.simple_chat("openai/gpt-4o-mini", "hi", 5).unwrap_err();
    assert_eq!(err.status(), Some(402));
    let err = limiter.simple_chat("openai/gpt-4o-mini", "hi", 5).unwrap_err();
    assert!(matches!(err, Error::CreditsExhausted { .. }), "{err:?}");
    chat.assert_calls(1);
}
