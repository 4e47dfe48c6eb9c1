//! OpenAI over httpmock: body mapping both ways, headers, retries and their limits.

mod common;

use std::time::Duration;

use chat_limiter::{ChatCompletionRequest, Error, Message, Provider};
use common::{builder, KEY};
use httpmock::prelude::*;
use serde_json::json;

fn ok_body() -> serde_json::Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13,
                  "prompt_tokens_details": {"cached_tokens": 4}}
    })
}

#[test]
fn request_and_response_are_mapped() {
    let server = MockServer::start();
    let m = server.mock(|when, then| {
        when.method(POST)
            .path("/v1/chat/completions")
            .header("authorization", format!("Bearer {KEY}"))
            .json_body_includes(r#"{"model":"gpt-4o-mini","max_tokens":20,"temperature":0.5,"stop":["END"],"seed":7}"#)
            .json_body_includes(r#"{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"Capital of France?"}]}"#)
            .is_true(|req| !String::from_utf8_lossy(req.body().as_ref()).contains("top_k"));
        then.status(200)
            .header("x-request-id", "req_abc")
            .header("x-ratelimit-limit-requests", "500")
            .header("x-ratelimit-remaining-requests", "499")
            .header("x-ratelimit-reset-requests", "120ms")
            .header("x-ratelimit-limit-tokens", "30000")
            .header("x-ratelimit-remaining-tokens", "29000")
            .header("x-ratelimit-reset-tokens", "2s")
            .json_body(ok_body());
    });
    let limiter = builder(Provider::OpenAI, &server.url("/v1")).build().unwrap();
    let req = ChatCompletionRequest::new(
        "gpt-4o-mini",
        vec![Message::system("be brief"), Message::user("Capital of France?")],
    )
    .max_tokens(20)
    .temperature(0.5)
    .stop(["END"])
    .top_k(5)
    .extra("seed", 7);
    let resp = limiter.chat_completion(&req).unwrap();
    m.assert_calls(1);
    assert_eq!(resp.choices[0].message.content, "Paris");
    assert_eq!(resp.choices[0].finish_reason.as_deref(), Some("stop"));
    let usage = resp.usage.unwrap();
    assert_eq!((usage.prompt_tokens, usage.completion_tokens, usage.total_tokens), (12, 1, 13));
    assert_eq!(usage.cache_read_input_tokens, Some(4));
    assert_eq!(resp.request_id.as_deref(), Some("req_abc"));
    let limits = limiter.current_limits();
    let m = limits.model("gpt-4o-mini").unwrap();
    assert_eq!(m.requests.unwrap().limit, 500);
    assert_eq!(m.tokens.unwrap().limit, 30_000);
    assert!(m.tokens.unwrap().remaining <= 29_000, "follows the server's remaining");
}

#[test]
fn reasoning_models_get_max_completion_tokens() {
    let server = MockServer::start();
    let m = server.mock(|when, then| {
        when.method(POST)
            .path("/v1/chat/completions")
            .json_body_includes(r#"{"max_completion_tokens":9}"#);
        then.status(200).json_body(ok_body());
    });
    let limiter = builder(Provider::OpenAI, &server.url("/v1")).build().unwrap();
    limiter.simple_chat("o3-mini", "hi", 9).unwrap();
    m.assert_calls(1);
}

#[test]
fn rate_limited_then_success_pauses_and_retries() {
    let server = MockServer::start();
    let mut limited = server.mock(|when, then| {
        when.method(POST).path("/v1/chat/completions");
        then.status(429).header("retry-after", "1").json_body(json!({"error": {
            "message": "Rate limit reached for gpt-4o in organization org-x on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.",
            "type": "requests", "param": null, "code": "rate_limit_exceeded"}}));
    });
    let limiter = builder(Provider::OpenAI, &server.url("/v1")).build().unwrap();
    std::thread::scope(|s| {
        let h = s.spawn(|| limiter.simple_chat("gpt-4o", "hi", 5));
        while limited.calls() == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
        // The client now waits out retry-after (1 s); swap in a success meanwhile.
        limited.delete();
        let ok = server.mock(|when, then| {
            when.method(POST).path("/v1/chat/completions");
            then.status(200).json_body(ok_body());
        });
        assert_eq!(h.join().unwrap().unwrap(), "Paris");
        ok.assert_calls(1);
    });
    assert_eq!(limiter.current_limits().model("gpt-4o").unwrap().rate_limited, 1);
}

#[test]
fn quota_429_is_not_retried() {
    let server = MockServer::start();
    let m = server.mock(|when, then| {
        when.method(POST).path("/v1/chat/completions");
        then.status(429).json_body(json!({"error": {"message": "You exceeded your current quota, please check your plan and billing details.",
            "type": "insufficient_quota", "param": null, "code": "insufficient_quota"}}));
    });
    let limiter = builder(Provider::OpenAI, &server.url("/v1")).build().unwrap();
    let err = limiter.simple_chat("gpt-4o", "hi", 5).unwrap_err();
    m.assert_calls(1);
    let api = err.api_error().expect("an API error");
    assert_eq!(api.status, 429);
    assert_eq!(api.code.as_deref(), Some("insufficient_quota"));
    assert!(!err.is_retryable());
}

#[test]
fn unauthorized_fails_at_once_and_never_shows_the_key() {
    let server = MockServer::start();
    let m = server.mock(|when, then| {
        when.method(POST).path("/v1/chat/completions");
        then.status(401)
            .json_body(json!({"error": {"message": format!("Incorrect API key provided: {KEY}."),
            "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}}));
    });
    let limiter = builder(Provider::OpenAI, &server.url("/v1")).build().unwrap();
    let err = limiter.simple_chat("gpt-4o", "hi", 5).unwrap_err();
    m.assert_calls(1);
    assert_eq!(err.status(), Some(401));
    for text in [err.to_string(), format!("{err:?}"), format!("{limiter:?}")] {
        assert!(!text.contains(KEY), "key leaked in {text}");
    }
}

#[test]
fn server_errors_are_retried_until_attempts_run_out() {
    let server = MockServer::start();
    let m = server.mock(|when, then| {
        when.method(POST).path("/v1/chat/completions");
        then.status(503).header("x-request-id", "req_last").json_body(json!({"error": {
            "message": "The server is overloaded", "type": "service_unavailable_error", "param": null, "code": "server_is_overloaded"}}));
    });
    let limiter = builder(Provider::OpenAI, &server.url("/v1")).max_retries(2).build().unwrap();
    let err = limiter.simple_chat("gpt-4o", "hi", 5).unwrap_err();
    m.assert_calls(3);
    match &err {
        Error::RetriesExhausted { attempts, last } => {
            assert_eq!(*attempts, 3);
            assert_eq!(last.status(), Some(503));
            assert_eq!(last.api_error().unwrap().request_id.as_deref(), Some("req_last"));
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
}

#[test]
fn long_retry_after_is_surfaced_when_long_waits_fail() {
    let server = MockServer::start();
    let m = server.mock(|when, then| {
        when.method(POST).path("/v1/chat/completions");
        then.status(429).header("retry-after", "3600").json_body(json!({"error": {
            "message": "Rate limit reached for gpt-4o on requests per day (RPD)", "type": "requests", "param": null, "code": "rate_limit_exceeded"}}));
    });
    // The default waits it out (tested with a manual clock in the crate); `Fail` hands it back.
    let limiter = builder(Provider::OpenAI, &server.url("/v1"))
        .long_wait(chat_limiter::LongWait::Fail)
        .build()
        .unwrap();
    let err = limiter.simple_chat("gpt-4o", "hi", 5).unwrap_err();
    m.assert_calls(1);
    assert_eq!(err.api_error().unwrap().retry_after, Some(Duration::from_secs(3600)));
}

#[test]
fn low_level_request_goes_through_the_limiter() {
    let server = MockServer::start();
    let m = server.mock(|when, then| {
        when.method(GET).path("/v1/models").header("authorization", format!("Bearer {KEY}"));
        then.status(200).header("x-ratelimit-limit-requests", "77").json_body(json!({"data": []}));
    });
    let limiter = builder(Provider::OpenAI, &server.url("/v1")).model("gpt-4o").build().unwrap();
    let raw = limiter.request("GET", "/models", None).unwrap();
    m.assert_calls(1);
    assert_eq!(raw.status, 200);
    assert_eq!(raw.json().unwrap()["data"], json!([]));
    assert_eq!(limiter.current_limits().model("gpt-4o").unwrap().requests.unwrap().limit, 77);
    assert!(limiter.request("GET", "http://evil.example/x", None).is_err());
}

#[test]
fn malformed_success_body_is_a_typed_error() {
    let server = MockServer::start();
    let m = server.mock(|when, then| {
        when.method(POST).path("/v1/chat/completions");
        then.status(200).body("{\"id\": \"chatcmpl-1\", \"choi");
    });
    let limiter = builder(Provider::OpenAI, &server.url("/v1")).max_retries(1).build().unwrap();
    let err = limiter.simple_chat("gpt-4o", "hi", 5).unwrap_err();
    m.assert_calls(2);
    assert!(
        matches!(&err, Error::RetriesExhausted { last, .. } if matches!(**last, Error::InvalidResponse { .. })),
        "{err:?}"
    );
}

#[test]
fn configured_headers_go_with_the_auth_and_content_type_on_every_call() {
    let server = MockServer::start();
    let m = server.mock(|when, then| {
        when.method(POST)
            .path("/v1/chat/completions")
            .header("authorization", format!("Bearer {KEY}"))
            .header("content-type", "application/json")
            .header("x-title", "eval")
            .header("http-referer", "https://example.com");
        then.status(200).json_body(ok_body());
    });
    let limiter = builder(Provider::OpenAI, &server.url("/v1"))
        .header("x-title", "eval")
        .header("http-referer", "https://example.com")
        .build()
        .unwrap();
    for _ in 0..2 {
        let r = limiter
            .chat_completion(&ChatCompletionRequest::new("gpt-4o-mini", vec![Message::user("hi")]));
        assert_eq!(r.unwrap().text(), "Paris");
    }
    m.assert_calls(2);
}
