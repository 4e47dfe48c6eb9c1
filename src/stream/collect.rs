//! Collecting a stream into the [`ChatCompletionResponse`] a non-streaming call returns.
//!
//! `raw` is rebuilt in the provider's own non-streaming shape (OpenAI's `chat.completion`,
//! Anthropic's `message`), so code that reads `raw` works the same for both kinds of call.

use serde_json::{json, Map, Value};

use super::ChatStream;
use crate::error::Result;
use crate::provider::openai_responses;
use crate::provider_id::Provider;
use crate::types::{
    assemble, ChatCompletionResponse, Choice, Message, RawJson, ThinkingBlock, ToolCall, Usage,
};

impl ChatStream {
    /// Reads the whole stream into the same response a non-streaming call returns: the text
    /// joined, the tool calls assembled by index (in order), the reasoning apart from the
    /// text (and Anthropic's thinking blocks with their signatures), the last finish reason, the reported usage, the response id and model, the
    /// request id header, and `raw` in the provider's non-streaming JSON shape.
    ///
    /// Errors: the first error the stream yields (the slot is released all the same).
    ///
    /// ```no_run
    /// # let limiter = chat_limiter::ChatLimiter::for_model("gpt-4o")?;
    /// use chat_limiter::{ChatCompletionRequest, Message};
    /// let req = ChatCompletionRequest::new("gpt-4o", vec![Message::user("Hi")]).max_tokens(20);
    /// let response = limiter.chat_completion_stream(&req)?.collect_response()?;
    /// println!("{} ({:?})", response.text(), response.usage);
    /// # Ok::<_, chat_limiter::Error>(())
    /// ```
    pub fn collect_response(mut self) -> Result<ChatCompletionResponse> {
        let mut text = String::new();
        let mut id = String::new();
        let mut model = String::new();
        let mut finish_reason = None;
        let mut deltas = Vec::new();
        let mut thinking = Thinking::default();
        for chunk in self.by_ref() {
            let c = chunk?;
            if id.is_empty() && !c.id.is_empty() {
                id = c.id;
            }
            if model.is_empty() && !c.model.is_empty() {
                model = c.model;
            }
            text.push_str(&c.delta);
            deltas.extend(c.tool_calls);
            thinking.add(c.reasoning, c.thinking_signature, c.redacted_thinking);
            finish_reason = c.finish_reason.or(finish_reason);
        }
        if let Some(full) = self.decoder.final_response().cloned() {
            // A Responses stream ends with the whole object: read it as a non-streaming
            // answer, reasoning and function calls included.
            let request_id = self.request_id.clone();
            let raw = RawJson::from_value(&full);
            return openai_responses::response::from_value(
                full,
                raw,
                request_id,
                self.decoder.api_key(),
            );
        }
        if model.is_empty() {
            model.clone_from(&self.model);
        }
        let usage = self.usage;
        let native_reason =
            self.decoder.native_finish_reason().map(str::to_string).or(finish_reason.clone());
        let mut message = Message::assistant(text);
        message.tool_calls = assemble(&deltas);
        if !thinking.all.is_empty() {
            message.reasoning = Some(thinking.all);
        }
        if self.provider == Provider::Anthropic {
            message.thinking_blocks = thinking.blocks;
            if !thinking.open.is_empty() {
                // A block whose signature never came (a stream cut short): kept, unsigned.
                message.thinking_blocks.push(ThinkingBlock::Thinking {
                    thinking: thinking.open,
                    signature: String::new(),
                });
            }
        }
        let raw = raw_body(self.provider, &id, &model, &message, native_reason.as_deref(), usage);
        let raw = RawJson::from_value(&raw);
        Ok(ChatCompletionResponse {
            id,
            model,
            provider: self.provider,
            choices: vec![Choice { index: 0, message, finish_reason }],
            usage,
            request_id: self.request_id.clone(),
            raw,
            cached: self.is_cached(),
        })
    }
}

/// The reasoning of a stream: all of its text, and Anthropic's blocks, each closed by its
/// signature.
#[derive(Default)]
struct Thinking {
    all: String,
    open: String,
    blocks: Vec<ThinkingBlock>,
}

impl Thinking {
    fn add(&mut self, text: String, signature: Option<String>, redacted: Option<String>) {
        self.all.push_str(&text);
        self.open.push_str(&text);
        if let Some(signature) = signature {
            let thinking = std::mem::take(&mut self.open);
            self.blocks.push(ThinkingBlock::Thinking { thinking, signature });
        }
        if let Some(data) = redacted {
            self.blocks.push(ThinkingBlock::RedactedThinking { data });
        }
    }
}

/// A non-streaming body of `p`'s shape with this message.
fn raw_body(
    p: Provider,
    id: &str,
    model: &str,
    m: &Message,
    finish_reason: Option<&str>,
    usage: Option<Usage>,
) -> Value {
    match p {
        Provider::Anthropic => {
            let mut blocks: Vec<Value> = m.thinking_blocks.iter().map(|b| json!(b)).collect();
            blocks.push(json!({"type": "text", "text": m.text()}));
            blocks.extend(m.tool_calls.iter().map(|c| {
                // Arguments that are not a JSON object (a cut stream) are kept as text.
                let input = serde_json::from_str::<Value>(&c.arguments)
                    .ok()
                    .filter(Value::is_object)
                    .unwrap_or_else(|| {
                        if c.arguments.trim().is_empty() {
                            json!({})
                        } else {
                            json!(c.arguments)
                        }
                    });
                json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input})
            }));
            json!({
                "id": id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": blocks,
                "stop_reason": finish_reason,
                "usage": usage.map(|u| anthropic_usage(&u)),
            })
        }
        _ => {
            let mut message = json!({"role": "assistant", "content": m.text()});
            if !m.tool_calls.is_empty() {
                message["tool_calls"] = m.tool_calls.iter().map(ToolCall::to_openai).collect();
            }
            if let Some(r) = &m.reasoning {
                message["reasoning"] = json!(r);
            }
            json!({
                "id": id,
                "object": "chat.completion",
                "model": model,
                "choices": [{
                    "index": 0,
                    "message": message,
                    "finish_reason": finish_reason,
                }],
                "usage": usage.map(|u| openai_usage(&u)),
            })
        }
    }
}

/// Anthropic's usage fields: `input_tokens` excludes the cache fields that `prompt_tokens`
/// includes.
fn anthropic_usage(u: &Usage) -> Value {
    let created = u.cache_creation_input_tokens.unwrap_or(0);
    let read = u.cache_read_input_tokens.unwrap_or(0);
    let mut o = Map::new();
    o.insert("input_tokens".into(), json!(u.prompt_tokens.saturating_sub(created + read)));
    o.insert("output_tokens".into(), json!(u.completion_tokens));
    if let Some(c) = u.cache_creation_input_tokens {
        o.insert("cache_creation_input_tokens".into(), json!(c));
    }
    if let Some(r) = u.cache_read_input_tokens {
        o.insert("cache_read_input_tokens".into(), json!(r));
    }
    Value::Object(o)
}

/// OpenAI's usage fields (OpenRouter adds `cost`).
fn openai_usage(u: &Usage) -> Value {
    let mut o = Map::new();
    o.insert("prompt_tokens".into(), json!(u.prompt_tokens));
    o.insert("completion_tokens".into(), json!(u.completion_tokens));
    o.insert("total_tokens".into(), json!(u.total_tokens));
    if let Some(r) = u.cache_read_input_tokens {
        o.insert("prompt_tokens_details".into(), json!({"cached_tokens": r}));
    }
    if let Some(c) = u.cost {
        o.insert("cost".into(), json!(c));
    }
    if let Some(r) = u.reasoning_tokens {
        o.insert("completion_tokens_details".into(), json!({"reasoning_tokens": r}));
    }
    Value::Object(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::wire::parse_chat_response;

    /// The rebuilt body reads back, through the non-streaming parser, as the same response.
    #[test]
    fn raw_round_trips_through_the_non_streaming_parser() {
        let mut usage = Usage::new(35, 15);
        usage.cache_read_input_tokens = Some(10);
        let mut m = Message::assistant("Hello");
        m.tool_calls = vec![ToolCall::new("c1", "f", r#"{"a":1}"#)];
        m.reasoning = Some("hmm".into());
        for (p, native, normal) in [
            (Provider::OpenAI, "tool_calls", "tool_calls"),
            (Provider::OpenAI, "length", "length"),
            (Provider::OpenRouter, "stop", "stop"),
            (Provider::Anthropic, "end_turn", "stop"),
            (Provider::Anthropic, "max_tokens", "length"),
        ] {
            let mut m = m.clone();
            if p == Provider::Anthropic {
                m.thinking_blocks =
                    vec![ThinkingBlock::Thinking { thinking: "hmm".into(), signature: "s".into() }];
                usage.reasoning_tokens = None;
            } else {
                usage.reasoning_tokens = Some(4);
            }
            let raw = raw_body(p, "id_1", "m-1", &m, Some(native), Some(usage));
            let bytes = serde_json::to_vec(&raw).expect("serialisable");
            let r = parse_chat_response(p, &bytes, None, "k").expect("parses");
            assert_eq!(
                (r.id.as_str(), r.model.as_str(), r.text().as_ref()),
                ("id_1", "m-1", "Hello")
            );
            assert_eq!(r.choices[0].finish_reason.as_deref(), Some(normal), "{p}");
            let u = r.usage.expect("usage");
            assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens), (35, 15, 50));
            assert_eq!(u.cache_read_input_tokens, Some(10), "{p}");
            assert_eq!(u.reasoning_tokens, usage.reasoning_tokens, "{p}");
            let back = &r.choices[0].message;
            assert_eq!((&back.tool_calls, &back.reasoning), (&m.tool_calls, &m.reasoning), "{p}");
            assert_eq!(back.thinking_blocks, m.thinking_blocks, "{p}");
        }
    }
}
