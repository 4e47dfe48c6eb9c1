//! Tools end to end through the emulator, for every provider, streamed and not: a two-turn
//! tool conversation, and a parallel tool call streamed in pieces and assembled exactly.
//!
//! The emulator calls the tools whose names the last user turn mentions, in the order it
//! mentions them, with arguments generated from each tool's schema (strings are the
//! property's name, enums their first value): so `get_weather` below is always called with
//! `{"city":"city","unit":"celsius"}`, and `get_time` with `{"zone":"zone"}`.

mod common;

use chat_limiter::{
    ChatCompletionRequest, ChatCompletionResponse, ChatLimiter, Message, Provider, Tool, ToolChoice,
};
use chat_limiter_emulator::Emulator;
use serde_json::json;

const PROVIDERS: [(Provider, &str); 3] = [
    (Provider::OpenAI, "gpt-4o-mini"),
    (Provider::Anthropic, "claude-haiku-4-5"),
    (Provider::OpenRouter, "openai/gpt-4o-mini"),
];
const WEATHER_ARGS: &str = r#"{"city":"city","unit":"celsius"}"#;
const TIME_ARGS: &str = r#"{"zone":"zone"}"#;

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

fn weather() -> Tool {
    Tool::new(
        "get_weather",
        "The current weather of a city",
        json!({"type":"object","properties":{"city":{"type":"string"},
            "unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city","unit"]}),
    )
}

fn time() -> Tool {
    Tool::new(
        "get_time",
        "The time in a zone",
        json!({"type":"object","properties":{"zone":{"type":"string"}},"required":["zone"]}),
    )
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
fn two_turn_tool_conversation_on_every_provider_streamed_and_not() {
    for (p, model) in PROVIDERS {
        let (_emu, limiter) = start(p);
        for stream in [false, true] {
            let what = format!("{p} stream={stream}");
            let mut req = ChatCompletionRequest::new(
                model,
                vec![Message::user("What is the weather in Paris? Please call get_weather.")],
            )
            .tool(weather())
            .tool(time())
            .max_tokens(64);
            let first = call(&limiter, &req, stream);
            let choice = &first.choices[0];
            assert_eq!(choice.finish_reason.as_deref(), Some("tool_calls"), "{what}");
            assert_eq!(first.text(), "", "{what}: a tool call has no text");
            let calls = &choice.message.tool_calls;
            assert_eq!(calls.len(), 1, "{what}");
            assert_eq!(
                (calls[0].name.as_str(), calls[0].arguments.as_str()),
                ("get_weather", WEATHER_ARGS),
                "{what}"
            );
            let prefix = if p == Provider::Anthropic { "toolu_" } else { "call_" };
            assert!(calls[0].id.starts_with(prefix), "{what}: {}", calls[0].id);
            // Second turn: the assistant message as it came, then the tool's result.
            req.messages.push(choice.message.clone());
            req.messages.push(Message::tool_result(calls[0].id.clone(), "18 C and sunny"));
            let second = call(&limiter, &req, stream);
            assert!(
                second.choices[0].message.tool_calls.is_empty(),
                "{what}: answered, no new call"
            );
            assert!(!second.text().is_empty(), "{what}");
            assert_ne!(second.choices[0].finish_reason.as_deref(), Some("tool_calls"), "{what}");
        }
    }
}

#[test]
fn a_streamed_parallel_tool_call_is_assembled_exactly_and_in_order() {
    for (p, model) in PROVIDERS {
        let (_emu, limiter) = start(p);
        let req = ChatCompletionRequest::new(
            model,
            vec![Message::user("call get_weather for Paris, then get_time for Europe/Paris")],
        )
        .tool(time()) // declared in the other order: the call order is the model's
        .tool(weather())
        .max_tokens(64);
        // The pieces as they arrive: tool-call deltas only, never answer text.
        let mut pieces = 0;
        for chunk in limiter.chat_completion_stream(&req).unwrap() {
            let chunk = chunk.unwrap();
            assert_eq!(chunk.delta, "", "{p}: arguments leaked into the text");
            pieces += chunk.tool_calls.len();
        }
        assert!(pieces > 4, "{p}: arguments came in pieces ({pieces})");
        let streamed = limiter.chat_completion_stream(&req).unwrap().collect_response().unwrap();
        let full = limiter.chat_completion(&req).unwrap();
        for (r, kind) in [(&streamed, "streamed"), (&full, "full")] {
            let calls = &r.choices[0].message.tool_calls;
            let got: Vec<_> =
                calls.iter().map(|c| (c.name.as_str(), c.arguments.as_str())).collect();
            assert_eq!(got, [("get_weather", WEATHER_ARGS), ("get_time", TIME_ARGS)], "{p} {kind}");
            assert_ne!(calls[0].id, calls[1].id, "{p} {kind}");
            assert_eq!(r.choices[0].finish_reason.as_deref(), Some("tool_calls"), "{p} {kind}");
        }
        // The non-streamed arguments are exactly the emulator's JSON text (OpenAI shape) or
        // its `input` object (Anthropic), as the raw body shows.
        match p {
            Provider::Anthropic => {
                assert_eq!(
                    full.raw["content"][0]["input"],
                    json!({"city":"city","unit":"celsius"})
                );
            }
            _ => assert_eq!(
                full.raw["choices"][0]["message"]["tool_calls"][1]["function"]["arguments"],
                TIME_ARGS
            ),
        }
    }
}

#[test]
fn tool_choice_forces_or_forbids_a_call() {
    for (p, model) in PROVIDERS {
        let (_emu, limiter) = start(p);
        let base = ChatCompletionRequest::new(model, vec![Message::user("Hello there")])
            .tool(weather())
            .tool(time())
            .max_tokens(32);
        let named = limiter
            .chat_completion(&base.clone().tool_choice(ToolChoice::Tool("get_time".into())))
            .unwrap();
        assert_eq!(named.choices[0].message.tool_calls[0].name, "get_time", "{p}");
        let any = limiter.chat_completion(&base.clone().tool_choice(ToolChoice::Required)).unwrap();
        assert_eq!(any.choices[0].message.tool_calls.len(), 1, "{p}");
        let mut never = base.clone().tool_choice(ToolChoice::None);
        never.messages = vec![Message::user("call get_weather")];
        let r = limiter.chat_completion(&never).unwrap();
        assert!(r.choices[0].message.tool_calls.is_empty() && !r.text().is_empty(), "{p}");
    }
}

#[test]
fn tool_definitions_and_calls_are_estimated_as_openai_counts_them_here() {
    use chat_limiter::{CharEstimator, TokenCounter};
    // The emulator charges `ceil(chars / 4)` of the texts and of the tools' and calls' JSON,
    // as the library estimates them, so on the OpenAI wire the two agree exactly.
    for (p, model) in [PROVIDERS[0], PROVIDERS[2]] {
        let (_emu, limiter) = start(p);
        let mut req =
            ChatCompletionRequest::new(model, vec![Message::user("call get_weather please")])
                .tool(weather())
                .tool(time())
                .max_tokens(64);
        let first = limiter.chat_completion(&req).unwrap();
        let plain = ChatCompletionRequest::new(model, req.messages.clone()).max_tokens(64);
        let c = CharEstimator::default();
        assert!(c.count_prompt(&req) > c.count_prompt(&plain) + 40, "{p}: tools are counted");
        assert_eq!(first.usage.unwrap().prompt_tokens, c.count_prompt(&req), "{p}");
        let call = first.choices[0].message.tool_calls[0].clone();
        req.messages.push(first.choices[0].message.clone());
        req.messages.push(Message::tool_result(call.id, "18 C"));
        let second = limiter.chat_completion(&req).unwrap();
        assert_eq!(second.usage.unwrap().prompt_tokens, c.count_prompt(&req), "{p}: with the call");
    }
}
