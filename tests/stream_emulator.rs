//! Streaming against the emulator for all three providers: collection matches the
//! non-streaming call, mid-stream error events and dropped connections give typed errors,
//! the read timeout applies between chunks, early drops free the slot, and Anthropic's output
//! bucket settles to the real output.

mod common;
mod stream_common;

use std::time::{Duration, Instant};

use chat_limiter::{ChatCompletionRequest, ChatLimiter, Error, Message, Provider};
use chat_limiter_emulator::{Emulator, EmulatorBuilder, FaultKind, OutputLen};
use stream_common::{drain, in_flight};

const PROVIDERS: [(Provider, &str); 3] = [
    (Provider::OpenAI, "gpt-4o-mini"),
    (Provider::Anthropic, "claude-haiku-4-5"),
    (Provider::OpenRouter, "openai/gpt-4o-mini"),
];

fn emulator(p: Provider) -> EmulatorBuilder {
    match p {
        Provider::Anthropic => Emulator::anthropic(),
        Provider::OpenRouter => Emulator::openrouter(),
        _ => Emulator::openai(),
    }
}

fn limiter(p: Provider, emu: &Emulator) -> ChatLimiter {
    common::builder(p, &emu.base_url()).build().unwrap()
}

fn req(model: &str, max_tokens: u32) -> ChatCompletionRequest {
    ChatCompletionRequest::new(model, vec![Message::user("Tell me a story")]).max_tokens(max_tokens)
}

#[test]
fn collected_stream_matches_the_non_streaming_response() {
    for (p, model) in PROVIDERS {
        let emu = emulator(p).output_len(OutputLen::Fixed(12)).start().unwrap();
        let limiter = limiter(p, &emu);
        let plain = limiter.chat_completion(&req(model, 40)).unwrap();
        let streamed = limiter.chat_completion_stream(&req(model, 40)).unwrap().collect_response();
        let streamed = streamed.unwrap();
        // The text depends on the body's hash, which `stream: true` changes; the length does not.
        assert_eq!(streamed.text().split(' ').count(), 12, "{p}");
        assert_eq!(plain.text().split(' ').count(), 12, "{p}");
        assert_eq!(streamed.model, plain.model, "{p}");
        assert_eq!(streamed.choices[0].finish_reason, plain.choices[0].finish_reason, "{p}");
        let (su, pu) = (streamed.usage.unwrap(), plain.usage.unwrap());
        assert_eq!((su.prompt_tokens, su.completion_tokens), (pu.prompt_tokens, 12), "{p}");
        assert_eq!(pu.completion_tokens, 12, "{p}");
        assert!(!streamed.id.is_empty() && streamed.request_id.is_some(), "{p}");
        let raw_keys = |v: &serde_json::Value| {
            let mut k: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
            k.retain(|k| {
                ["id", "model", "usage", "choices", "content", "stop_reason"].contains(&k.as_str())
            });
            k.sort();
            k
        };
        assert_eq!(
            raw_keys(streamed.raw.value()),
            raw_keys(plain.raw.value()),
            "{p}: raw has the same shape"
        );
        assert_eq!(in_flight(&limiter, model), 0, "{p}");
    }
}

#[test]
fn mid_stream_error_events_are_typed_errors() {
    for (p, model) in PROVIDERS {
        let emu = emulator(p).fault(FaultKind::MidStreamError, 1.0).start().unwrap();
        let limiter = limiter(p, &emu);
        let (_, err) = drain(limiter.chat_completion_stream(&req(model, 40)).unwrap());
        let api = match err {
            Some(Error::Api(api)) => api,
            other => panic!("{p}: expected an API error, got {other:?}"),
        };
        assert!(api.status >= 500, "{p}: {api}");
        assert!(api.request_id.is_some(), "{p}: the request id is filled in");
        assert_eq!(in_flight(&limiter, model), 0, "{p}");
    }
}

/// The emulator's connection drop sends a 200 head, part of a body and closes: the stream
/// has started, so the cut ends the iterator with a transport error (no retry, no hang).
#[test]
fn a_connection_dropped_mid_body_is_a_transport_error() {
    for (p, model) in PROVIDERS {
        let emu = emulator(p).fault(FaultKind::ConnectionDrop, 1.0).start().unwrap();
        let limiter = limiter(p, &emu);
        let (text, err) = drain(limiter.chat_completion_stream(&req(model, 40)).unwrap());
        assert_eq!(text, "", "{p}");
        assert!(matches!(err, Some(Error::Transport { timeout: false, .. })), "{p}: {err:?}");
        assert_eq!(emu.stats().faults.get("connection_drop"), Some(&1), "{p}");
        assert_eq!(in_flight(&limiter, model), 0, "{p}");
    }
}

#[test]
fn a_stream_longer_than_the_timeout_with_short_gaps_completes() {
    for (p, model) in PROVIDERS {
        // 15 tokens 40 ms apart: about 600 ms in all, under a 250 ms read timeout.
        let emu = emulator(p)
            .output_len(OutputLen::Fixed(15))
            .latency(Duration::ZERO, Duration::from_millis(40))
            .start()
            .unwrap();
        let limiter = common::builder(p, &emu.base_url())
            .timeout(Duration::from_millis(250))
            .build()
            .unwrap();
        let started = Instant::now();
        let r = limiter.chat_completion_stream(&req(model, 40)).unwrap().collect_response();
        let r = r.unwrap_or_else(|e| panic!("{p}: {e}"));
        assert!(started.elapsed() > Duration::from_millis(500), "{p}: {:?}", started.elapsed());
        assert_eq!(r.usage.unwrap().completion_tokens, 15, "{p}");
    }
}

#[test]
fn a_gap_longer_than_the_timeout_ends_the_stream_with_a_timeout() {
    for (p, model) in PROVIDERS {
        let emu = emulator(p)
            .output_len(OutputLen::Fixed(2))
            .latency(Duration::ZERO, Duration::from_millis(700))
            .start()
            .unwrap();
        let limiter = common::builder(p, &emu.base_url())
            .timeout(Duration::from_millis(200))
            .build()
            .unwrap();
        let started = Instant::now();
        let (_, err) = drain(limiter.chat_completion_stream(&req(model, 40)).unwrap());
        assert!(matches!(err, Some(Error::Transport { timeout: true, .. })), "{p}: {err:?}");
        assert!(started.elapsed() < Duration::from_millis(650), "{p}: {:?}", started.elapsed());
        assert_eq!(in_flight(&limiter, model), 0, "{p}");
    }
}

#[test]
fn dropping_a_stream_early_frees_its_slot() {
    for (p, model) in PROVIDERS {
        let emu = emulator(p)
            .output_len(OutputLen::Fixed(50))
            .latency(Duration::ZERO, Duration::from_millis(5))
            .start()
            .unwrap();
        let limiter = limiter(p, &emu);
        let mut stream = limiter.chat_completion_stream(&req(model, 100)).unwrap();
        let first = stream.find(|c| c.as_ref().is_ok_and(|c| !c.delta.is_empty()));
        assert!(first.is_some(), "{p}");
        assert_eq!(in_flight(&limiter, model), 1, "{p}");
        drop(stream);
        let limits = limiter.current_limits();
        let m = limits.model(model).unwrap();
        assert_eq!((m.in_flight, m.completed), (0, 1), "{p}");
        // The limiter is usable afterwards.
        limiter.chat_completion_stream(&req(model, 10)).unwrap().collect_response().unwrap();
    }
}

#[test]
fn anthropic_output_bucket_reflects_the_actual_output() {
    let emu = Emulator::anthropic().output_len(OutputLen::Fixed(7)).start().unwrap();
    let limiter = limiter(Provider::Anthropic, &emu);
    let model = "claude-haiku-4-5";
    // The first call learns the buckets from the headers.
    limiter.chat_completion_stream(&req(model, 2000)).unwrap().collect_response().unwrap();
    limiter.reset_usage_tracking();
    for _ in 0..3 {
        let r = limiter.chat_completion_stream(&req(model, 2000)).unwrap().collect_response();
        assert_eq!(r.unwrap().usage.unwrap().completion_tokens, 7);
    }
    let limits = limiter.current_limits();
    let out = limits.model(model).unwrap().output_tokens.unwrap();
    assert_eq!(out.used, 21, "3 × 7 output tokens, not 3 × 2000 max_tokens");
}
