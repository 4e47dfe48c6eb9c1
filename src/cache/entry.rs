//! What an entry's value holds: JSON, either the provider's own response body (re-read by
//! the provider's parser on a hit, so a hit is the same response a miss returned) or the
//! chunks of a completed stream, replayed in order.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::types::{
    ChatCompletionChunk, ChatCompletionResponse, MessageRole, RawJson, ToolCallDelta, Usage,
};

/// Reads a stored body back into a response: the parser of the call's wire.
pub(crate) type Parse<'a> = &'a dyn Fn(&[u8], Option<String>) -> Result<ChatCompletionResponse>;

/// An entry's value: `{"kind": "response", "request_id": ..., "body": {...}}` or
/// `{"kind": "stream", "request_id": ..., "chunks": [...]}`. Written by serde's internal
/// tagging, read through [`Fields`] (an internally tagged enum buffers its content, and a
/// buffered body could not be read as the verbatim [`RawJson`]).
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Stored {
    /// A chat completion: the provider's body, byte for byte, and the request id header.
    Response { request_id: Option<String>, body: RawJson },
    /// A completed stream's chunks.
    Stream { request_id: Option<String>, chunks: Vec<StoredChunk> },
}

/// Every field of either kind of value, as [`Stored::from_bytes`] reads them.
#[derive(Deserialize)]
struct Fields {
    kind: String,
    request_id: Option<String>,
    body: Option<RawJson>,
    chunks: Option<Vec<StoredChunk>>,
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<StoredToolCall>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    reasoning: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    thinking_signature: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    redacted_thinking: Option<String>,
}

/// A piece of a tool call in a stored chunk.
#[derive(Debug, Serialize, Deserialize)]
struct StoredToolCall {
    index: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    arguments: String,
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
            tool_calls: c
                .tool_calls
                .iter()
                .map(|t| StoredToolCall {
                    index: t.index,
                    id: t.id.clone(),
                    name: t.name.clone(),
                    arguments: t.arguments.clone(),
                })
                .collect(),
            reasoning: c.reasoning.clone(),
            thinking_signature: c.thinking_signature.clone(),
            redacted_thinking: c.redacted_thinking.clone(),
        }
    }
}

impl From<StoredChunk> for ChatCompletionChunk {
    /// Every field by name: a field added to the chunk fails to compile here until the cache
    /// stores it too.
    fn from(c: StoredChunk) -> Self {
        ChatCompletionChunk {
            id: c.id,
            model: c.model,
            delta: c.delta,
            role: c.role,
            finish_reason: c.finish_reason,
            usage: c.usage,
            tool_calls: c
                .tool_calls
                .into_iter()
                .map(|t| ToolCallDelta::new(t.index, t.id, t.name, t.arguments))
                .collect(),
            reasoning: c.reasoning,
            thinking_signature: c.thinking_signature,
            redacted_thinking: c.redacted_thinking,
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
        let f: Fields = serde_json::from_slice(bytes).map_err(unreadable)?;
        match (f.kind.as_str(), f.body, f.chunks) {
            ("response", Some(body), _) => Ok(Stored::Response { request_id: f.request_id, body }),
            ("stream", _, Some(chunks)) => Ok(Stored::Stream { request_id: f.request_id, chunks }),
            (kind @ ("response" | "stream"), ..) => {
                Err(unreadable(format!("a `{kind}` value without its data")))
            }
            (kind, ..) => Err(unreadable(format!("an unknown kind of value, `{kind}`"))),
        }
    }

    /// The response of a stored chat completion, read back by `parse` (the parser of the
    /// call's own wire, given the body and the request id) and marked as cached.
    pub(crate) fn into_response(self, parse: Parse<'_>) -> Result<ChatCompletionResponse> {
        let Stored::Response { request_id, body } = self else {
            return Err(unreadable("a stream where a response was expected"));
        };
        let mut resp = parse(body.as_str().as_bytes(), request_id)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::wire::parse_chat_response;
    use crate::provider_id::Provider;

    const BODY: &str = "{\"id\": \"c\", \"model\": \"m\", \"created\": 1.0, \"x\": 1e400,\n \"choices\": [{\"index\": 0, \"message\": {\"role\": \"assistant\", \"content\": \"\\u00e9\"}, \"finish_reason\": \"stop\"}]}";

    fn parse(bytes: &[u8], request_id: Option<String>) -> Result<ChatCompletionResponse> {
        parse_chat_response(Provider::OpenAI, bytes, request_id, "")
    }

    #[test]
    fn a_stored_body_is_written_and_read_back_byte_for_byte() {
        let resp = parse(BODY.as_bytes(), Some("req_1".into())).expect("parses");
        let stored = Stored::Response { request_id: resp.request_id.clone(), body: resp.raw };
        let bytes = stored.to_bytes();
        let text = String::from_utf8(bytes.clone()).expect("utf-8");
        assert_eq!(
            text,
            format!("{{\"kind\":\"response\",\"request_id\":\"req_1\",\"body\":{BODY}}}")
        );
        let back = Stored::from_bytes(&bytes).expect("reads").into_response(&parse).expect("hit");
        assert_eq!(back.raw.as_str(), BODY, "the provider's bytes, not a re-spelling");
        assert_eq!((back.text().as_ref(), back.cached), ("é", true));
        assert_eq!(back.request_id.as_deref(), Some("req_1"));
    }

    #[test]
    fn entries_written_before_raw_was_text_still_read() {
        // What the cache wrote when `raw` was a `Value` (compact, keys sorted).
        let old = br#"{"kind":"response","request_id":null,"body":{"choices":[{"finish_reason":"stop","index":0,"message":{"content":"hi","role":"assistant"}}],"id":"c","model":"m"}}"#;
        let r = Stored::from_bytes(old).expect("reads").into_response(&parse).expect("hit");
        assert_eq!((r.text().as_ref(), r.id.as_str(), r.request_id.as_deref()), ("hi", "c", None));
        let stream =
            br#"{"kind":"stream","request_id":"q","chunks":[{"id":"c","model":"m","delta":"a"}]}"#;
        let (id, chunks) =
            Stored::from_bytes(stream).expect("reads").into_chunks().expect("chunks");
        assert_eq!((id.as_deref(), chunks.len(), chunks[0].delta.as_str()), (Some("q"), 1, "a"));
    }

    #[test]
    fn a_stream_round_trips_and_a_mismatch_is_unreadable() {
        let chunk = ChatCompletionChunk { delta: "x".into(), ..Default::default() };
        let stored = Stored::Stream { request_id: None, chunks: vec![StoredChunk::from(&chunk)] };
        let back = Stored::from_bytes(&stored.to_bytes()).expect("reads");
        assert_eq!(back.into_chunks().expect("chunks").1, vec![chunk]);
        let stream = Stored::from_bytes(&stored.to_bytes()).expect("reads");
        assert!(matches!(stream.into_response(&parse), Err(Error::Cache(_))));
        for bad in [
            &br#"{"kind":"response","request_id":null}"#[..],
            br#"{"kind":"stream"}"#,
            br#"{"kind":"other","body":{}}"#,
            br#"{"kind":"response","body":{"a":}}"#,
            b"[]",
        ] {
            let err = Stored::from_bytes(bad).expect_err("unreadable");
            assert!(err.to_string().contains("unreadable cache entry"), "{err}");
        }
    }
}
