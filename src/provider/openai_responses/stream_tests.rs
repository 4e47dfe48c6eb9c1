use serde_json::json;

use super::*;

fn ev(s: &mut ResponsesStream, kind: &str, data: serde_json::Value) -> Result<StreamEvent, Error> {
    s.decode(Some(kind), &data.to_string(), "sk-secret")
}

fn response(status: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut r = json!({"id": "resp_1", "object": "response", "model": "o4-mini", "status": status,
        "output": [{"type": "message", "role": "assistant",
                    "content": [{"type": "output_text", "text": "Hi there"}]}],
        "usage": {"input_tokens": 5, "output_tokens": 9,
                  "output_tokens_details": {"reasoning_tokens": 7}, "total_tokens": 14}});
    if let (Some(r), Some(e)) = (r.as_object_mut(), extra.as_object()) {
        r.extend(e.clone());
    }
    r
}

#[test]
fn every_event_of_a_normal_stream() {
    let mut s = ResponsesStream::default();
    let created = ev(
        &mut s,
        "response.created",
        json!({"type": "response.created",
        "response": {"id": "resp_1", "model": "o4-mini", "status": "in_progress", "output": []}}),
    );
    let StreamEvent::Chunk(c) = created.expect("ok") else { panic!("a chunk") };
    assert_eq!(
        (c.id.as_str(), c.model.as_str(), c.role),
        ("resp_1", "o4-mini", Some(MessageRole::Assistant))
    );
    for kind in [
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.done",
        "response.function_call_arguments.done",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.some_future_event",
    ] {
        let got = ev(&mut s, kind, json!({"type": kind, "delta": "x", "sequence_number": 3}));
        assert_eq!(got.expect(kind), StreamEvent::Ignore, "{kind}");
    }
    let d = ev(
        &mut s,
        "response.output_text.delta",
        json!({"type": "response.output_text.delta", "delta": "Hi", "item_id": "msg_1"}),
    );
    let StreamEvent::Chunk(c) = d.expect("ok") else { panic!("a chunk") };
    assert_eq!((c.delta.as_str(), c.id.as_str()), ("Hi", "resp_1"));
    // Reasoning summaries and function calls have fields of their own on the chunk.
    let kind = "response.reasoning_summary_text.delta";
    let d = ev(&mut s, kind, json!({"type": kind, "delta": "Think", "output_index": 0}));
    let StreamEvent::Chunk(c) = d.expect("ok") else { panic!("a chunk") };
    assert_eq!((c.reasoning.as_str(), c.delta.as_str()), ("Think", ""));
    let kind = "response.output_item.added";
    let item =
        json!({"type": "function_call", "call_id": "call_1", "name": "weather", "arguments": ""});
    let d = ev(&mut s, kind, json!({"type": kind, "output_index": 1, "item": item}));
    let StreamEvent::Chunk(c) = d.expect("ok") else { panic!("a chunk") };
    let start = &c.tool_calls[0];
    assert_eq!(
        (start.index, start.id.as_deref(), start.name.as_deref()),
        (1, Some("call_1"), Some("weather"))
    );
    let kind = "response.function_call_arguments.delta";
    let d = ev(&mut s, kind, json!({"type": kind, "output_index": 1, "delta": "{\"city\""}));
    let StreamEvent::Chunk(c) = d.expect("ok") else { panic!("a chunk") };
    assert_eq!((c.tool_calls[0].index, c.tool_calls[0].arguments.as_str()), (1, "{\"city\""));
    assert_eq!(s.final_response(), None);
    let done = response("completed", json!({}));
    let last =
        ev(&mut s, "response.completed", json!({"type": "response.completed", "response": done}));
    let StreamEvent::Last(c) = last.expect("ok") else { panic!("the last chunk") };
    assert_eq!(c.finish_reason.as_deref(), Some("stop"));
    let u = c.usage.expect("usage");
    assert_eq!((u.prompt_tokens, u.completion_tokens, u.reasoning_tokens), (5, 9, Some(7)));
    assert_eq!(s.final_response(), Some(&done));
    // The data's `type` wins over the `event:` line; an empty event is nothing.
    let d = s.decode(Some("message"), r#"{"type":"response.output_text.delta","delta":"y"}"#, "k");
    assert!(matches!(d, Ok(StreamEvent::Chunk(c)) if c.delta == "y"));
    assert_eq!(s.decode(None, "", "k").expect("ok"), StreamEvent::Ignore);
}

#[test]
fn incomplete_and_function_call_endings() {
    let mut s = ResponsesStream::default();
    let r = response("incomplete", json!({"incomplete_details": {"reason": "max_output_tokens"}}));
    let last =
        ev(&mut s, "response.incomplete", json!({"type": "response.incomplete", "response": r}));
    assert!(
        matches!(last, Ok(StreamEvent::Last(c)) if c.finish_reason.as_deref() == Some("length"))
    );
    let mut s = ResponsesStream::default();
    let r = response(
        "completed",
        json!({"output": [{"type": "function_call", "call_id": "c1",
        "name": "f", "arguments": "{}"}]}),
    );
    let last =
        ev(&mut s, "response.completed", json!({"type": "response.completed", "response": r}));
    assert!(
        matches!(last, Ok(StreamEvent::Last(c)) if c.finish_reason.as_deref() == Some("tool_calls"))
    );
}

#[test]
fn failures_end_the_stream_with_typed_errors() {
    let mut s = ResponsesStream::default();
    let failed = ev(
        &mut s,
        "response.failed",
        json!({"type": "response.failed", "response":
        {"id": "r", "status": "failed", "error": {"code": "server_error", "message": "oops sk-secret"}}}),
    );
    let Err(Error::Api(api)) = failed else { panic!("an API error: {failed:?}") };
    assert_eq!(api.code.as_deref(), Some("server_error"));
    assert!(api.retryable && !api.message.contains("sk-secret"));
    let e = ev(
        &mut s,
        "response.failed",
        json!({"type": "response.failed", "response": {"status": "failed"}}),
    );
    assert!(matches!(e, Err(Error::Api(_))), "{e:?}");
    let e = ev(
        &mut s,
        "error",
        json!({"type": "error", "code": "rate_limit_exceeded",
        "message": "Rate limit reached", "param": null, "sequence_number": 4}),
    );
    let Err(Error::Api(api)) = e else { panic!("an API error: {e:?}") };
    assert_eq!(
        (api.code.as_deref(), api.message.as_str()),
        (Some("rate_limit_exceeded"), "Rate limit reached")
    );
    let e = ev(
        &mut s,
        "error",
        json!({"type": "error", "error": {"type": "server_error", "message": "m"}}),
    );
    assert!(matches!(e, Err(Error::Api(a)) if a.error_type.as_deref() == Some("server_error")));
    for bad in ["{oops", "[1]"] {
        assert!(matches!(s.decode(None, bad, "k"), Err(Error::Stream(_))), "{bad}");
    }
    let e = ev(&mut s, "response.completed", json!({"type": "response.completed"}));
    assert!(matches!(e, Err(Error::Stream(_))), "{e:?}");
    assert_eq!(s.final_response(), None, "nothing ended normally");
}
