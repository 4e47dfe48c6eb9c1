//! Streams and the response cache: a completed stream is stored as its chunks and replayed
//! as a stream (no request, no limiter slot); a broken or dropped stream is not stored.

mod cache_support;
mod common;

use cache_support::det;
use chat_limiter::{Cache, ChatCompletionChunk, ChatLimiter, Provider};
use chat_limiter_emulator::{Emulator, FaultKind};

fn limiter(emu: &Emulator, provider: Provider, model: &str, cache: &Cache) -> ChatLimiter {
    common::builder(provider, &emu.base_url()).model(model).cache(cache.clone()).build().unwrap()
}

fn chunks(l: &ChatLimiter, prompt: &str, model: &str) -> (bool, Vec<ChatCompletionChunk>) {
    let stream = l.chat_completion_stream(&det(model, prompt)).unwrap();
    let cached = stream.is_cached();
    let out: Vec<_> = stream.map(|c| c.unwrap()).collect();
    (cached, out)
}

#[test]
fn a_completed_stream_is_replayed_chunk_for_chunk() {
    for (emu, provider, model) in [
        (Emulator::openai().start().unwrap(), Provider::OpenAI, "gpt-4o-mini"),
        (Emulator::anthropic().start().unwrap(), Provider::Anthropic, "claude-3-5-haiku-20241022"),
        (Emulator::openrouter().start().unwrap(), Provider::OpenRouter, "openai/gpt-4o-mini"),
    ] {
        let cache = Cache::memory();
        let l = limiter(&emu, provider, model, &cache);
        let (cached, first) = chunks(&l, "Tell me a story", model);
        // (OpenRouter's first call also checks the key's credit: count from here.)
        let sent = emu.stats().requests - 1;
        assert!(!cached);
        assert!(first.len() > 1, "{provider}: a real stream has several chunks");
        let (cached, replayed) = chunks(&l, "Tell me a story", model);
        assert!(cached, "{provider}");
        assert_eq!(replayed, first, "{provider}: the same chunks in the same order");
        assert_eq!(emu.stats().requests - sent, 1, "{provider}: the replay sent nothing");
        // Collected, a replay is the same response as the original, marked as cached.
        let r = l.chat_completion_stream(&det(model, "Tell me a story")).unwrap();
        let usage = first.iter().rev().find_map(|c| c.usage);
        let collected = r.collect_response().unwrap();
        assert!(collected.cached);
        assert_eq!(collected.text(), first.iter().map(|c| c.delta.as_str()).collect::<String>());
        assert_eq!(collected.usage, usage);
        // A stream and a non-streamed call of the same request are different entries.
        assert!(!l.chat_completion(&det(model, "Tell me a story")).unwrap().cached);
        assert_eq!(emu.stats().requests - sent, 2);
    }
}

#[test]
fn a_replayed_stream_takes_no_limiter_slot() {
    let emu = Emulator::openai().start().unwrap();
    let cache = Cache::memory();
    let l = limiter(&emu, Provider::OpenAI, "gpt-4o-mini", &cache);
    chunks(&l, "a", "gpt-4o-mini");
    let mut replay = l.chat_completion_stream(&det("gpt-4o-mini", "a")).unwrap();
    replay.next().unwrap().unwrap();
    let limits = l.current_limits();
    assert_eq!(limits.model("gpt-4o-mini").unwrap().in_flight, 0, "no slot held while replaying");
    assert!(replay.by_ref().all(|c| c.is_ok()));
    assert!(replay.is_complete() && replay.is_finished());
}

#[test]
fn a_broken_or_dropped_stream_is_not_stored() {
    let emu = Emulator::openai().fault(FaultKind::MidStreamError, 1.0).start().unwrap();
    let cache = Cache::memory();
    let l = limiter(&emu, Provider::OpenAI, "gpt-4o-mini", &cache);
    let results: Vec<_> = l.chat_completion_stream(&det("gpt-4o-mini", "a")).unwrap().collect();
    assert!(results.iter().any(|r| r.is_err()), "the fault broke the stream");
    assert_eq!(cache.stats().unwrap().entries, 0);

    let emu = Emulator::openai().start().unwrap();
    let l = limiter(&emu, Provider::OpenAI, "gpt-4o-mini", &cache);
    let mut s = l.chat_completion_stream(&det("gpt-4o-mini", "b")).unwrap();
    s.next().unwrap().unwrap();
    drop(s);
    assert_eq!(cache.stats().unwrap().entries, 0, "dropped before the end: not stored");
    assert!(!l.chat_completion_stream(&det("gpt-4o-mini", "b")).unwrap().is_cached());
}
