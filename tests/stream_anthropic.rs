//! Anthropic streaming over httpmock: the named event sequence (with `ping` and unknown
//! events), cumulative usage, error events, broken streams, and settlement of the output
//! bucket to the real output rather than `max_tokens`.

mod common;
mod stream_common;

use chat_limiter::{ChatCompletionRequest, Error, Message, Provider};
use common::builder;
use httpmock::prelude::*;
use stream_common::{drain, in_flight, sse};

const MODEL: &str = "claude-sonnet-4-5";

fn req(max_tokens: u32) -> ChatCompletionRequest {
    ChatCompletionRequest::new(MODEL, vec![Message::user("Say hello")]).max_tokens(max_tokens)
}

const START: &str = r#"event: message_start
data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"usage":{"input_tokens":25,"output_tokens":1}}}"#;
const BLOCK: &str = r#"event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#;
const PING: &str = "event: ping\ndata: {\"type\": \"ping\"}";
const UNKNOWN: &str = "event: brand_new_event\ndata: {\"type\":\"brand_new_event\",\"x\":1}";
const STOP_BLOCK: &str =
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}";
const DELTA: &str = r#"event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}"#;
const STOP: &str = "event: message_stop\ndata: {\"type\":\"message_stop\"}";

fn text(t: &str) -> String {
    format!(
        "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"{t}\"}}}}"
    )
}

fn full_body() -> String {
    sse(&[START, BLOCK, PING, &text("Hel"), UNKNOWN, &text("lo"), STOP_BLOCK, DELTA, STOP])
}

/// Rate-limit headers that reveal input and output buckets of 10,000 and 8,000 tokens.
fn mock(server: &MockServer, body: String) -> httpmock::Mock<'_> {
    server.mock(|when, then| {
        when.method(POST).path("/v1/messages").json_body_includes(r#"{"stream":true}"#);
        then.status(200)
            .header("content-type", "text/event-stream; charset=utf-8")
            .header("request-id", "req_ant")
            .header("anthropic-ratelimit-input-tokens-limit", "10000")
            .header("anthropic-ratelimit-input-tokens-remaining", "10000")
            .header("anthropic-ratelimit-input-tokens-reset", "2030-01-01T00:00:00Z")
            .header("anthropic-ratelimit-output-tokens-limit", "8000")
            .header("anthropic-ratelimit-output-tokens-remaining", "8000")
            .header("anthropic-ratelimit-output-tokens-reset", "2030-01-01T00:00:00Z")
            .body(body);
    })
}

#[test]
fn event_sequence_collects_into_a_message() {
    let server = MockServer::start();
    let m = mock(&server, full_body());
    let limiter = builder(Provider::Anthropic, &server.url("/v1")).build().unwrap();
    let r = limiter.chat_completion_stream(&req(100)).unwrap().collect_response().unwrap();
    m.assert_calls(1);
    assert_eq!((r.id.as_str(), r.model.as_str()), ("msg_1", "claude-sonnet-4-5-20250929"));
    assert_eq!((r.text().as_ref(), r.provider), ("Hello", Provider::Anthropic));
    assert_eq!(r.choices[0].finish_reason.as_deref(), Some("stop"));
    let u = r.usage.unwrap();
    assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens), (25, 15, 40));
    assert_eq!(r.request_id.as_deref(), Some("req_ant"));
    assert_eq!(r.raw["type"], "message");
    assert_eq!(r.raw["stop_reason"], "end_turn", "raw keeps Anthropic's own stop reason");
    assert_eq!(r.raw["content"][0]["text"], "Hello");
    assert_eq!(r.raw["usage"]["input_tokens"], 25);
    assert_eq!(in_flight(&limiter, MODEL), 0);
}

#[test]
fn error_event_is_a_typed_api_error_with_the_request_id() {
    let server = MockServer::start();
    let err = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}";
    mock(&server, sse(&[START, BLOCK, &text("Hel"), err]));
    let limiter = builder(Provider::Anthropic, &server.url("/v1")).build().unwrap();
    let (got, err) = drain(limiter.chat_completion_stream(&req(100)).unwrap());
    assert_eq!(got, "Hel");
    let api = match err {
        Some(Error::Api(api)) => api,
        other => panic!("expected an API error, got {other:?}"),
    };
    assert_eq!((api.status, api.error_type.as_deref()), (529, Some("overloaded_error")));
    assert!(api.retryable);
    assert_eq!(api.request_id.as_deref(), Some("req_ant"));
    assert_eq!(in_flight(&limiter, MODEL), 0);
}

#[test]
fn eof_without_message_stop_and_malformed_events_are_stream_errors() {
    for (body, what) in [
        (sse(&[START, BLOCK, &text("Hel"), DELTA]), "message_stop"),
        (sse(&[START, "event: content_block_delta\ndata: {\"type\":\"content_b"]), "malformed"),
    ] {
        let server = MockServer::start();
        mock(&server, body);
        let limiter = builder(Provider::Anthropic, &server.url("/v1")).build().unwrap();
        let (_, err) = drain(limiter.chat_completion_stream(&req(100)).unwrap());
        match err {
            Some(Error::Stream(msg)) => assert!(msg.contains(what), "{msg}"),
            other => panic!("expected a stream error about {what}, got {other:?}"),
        }
        assert_eq!(in_flight(&limiter, MODEL), 0);
    }
}

/// The first call learns the buckets (a cold start reserves nothing); the second reserves
/// `max_tokens` = 1000 output tokens and must give back all but the 15 it used.
#[test]
fn output_bucket_settles_to_the_real_output_not_max_tokens() {
    let server = MockServer::start();
    mock(&server, full_body());
    let limiter = builder(Provider::Anthropic, &server.url("/v1")).build().unwrap();
    limiter.chat_completion_stream(&req(1000)).unwrap().collect_response().unwrap();
    limiter.reset_usage_tracking();
    let mut stream = limiter.chat_completion_stream(&req(1000)).unwrap();
    let during = limiter.current_limits().model(MODEL).unwrap().output_tokens.unwrap().used;
    assert_eq!(during, 1000, "max_tokens is held while the stream runs");
    assert!(stream.by_ref().all(|c| c.is_ok()));
    let limits = limiter.current_limits();
    let m = limits.model(MODEL).unwrap();
    assert_eq!(m.output_tokens.unwrap().used, 15);
    assert_eq!(m.input_tokens.unwrap().used, 25, "input settles to the reported input");
    assert_eq!(m.in_flight, 0);
}

/// A stream cut after `message_start` settles with the input Anthropic reported and the
/// output seen so far, not with the estimate and `max_tokens`.
#[test]
fn broken_stream_settles_with_the_reported_input_and_the_output_seen() {
    let server = MockServer::start();
    mock(&server, full_body());
    let limiter = builder(Provider::Anthropic, &server.url("/v1")).build().unwrap();
    limiter.chat_completion_stream(&req(1000)).unwrap().collect_response().unwrap();
    server.reset();
    mock(&server, sse(&[START, BLOCK, &text("Hello there, all of you")]));
    limiter.reset_usage_tracking();
    let (_, err) = drain(limiter.chat_completion_stream(&req(1000)).unwrap());
    assert!(matches!(err, Some(Error::Stream(_))));
    let limits = limiter.current_limits();
    let m = limits.model(MODEL).unwrap();
    assert_eq!(m.input_tokens.unwrap().used, 25);
    assert_eq!(m.output_tokens.unwrap().used, 6, "ceil(23 chars / 4)");
    assert_eq!(m.in_flight, 0);
}
