//! Anthropic Messages request bodies built from the unified (OpenAI-shaped) request.
//!
//! The differences that matter (docs/providers.md §2.2): system and developer messages move to the
//! top-level `system` (all of them, joined by a blank line, in order); `max_tokens` is required;
//! `stop` is `stop_sequences`; the penalties do not exist; `top_k` does. OpenAI tool traffic is
//! translated best effort: an assistant's `tool_calls` become `tool_use` blocks and a `tool`
//! message becomes a user turn holding one `tool_result` block. Consecutive same-role turns are
//! sent in order as they are; the API merges them itself.

use serde_json::{json, Map, Value};

use crate::error::Error;
use crate::provider::openai::request::{check_common, put_f64};
use crate::types::{ChatCompletionRequest, Content, ContentPart, Message, MessageRole};

/// OpenAI message fields that Anthropic rejects ("Extra inputs are not permitted"); their
/// meaning, where there is one, is carried over by the translation instead.
const OPENAI_ONLY_FIELDS: [&str; 7] =
    ["name", "tool_calls", "tool_call_id", "refusal", "function_call", "annotations", "audio"];

/// Builds the JSON body of `POST /v1/messages`.
///
/// `extra` fields are merged last and may override the typed ones (including `system`), except
/// `stream`, which must match how the client reads the answer.
pub(crate) fn chat_body(
    req: &ChatCompletionRequest,
    stream: bool,
    default_max_tokens: u32,
) -> Result<Value, Error> {
    check_common(req)?;
    let mut system = Vec::new();
    let mut messages = Vec::new();
    for m in &req.messages {
        match m.role {
            MessageRole::System | MessageRole::Developer => {
                let text = m.text();
                if !text.is_empty() {
                    system.push(text.into_owned());
                }
            }
            MessageRole::Tool => messages.push(tool_result(m)?),
            MessageRole::User => messages.push(turn("user", content(m), m)),
            MessageRole::Assistant => messages.push(turn("assistant", assistant_content(m)?, m)),
        }
    }
    if messages.is_empty() {
        return Err(Error::InvalidRequest(
            "Anthropic needs at least one user or assistant message (system messages go to `system`)"
                .into(),
        ));
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(req.model));
    body.insert("max_tokens".into(), json!(req.max_tokens.unwrap_or(default_max_tokens)));
    if !system.is_empty() {
        body.insert("system".into(), json!(system.join("\n\n")));
    }
    body.insert("messages".into(), Value::Array(messages));
    put_f64(&mut body, "temperature", req.temperature)?;
    put_f64(&mut body, "top_p", req.top_p)?;
    if let Some(k) = req.top_k {
        body.insert("top_k".into(), json!(k));
    }
    if let Some(stop) = &req.stop {
        body.insert("stop_sequences".into(), json!(stop));
    }
    body.extend(req.extra.clone());
    if stream {
        body.insert("stream".into(), Value::Bool(true));
    } else {
        body.remove("stream");
    }
    Ok(Value::Object(body))
}

/// A turn with the message's remaining fields passed through (minus OpenAI-only ones).
fn turn(role: &str, content: Value, m: &Message) -> Value {
    let mut o = Map::new();
    o.insert("role".into(), json!(role));
    for (k, v) in &m.extra {
        if k != "content" && !OPENAI_ONLY_FIELDS.contains(&k.as_str()) {
            o.insert(k.clone(), v.clone());
        }
    }
    o.insert("content".into(), content);
    Value::Object(o)
}

/// The content as Anthropic takes it: the text, or blocks (`image`, `document` sources; any
/// other part exactly as given). `extra["content"]`, when set, is sent instead.
fn content(m: &Message) -> Value {
    if let Some(c) = m.extra.get("content") {
        return c.clone();
    }
    match &m.content {
        Content::Text(t) => json!(t),
        Content::Null => json!(""),
        Content::Parts(parts) => {
            Value::Array(parts.iter().map(ContentPart::to_anthropic).collect())
        }
    }
}

/// An assistant turn; OpenAI `tool_calls` become `tool_use` blocks after the text.
fn assistant_content(m: &Message) -> Result<Value, Error> {
    let Some(Value::Array(calls)) = m.extra.get("tool_calls") else {
        return Ok(content(m));
    };
    let mut blocks = match content(m) {
        Value::Array(blocks) => blocks,
        Value::String(s) if s.is_empty() => Vec::new(),
        Value::String(s) => vec![json!({"type": "text", "text": s})],
        other => vec![other],
    };
    for call in calls {
        let f = call.get("function");
        let name = f.and_then(|f| f.get("name")).and_then(Value::as_str).unwrap_or_default();
        let input = match f.and_then(|f| f.get("arguments")) {
            Some(Value::String(s)) if s.trim().is_empty() => json!({}),
            Some(Value::String(s)) => {
                serde_json::from_str::<Value>(s).ok().filter(Value::is_object).ok_or_else(|| {
                    Error::InvalidRequest(format!(
                        "tool call {name:?}: arguments are not a JSON object"
                    ))
                })?
            }
            Some(v @ Value::Object(_)) => v.clone(),
            _ => json!({}),
        };
        blocks
            .push(json!({"type": "tool_use", "id": call.get("id").cloned().unwrap_or(Value::Null),
            "name": name, "input": input}));
    }
    Ok(Value::Array(blocks))
}

/// An OpenAI `tool` message as a user turn with one `tool_result` block.
fn tool_result(m: &Message) -> Result<Value, Error> {
    let id = m.extra.get("tool_call_id").and_then(Value::as_str).ok_or_else(|| {
        Error::InvalidRequest("a tool message needs `tool_call_id` to be sent to Anthropic".into())
    })?;
    Ok(json!({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": id, "content": content(m)}
    ]}))
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
