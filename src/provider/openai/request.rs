//! Request bodies in the OpenAI Chat Completions shape, used by OpenAI and OpenRouter.
//!
//! The two differ in three places only: OpenAI does not know `top_k`, OpenAI's reasoning models
//! reject `max_tokens` (docs/providers.md §1.2), and only OpenAI needs `stream_options` to report
//! usage in a stream (OpenRouter always does, §3.2).

use serde_json::{json, Map, Value};

use crate::error::Error;
use crate::provider_id::Provider;
use crate::types::{ChatCompletionRequest, Content, Thinking, Tool, ToolCall};

/// The `extra` key of an Anthropic answer's blocks that have no unified field.
pub(crate) const ANTHROPIC_BLOCKS: &str = "content_blocks";

/// Builds the JSON body for `p` (OpenAI or OpenRouter).
///
/// `extra` fields are merged last and may override the typed ones, but never the streaming
/// fields: those must match how the client reads the answer, so they are set from `stream`.
pub(crate) fn chat_body(
    p: Provider,
    req: &ChatCompletionRequest,
    stream: bool,
) -> Result<Value, Error> {
    check_common(req)?;
    let mut body = Map::new();
    body.insert("model".into(), json!(req.model));
    let messages = req
        .messages
        .iter()
        .map(|m| {
            let mut o = Map::new();
            o.insert("role".into(), json!(m.role.as_str()));
            o.insert("content".into(), openai_content(&m.content)?);
            if !m.tool_calls.is_empty() {
                let calls = m.tool_calls.iter().map(ToolCall::to_openai).collect();
                o.insert("tool_calls".into(), Value::Array(calls));
            }
            // `reasoning` and `thinking_blocks` are answers' fields that neither OpenAI nor
            // OpenRouter takes back; OpenRouter's own `reasoning_details` pass in `extra`.
            // `extra` may carry `name`, `tool_call_id`, ... (and overrides). Anthropic's
            // other blocks of an answer (`content_blocks`, server tool results) are not
            // OpenAI's to take.
            o.extend(
                m.extra
                    .iter()
                    .filter(|(k, _)| *k != ANTHROPIC_BLOCKS)
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
            Ok(Value::Object(o))
        })
        .collect::<Result<Vec<Value>, Error>>()?;
    body.insert("messages".into(), Value::Array(messages));
    if let Some(n) = req.max_tokens {
        let field = if p == Provider::OpenAI && is_reasoning_model(&req.model) {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        body.insert(field.into(), json!(n));
    }
    put_f64(&mut body, "temperature", req.temperature)?;
    put_f64(&mut body, "top_p", req.top_p)?;
    if let Some(stop) = &req.stop {
        body.insert("stop".into(), json!(stop));
    }
    put_f64(&mut body, "frequency_penalty", req.frequency_penalty)?;
    put_f64(&mut body, "presence_penalty", req.presence_penalty)?;
    if p == Provider::OpenRouter {
        if let Some(k) = req.top_k {
            body.insert("top_k".into(), json!(k));
        }
    }
    features(p, req, &mut body)?;
    body.extend(req.extra.clone());
    set_stream_fields(p, &mut body, stream);
    Ok(Value::Object(body))
}

/// Tools, tool choice, response format and reasoning. OpenAI takes `reasoning_effort` and no
/// thinking budget; OpenRouter takes both as its `reasoning` object (one of `effort` and
/// `max_tokens`).
fn features(
    p: Provider,
    req: &ChatCompletionRequest,
    body: &mut Map<String, Value>,
) -> Result<(), Error> {
    if !req.tools.is_empty() {
        body.insert("tools".into(), req.tools.iter().map(Tool::to_openai).collect());
    }
    if let Some(c) = &req.tool_choice {
        body.insert("tool_choice".into(), c.to_openai());
    }
    if let Some(f) = &req.response_format {
        body.insert("response_format".into(), f.to_openai());
    }
    match (p, req.reasoning_effort, req.thinking) {
        (_, None, None) => {}
        (Provider::OpenRouter, Some(_), Some(_)) => {
            return Err(Error::InvalidRequest(
                "OpenRouter takes one of reasoning_effort and thinking, not both".into(),
            ))
        }
        (Provider::OpenRouter, Some(e), None) => {
            body.insert("reasoning".into(), json!({"effort": e.as_str()}));
        }
        (Provider::OpenRouter, None, Some(t)) => {
            let r = match t {
                Thinking::Enabled { budget_tokens } => json!({"max_tokens": budget_tokens}),
                Thinking::Disabled => json!({"enabled": false}),
                _ => json!({"enabled": true}),
            };
            body.insert("reasoning".into(), r);
        }
        // Thinking switched off asks nothing of OpenAI.
        (_, None, Some(Thinking::Disabled)) => {}
        (_, Some(e), Some(Thinking::Disabled)) => {
            body.insert("reasoning_effort".into(), json!(e.as_str()));
        }
        (_, _, Some(_)) => {
            return Err(Error::InvalidRequest(
                "OpenAI has no thinking budget: set reasoning_effort instead".into(),
            ))
        }
        (_, Some(e), None) => {
            body.insert("reasoning_effort".into(), json!(e.as_str()));
        }
    }
    Ok(())
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

/// Applies `stream`: `stream: true` (plus `stream_options.include_usage` for OpenAI, keeping any
/// other option the caller set), or neither field at all, since OpenAI rejects
/// `stream_options` without `stream: true`.
fn set_stream_fields(p: Provider, body: &mut Map<String, Value>, stream: bool) {
    if !stream {
        body.remove("stream");
        body.remove("stream_options");
        return;
    }
    body.insert("stream".into(), Value::Bool(true));
    if p == Provider::OpenAI {
        let mut opts = match body.remove("stream_options") {
            Some(Value::Object(o)) => o,
            _ => Map::new(),
        };
        opts.insert("include_usage".into(), Value::Bool(true));
        body.insert("stream_options".into(), Value::Object(opts));
    }
}

/// OpenAI model families that take `max_completion_tokens` only: o1, o3, o4 and gpt-5.
pub(crate) fn is_reasoning_model(model: &str) -> bool {
    let m = model.trim().to_ascii_lowercase();
    ["o1", "o3", "o4", "gpt-5"].iter().any(|p| m.starts_with(p))
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
    match v {
        None => Ok(()),
        Some(f) if f.is_finite() => {
            body.insert(name.into(), json!(f));
            Ok(())
        }
        Some(f) => Err(Error::InvalidRequest(format!("{name} must be a finite number, got {f}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Message, MessageRole};

    fn req(model: &str) -> ChatCompletionRequest {
        ChatCompletionRequest::new(model, vec![Message::system("be brief"), Message::user("hi")])
    }

    #[test]
    fn openai_body_maps_every_field() {
        let r = req("gpt-4o")
            .max_tokens(50)
            .temperature(0.5)
            .top_p(0.9)
            .stop(["END"])
            .frequency_penalty(0.1)
            .presence_penalty(0.2)
            .top_k(40)
            .extra("seed", 7);
        let b = chat_body(Provider::OpenAI, &r, false).expect("valid");
        assert_eq!(
            b,
            json!({"model":"gpt-4o","messages":[{"role":"system","content":"be brief"},
                {"role":"user","content":"hi"}],"max_tokens":50,"temperature":0.5,"top_p":0.9,
                "stop":["END"],"frequency_penalty":0.1,"presence_penalty":0.2,"seed":7})
        );
    }

    #[test]
    fn reasoning_models_get_max_completion_tokens() {
        for m in ["o1", "o1-mini", "o3-mini", "o4-mini", "gpt-5", "GPT-5-mini"] {
            let b = chat_body(Provider::OpenAI, &req(m).max_tokens(9), false).expect("valid");
            assert_eq!(b["max_completion_tokens"], 9, "{m}");
            assert!(b.get("max_tokens").is_none(), "{m}");
        }
        for m in ["gpt-4o", "gpt-4.1", "chatgpt-4o-latest"] {
            let b = chat_body(Provider::OpenAI, &req(m).max_tokens(9), false).expect("valid");
            assert_eq!(b["max_tokens"], 9, "{m}");
        }
        // OpenRouter translates on its side; it takes max_tokens for every model.
        let b =
            chat_body(Provider::OpenRouter, &req("openai/o3").max_tokens(9), false).expect("ok");
        assert_eq!(b["max_tokens"], 9);
    }

    #[test]
    fn openrouter_sends_top_k() {
        let b = chat_body(Provider::OpenRouter, &req("x/y").top_k(40), false).expect("valid");
        assert_eq!(b["top_k"], 40);
    }

    #[test]
    fn streaming_fields() {
        let r = req("gpt-4o").extra("stream_options", json!({"include_obfuscation": false}));
        let b = chat_body(Provider::OpenAI, &r, true).expect("valid");
        assert_eq!(b["stream"], true);
        assert_eq!(
            b["stream_options"],
            json!({"include_obfuscation": false, "include_usage": true})
        );
        let b =
            chat_body(Provider::OpenAI, &r.clone().extra("stream", true), false).expect("valid");
        assert!(b.get("stream").is_none() && b.get("stream_options").is_none());
        let b = chat_body(Provider::OpenRouter, &req("x/y"), true).expect("valid");
        assert_eq!(b["stream"], true);
        assert!(b.get("stream_options").is_none());
    }

    #[test]
    fn message_extras_pass_through_and_extra_overrides() {
        let mut tool = Message::new(MessageRole::Tool, "42");
        tool.extra.insert("tool_call_id".into(), json!("call_1"));
        let user = Message::user_parts(vec![crate::types::ContentPart::text("look")]);
        let r = ChatCompletionRequest::new("gpt-4o", vec![user, tool])
            .temperature(1.0)
            .extra("temperature", 0.3);
        let b = chat_body(Provider::OpenAI, &r, false).expect("valid");
        assert_eq!(b["messages"][0]["content"], json!([{"type":"text","text":"look"}]));
        assert_eq!(b["messages"][1], json!({"role":"tool","content":"42","tool_call_id":"call_1"}));
        assert_eq!(b["temperature"], 0.3);
    }

    #[test]
    fn invalid_requests_are_refused() {
        let empty = ChatCompletionRequest::new("gpt-4o", vec![]);
        assert!(matches!(
            chat_body(Provider::OpenAI, &empty, false),
            Err(Error::InvalidRequest(_))
        ));
        let no_model = ChatCompletionRequest::new(" ", vec![Message::user("hi")]);
        assert!(matches!(
            chat_body(Provider::OpenRouter, &no_model, false),
            Err(Error::InvalidRequest(_))
        ));
        let nan = req("gpt-4o").temperature(f64::NAN);
        assert!(matches!(chat_body(Provider::OpenAI, &nan, false), Err(Error::InvalidRequest(_))));
    }

    #[test]
    fn tools_format_and_reasoning_map_per_provider() {
        use crate::types::{ReasoningEffort, ResponseFormat, Tool, ToolCall, ToolChoice};
        let schema = json!({"type":"object"});
        let asst = Message::assistant_tool_calls("", vec![ToolCall::new("call_1", "f", "{}")]);
        let r = ChatCompletionRequest::new(
            "o3",
            vec![Message::user("hi"), asst, Message::tool_result("call_1", "ok")],
        )
        .tool(Tool::new("f", "does f", schema.clone()))
        .tool_choice(ToolChoice::Tool("f".into()))
        .response_format(ResponseFormat::json_schema("out", schema.clone()))
        .reasoning_effort(ReasoningEffort::High);
        let b = chat_body(Provider::OpenAI, &r, false).expect("valid");
        assert_eq!(
            b["tools"],
            json!([{"type":"function","function":{"name":"f","description":"does f","parameters":schema}}])
        );
        assert_eq!(b["tool_choice"], json!({"type":"function","function":{"name":"f"}}));
        assert_eq!(b["response_format"]["json_schema"]["name"], "out");
        assert_eq!(b["reasoning_effort"], "high");
        assert_eq!(
            b["messages"][1]["tool_calls"],
            json!([{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}])
        );
        assert_eq!(b["messages"][2], json!({"role":"tool","content":"ok","tool_call_id":"call_1"}));
        let b = chat_body(Provider::OpenRouter, &r, false).expect("valid");
        assert_eq!(b["reasoning"], json!({"effort":"high"}));
        assert!(b.get("reasoning_effort").is_none());
        let budget = r.clone().thinking(Thinking::Enabled { budget_tokens: 2000 });
        assert!(matches!(
            chat_body(Provider::OpenAI, &budget, false),
            Err(Error::InvalidRequest(_))
        ));
        assert!(matches!(
            chat_body(Provider::OpenRouter, &budget, false),
            Err(Error::InvalidRequest(_))
        ));
        let off = r.clone().thinking(Thinking::Disabled);
        assert_eq!(
            chat_body(Provider::OpenAI, &off, false).expect("valid")["reasoning_effort"],
            "high"
        );
        let mut only_budget = budget;
        only_budget.reasoning_effort = None;
        let b = chat_body(Provider::OpenRouter, &only_budget, false).expect("valid");
        assert_eq!(b["reasoning"], json!({"max_tokens":2000}));
    }
}
