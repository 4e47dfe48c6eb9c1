//! Request bodies in the OpenAI Chat Completions shape, used by OpenAI and OpenRouter.
//!
//! The two differ in three places only: OpenAI does not know `top_k`, OpenAI's reasoning models
//! reject `max_tokens` (docs/providers.md §1.2), and only OpenAI needs `stream_options` to report
//! usage in a stream (OpenRouter always does, §3.2).

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{json, Map, Value};

use crate::error::Error;
use crate::provider_id::Provider;
use crate::types::{ChatCompletionRequest, Content, Message, Thinking, Tool, ToolCall};

/// The `extra` key of an Anthropic answer's blocks that have no unified field.
pub(crate) const ANTHROPIC_BLOCKS: &str = "content_blocks";

/// The JSON body for `p` (OpenAI or OpenRouter) as a `Value`: what [`write_chat_body`] writes,
/// as a tree the tests can index.
#[cfg(test)]
pub(crate) fn chat_body(
    p: Provider,
    req: &ChatCompletionRequest,
    stream: bool,
) -> Result<Value, Error> {
    serde_json::to_value(ChatBody::new(p, req, stream)?)
        .map_err(|e| Error::InvalidRequest(e.to_string()))
}

/// Writes the JSON body for `p` (OpenAI or OpenRouter) to `out`.
///
/// `extra` fields override the typed ones (a typed field that `extra` also has is not
/// written), but never the streaming fields: those must match how the client reads the
/// answer, so they are set from `stream`.
///
/// Written straight from the request rather than built as a `Value` and serialised: the tree
/// cost an allocation per field and per message (its keys, maps and copied strings), for a
/// body that is only ever written out.
pub(crate) fn write_chat_body(
    p: Provider,
    req: &ChatCompletionRequest,
    stream: bool,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    serde_json::to_writer(out, &ChatBody::new(p, req, stream)?)
        .map_err(|e| Error::InvalidRequest(e.to_string()))
}

/// A checked request, ready to be written: everything that can refuse it (an empty model or
/// message list, a part OpenAI cannot take, a non-finite float, reasoning settings the
/// provider has no field for) has been tried, in the order the fields are written, whether or
/// not `extra` overrides the field.
struct ChatBody<'a> {
    p: Provider,
    req: &'a ChatCompletionRequest,
    stream: bool,
    /// The content of each message whose content is parts, in OpenAI's shape, in order.
    parts: Vec<Value>,
    /// Tools, tool choice, response format and reasoning (see [`features`]).
    features: Vec<(&'static str, Value)>,
}

impl<'a> ChatBody<'a> {
    fn new(p: Provider, req: &'a ChatCompletionRequest, stream: bool) -> Result<Self, Error> {
        check_common(req)?;
        let parts = req
            .messages
            .iter()
            .filter(|m| matches!(m.content, Content::Parts(_)))
            .map(|m| openai_content(&m.content))
            .collect::<Result<Vec<Value>, Error>>()?;
        for (name, v) in [
            ("temperature", req.temperature),
            ("top_p", req.top_p),
            ("frequency_penalty", req.frequency_penalty),
            ("presence_penalty", req.presence_penalty),
        ] {
            check_f64(name, v)?;
        }
        let features = features(p, req)?;
        Ok(ChatBody { p, req, stream, parts, features })
    }
}

impl Serialize for ChatBody<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (p, req) = (self.p, self.req);
        let (mut map, x) = (s.serialize_map(None)?, &req.extra);
        typed(&mut map, x, "model", &req.model)?;
        let messages = Messages { messages: &req.messages, parts: &self.parts };
        typed(&mut map, x, "messages", &messages)?;
        if let Some(n) = req.max_tokens {
            let field = if p == Provider::OpenAI && is_reasoning_model(&req.model) {
                "max_completion_tokens"
            } else {
                "max_tokens"
            };
            typed(&mut map, x, field, &n)?;
        }
        let floats = [("temperature", req.temperature), ("top_p", req.top_p)];
        for (name, v) in floats {
            if let Some(v) = v {
                typed(&mut map, x, name, &v)?;
            }
        }
        if let Some(stop) = &req.stop {
            typed(&mut map, x, "stop", stop)?;
        }
        let floats = [
            ("frequency_penalty", req.frequency_penalty),
            ("presence_penalty", req.presence_penalty),
        ];
        for (name, v) in floats {
            if let Some(v) = v {
                typed(&mut map, x, name, &v)?;
            }
        }
        if p == Provider::OpenRouter {
            if let Some(k) = req.top_k {
                typed(&mut map, x, "top_k", &k)?;
            }
        }
        for (name, v) in &self.features {
            typed(&mut map, x, name, v)?;
        }
        // The streaming fields are the client's: `extra`'s are dropped (OpenRouter keeps a
        // `stream_options` of the caller's when streaming, as it needs none of its own).
        let own_options = !self.stream || p == Provider::OpenAI;
        for (k, v) in &req.extra {
            if k != "stream" && !(k == "stream_options" && own_options) {
                map.serialize_entry(k, v)?;
            }
        }
        if self.stream {
            map.serialize_entry("stream", &true)?;
            if p == Provider::OpenAI {
                // `include_usage`, keeping any other option the caller set.
                let mut opts = match req.extra.get("stream_options") {
                    Some(Value::Object(o)) => o.clone(),
                    _ => Map::new(),
                };
                opts.insert("include_usage".into(), Value::Bool(true));
                map.serialize_entry("stream_options", &opts)?;
            }
        }
        map.end()
    }
}

/// The messages, each with its content in OpenAI's shape when it is parts.
struct Messages<'a> {
    messages: &'a [Message],
    /// The contents that are parts, in order (see [`ChatBody`]).
    parts: &'a [Value],
}

impl Serialize for Messages<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.messages.len()))?;
        let mut parts = self.parts.iter();
        for m in self.messages {
            let parts = matches!(m.content, Content::Parts(_)).then(|| parts.next()).flatten();
            seq.serialize_element(&MessageBody { m, parts })?;
        }
        seq.end()
    }
}

/// One message: `role`, `content` and `tool_calls`, unless its `extra` has them, then its
/// `extra` (`name`, `tool_call_id`, ...). `reasoning` and `thinking_blocks` are answers' fields
/// that neither OpenAI nor OpenRouter takes back (OpenRouter's own `reasoning_details` pass in
/// `extra`), and Anthropic's other blocks of an answer (`content_blocks`, server tool results)
/// are not OpenAI's to take.
struct MessageBody<'a> {
    m: &'a Message,
    /// Its content in OpenAI's shape, when it is parts.
    parts: Option<&'a Value>,
}

impl Serialize for MessageBody<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m = self.m;
        let mut map = s.serialize_map(None)?;
        if !m.extra.contains_key("role") {
            map.serialize_entry("role", m.role.as_str())?;
        }
        if !m.extra.contains_key("content") {
            match (&m.content, self.parts) {
                (Content::Text(t), _) => map.serialize_entry("content", t)?,
                (_, Some(parts)) => map.serialize_entry("content", parts)?,
                _ => map.serialize_entry("content", &())?,
            }
        }
        if !m.tool_calls.is_empty() && !m.extra.contains_key("tool_calls") {
            let calls: Vec<Value> = m.tool_calls.iter().map(ToolCall::to_openai).collect();
            map.serialize_entry("tool_calls", &calls)?;
        }
        for (k, v) in m.extra.iter().filter(|(k, _)| *k != ANTHROPIC_BLOCKS) {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// Writes a typed field unless `extra` has its own.
fn typed<M: SerializeMap, T: Serialize + ?Sized>(
    map: &mut M,
    extra: &Map<String, Value>,
    name: &str,
    v: &T,
) -> Result<(), M::Error> {
    if extra.contains_key(name) {
        return Ok(());
    }
    map.serialize_entry(name, v)
}

/// Tools, tool choice, response format and reasoning, as the body's fields. OpenAI takes
/// `reasoning_effort` and no thinking budget; OpenRouter takes both as its `reasoning` object
/// (one of `effort` and `max_tokens`).
fn features(p: Provider, req: &ChatCompletionRequest) -> Result<Vec<(&'static str, Value)>, Error> {
    let mut out = Vec::new();
    if !req.tools.is_empty() {
        out.push(("tools", req.tools.iter().map(Tool::to_openai).collect()));
    }
    if let Some(c) = &req.tool_choice {
        out.push(("tool_choice", c.to_openai()));
    }
    if let Some(f) = &req.response_format {
        out.push(("response_format", f.to_openai()));
    }
    match (p, req.reasoning_effort, req.thinking) {
        (_, None, None) => {}
        (Provider::OpenRouter, Some(_), Some(_)) => {
            return Err(Error::InvalidRequest(
                "OpenRouter takes one of reasoning_effort and thinking, not both".into(),
            ))
        }
        (Provider::OpenRouter, Some(e), None) => {
            out.push(("reasoning", json!({"effort": e.as_str()})));
        }
        (Provider::OpenRouter, None, Some(t)) => {
            let r = match t {
                Thinking::Enabled { budget_tokens } => json!({"max_tokens": budget_tokens}),
                Thinking::Disabled => json!({"enabled": false}),
                _ => json!({"enabled": true}),
            };
            out.push(("reasoning", r));
        }
        // Thinking switched off asks nothing of OpenAI.
        (_, None, Some(Thinking::Disabled)) => {}
        (_, Some(e), Some(Thinking::Disabled)) => {
            out.push(("reasoning_effort", json!(e.as_str())));
        }
        (_, _, Some(_)) => {
            return Err(Error::InvalidRequest(
                "OpenAI has no thinking budget: set reasoning_effort instead".into(),
            ))
        }
        (_, Some(e), None) => {
            out.push(("reasoning_effort", json!(e.as_str())));
        }
    }
    Ok(out)
}

/// A message's content in OpenAI's shape: a string, `null`, or parts (`image_url`, `file`).
/// Errors: a part OpenAI cannot take (a document by URL).
pub(crate) fn openai_content(c: &Content) -> Result<Value, Error> {
    Ok(match c {
        Content::Text(t) => json!(t),
        Content::Null => Value::Null,
        Content::Parts(parts) => Value::Array(
            parts
                .iter()
                .map(|p| p.to_openai().map_err(Error::InvalidRequest))
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// OpenAI model families that take `max_completion_tokens` only: o1, o3, o4 and gpt-5.
pub(crate) fn is_reasoning_model(model: &str) -> bool {
    let m = model.trim().as_bytes();
    // Compared in place: a lower-cased copy of the model per request is not needed.
    ["o1", "o3", "o4", "gpt-5"]
        .iter()
        .any(|p| m.get(..p.len()).is_some_and(|head| head.eq_ignore_ascii_case(p.as_bytes())))
}

/// The checks every provider makes before sending: a model and at least one message.
pub(crate) fn check_common(req: &ChatCompletionRequest) -> Result<(), Error> {
    if req.model.trim().is_empty() {
        return Err(Error::InvalidRequest("model is empty".into()));
    }
    if req.messages.is_empty() {
        return Err(Error::InvalidRequest("messages is empty: add at least one message".into()));
    }
    Ok(())
}

/// Inserts an optional float, refusing NaN and infinities (JSON cannot carry them, and
/// `serde_json` would silently send `null`).
pub(crate) fn put_f64(
    body: &mut Map<String, Value>,
    name: &str,
    v: Option<f64>,
) -> Result<(), Error> {
    check_f64(name, v)?;
    if let Some(f) = v {
        body.insert(name.into(), json!(f));
    }
    Ok(())
}

/// Refuses a NaN or infinite float (JSON cannot carry them, and `serde_json` would silently
/// send `null`).
fn check_f64(name: &str, v: Option<f64>) -> Result<(), Error> {
    match v {
        Some(f) if !f.is_finite() => {
            Err(Error::InvalidRequest(format!("{name} must be a finite number, got {f}")))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
