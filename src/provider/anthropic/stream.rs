//! Anthropic's named SSE events turned into unified chunks (docs/providers.md §2.4).
//!
//! The stream is stateful: `message_start` carries the id, model and input usage, later
//! `message_delta` events carry the stop reason and the cumulative output usage. The decoder
//! remembers the first so that the usage it reports is complete.

use serde_json::{Map, Value};

use crate::error::Error;
use crate::provider::api_error::clean_message;
use crate::provider::json::{obj_of, str_of, string_of, u64_of};
use crate::provider::wire::StreamEvent;
use crate::types::{ChatCompletionChunk, MessageRole, ToolCallDelta, Usage, JSON_TOOL_NAME};

use super::error::in_band_error;
use super::response::{map_stop_reason, usage};

/// Events that carry something we read; any other name is ignored, as the API asks.
const KNOWN: [&str; 7] = [
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "error",
];

/// What one Anthropic stream has said so far.
#[derive(Debug, Default)]
pub(crate) struct AnthropicStream {
    id: String,
    model: String,
    /// `message_start`'s usage, updated by every `message_delta` usage (whose numbers are
    /// cumulative, so later values replace earlier ones; they are never added).
    usage: Map<String, Value>,
    /// The last `stop_reason` as Anthropic spelled it (`end_turn`, `stop_sequence`, ...).
    stop_reason: Option<String>,
    /// Content-block index of each `tool_use` block seen so far; the position is the
    /// tool call's index.
    tool_blocks: Vec<u64>,
    /// The content-block index of the structured-output tool's block, whose input is the
    /// answer's text (see [`JSON_TOOL_NAME`]).
    json_block: Option<u64>,
}

impl AnthropicStream {
    /// Decodes one event. `event` is the SSE event name; without one, the data's `type` is used.
    pub(crate) fn decode(
        &mut self,
        event: Option<&str>,
        data: &str,
        api_key: &str,
    ) -> Result<StreamEvent, Error> {
        let named = event.filter(|e| !e.is_empty());
        if let Some(name) = named {
            // Ping and unknown events are skipped without even parsing their data.
            if !KNOWN.contains(&name) {
                return Ok(StreamEvent::Ignore);
            }
        } else if data.trim().is_empty() {
            return Ok(StreamEvent::Ignore);
        }
        let root: Value = serde_json::from_str(data).map_err(|e| {
            Error::Stream(format!("malformed JSON in an Anthropic stream event: {e}"))
        })?;
        let name = named.or_else(|| str_of(root.get("type"))).unwrap_or_default();
        match name {
            "message_start" => {
                let msg = root.get("message");
                self.id = str_of(msg.and_then(|m| m.get("id"))).unwrap_or_default().to_string();
                self.model =
                    str_of(msg.and_then(|m| m.get("model"))).unwrap_or_default().to_string();
                if let Some(u) = obj_of(msg.and_then(|m| m.get("usage"))) {
                    self.usage = u.clone();
                }
                Ok(self.chunk(|c| c.role = Some(MessageRole::Assistant)))
            }
            "content_block_start" => self.block_start(&root),
            "content_block_delta" => {
                let delta = root.get("delta");
                let field =
                    |k: &str| str_of(delta.and_then(|d| d.get(k))).unwrap_or_default().to_string();
                match str_of(delta.and_then(|d| d.get("type"))) {
                    Some("text_delta") => Ok(self.chunk(|c| c.delta = field("text"))),
                    Some("thinking_delta") => Ok(self.chunk(|c| c.reasoning = field("thinking"))),
                    Some("signature_delta") => {
                        Ok(self.chunk(|c| c.thinking_signature = Some(field("signature"))))
                    }
                    Some("input_json_delta") => {
                        let block = u64_of(root.get("index")).unwrap_or(0);
                        let json = field("partial_json");
                        if self.json_block == Some(block) {
                            return Ok(self.chunk(|c| c.delta = json));
                        }
                        let Some(index) = self.tool_blocks.iter().position(|b| *b == block) else {
                            return Err(Error::Stream(
                                "an Anthropic input_json_delta for a block that is not a tool_use"
                                    .into(),
                            ));
                        };
                        let index = u32::try_from(index).unwrap_or(u32::MAX);
                        Ok(self.chunk(|c| {
                            c.tool_calls = vec![ToolCallDelta::new(index, None, None, json)]
                        }))
                    }
                    // citations_delta and kinds added later carry no text of the answer.
                    _ => Ok(StreamEvent::Ignore),
                }
            }
            "message_delta" => {
                if let Some(u) = obj_of(root.get("usage")) {
                    self.usage.extend(u.clone());
                }
                let native = str_of(root.get("delta").and_then(|d| d.get("stop_reason")));
                if let Some(r) = native {
                    self.stop_reason = Some(r.to_string());
                }
                // The structured-output tool is the answer, not a tool call.
                let json_only = self.json_block.is_some() && self.tool_blocks.is_empty();
                let reason = native.map(|r| {
                    if json_only && r == "tool_use" {
                        "stop".to_string()
                    } else {
                        map_stop_reason(r)
                    }
                });
                let usage = usage(&Value::Object(self.usage.clone()));
                Ok(self.chunk(|c| {
                    c.finish_reason = reason;
                    c.usage = usage;
                }))
            }
            "message_stop" => Ok(StreamEvent::Done),
            "error" => {
                let err = root.get("error").unwrap_or(&Value::Null);
                let mut api = in_band_error(err, api_key);
                // The error body names its request (§2.7); the caller falls back to the header.
                api.request_id =
                    str_of(root.get("request_id")).map(|id| clean_message(id, api_key));
                Err(Error::Api(Box::new(api)))
            }
            _ => Ok(StreamEvent::Ignore),
        }
    }

    /// The usage reported so far (`message_start`'s input, the latest output), if any.
    pub(crate) fn usage_so_far(&self) -> Option<Usage> {
        if self.usage.is_empty() {
            return None;
        }
        usage(&Value::Object(self.usage.clone()))
    }

    /// The last stop reason in Anthropic's own words.
    pub(crate) fn native_stop_reason(&self) -> Option<&str> {
        self.stop_reason.as_deref()
    }

    /// `content_block_start`: a `tool_use` block opens a tool call (its `input` follows as
    /// `input_json_delta`s), a `redacted_thinking` block comes whole; text and thinking
    /// blocks start empty and need nothing.
    fn block_start(&mut self, root: &Value) -> Result<StreamEvent, Error> {
        let block = root.get("content_block");
        let block_index = u64_of(root.get("index")).unwrap_or(0);
        match str_of(block.and_then(|b| b.get("type"))) {
            Some("tool_use") => {
                let name = string_of(block.and_then(|b| b.get("name")));
                if name.as_deref() == Some(JSON_TOOL_NAME) {
                    self.json_block = Some(block_index);
                    return Ok(StreamEvent::Ignore);
                }
                let index = u32::try_from(self.tool_blocks.len()).unwrap_or(u32::MAX);
                self.tool_blocks.push(block_index);
                let id = string_of(block.and_then(|b| b.get("id")));
                Ok(self.chunk(|c| {
                    c.tool_calls = vec![ToolCallDelta::new(index, id, name, String::new())]
                }))
            }
            Some("redacted_thinking") => {
                let data = str_of(block.and_then(|b| b.get("data"))).unwrap_or_default();
                Ok(self.chunk(|c| c.redacted_thinking = Some(data.to_string())))
            }
            _ => Ok(StreamEvent::Ignore),
        }
    }

    fn chunk(&self, fill: impl FnOnce(&mut ChatCompletionChunk)) -> StreamEvent {
        let mut c = ChatCompletionChunk {
            id: self.id.clone(),
            model: self.model.clone(),
            ..Default::default()
        };
        fill(&mut c);
        StreamEvent::Chunk(c)
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
