//! OpenRouter streaming over httpmock: keep-alive comment lines, usage on a chunk that still
//! has choices, the generation id, and mid-stream errors.

mod common;
mod stream_common;

use chat_limiter::{ChatCompletionRequest, Error, Message, Provider};
use common::builder;
use httpmock::prelude::*;
use stream_common::{drain, in_flight, sse};

const MODEL: &str = "openai/gpt-4o-mini";

fn req() -> ChatCompletionRequest {
    ChatCompletionRequest::new(MODEL, vec![Message::user("Say hello")]).max_tokens(50)
}

fn chunk(content: &str, finish: &str, usage: &str) -> String {
    format!(
        r#"data: {{"id":"gen-1","provider":"OpenAI","model":"openai/gpt-4o-mini","object":"chat.completion.chunk","created":1,"choices":[{{"index":0,"delta":{{"role":"assistant","content":"{content}"}},"finish_reason":{finish},"native_finish_reason":{finish}}}]{usage}}}"#
    )
}

const KEEP_ALIVE: &str = ": OPENROUTER PROCESSING";

fn mock(server: &MockServer, body: String) -> httpmock::Mock<'_> {
    server.mock(|when, then| {
        when.method(POST).path("/api/v1/chat/completions").json_body_includes(r#"{"stream":true}"#);
        then.status(200)
            .header("content-type", "text/event-stream")
            .header("x-generation-id", "gen-1")
            .body(body);
    })
}

#[test]
fn keep_alive_comments_are_skipped_and_usage_is_read_from_a_choice_chunk() {
    let server = MockServer::start();
    let usage =
        r#","usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11,"cost":0.00012}"#;
    let body = sse(&[
        KEEP_ALIVE,
        KEEP_ALIVE,
        &chunk("", "null", ""),
        KEEP_ALIVE,
        &chunk("Hel", "null", ""),
        &chunk("lo", "\"stop\"", usage),
        "data: [DONE]",
    ]);
    let m = mock(&server, body);
    let limiter = builder(Provider::OpenRouter, &server.url("/api/v1")).build().unwrap();
    let r = limiter.chat_completion_stream(&req()).unwrap().collect_response().unwrap();
    m.assert_calls(1);
    assert_eq!((r.id.as_str(), r.text().as_ref()), ("gen-1", "Hello"));
    assert_eq!(r.choices[0].finish_reason.as_deref(), Some("stop"));
    let u = r.usage.unwrap();
    assert_eq!((u.prompt_tokens, u.completion_tokens, u.cost), (9, 2, Some(0.00012)));
    assert_eq!(r.request_id.as_deref(), Some("gen-1"));
    assert_eq!(r.raw["usage"]["cost"], 0.00012);
    assert_eq!(in_flight(&limiter, MODEL), 0);
}

#[test]
fn mid_stream_error_is_a_typed_api_error() {
    let server = MockServer::start();
    let err = r#"data: {"id":"gen-1","object":"chat.completion.chunk","created":1,"model":"openai/gpt-4o-mini","provider":"OpenAI","error":{"code":502,"message":"Provider disconnected unexpectedly","metadata":{"error_type":"provider_unavailable"}},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}"#;
    mock(&server, sse(&[KEEP_ALIVE, &chunk("Hel", "null", ""), err]));
    let limiter = builder(Provider::OpenRouter, &server.url("/api/v1")).build().unwrap();
    let (text, err) = drain(limiter.chat_completion_stream(&req()).unwrap());
    assert_eq!(text, "Hel");
    let api = match err {
        Some(Error::Api(api)) => api,
        other => panic!("expected an API error, got {other:?}"),
    };
    assert_eq!(api.status, 502);
    assert!(api.message.contains("Provider disconnected"), "{}", api.message);
    assert_eq!(api.request_id.as_deref(), Some("gen-1"));
    assert_eq!(in_flight(&limiter, MODEL), 0);
}

#[test]
fn only_keep_alives_then_eof_is_a_stream_error() {
    let server = MockServer::start();
    mock(&server, sse(&[KEEP_ALIVE, KEEP_ALIVE]));
    let limiter = builder(Provider::OpenRouter, &server.url("/api/v1")).build().unwrap();
    let (text, err) = drain(limiter.chat_completion_stream(&req()).unwrap());
    assert_eq!(text, "");
    assert!(matches!(err, Some(Error::Stream(_))), "{err:?}");
    assert_eq!(in_flight(&limiter, MODEL), 0);
}

#[test]
fn error_status_before_the_first_byte_is_not_a_stream() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(POST).path("/api/v1/chat/completions");
        then.status(400).header("content-type", "application/json").body(
            r#"{"error":{"code":400,"message":"openai/gpt-4o-mini is not a valid model ID"}}"#,
        );
    });
    let limiter = builder(Provider::OpenRouter, &server.url("/api/v1")).build().unwrap();
    let err = limiter.chat_completion_stream(&req()).unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(in_flight(&limiter, MODEL), 0);
}
