//! OpenAI Batch API lines whose `url` is `/v1/responses`: a Responses body read into the
//! unified request, marked for the Responses API, so the library sends it back in the same
//! shape and the output's `response.body` is the Responses object the API returned.
//!
//! `instructions` becomes a leading system message; `input` (a string, or items) becomes the
//! messages: `message` items with a string or `input_text` / `output_text` / `input_image`
//! parts (any other part is kept as it is), `function_call` items as assistant tool calls,
//! `function_call_output` items as tool messages. An item of any other type (a `reasoning` or
//! `item_reference` item) has no place in the unified request and makes the line fail rather
//! than be sent without it. `max_output_tokens`, `temperature` and `top_p` are read; every
//! other field is passed through unchanged.

use chat_limiter::{
    ChatCompletionRequest, ContentPart, ImagePart, Message, MessageRole, OpenAiApi,
};
use serde_json::{json, Map, Value};

/// Reads a `/v1/responses` line's body.
pub fn responses_body(body: Value) -> Result<ChatCompletionRequest, String> {
    let Value::Object(mut obj) = body else {
        return Err("`body` must be a JSON object".into());
    };
    obj.remove("stream"); // results are written whole; a stream would not be read as one
    let mut messages = Vec::new();
    match obj.remove("instructions") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => messages.push(Message::system(s)),
        Some(_) => return Err("`instructions` must be a string".into()),
    }
    match obj.remove("input") {
        Some(Value::String(s)) => messages.push(Message::user(s)),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                messages.push(item_message(item).map_err(|e| format!("input[{i}]: {e}"))?);
            }
        }
        _ => return Err("a /v1/responses body needs `input` (a string or items)".into()),
    }
    if let Some(n) = obj.remove("max_output_tokens") {
        obj.insert("max_tokens".into(), n);
    }
    obj.insert("messages".into(), serde_json::to_value(messages).map_err(|e| e.to_string())?);
    let mut req: ChatCompletionRequest = serde_json::from_value(Value::Object(obj))
        .map_err(|e| format!("bad responses body: {e}"))?;
    req.openai_api = Some(OpenAiApi::Responses);
    Ok(req)
}

fn item_message(item: &Value) -> Result<Message, String> {
    let text = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    match item.get("type").and_then(Value::as_str).unwrap_or("message") {
        "message" => {
            let role: MessageRole = item
                .get("role")
                .cloned()
                .and_then(|r| serde_json::from_value(r).ok())
                .ok_or("a message item needs a role (user, assistant, system or developer)")?;
            match item.get("content") {
                Some(Value::String(s)) => Ok(Message::new(role, s.as_str())),
                Some(Value::Array(parts)) => {
                    Ok(Message::new(role, parts.iter().map(part).collect::<Vec<_>>()))
                }
                _ => Err("a message item needs `content` (a string or parts)".into()),
            }
        }
        "function_call" => {
            let mut m = Message::assistant(chat_limiter::Content::Null);
            let call = json!({"id": text("call_id"), "type": "function",
                "function": {"name": text("name"), "arguments": text("arguments")}});
            m.extra.insert("tool_calls".into(), json!([call]));
            Ok(m)
        }
        "function_call_output" => {
            let mut m = Message::new(MessageRole::Tool, text("output"));
            m.extra.insert("tool_call_id".into(), json!(text("call_id")));
            Ok(m)
        }
        other => Err(format!("input items of type {other:?} are not supported")),
    }
}

/// A Responses content part: text and URL images typed (so they are estimated by the image
/// rule), anything else kept exactly.
fn part(p: &Value) -> ContentPart {
    let s = |k: &str| p.get(k).and_then(Value::as_str);
    match (s("type"), s("text"), s("image_url")) {
        (Some("input_text" | "output_text"), Some(t), _) if only(p, &["type", "text"]) => {
            ContentPart::text(t)
        }
        (Some("input_image"), _, Some(url)) if only(p, &["type", "image_url", "detail"]) => {
            let img = ImagePart::url(url);
            ContentPart::Image(match s("detail") {
                Some(d) => img.detail(d),
                None => img,
            })
        }
        _ => ContentPart::Other(p.clone()),
    }
}

/// The part has no field but these (so typing it loses nothing).
fn only(p: &Value, keys: &[&str]) -> bool {
    p.as_object().is_some_and(|o: &Map<String, Value>| o.keys().all(|k| keys.contains(&k.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_responses_body_reads_into_the_unified_request() {
        let body = json!({"model": "o4-mini", "instructions": "Be brief.", "max_output_tokens": 100,
            "temperature": 0.2, "reasoning": {"effort": "low"}, "stream": true,
            "input": [
                {"role": "user", "content": [{"type": "input_text", "text": "What is this?"},
                    {"type": "input_image", "image_url": "https://x/a.png", "detail": "low"},
                    {"type": "input_file", "file_id": "file_1"}]},
                {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c1", "output": "42"},
                {"type": "message", "role": "assistant", "content": "ok"}]});
        let r = responses_body(body).expect("valid");
        assert_eq!(r.openai_api, Some(OpenAiApi::Responses));
        assert_eq!(
            (r.model.as_str(), r.max_tokens, r.temperature),
            ("o4-mini", Some(100), Some(0.2))
        );
        assert_eq!(r.extra["reasoning"], json!({"effort": "low"}));
        assert!(!r.extra.contains_key("stream"));
        assert_eq!(r.messages[0], Message::system("Be brief."));
        let parts = r.messages[1].content.parts();
        assert_eq!(parts[0], ContentPart::text("What is this?"));
        assert!(matches!(&parts[1], ContentPart::Image(i) if i.detail.as_deref() == Some("low")));
        assert_eq!(
            parts[2],
            ContentPart::Other(json!({"type": "input_file", "file_id": "file_1"}))
        );
        assert_eq!(r.messages[2].tool_calls[0].name, "f");
        assert_eq!(
            (r.messages[3].role, r.messages[3].extra["tool_call_id"].as_str()),
            (MessageRole::Tool, Some("c1"))
        );
        assert_eq!(r.messages[4], Message::assistant("ok"));
        let r = responses_body(json!({"model": "gpt-4o", "input": "hi"})).expect("valid");
        assert_eq!(r.messages, vec![Message::user("hi")]);
    }

    #[test]
    fn the_wire_is_part_of_the_fingerprint() {
        let r = responses_body(json!({"model": "gpt-4o", "input": "hi"})).expect("valid");
        let mut chat = r.clone();
        chat.openai_api = None;
        assert_ne!(crate::record::fingerprint(&r), crate::record::fingerprint(&chat));
    }

    #[test]
    fn what_cannot_be_carried_fails_the_line() {
        for (body, want) in [
            (json!({"model": "m"}), "needs `input`"),
            (
                json!({"model": "m", "input": [{"type": "reasoning", "summary": []}]}),
                "input[0]: input items of type \"reasoning\"",
            ),
            (json!({"model": "m", "input": [{"content": "x"}]}), "needs a role"),
            (json!({"model": "m", "input": "x", "instructions": 3}), "`instructions`"),
            (json!([1]), "JSON object"),
        ] {
            let e = responses_body(body.clone()).expect_err(&body.to_string());
            assert!(e.contains(want), "{body}: {e}");
        }
    }
}
