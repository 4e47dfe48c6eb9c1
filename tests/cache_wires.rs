//! The response cache over the other wires and chunk kinds: a Responses API call is answered
//! from the cache as the same response, and a streamed tool call is replayed with its tool-call
//! pieces and assembles into the same calls.

mod cache_support;
mod common;

use cache_support::det;
use chat_limiter::{Cache, ChatLimiter, Provider, Tool};
use chat_limiter_emulator::Emulator;
use serde_json::json;

fn limiter(p: Provider, emu: &Emulator, cache: &Cache) -> ChatLimiter {
    common::builder(p, &emu.base_url()).cache(cache.clone()).build().unwrap()
}

#[test]
fn a_responses_api_call_is_answered_from_the_cache() {
    let emu = Emulator::openai().start().unwrap();
    let cache = Cache::memory();
    let l = limiter(Provider::OpenAI, &emu, &cache);
    let first = l.responses(&det("gpt-4o-mini", "What is Rust?")).unwrap();
    let again = l.responses(&det("gpt-4o-mini", "What is Rust?")).unwrap();
    assert_eq!(first.raw["object"], "response");
    assert!(!first.cached && again.cached);
    assert_eq!((again.text(), &again.usage, &again.raw), (first.text(), &first.usage, &first.raw));
    assert_eq!(emu.stats().requests, 1);
    assert_eq!(cache.counters().errors, 0, "the stored body was read by the Responses parser");
    // The same request on Chat Completions is another endpoint: another entry.
    assert!(!l.chat_completion(&det("gpt-4o-mini", "What is Rust?")).unwrap().cached);
    assert_eq!(emu.stats().requests, 2);
}

#[test]
fn a_streamed_tool_call_is_replayed_with_its_pieces() {
    let weather = Tool::new(
        "get_weather",
        "The current weather of a city",
        json!({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}),
    );
    for (p, model, emu) in [
        (Provider::OpenAI, "gpt-4o-mini", Emulator::openai().start().unwrap()),
        (Provider::Anthropic, "claude-haiku-4-5", Emulator::anthropic().start().unwrap()),
    ] {
        let cache = Cache::memory();
        let l = limiter(p, &emu, &cache);
        let req = det(model, "call get_weather for Paris").tool(weather.clone());
        let first: Vec<_> = l.chat_completion_stream(&req).unwrap().map(|c| c.unwrap()).collect();
        assert!(first.iter().any(|c| !c.tool_calls.is_empty()), "{p}: a tool call was streamed");
        let replay = l.chat_completion_stream(&req).unwrap();
        assert!(replay.is_cached(), "{p}");
        let replayed: Vec<_> = replay.map(|c| c.unwrap()).collect();
        assert_eq!(replayed, first, "{p}: every field of every chunk, tool calls included");
        let sent = l.chat_completion_stream(&req).unwrap();
        let collected = sent.collect_response().unwrap();
        assert!(collected.cached);
        let calls = &collected.choices[0].message.tool_calls;
        assert_eq!(calls.len(), 1, "{p}: the replay assembles into the call: {collected:?}");
        assert_eq!(calls[0].name, "get_weather");
        assert_eq!(emu.stats().requests, 1, "{p}");
    }
}
