//! Anthropic Messages responses mapped to the unified, OpenAI-shaped response.
//!
//! Text blocks are concatenated; `tool_use` blocks become `message.tool_calls`; thinking
//! blocks become `message.reasoning` and `message.thinking_blocks`; `stop_reason` is renamed to OpenAI's words; usage counts every input token
//! (uncached + cache writes + cache reads), since `input_tokens` alone excludes the cached part
//! (docs/providers.md §2.3).

use serde_json::{json, Value};

use crate::error::Error;
use crate::provider::json::{obj_of, parse_ok_fields, shape_error, str_of, u64_of};
use crate::provider::openai::request::ANTHROPIC_BLOCKS;
use crate::provider_id::Provider;
use crate::types::{
    ChatCompletionResponse, Choice, Content, Message, ThinkingBlock, ToolCall, Usage,
    JSON_TOOL_NAME,
};

use super::error::in_band_error;

/// The top-level fields the parser reads; the rest stays in `raw` only.
const FIELDS: &[&str] = &["type", "error", "content", "stop_reason", "id", "model", "usage"];

/// Parses a 2xx body from `POST /v1/messages`.
pub(crate) fn parse_response(
    body: &[u8],
    request_id: Option<String>,
    api_key: &str,
) -> Result<ChatCompletionResponse, Error> {
    let p = Provider::Anthropic;
    let (root, raw) = parse_ok_fields(p, body, FIELDS)?;
    if str_of(root.get("type")) == Some("error") {
        let err = root.get("error").unwrap_or(&Value::Null);
        return Err(Error::Api(Box::new(in_band_error(err, api_key))));
    }
    let Some(Value::Array(blocks)) = root.get("content") else {
        return Err(shape_error(p, "no `content` array in the response"));
    };
    let (message, json_only) = message(blocks);
    let finish_reason = str_of(root.get("stop_reason")).map(|r| {
        // The structured-output tool is the answer, not a tool call (see JSON_TOOL_NAME).
        if json_only && r == "tool_use" {
            "stop".to_string()
        } else {
            map_stop_reason(r)
        }
    });
    Ok(ChatCompletionResponse {
        id: str_of(root.get("id")).unwrap_or_default().to_string(),
        model: str_of(root.get("model")).unwrap_or_default().to_string(),
        provider: p,
        choices: vec![Choice { index: 0, message, finish_reason }],
        usage: root.get("usage").and_then(usage),
        request_id,
        raw,
        cached: false,
    })
}

/// The assistant message of a content array, and whether its only `tool_use` block was the
/// structured-output tool. Text blocks are joined; `tool_use` blocks become tool calls
/// (`arguments` the `input` as compact JSON text), except the [`JSON_TOOL_NAME`] block, whose
/// input is the text; thinking blocks give `reasoning` and are kept whole (with their
/// signatures) in `thinking_blocks`. Any other block (server tool results, citations...) is
/// kept in `extra["content_blocks"]`, and in `raw`.
fn message(blocks: &[Value]) -> (Message, bool) {
    let mut text = String::new();
    let mut m = Message::assistant("");
    let mut reasoning: Option<String> = None;
    let mut others = Vec::new();
    let mut json_tool = false;
    for block in blocks {
        let s = |k: &str| str_of(block.get(k)).unwrap_or_default().to_string();
        match str_of(block.get("type")) {
            Some("text") => text.push_str(&s("text")),
            Some("tool_use") => {
                let input = block.get("input").cloned().unwrap_or_else(|| json!({}));
                if s("name") == JSON_TOOL_NAME {
                    json_tool = true;
                    text.push_str(&input.to_string());
                } else {
                    m.tool_calls.push(ToolCall::new(s("id"), s("name"), input.to_string()));
                }
            }
            Some("thinking") => {
                reasoning.get_or_insert_with(String::new).push_str(&s("thinking"));
                m.thinking_blocks.push(ThinkingBlock::Thinking {
                    thinking: s("thinking"),
                    signature: s("signature"),
                });
            }
            Some("redacted_thinking") => {
                m.thinking_blocks.push(ThinkingBlock::RedactedThinking { data: s("data") })
            }
            _ => others.push(block.clone()),
        }
    }
    m.content = Content::Text(text);
    m.reasoning = reasoning;
    if !others.is_empty() {
        m.extra.insert(ANTHROPIC_BLOCKS.into(), Value::Array(others));
    }
    let json_only = json_tool && m.tool_calls.is_empty();
    (m, json_only)
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
        // Anthropic counts thinking inside `output_tokens` and reports no separate figure.
        reasoning_tokens: None,
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
        let calls = &r.choices[0].message.tool_calls;
        assert_eq!(*calls, vec![ToolCall::new("toolu_1", "get_weather", r#"{"city":"Paris"}"#)]);
        let u = r.usage.expect("usage");
        assert_eq!((u.prompt_tokens, u.cache_read_input_tokens), (5, None));
    }

    #[test]
    fn thinking_json_tool_and_other_blocks() {
        let body = format!(
            r#"{{"id":"m","model":"claude-sonnet-4-5","content":[
            {{"type":"thinking","thinking":"Let me see.","signature":"EqQB"}},
            {{"type":"redacted_thinking","data":"EmwK"}},
            {{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{{"query":"x"}}}},
            {{"type":"tool_use","id":"toolu_9","name":"{JSON_TOOL_NAME}","input":{{"n":1}}}}],
            "stop_reason":"tool_use","usage":{{"input_tokens":5,"output_tokens":7}}}}"#
        );
        let r = parse_response(body.as_bytes(), None, "k").expect("valid");
        let m = &r.choices[0].message;
        assert_eq!(r.text(), r#"{"n":1}"#, "the structured-output tool is the text");
        assert_eq!(r.choices[0].finish_reason.as_deref(), Some("stop"));
        assert!(m.tool_calls.is_empty());
        assert_eq!(m.reasoning.as_deref(), Some("Let me see."));
        assert_eq!(
            m.thinking_blocks,
            vec![
                ThinkingBlock::Thinking {
                    thinking: "Let me see.".into(),
                    signature: "EqQB".into()
                },
                ThinkingBlock::RedactedThinking { data: "EmwK".into() }
            ]
        );
        assert_eq!(m.extra[ANTHROPIC_BLOCKS][0]["type"], "server_tool_use", "kept, not dropped");
    }

    #[test]
    fn raw_is_the_body_verbatim() {
        let body = "{\"id\":\"msg_3\", \"type\":\"message\",\n \"model\":\"claude-x\", \"x\": 1e400, \"y\": 1.0,\n \"content\":[{\"type\":\"text\",\"text\":\"\\u00e9\u{1F600}\"}], \"stop_reason\":\"max_tokens\", \"usage\":{\"input_tokens\":4,\"output_tokens\":6}}";
        let r = parse_response(body.as_bytes(), None, "k").expect("valid");
        assert_eq!(r.raw.as_str(), body);
        assert_eq!(r.text(), "\u{e9}\u{1F600}");
        assert_eq!(r.choices[0].finish_reason.as_deref(), Some("length"));
        assert_eq!(r.usage.map(|u| u.total_tokens), Some(10));
        let err = parse_response(b"[]", None, "k").expect_err("not an object");
        assert!(err.to_string().contains("not a JSON object"), "{err}");
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
