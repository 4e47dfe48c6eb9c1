//! The provider wire layer as the client sees it: one function per step of a call, dispatching
//! on [`Provider`] to the `openai`, `anthropic` and `openrouter` modules.
//!
//! Everything here is pure (bytes and headers in, typed values out), so the client owns all I/O
//! and every format can be tested without a network.

use std::time::SystemTime;

use serde_json::Value;
use ureq::http::HeaderMap;

use crate::error::{ApiError, Error};
use crate::limit::info::RateLimitInfo;
use crate::provider::headers::header_str;
use crate::provider::sse::SseEvent;
use crate::provider::{anthropic, openai, openai_responses, openrouter};
use crate::provider_id::Provider;
use crate::secret::ApiKey;
use crate::types::{ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse};

/// The chat endpoint, appended to the base URL (`https://api.openai.com/v1` + `/chat/completions`).
pub(crate) fn chat_path(p: Provider) -> &'static str {
    match p {
        Provider::Anthropic => "/messages",
        Provider::OpenAI | Provider::OpenRouter => "/chat/completions",
    }
}

/// The headers that authenticate a request and declare its JSON body.
pub(crate) fn auth_headers(p: Provider, api_key: &str) -> Vec<(&'static str, String)> {
    let json = ("content-type", "application/json".to_string());
    match p {
        Provider::Anthropic => vec![
            ("x-api-key", api_key.to_string()),
            ("anthropic-version", "2023-06-01".to_string()),
            json,
        ],
        Provider::OpenAI | Provider::OpenRouter => {
            vec![("authorization", format!("Bearer {api_key}")), json]
        }
    }
}

/// The JSON request body. `default_max_tokens` is used only where the provider requires a cap
/// (Anthropic) and the request has none. Errors: `Error::InvalidRequest` when the request has
/// no model, no messages (for Anthropic: no non-system message) or a non-finite float. The
/// request path writes it with [`write_chat_body`]; this tree is for the tests.
#[cfg(test)]
pub(crate) fn chat_body(
    p: Provider,
    req: &ChatCompletionRequest,
    stream: bool,
    default_max_tokens: u32,
) -> Result<Value, Error> {
    match p {
        Provider::Anthropic => anthropic::request::chat_body(req, stream, default_max_tokens),
        Provider::OpenAI | Provider::OpenRouter => openai::request::chat_body(p, req, stream),
    }
}

/// Writes the JSON request body to `out` (for OpenAI and OpenRouter straight from the request,
/// with no `Value` in between). `default_max_tokens` is used only where the provider requires
/// a cap (Anthropic) and the request has none. Errors: `Error::InvalidRequest` when the request
/// has no model, no messages (for Anthropic: no non-system message) or a non-finite float.
pub(crate) fn write_chat_body(
    p: Provider,
    req: &ChatCompletionRequest,
    stream: bool,
    default_max_tokens: u32,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    match p {
        Provider::Anthropic => {
            let body = anthropic::request::chat_body(req, stream, default_max_tokens)?;
            serde_json::to_writer(out, &body).map_err(|e| Error::InvalidRequest(e.to_string()))
        }
        Provider::OpenAI | Provider::OpenRouter => {
            openai::request::write_chat_body(p, req, stream, out)
        }
    }
}

/// Parses a 2xx body. A body that is an error (OpenRouter does this) is `Error::Api`, classified
/// like an HTTP error; its message is redacted with `api_key`.
pub(crate) fn parse_chat_response(
    p: Provider,
    body: &[u8],
    request_id: Option<String>,
    api_key: &str,
) -> Result<ChatCompletionResponse, Error> {
    match p {
        Provider::Anthropic => anthropic::response::parse_response(body, request_id, api_key),
        Provider::OpenAI | Provider::OpenRouter => {
            openai::response::parse_response(p, body, request_id, api_key)
        }
    }
}

/// Builds the error for a non-2xx answer: type, code, redacted message, request id, retry hint
/// and whether to retry (docs/providers.md §5). Any body is accepted, including non-JSON. `now` is
/// when the answer arrived, for HTTP-date and epoch retry hints.
pub(crate) fn parse_error(
    p: Provider,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    api_key: &str,
    now: SystemTime,
) -> ApiError {
    match p {
        Provider::OpenAI => openai::error::parse_error(status, headers, body, api_key, now),
        Provider::Anthropic => anthropic::error::parse_error(status, headers, body, api_key, now),
        Provider::OpenRouter => openrouter::error::parse_error(status, headers, body, api_key, now),
    }
}

/// What the response headers say about limits; `now` is when the response arrived.
pub(crate) fn parse_rate_limits(
    p: Provider,
    headers: &HeaderMap,
    now: SystemTime,
) -> RateLimitInfo {
    match p {
        Provider::OpenAI => openai::headers::parse_rate_limits(headers, now),
        Provider::Anthropic => anthropic::headers::parse_rate_limits(headers, now),
        Provider::OpenRouter => openrouter::headers::parse_rate_limits(headers, now),
    }
}

/// The request id header: `x-request-id` (OpenAI), `request-id` (Anthropic), `x-generation-id`
/// (OpenRouter); `x-request-id` as a fallback for proxies in front of any of them. Redacted and
/// shortened like a message: a proxy may echo anything there, the key included.
pub(crate) fn request_id(p: Provider, headers: &HeaderMap, key: &ApiKey) -> Option<String> {
    let primary = match p {
        Provider::OpenAI => "x-request-id",
        Provider::Anthropic => "request-id",
        Provider::OpenRouter => "x-generation-id",
    };
    header_str(headers, primary)
        .or_else(|| header_str(headers, "x-request-id"))
        .map(|id| crate::provider::api_error::clean_message_with(id, key))
}

/// What one SSE event means for the caller.
// Nearly every event is a chunk, handed on at once; boxing it would add an allocation per
// event to save stack space on the rare `Done`/`Ignore`.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum StreamEvent {
    /// A piece of the answer (text, role, finish reason and/or usage).
    Chunk(ChatCompletionChunk),
    /// The stream is complete (`[DONE]`, `message_stop`).
    Done,
    /// The last piece: the stream is complete after it (Responses' `response.completed`).
    Last(ChatCompletionChunk),
    /// Nothing for the caller (ping, content block bookkeeping, unknown events).
    Ignore,
}

/// Turns one stream's SSE events into [`StreamEvent`]s. Holds the state Anthropic needs (id,
/// model and input usage from `message_start`), so use one decoder per response.
pub(crate) struct StreamDecoder {
    provider: Provider,
    api_key: String,
    anthropic: anthropic::stream::AnthropicStream,
    /// Set for a stream from OpenAI's Responses API.
    responses: Option<openai_responses::stream::ResponsesStream>,
}

// Written by hand so that the key can never end up in a log line.
impl std::fmt::Debug for StreamDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamDecoder").field("provider", &self.provider).finish_non_exhaustive()
    }
}

impl StreamDecoder {
    /// A decoder for one response from `p`; `api_key` is only used to redact error messages.
    pub(crate) fn new(p: Provider, api_key: String) -> Self {
        StreamDecoder { provider: p, api_key, anthropic: Default::default(), responses: None }
    }

    /// A decoder for one stream from OpenAI's Responses API.
    pub(crate) fn responses(api_key: String) -> Self {
        let mut d = Self::new(Provider::OpenAI, api_key);
        d.responses = Some(Default::default());
        d
    }

    /// The event that ends a complete stream, for the error when it never came.
    pub(crate) fn terminator(&self) -> &'static str {
        match self.provider {
            _ if self.responses.is_some() => "response.completed",
            Provider::Anthropic => "message_stop",
            Provider::OpenAI | Provider::OpenRouter => "data: [DONE]",
        }
    }

    /// The Responses API's final object, once such a stream has ended normally.
    pub(crate) fn final_response(&self) -> Option<&Value> {
        self.responses.as_ref().and_then(|r| r.final_response())
    }

    /// The key to keep out of error messages.
    pub(crate) fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The usage the provider has reported so far, even if the stream has not finished:
    /// Anthropic's `message_start` gives the input tokens before any text.
    pub(crate) fn usage_so_far(&self) -> Option<crate::types::Usage> {
        match self.provider {
            Provider::Anthropic => self.anthropic.usage_so_far(),
            Provider::OpenAI | Provider::OpenRouter => None,
        }
    }

    /// The finish reason in the provider's own words, when it differs from the normalised one
    /// the chunks carry (Anthropic's `end_turn`, `stop_sequence`, ...).
    pub(crate) fn native_finish_reason(&self) -> Option<&str> {
        match self.provider {
            Provider::Anthropic => self.anthropic.native_stop_reason(),
            Provider::OpenAI | Provider::OpenRouter => None,
        }
    }

    /// Decodes one event. Errors: `Error::Api` for an error the provider reported in the stream
    /// (Anthropic `error` event, OpenAI/OpenRouter `error` chunk), `Error::Stream` for malformed
    /// JSON or a choice that ended with `finish_reason: "error"` without details.
    pub(crate) fn decode(&mut self, ev: &SseEvent) -> Result<StreamEvent, Error> {
        if let Some(r) = &mut self.responses {
            return r.decode(ev.event.as_deref(), &ev.data, &self.api_key);
        }
        match self.provider {
            Provider::Anthropic => {
                self.anthropic.decode(ev.event.as_deref(), &ev.data, &self.api_key)
            }
            Provider::OpenAI | Provider::OpenRouter => {
                openai::stream::decode(self.provider, &ev.data, &self.api_key)
            }
        }
    }
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
