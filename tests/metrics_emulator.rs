//! `ChatLimiter::metrics()` after a run against the emulator: its counts are the server's
//! own (`Emulator::stats()`), with final 429s (OpenAI's quota 429, which retrying cannot fix)
//! beside retried 5xx from seeded faults, so they happen whatever the machine's speed.

use std::time::Duration;

use chat_limiter::{
    process_chat_completion_batch, BatchConfig, ChatCompletionRequest, ChatLimiter, FailureKind,
    Message, Provider,
};
use chat_limiter_emulator::{Emulator, FaultKind};

const N: u64 = 60;

#[test]
fn the_snapshot_counts_what_the_emulator_saw() {
    let emu = Emulator::openai()
        .unlimited()
        .fault(FaultKind::BillingError, 0.15)
        .fault(FaultKind::Status500, 0.2)
        .seed(11)
        .start()
        .expect("emulator");
    let l = ChatLimiter::builder()
        .provider(Provider::OpenAI)
        .api_key("sk-test-metrics-0123456789")
        .base_url(emu.base_url())
        .request_limit(100_000)
        .token_limit(10_000_000)
        .max_retries(30)
        .base_backoff(Duration::from_millis(5))
        .max_backoff(Duration::from_millis(20))
        .build()
        .expect("limiter");
    let requests: Vec<_> = (0..N)
        .map(|i| {
            let prompt = format!("question {i}: {}", "why ".repeat(i as usize % 9));
            ChatCompletionRequest::new("gpt-4o-mini", vec![Message::user(prompt)]).max_tokens(8)
        })
        .collect();
    let config = BatchConfig::default().max_workers(8).max_concurrent_requests(8);
    let results = process_chat_completion_batch(&l, requests, &config).expect("batch");
    let failed = results.iter().filter(|r| !r.success()).count() as u64;

    let server = emu.stats();
    assert!(server.rate_limited > 0, "the test must meet 429s: {server:?}");
    assert!(server.requests > N + server.rate_limited, "and retried 5xx: {server:?}");
    let snap = l.metrics();
    assert_eq!(snap.models.len(), 1);
    let m = snap.model("gpt-4o-mini").expect("the model's entry");
    assert_eq!(m.requests.sent, server.requests, "{m:?}\n{server:?}");
    assert_eq!(m.requests.succeeded, server.accepted);
    assert_eq!(m.requests.succeeded + m.requests.failed_total(), N);
    assert_eq!(m.requests.failed_total(), failed);
    assert_eq!(m.rate_limited, server.rate_limited);
    assert_eq!(m.requests.failed.get(&FailureKind::Quota), Some(&server.rate_limited));
    assert_eq!(m.retries, server.requests - N);
    assert_eq!(m.tokens_reported.input, server.input_tokens);
    assert_eq!(m.tokens_reported.output, server.output_tokens);
    assert!(m.tokens_charged.tokens >= server.requests * 8, "prompt + max_tokens per attempt");
    assert_eq!((m.latency.count(), m.wait.count()), (server.requests, server.requests));
    assert_eq!((m.in_flight, m.queued), (0, 0), "nothing left running");
}

#[test]
fn streams_report_their_usage_and_anthropic_charges_input_and_output() {
    let emu = Emulator::anthropic().start().expect("emulator");
    let l = ChatLimiter::builder()
        .provider(Provider::Anthropic)
        .api_key("sk-ant-test-metrics-0123456789")
        .base_url(emu.base_url())
        .request_limit(1000)
        .input_token_limit(1_000_000)
        .output_token_limit(1_000_000)
        .build()
        .expect("limiter");
    let model = "claude-sonnet-4-5";
    for i in 0..3 {
        let req = ChatCompletionRequest::new(model, vec![Message::user(format!("count to {i}"))])
            .max_tokens(16);
        let mut text = String::new();
        for chunk in l.chat_completion_stream(&req).expect("stream") {
            text.push_str(&chunk.expect("chunk").delta);
        }
        assert!(!text.is_empty());
    }
    let server = emu.stats();
    let snap = l.metrics();
    let m = snap.model(model).expect("the model's entry");
    assert_eq!((m.requests.sent, m.requests.succeeded), (3, 3));
    assert_eq!(server.requests, 3);
    assert!(server.input_tokens > 0 && server.output_tokens > 0, "{server:?}");
    assert_eq!(m.tokens_reported.input, server.input_tokens);
    assert_eq!(m.tokens_reported.output, server.output_tokens);
    let c = m.tokens_charged;
    assert_eq!(c.tokens, 0, "Anthropic has no combined token limit");
    assert!(c.input > 0 && c.output == 3 * 16, "{c:?}");
}
