//! Anthropic Messages responses mapped to the unified, OpenAI-shaped response.
//!
//! Text blocks are concatenated; `tool_use` blocks become OpenAI `tool_calls` in
//! `message.extra`; `stop_reason` is renamed to OpenAI's words; usage counts every input token
//! (uncached + cache writes + cache reads), since `input_tokens` alone excludes the cached part
//! (docs/providers.md §2.3).

use serde_json::{json, Map, Value};

use crate::error::Error;
use crate::provider::json::{obj_of, parse_ok_body, shape_error, str_of, u64_of};
use crate::provider_id::Provider;
use crate::types::{ChatCompletionResponse, Choice, Content, Message, MessageRole, Usage};

use super::error::in_band_error;

/// Parses a 2xx body from `POST /v1/messages`.
pub(crate) fn parse_response(
    body: &[u8],
    request_id: Option<String>,
    api_key: &str,
) -> Result<ChatCompletionResponse, Error> {
    let p = Provider::Anthropic;
    let root = parse_ok_body(p, body)?;
    if str_of(root.get("type")) == Some("error") {
        let err = root.get("error").unwrap_or(&Value::Null);
        return Err(Error::Api(Box::new(in_band_error(err, api_key))));
    }
    let Some(Value::Array(blocks)) = root.get("content") else {
        return Err(shape_error(p, "no `content` array in the response"));
    };
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for block in blocks {
        match str_of(block.get("type")) {
            Some("text") => text.push_str(str_of(block.get("text")).unwrap_or_default()),
            Some("tool_use") => tool_calls.push(tool_call(block)),
            _ => {} // thinking, server tool results, ...: kept in `raw` only
        }
    }
    let mut extra = Map::new();
    if !tool_calls.is_empty() {
        extra.insert("tool_calls".into(), Value::Array(tool_calls));
    }
    let message = Message { role: MessageRole::Assistant, content: Content::Text(text), extra };
    Ok(ChatCompletionResponse {
        id: str_of(root.get("id")).unwrap_or_default().to_string(),
        model: str_of(root.get("model")).unwrap_or_default().to_string(),
        provider: p,
        choices: vec![Choice {
            index: 0,
            message,
            finish_reason: str_of(root.get("stop_reason")).map(map_stop_reason),
        }],
        usage: root.get("usage").and_then(usage),
        request_id,
        raw: root,
        cached: false,
    })
}

/// A `tool_use` block as an OpenAI tool call (`arguments` is JSON text, as OpenAI sends it).
fn tool_call(block: &Value) -> Value {
    let input = block.get("input").cloned().unwrap_or_else(|| json!({}));
    json!({
        "id": block.get("id").cloned().unwrap_or(Value::Null),
        "type": "function",
        "function": {"name": block.get("name").cloned().unwrap_or(Value::Null),
                     "arguments": input.to_string()},
    })
}

/// `end_turn`/`stop_sequence` → `stop`, `max_tokens` → `length`, `tool_use` → `tool_calls`;
/// others (`pause_turn`, `refusal`, ...) pass through.
pub(crate) fn map_stop_reason(reason: &str) -> String {
    match reason {
        "end_turn" | "stop_sequence" => "stop",
        "max_tokens" => "length",
        "tool_use" => "tool_calls",
        other => other,
    }
    .to_string()
}

/// Anthropic usage: `prompt_tokens = input + cache_creation + cache_read`, cache fields kept.
pub(crate) fn usage(v: &Value) -> Option<Usage> {
    let o = obj_of(Some(v))?;
    let input = u64_of(o.get("input_tokens")).unwrap_or(0);
    let created = u64_of(o.get("cache_creation_input_tokens"));
    let read = u64_of(o.get("cache_read_input_tokens"));
    let prompt = input.saturating_add(created.unwrap_or(0)).saturating_add(read.unwrap_or(0));
    let completion = u64_of(o.get("output_tokens")).unwrap_or(0);
    Some(Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt.saturating_add(completion),
        cache_creation_input_tokens: created,
        cache_read_input_tokens: read,
        cost: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_blocks_stop_reason_and_usage() {
        let body = br#"{"id":"msg_01","type":"message","role":"assistant","model":"claude-3-5-sonnet-20241022",
            "content":[{"type":"text","text":"Hel"},{"type":"thinking","thinking":"hmm"},{"type":"text","text":"lo"}],
            "stop_reason":"end_turn","stop_sequence":null,
            "usage":{"input_tokens":25,"output_tokens":15,"cache_creation_input_tokens":100,"cache_read_input_tokens":1000}}"#;
        let r = parse_response(body, Some("req_1".into()), "k").expect("valid");
        assert_eq!(r.text(), "Hello");
        assert_eq!((r.id.as_str(), r.provider), ("msg_01", Provider::Anthropic));
        assert_eq!(r.choices[0].finish_reason.as_deref(), Some("stop"));
        let u = r.usage.expect("usage");
        assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens), (1125, 15, 1140));
        assert_eq!(
            (u.cache_creation_input_tokens, u.cache_read_input_tokens),
            (Some(100), Some(1000))
        );
        assert_eq!(r.request_id.as_deref(), Some("req_1"));
        assert_eq!(r.raw["content"][1]["thinking"], "hmm");
    }

    #[test]
    fn tool_use_becomes_openai_tool_calls() {
        let body = br#"{"id":"msg_2","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Let me check."},
            {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}],
            "stop_reason":"tool_use","usage":{"input_tokens":5,"output_tokens":7}}"#;
        let r = parse_response(body, None, "k").expect("valid");
        assert_eq!(r.choices[0].finish_reason.as_deref(), Some("tool_calls"));
        let calls = &r.choices[0].message.extra["tool_calls"];
        assert_eq!(calls[0]["id"], "toolu_1");
        assert_eq!(calls[0]["function"]["name"], "get_weather");
        assert_eq!(calls[0]["function"]["arguments"], r#"{"city":"Paris"}"#);
        let u = r.usage.expect("usage");
        assert_eq!((u.prompt_tokens, u.cache_read_input_tokens), (5, None));
    }

    #[test]
    fn stop_reasons() {
        for (a, o) in [
            ("end_turn", "stop"),
            ("stop_sequence", "stop"),
            ("max_tokens", "length"),
            ("tool_use", "tool_calls"),
            ("pause_turn", "pause_turn"),
            ("refusal", "refusal"),
        ] {
            assert_eq!(map_stop_reason(a), o);
        }
    }

    #[test]
    fn bad_bodies() {
        assert!(matches!(parse_response(b"nope", None, "k"), Err(Error::InvalidResponse { .. })));
        assert!(matches!(parse_response(b"{}", None, "k"), Err(Error::InvalidResponse { .. })));
        let err = parse_response(
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            None,
            "k",
        )
        .expect_err("error body");
        assert_eq!(err.status(), Some(529));
        assert!(err.is_retryable());
    }
}
