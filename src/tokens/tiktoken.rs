//! Exact prompt token counts for OpenAI models with `tiktoken-rs` (feature `tiktoken`).
//!
//! The BPE tables are compiled into `tiktoken-rs` (no download, no file access) and each is
//! parsed once per process, on first use, then shared by every counter and thread.

use std::sync::OnceLock;

use tiktoken_rs::tokenizer::{get_tokenizer, Tokenizer};
use tiktoken_rs::CoreBPE;

use super::{definition_text, tool_call_text, CharEstimator, TokenCounter};
use crate::types::{ChatCompletionRequest, Message};

/// Tokens the chat format adds around every message (`<|start|>{role}\n … <|end|>`), per the
/// OpenAI cookbook for every model since `gpt-3.5-turbo-0613`; the role itself is counted too.
const PER_MESSAGE: u64 = 3;
/// Extra token when a message has a `name`.
const PER_NAME: u64 = 1;
/// Every reply is primed with `<|start|>assistant<|message|>`.
const REPLY_PRIMING: u64 = 3;

/// A BPE encoding used by OpenAI chat models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TiktokenEncoding {
    /// `o200k_base`: gpt-4o, gpt-4.1, gpt-4.5, gpt-5, the o-series, gpt-oss.
    O200kBase,
    /// `cl100k_base`: gpt-4 and gpt-3.5-turbo.
    Cl100kBase,
}

impl TiktokenEncoding {
    /// The encoding of an OpenAI model, or `None` for a model tiktoken does not know.
    ///
    /// Dated snapshots (`gpt-4o-2024-08-06`), fine-tunes (`ft:gpt-4o-mini:org::id`) and
    /// OpenRouter names (`openai/gpt-4o`) are recognised.
    pub fn for_model(model: &str) -> Option<Self> {
        let model = model.strip_prefix("openai/").unwrap_or(model);
        match get_tokenizer(model) {
            Some(Tokenizer::O200kBase | Tokenizer::O200kHarmony) => Some(Self::O200kBase),
            Some(Tokenizer::Cl100kBase) => Some(Self::Cl100kBase),
            Some(_) => None,
            // o-series names tiktoken-rs has not caught up with yet (`o5`, `o3-pro`...).
            None if model.len() > 1
                && model.starts_with('o')
                && model[1..].starts_with(|c: char| c.is_ascii_digit()) =>
            {
                Some(Self::O200kBase)
            }
            None => None,
        }
    }

    /// The number of tokens in `text`, special-token look-alikes (`<|endoftext|>`) counted as
    /// the ordinary text the API treats them as.
    pub fn count(self, text: &str) -> u64 {
        self.bpe().count_ordinary(text) as u64
    }

    /// The tokenizer, parsed on first use and then shared for the life of the process.
    fn bpe(self) -> &'static CoreBPE {
        static O200K: OnceLock<&'static CoreBPE> = OnceLock::new();
        static CL100K: OnceLock<&'static CoreBPE> = OnceLock::new();
        match self {
            Self::O200kBase => O200K.get_or_init(tiktoken_rs::o200k_base_singleton),
            Self::Cl100kBase => CL100K.get_or_init(tiktoken_rs::cl100k_base_singleton),
        }
    }

    /// The prompt tokens of `messages` as OpenAI reports them in `usage.prompt_tokens` for
    /// plain-text messages: each message's role, content and name, the per-message framing
    /// and the reply priming. Tool calls of earlier turns add the tokens of their JSON text
    /// (an estimate: OpenAI renders them in its own format, of about that size).
    pub fn count_messages(self, messages: &[Message]) -> u64 {
        let per_message = messages.iter().map(|m| {
            let mut n = PER_MESSAGE + self.count(m.role.as_str()) + self.count(&m.text());
            n += self.count(&tool_call_text(m));
            if let Some(name) = m.extra.get("name").and_then(|v| v.as_str()) {
                n += self.count(name) + PER_NAME;
            }
            n
        });
        per_message.sum::<u64>() + REPLY_PRIMING
    }
}

/// Exact prompt counts for OpenAI models with tiktoken (feature `tiktoken`).
///
/// Counts what OpenAI reports as `usage.prompt_tokens` for plain-text messages (the cookbook's
/// rule: the tokens of each message's role, content and name, 3 framing tokens per message,
/// 1 more per `name`, 3 to prime the reply), so the limiter reserves what the bucket will
/// really be charged. `o200k_base` is used for gpt-4o, gpt-4.1, gpt-4.5, gpt-5, the o-series
/// and gpt-oss, `cl100k_base` for gpt-4 and gpt-3.5-turbo; OpenRouter's `openai/…` names
/// map to the same. Images and documents are added by [`TokenCounter::count_media`]; tool
/// definitions, a response format's schema and the tool calls of earlier turns add the tokens
/// of their JSON text (an estimate of OpenAI's own rendering of them).
///
/// Models tiktoken does not know (Claude, Llama, an unknown OpenAI name) fall back to
/// [`CharEstimator`] by default, since another vendor's tokenizer is not o200k; choose
/// [`fallback_encoding`](Self::fallback_encoding) to count them with an encoding instead.
///
/// ```
/// use std::sync::Arc;
/// use chat_limiter::{ChatCompletionRequest, ChatLimiter, Message, Provider, TiktokenCounter, TokenCounter};
///
/// let counter = TiktokenCounter::new();
/// let req = ChatCompletionRequest::new("gpt-4o", vec![Message::user("tiktoken is great!")]);
/// assert_eq!(counter.count_prompt(&req), 3 + 1 + 6 + 3); // framing, "user", text, priming
///
/// let limiter = ChatLimiter::builder()
///     .provider(Provider::OpenAI)
///     .api_key("sk-example")
///     .token_counter(Arc::new(TiktokenCounter::new()))
///     .build()?;
/// # Ok::<_, chat_limiter::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TiktokenCounter {
    fallback: Option<TiktokenEncoding>,
    chars: CharEstimator,
}

impl TiktokenCounter {
    /// A counter that uses [`CharEstimator`] for models tiktoken does not know.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts models tiktoken does not know with `encoding` instead of the character
    /// estimate (`O200kBase` is a fair guess for an unknown new OpenAI model).
    #[must_use]
    pub fn fallback_encoding(mut self, encoding: TiktokenEncoding) -> Self {
        self.fallback = Some(encoding);
        self
    }

    /// The encoding used for `model`, or `None` when the character estimate is used.
    pub fn encoding_for(&self, model: &str) -> Option<TiktokenEncoding> {
        TiktokenEncoding::for_model(model).or(self.fallback)
    }
}

impl TokenCounter for TiktokenCounter {
    fn count_prompt(&self, request: &ChatCompletionRequest) -> u64 {
        match self.encoding_for(&request.model) {
            Some(enc) => {
                enc.count_messages(&request.messages) + enc.count(&definition_text(request))
            }
            None => self.chars.count_prompt(request),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_map_to_their_encodings() {
        use TiktokenEncoding::{Cl100kBase, O200kBase};
        for (model, enc) in [
            ("gpt-4o", Some(O200kBase)),
            ("gpt-4o-mini-2024-07-18", Some(O200kBase)),
            ("gpt-4.1-nano", Some(O200kBase)),
            ("gpt-5", Some(O200kBase)),
            ("gpt-5-mini", Some(O200kBase)),
            ("o1", Some(O200kBase)),
            ("o3-mini", Some(O200kBase)),
            ("o7", Some(O200kBase)),
            ("openai/gpt-4o", Some(O200kBase)),
            ("ft:gpt-4o-mini-2024-07-18:org::abc", Some(O200kBase)),
            ("gpt-4", Some(Cl100kBase)),
            ("gpt-4-turbo", Some(Cl100kBase)),
            ("gpt-3.5-turbo-0125", Some(Cl100kBase)),
            ("claude-sonnet-4-5", None),
            ("meta-llama/llama-3-70b", None),
            ("omni", None),
        ] {
            assert_eq!(TiktokenEncoding::for_model(model), enc, "{model}");
        }
    }

    #[test]
    fn tools_and_tool_calls_are_counted() {
        use crate::types::{Tool, ToolCall};
        let enc = TiktokenEncoding::O200kBase;
        let plain = ChatCompletionRequest::new("gpt-4o", vec![Message::user("hi")]);
        let tool =
            Tool::new("get_weather", "Weather of a city", serde_json::json!({"type":"object"}));
        let with_tool = plain.clone().tool(tool.clone());
        let c = TiktokenCounter::new();
        let tool_tokens = enc.count(&serde_json::json!([tool.to_openai()]).to_string());
        assert!(tool_tokens > 5);
        assert_eq!(c.count_prompt(&with_tool), c.count_prompt(&plain) + tool_tokens);
        let call = ToolCall::new("call_1", "get_weather", r#"{"city":"Paris"}"#);
        let mut msgs = plain.messages.clone();
        msgs.push(Message::assistant_tool_calls("", vec![call.clone()]));
        let call_tokens = enc.count(&serde_json::json!([call.to_openai()]).to_string());
        let base = enc.count_messages(&[plain.messages[0].clone(), Message::assistant("")]);
        assert_eq!(enc.count_messages(&msgs), base + call_tokens);
    }

    #[test]
    fn unknown_models_use_the_fallback() {
        let req = ChatCompletionRequest::new("claude-sonnet-4-5", vec![Message::user("abcdefgh")]);
        assert_eq!(TiktokenCounter::new().count_prompt(&req), 2, "ceil(8 / 4)");
        let o200k = TiktokenCounter::new().fallback_encoding(TiktokenEncoding::O200kBase);
        assert_eq!(o200k.encoding_for("claude-sonnet-4-5"), Some(TiktokenEncoding::O200kBase));
        assert!(o200k.count_prompt(&req) > 6, "framing and priming are added");
    }
}
