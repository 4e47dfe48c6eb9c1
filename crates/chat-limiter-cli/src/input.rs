//! Input lines: the four accepted shapes, read one at a time into the unified request.
//!
//! * OpenAI Batch API: `{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}`,
//!   or `"url": "/v1/responses"` with a Responses body (`input_responses.rs`)
//! * Anthropic Message Batches: `{"custom_id", "params": {Anthropic Messages body}}`
//! * a bare chat request body (OpenAI shape), optionally with a `custom_id`
//! * `{"prompt": "...", "id": ...}` with optional `model`, `system`, `max_tokens`, `temperature`

use std::io::{self, BufRead};

use chat_limiter::{ChatCompletionRequest, Message, Provider};
use serde_json::{Map, Value};

/// One line of the input, parsed.
#[derive(Debug)]
pub struct Parsed {
    /// The line's id, when it names one (a string or a number).
    pub custom_id: Option<String>,
    /// The request, or why the line cannot be sent.
    pub request: Result<ChatCompletionRequest, String>,
}

/// What every line of a run shares.
#[derive(Debug, Clone)]
pub struct Defaults {
    /// Fills in a missing `model`.
    pub model: Option<String>,
    /// The run's provider.
    pub provider: Provider,
    /// The provider was detected, not given: reject lines whose model belongs to another one.
    pub check_provider: bool,
}

/// Parses one non-blank line and completes the request with the run's defaults.
pub fn parse_line(text: &str, defaults: &Defaults) -> Parsed {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return Parsed { custom_id: None, request: Err(format!("not JSON: {e}")) },
    };
    let Value::Object(mut obj) = value else {
        return Parsed { custom_id: None, request: Err("not a JSON object".into()) };
    };
    let id_field = if obj.contains_key("custom_id") { "custom_id" } else { "id" };
    let custom_id = match obj.remove(id_field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => {
            Err(format!("{id_field} must be a non-empty string or a number, got {other}"))
        }
    };
    let custom_id = match custom_id {
        Ok(id) => id,
        Err(e) => return Parsed { custom_id: None, request: Err(e) },
    };
    let request = request_of(obj).and_then(|r| complete(r, defaults));
    Parsed { custom_id, request }
}

/// The model a line names, when it is a readable request that names one.
pub fn line_model(text: &str) -> Option<String> {
    let Ok(Value::Object(obj)) = serde_json::from_str(text) else { return None };
    request_of(obj).ok().map(|r| r.model).filter(|m| !m.trim().is_empty())
}

/// Tells the shape apart and converts it.
fn request_of(mut obj: Map<String, Value>) -> Result<ChatCompletionRequest, String> {
    if let Some(body) = obj.remove("body") {
        let method = obj.get("method").and_then(Value::as_str).unwrap_or("POST");
        if !method.eq_ignore_ascii_case("POST") {
            return Err(format!("method must be POST, got {method:?}"));
        }
        let url = obj.get("url").and_then(Value::as_str).unwrap_or("/v1/chat/completions");
        if url.ends_with("/responses") {
            return crate::input_responses::responses_body(body);
        }
        if !url.ends_with("/chat/completions") {
            return Err(format!(
                "only /v1/chat/completions and /v1/responses lines are supported, got url {url:?}"
            ));
        }
        return openai_body(body);
    }
    if let Some(params) = obj.remove("params") {
        return anthropic_params(params);
    }
    if let Some(prompt) = obj.remove("prompt") {
        return prompt_line(prompt, obj);
    }
    if obj.contains_key("messages") {
        return openai_body(Value::Object(obj));
    }
    Err("unrecognised line: expected `body`, `params`, `prompt` or `messages`".into())
}

/// An OpenAI-shaped chat body.
fn openai_body(body: Value) -> Result<ChatCompletionRequest, String> {
    let Value::Object(mut obj) = body else {
        return Err("`body` must be a JSON object".into());
    };
    obj.remove("stream"); // results are written whole; a stream would not be read as one
    obj.remove("stream_options");
    let raw_messages = obj.get("messages").cloned();
    let mut req: ChatCompletionRequest =
        serde_json::from_value(Value::Object(obj)).map_err(|e| format!("bad chat body: {e}"))?;
    keep_structured_content(&mut req.messages, raw_messages.as_ref());
    Ok(req)
}

/// An Anthropic Messages body: `system` (a string or text blocks) becomes a system message
/// and `stop_sequences` becomes `stop`; every other field passes through unchanged.
fn anthropic_params(params: Value) -> Result<ChatCompletionRequest, String> {
    let Value::Object(mut obj) = params else {
        return Err("`params` must be a JSON object".into());
    };
    let system = match obj.remove("system") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Array(blocks)) => {
            let mut text = Vec::with_capacity(blocks.len());
            for b in &blocks {
                match b.get("text").and_then(Value::as_str) {
                    Some(t) => text.push(t),
                    None => return Err("`system` blocks must be text blocks".into()),
                }
            }
            Some(text.join("\n\n"))
        }
        Some(other) => {
            return Err(format!("`system` must be a string or text blocks, got {other}"))
        }
    };
    if let Some(stop) = obj.remove("stop_sequences") {
        obj.insert("stop".into(), stop);
    }
    let mut req = openai_body(Value::Object(obj))?;
    if let Some(s) = system.filter(|s| !s.is_empty()) {
        req.messages.insert(0, Message::system(s));
    }
    Ok(req)
}

/// `{"prompt": ..., "model"?, "system"?, "max_tokens"?, "temperature"?}`.
fn prompt_line(
    prompt: Value,
    mut rest: Map<String, Value>,
) -> Result<ChatCompletionRequest, String> {
    let Value::String(prompt) = prompt else {
        return Err("`prompt` must be a string".into());
    };
    let mut messages = Vec::with_capacity(2);
    match rest.remove("system") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => messages.push(Message::system(s)),
        Some(_) => return Err("`system` must be a string".into()),
    }
    messages.push(Message::user(prompt));
    rest.insert("messages".into(), serde_json::to_value(messages).map_err(|e| e.to_string())?);
    openai_body(Value::Object(rest))
}

/// The unified message keeps only the text of array contents; images and other parts are
/// kept as the message's structured `content`, which the wire layer sends verbatim.
fn keep_structured_content(messages: &mut [Message], raw: Option<&Value>) {
    let Some(Value::Array(raw)) = raw else { return };
    for (m, r) in messages.iter_mut().zip(raw) {
        if let Some(Value::Array(parts)) = r.get("content") {
            let text_only =
                parts.iter().all(|p| p.get("type").and_then(Value::as_str) == Some("text"));
            if !text_only {
                m.extra.insert("content".into(), Value::Array(parts.clone()));
            }
        }
    }
}

/// Fills in the model and checks what the library would reject only after queueing.
fn complete(mut req: ChatCompletionRequest, d: &Defaults) -> Result<ChatCompletionRequest, String> {
    if req.model.trim().is_empty() {
        match &d.model {
            Some(m) => req.model = m.clone(),
            None => return Err("the line has no model and --model is not given".into()),
        }
    }
    if req.messages.is_empty() {
        return Err("the request has no messages".into());
    }
    if req.openai_api == Some(chat_limiter::OpenAiApi::Responses) && d.provider != Provider::OpenAI
    {
        return Err(format!(
            "a /v1/responses line goes to OpenAI, but this run sends to {}",
            d.provider
        ));
    }
    if d.check_provider {
        if let Some(p) = Provider::detect(&req.model).filter(|p| *p != d.provider) {
            return Err(format!(
                "model {:?} belongs to {p}, but this run sends to {} (pass --provider to override)",
                req.model, d.provider
            ));
        }
    }
    Ok(req)
}

/// The UTF-8 byte order mark some editors put at the start of a file; it is dropped.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads lines as raw bytes with their 1-based numbers, skipping blank ones (and a byte
/// order mark at the start of the first).
pub struct Lines<R> {
    reader: R,
    number: u64,
    buf: Vec<u8>,
}

impl<R: BufRead> Lines<R> {
    /// Wraps a reader.
    pub fn new(reader: R) -> Self {
        Lines { reader, number: 0, buf: Vec::new() }
    }
}

impl<R: BufRead> Iterator for Lines<R> {
    /// The line number and the text (or why it is not UTF-8), or a read error.
    type Item = io::Result<(u64, Result<String, String>)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.buf.clear();
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => return Some(Err(e)),
            }
            self.number += 1;
            if self.number == 1 && self.buf.starts_with(BOM) {
                self.buf.drain(..BOM.len());
            }
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let text = std::str::from_utf8(&self.buf)
                .map(|s| s.trim().to_string())
                .map_err(|e| format!("not UTF-8: {e}"));
            return Some(Ok((self.number, text)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Defaults {
        Defaults {
            model: Some("gpt-4o-mini".into()),
            provider: Provider::OpenAI,
            check_provider: true,
        }
    }

    #[test]
    fn openai_batch_line() {
        let p = parse_line(
            r#"{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"max_tokens":5}}"#,
            &defaults(),
        );
        assert_eq!(p.custom_id.as_deref(), Some("a"));
        let r = p.request.expect("valid");
        assert_eq!((r.model.as_str(), r.max_tokens), ("gpt-4o", Some(5)));
    }

    #[test]
    fn anthropic_line_with_system_blocks() {
        let d = Defaults { model: None, provider: Provider::Anthropic, check_provider: true };
        let p = parse_line(
            r#"{"custom_id":"b","params":{"model":"claude-3-5-haiku-latest","max_tokens":9,"system":[{"type":"text","text":"be brief"}],"stop_sequences":["X"],"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}}"#,
            &d,
        );
        let r = p.request.expect("valid");
        assert_eq!(r.messages[0], Message::system("be brief"));
        assert_eq!(r.messages[1].text(), "hi");
        assert_eq!(r.stop, Some(vec!["X".to_string()]));
    }

    #[test]
    fn prompt_line_with_numeric_id_and_default_model() {
        let p = parse_line(r#"{"prompt":"hello","id":7,"system":"s"}"#, &defaults());
        assert_eq!(p.custom_id.as_deref(), Some("7"));
        let r = p.request.expect("valid");
        assert_eq!((r.model.as_str(), r.messages.len()), ("gpt-4o-mini", 2));
    }

    #[test]
    fn bad_lines_say_why() {
        for (line, want) in [
            ("{oops", "not JSON"),
            ("[1]", "not a JSON object"),
            (r#"{"x":1}"#, "unrecognised"),
            (r#"{"custom_id":{},"prompt":"p"}"#, "custom_id"),
            (r#"{"prompt":"p","model":"claude-3-opus"}"#, "belongs to Anthropic"),
            (r#"{"body":{"messages":[]},"url":"/v1/embeddings"}"#, "only /v1/chat"),
            (r#"{"messages":[]}"#, "no messages"),
        ] {
            let err = parse_line(line, &defaults()).request.expect_err(line);
            assert!(err.contains(want), "{line}: {err}");
        }
    }

    #[test]
    fn bom_is_dropped_and_a_last_line_without_newline_is_read() {
        let text = b"\xEF\xBB\xBF{\"prompt\":\"a\"}\n\n{\"prompt\":\"b\"}";
        let lines: Vec<_> = Lines::new(&text[..]).map(|l| l.expect("read")).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0], (1, Ok(r#"{"prompt":"a"}"#.to_string())));
        assert_eq!(lines[1], (3, Ok(r#"{"prompt":"b"}"#.to_string())));
        assert!(parse_line(lines[0].1.as_ref().expect("utf8"), &defaults()).request.is_ok());
    }

    #[test]
    fn image_parts_are_kept() {
        let p = parse_line(
            r#"{"messages":[{"role":"user","content":[{"type":"text","text":"see"},{"type":"image_url","image_url":{"url":"x"}}]}]}"#,
            &defaults(),
        );
        let r = p.request.expect("valid");
        assert!(r.messages[0].extra["content"].is_array());
    }
}

#[cfg(test)]
#[path = "input_proptests.rs"]
mod proptests;
