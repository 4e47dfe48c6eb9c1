//! Structured output end to end through the emulator, for every provider, streamed and not:
//! a JSON Schema answer parsed into a struct, and a typed error when it does not fit.
//!
//! The emulator generates the answer from the schema (strings are the property's name,
//! integers their `minimum`, arrays one item), so the expected value is known here.
//! Anthropic receives the schema as a forced tool and the client reads its input back as the
//! answer's text.

mod common;

use chat_limiter::{
    ChatCompletionRequest, ChatCompletionResponse, ChatLimiter, JsonOutputError, Message, Provider,
    ResponseFormat,
};
use chat_limiter_emulator::Emulator;
use serde::Deserialize;
use serde_json::json;

const PROVIDERS: [(Provider, &str); 3] = [
    (Provider::OpenAI, "gpt-4o-mini"),
    (Provider::Anthropic, "claude-haiku-4-5"),
    (Provider::OpenRouter, "openai/gpt-4o-mini"),
];

#[derive(Debug, PartialEq, Deserialize)]
struct Person {
    name: String,
    age: u32,
    tags: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)] // only its failure to parse is used
struct Wrong {
    name: u32,
}

fn start(p: Provider) -> (Emulator, ChatLimiter) {
    let emu = match p {
        Provider::Anthropic => Emulator::anthropic(),
        Provider::OpenRouter => Emulator::openrouter(),
        _ => Emulator::openai(),
    }
    .start()
    .unwrap();
    let limiter = common::builder(p, &emu.base_url()).build().unwrap();
    (emu, limiter)
}

fn person_schema() -> serde_json::Value {
    json!({"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":30},
        "tags":{"type":"array","items":{"type":"string"}}},"required":["name","age","tags"],
        "additionalProperties":false})
}

fn call(
    limiter: &ChatLimiter,
    req: &ChatCompletionRequest,
    stream: bool,
) -> ChatCompletionResponse {
    if stream {
        limiter.chat_completion_stream(req).unwrap().collect_response().unwrap()
    } else {
        limiter.chat_completion(req).unwrap()
    }
}

#[test]
fn a_schema_checked_answer_parses_into_a_struct_on_every_provider() {
    for (p, model) in PROVIDERS {
        let (_emu, limiter) = start(p);
        let req = ChatCompletionRequest::new(model, vec![Message::user("Invent a person.")])
            .response_format(ResponseFormat::json_schema("person", person_schema()))
            .max_tokens(100);
        for stream in [false, true] {
            let r = call(&limiter, &req, stream);
            let what = format!("{p} stream={stream}");
            let want = Person { name: "name".into(), age: 30, tags: vec!["tags".into()] };
            assert_eq!(r.parse_json::<Person>().expect(&what), want, "{what}");
            assert_eq!(r.choices[0].finish_reason.as_deref(), Some("stop"), "{what}");
            assert!(r.choices[0].message.tool_calls.is_empty(), "{what}: not a tool call");
            let err = r.parse_json::<Wrong>().expect_err("name is a string");
            assert!(matches!(err, JsonOutputError::Mismatch(_)), "{what}: {err}");
        }
    }
}

#[test]
fn a_text_answer_is_a_typed_not_json_error() {
    for (p, model) in PROVIDERS {
        let (_emu, limiter) = start(p);
        let req = ChatCompletionRequest::new(model, vec![Message::user("Say hi.")]).max_tokens(8);
        let r = limiter.chat_completion(&req).unwrap();
        let err = r.parse_json::<Person>().expect_err("lorem text is not JSON");
        assert!(matches!(err, JsonOutputError::NotJson(_)), "{p}: {err}");
    }
}

#[test]
fn json_object_answers_are_objects() {
    for (p, model) in PROVIDERS {
        let (_emu, limiter) = start(p);
        let req = ChatCompletionRequest::new(model, vec![Message::user("Any JSON.")])
            .response_format(ResponseFormat::JsonObject)
            .max_tokens(32);
        let v: serde_json::Value = limiter.chat_completion(&req).unwrap().parse_json().unwrap();
        assert!(v.is_object(), "{p}: {v}");
    }
}
