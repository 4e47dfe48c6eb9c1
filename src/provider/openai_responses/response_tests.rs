use serde_json::json;

use super::*;

fn parse(v: serde_json::Value) -> Result<ChatCompletionResponse, Error> {
    parse_response(&serde_json::to_vec(&v).unwrap(), Some("req_1".into()), "sk-secret")
}

#[test]
fn every_output_item_kind_and_usage() {
    let body = json!({
        "id": "resp_1", "object": "response", "model": "o4-mini-2025-04-16", "status": "completed",
        "error": null, "incomplete_details": null,
        "output": [
            {"id": "rs_1", "type": "reasoning", "summary": [
                {"type": "summary_text", "text": "Think."}, {"type": "summary_text", "text": "Then answer."}]},
            {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed", "content": [
                {"type": "output_text", "text": "Hello ", "annotations": []},
                {"type": "output_text", "text": "world", "annotations": []},
                {"type": "refusal", "refusal": "not that"}]},
            {"id": "fc_1", "type": "function_call", "call_id": "call_9", "name": "weather",
             "arguments": "{\"city\":\"Oslo\"}", "status": "completed"},
            {"id": "ws_1", "type": "web_search_call", "status": "completed"},
        ],
        "usage": {"input_tokens": 20, "input_tokens_details": {"cached_tokens": 4},
                  "output_tokens": 50, "output_tokens_details": {"reasoning_tokens": 30},
                  "total_tokens": 70},
    });
    let r = parse(body.clone()).expect("parses");
    assert_eq!((r.id.as_str(), r.model.as_str()), ("resp_1", "o4-mini-2025-04-16"));
    assert_eq!(r.provider, Provider::OpenAI);
    assert_eq!(r.request_id.as_deref(), Some("req_1"));
    assert_eq!(r.text(), "Hello world");
    let m = &r.choices[0].message;
    assert_eq!(m.role, MessageRole::Assistant);
    assert_eq!(m.reasoning.as_deref(), Some("Think.\n\nThen answer."));
    assert_eq!(m.extra["refusal"], "not that");
    assert_eq!(
        m.tool_calls,
        [crate::types::ToolCall::new("call_9", "weather", "{\"city\":\"Oslo\"}")]
    );
    assert_eq!(m.extra["output_items"][0]["type"], "web_search_call");
    assert_eq!(r.choices[0].finish_reason.as_deref(), Some("tool_calls"));
    let u = r.usage.expect("usage");
    assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens), (20, 50, 70));
    assert_eq!((u.cache_read_input_tokens, u.reasoning_tokens), (Some(4), Some(30)));
    assert_eq!(r.raw, body);
}

#[test]
fn status_gives_the_finish_reason() {
    let text = json!([{"type": "message", "role": "assistant",
        "content": [{"type": "output_text", "text": "abc"}]}]);
    for (status, details, want) in [
        ("completed", json!(null), "stop"),
        ("incomplete", json!({"reason": "max_output_tokens"}), "length"),
        ("incomplete", json!({"reason": "content_filter"}), "content_filter"),
        ("incomplete", json!(null), "length"),
        ("in_progress", json!(null), "in_progress"),
    ] {
        let r = parse(json!({"id": "r", "status": status, "incomplete_details": details,
            "output": text}))
        .expect(status);
        assert_eq!(r.choices[0].finish_reason.as_deref(), Some(want), "{status} {details}");
        assert_eq!(r.text(), "abc");
        assert_eq!(r.usage, None);
    }
    // Only reasoning came back before the cap: no text, and the message says so.
    let r = parse(
        json!({"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"},
        "output": [{"type": "reasoning", "summary": []}]}),
    )
    .expect("parses");
    assert_eq!((r.text().as_ref(), r.choices[0].message.content.is_empty()), ("", true));
}

#[test]
fn errors_are_classified_like_chat_completions() {
    let e = parse(json!({"id": "r", "status": "failed", "output": [],
        "error": {"code": "server_error", "message": "boom sk-secret"}}))
    .unwrap_err();
    let Error::Api(api) = e else { panic!("expected an API error, got {e:?}") };
    assert_eq!((api.status, api.code.as_deref()), (500, Some("server_error")));
    assert!(!api.message.contains("sk-secret"), "{}", api.message);
    assert!(api.retryable);
    let e = parse(json!({"status": "failed", "output": []})).unwrap_err();
    assert!(matches!(e, Error::Api(_)), "{e:?}");
    let e = parse(json!({"error": {"type": "insufficient_quota", "code": "insufficient_quota",
        "message": "You exceeded your current quota"}}))
    .unwrap_err();
    let Error::Api(api) = e else { panic!("expected an API error") };
    assert!(!api.retryable, "quota is terminal");
    for bad in [json!([1]), json!({"id": "r", "status": "completed"})] {
        let e = parse(bad.clone()).unwrap_err();
        assert!(matches!(e, Error::InvalidResponse { .. }), "{bad}: {e:?}");
    }
    let e = parse_response(b"not json", None, "k").unwrap_err();
    assert!(matches!(e, Error::InvalidResponse { .. }), "{e:?}");
}

#[test]
fn raw_is_the_body_verbatim() {
    let body = "{\"id\": \"resp_2\", \"object\": \"response\", \"created_at\": 1.0, \"x\": 1e400,\n \"status\": \"completed\", \"model\": \"o4-mini\", \"output\": [{\"type\": \"message\", \"role\": \"assistant\", \"content\": [{\"type\": \"output_text\", \"text\": \"\\u00e9t\u{e9}\"}]}], \"usage\": {\"input_tokens\": 1, \"output_tokens\": 2, \"total_tokens\": 3}}";
    let r = parse_response(body.as_bytes(), None, "k").expect("valid");
    assert_eq!(r.raw.as_str(), body);
    assert_eq!(r.text(), "été");
    assert_eq!(r.choices[0].finish_reason.as_deref(), Some("stop"));
    assert_eq!(r.usage.map(|u| u.total_tokens), Some(3));
}
