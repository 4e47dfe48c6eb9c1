use serde_json::json;

use super::*;
use crate::types::{DocumentPart, ImagePart};

#[test]
fn body_maps_instructions_input_items_and_settings() {
    let mut assistant = Message::assistant(Content::Null);
    assistant.extra.insert(
        "tool_calls".into(),
        json!([{"id": "call_1", "type": "function",
                "function": {"name": "weather", "arguments": "{\"city\":\"Oslo\"}"}}]),
    );
    let mut tool = Message::new(MessageRole::Tool, "12C");
    tool.extra.insert("tool_call_id".into(), json!("call_1"));
    let req = ChatCompletionRequest::new(
        "o4-mini",
        vec![
            Message::system("Be brief."),
            Message::new(MessageRole::Developer, "Answer in English."),
            Message::user_parts(vec![
                ContentPart::text("What is this?"),
                ContentPart::Image(ImagePart::url("https://x/a.png").detail("low")),
                ContentPart::Document(
                    DocumentPart::base64("application/pdf", "JVBE").filename("a.pdf"),
                ),
                ContentPart::Other(json!({"type": "input_audio", "x": 1})),
            ]),
            assistant,
            tool,
            Message::assistant("It is 12C."),
        ],
    )
    .max_tokens(300)
    .temperature(0.5)
    .top_p(0.9)
    .top_k(5)
    .extra("reasoning_effort", "low")
    .extra("store", false)
    .extra(
        "tools",
        json!([{"type": "function", "function": {"name": "weather", "parameters": {}}}]),
    )
    .extra("tool_choice", json!({"type": "function", "function": {"name": "weather"}}))
    .extra(
        "response_format",
        json!({"type": "json_schema",
        "json_schema": {"name": "r", "schema": {"type": "object"}, "strict": true}}),
    );
    let b = body(&req, false).expect("valid");
    assert_eq!(
        b,
        json!({
            "model": "o4-mini",
            "instructions": "Be brief.\n\nAnswer in English.",
            "input": [
                {"type": "message", "role": "user", "content": [
                    {"type": "input_text", "text": "What is this?"},
                    {"type": "input_image", "image_url": "https://x/a.png", "detail": "low"},
                    {"type": "input_file", "file_data": "data:application/pdf;base64,JVBE", "filename": "a.pdf"},
                    {"type": "input_audio", "x": 1},
                ]},
                {"type": "function_call", "call_id": "call_1", "name": "weather",
                 "arguments": "{\"city\":\"Oslo\"}"},
                {"type": "function_call_output", "call_id": "call_1", "output": "12C"},
                {"type": "message", "role": "assistant", "content": "It is 12C."},
            ],
            "max_output_tokens": 300,
            "temperature": 0.5,
            "top_p": 0.9,
            "reasoning": {"effort": "low"},
            "store": false,
            "tools": [{"type": "function", "name": "weather", "parameters": {}}],
            "tool_choice": {"type": "function", "name": "weather"},
            "text": {"format": {"type": "json_schema", "name": "r", "schema": {"type": "object"}, "strict": true}},
        })
    );
}

#[test]
fn stream_flag_follows_the_call_and_assistant_parts_are_output_text() {
    let req = ChatCompletionRequest::new(
        "gpt-4o",
        vec![
            Message::user("hi"),
            Message::new(MessageRole::Assistant, vec![ContentPart::text("hello")]),
            Message::system("late system message stays an item"),
        ],
    )
    .extra("stream", false)
    .extra("stream_options", json!({"include_usage": true}));
    let b = body(&req, true).expect("valid");
    assert_eq!(b["stream"], true);
    assert!(b.get("stream_options").is_none() && b.get("instructions").is_none());
    assert_eq!(b["input"][1]["content"], json!([{"type": "output_text", "text": "hello"}]));
    assert_eq!(b["input"][2]["role"], "system");
    let b = body(&req.clone().extra("stream", true), false).expect("valid");
    assert!(b.get("stream").is_none());
}

#[test]
fn settings_without_an_equivalent_are_refused_not_dropped() {
    let base = ChatCompletionRequest::new("gpt-4o", vec![Message::user("hi")]);
    for (req, name) in [
        (base.clone().stop(["END"]), "stop"),
        (base.clone().frequency_penalty(0.1), "frequency_penalty"),
        (base.clone().presence_penalty(0.1), "presence_penalty"),
        (base.clone().extra("n", 2), "n > 1"),
        (base.clone().temperature(f64::NAN), "temperature"),
    ] {
        let e = body(&req, false).expect_err(name).to_string();
        assert!(e.contains(name), "{name}: {e}");
    }
    assert!(body(&base.clone().extra("n", 1), false).expect("n = 1 is fine").get("n").is_none());
    let tool = Message::new(MessageRole::Tool, "x");
    let e = body(&ChatCompletionRequest::new("gpt-4o", vec![tool]), false).unwrap_err();
    assert!(e.to_string().contains("tool_call_id"), "{e}");
}

#[test]
fn content_in_extra_is_translated_too() {
    let mut m = Message::user("see");
    m.extra.insert(
        "content".into(),
        json!([{"type": "text", "text": "see"}, {"type": "image_url", "image_url": {"url": "https://x/a.png"}}]),
    );
    let b = body(&ChatCompletionRequest::new("gpt-4o", vec![m]), false).expect("valid");
    assert_eq!(
        b["input"][0]["content"],
        json!([{"type": "input_text", "text": "see"},
               {"type": "input_image", "image_url": "https://x/a.png", "detail": "auto"}])
    );
}
