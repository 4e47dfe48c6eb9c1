//! Non-streaming responses in the OpenAI shape (OpenAI and OpenRouter) and their `usage`.
//!
//! OpenRouter can answer HTTP 200 with an `error` object, at the top level or inside a choice
//! with `finish_reason: "error"`, when the upstream failed after routing (docs/providers.md §3.3);
//! both become `Error::Api` so that they are classified and retried like an HTTP error.

use serde::de::{value::Error as DeError, IntoDeserializer};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::Error;
use crate::provider::json::{f64_of, obj_of, parse_ok_fields, shape_error, u64_of};
use crate::provider::openrouter;
use crate::provider_id::Provider;
use crate::types::{ChatCompletionResponse, Choice, Content, Message, MessageRole, Usage};

use super::error::in_band_error as openai_in_band_error;

/// The top-level fields the parser reads; the rest stays in `raw` only.
const FIELDS: &[&str] = &["id", "model", "choices", "usage", "error"];

/// Parses a 2xx body from OpenAI or OpenRouter.
pub(crate) fn parse_response(
    p: Provider,
    body: &[u8],
    request_id: Option<String>,
    api_key: &str,
) -> Result<ChatCompletionResponse, Error> {
    let (mut root, raw) = parse_ok_fields(p, body, FIELDS)?;
    if let Some(err) = in_band_error(p, &root, api_key) {
        return Err(err);
    }
    // The fields are moved out of the parsed tree, not copied: it is dropped right after.
    let choices = match root.get_mut("choices").map(Value::take) {
        Some(Value::Array(items)) => {
            items.into_iter().enumerate().map(|(i, c)| parse_choice(i, c)).collect()
        }
        _ => return Err(shape_error(p, "no `choices` array in the response")),
    };
    Ok(ChatCompletionResponse {
        id: take_string(&mut root, "id"),
        model: take_string(&mut root, "model"),
        provider: p,
        choices,
        usage: root.get("usage").and_then(usage),
        request_id,
        raw,
        cached: false,
    })
}

/// The error carried by a 2xx body or stream chunk, if any: a top-level `error` object, or a
/// choice that failed (`finish_reason: "error"` with an `error` object).
pub(crate) fn in_band_error(p: Provider, root: &Value, api_key: &str) -> Option<Error> {
    let failed_choice = root
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find_map(|c| c.get("error").filter(|e| e.is_object())));
    let err = root.get("error").filter(|e| e.is_object()).or(failed_choice)?;
    let api = match p {
        Provider::OpenRouter => openrouter::error::in_band_error(err, api_key),
        _ => openai_in_band_error(err, api_key),
    };
    Some(Error::Api(Box::new(api)))
}

fn parse_choice(position: usize, mut c: Value) -> Choice {
    let index =
        u64_of(c.get("index")).and_then(|i| u32::try_from(i).ok()).unwrap_or(position as u32);
    let finish_reason = Some(take_string(&mut c, "finish_reason")).filter(|s| !s.is_empty());
    Choice {
        index,
        message: match c.get_mut("message").map(Value::take) {
            Some(m) => message(m),
            None => Message::assistant(""),
        },
        finish_reason,
    }
}

/// `v[key]` moved out when it is a string, else empty.
fn take_string(v: &mut Value, key: &str) -> String {
    match v.get_mut(key).map(Value::take) {
        Some(Value::String(s)) => s,
        _ => String::new(),
    }
}

/// A response message: its content (text or parts), `tool_calls` and `reasoning` typed (when
/// exact), every other field (`refusal`, `annotations`, `reasoning_details`, ...) in `extra`
/// unless it is `null` or an empty list ([`says_nothing`]). A `content` that is neither text,
/// parts nor null is kept in `extra["content"]`.
pub(crate) fn message(v: Value) -> Message {
    let role = role_of(v.get("role")).unwrap_or(MessageRole::Assistant);
    let mut extra = Map::new();
    let mut content = Content::Text(String::new());
    if let Value::Object(o) = v {
        for (k, val) in o {
            if k == "content" {
                match val {
                    // The common case, moved as it is.
                    Value::String(text) => content = Content::Text(text),
                    Value::Null => {}
                    val => match serde_json::from_value::<Content>(val.clone()) {
                        Ok(Content::Null) => {}
                        Ok(c) => content = c,
                        Err(_) => {
                            extra.insert(k, val);
                        }
                    },
                }
            } else if k != "role" && !says_nothing(&val) {
                extra.insert(k, val);
            }
        }
    }
    Message::from_wire(role, content, extra)
}

/// A field that tells nothing: `null` (the provider's schema reads it as absent) or an empty
/// list (OpenAI's `annotations: []`, OpenRouter's `reasoning_details: []`). Such fields are left
/// out of `extra`: they would cost every kept response a map node (about 600 bytes; they are in
/// nearly every OpenAI answer), and left out they are also not sent back when the message
/// becomes part of a later request (where an empty `tool_calls` is refused). `raw` still has
/// them.
fn says_nothing(v: &Value) -> bool {
    v.is_null() || v.as_array().is_some_and(Vec::is_empty)
}

/// A wire role name, when it is one we know.
pub(crate) fn role_of(v: Option<&Value>) -> Option<MessageRole> {
    // Read from the borrowed string: a `from_value` would need its own copy of the value.
    let text: serde::de::value::StrDeserializer<'_, DeError> = v?.as_str()?.into_deserializer();
    MessageRole::deserialize(text).ok()
}

/// OpenAI-shaped usage: `cached_tokens` becomes `cache_read_input_tokens`; OpenRouter's
/// `cache_write_tokens` becomes `cache_creation_input_tokens` and its `cost` is kept.
pub(crate) fn usage(v: &Value) -> Option<Usage> {
    let o = obj_of(Some(v))?;
    let prompt = u64_of(o.get("prompt_tokens")).unwrap_or(0);
    let completion = u64_of(o.get("completion_tokens")).unwrap_or(0);
    let details = o.get("prompt_tokens_details");
    // Built field by field: `Usage::new` adds without saturating, and these are untrusted.
    Some(Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: u64_of(o.get("total_tokens")).unwrap_or(prompt.saturating_add(completion)),
        cache_creation_input_tokens: details.and_then(|d| u64_of(d.get("cache_write_tokens"))),
        cache_read_input_tokens: details.and_then(|d| u64_of(d.get("cached_tokens"))),
        cost: f64_of(o.get("cost")),
        reasoning_tokens: o
            .get("completion_tokens_details")
            .and_then(|d| u64_of(d.get("reasoning_tokens"))),
    })
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
