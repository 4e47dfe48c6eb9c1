//! The Responses API's typed stream events as chunks (docs/providers.md §11).
//!
//! Each SSE event names its type twice (`event:` and the data's `type`; the data wins). The
//! stream has no `[DONE]`: it ends on `response.completed` or `response.incomplete`, whose
//! `response` is the whole Responses object, usage included; that event becomes the last
//! chunk (finish reason and usage) and the object is kept, so that collecting the stream gives
//! exactly what a non-streaming call returns. Reasoning-summary deltas become the chunk's
//! `reasoning`, a function call's start and argument deltas its `tool_calls` (keyed by the
//! item's `output_index`). `response.failed` and `error` end the stream with `Error::Api`.
//! Every other event (`response.in_progress`, item and part bookkeeping, the `.done` events
//! repeating what the deltas said) carries nothing a chunk can hold and is skipped.

use serde_json::{json, Value};

use super::response::{failure, finish_reason, usage};
use crate::error::Error;
use crate::provider::json::str_of;
use crate::provider::openai::error::in_band_error;
use crate::provider::wire::StreamEvent;
use crate::types::{ChatCompletionChunk, MessageRole, ToolCallDelta};

/// One Responses stream's state: its id and model, and the final object once it arrived.
#[derive(Debug, Default)]
pub(crate) struct ResponsesStream {
    id: String,
    model: String,
    last: Option<Value>,
}

impl ResponsesStream {
    /// The Responses object of the last event, once the stream has ended normally.
    pub(crate) fn final_response(&self) -> Option<&Value> {
        self.last.as_ref()
    }

    /// Decodes one event. Errors: `Error::Api` for `response.failed` and `error`,
    /// `Error::Stream` for data that is not a JSON object.
    pub(crate) fn decode(
        &mut self,
        event: Option<&str>,
        data: &str,
        api_key: &str,
    ) -> Result<StreamEvent, Error> {
        let data = data.trim();
        if data == "[DONE]" {
            return Ok(StreamEvent::Done);
        }
        if data.is_empty() {
            return Ok(StreamEvent::Ignore);
        }
        // serde's message names the position, never the content, so nothing is echoed.
        let root: Value = serde_json::from_str(data).map_err(|e| {
            Error::Stream(format!("malformed JSON in a Responses stream event: {e}"))
        })?;
        if !root.is_object() {
            return Err(Error::Stream("a Responses stream event is not a JSON object".into()));
        }
        let kind = str_of(root.get("type")).or(event).unwrap_or("");
        let response = root.get("response");
        if let Some(r) = response {
            if let Some(id) = str_of(r.get("id")) {
                self.id = id.to_string();
            }
            if let Some(m) = str_of(r.get("model")) {
                self.model = m.to_string();
            }
        }
        let chunk = |delta: String| ChatCompletionChunk {
            id: self.id.clone(),
            model: self.model.clone(),
            delta,
            ..Default::default()
        };
        Ok(match kind {
            "response.created" => StreamEvent::Chunk(ChatCompletionChunk {
                role: Some(MessageRole::Assistant),
                ..chunk(String::new())
            }),
            "response.output_text.delta" => {
                StreamEvent::Chunk(chunk(str_of(root.get("delta")).unwrap_or("").to_string()))
            }
            "response.reasoning_summary_text.delta" => StreamEvent::Chunk(ChatCompletionChunk {
                reasoning: str_of(root.get("delta")).unwrap_or("").to_string(),
                ..chunk(String::new())
            }),
            // A function call starts as an output item, and its arguments arrive in pieces;
            // both carry the item's `output_index`, which keys the call's deltas.
            "response.output_item.added"
                if root.pointer("/item/type").and_then(Value::as_str) == Some("function_call") =>
            {
                let item = &root["item"];
                let id = str_of(item.get("call_id")).or_else(|| str_of(item.get("id")));
                let delta = ToolCallDelta::new(
                    output_index(&root),
                    id.map(str::to_string),
                    str_of(item.get("name")).map(str::to_string),
                    String::new(),
                );
                StreamEvent::Chunk(ChatCompletionChunk {
                    tool_calls: vec![delta],
                    ..chunk(String::new())
                })
            }
            "response.function_call_arguments.delta" => {
                let piece = str_of(root.get("delta")).unwrap_or("").to_string();
                let delta = ToolCallDelta::new(output_index(&root), None, None, piece);
                StreamEvent::Chunk(ChatCompletionChunk {
                    tool_calls: vec![delta],
                    ..chunk(String::new())
                })
            }
            "response.completed" | "response.incomplete" => {
                let r = response.filter(|r| r.is_object()).ok_or_else(|| {
                    Error::Stream(format!("a Responses `{kind}` event without its response"))
                })?;
                if let Some(err) = failure(r, api_key) {
                    return Err(err);
                }
                let called = r.get("output").and_then(Value::as_array).is_some_and(|items| {
                    items.iter().any(|i| str_of(i.get("type")) == Some("function_call"))
                });
                let mut last = chunk(String::new());
                last.finish_reason = finish_reason(r, called);
                last.usage = r.get("usage").and_then(usage);
                self.last = Some(r.clone());
                StreamEvent::Last(last)
            }
            "response.failed" => {
                let err = response.and_then(|r| failure(r, api_key));
                return Err(err.unwrap_or_else(|| {
                    api(&json!({"message": "the response failed without an error object"}), api_key)
                }));
            }
            "error" => {
                let err =
                    root.get("error").filter(|e| e.is_object()).cloned().unwrap_or_else(|| {
                        json!({"message": root.get("message"), "code": root.get("code"),
                        "param": root.get("param")})
                    });
                return Err(api(&err, api_key));
            }
            _ => StreamEvent::Ignore,
        })
    }
}

/// The event's `output_index` (0 when missing or out of range).
fn output_index(root: &Value) -> u32 {
    root.get("output_index")
        .and_then(Value::as_u64)
        .and_then(|i| u32::try_from(i).ok())
        .unwrap_or(0)
}

fn api(err: &Value, api_key: &str) -> Error {
    Error::Api(Box::new(in_band_error(err, api_key)))
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
