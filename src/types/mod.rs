//! The request and response types shared by every provider.
//!
//! One unified shape: callers build a [`ChatCompletionRequest`] once and read
//! `choices[0].message.content`, `finish_reason` and `usage` from a [`ChatCompletionResponse`]
//! whatever the provider. Each provider module maps this shape to and from its own wire format.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

mod content;
mod media;
mod message;
mod output;
mod raw_json;
mod reasoning;
mod request;
mod tools;
pub use content::{Content, ContentPart, DocumentPart, ImagePart, MediaSource};
pub use message::Message;
pub use output::{JsonOutputError, ResponseFormat, JSON_TOOL_NAME};
pub use raw_json::RawJson;
pub use reasoning::{ReasoningEffort, Thinking, ThinkingBlock};
pub use request::ChatCompletionRequest;
pub(crate) use tools::assemble;
pub use tools::{Tool, ToolCall, ToolCallDelta, ToolChoice};

use crate::provider_id::Provider;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum MessageRole {
    /// Instructions for the model. Anthropic receives these as the top-level `system` field.
    System,
    /// OpenAI's replacement for `system` on reasoning models (sent to Anthropic as `system`).
    Developer,
    /// The user's turn.
    User,
    /// The model's turn.
    Assistant,
    /// A tool result (see [`Message::tool_result`]).
    Tool,
}

impl MessageRole {
    /// The wire name of the role (`"user"`, `"assistant"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            MessageRole::System => "system",
            MessageRole::Developer => "developer",
            MessageRole::User => "user",
            MessageRole::Assistant => "assistant",
            MessageRole::Tool => "tool",
        }
    }
}

/// Token usage reported by the provider, in one shape for all of them.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Usage {
    /// Input tokens. For Anthropic: `input_tokens + cache_creation + cache_read`.
    pub prompt_tokens: u64,
    /// Output tokens.
    pub completion_tokens: u64,
    /// `prompt_tokens + completion_tokens`.
    pub total_tokens: u64,
    /// Anthropic: input tokens written to the cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
    /// Cached input tokens read (Anthropic `cache_read_input_tokens`, OpenAI `cached_tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
    /// OpenRouter: credits charged for the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    /// Output tokens spent on reasoning, part of `completion_tokens` (OpenAI and OpenRouter
    /// `completion_tokens_details.reasoning_tokens`, the Responses API's
    /// `output_tokens_details.reasoning_tokens`; Anthropic reports none apart, its thinking is
    /// inside `output_tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
}

impl Usage {
    /// Usage with the given input and output tokens.
    pub fn new(prompt_tokens: u64, completion_tokens: u64) -> Self {
        Usage {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens + completion_tokens,
            ..Default::default()
        }
    }
}

/// One generated answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Choice {
    /// Position of the choice.
    pub index: u32,
    /// The assistant's message: its text, `tool_calls`, and `reasoning` apart from the text.
    pub message: Message,
    /// Why generation stopped, normalised to OpenAI's words (`stop`, `length`, `tool_calls`,
    /// `content_filter`); other provider values pass through.
    pub finish_reason: Option<String>,
}

/// A completed chat response, the same shape for every provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChatCompletionResponse {
    /// The provider's id for the response (`chatcmpl-…`, `msg_…`, `gen-…`).
    pub id: String,
    /// The model that answered, as the provider names it.
    pub model: String,
    /// The provider that answered.
    pub provider: Provider,
    /// The answers (usually one).
    pub choices: Vec<Choice>,
    /// Token usage, when reported.
    pub usage: Option<Usage>,
    /// The request id header, when present.
    pub request_id: Option<String>,
    /// The provider's original JSON body, kept once as its exact text ([`RawJson`]: read it
    /// with `raw["usage"]`, [`RawJson::value`] or [`RawJson::as_str`]). A streamed call's
    /// `raw` is rebuilt in the non-streaming shape.
    pub raw: RawJson,
    /// Answered from the response cache ([`Cache`](crate::Cache)) without a request. Not
    /// serialised (a stored answer is not cached in itself).
    #[serde(skip)]
    pub cached: bool,
}

impl ChatCompletionResponse {
    /// The text of the first choice (empty when there is none).
    pub fn text(&self) -> Cow<'_, str> {
        self.choices.first().map(|c| c.message.text()).unwrap_or(Cow::Borrowed(""))
    }
}

/// One piece of a streamed response.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ChatCompletionChunk {
    /// Response id.
    pub id: String,
    /// Model name, when the provider sent it.
    pub model: String,
    /// New text.
    pub delta: String,
    /// Set on the first chunk of a message.
    pub role: Option<MessageRole>,
    /// Set when the choice is finished (normalised as in [`Choice::finish_reason`]).
    pub finish_reason: Option<String>,
    /// Usage, on the chunk that carries it (usually the last).
    pub usage: Option<Usage>,
    /// Pieces of tool calls (see [`ToolCallDelta`]); never mixed into `delta`.
    pub tool_calls: Vec<ToolCallDelta>,
    /// New reasoning text (OpenRouter `delta.reasoning`, Anthropic `thinking_delta`); never
    /// mixed into `delta`.
    pub reasoning: String,
    /// Anthropic: the signature that closes the current thinking block.
    pub thinking_signature: Option<String>,
    /// Anthropic: a `redacted_thinking` block's data.
    pub redacted_thinking: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn request_reads_openai_body_with_extras() {
        let body = r#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi","name":"bob"}],
            "max_completion_tokens":7,"stop":"END","seed":3,"response_format":{"type":"json_object"}}"#;
        let req: ChatCompletionRequest = serde_json::from_str(body).unwrap();
        assert_eq!(req.max_tokens, Some(7));
        assert_eq!(req.stop, Some(vec!["END".to_string()]));
        assert_eq!(req.extra["seed"], 3);
        assert_eq!(req.messages[0].extra["name"], "bob");
    }

    #[test]
    fn message_content_parts_are_kept_and_text_joined() {
        let json = r#"{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"https://x/y.png"}},{"type":"text","text":"b"}]}"#;
        let m: Message = serde_json::from_str(json).unwrap();
        assert_eq!(m.text(), "ab");
        assert!(matches!(&m.content, Content::Parts(p) if matches!(p[1], ContentPart::Image(_))));
        let back: Value = serde_json::to_value(&m).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(json).unwrap());
    }
}
