//! The request and response types shared by every provider.
//!
//! One unified shape: callers build a [`ChatCompletionRequest`] once and read
//! `choices[0].message.content`, `finish_reason` and `usage` from a [`ChatCompletionResponse`]
//! whatever the provider. Each provider module maps this shape to and from its own wire format.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

mod content;
mod media;
pub use content::{Content, ContentPart, DocumentPart, ImagePart, MediaSource};

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
    /// A tool result (OpenAI shape; needs `tool_call_id` in [`Message::extra`]).
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

/// One chat message.
///
/// ```
/// use chat_limiter::{Content, Message};
/// let m = Message::user("Hello");
/// assert_eq!(m.text(), "Hello");
/// // Any provider-shaped message reads back with nothing lost, parts included.
/// let json = r#"{"role":"user","content":[{"type":"text","text":"What is this?"},
///     {"type":"image_url","image_url":{"url":"https://example.com/a.png","detail":"low"}}]}"#;
/// let m: Message = serde_json::from_str(json).unwrap();
/// assert!(matches!(&m.content, Content::Parts(p) if p.len() == 2));
/// assert_eq!(m.text(), "What is this?");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote it.
    pub role: MessageRole,
    /// Text, or a list of parts (text, images, documents, any other kind kept as JSON).
    #[serde(default)]
    pub content: Content,
    /// Any other field of the message (`name`, `tool_calls`, `tool_call_id`, ...), sent as is.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Message {
    /// A message with the given role and content (a `&str`, a `String` or parts).
    pub fn new(role: MessageRole, content: impl Into<Content>) -> Self {
        Message { role, content: content.into(), extra: Map::new() }
    }
    /// A system message.
    pub fn system(content: impl Into<Content>) -> Self {
        Self::new(MessageRole::System, content)
    }
    /// A user message.
    pub fn user(content: impl Into<Content>) -> Self {
        Self::new(MessageRole::User, content)
    }
    /// A user message made of parts (text, images, documents).
    pub fn user_parts(parts: Vec<ContentPart>) -> Self {
        Self::new(MessageRole::User, Content::Parts(parts))
    }
    /// An assistant message.
    pub fn assistant(content: impl Into<Content>) -> Self {
        Self::new(MessageRole::Assistant, content)
    }
    /// The message's text: the string, or its text parts joined.
    pub fn text(&self) -> Cow<'_, str> {
        self.content.text()
    }
}

/// A chat request, the same for every provider.
///
/// Build it with [`ChatCompletionRequest::new`] and the chainable setters; any provider field
/// without a setter (tools, `response_format`, `seed`, ...) goes through [`extra`](Self::extra).
///
/// ```
/// use chat_limiter::{ChatCompletionRequest, Message};
/// let req = ChatCompletionRequest::new("gpt-4o", vec![Message::user("Hello!")])
///     .max_tokens(50)
///     .temperature(0.7)
///     .extra("seed", 42);
/// assert_eq!(req.max_tokens, Some(50));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChatCompletionRequest {
    /// The model name, e.g. `gpt-4o`, `claude-3-5-sonnet-20241022`, `openai/gpt-4o`.
    #[serde(default)]
    pub model: String,
    /// The conversation.
    pub messages: Vec<Message>,
    /// Maximum output tokens (sent as `max_tokens`; Anthropic requires it, so a default applies).
    #[serde(default, alias = "max_completion_tokens", skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Stop sequences (Anthropic: `stop_sequences`).
    #[serde(default, deserialize_with = "stop_list", skip_serializing_if = "Option::is_none")]
    pub stop: Option<Vec<String>>,
    /// Frequency penalty (OpenAI, OpenRouter; not sent to Anthropic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// Presence penalty (OpenAI, OpenRouter; not sent to Anthropic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// Top-k sampling (Anthropic, OpenRouter; not sent to OpenAI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// Any other field, passed to the provider unchanged (`tools`, `response_format`, `seed`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Accepts `stop` as a string or an array of strings.
fn stop_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stop {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<Stop>::deserialize(d)? {
        None => None,
        Some(Stop::One(s)) => Some(vec![s]),
        Some(Stop::Many(v)) => Some(v),
    })
}

impl ChatCompletionRequest {
    /// A request for `model` with these messages and no optional parameters.
    pub fn new(model: impl Into<String>, messages: Vec<Message>) -> Self {
        ChatCompletionRequest { model: model.into(), messages, ..Default::default() }
    }
    /// Sets `max_tokens`.
    #[must_use]
    pub fn max_tokens(mut self, v: u32) -> Self {
        self.max_tokens = Some(v);
        self
    }
    /// Sets `temperature`.
    #[must_use]
    pub fn temperature(mut self, v: f64) -> Self {
        self.temperature = Some(v);
        self
    }
    /// Sets `top_p`.
    #[must_use]
    pub fn top_p(mut self, v: f64) -> Self {
        self.top_p = Some(v);
        self
    }
    /// Sets the stop sequences.
    #[must_use]
    pub fn stop<S: Into<String>>(mut self, v: impl IntoIterator<Item = S>) -> Self {
        self.stop = Some(v.into_iter().map(Into::into).collect());
        self
    }
    /// Sets `frequency_penalty`.
    #[must_use]
    pub fn frequency_penalty(mut self, v: f64) -> Self {
        self.frequency_penalty = Some(v);
        self
    }
    /// Sets `presence_penalty`.
    #[must_use]
    pub fn presence_penalty(mut self, v: f64) -> Self {
        self.presence_penalty = Some(v);
        self
    }
    /// Sets `top_k`.
    #[must_use]
    pub fn top_k(mut self, v: u32) -> Self {
        self.top_k = Some(v);
        self
    }
    /// Adds any other provider field, sent unchanged.
    #[must_use]
    pub fn extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
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
    /// The assistant's message. Tool calls, when any, are in `message.extra["tool_calls"]`.
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
    /// The provider's original JSON body.
    pub raw: Value,
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
