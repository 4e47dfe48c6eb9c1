//! Anthropic Messages request bodies built from the unified (OpenAI-shaped) request.
//!
//! The differences that matter (docs/providers.md §2.2): system and developer messages move to the
//! top-level `system` (all of them, joined by a blank line, in order); `max_tokens` is required;
//! `stop` is `stop_sequences`; the penalties do not exist; `top_k` does. Tools are sent as
//! `input_schema` definitions; an assistant's tool calls become `tool_use` blocks (after its
//! thinking blocks and text) and consecutive `tool` messages one user turn of `tool_result`
//! blocks. Consecutive same-role turns are
//! sent in order as they are; the API merges them itself.

use serde_json::{json, Map, Value};

use crate::error::Error;
use crate::provider::openai::request::{check_common, put_f64, ANTHROPIC_BLOCKS};
use crate::types::{
    ChatCompletionRequest, Content, ContentPart, Message, MessageRole, Thinking, Tool, ToolChoice,
    JSON_TOOL_NAME,
};

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
            MessageRole::Tool => {
                // The results of parallel calls go together in one user turn, as Anthropic
                // asks (each `tool_use` answered in the very next user message).
                let block = tool_result(m)?;
                match messages.last_mut().and_then(tool_results_turn) {
                    Some(blocks) => blocks.push(block),
                    None => messages.push(json!({"role": "user", "content": [block]})),
                }
            }
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
    features(req, &mut body)?;
    body.extend(req.extra.clone());
    if stream {
        body.insert("stream".into(), Value::Bool(true));
    } else {
        body.remove("stream");
    }
    Ok(Value::Object(body))
}

/// Tools, tool choice, structured output (as a forced tool, see [`JSON_TOOL_NAME`]) and
/// thinking. `reasoning_effort` is OpenAI's and refused here rather than dropped.
fn features(req: &ChatCompletionRequest, body: &mut Map<String, Value>) -> Result<(), Error> {
    let mut tools: Vec<Value> = req.tools.iter().map(Tool::to_anthropic).collect();
    let mut choice = req.tool_choice.as_ref().map(ToolChoice::to_anthropic);
    if let Some(schema) = req.response_format.as_ref().and_then(|f| f.schema()) {
        if req.tools.iter().any(|t| t.name == JSON_TOOL_NAME) {
            return Err(Error::InvalidRequest(format!(
                "the tool name {JSON_TOOL_NAME:?} is reserved for structured output on Anthropic"
            )));
        }
        if req.thinking.is_some_and(|t| t != Thinking::Disabled) {
            return Err(Error::InvalidRequest(
                "structured output on Anthropic is a forced tool, which Anthropic does not \
                 allow with thinking: drop one of response_format and thinking"
                    .into(),
            ));
        }
        tools.push(json!({"name": JSON_TOOL_NAME,
            "description": "Answer with the JSON value, matching this schema.",
            "input_schema": schema}));
        // The caller's own choice, when set, still lets the model call other tools.
        choice.get_or_insert_with(|| json!({"type": "tool", "name": JSON_TOOL_NAME}));
    }
    if !tools.is_empty() {
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(c) = choice {
        body.insert("tool_choice".into(), c);
    }
    if req.reasoning_effort.is_some() {
        return Err(Error::InvalidRequest(
            "Anthropic has no reasoning_effort: set thinking (a budget, or adaptive) instead"
                .into(),
        ));
    }
    if let Some(t) = req.thinking {
        if let Thinking::Enabled { budget_tokens } = t {
            let max = body.get("max_tokens").and_then(Value::as_u64).unwrap_or(0);
            if u64::from(budget_tokens) >= max {
                return Err(Error::InvalidRequest(format!(
                    "thinking.budget_tokens ({budget_tokens}) must be below max_tokens ({max}): \
                     thinking counts toward the output limit"
                )));
            }
        }
        body.insert("thinking".into(), json!(t));
    }
    Ok(())
}

/// The blocks of a user turn made only of `tool_result` blocks, to add one more to.
fn tool_results_turn(turn: &mut Value) -> Option<&mut Vec<Value>> {
    if turn.get("role") != Some(&json!("user")) {
        return None;
    }
    let blocks = turn.get_mut("content")?.as_array_mut()?;
    let all_results =
        !blocks.is_empty() && blocks.iter().all(|b| b.get("type") == Some(&json!("tool_result")));
    all_results.then_some(blocks)
}

/// A turn with the message's remaining fields passed through (minus OpenAI-only ones).
fn turn(role: &str, content: Value, m: &Message) -> Value {
    let mut o = Map::new();
    o.insert("role".into(), json!(role));
    for (k, v) in &m.extra {
        if k != "content" && k != ANTHROPIC_BLOCKS && !OPENAI_ONLY_FIELDS.contains(&k.as_str()) {
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

/// An assistant turn: its thinking blocks (with their signatures, as Anthropic wants them
/// back), its text, then a `tool_use` block per tool call (typed ones, then any OpenAI-shaped
/// `extra["tool_calls"]` that did not type).
fn assistant_content(m: &Message) -> Result<Value, Error> {
    let untyped = match m.extra.get("tool_calls") {
        Some(Value::Array(calls)) => calls.as_slice(),
        _ => &[],
    };
    let others = match m.extra.get(ANTHROPIC_BLOCKS) {
        Some(Value::Array(b)) => b.as_slice(),
        _ => &[],
    };
    if m.tool_calls.is_empty()
        && untyped.is_empty()
        && m.thinking_blocks.is_empty()
        && others.is_empty()
    {
        return Ok(content(m));
    }
    let mut blocks: Vec<Value> = m.thinking_blocks.iter().map(|b| json!(b)).collect();
    match content(m) {
        Value::Array(b) => blocks.extend(b),
        Value::String(s) if s.is_empty() => {}
        Value::String(s) => blocks.push(json!({"type": "text", "text": s})),
        other => blocks.push(other),
    }
    // Blocks of an earlier answer with no unified field (server tools...), back as they came.
    blocks.extend(others.iter().cloned());
    for c in &m.tool_calls {
        blocks.push(tool_use(&json!(c.id), &c.name, Some(&json!(c.arguments)))?);
    }
    for call in untyped {
        let f = call.get("function");
        let name = f.and_then(|f| f.get("name")).and_then(Value::as_str).unwrap_or_default();
        let id = call.get("id").cloned().unwrap_or(Value::Null);
        blocks.push(tool_use(&id, name, f.and_then(|f| f.get("arguments")))?);
    }
    Ok(Value::Array(blocks))
}

/// A `tool_use` block; `arguments` is JSON text (or already an object).
fn tool_use(id: &Value, name: &str, arguments: Option<&Value>) -> Result<Value, Error> {
    let input = match arguments {
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
    Ok(json!({"type": "tool_use", "id": id, "name": name, "input": input}))
}

/// An OpenAI `tool` message as a `tool_result` block.
fn tool_result(m: &Message) -> Result<Value, Error> {
    let id = m.tool_call_id().ok_or_else(|| {
        Error::InvalidRequest("a tool message needs `tool_call_id` to be sent to Anthropic".into())
    })?;
    Ok(json!({"type": "tool_result", "tool_use_id": id, "content": content(m)}))
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
