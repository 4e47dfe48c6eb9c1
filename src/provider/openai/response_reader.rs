//! The one-pass reader of an OpenAI-shaped answer (OpenAI and OpenRouter): serde visitors that
//! read the fields the parser keeps (`id`, `model`, `choices`, `usage`, `error`) straight from
//! the body's text into the typed response, and skip the rest.
//!
//! Why not a `Value` of the kept fields, then the typed response from it: that tree costs an
//! allocation per key and per map node (about 35 for a one-choice answer, a third of a
//! request's allocations) only to be taken apart at once. Here keys are matched borrowed,
//! numbers are read as numbers, and only what the response keeps is allocated: its strings,
//! and the `extra` fields of a message.
//!
//! The readers are as lenient as the `Value` code they replace: a field of the wrong type reads
//! as absent (an `id` that is a number is empty, a `usage` that is a string is no usage), and
//! a repeated field keeps its last value, as a `Value` would. The same readers take a `Value`
//! (a stream chunk's `usage`), so there is one reading of each shape.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::provider::json::Key;
use crate::provider::lenient::{read, Lenient, Number, OwnedKey, Text};
use crate::types::{Choice, Content, Message, MessageRole, Usage};

use serde::de::{value::Error as DeError, IntoDeserializer};
use serde::Deserialize;

/// The fields a 2xx body is read for.
#[derive(Default)]
pub(super) struct Body {
    pub id: String,
    pub model: String,
    /// `None`: the body has no `choices` array.
    pub choices: Option<Vec<Choice>>,
    /// The `error` object of the first choice that failed.
    pub choice_error: Option<Value>,
    pub usage: Option<Usage>,
    /// A top-level `error` object (OpenRouter's failures after routing).
    pub error: Option<Value>,
}

/// A choice as read, before its position is known.
struct Read1 {
    index: Option<u32>,
    message: Message,
    finish_reason: Option<String>,
    error: Option<Value>,
}

/// The top level of a body: an object (anything else is a data error, which the caller
/// reports as a body of the wrong shape).
pub(super) struct BodyVisitor;

impl<'de> Visitor<'de> for BodyVisitor {
    type Value = Body;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Body, A::Error> {
        const FIELDS: &[&str] = &["id", "model", "choices", "usage", "error"];
        let mut body = Body::default();
        while let Some(key) = map.next_key_seed(Key(FIELDS))? {
            match key {
                Some("id") => body.id = map.next_value_seed(read(Text))?.unwrap_or_default(),
                Some("model") => body.model = map.next_value_seed(read(Text))?.unwrap_or_default(),
                Some("choices") => {
                    let read = map.next_value_seed(read(Choices))?;
                    (body.choices, body.choice_error) =
                        read.map_or((None, None), |(c, e)| (Some(c), e));
                }
                Some("usage") => body.usage = map.next_value_seed(read(UsageReader))?,
                Some(_) => body.error = Some(map.next_value::<Value>()?).filter(Value::is_object),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(body)
    }
}

/// OpenAI-shaped usage read from a `Value` (a stream chunk's): `None` unless it is an object.
pub(super) fn usage_of(v: &Value) -> Option<Usage> {
    read(UsageReader).deserialize(v).ok().flatten()
}

/// A message role we know, read from the borrowed string.
struct Role;
impl<'de> Lenient<'de> for Role {
    type Out = Option<MessageRole>;
    fn string(self, s: Cow<'de, str>) -> Option<MessageRole> {
        role_named(&s)
    }
}

/// The named integers of an object (`prompt_tokens_details`, `completion_tokens_details`).
struct Counts(&'static [&'static str]);
impl<'de> Lenient<'de> for Counts {
    type Out = Option<[Option<u64>; 2]>;
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Out, A::Error> {
        let mut out = [None; 2];
        while let Some(key) = map.next_key_seed(Key(self.0))? {
            match self.0.iter().position(|k| Some(*k) == key) {
                Some(i) if i < 2 => out[i] = map.next_value_seed(read(Number))?.int,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Some(out))
    }
}

/// OpenAI-shaped usage: `cached_tokens` becomes `cache_read_input_tokens`; OpenRouter's
/// `cache_write_tokens` becomes `cache_creation_input_tokens` and its `cost` is kept.
struct UsageReader;
impl<'de> Lenient<'de> for UsageReader {
    type Out = Option<Usage>;
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Usage>, A::Error> {
        const FIELDS: &[&str] = &[
            "prompt_tokens",
            "completion_tokens",
            "total_tokens",
            "prompt_tokens_details",
            "completion_tokens_details",
            "cost",
        ];
        let (mut prompt, mut completion, mut total, mut cost) = (None, None, None, None);
        let (mut details, mut out_details) = (None, None);
        while let Some(key) = map.next_key_seed(Key(FIELDS))? {
            match key {
                Some("prompt_tokens") => prompt = map.next_value_seed(read(Number))?.int,
                Some("completion_tokens") => completion = map.next_value_seed(read(Number))?.int,
                Some("total_tokens") => total = map.next_value_seed(read(Number))?.int,
                Some("cost") => cost = map.next_value_seed(read(Number))?.float,
                Some("prompt_tokens_details") => {
                    details = map
                        .next_value_seed(read(Counts(&["cache_write_tokens", "cached_tokens"])))?;
                }
                Some(_) => {
                    out_details = map.next_value_seed(read(Counts(&["reasoning_tokens"])))?;
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let (prompt, completion) = (prompt.unwrap_or(0), completion.unwrap_or(0));
        let [cache_write, cache_read] = details.unwrap_or_default();
        // Built field by field: `Usage::new` adds without saturating, and these are untrusted.
        Ok(Some(Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: total.unwrap_or(prompt.saturating_add(completion)),
            cache_creation_input_tokens: cache_write,
            cache_read_input_tokens: cache_read,
            cost,
            reasoning_tokens: out_details.and_then(|[r, _]| r),
        }))
    }
}

/// The `choices` array and the first failed choice's `error` (`None` when it is not an
/// array).
struct Choices;
impl<'de> Lenient<'de> for Choices {
    type Out = Option<(Vec<Choice>, Option<Value>)>;
    fn seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Out, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(1));
        let mut first_error = None;
        while let Some(c) = seq.next_element_seed(read(ChoiceReader))? {
            let position = u32::try_from(out.len()).unwrap_or(u32::MAX);
            out.push(match c {
                Some(c) => {
                    if first_error.is_none() {
                        first_error = c.error;
                    }
                    Choice {
                        index: c.index.unwrap_or(position),
                        message: c.message,
                        finish_reason: c.finish_reason,
                    }
                }
                // A choice that is not an object is an empty answer at its position.
                None => {
                    Choice { index: position, message: Message::assistant(""), finish_reason: None }
                }
            });
        }
        Ok(Some((out, first_error)))
    }
}

/// A choice's message when its `message` is there but not an object.
fn empty_message() -> Message {
    Message::from_wire(MessageRole::Assistant, Content::Text(String::new()), Map::new())
}

/// One choice: its `index`, message, finish reason and `error`.
struct ChoiceReader;
impl<'de> Lenient<'de> for ChoiceReader {
    type Out = Option<Read1>;
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Out, A::Error> {
        const FIELDS: &[&str] = &["index", "message", "finish_reason", "error"];
        let (mut index, mut message, mut finish_reason, mut error) = (None, None, None, None);
        while let Some(key) = map.next_key_seed(Key(FIELDS))? {
            match key {
                Some("index") => index = map.next_value_seed(read(Number))?.int,
                Some("message") => message = Some(map.next_value_seed(read(MessageReader))?),
                Some("finish_reason") => finish_reason = map.next_value_seed(read(Text))?,
                Some(_) => error = Some(map.next_value::<Value>()?).filter(Value::is_object),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Some(Read1 {
            index: index.and_then(|i| u32::try_from(i).ok()),
            message: match message {
                Some(m) => m.unwrap_or_else(empty_message),
                None => Message::assistant(""),
            },
            finish_reason: finish_reason.filter(|s| !s.is_empty()),
            error,
        }))
    }
}

/// A response message: its content (text or parts), `tool_calls` and `reasoning` typed (when
/// exact), every other field (`refusal`, `annotations`, `reasoning_details`, ...) in `extra`
/// unless it says nothing (`says_nothing`). A `content` that is neither text, parts nor null is
/// kept in `extra["content"]`. `None`: the message is not an object.
struct MessageReader;
impl<'de> Lenient<'de> for MessageReader {
    type Out = Option<Message>;
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Message>, A::Error> {
        let mut role = None;
        let mut content = Content::Text(String::new());
        let mut extra = Map::new();
        while let Some(key) = map.next_key_seed(OwnedKey(PhantomData))? {
            match key.as_ref() {
                "role" => role = map.next_value_seed(read(Role))?,
                "content" => {
                    // A repeated `content` replaces the one before, as in a `Value`.
                    content = Content::Text(String::new());
                    extra.remove("content");
                    match map.next_value::<Value>()? {
                        // The common case, moved as it is.
                        Value::String(text) => content = Content::Text(text),
                        Value::Null => {}
                        val => match serde_json::from_value::<Content>(val.clone()) {
                            Ok(Content::Null) => {}
                            Ok(c) => content = c,
                            Err(_) => {
                                extra.insert(key.into_owned(), val);
                            }
                        },
                    }
                }
                _ => {
                    let val = map.next_value::<Value>()?;
                    if says_nothing(&val) {
                        extra.remove(key.as_ref());
                    } else {
                        extra.insert(key.into_owned(), val);
                    }
                }
            }
        }
        Ok(Some(Message::from_wire(role.unwrap_or(MessageRole::Assistant), content, extra)))
    }
}

/// A field that tells nothing: `null` (the provider's schema reads it as absent) or an empty
/// list (OpenAI's `annotations: []`, OpenRouter's `reasoning_details: []`). Such fields are left
/// out of `extra`: they would cost every kept response a map node (about 600 bytes; they are in
/// nearly every OpenAI answer), and left out they are also not sent back when the message
/// becomes part of a later request (where an empty `tool_calls` is refused). `raw` still has
/// them.
pub(super) fn says_nothing(v: &Value) -> bool {
    v.is_null() || v.as_array().is_some_and(Vec::is_empty)
}

/// The role a wire name stands for, when it is one we know.
pub(super) fn role_named(name: &str) -> Option<MessageRole> {
    // Read from the borrowed string: a `from_value` would need its own copy of the value.
    let text: serde::de::value::StrDeserializer<'_, DeError> = name.into_deserializer();
    MessageRole::deserialize(text).ok()
}
