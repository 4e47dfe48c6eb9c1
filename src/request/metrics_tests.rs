//! The request loop's metrics over the in-memory transport and a manual clock: every attempt,
//! 429, retry and outcome is counted once, waits and latencies land in the histograms.

use std::sync::Arc;
use std::time::Duration;

use crate::limit::clock::{Clock, ManualClock};
use crate::transport::fake::{FakeTransport, Scripted};
use crate::{ChatCompletionRequest, ChatLimiter, FailureKind, Message};

const OK: &str = r#"{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o",
"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],
"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}"#;
const SERVER_ERROR: &str = r#"{"error":{"message":"boom","type":"server_error"}}"#;
const RATE_LIMITED: &str =
    r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#;
const BAD_REQUEST: &str = r#"{"error":{"message":"bad","type":"invalid_request_error"}}"#;

fn limiter(script: Vec<Scripted>, max_retries: u32) -> ChatLimiter {
    ChatLimiter::builder()
        .model("gpt-4o")
        .api_key("sk-test-key-0123456789")
        .base_url("https://api.example.test/v1")
        .request_limit(1000)
        .token_limit(1_000_000)
        .max_retries(max_retries)
        .base_backoff(Duration::from_millis(100))
        .transport(Box::new(Arc::new(FakeTransport::new(script))))
        .clock(Arc::new(ManualClock::new()) as Arc<dyn Clock>)
        .build()
        .unwrap()
}

fn chat(l: &ChatLimiter) -> crate::Result<crate::ChatCompletionResponse> {
    l.chat_completion(
        &ChatCompletionRequest::new("gpt-4o", vec![Message::user("hello")]).max_tokens(10),
    )
}

#[test]
fn a_429_a_5xx_and_a_success_are_three_attempts_two_retries_one_success() {
    let l = limiter(
        vec![
            Scripted::json(429, &[("retry-after", "2")], RATE_LIMITED),
            Scripted::json(500, &[], SERVER_ERROR),
            Scripted::json(200, &[], OK),
        ],
        3,
    );
    chat(&l).unwrap();
    let snap = l.metrics();
    // gpt-4o is in the shipped price table: the success's usage is priced.
    assert_eq!(snap.spend_usd, Some(l.spend().spent_usd));
    assert!(snap.spend_usd.is_some_and(|usd| usd > 0.0));
    let m = snap.model("gpt-4o").expect("the model's entry");
    assert_eq!(m.requests.sent, 3);
    assert_eq!(m.requests.succeeded, 1);
    assert_eq!(m.requests.failed_total(), 0);
    assert_eq!((m.rate_limited, m.retries), (1, 2));
    assert_eq!((snap.sent(), snap.rate_limited()), (3, 1));
    // Every attempt is charged its estimate at admission: three equal charges.
    let t = m.tokens_charged.tokens;
    assert!(t >= 30 && t % 3 == 0, "{t}");
    assert_eq!((m.tokens_charged.input, m.tokens_charged.output), (0, 0));
    let r = m.tokens_reported;
    assert_eq!((r.input, r.output, r.tokens), (5, 1, 6), "only the success reported usage");
    assert_eq!(m.wait.count(), 3, "one admission per attempt");
    assert!(m.wait.sum >= Duration::from_secs(2), "the 429's pause is waited: {:?}", m.wait);
    assert_eq!(m.latency.count(), 3);
    assert_eq!((m.in_flight, m.queued), (0, 0));
}

#[test]
fn failures_are_counted_once_per_call_by_kind() {
    let l = limiter(
        vec![
            Scripted::json(400, &[], BAD_REQUEST),
            Scripted::json(500, &[], SERVER_ERROR),
            Scripted::json(500, &[], SERVER_ERROR),
        ],
        1,
    );
    assert!(chat(&l).is_err());
    assert!(chat(&l).is_err());
    let m = l.metrics().model("gpt-4o").cloned().expect("the model's entry");
    assert_eq!(m.requests.sent, 3);
    assert_eq!(m.requests.succeeded, 0);
    assert_eq!(m.requests.failed.get(&FailureKind::Request), Some(&1));
    assert_eq!(m.requests.failed.get(&FailureKind::Server), Some(&1), "{:?}", m.requests);
    assert_eq!(m.requests.failed_total(), 2);
    assert_eq!((m.retries, m.rate_limited), (1, 0));
}
