//! What an entry's value holds: JSON, either the provider's own response body (re-read by
//! the provider's parser on a hit, so a hit is the same response a miss returned) or the
//! chunks of a completed stream, replayed in order.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::provider::wire;
use crate::provider_id::Provider;
use crate::types::{ChatCompletionChunk, ChatCompletionResponse, MessageRole, Usage};

/// An entry's value.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Stored {
    /// A chat completion: the provider's body and the request id header.
    Response { request_id: Option<String>, body: Value },
    /// A completed stream's chunks.
    Stream { request_id: Option<String>, chunks: Vec<StoredChunk> },
}

/// One chunk of a stored stream.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StoredChunk {
    id: String,
    model: String,
    delta: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<MessageRole>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    finish_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    usage: Option<Usage>,
}

impl From<&ChatCompletionChunk> for StoredChunk {
    fn from(c: &ChatCompletionChunk) -> Self {
        StoredChunk {
            id: c.id.clone(),
            model: c.model.clone(),
            delta: c.delta.clone(),
            role: c.role,
            finish_reason: c.finish_reason.clone(),
            usage: c.usage,
        }
    }
}

impl From<StoredChunk> for ChatCompletionChunk {
    fn from(c: StoredChunk) -> Self {
        ChatCompletionChunk {
            id: c.id,
            model: c.model,
            delta: c.delta,
            role: c.role,
            finish_reason: c.finish_reason,
            usage: c.usage,
        }
    }
}

/// A stored entry that cannot be read back (another program wrote the file, or a newer
/// version of this one).
fn unreadable(e: impl std::fmt::Display) -> Error {
    Error::Cache(format!("unreadable cache entry: {e}"))
}

impl Stored {
    /// The value's bytes.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        // Plain data (strings, numbers, a JSON value) always serialises.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a value back.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Stored> {
        serde_json::from_slice(bytes).map_err(unreadable)
    }

    /// The response of a stored chat completion, marked as cached.
    pub(crate) fn into_response(self, provider: Provider) -> Result<ChatCompletionResponse> {
        let Stored::Response { request_id, body } = self else {
            return Err(unreadable("a stream where a response was expected"));
        };
        let bytes = serde_json::to_vec(&body).map_err(unreadable)?;
        // No key: a stored body never held one, and there is nothing to redact.
        let mut resp = wire::parse_chat_response(provider, &bytes, request_id, "")?;
        resp.cached = true;
        Ok(resp)
    }

    /// The chunks (and request id) of a stored stream.
    pub(crate) fn into_chunks(self) -> Result<(Option<String>, Vec<ChatCompletionChunk>)> {
        let Stored::Stream { request_id, chunks } = self else {
            return Err(unreadable("a response where a stream was expected"));
        };
        Ok((request_id, chunks.into_iter().map(Into::into).collect()))
    }
}
