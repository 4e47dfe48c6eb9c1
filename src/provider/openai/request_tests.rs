//! OpenAI and OpenRouter request bodies.

use super::*;
use crate::types::{Message, MessageRole};
use serde_json::{json, Map, Value};

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
    let b = chat_body(Provider::OpenRouter, &req("openai/o3").max_tokens(9), false).expect("ok");
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
    assert_eq!(b["stream_options"], json!({"include_obfuscation": false, "include_usage": true}));
    let b = chat_body(Provider::OpenAI, &r.clone().extra("stream", true), false).expect("valid");
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
    assert!(matches!(chat_body(Provider::OpenAI, &empty, false), Err(Error::InvalidRequest(_))));
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
    assert!(matches!(chat_body(Provider::OpenAI, &budget, false), Err(Error::InvalidRequest(_))));
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

/// The body as it was built before it was written straight from the request: a `Value` map,
/// `extra` merged last, then the streaming fields set. The writer must agree with it.
fn reference_body(p: Provider, req: &ChatCompletionRequest, stream: bool) -> Result<Value, Error> {
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
            let extra = m.extra.iter().filter(|(k, _)| *k != ANTHROPIC_BLOCKS);
            o.extend(extra.map(|(k, v)| (k.clone(), v.clone())));
            Ok(Value::Object(o))
        })
        .collect::<Result<Vec<Value>, Error>>()?;
    body.insert("messages".into(), Value::Array(messages));
    if let Some(n) = req.max_tokens {
        let reasoning = p == Provider::OpenAI && is_reasoning_model(&req.model);
        let field = if reasoning { "max_completion_tokens" } else { "max_tokens" };
        body.insert(field.into(), json!(n));
    }
    put_f64(&mut body, "temperature", req.temperature)?;
    put_f64(&mut body, "top_p", req.top_p)?;
    if let Some(stop) = &req.stop {
        body.insert("stop".into(), json!(stop));
    }
    put_f64(&mut body, "frequency_penalty", req.frequency_penalty)?;
    put_f64(&mut body, "presence_penalty", req.presence_penalty)?;
    if let (Provider::OpenRouter, Some(k)) = (p, req.top_k) {
        body.insert("top_k".into(), json!(k));
    }
    for (k, v) in features(p, req)? {
        body.insert(k.into(), v);
    }
    body.extend(req.extra.clone());
    body.remove("stream");
    let options = body.remove("stream_options");
    if stream {
        body.insert("stream".into(), Value::Bool(true));
        if p == Provider::OpenAI {
            let mut opts = match options {
                Some(Value::Object(o)) => o,
                _ => Map::new(),
            };
            opts.insert("include_usage".into(), Value::Bool(true));
            body.insert("stream_options".into(), Value::Object(opts));
        } else if let Some(o) = options {
            body.insert("stream_options".into(), o);
        }
    }
    Ok(Value::Object(body))
}

/// Fails on an object with a repeated key anywhere in `text` (a `Value` would hide it).
fn assert_no_repeated_key(text: &str) {
    struct Check;
    impl<'de> serde::de::Visitor<'de> for Check {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<(), A::Error> {
            while s.next_element_seed(Check)?.is_some() {}
            Ok(())
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<(), A::Error> {
            let mut seen = std::collections::HashSet::new();
            while let Some(k) = m.next_key::<String>()? {
                assert!(seen.insert(k.clone()), "{k} is written twice");
                m.next_value_seed(Check)?;
            }
            Ok(())
        }
    }
    impl<'de> serde::de::DeserializeSeed<'de> for Check {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    serde::de::DeserializeSeed::deserialize(Check, &mut de).expect("JSON");
}

#[test]
fn the_written_body_is_the_value_body_with_no_key_twice() {
    use crate::types::{ContentPart, ReasoningEffort, ToolCall, ToolChoice};
    let mut blocks = Message::assistant("with blocks");
    blocks.extra.insert(ANTHROPIC_BLOCKS.into(), json!([{"type": "server_tool_use"}]));
    blocks.extra.insert("name".into(), json!("bot"));
    let mut overrides = Message::assistant_tool_calls("x", vec![ToolCall::new("c", "f", "{}")]);
    for k in ["role", "content", "tool_calls"] {
        overrides.extra.insert(k.into(), json!(format!("own {k}")));
    }
    let parts = Message::user_parts(vec![ContentPart::text("a"), ContentPart::text("b")]);
    let messages = vec![
        Message::system("be brief"),
        parts.clone(),
        blocks,
        overrides,
        Message::new(MessageRole::Assistant, Content::Null),
        parts,
        Message::tool_result("c", "42"),
    ];
    let full = ChatCompletionRequest::new("gpt-5-mini", messages)
        .max_tokens(9)
        .temperature(0.5)
        .top_p(1.0)
        .stop(["END"])
        .frequency_penalty(0.1)
        .presence_penalty(-0.2)
        .top_k(3)
        .tool(Tool::new("f", "does f", json!({"type": "object"})))
        .tool_choice(ToolChoice::Auto)
        .reasoning_effort(ReasoningEffort::Low);
    let overridden = ["model", "messages", "max_completion_tokens", "max_tokens", "temperature"]
        .iter()
        .chain(&["stop", "top_k", "tools", "reasoning", "reasoning_effort", "seed"])
        .fold(full.clone(), |r, k| r.extra(*k, json!(format!("extra {k}"))));
    let requests = [
        req("gpt-4o"),
        full.clone(),
        overridden,
        full.clone().extra("stream", false).extra("stream_options", json!({"x": 1})),
        full.clone().extra("stream_options", json!("not an object")),
        req("O3").max_tokens(4),
    ];
    for r in &requests {
        for p in [Provider::OpenAI, Provider::OpenRouter] {
            for stream in [false, true] {
                let mut bytes = Vec::new();
                let written = write_chat_body(p, r, stream, &mut bytes);
                match (written, reference_body(p, r, stream)) {
                    (Ok(()), Ok(want)) => {
                        let text = std::str::from_utf8(&bytes).expect("UTF-8");
                        assert_no_repeated_key(text);
                        let got: Value = serde_json::from_str(text).expect("JSON");
                        assert_eq!(got, want, "{p}, stream {stream}");
                        assert_eq!(chat_body(p, r, stream).expect("valid"), want);
                    }
                    (Err(got), Err(want)) => assert_eq!(got.to_string(), want.to_string()),
                    (got, want) => panic!("{p}, stream {stream}: {got:?} but {want:?}"),
                }
            }
        }
    }
}

#[test]
fn refusals_come_in_the_order_the_fields_are_written() {
    use crate::types::{DocumentPart, ReasoningEffort};
    let doc = Message::user_parts(vec![crate::types::ContentPart::Document(DocumentPart::url(
        "https://example.com/a.pdf",
    ))]);
    let bad = [
        ChatCompletionRequest::new("", vec![doc.clone()]).temperature(f64::NAN),
        ChatCompletionRequest::new("gpt-4o", vec![doc.clone()]).temperature(f64::NAN),
        req("gpt-4o").top_p(f64::INFINITY).presence_penalty(f64::NAN),
        req("gpt-4o").presence_penalty(f64::NAN).thinking(Thinking::Enabled { budget_tokens: 5 }),
        req("gpt-4o").thinking(Thinking::Enabled { budget_tokens: 5 }).extra("thinking", 1),
        req("x/y").reasoning_effort(ReasoningEffort::Low).thinking(Thinking::Disabled),
        req("gpt-4o").temperature(f64::NAN).extra("temperature", 0.5),
        ChatCompletionRequest::new("gpt-4o", vec![doc]).extra("messages", json!([])),
    ];
    for (i, r) in bad.iter().enumerate() {
        let mut refused = 0;
        for p in [Provider::OpenAI, Provider::OpenRouter] {
            let got = write_chat_body(p, r, false, &mut Vec::new()).err();
            let want = reference_body(p, r, false).err();
            assert_eq!(got.as_ref().map(Error::to_string), want.map(|e| e.to_string()), "{i} {p}");
            assert!(got.as_ref().is_none_or(|e| matches!(e, Error::InvalidRequest(_))));
            refused += usize::from(got.is_some());
        }
        assert!(refused > 0, "request {i} is refused by some provider");
    }
}

proptest::proptest! {
    /// Whatever `extra` (of the request or of a message) overrides, the written body is the
    /// `Value` body, with no key twice.
    #[test]
    fn any_extras_write_the_value_body(
        top in proptest::collection::vec((EXTRA_KEYS, 0u8..4), 0..6),
        inner in proptest::collection::vec((EXTRA_KEYS, 0u8..4), 0..4),
        stream: bool,
        router: bool,
        reasoning_model: bool,
    ) {
        let value = |v: u8| [json!(null), json!(1.5), json!("s"), json!({"k": [1]})][v as usize].clone();
        let mut m = Message::assistant("hi");
        m.extra.extend(inner.into_iter().map(|(k, v)| (k.to_string(), value(v))));
        let model = if reasoning_model { "o3-mini" } else { "gpt-4o" };
        let mut r = ChatCompletionRequest::new(model, vec![Message::user("q"), m])
            .max_tokens(5)
            .temperature(0.2)
            .stop(["x"])
            .top_k(2);
        r.extra.extend(top.into_iter().map(|(k, v)| (k.to_string(), value(v))));
        let p = if router { Provider::OpenRouter } else { Provider::OpenAI };
        let mut bytes = Vec::new();
        write_chat_body(p, &r, stream, &mut bytes).expect("valid");
        let text = std::str::from_utf8(&bytes).expect("UTF-8");
        assert_no_repeated_key(text);
        let got: Value = serde_json::from_str(text).expect("JSON");
        proptest::prop_assert_eq!(got, reference_body(p, &r, stream).expect("valid"));
    }
}

/// Names an `extra` may use: the typed fields', the streaming ones, a message's, and others.
const EXTRA_KEYS: &str = "model|messages|max_tokens|max_completion_tokens|temperature|stop|top_k\
    |stream|stream_options|role|content|tool_calls|content_blocks|name|seed";
