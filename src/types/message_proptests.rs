//! Property tests: any provider-shaped message or request with tools, tool calls, tool results
//! and thinking reads and writes back with nothing lost, typed where the shape is exact.

use proptest::prelude::*;
use serde_json::{json, Value};

use crate::types::{ChatCompletionRequest, Message};

/// Short strings, with characters that JSON escapes.
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 \"\\\\é/+=:;,._{}-]{0,12}"
}

/// An OpenAI `tool_calls[]` entry: a function call, sometimes with an extra field (as some
/// upstreams add `index`), sometimes another kind.
fn tool_call() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => (text(), text(), text()).prop_map(|(id, n, a)| json!({"id":id,"type":"function","function":{"name":n,"arguments":a}})),
        1 => (text(), text()).prop_map(|(id, n)| json!({"id":id,"type":"function","index":0,"function":{"name":n,"arguments":"{}"}})),
        1 => (text(), text()).prop_map(|(id, i)| json!({"id":id,"type":"custom","custom":{"name":"g","input":i}})),
    ]
}

/// Anthropic blocks: tool use, tool result, thinking (signed or redacted), text.
fn block() -> impl Strategy<Value = Value> {
    prop_oneof![
        (text(), text(), text())
            .prop_map(|(id, n, v)| json!({"type":"tool_use","id":id,"name":n,"input":{"v":v}})),
        (text(), text(), any::<bool>()).prop_map(
            |(id, c, e)| json!({"type":"tool_result","tool_use_id":id,"content":c,"is_error":e})
        ),
        (text(), text()).prop_map(|(t, s)| json!({"type":"thinking","thinking":t,"signature":s})),
        text().prop_map(|d| json!({"type":"redacted_thinking","data":d})),
        text().prop_map(|t| json!({"type":"text","text":t})),
    ]
}

fn thinking_block() -> impl Strategy<Value = Value> {
    prop_oneof![
        (text(), text()).prop_map(|(t, s)| json!({"type":"thinking","thinking":t,"signature":s})),
        text().prop_map(|d| json!({"type":"redacted_thinking","data":d})),
    ]
}

fn message() -> impl Strategy<Value = Value> {
    let content = prop_oneof![
        text().prop_map(Value::String),
        Just(Value::Null),
        proptest::collection::vec(block(), 0..4).prop_map(Value::Array),
    ];
    let reasoning = prop_oneof![
        text().prop_map(Value::String),
        Just(json!({"effort":"low"})),
        Just(json!(null)),
    ];
    (
        prop_oneof![Just("user"), Just("assistant"), Just("tool")],
        content,
        proptest::option::of(proptest::collection::vec(tool_call(), 0..3)),
        proptest::option::of(reasoning),
        proptest::option::of(proptest::collection::vec(thinking_block(), 0..3)),
        proptest::option::of(text()),
    )
        .prop_map(|(role, c, calls, reasoning, thinking, id)| {
            let mut m = json!({"role": role, "content": c});
            if let Some(calls) = calls {
                m["tool_calls"] = json!(calls);
            }
            if let Some(r) = reasoning {
                m["reasoning"] = r;
            }
            if let Some(t) = thinking {
                m["thinking_blocks"] = json!(t);
            }
            if let Some(id) = id {
                m["tool_call_id"] = json!(id);
            }
            m
        })
}

fn request() -> impl Strategy<Value = Value> {
    let tool = prop_oneof![
        (text(), proptest::option::of(text())).prop_map(|(n, d)| match d {
            Some(d) => json!({"type":"function","function":{"name":n,"description":d,"parameters":{"type":"object"}}}),
            None => json!({"type":"function","function":{"name":n,"parameters":{"type":"object"},"strict":true}}),
        }),
        Just(json!({"type":"web_search_preview"})),
    ];
    let choice = prop_oneof![
        Just(json!("auto")),
        Just(json!("required")),
        Just(json!("none")),
        text().prop_map(|n| json!({"type":"function","function":{"name":n}})),
        Just(json!({"type":"allowed_tools","mode":"auto"})),
    ];
    let format = prop_oneof![
        Just(json!({"type":"json_object"})),
        (text(), any::<bool>()).prop_map(|(n, s)| json!({"type":"json_schema","json_schema":{"name":n,"schema":{"type":"object"},"strict":s}})),
        Just(json!({"type":"json_schema","json_schema":{"name":"n","schema":{}}})),
    ];
    let effort = prop_oneof![Just(json!("low")), Just(json!("high")), Just(json!("xhigh"))];
    let thinking = prop_oneof![
        (1024u32..9000).prop_map(|b| json!({"type":"enabled","budget_tokens":b})),
        Just(json!({"type":"adaptive"})),
        Just(json!({"type":"enabled"})),
    ];
    (
        proptest::collection::vec(message(), 1..3),
        proptest::option::of(proptest::collection::vec(tool, 0..3)),
        proptest::option::of(choice),
        proptest::option::of(format),
        proptest::option::of(effort),
        proptest::option::of(thinking),
    )
        .prop_map(|(messages, tools, choice, format, effort, thinking)| {
            let mut r = json!({"model":"m","messages":messages});
            for (k, v) in [
                ("tools", tools.map(Value::from)),
                ("tool_choice", choice),
                ("response_format", format),
                ("reasoning_effort", effort),
                ("thinking", thinking),
            ] {
                if let Some(v) = v {
                    r[k] = v;
                }
            }
            r
        })
}

proptest! {
    /// Any message with tool calls, tool results and thinking reads and writes back with
    /// nothing lost.
    #[test]
    fn messages_with_tools_and_thinking_round_trip(v in message()) {
        let m: Message = serde_json::from_value(v.clone()).expect("reads");
        prop_assert_eq!(serde_json::to_value(&m).expect("writes"), v.clone());
        // A function call is typed; any other shape stays untouched in `extra`.
        let calls = v.get("tool_calls").and_then(Value::as_array);
        let typed = calls.is_some_and(|c| !c.is_empty() && c.iter().all(|c| c["type"] == "function" && c.get("index").is_none()));
        prop_assert_eq!(!m.tool_calls.is_empty(), typed);
    }

    /// Any request with tools, choice, format and reasoning settings reads and writes back
    /// with nothing lost.
    #[test]
    fn requests_with_tools_and_reasoning_round_trip(v in request()) {
        let r: ChatCompletionRequest = serde_json::from_value(v.clone()).expect("reads");
        prop_assert_eq!(serde_json::to_value(&r).expect("writes"), v);
    }
}
