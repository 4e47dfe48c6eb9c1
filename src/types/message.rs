//! One chat message: its role, content, tool calls, reasoning, and every other field.

use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Content, ContentPart, MessageRole, ThinkingBlock, ToolCall};

/// One chat message.
///
/// Reading JSON keeps everything: `tool_calls`, `reasoning` and `thinking_blocks` are typed
/// when writing them back gives exactly the JSON that was read; anything else (another tool
/// kind, a field no type knows) stays in [`extra`](Self::extra) and is sent as is.
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
#[serde(from = "RawMessage")]
pub struct Message {
    /// Who wrote it.
    pub role: MessageRole,
    /// Text, or a list of parts (text, images, documents, any other kind kept as JSON).
    pub content: Content,
    /// The tool calls of an assistant turn, in the order the model made them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// The reasoning text, kept apart from the answer (OpenRouter `reasoning`, Anthropic
    /// thinking blocks joined).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// Anthropic's thinking blocks with their signatures, sent back to Anthropic as they came
    /// when this message is part of a later request (other providers do not receive them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub thinking_blocks: Vec<ThinkingBlock>,
    /// Any other field of the message (`name`, `tool_call_id`, `refusal`, ...), sent as is.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What serde reads before the typed fields are taken out of `extra`.
#[derive(Deserialize)]
struct RawMessage {
    role: MessageRole,
    #[serde(default)]
    content: Content,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

impl From<RawMessage> for Message {
    fn from(r: RawMessage) -> Self {
        let mut extra = r.extra;
        let tool_calls = take_exact(&mut extra, "tool_calls", |v: &Vec<ToolCall>| !v.is_empty());
        let reasoning = take_exact(&mut extra, "reasoning", |_: &String| true);
        let thinking =
            take_exact(&mut extra, "thinking_blocks", |v: &Vec<ThinkingBlock>| !v.is_empty());
        Message {
            role: r.role,
            content: r.content,
            tool_calls: tool_calls.unwrap_or_default(),
            reasoning,
            thinking_blocks: thinking.unwrap_or_default(),
            extra,
        }
    }
}

impl Message {
    /// A message read from a provider: the typed fields are taken out of `extra` when they
    /// are exact (see [`Message`]).
    pub(crate) fn from_wire(
        role: MessageRole,
        content: Content,
        extra: Map<String, Value>,
    ) -> Self {
        RawMessage { role, content, extra }.into()
    }
}

/// Takes `extra[key]` as a `T` when `keep` accepts it and writing it back gives exactly the
/// same JSON; otherwise leaves it in `extra`, untouched.
pub(crate) fn take_exact<T: Serialize + DeserializeOwned>(
    extra: &mut Map<String, Value>,
    key: &str,
    keep: impl Fn(&T) -> bool,
) -> Option<T> {
    let v = extra.get(key)?;
    let t: T = serde_json::from_value(v.clone()).ok()?;
    if !keep(&t) || serde_json::to_value(&t).ok().as_ref() != Some(v) {
        return None;
    }
    extra.remove(key);
    Some(t)
}

impl Message {
    /// A message with the given role and content (a `&str`, a `String` or parts).
    pub fn new(role: MessageRole, content: impl Into<Content>) -> Self {
        Message {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            reasoning: None,
            thinking_blocks: Vec::new(),
            extra: Map::new(),
        }
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

    /// A tool result answering the call `tool_call_id` (OpenAI: a `tool` message; Anthropic:
    /// a `tool_result` block in a user turn).
    ///
    /// ```
    /// use chat_limiter::Message;
    /// let m = Message::tool_result("call_1", r#"{"temp_c":21}"#);
    /// assert_eq!(m.tool_call_id(), Some("call_1"));
    /// ```
    pub fn tool_result(tool_call_id: impl Into<String>, content: impl Into<Content>) -> Self {
        let mut m = Message::new(MessageRole::Tool, content);
        m.extra.insert("tool_call_id".into(), Value::String(tool_call_id.into()));
        m
    }

    /// The call a tool result answers (`extra["tool_call_id"]`).
    pub fn tool_call_id(&self) -> Option<&str> {
        self.extra.get("tool_call_id").and_then(Value::as_str)
    }

    /// An assistant turn that made these tool calls (to send back in a follow-up request).
    /// A response's `choices[0].message` can be sent back as it is, too.
    pub fn assistant_tool_calls(text: impl Into<Content>, calls: Vec<ToolCall>) -> Self {
        let mut m = Message::assistant(text);
        m.tool_calls = calls;
        m
    }
}

#[cfg(test)]
#[path = "message_proptests.rs"]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_fields_read_and_write_back_exactly() {
        let v = json!({"role":"assistant","content":null,"reasoning":"think",
            "tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}],
            "thinking_blocks":[{"type":"thinking","thinking":"t","signature":"s"}],"refusal":null});
        let m: Message = serde_json::from_value(v.clone()).expect("reads");
        assert_eq!(m.tool_calls, vec![ToolCall::new("c1", "f", "{}")]);
        assert_eq!(m.reasoning.as_deref(), Some("think"));
        assert_eq!(m.thinking_blocks.len(), 1);
        assert_eq!(m.extra.keys().collect::<Vec<_>>(), ["refusal"]);
        assert_eq!(serde_json::to_value(&m).expect("ser"), v);
    }

    #[test]
    fn untyped_shapes_stay_in_extra() {
        for v in [
            json!({"role":"assistant","content":"","tool_calls":[{"id":"c","type":"custom","custom":{"name":"g","input":"x"}}]}),
            json!({"role":"assistant","content":"","tool_calls":[{"id":"c","type":"function","index":0,"function":{"name":"f","arguments":"{}"}}]}),
            json!({"role":"assistant","content":"","tool_calls":[]}),
            json!({"role":"assistant","content":"","reasoning":{"effort":"low"}}),
        ] {
            let m: Message = serde_json::from_value(v.clone()).expect("reads");
            assert!(m.tool_calls.is_empty() && m.reasoning.is_none(), "{v}");
            assert_eq!(serde_json::to_value(&m).expect("ser"), v);
        }
    }
}
