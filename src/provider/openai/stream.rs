//! Stream chunks in the OpenAI shape (OpenAI and OpenRouter), one SSE `data:` payload at a time.
//!
//! The stream ends with `data: [DONE]`. Usage arrives on a late chunk (with `choices: []` for
//! OpenAI's `include_usage`; OpenRouter sometimes puts it on a chunk that still has choices), so
//! `usage` is read from every chunk. A chunk with an `error` object is a failure reported after
//! HTTP 200 (docs/providers.md §1.4, §3.4) and becomes `Error::Api`.

use serde_json::Value;

use crate::error::Error;
use crate::provider::json::{content_text, str_of, string_of, u64_of};
use crate::provider::wire::StreamEvent;
use crate::provider_id::Provider;
use crate::types::{ChatCompletionChunk, ToolCallDelta};

use super::response::{in_band_error, role_of, usage};

/// Decodes one `data:` payload.
pub(crate) fn decode(p: Provider, data: &str, api_key: &str) -> Result<StreamEvent, Error> {
    let data = data.trim();
    if data == "[DONE]" {
        return Ok(StreamEvent::Done);
    }
    if data.is_empty() {
        return Ok(StreamEvent::Ignore);
    }
    // serde's message names the position, never the content, so nothing sensitive is echoed.
    let root: Value = serde_json::from_str(data)
        .map_err(|e| Error::Stream(format!("malformed JSON in a {p} stream event: {e}")))?;
    if !root.is_object() {
        return Err(Error::Stream(format!("a {p} stream event is not a JSON object")));
    }
    if let Some(err) = in_band_error(p, &root, api_key) {
        return Err(err);
    }
    let choice = root.get("choices").and_then(Value::as_array).and_then(|c| c.first());
    let delta = choice.and_then(|c| c.get("delta"));
    let finish_reason = choice.and_then(|c| string_of(c.get("finish_reason")));
    if finish_reason.as_deref() == Some("error") {
        return Err(Error::Stream(format!("the {p} stream ended with finish_reason \"error\"")));
    }
    Ok(StreamEvent::Chunk(ChatCompletionChunk {
        id: str_of(root.get("id")).unwrap_or_default().to_string(),
        model: str_of(root.get("model")).unwrap_or_default().to_string(),
        delta: content_text(delta.and_then(|d| d.get("content"))),
        role: role_of(delta.and_then(|d| d.get("role"))),
        finish_reason,
        usage: root.get("usage").and_then(usage),
        tool_calls: delta.map(tool_call_deltas).unwrap_or_default(),
        // OpenRouter streams reasoning text as `delta.reasoning`; OpenAI's Chat Completions
        // sends none (it reports only the count, in usage).
        reasoning: str_of(delta.and_then(|d| d.get("reasoning"))).unwrap_or_default().to_string(),
        thinking_signature: None,
        redacted_thinking: None,
    }))
}

/// `delta.tool_calls`: each entry's `index`, its `id` and `function.name` (on the first
/// piece) and some `function.arguments` text.
fn tool_call_deltas(delta: &Value) -> Vec<ToolCallDelta> {
    let Some(Value::Array(calls)) = delta.get("tool_calls") else { return Vec::new() };
    calls
        .iter()
        .enumerate()
        .map(|(pos, c)| {
            let f = c.get("function");
            ToolCallDelta::new(
                u64_of(c.get("index"))
                    .and_then(|i| u32::try_from(i).ok())
                    .unwrap_or(u32::try_from(pos).unwrap_or(u32::MAX)),
                string_of(c.get("id")),
                string_of(f.and_then(|f| f.get("name"))),
                str_of(f.and_then(|f| f.get("arguments"))).unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
