//! A Responses object (`"object": "response"`) as the unified response: one choice whose
//! message holds the answer text, with the other output items kept where the caller can find
//! them (docs/providers.md §11):
//!
//! * `message` items: their `output_text` parts joined are the content; `refusal` parts go to
//!   `extra["refusal"]`.
//! * `reasoning` items: the summary texts joined go to `message.reasoning`, apart from the
//!   answer.
//! * `function_call` items: typed `message.tool_calls` (`call_id` as the id, `name`,
//!   `arguments`), so a follow-up request sends them back as they came.
//! * any other item (web search, file search, ...): `extra["output_items"]`, unchanged.
//!
//! `status` gives the finish reason: `completed` is `stop` (`tool_calls` when the model
//! called a function), `incomplete` is `incomplete_details.reason` with `max_output_tokens`
//! read as `length`; `failed` (or an `error` object) is an `Error::Api`, classified like an
//! HTTP error.

use serde_json::{json, Map, Value};

use crate::error::Error;
use crate::provider::json::{obj_of, parse_ok_fields, shape_error, str_of, u64_of};
use crate::provider::openai::error::in_band_error;
use crate::provider_id::Provider;
use crate::types::{
    ChatCompletionResponse, Choice, Content, Message, MessageRole, RawJson, ToolCall, Usage,
};

const P: Provider = Provider::OpenAI;

/// The top-level fields the parser reads; the rest stays in `raw` only.
const FIELDS: &[&str] =
    &["id", "model", "output", "usage", "error", "status", "incomplete_details"];

/// Parses a 2xx body.
pub(crate) fn parse_response(
    body: &[u8],
    request_id: Option<String>,
    api_key: &str,
) -> Result<ChatCompletionResponse, Error> {
    let (root, raw) = parse_ok_fields(P, body, FIELDS)?;
    from_value(root, raw, request_id, api_key)
}

/// Reads a parsed Responses object (the fields of a body, or the `response` of a stream's last
/// event) whose text is `raw`.
pub(crate) fn from_value(
    root: Value,
    raw: RawJson,
    request_id: Option<String>,
    api_key: &str,
) -> Result<ChatCompletionResponse, Error> {
    if !root.is_object() {
        return Err(shape_error(P, "body is not a JSON object"));
    }
    if let Some(err) = failure(&root, api_key) {
        return Err(err);
    }
    let Some(Value::Array(items)) = root.get("output") else {
        return Err(shape_error(P, "no `output` array in the response"));
    };
    let message = message(items);
    let called = !message.tool_calls.is_empty();
    Ok(ChatCompletionResponse {
        id: str_of(root.get("id")).unwrap_or_default().to_string(),
        model: str_of(root.get("model")).unwrap_or_default().to_string(),
        provider: P,
        choices: vec![Choice { index: 0, message, finish_reason: finish_reason(&root, called) }],
        usage: root.get("usage").and_then(usage),
        request_id,
        raw,
        cached: false,
    })
}

/// The error of a failed response: an `error` object, or `status: "failed"` without one.
pub(crate) fn failure(root: &Value, api_key: &str) -> Option<Error> {
    if let Some(err) = root.get("error").filter(|e| e.is_object()) {
        return Some(Error::Api(Box::new(in_band_error(err, api_key))));
    }
    (str_of(root.get("status")) == Some("failed")).then(|| {
        let err = json!({"message": "the response failed without an error object"});
        Error::Api(Box::new(in_band_error(&err, api_key)))
    })
}

/// The finish reason in Chat Completions' words.
pub(crate) fn finish_reason(root: &Value, called: bool) -> Option<String> {
    match str_of(root.get("status"))? {
        "completed" if called => Some("tool_calls".into()),
        "completed" => Some("stop".into()),
        "incomplete" => {
            let reason = root.pointer("/incomplete_details/reason").and_then(Value::as_str);
            Some(match reason {
                Some("max_output_tokens") | None => "length".into(),
                Some(other) => other.into(),
            })
        }
        other => Some(other.into()), // queued, in_progress, cancelled (background mode)
    }
}

/// The output items as one assistant message (see the module docs).
fn message(items: &[Value]) -> Message {
    let (mut text, mut refusal, mut reasoning) = (String::new(), String::new(), Vec::new());
    let (mut calls, mut others) = (Vec::new(), Vec::new());
    for item in items {
        match str_of(item.get("type")) {
            Some("message") => {
                for part in item.get("content").and_then(Value::as_array).into_iter().flatten() {
                    match str_of(part.get("type")) {
                        Some("output_text") => {
                            text.push_str(str_of(part.get("text")).unwrap_or(""))
                        }
                        Some("refusal") => {
                            refusal.push_str(str_of(part.get("refusal")).unwrap_or(""))
                        }
                        _ => others.push(part.clone()),
                    }
                }
            }
            Some("reasoning") => {
                let summary = item.get("summary").and_then(Value::as_array);
                reasoning
                    .extend(summary.into_iter().flatten().filter_map(|s| str_of(s.get("text"))));
            }
            Some("function_call") => {
                let id = str_of(item.get("call_id")).or_else(|| str_of(item.get("id")));
                calls.push(ToolCall::new(
                    id.unwrap_or_default(),
                    str_of(item.get("name")).unwrap_or_default(),
                    str_of(item.get("arguments")).unwrap_or_default(),
                ));
            }
            _ => others.push(item.clone()),
        }
    }
    let mut extra = Map::new();
    if !refusal.is_empty() {
        extra.insert("refusal".into(), json!(refusal));
    }
    if !others.is_empty() {
        extra.insert("output_items".into(), Value::Array(others));
    }
    let empty = text.is_empty() && (!extra.is_empty() || !calls.is_empty());
    let mut message =
        Message::new(MessageRole::Assistant, if empty { Content::Null } else { text.into() });
    message.extra = extra;
    message.tool_calls = calls;
    message.reasoning = (!reasoning.is_empty()).then(|| reasoning.join("\n\n"));
    message
}

/// Responses usage: `input_tokens` (with `input_tokens_details.cached_tokens`),
/// `output_tokens` (with `output_tokens_details.reasoning_tokens`), `total_tokens`.
pub(crate) fn usage(v: &Value) -> Option<Usage> {
    let o = obj_of(Some(v))?;
    let input = u64_of(o.get("input_tokens")).unwrap_or(0);
    let output = u64_of(o.get("output_tokens")).unwrap_or(0);
    // Field by field: `Usage::new` adds without saturating, and these are untrusted.
    Some(Usage {
        prompt_tokens: input,
        completion_tokens: output,
        total_tokens: u64_of(o.get("total_tokens")).unwrap_or(input.saturating_add(output)),
        cache_read_input_tokens: u64_of(v.pointer("/input_tokens_details/cached_tokens")),
        reasoning_tokens: u64_of(v.pointer("/output_tokens_details/reasoning_tokens")),
        ..Usage::default()
    })
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
