//! Non-streaming responses in the OpenAI shape (OpenAI and OpenRouter) and their `usage`.
//!
//! OpenRouter can answer HTTP 200 with an `error` object, at the top level or inside a choice
//! with `finish_reason: "error"`, when the upstream failed after routing (docs/providers.md §3.3);
//! both become `Error::Api` so that they are classified and retried like an HTTP error.

use serde_json::Value;

use crate::error::Error;
use crate::provider::json::{parse_ok_object, shape_error};
use crate::provider::openrouter;
use crate::provider_id::Provider;
use crate::types::{ChatCompletionResponse, MessageRole, Usage};

use super::error::in_band_error as openai_in_band_error;
use super::response_reader::{role_named, usage_of, BodyVisitor};

/// Parses a 2xx body from OpenAI or OpenRouter, in one pass (`response_reader.rs`).
pub(crate) fn parse_response(
    p: Provider,
    body: &[u8],
    request_id: Option<String>,
    api_key: &str,
) -> Result<ChatCompletionResponse, Error> {
    let (read, raw) = parse_ok_object(p, body, BodyVisitor)?;
    // The top-level error first, then the first failed choice (as `in_band_error` looks).
    if let Some(err) = read.error.as_ref().or(read.choice_error.as_ref()) {
        return Err(api_error(p, err, api_key));
    }
    let Some(choices) = read.choices else {
        return Err(shape_error(p, "no `choices` array in the response"));
    };
    Ok(ChatCompletionResponse {
        id: read.id,
        model: read.model,
        provider: p,
        choices,
        usage: read.usage,
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
    Some(api_error(p, err, api_key))
}

/// An in-band `error` object as the API error it stands for.
fn api_error(p: Provider, err: &Value, api_key: &str) -> Error {
    let api = match p {
        Provider::OpenRouter => openrouter::error::in_band_error(err, api_key),
        _ => openai_in_band_error(err, api_key),
    };
    Error::Api(Box::new(api))
}

/// A wire role name, when it is one we know.
pub(crate) fn role_of(v: Option<&Value>) -> Option<MessageRole> {
    role_named(v?.as_str()?)
}

/// OpenAI-shaped usage (read as a non-streamed body's is, `response_reader.rs`):
/// `cached_tokens` becomes `cache_read_input_tokens`; OpenRouter's `cache_write_tokens` becomes
/// `cache_creation_input_tokens` and its `cost` is kept. `None` unless `v` is an object.
pub(crate) fn usage(v: &Value) -> Option<Usage> {
    usage_of(v)
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
