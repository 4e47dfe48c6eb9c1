//! Token estimation: what a request will cost the provider's token buckets before it is sent.
//!
//! The limiter reserves `prompt estimate + max output` before a request goes out, so the
//! estimate decides how close to the limit a job can run. [`TokenCounter`] is the seam; the
//! default [`CharEstimator`] uses the rule the providers' own admission check is reported to
//! use (`ceil(characters / 4)`, docs/providers.md §1.7). With the `tiktoken` feature,
//! [`TiktokenCounter`] counts OpenAI prompts exactly.

use serde_json::Value;

use crate::provider_id::Provider;
use crate::types::{ChatCompletionRequest, Content, ContentPart, Message, Tool, ToolCall};

mod media;
pub use media::{
    anthropic_rule, image_tokens, media_tokens, openai_tile_rule, ANTHROPIC_MAX_IMAGE_TOKENS,
    DOCUMENT_TOKENS, OPENAI_LOW_DETAIL_TOKENS, OPENAI_UNKNOWN_IMAGE_TOKENS,
};

#[cfg(feature = "tiktoken")]
mod tiktoken;
#[cfg(feature = "tiktoken")]
pub use tiktoken::{TiktokenCounter, TiktokenEncoding};

/// Counts the prompt tokens of a request. Implement it to plug in your own tokenizer.
///
/// ```
/// use chat_limiter::{ChatCompletionRequest, Message, TokenCounter};
/// #[derive(Debug)]
/// struct Words;
/// impl TokenCounter for Words {
///     fn count_prompt(&self, req: &ChatCompletionRequest) -> u64 {
///         req.messages.iter().map(|m| m.text().split_whitespace().count() as u64).sum()
///     }
/// }
/// let req = ChatCompletionRequest::new("gpt-4o", vec![Message::user("three little words")]);
/// assert_eq!(Words.count_prompt(&req), 3);
/// ```
pub trait TokenCounter: Send + Sync + std::fmt::Debug {
    /// The number of input tokens the provider will count for the text of this request.
    fn count_prompt(&self, request: &ChatCompletionRequest) -> u64;

    /// The tokens of its image and document parts for `provider`, added to
    /// [`count_prompt`](Self::count_prompt). Default: each provider's published rule
    /// ([`media_tokens`]), never the length of the base64 text.
    fn count_media(&self, provider: Provider, request: &ChatCompletionRequest) -> u64 {
        media_tokens(provider, request)
    }
}

/// The default estimate: `ceil(characters / 4)` over every message's text (text parts and the
/// `text` of unknown parts; images and documents are counted by
/// [`TokenCounter::count_media`]), the JSON text of the tools, of a response format's schema
/// and of earlier turns' tool calls,
/// plus an optional per-message overhead.
///
/// Characters are Unicode scalar values. The overhead defaults to 0 because the providers'
/// admission check, which is what the limiter must match, is reported to charge characters / 4
/// alone; set it when a tokenizer-exact figure matters more than throughput.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CharEstimator {
    /// Tokens added per message (the chat format's role and separators; 3 or 4 for OpenAI).
    pub per_message_overhead: u32,
}

impl CharEstimator {
    /// Characters of text in a message.
    fn chars(m: &Message) -> u64 {
        let text = match &m.content {
            Content::Parts(parts) => parts
                .iter()
                .filter_map(ContentPart::as_text)
                .map(|t| t.chars().count() as u64)
                .sum(),
            other => other.text().chars().count() as u64,
        };
        text + tool_call_chars(m)
    }
}

/// Characters of a message's tool calls: the typed ones in OpenAI's JSON shape, and any
/// untyped `extra["tool_calls"]`.
pub(crate) fn tool_call_chars(m: &Message) -> u64 {
    tool_call_text(m).chars().count() as u64
}

/// The JSON text of a message's tool calls (see [`tool_call_chars`]).
pub(crate) fn tool_call_text(m: &Message) -> String {
    // As a JSON array, the same text as the untyped form.
    let mut t = json_array(m.tool_calls.iter().map(ToolCall::to_openai));
    if let Some(v) = m.extra.get("tool_calls") {
        t.push_str(&v.to_string());
    }
    t
}

/// Characters of what a request defines besides its messages: its tools (typed and
/// untyped `extra["tools"]`) in OpenAI's JSON shape, and a response format's schema (sent to
/// OpenAI as `response_format`, to Anthropic as a tool).
pub(crate) fn definition_chars(r: &ChatCompletionRequest) -> u64 {
    definition_text(r).chars().count() as u64
}

/// The JSON text of a request's tools and response format (see [`definition_chars`]).
pub(crate) fn definition_text(r: &ChatCompletionRequest) -> String {
    let mut t = json_array(r.tools.iter().map(Tool::to_openai));
    if let Some(v) = r.extra.get("tools") {
        t.push_str(&v.to_string());
    }
    if let Some(f) = &r.response_format {
        t.push_str(&f.to_openai().to_string());
    }
    t
}

impl TokenCounter for CharEstimator {
    fn count_prompt(&self, request: &ChatCompletionRequest) -> u64 {
        let chars: u64 =
            request.messages.iter().map(Self::chars).sum::<u64>() + definition_chars(request);
        let overhead = u64::from(self.per_message_overhead) * request.messages.len() as u64;
        chars.div_ceil(4).max(1) + overhead
    }
}

/// Characters of a value's compact JSON text.
/// The JSON text of an array of these values; nothing for none.
fn json_array(items: impl Iterator<Item = Value>) -> String {
    let items: Vec<Value> = items.collect();
    if items.is_empty() {
        String::new()
    } else {
        Value::Array(items).to_string()
    }
}

#[cfg(test)]
fn json_chars(v: &Value) -> u64 {
    v.to_string().chars().count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_is_ceil_chars_over_four() {
        let req = ChatCompletionRequest::new(
            "gpt-4o",
            vec![Message::system("abcd"), Message::user("héllo")], // 4 + 5 chars
        );
        assert_eq!(CharEstimator::default().count_prompt(&req), 3);
        assert_eq!(CharEstimator { per_message_overhead: 4 }.count_prompt(&req), 11);
        let empty = ChatCompletionRequest::new("gpt-4o", vec![Message::user("")]);
        assert_eq!(CharEstimator::default().count_prompt(&empty), 1);
    }

    #[test]
    fn tools_and_tool_calls_are_counted() {
        let tools =
            serde_json::json!([{"type":"function","function":{"name":"f","parameters":{}}}]);
        let calls = serde_json::json!([{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]);
        let mut asst = Message::assistant("");
        asst.extra.insert("tool_calls".into(), calls.clone());
        let req = ChatCompletionRequest::new("m", vec![Message::user("abcd"), asst])
            .extra("tools", tools.clone());
        let want = (4 + json_chars(&tools) + json_chars(&calls)).div_ceil(4);
        assert_eq!(CharEstimator::default().count_prompt(&req), want);
    }

    #[test]
    fn typed_tools_calls_and_schemas_are_counted() {
        use crate::types::ResponseFormat;
        let tool = Tool::new("get_weather", "Weather", serde_json::json!({"type":"object"}));
        let call = ToolCall::new("call_1", "get_weather", r#"{"city":"Paris"}"#);
        let format = ResponseFormat::json_schema("p", serde_json::json!({"type":"object"}));
        let asst = Message::assistant_tool_calls("", vec![call.clone()]);
        let req = ChatCompletionRequest::new("m", vec![Message::user("abcd"), asst])
            .tool(tool.clone())
            .response_format(format.clone());
        let want = 4
            + json_chars(&serde_json::json!([tool.to_openai()]))
            + json_chars(&serde_json::json!([call.to_openai()]))
            + json_chars(&format.to_openai());
        assert_eq!(CharEstimator::default().count_prompt(&req), want.div_ceil(4));
        // The typed and the untyped (`extra`) forms of the same tool count the same.
        let plain = ChatCompletionRequest::new("m", vec![Message::user("abcd")]);
        let typed = plain.clone().tool(tool.clone());
        let untyped = plain.extra("tools", serde_json::json!([tool.to_openai()]));
        let c = CharEstimator::default();
        assert_eq!(c.count_prompt(&typed), c.count_prompt(&untyped));
    }
}
