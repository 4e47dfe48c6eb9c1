//! ChatLimiter against the project's emulator, for all three providers: batches under limits
//! tight enough to need waiting finish with zero 429s, and a cold start learns the limits.

mod common;

use std::time::Duration;

use chat_limiter::{
    create_chat_completion_requests, process_chat_completion_batch, BatchConfig, ChatLimiter,
    Provider,
};
use chat_limiter_emulator::{Emulator, EmulatorBuilder};
use common::builder;

const N: usize = 300;

/// Unique prompts of mixed sizes, so duplicate bodies would show in the emulator's stats.
fn prompts() -> Vec<String> {
    (0..N).map(|i| format!("question {i}: {}", "why ".repeat(i % 7 * 5))).collect()
}

fn run_batch(limiter: &ChatLimiter, model: &str) {
    let requests = create_chat_completion_requests(model, prompts(), Some(16), None);
    let config = BatchConfig::default().max_workers(32).max_concurrent_requests(32);
    let results = process_chat_completion_batch(limiter, requests, &config).unwrap();
    assert_eq!(results.len(), N);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.index, i, "results come back in input order");
        assert!(r.success(), "item {i}: {:?}", r.error());
    }
}

/// `extra`: successful requests besides the chat ones (OpenRouter's one `GET /key`).
fn assert_clean(emu: &Emulator, extra: u64) {
    let stats = emu.stats();
    assert_eq!(stats.rate_limited, 0, "429s: {stats:?}");
    assert_eq!(stats.accepted, N as u64 + extra);
    assert_eq!(stats.duplicate_bodies, 0);
}

/// 300 requests against 285 per minute: the last ones must wait for refill (about 3 s).
fn tight(b: EmulatorBuilder) -> EmulatorBuilder {
    b.rpm(285).latency(Duration::from_millis(5), Duration::ZERO)
}

#[test]
fn openai_batch_waits_instead_of_429_and_cold_start_learns() {
    // Tokens: 300 × (prompt 4..34 + 16 output) = 10,475 against 10,000 per minute: tokens
    // bind too (about 4 s of waiting).
    let emu = tight(Emulator::openai()).tpm(10_000).start().unwrap();
    let limiter = builder(Provider::OpenAI, &emu.base_url()).build().unwrap(); // no limits given
    run_batch(&limiter, "gpt-4o-mini");
    assert_clean(&emu, 0);
    let snap = limiter.current_limits();
    let m = snap.model("gpt-4o-mini").unwrap();
    assert_eq!(m.requests.unwrap().limit, 285, "learned from headers");
    assert_eq!(m.tokens.unwrap().limit, 10_000);
    assert_eq!(m.in_flight, 0);
}

#[test]
fn anthropic_batch_respects_rpm_itpm_otpm() {
    let emu = tight(Emulator::anthropic()).input_tpm(40_000).output_tpm(4_700).start().unwrap();
    let limiter = builder(Provider::Anthropic, &emu.base_url()).build().unwrap();
    run_batch(&limiter, "claude-3-5-haiku-20241022");
    assert_clean(&emu, 0);
    let snap = limiter.current_limits();
    let m = snap.model("claude-3-5-haiku-20241022").unwrap();
    assert_eq!(m.output_tokens.unwrap().limit, 4_700);
    assert_eq!(m.input_tokens.unwrap().limit, 40_000);
}

#[test]
fn openrouter_batch_with_configured_limit() {
    // OpenRouter sends no limit headers on success: the limit must be configured.
    let emu = tight(Emulator::openrouter()).start().unwrap();
    let limiter =
        builder(Provider::OpenRouter, &emu.base_url()).request_limit(285).build().unwrap();
    run_batch(&limiter, "openai/gpt-4o-mini");
    assert_clean(&emu, 1); // one credit check, not one per worker
}

#[test]
fn one_429_pauses_the_queue_instead_of_a_storm() {
    // The client believes it has 10x the real limit: the server's 429s must pause the whole
    // queue (one retry-after), not trigger a retry per worker.
    let emu = Emulator::openai()
        .rpm(60)
        .latency(Duration::from_millis(2), Duration::ZERO)
        .start()
        .unwrap();
    let limiter = builder(Provider::OpenAI, &emu.base_url())
        .request_limit(600)
        .learn_limits(false)
        .max_backoff(Duration::from_secs(5))
        .build()
        .unwrap();
    let requests = create_chat_completion_requests(
        "gpt-4o-mini",
        (0..62).map(|i| format!("p{i}")),
        Some(4),
        None,
    );
    let config = BatchConfig::default().max_workers(16);
    let results = process_chat_completion_batch(&limiter, requests, &config).unwrap();
    assert!(results.iter().all(|r| r.success()));
    let stats = emu.stats();
    // The headers of the first answers lower our balance to the server's; at most the
    // requests already in flight when the first 429 arrived can be rejected.
    assert!(stats.rate_limited <= 16, "429 storm: {stats:?}");
    assert_eq!(stats.duplicate_bodies, 0);
}
