//! OpenAI streaming over httpmock and a one-shot loopback server: chunks, usage, collection,
//! and every way a stream can break (error chunk, malformed JSON, EOF without `[DONE]`, a cut
//! connection, a stall), each ending with a typed error and a free limiter slot.

mod common;
mod fake_http;
mod stream_common;

use std::time::{Duration, Instant};

use chat_limiter::{ChatCompletionRequest, Error, Message, Provider};
use common::builder;
use fake_http::{End, FakeServer, Reply};
use httpmock::prelude::*;
use stream_common::{drain, in_flight, sse};

const MODEL: &str = "gpt-4o-mini";

fn req() -> ChatCompletionRequest {
    ChatCompletionRequest::new(MODEL, vec![Message::user("Say hello")]).max_tokens(50)
}

/// A fresh fake answering with one chunked event stream, written piece by piece (each after
/// its pause) and then ended as `end`: for what httpmock cannot do (cut a connection, stall
/// between chunks). Returns its base URL and the fake.
fn one_shot(pieces: Vec<(Duration, String)>, end: End) -> (String, FakeServer) {
    let reply = Reply::chunked(200, pieces, end)
        .header("x-request-id", "req_oneshot")
        .header("request-id", "req_oneshot")
        .close();
    let server = FakeServer::script(vec![reply]);
    (server.url(""), server)
}

fn chunk(delta: &str, finish: Option<&str>) -> String {
    let c = serde_json::json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
        "model": "gpt-4o-mini-2024-07-18", "obfuscation": "xyz",
        "choices": [{"index": 0, "delta": serde_json::from_str::<serde_json::Value>(delta).unwrap(),
                     "finish_reason": finish}], "usage": null});
    format!("data: {c}")
}

const USAGE: &str = r#"data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12}}"#;

fn full_body() -> String {
    sse(&[
        &chunk(r#"{"role":"assistant","content":"","refusal":null}"#, None),
        &chunk(r#"{"content":"Hel"}"#, None),
        &chunk(r#"{"content":"lo"}"#, None),
        &chunk("{}", Some("stop")),
        USAGE,
        "data: [DONE]",
    ])
}

fn mock(server: &MockServer, body: String) -> httpmock::Mock<'_> {
    server.mock(|when, then| {
        when.method(POST)
            .path("/v1/chat/completions")
            .json_body_includes(r#"{"stream":true,"stream_options":{"include_usage":true}}"#);
        then.status(200)
            .header("content-type", "text/event-stream")
            .header("x-request-id", "req_abc")
            .body(body);
    })
}

#[test]
fn chunks_carry_text_finish_reason_and_usage() {
    let server = MockServer::start();
    let m = mock(&server, full_body());
    let limiter = builder(Provider::OpenAI, &server.url("/v1")).build().unwrap();
    let mut stream = limiter.chat_completion_stream(&req()).unwrap();
    assert_eq!(stream.request_id(), Some("req_abc"));
    assert_eq!(in_flight(&limiter, MODEL), 1, "the stream holds its slot while it runs");
    let chunks: Vec<_> = stream.by_ref().map(|c| c.unwrap()).collect();
    assert!(stream.is_complete() && stream.is_finished());
    assert_eq!(in_flight(&limiter, MODEL), 0, "the slot is freed at [DONE], before the drop");
    m.assert_calls(1);
    let text: String = chunks.iter().map(|c| c.delta.as_str()).collect();
    assert_eq!(text, "Hello");
    assert_eq!(chunks[3].finish_reason.as_deref(), Some("stop"));
    let u = chunks.last().unwrap().usage.unwrap();
    assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens), (10, 2, 12));
    assert_eq!(stream.usage(), Some(u));
    assert!(stream.next().is_none(), "fused after the end");
}

#[test]
fn collect_response_has_the_non_streaming_shape() {
    let server = MockServer::start();
    mock(&server, full_body());
    let limiter = builder(Provider::OpenAI, &server.url("/v1")).build().unwrap();
    let r = limiter.chat_completion_stream(&req()).unwrap().collect_response().unwrap();
    assert_eq!((r.id.as_str(), r.model.as_str()), ("chatcmpl-1", "gpt-4o-mini-2024-07-18"));
    assert_eq!((r.text().as_ref(), r.provider), ("Hello", Provider::OpenAI));
    assert_eq!(r.choices[0].finish_reason.as_deref(), Some("stop"));
    assert_eq!(r.usage.map(|u| u.total_tokens), Some(12));
    assert_eq!(r.request_id.as_deref(), Some("req_abc"));
    assert_eq!(r.raw["object"], "chat.completion");
    assert_eq!(r.raw["choices"][0]["message"]["content"], "Hello");
    assert_eq!(r.raw["usage"]["prompt_tokens"], 10);
    assert_eq!(in_flight(&limiter, MODEL), 0);
}

#[test]
fn error_chunk_is_an_api_error_with_the_request_id() {
    let server = MockServer::start();
    let body = sse(&[
        &chunk(r#"{"content":"Hel"}"#, None),
        r#"data: {"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}"#,
    ]);
    mock(&server, body);
    let limiter = builder(Provider::OpenAI, &server.url("/v1")).build().unwrap();
    let (text, err) = drain(limiter.chat_completion_stream(&req()).unwrap());
    assert_eq!(text, "Hel");
    let api = match err {
        Some(Error::Api(api)) => api,
        other => panic!("expected an API error, got {other:?}"),
    };
    assert_eq!(api.error_type.as_deref(), Some("server_error"));
    assert_eq!(api.request_id.as_deref(), Some("req_abc"));
    assert_eq!(in_flight(&limiter, MODEL), 0);
}

#[test]
fn malformed_json_is_a_stream_error() {
    let server = MockServer::start();
    mock(&server, sse(&[&chunk(r#"{"content":"Hi"}"#, None), r#"data: {"id":"chatcmpl-1","choi"#]));
    let limiter = builder(Provider::OpenAI, &server.url("/v1")).build().unwrap();
    let mut stream = limiter.chat_completion_stream(&req()).unwrap();
    assert_eq!(stream.next().unwrap().unwrap().delta, "Hi");
    assert!(matches!(stream.next(), Some(Err(Error::Stream(_)))));
    assert!(stream.next().is_none(), "nothing after the error");
    assert_eq!(in_flight(&limiter, MODEL), 0, "freed at the error, before the drop");
}

#[test]
fn eof_without_done_is_a_stream_error() {
    let server = MockServer::start();
    mock(&server, sse(&[&chunk(r#"{"content":"Hi"}"#, None), &chunk("{}", Some("stop"))]));
    let limiter = builder(Provider::OpenAI, &server.url("/v1")).build().unwrap();
    let (text, err) = drain(limiter.chat_completion_stream(&req()).unwrap());
    assert_eq!(text, "Hi");
    match err {
        Some(Error::Stream(msg)) => assert!(msg.contains("[DONE]"), "{msg}"),
        other => panic!("expected a stream error, got {other:?}"),
    }
    assert_eq!(in_flight(&limiter, MODEL), 0);
}

#[test]
fn connection_cut_mid_stream_is_a_transport_error() {
    let pieces = vec![
        (Duration::ZERO, format!("{}\n\n", chunk(r#"{"content":"Hel"}"#, None))),
        (Duration::from_millis(20), format!("{}\n\n", chunk(r#"{"content":"lo"}"#, None))),
    ];
    let (url, server) = one_shot(pieces, End::Cut);
    let limiter = builder(Provider::OpenAI, &url).build().unwrap();
    let (text, err) = drain(limiter.chat_completion_stream(&req()).unwrap());
    assert_eq!(text, "Hello");
    assert!(matches!(err, Some(Error::Transport { timeout: false, .. })), "{err:?}");
    assert_eq!(in_flight(&limiter, MODEL), 0);
    assert_eq!(server.count(), 1, "one request, never retried");
}

#[test]
fn a_stall_between_chunks_times_out_without_hanging() {
    let pieces = vec![(Duration::ZERO, format!("{}\n\n", chunk(r#"{"content":"Hel"}"#, None)))];
    let (url, server) = one_shot(pieces, End::Stall(Duration::from_millis(1500)));
    let limiter =
        builder(Provider::OpenAI, &url).timeout(Duration::from_millis(300)).build().unwrap();
    let started = Instant::now();
    let (text, err) = drain(limiter.chat_completion_stream(&req()).unwrap());
    assert_eq!(text, "Hel");
    assert!(matches!(err, Some(Error::Transport { timeout: true, .. })), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    assert_eq!(in_flight(&limiter, MODEL), 0);
    assert_eq!(server.count(), 1, "one request, never retried");
}

#[test]
fn the_timeout_applies_between_chunks_not_to_the_whole_stream() {
    // Ten gaps of 100 ms (1 s in all) under a 400 ms read timeout.
    let mut pieces: Vec<_> = (0..10)
        .map(|i| {
            (
                Duration::from_millis(100),
                format!("{}\n\n", chunk(&format!(r#"{{"content":"{i}"}}"#), None)),
            )
        })
        .collect();
    pieces.push((Duration::from_millis(100), format!("{USAGE}\n\ndata: [DONE]\n\n")));
    let (url, server) = one_shot(pieces, End::Finish);
    let limiter =
        builder(Provider::OpenAI, &url).timeout(Duration::from_millis(400)).build().unwrap();
    let started = Instant::now();
    let r = limiter.chat_completion_stream(&req()).unwrap().collect_response().unwrap();
    assert!(started.elapsed() > Duration::from_millis(800), "took {:?}", started.elapsed());
    assert_eq!(r.text(), "0123456789");
    assert_eq!(r.request_id.as_deref(), Some("req_oneshot"));
    assert_eq!(server.count(), 1, "one request, never retried");
}

#[test]
fn breaking_early_frees_the_slot() {
    let server = MockServer::start();
    mock(&server, full_body());
    let limiter = builder(Provider::OpenAI, &server.url("/v1")).build().unwrap();
    for chunk in limiter.chat_completion_stream(&req()).unwrap() {
        if !chunk.unwrap().delta.is_empty() {
            break;
        }
    }
    let limits = limiter.current_limits();
    let m = limits.model(MODEL).unwrap();
    assert_eq!((m.in_flight, m.completed), (0, 1));
}
