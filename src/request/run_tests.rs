//! The request loop over the in-memory transport and a manual clock: every retry, pause and
//! give-up path, exact and instant (no sleeps: waiting moves the manual clock).

use std::sync::Arc;
use std::time::Duration;

use crate::limit::clock::{Clock, ManualClock};
use crate::transport::fake::{FakeTransport, Scripted};
use crate::transport::TransportError;
use crate::{ChatCompletionRequest, ChatLimiter, Error, Message, Provider};

const OK: &str = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o",
"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],
"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}"#;
const SERVER_ERROR: &str = r#"{"error":{"message":"boom","type":"server_error"}}"#;
const RATE_LIMITED: &str =
    r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#;
const BAD_REQUEST: &str = r#"{"error":{"message":"bad","type":"invalid_request_error"}}"#;

struct Rig {
    limiter: ChatLimiter,
    fake: Arc<FakeTransport>,
    clock: Arc<ManualClock>,
    t0: std::time::Instant,
}

impl Rig {
    fn new(script: Vec<Scripted>) -> Rig {
        Rig::with(script, |b| b)
    }
    fn with(
        script: Vec<Scripted>,
        more: impl FnOnce(crate::ChatLimiterBuilder) -> crate::ChatLimiterBuilder,
    ) -> Rig {
        let fake = Arc::new(FakeTransport::new(script));
        let clock = Arc::new(ManualClock::new());
        let t0 = clock.now();
        let builder = ChatLimiter::builder()
            .model("gpt-4o")
            .api_key("sk-test-key-0123456789")
            .base_url("https://api.example.test/v1")
            .max_retries(3)
            .base_backoff(Duration::from_millis(400))
            .max_backoff(Duration::from_secs(60))
            .transport(Box::new(Arc::clone(&fake)))
            .clock(Arc::clone(&clock) as Arc<dyn Clock>);
        let limiter = more(builder).build().unwrap();
        Rig { limiter, fake, clock, t0 }
    }
    fn chat(&self) -> crate::Result<crate::ChatCompletionResponse> {
        let req = ChatCompletionRequest::new("gpt-4o", vec![Message::user("hello")]).max_tokens(10);
        self.limiter.chat_completion(&req)
    }
    fn elapsed(&self) -> Duration {
        self.clock.now() - self.t0
    }
}

#[test]
fn a_success_is_sent_once_to_the_configured_host_with_the_key() {
    let rig = Rig::new(vec![Scripted::json(200, &[], OK)]);
    assert_eq!(rig.chat().unwrap().text(), "hi");
    let seen = rig.fake.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].url, "https://api.example.test/v1/chat/completions");
    let auth = seen[0].headers.iter().find(|(k, _)| k == "authorization").unwrap();
    assert_eq!(auth.1, "Bearer sk-test-key-0123456789");
    let body: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!((body["model"].as_str(), body["max_tokens"].as_u64()), (Some("gpt-4o"), Some(10)));
    assert_eq!(rig.elapsed(), Duration::ZERO, "nothing waited");
}

#[test]
fn a_5xx_backs_off_on_this_thread_then_succeeds() {
    let rig = Rig::new(vec![Scripted::json(500, &[], SERVER_ERROR), Scripted::json(200, &[], OK)]);
    rig.chat().unwrap();
    assert_eq!(rig.fake.seen().len(), 2);
    // First retry: base_backoff shortened by at most 25% of jitter.
    let waited = rig.elapsed();
    assert!(
        waited >= Duration::from_millis(300) && waited <= Duration::from_millis(400),
        "{waited:?}"
    );
    let m = rig.limiter.current_limits().models.into_iter().next().unwrap();
    assert_eq!(m.rate_limited, 0, "a 5xx is not a rate limit");
}

#[test]
fn a_429_pauses_the_queue_for_the_servers_hint_then_retries() {
    let rig = Rig::new(vec![
        Scripted::json(429, &[("retry-after", "3")], RATE_LIMITED),
        Scripted::json(200, &[], OK),
    ]);
    rig.chat().unwrap();
    assert_eq!(rig.fake.seen().len(), 2);
    assert_eq!(rig.elapsed(), Duration::from_secs(3), "exactly the hint");
    let m = rig.limiter.current_limits().models.into_iter().next().unwrap();
    assert_eq!(m.rate_limited, 1);
}

#[test]
fn a_final_error_is_not_retried() {
    let rig = Rig::new(vec![Scripted::json(400, &[], BAD_REQUEST), Scripted::json(200, &[], OK)]);
    let err = rig.chat().unwrap_err();
    assert!(matches!(&err, Error::Api(a) if a.status == 400 && !a.retryable), "{err:?}");
    assert_eq!(rig.fake.seen().len(), 1);
    assert_eq!(rig.elapsed(), Duration::ZERO);
}

#[test]
fn retryable_failures_give_up_after_max_retries_with_the_doubling_schedule() {
    let rig = Rig::new(vec![Scripted::json(503, &[], SERVER_ERROR)]);
    let err = rig.chat().unwrap_err();
    let Error::RetriesExhausted { attempts, last } = &err else { panic!("{err:?}") };
    assert_eq!(*attempts, 4, "1 + max_retries");
    assert_eq!(last.status(), Some(503));
    assert_eq!(rig.fake.seen().len(), 4);
    // 0.4 + 0.8 + 1.6 s, each shortened by at most 25%.
    let waited = rig.elapsed().as_secs_f64();
    assert!((2.1..=2.8).contains(&waited), "{waited}");
}

#[test]
fn a_daily_cap_pauses_the_queue_until_its_reset_by_default() {
    // An OpenAI-style daily cap: no retry-after, remaining 0, reset in 23h59m.
    let cap = [
        ("x-ratelimit-limit-requests", "200"),
        ("x-ratelimit-remaining-requests", "0"),
        ("x-ratelimit-reset-requests", "23h59m0s"),
    ];
    let rig = Rig::new(vec![Scripted::json(429, &cap, RATE_LIMITED), Scripted::json(200, &[], OK)]);
    assert_eq!(rig.chat().unwrap().text(), "hi", "waited, not failed");
    assert_eq!(rig.fake.seen().len(), 2, "one retry, after the reset, not early");
    assert!(rig.elapsed() >= Duration::from_secs(23 * 3600 + 59 * 60), "{:?}", rig.elapsed());
}

#[test]
fn a_hint_longer_than_max_backoff_fails_at_once_when_asked_to() {
    let rig = Rig::with(vec![Scripted::json(429, &[("retry-after", "120")], RATE_LIMITED)], |b| {
        b.long_wait(crate::LongWait::Fail)
    });
    let err = rig.chat().unwrap_err();
    let Error::Api(api) = &err else { panic!("{err:?}") };
    assert_eq!((api.status, api.retry_after), (429, Some(Duration::from_secs(120))));
    assert_eq!(rig.fake.seen().len(), 1);
    assert_eq!(rig.elapsed(), Duration::ZERO);
}

#[test]
fn an_absurd_hint_is_never_waited_out() {
    let rig = Rig::new(vec![Scripted::json(429, &[("retry-after", "31536000")], RATE_LIMITED)]);
    assert!(matches!(rig.chat().unwrap_err(), Error::Api(_)));
    assert_eq!(rig.fake.seen().len(), 1);
}

#[test]
fn connection_failures_and_unreadable_bodies_are_retried() {
    let rig = Rig::new(vec![
        Scripted::reset(),
        Scripted::json(200, &[], "{not json"),
        Scripted::Cut { status: 200, headers: vec![], body: b"{\"id\":".to_vec() },
        Scripted::json(200, &[], OK),
    ]);
    assert_eq!(rig.chat().unwrap().text(), "hi");
    assert_eq!(rig.fake.seen().len(), 4);
    // The first goes again at once; then 0.4 s and 0.8 s, each shortened by at most 25%.
    let waited = rig.elapsed().as_secs_f64();
    assert!((0.9..=1.2).contains(&waited), "{waited}");
}

#[test]
fn a_transport_error_never_shows_the_key() {
    let key = "sk-test-key-0123456789";
    let message = format!("proxy refused Authorization: Bearer {key}");
    let rig = Rig::with(vec![Scripted::Fail(TransportError { message, timeout: false })], |b| {
        b.max_retries(0)
    });
    let err = rig.chat().unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(!err.to_string().contains(key) && !format!("{err:?}").contains(key), "{err}");
}

#[test]
fn rate_limit_headers_of_every_answer_teach_the_limits() {
    let headers = [
        ("x-ratelimit-limit-requests", "60"),
        ("x-ratelimit-remaining-requests", "59"),
        ("x-ratelimit-reset-requests", "1s"),
    ];
    let rig = Rig::new(vec![Scripted::json(200, &headers, OK)]);
    rig.chat().unwrap();
    let m = rig.limiter.current_limits().models.into_iter().next().unwrap();
    assert_eq!(m.requests.unwrap().limit, 60);
}

#[test]
fn a_stream_cut_in_the_middle_ends_with_a_transport_error_and_frees_its_slot() {
    let body = b"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"he\"},\"finish_reason\":null}]}\n\n".to_vec();
    let headers = vec![("content-type".to_string(), "text/event-stream".to_string())];
    let rig = Rig::new(vec![Scripted::Cut { status: 200, headers, body }]);
    let req = ChatCompletionRequest::new("gpt-4o", vec![Message::user("hello")]).max_tokens(10);
    let mut stream = rig.limiter.chat_completion_stream(&req).unwrap();
    assert_eq!(stream.next().unwrap().unwrap().delta, "he");
    let err = stream.next().unwrap().unwrap_err();
    assert!(matches!(err, Error::Transport { timeout: false, .. }), "{err:?}");
    assert!(stream.next().is_none());
    let m = rig.limiter.current_limits().models.into_iter().next().unwrap();
    assert_eq!(m.in_flight, 0);
}

#[test]
fn openrouter_402_marks_the_key_spent_and_later_calls_fail_without_sending() {
    let key_info = r#"{"data":{"label":"k","limit":10.0,"limit_remaining":5.0,"usage":5.0,"is_free_tier":false}}"#;
    let spent = r#"{"error":{"code":402,"message":"Insufficient credits"}}"#;
    let rig =
        Rig::with(vec![Scripted::json(200, &[], key_info), Scripted::json(402, &[], spent)], |b| {
            b.provider(Provider::OpenRouter).model("openai/gpt-4o")
        });
    let err = rig.chat().unwrap_err();
    assert_eq!(err.status(), Some(402), "{err:?}");
    let sent = rig.fake.seen().len();
    assert_eq!(sent, 2, "GET /key, then the chat");
    let err = rig.chat().unwrap_err();
    assert!(matches!(err, Error::CreditsExhausted { .. }), "{err:?}");
    assert_eq!(rig.fake.seen().len(), sent, "nothing more was sent");
}

#[test]
fn a_cold_start_that_meets_a_fault_keeps_probing_one_request_at_a_time() {
    // Learning limits: the first request is a probe; its 529-like 503 carries no limits, so
    // the gate must stay shut and the retry is a probe again (one in flight, not the queue).
    let limited = [
        ("x-ratelimit-limit-requests", "60"),
        ("x-ratelimit-remaining-requests", "59"),
        ("x-ratelimit-reset-requests", "1s"),
    ];
    let rig =
        Rig::new(vec![Scripted::json(503, &[], SERVER_ERROR), Scripted::json(200, &limited, OK)]);
    rig.chat().unwrap();
    let m = rig.limiter.current_limits().models.into_iter().next().unwrap();
    assert_eq!(m.requests.unwrap().limit, 60, "learned from the answer that taught something");
    assert_eq!(rig.fake.seen().len(), 2);
}

#[test]
fn an_old_style_anthropic_429_waits_for_the_reset_of_the_exhausted_dimension() {
    const OK: &str = r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-haiku-4-5",
"content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn",
"usage":{"input_tokens":5,"output_tokens":1}}"#;
    const LIMITED: &str = r#"{"type":"error","error":{"type":"rate_limit_error","message":"Number of requests has exceeded your rate limit"}}"#;
    let date = ("date", "Mon, 24 Feb 2025 22:25:32 GMT");
    let limit = ("anthropic-ratelimit-requests-limit", "5");
    // A first answer: 1 of 5 used, full again in 12 s: 5 requests a minute.
    let first = [
        date,
        limit,
        ("anthropic-ratelimit-requests-remaining", "4"),
        ("anthropic-ratelimit-requests-reset", "2025-02-24T22:25:44Z"),
    ];
    // Then a 429 with no retry-after, whose requests reset one second after the server's Date.
    let rejected = [
        date,
        limit,
        ("anthropic-ratelimit-requests-remaining", "0"),
        ("anthropic-ratelimit-requests-reset", "2025-02-24T22:25:33Z"),
    ];
    let rig = Rig::with(
        vec![
            Scripted::json(200, &first, OK),
            Scripted::json(429, &rejected, LIMITED),
            Scripted::json(200, &[], OK),
        ],
        |b| b.provider(Provider::Anthropic).model("claude-haiku-4-5"),
    );
    let req =
        ChatCompletionRequest::new("claude-haiku-4-5", vec![Message::user("hello")]).max_tokens(10);
    rig.limiter.chat_completion(&req).unwrap();
    let before = rig.elapsed();
    rig.limiter.chat_completion(&req).unwrap();
    let waited = rig.elapsed() - before;
    assert_eq!(rig.fake.seen().len(), 3);
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(3),
        "the server said one second, not 60 s / 5: {waited:?}"
    );
}
