//! The unified request as a Responses body: `instructions` from the leading system/developer
//! messages, every other message as an `input` item, `max_output_tokens`, and the
//! Chat Completions spellings of a few common `extra` fields translated.
//!
//! What has no Responses equivalent is refused with a clear error rather than dropped, since a
//! silently ignored setting changes the answer: `stop`, `frequency_penalty`,
//! `presence_penalty` and `n` above 1. `top_k` is not sent, as for Chat Completions (OpenAI
//! has no such setting). Any other `extra` field passes through unchanged.

use serde_json::{json, Map, Value};

use crate::error::Error;
use crate::provider::openai::request::{check_common, put_f64};
use crate::types::{
    ChatCompletionRequest, Content, ContentPart, MediaSource, Message, MessageRole, Thinking,
};

/// Builds the JSON body. Errors: `Error::InvalidRequest` for a setting the Responses API does
/// not have (see the module docs), a non-finite float, or no model or messages.
pub(crate) fn body(req: &ChatCompletionRequest, stream: bool) -> Result<Value, Error> {
    check_common(req)?;
    for (name, set) in [
        ("stop", req.stop.is_some()),
        ("frequency_penalty", req.frequency_penalty.is_some()),
        ("presence_penalty", req.presence_penalty.is_some()),
        ("n > 1", req.extra.get("n").and_then(Value::as_u64).is_some_and(|n| n > 1)),
    ] {
        if set {
            return Err(unsupported(name));
        }
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(req.model));
    let lead = req.messages.iter().take_while(|m| is_instruction(m.role)).count();
    let instructions: Vec<String> =
        req.messages[..lead].iter().map(|m| m.text().into_owned()).collect();
    if !instructions.is_empty() {
        body.insert("instructions".into(), json!(instructions.join("\n\n")));
    }
    let mut input = Vec::new();
    for m in &req.messages[lead..] {
        input_items(m, &mut input)?;
    }
    body.insert("input".into(), Value::Array(input));
    if let Some(n) = req.max_tokens {
        body.insert("max_output_tokens".into(), json!(n));
    }
    put_f64(&mut body, "temperature", req.temperature)?;
    put_f64(&mut body, "top_p", req.top_p)?;
    if req.thinking.is_some_and(|t| t != Thinking::Disabled) {
        return Err(unsupported("a thinking budget (Anthropic's)"));
    }
    // The typed settings in their Chat Completions form (their serde form), translated below
    // like the same fields given through `extra`.
    let typed = [
        ("tools", (!req.tools.is_empty()).then(|| serde_json::to_value(&req.tools))),
        ("tool_choice", req.tool_choice.as_ref().map(serde_json::to_value)),
        ("response_format", req.response_format.as_ref().map(serde_json::to_value)),
        ("reasoning_effort", req.reasoning_effort.as_ref().map(serde_json::to_value)),
    ];
    for (k, v) in typed {
        if let Some(v) = v.transpose().map_err(|e| Error::InvalidRequest(format!("{k}: {e}")))? {
            let (k, v) = translate(k, &v);
            body.insert(k, v);
        }
    }
    for (k, v) in &req.extra {
        let (k, v) = translate(k, v);
        if k != "n" {
            body.insert(k, v);
        }
    }
    body.remove("stream_options"); // Chat Completions' usage option: usage always comes here
    if stream {
        body.insert("stream".into(), Value::Bool(true));
    } else {
        body.remove("stream");
    }
    Ok(Value::Object(body))
}

fn unsupported(what: &str) -> Error {
    Error::InvalidRequest(format!(
        "{what} has no equivalent in OpenAI's Responses API; remove it or use Chat Completions"
    ))
}

fn is_instruction(role: MessageRole) -> bool {
    matches!(role, MessageRole::System | MessageRole::Developer)
}

/// One message as input items: a `message`, plus one `function_call` per tool call of an
/// assistant turn; a tool result as a `function_call_output`. The message's other `extra`
/// fields are kept on its item (the API says so if it does not take one).
fn input_items(m: &Message, out: &mut Vec<Value>) -> Result<(), Error> {
    let mut extra = m.extra.clone();
    if m.role == MessageRole::Tool {
        let call_id = extra.remove("tool_call_id").ok_or_else(|| {
            Error::InvalidRequest("a tool message needs `tool_call_id` in its extra".into())
        })?;
        let mut item = Map::new();
        item.insert("type".into(), json!("function_call_output"));
        item.insert("call_id".into(), call_id);
        item.insert("output".into(), json!(m.text()));
        item.extend(extra);
        out.push(Value::Object(item));
        return Ok(());
    }
    let calls = extra.remove("tool_calls");
    // Content given the older way, as Chat Completions parts in `extra["content"]`, is
    // translated like the typed content it stands for, not sent in the other API's shape.
    let given = extra.remove("content").map(serde_json::from_value::<Content>);
    let given = given.transpose().map_err(|e| Error::InvalidRequest(format!("content: {e}")))?;
    let body = given.as_ref().unwrap_or(&m.content);
    if !body.is_empty() || (calls.is_none() && m.tool_calls.is_empty()) {
        let mut item = Map::new();
        item.insert("type".into(), json!("message"));
        item.insert("role".into(), json!(m.role.as_str()));
        item.insert("content".into(), content(m.role, body)?);
        item.extend(extra);
        out.push(Value::Object(item));
    }
    for call in calls.as_ref().and_then(Value::as_array).into_iter().flatten() {
        let f = call.get("function");
        let get = |k: &str| f.and_then(|f| f.get(k)).cloned().unwrap_or(json!(""));
        let id = call.get("id").cloned().unwrap_or(json!(""));
        out.push(json!({"type": "function_call", "call_id": id, "name": get("name"),
            "arguments": get("arguments")}));
    }
    for call in &m.tool_calls {
        out.push(json!({"type": "function_call", "call_id": call.id, "name": call.name,
            "arguments": call.arguments}));
    }
    Ok(())
}

/// A message's content: a string as it is, parts as `input_text` / `input_image` /
/// `input_file` (an assistant's text as `output_text`); other parts pass through untouched.
fn content(role: MessageRole, c: &Content) -> Result<Value, Error> {
    let parts = match c {
        Content::Text(t) => return Ok(json!(t)),
        Content::Null => return Ok(json!("")),
        Content::Parts(p) => p,
    };
    let text_kind = if role == MessageRole::Assistant { "output_text" } else { "input_text" };
    Ok(Value::Array(
        parts
            .iter()
            .map(|p| match p {
                ContentPart::Text(t) => json!({"type": text_kind, "text": t}),
                ContentPart::Image(i) => {
                    let mut o = Map::new();
                    o.insert("type".into(), json!("input_image"));
                    o.insert("image_url".into(), json!(url_of(&i.source)));
                    o.insert("detail".into(), json!(i.detail.as_deref().unwrap_or("auto")));
                    Value::Object(o)
                }
                ContentPart::Document(d) => {
                    let mut o = Map::new();
                    o.insert("type".into(), json!("input_file"));
                    match &d.source {
                        MediaSource::Url(u) => o.insert("file_url".into(), json!(u)),
                        s => o.insert("file_data".into(), json!(url_of(s))),
                    };
                    if let Some(n) = &d.filename {
                        o.insert("filename".into(), json!(n));
                    }
                    Value::Object(o)
                }
                ContentPart::Other(v) => v.clone(),
            })
            .collect(),
    ))
}

fn url_of(s: &MediaSource) -> String {
    match s {
        MediaSource::Url(u) => u.clone(),
        MediaSource::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
    }
}

/// Chat Completions spellings of `extra` fields, in the Responses shape: `reasoning_effort`
/// → `reasoning.effort`, `response_format` → `text.format` (a `json_schema` one flattened),
/// function `tools` and a function `tool_choice` flattened. Anything else is unchanged.
fn translate(k: &str, v: &Value) -> (String, Value) {
    match k {
        "reasoning_effort" => ("reasoning".into(), json!({"effort": v})),
        "response_format" => {
            let mut f = v.as_object().cloned().unwrap_or_default();
            if let Some(Value::Object(schema)) = f.remove("json_schema") {
                f.extend(schema);
            }
            ("text".into(), json!({"format": f}))
        }
        "tools" => {
            let tools = v.as_array().map(|ts| ts.iter().map(flatten_function).collect());
            ("tools".into(), tools.map(Value::Array).unwrap_or_else(|| v.clone()))
        }
        "tool_choice" => ("tool_choice".into(), flatten_function(v)),
        _ => (k.into(), v.clone()),
    }
}

/// `{"type":"function","function":{name,...}}` → `{"type":"function",name,...}`.
fn flatten_function(v: &Value) -> Value {
    match (v.get("type").and_then(Value::as_str), v.get("function")) {
        (Some("function"), Some(Value::Object(f))) => {
            let mut o = Map::new();
            o.insert("type".into(), json!("function"));
            o.extend(f.clone());
            Value::Object(o)
        }
        _ => v.clone(),
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
