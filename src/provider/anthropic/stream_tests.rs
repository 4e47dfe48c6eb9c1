//! Anthropic stream events in the documented order (docs/providers.md §2.4).

use super::*;
use crate::types::MessageRole;

fn chunk(ev: StreamEvent) -> ChatCompletionChunk {
    match ev {
        StreamEvent::Chunk(c) => c,
        other => panic!("expected a chunk, got {other:?}"),
    }
}

#[test]
fn full_stream() {
    let mut s = AnthropicStream::default();
    let mut d = |event: &str, data: &str| s.decode(Some(event), data, "k");
    let start = r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-3-5-sonnet-20241022","content":[],"stop_reason":null,"usage":{"input_tokens":25,"output_tokens":1,"cache_creation_input_tokens":0,"cache_read_input_tokens":10}}}"#;
    let c = chunk(d("message_start", start).expect("valid"));
    assert_eq!((c.id.as_str(), c.role, c.usage), ("msg_1", Some(MessageRole::Assistant), None));
    assert_eq!(
        d(
            "content_block_start",
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#
        )
        .expect("ok"),
        StreamEvent::Ignore
    );
    assert_eq!(d("ping", r#"{"type": "ping"}"#).expect("ok"), StreamEvent::Ignore);
    let c = chunk(d("content_block_delta", r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"#).expect("ok"));
    assert_eq!((c.delta.as_str(), c.model.as_str()), ("Hello", "claude-3-5-sonnet-20241022"));
    // A tool input for a block that never started as tool_use is refused, not dropped.
    assert!(matches!(
        d(
            "content_block_delta",
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a"}}"#
        ),
        Err(Error::Stream(_))
    ));
    assert_eq!(
        d("content_block_stop", r#"{"type":"content_block_stop","index":0}"#).expect("ok"),
        StreamEvent::Ignore
    );
    let c = chunk(d("message_delta", r#"{"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":15}}"#).expect("ok"));
    assert_eq!(c.finish_reason.as_deref(), Some("length"));
    let u = c.usage.expect("usage");
    assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens), (35, 15, 50));
    assert_eq!(u.cache_read_input_tokens, Some(10));
    assert_eq!(d("message_stop", r#"{"type":"message_stop"}"#).expect("ok"), StreamEvent::Done);
}

#[test]
fn cumulative_usage_replaces_not_adds() {
    let mut s = AnthropicStream::default();
    s.decode(Some("message_start"), r#"{"type":"message_start","message":{"id":"m","usage":{"input_tokens":5,"output_tokens":1}}}"#, "k").expect("ok");
    s.decode(
        Some("message_delta"),
        r#"{"type":"message_delta","delta":{},"usage":{"output_tokens":4}}"#,
        "k",
    )
    .expect("ok");
    let c = chunk(s.decode(Some("message_delta"), r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9,"input_tokens":6}}"#, "k").expect("ok"));
    let u = c.usage.expect("usage");
    assert_eq!((u.prompt_tokens, u.completion_tokens), (6, 9));
    assert_eq!(c.finish_reason.as_deref(), Some("stop"));
}

#[test]
fn error_event_is_an_api_error() {
    let mut s = AnthropicStream::default();
    let err = s
        .decode(
            Some("error"),
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            "k",
        )
        .expect_err("error event");
    let api = err.api_error().expect("api");
    assert_eq!(
        (api.status, api.retryable, api.error_type.as_deref()),
        (529, true, Some("overloaded_error"))
    );
}

#[test]
fn unnamed_events_use_the_data_type() {
    let mut s = AnthropicStream::default();
    assert_eq!(s.decode(None, r#"{"type":"message_stop"}"#, "k").expect("ok"), StreamEvent::Done);
    assert_eq!(s.decode(None, r#"{"type":"ping"}"#, "k").expect("ok"), StreamEvent::Ignore);
    assert_eq!(s.decode(None, "", "k").expect("ok"), StreamEvent::Ignore);
}

#[test]
fn unknown_events_are_ignored_and_bad_json_is_an_error() {
    let mut s = AnthropicStream::default();
    assert_eq!(
        s.decode(Some("brand_new_event"), "{not json", "k").expect("ok"),
        StreamEvent::Ignore
    );
    assert_eq!(s.decode(Some("ping"), "", "k").expect("ok"), StreamEvent::Ignore);
    assert!(matches!(s.decode(Some("content_block_delta"), "{broken", "k"), Err(Error::Stream(_))));
    assert!(matches!(s.decode(None, "nope", "k"), Err(Error::Stream(_))));
}

#[test]
fn tool_use_thinking_and_json_blocks() {
    let mut s = AnthropicStream::default();
    let mut d = |event: &str, data: &str| s.decode(Some(event), data, "k");
    d("message_start", r#"{"type":"message_start","message":{"id":"m","model":"claude-sonnet-4-5","usage":{"input_tokens":5,"output_tokens":1}}}"#).expect("ok");
    d("content_block_start", r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}"#).expect("ok");
    let c = chunk(d("content_block_delta", r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Hmm."}}"#).expect("ok"));
    assert_eq!((c.reasoning.as_str(), c.delta.as_str()), ("Hmm.", ""));
    let c = chunk(d("content_block_delta", r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQB"}}"#).expect("ok"));
    assert_eq!(c.thinking_signature.as_deref(), Some("EqQB"));
    let c = chunk(d("content_block_start", r#"{"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"EmwK"}}"#).expect("ok"));
    assert_eq!(c.redacted_thinking.as_deref(), Some("EmwK"));
    let c = chunk(d("content_block_start", r#"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}"#).expect("ok"));
    assert_eq!(
        c.tool_calls,
        vec![ToolCallDelta::new(
            0,
            Some("toolu_1".into()),
            Some("get_weather".into()),
            String::new()
        )]
    );
    d("content_block_start", r#"{"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"toolu_2","name":"get_time","input":{}}}"#).expect("ok");
    let c = chunk(d("content_block_delta", r#"{"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{}"}}"#).expect("ok"));
    assert_eq!((c.tool_calls[0].index, c.tool_calls[0].arguments.as_str()), (1, "{}"));
    let c = chunk(d("message_delta", r#"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}"#).expect("ok"));
    assert_eq!(c.finish_reason.as_deref(), Some("tool_calls"));
}

#[test]
fn the_structured_output_tool_is_the_answer_text() {
    let mut s = AnthropicStream::default();
    let mut d = |event: &str, data: &str| s.decode(Some(event), data, "k");
    d("message_start", r#"{"type":"message_start","message":{"id":"m","model":"claude-sonnet-4-5","usage":{"input_tokens":5,"output_tokens":1}}}"#).expect("ok");
    let start = format!(
        r#"{{"type":"content_block_start","index":0,"content_block":{{"type":"tool_use","id":"toolu_9","name":"{JSON_TOOL_NAME}","input":{{}}}}}}"#
    );
    assert_eq!(d("content_block_start", &start).expect("ok"), StreamEvent::Ignore);
    let c = chunk(d("content_block_delta", r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"n\":1}"}}"#).expect("ok"));
    assert_eq!((c.delta.as_str(), c.tool_calls.len()), (r#"{"n":1}"#, 0));
    let c = chunk(d("message_delta", r#"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}"#).expect("ok"));
    assert_eq!(c.finish_reason.as_deref(), Some("stop"));
}
