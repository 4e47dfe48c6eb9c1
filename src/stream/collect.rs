//! Collecting a stream into the [`ChatCompletionResponse`] a non-streaming call returns.
//!
//! `raw` is rebuilt in the provider's own non-streaming shape (OpenAI's `chat.completion`,
//! Anthropic's `message`), so code that reads `raw` works the same for both kinds of call.

use serde_json::{json, Map, Value};

use super::ChatStream;
use crate::error::Result;
use crate::provider_id::Provider;
use crate::types::{ChatCompletionResponse, Choice, Message, MessageRole, Usage};

impl ChatStream {
    /// Reads the whole stream into the same response a non-streaming call returns: the text
    /// joined, the last finish reason, the reported usage, the response id and model, the
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
        for chunk in self.by_ref() {
            let c = chunk?;
            if id.is_empty() && !c.id.is_empty() {
                id = c.id;
            }
            if !c.model.is_empty() {
                model = c.model;
            }
            text.push_str(&c.delta);
            finish_reason = c.finish_reason.or(finish_reason);
        }
        if model.is_empty() {
            model = self.model.clone();
        }
        let usage = self.usage;
        let native_reason =
            self.decoder.native_finish_reason().map(str::to_string).or(finish_reason.clone());
        let raw = raw_body(self.provider, &id, &model, &text, native_reason.as_deref(), usage);
        Ok(ChatCompletionResponse {
            id,
            model,
            provider: self.provider,
            choices: vec![Choice {
                index: 0,
                message: Message::new(MessageRole::Assistant, text),
                finish_reason,
            }],
            usage,
            request_id: self.request_id.clone(),
            raw,
            cached: self.is_cached(),
        })
    }
}

/// The body the provider would have sent without streaming.
fn raw_body(
    p: Provider,
    id: &str,
    model: &str,
    text: &str,
    finish_reason: Option<&str>,
    usage: Option<Usage>,
) -> Value {
    match p {
        Provider::Anthropic => json!({
            "id": id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": finish_reason,
            "usage": usage.map(|u| anthropic_usage(&u)),
        }),
        Provider::OpenAI | Provider::OpenRouter => json!({
            "id": id,
            "object": "chat.completion",
            "model": model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish_reason,
            }],
            "usage": usage.map(|u| openai_usage(&u)),
        }),
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
        for (p, native, normal) in [
            (Provider::OpenAI, "length", "length"),
            (Provider::OpenRouter, "stop", "stop"),
            (Provider::Anthropic, "end_turn", "stop"),
            (Provider::Anthropic, "max_tokens", "length"),
        ] {
            let raw = raw_body(p, "id_1", "m-1", "Hello", Some(native), Some(usage));
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
        }
    }
}
