//! The unified chat request and its setters.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::message::take_exact;
use super::{Message, ReasoningEffort, ResponseFormat, Thinking, Tool, ToolChoice};

/// A chat request, the same for every provider.
///
/// Build it with [`ChatCompletionRequest::new`] and the chainable setters; any provider field
/// without a setter (`seed`, `metadata`, ...) goes through [`extra`](Self::extra). Reading
/// JSON types `tools`, `tool_choice`, `response_format`, `reasoning_effort` and `thinking`
/// only when writing them back gives the same JSON; other shapes (a built-in tool, say) stay
/// in `extra` and are sent unchanged.
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
#[serde(from = "RawRequest")]
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
    /// Tools the model may call.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    /// Which tool the model may or must call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// The answer's format: JSON, or JSON matching a schema (see [`ResponseFormat`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat>,
    /// OpenAI `reasoning_effort` (OpenRouter: `reasoning.effort`; not sent to Anthropic).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<ReasoningEffort>,
    /// Anthropic `thinking` (OpenRouter: `reasoning.max_tokens`; not sent to OpenAI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking: Option<Thinking>,
    /// Any other field, passed to the provider unchanged (`seed`, `metadata`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    /// OpenAI: the API this request goes to; `None` follows the limiter's
    /// [`Config::responses_models`](crate::Config::responses_models) and
    /// [`Config::openai_api`](crate::Config::openai_api). Never sent, never read from JSON.
    #[serde(skip)]
    pub openai_api: Option<crate::OpenAiApi>,
}

/// What serde reads before the typed fields are taken out of `extra`.
#[derive(Deserialize)]
struct RawRequest {
    /// The model name, e.g. `gpt-4o`, `claude-3-5-sonnet-20241022`, `openai/gpt-4o`.
    #[serde(default)]
    model: String,
    /// The conversation.
    messages: Vec<Message>,
    /// Maximum output tokens (sent as `max_tokens`; Anthropic requires it, so a default applies).
    #[serde(default, alias = "max_completion_tokens")]
    max_tokens: Option<u32>,
    /// Sampling temperature.
    #[serde(default)]
    temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default)]
    top_p: Option<f64>,
    /// Stop sequences (Anthropic: `stop_sequences`).
    #[serde(default, deserialize_with = "stop_list")]
    stop: Option<Vec<String>>,
    /// Frequency penalty (OpenAI, OpenRouter; not sent to Anthropic).
    #[serde(default)]
    frequency_penalty: Option<f64>,
    /// Presence penalty (OpenAI, OpenRouter; not sent to Anthropic).
    #[serde(default)]
    presence_penalty: Option<f64>,
    /// Top-k sampling (Anthropic, OpenRouter; not sent to OpenAI).
    #[serde(default)]
    top_k: Option<u32>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

impl From<RawRequest> for ChatCompletionRequest {
    fn from(r: RawRequest) -> Self {
        let mut extra = r.extra;
        let tools = take_exact(&mut extra, "tools", |t: &Vec<Tool>| !t.is_empty());
        ChatCompletionRequest {
            model: r.model,
            messages: r.messages,
            max_tokens: r.max_tokens,
            temperature: r.temperature,
            top_p: r.top_p,
            stop: r.stop,
            frequency_penalty: r.frequency_penalty,
            presence_penalty: r.presence_penalty,
            top_k: r.top_k,
            tools: tools.unwrap_or_default(),
            tool_choice: take_exact(&mut extra, "tool_choice", |_: &ToolChoice| true),
            response_format: take_exact(&mut extra, "response_format", |_: &ResponseFormat| true),
            reasoning_effort: take_exact(&mut extra, "reasoning_effort", |_: &ReasoningEffort| {
                true
            }),
            thinking: take_exact(&mut extra, "thinking", |_: &Thinking| true),
            extra,
            openai_api: None,
        }
    }
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
    /// Sends this request to the given OpenAI API (see [`OpenAiApi`](crate::OpenAiApi)).
    #[must_use]
    pub fn openai_api(mut self, api: crate::OpenAiApi) -> Self {
        self.openai_api = Some(api);
        self
    }
    /// Adds a tool the model may call.
    #[must_use]
    pub fn tool(mut self, t: Tool) -> Self {
        self.tools.push(t);
        self
    }
    /// Sets `tool_choice`.
    #[must_use]
    pub fn tool_choice(mut self, c: ToolChoice) -> Self {
        self.tool_choice = Some(c);
        self
    }
    /// Sets the answer's format (structured output).
    #[must_use]
    pub fn response_format(mut self, f: ResponseFormat) -> Self {
        self.response_format = Some(f);
        self
    }
    /// Sets OpenAI's `reasoning_effort`.
    #[must_use]
    pub fn reasoning_effort(mut self, e: ReasoningEffort) -> Self {
        self.reasoning_effort = Some(e);
        self
    }
    /// Sets Anthropic's `thinking`.
    #[must_use]
    pub fn thinking(mut self, t: Thinking) -> Self {
        self.thinking = Some(t);
        self
    }
    /// Adds any other provider field, sent unchanged.
    #[must_use]
    pub fn extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }
}
