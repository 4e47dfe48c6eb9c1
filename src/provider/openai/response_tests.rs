//! OpenAI and OpenRouter response bodies.

use super::*;
use crate::types::Content;
use serde_json::json;

#[test]
fn openai_response() {
    let body = br#"{"id":"chatcmpl-8TJ9","object":"chat.completion","created":1701995833,"model":"gpt-4o-mini-2024-07-18",
        "choices":[{"index":0,"message":{"role":"assistant","content":"Hi there","refusal":null,"annotations":[]},
        "logprobs":null,"finish_reason":"stop"}],
        "usage":{"prompt_tokens":26,"completion_tokens":82,"total_tokens":108,
        "prompt_tokens_details":{"cached_tokens":6,"audio_tokens":0}},"system_fingerprint":"fp_1"}"#;
    let r = parse_response(Provider::OpenAI, body, Some("req_1".into()), "k").expect("valid");
    assert_eq!(r.text(), "Hi there");
    assert_eq!((r.id.as_str(), r.model.as_str()), ("chatcmpl-8TJ9", "gpt-4o-mini-2024-07-18"));
    assert_eq!(r.choices[0].finish_reason.as_deref(), Some("stop"));
    assert_eq!(r.choices[0].message.role, MessageRole::Assistant);
    // `refusal: null` and `annotations: []` say nothing: not kept in `extra`, still in `raw`.
    assert!(r.choices[0].message.extra.is_empty(), "{:?}", r.choices[0].message.extra);
    assert_eq!(r.raw["choices"][0]["message"]["annotations"], json!([]));
    assert!(r.raw["choices"][0]["message"].get("refusal").is_some());
    let u = r.usage.expect("usage");
    assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens), (26, 82, 108));
    assert_eq!(u.cache_read_input_tokens, Some(6));
    assert_eq!(u.cost, None);
    assert_eq!(r.request_id.as_deref(), Some("req_1"));
    assert_eq!(r.raw["system_fingerprint"], "fp_1");
}

#[test]
fn fields_with_a_value_stay_in_extra() {
    let body = br#"{"id":"c","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"x",
        "refusal":"no","annotations":[{"type":"url_citation"}],"audio":null,"reasoning_details":[],"n":0}}]}"#;
    let r = parse_response(Provider::OpenRouter, body, None, "k").expect("valid");
    let extra = &r.choices[0].message.extra;
    assert_eq!(extra.keys().collect::<Vec<_>>(), ["annotations", "n", "refusal"]);
    assert_eq!(extra["annotations"], json!([{"type": "url_citation"}]));
}

#[test]
fn tool_calls_and_null_content() {
    let body = br#"{"id":"c","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":null,
        "tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}"#;
    let r = parse_response(Provider::OpenAI, body, None, "k").expect("valid");
    assert_eq!(r.text(), "");
    assert_eq!(
        r.choices[0].message.tool_calls,
        vec![crate::types::ToolCall::new("call_1", "f", "{}")]
    );
    assert!(r.choices[0].message.extra.get("tool_calls").is_none());
    assert_eq!(r.usage, None);
}

#[test]
fn openrouter_cost_and_cache_write() {
    let body = br#"{"id":"gen-1739458867-kUKF","provider":"OpenAI","model":"openai/gpt-4o-mini","choices":[{"index":0,
        "message":{"role":"assistant","content":"ok"},"finish_reason":"stop","native_finish_reason":"stop"}],
        "usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12,"cost":0.00042,
        "prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":8}}}"#;
    let r = parse_response(Provider::OpenRouter, body, None, "k").expect("valid");
    let u = r.usage.expect("usage");
    assert_eq!(u.cost, Some(0.00042));
    assert_eq!((u.cache_read_input_tokens, u.cache_creation_input_tokens), (Some(0), Some(8)));
    assert_eq!(r.provider, Provider::OpenRouter);
}

#[test]
fn openrouter_200_with_error_body_is_an_api_error() {
    let key = "sk-or-v1-0123456789abcdef";
    let body = format!(
        r#"{{"error":{{"code":429,"message":"Provider returned error","metadata":{{"provider_name":"Chutes",
        "raw":"model is temporarily rate-limited upstream, key {key}"}}}},"user_id":"user_1"}}"#
    );
    let err =
        parse_response(Provider::OpenRouter, body.as_bytes(), None, key).expect_err("error body");
    let api = err.api_error().expect("api error");
    assert_eq!((api.status, api.retryable), (429, true));
    assert!(api.message.contains("Chutes") && api.message.contains("rate-limited upstream"));
    assert!(!api.message.contains(key));
    let body = br#"{"id":"gen-1","choices":[{"index":0,"message":{"role":"assistant","content":""},
        "finish_reason":"error","error":{"code":502,"message":"upstream died"}}]}"#;
    let err = parse_response(Provider::OpenRouter, body, None, "k").expect_err("failed choice");
    assert_eq!(err.status(), Some(502));
    assert!(err.is_retryable());
}

#[test]
fn malformed_bodies() {
    for body in [&b""[..], b"<html>", b"[]", b"{}", br#"{"choices":{}}"#, b"\xff\xfe"] {
        let r = parse_response(Provider::OpenAI, body, None, "k");
        assert!(matches!(r, Err(Error::InvalidResponse { .. })), "{body:?}");
    }
}

#[test]
fn lenient_fields() {
    let body = br#"{"choices":[{"message":{"role":"wizard","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}},
        {"index":7,"finish_reason":null}],"usage":{"prompt_tokens":18446744073709551615,"completion_tokens":5}}"#;
    let r = parse_response(Provider::OpenAI, body, None, "k").expect("valid");
    assert_eq!(r.text(), "ab");
    assert_eq!(r.choices[0].message.role, MessageRole::Assistant);
    assert!(matches!(&r.choices[0].message.content, Content::Parts(p) if p.len() == 2));
    assert!(!r.choices[0].message.extra.contains_key("content"));
    assert_eq!((r.choices[0].index, r.choices[1].index), (0, 7));
    assert_eq!(r.choices[1].finish_reason, None);
    assert_eq!(r.usage.expect("usage").total_tokens, u64::MAX);
}

#[test]
fn reasoning_text_and_tokens() {
    let body = br#"{"id":"gen-2","model":"deepseek/deepseek-r1","choices":[{"index":0,"message":{"role":"assistant","content":"4",
        "reasoning":"2+2 is 4","reasoning_details":[{"type":"reasoning.text","text":"2+2 is 4"}]},"finish_reason":"stop"}],
        "usage":{"prompt_tokens":5,"completion_tokens":30,"total_tokens":35,"completion_tokens_details":{"reasoning_tokens":29}}}"#;
    let r = parse_response(Provider::OpenRouter, body, None, "k").expect("valid");
    let m = &r.choices[0].message;
    assert_eq!((r.text().as_ref(), m.reasoning.as_deref()), ("4", Some("2+2 is 4")));
    assert!(m.extra.contains_key("reasoning_details"), "kept for the next turn");
    assert_eq!(r.usage.expect("usage").reasoning_tokens, Some(29));
}

#[test]
fn raw_is_the_body_verbatim_and_unread_fields_are_only_checked() {
    // Odd spacing, a unicode escape, numbers a Value would respell or refuse (`1.0`, `1e400`)
    // in fields the parser does not read: they are kept as they came.
    let body = "{ \"id\" : \"c-1\", \"object\":\"chat.completion\", \"created\": 1.0,\n  \"x_big\": 1e400,\n  \"model\":\"gpt-4o\", \"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"caf\\u00e9 \u{1F600}\"},\"finish_reason\":\"stop\"}],\n  \"usage\":{\"prompt_tokens\":2,\"completion_tokens\":3,\"total_tokens\":5} }";
    for p in [Provider::OpenAI, Provider::OpenRouter] {
        let r = parse_response(p, body.as_bytes(), None, "k").expect("valid");
        assert_eq!(r.raw.as_str(), body, "{p}: byte for byte");
        assert_eq!(r.text(), "café \u{1F600}");
        assert_eq!((r.id.as_str(), r.model.as_str()), ("c-1", "gpt-4o"));
        assert_eq!(r.usage.map(|u| u.total_tokens), Some(5));
        assert_eq!(serde_json::to_string(&r.raw).expect("writes"), body);
    }
    let not_an_object = parse_response(Provider::OpenAI, b"[1]", None, "k").expect_err("array");
    assert!(not_an_object.to_string().contains("not a JSON object"), "{not_an_object}");
    let cut = parse_response(Provider::OpenAI, &body.as_bytes()[..40], None, "k").expect_err("cut");
    assert!(cut.to_string().contains("body is not JSON"), "{cut}");
}

#[test]
fn a_response_serialises_with_raw_as_the_verbatim_body() {
    let body = "{\"id\":\"c\", \"model\":\"m\", \"n\": 1.0, \"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":\"stop\"}]}";
    let resp = parse_response(Provider::OpenAI, body.as_bytes(), Some("req_1".into()), "k")
        .expect("parses");
    let json = serde_json::to_string(&resp).expect("writes");
    assert!(json.contains(&format!("\"raw\":{body}")), "the body as JSON, verbatim: {json}");
    let back: crate::types::ChatCompletionResponse = serde_json::from_str(&json).expect("reads");
    assert_eq!(back, resp);
    assert_eq!(back.raw.as_str(), body);
    // Through a `Value` too (the raw body becomes part of the tree).
    let v = serde_json::to_value(&resp).expect("to a value");
    assert_eq!(v["raw"]["n"], 1.0);
    let from_value: crate::types::ChatCompletionResponse =
        serde_json::from_value(v).expect("from a value");
    assert_eq!(from_value.raw, resp.raw.value().clone());
    assert_eq!(from_value.text(), "hi");
}

/// The reading the one-pass reader replaced (a `Value` of the kept fields, taken apart), kept
/// here as the reference it must agree with.
mod reference {
    use super::*;
    use crate::provider::json::{f64_of, obj_of, parse_ok_fields, shape_error, u64_of};
    use crate::provider::openai::response_reader::says_nothing;
    use crate::types::{Choice, Message};
    use serde_json::Map;

    pub fn parse(p: Provider, body: &[u8]) -> Result<ChatCompletionResponse, Error> {
        let fields = &["id", "model", "choices", "usage", "error"];
        let (mut root, raw) = parse_ok_fields(p, body, fields)?;
        if let Some(err) = in_band_error(p, &root, "k") {
            return Err(err);
        }
        let choices = match root.get_mut("choices").map(Value::take) {
            Some(Value::Array(items)) => {
                items.into_iter().enumerate().map(|(i, c)| choice(i, c)).collect()
            }
            _ => return Err(shape_error(p, "no `choices` array in the response")),
        };
        Ok(ChatCompletionResponse {
            id: take_string(&mut root, "id"),
            model: take_string(&mut root, "model"),
            provider: p,
            choices,
            usage: root.get("usage").and_then(usage),
            request_id: None,
            raw,
            cached: false,
        })
    }

    fn choice(position: usize, mut c: Value) -> Choice {
        let index =
            u64_of(c.get("index")).and_then(|i| u32::try_from(i).ok()).unwrap_or(position as u32);
        let finish_reason = Some(take_string(&mut c, "finish_reason")).filter(|s| !s.is_empty());
        let message = match c.get_mut("message").map(Value::take) {
            Some(m) => message(m),
            None => Message::assistant(""),
        };
        Choice { index, message, finish_reason }
    }

    fn take_string(v: &mut Value, key: &str) -> String {
        match v.get_mut(key).map(Value::take) {
            Some(Value::String(s)) => s,
            _ => String::new(),
        }
    }

    fn message(v: Value) -> Message {
        let role = role_of(v.get("role")).unwrap_or(MessageRole::Assistant);
        let (mut extra, mut content) = (Map::new(), Content::Text(String::new()));
        if let Value::Object(o) = v {
            for (k, val) in o {
                if k == "content" {
                    match val {
                        Value::String(text) => content = Content::Text(text),
                        Value::Null => {}
                        val => match serde_json::from_value::<Content>(val.clone()) {
                            Ok(Content::Null) => {}
                            Ok(c) => content = c,
                            Err(_) => {
                                extra.insert(k, val);
                            }
                        },
                    }
                } else if k != "role" && !says_nothing(&val) {
                    extra.insert(k, val);
                }
            }
        }
        Message::from_wire(role, content, extra)
    }

    pub fn usage(v: &Value) -> Option<Usage> {
        let o = obj_of(Some(v))?;
        let prompt = u64_of(o.get("prompt_tokens")).unwrap_or(0);
        let completion = u64_of(o.get("completion_tokens")).unwrap_or(0);
        let details = o.get("prompt_tokens_details");
        Some(Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: u64_of(o.get("total_tokens"))
                .unwrap_or(prompt.saturating_add(completion)),
            cache_creation_input_tokens: details.and_then(|d| u64_of(d.get("cache_write_tokens"))),
            cache_read_input_tokens: details.and_then(|d| u64_of(d.get("cached_tokens"))),
            cost: f64_of(o.get("cost")),
            reasoning_tokens: o
                .get("completion_tokens_details")
                .and_then(|d| u64_of(d.get("reasoning_tokens"))),
        })
    }
}

#[test]
fn the_one_pass_reader_agrees_with_the_value_reading() {
    let bodies = [
        r#"{"id":5,"model":null,"choices":[7,{"index":4294967295},{"index":4294967296},{"index":-1},
            {"index":2.9,"finish_reason":"","message":null},{"message":[1]},{"message":{}}]}"#,
        r#"{"choices":[{"message":{"role":"user","role":7,"content":"a","content":null,"x":1,"x":null,
            "y":[],"y":{"z":1},"\u0063ontent":"escaped","t\u00e9":"\u00e9"}}]}"#,
        r#"{"choices":[{"message":{"content":{"odd":1},"tool_calls":[],"reasoning":"r"}}],
            "choices":[{"message":{"content":[{"type":"text","text":"last"}],"content":5}}]}"#,
        r#"{"choices":[],"usage":{"prompt_tokens":-3,"completion_tokens":1.5e19,"total_tokens":null,
            "cost":12,"prompt_tokens_details":{"cached_tokens":2.5,"cache_write_tokens":"8"},
            "prompt_tokens_details":{"cached_tokens":1},"completion_tokens_details":[1]}}"#,
        r#"{"choices":[],"usage":{"prompt_tokens":18446744073709551615,"completion_tokens":9,
            "cost":-0.5,"completion_tokens_details":{"reasoning_tokens":3,"reasoning_tokens":4}}}"#,
        r#"{"choices":[],"usage":"none"}"#,
        r#"{"choices":[],"usage":{"prompt_tokens":1},"usage":[]}"#,
        r#"{"choices":"x"}"#,
        r#"{"error":"not an object","choices":[]}"#,
        r#"{"error":{"code":400,"message":"top"},"choices":[{"error":{"code":502}}]}"#,
        r#"{"choices":[{"error":"no"},{"error":{"code":503,"message":"second"}}]}"#,
        r#"{"error":{"code":401},"error":null,"choices":[{"index":0}]}"#,
        r#"{"error":{"code":429,"message":"no choices at all"}}"#,
        r#"{"choices":[{"message":{"role":"assistant","content":"x"}}],"choices":{}}"#,
        r#"{"choices":[],"usage":{"prompt_tokens":1e400}}"#,
        r#"{"choices":[{"message":{"x":[1e400]},"logprobs":[1e400]}]}"#,
        r#"{"choices":[{"message":{"role":"assistant","content":"x"}}]"#,
    ];
    for body in bodies {
        for p in [Provider::OpenAI, Provider::OpenRouter] {
            let got = parse_response(p, body.as_bytes(), None, "k");
            let want = reference::parse(p, body.as_bytes());
            match (got, want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{p}: {body}"),
                (Err(got), Err(want)) => {
                    assert_eq!(got.to_string(), want.to_string(), "{p}: {body}")
                }
                (got, want) => panic!("{p}: {body}: {got:?} but the Value reading gives {want:?}"),
            }
        }
        if let Ok(v) = serde_json::from_str::<Value>(body) {
            assert_eq!(usage(&v["usage"]), reference::usage(&v["usage"]), "from a Value: {body}");
        }
    }
}

/// JSON made of the names and shapes an OpenAI-shaped answer has, for the property below.
fn arb_answer_json() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let keys = prop::sample::select(vec![
        "id",
        "model",
        "choices",
        "usage",
        "error",
        "index",
        "message",
        "finish_reason",
        "role",
        "content",
        "refusal",
        "annotations",
        "tool_calls",
        "reasoning",
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "prompt_tokens_details",
        "cached_tokens",
        "cache_write_tokens",
        "completion_tokens_details",
        "reasoning_tokens",
        "cost",
        "type",
        "text",
        "code",
        "function",
        "name",
        "arguments",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u64>().prop_map(|n| json!(n)),
        any::<i64>().prop_map(|n| json!(n)),
        (-1e20f64..1e20).prop_map(|f| json!(f)),
        prop::sample::select(vec!["assistant", "user", "text", "stop", "", "x"])
            .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..7).prop_map(|kv| Value::Object(
                kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}

proptest::proptest! {
    #[test]
    fn any_answer_reads_as_the_value_reading_reads_it(
        fields in proptest::collection::vec(("[a-z]{0,2}|id|model|choices|usage|error", arb_answer_json()), 0..6),
    ) {
        let root: serde_json::Map<String, Value> = fields.into_iter().collect();
        let body = Value::Object(root).to_string();
        for p in [Provider::OpenAI, Provider::OpenRouter] {
            let got = parse_response(p, body.as_bytes(), None, "k");
            let want = reference::parse(p, body.as_bytes());
            match (got, want) {
                (Ok(got), Ok(want)) => proptest::prop_assert_eq!(got, want),
                (Err(got), Err(want)) => proptest::prop_assert_eq!(got.to_string(), want.to_string()),
                (got, want) => proptest::prop_assert!(false, "{}: {:?} vs {:?}", body, got, want),
            }
        }
    }
}
