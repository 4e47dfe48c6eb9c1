//! Calls the library must refuse before sending anything: unusable requests, raw calls with a
//! bad method or path, and batch configurations out of range. Each is a typed error naming the
//! problem, and the server never hears of it.

mod fake_http;

use std::time::Duration;

use chat_limiter::{
    process_chat_completion_batch, BatchConfig, ChatCompletionRequest, ChatLimiter, Error, Message,
    Provider,
};
use fake_http::{FakeServer, Reply};

fn limiter(server: &FakeServer, model: Option<&str>) -> ChatLimiter {
    let mut b = ChatLimiter::builder()
        .provider(Provider::OpenAI)
        .api_key("sk-misuse")
        .base_url(server.url("/v1"))
        .request_limit(100)
        .token_limit(100_000);
    if let Some(m) = model {
        b = b.model(m);
    }
    b.build().expect("limiter")
}

fn invalid(e: Error, says: &str) {
    match e {
        Error::InvalidRequest(m) => assert!(m.contains(says), "{says}: {m}"),
        other => panic!("{says}: expected InvalidRequest, got {other:?}"),
    }
}

#[test]
fn unusable_chat_requests_are_refused_before_sending() {
    let server = FakeServer::script(vec![Reply::new(200, "{}").close()]);
    let no_default = limiter(&server, None);
    let bare = ChatCompletionRequest::new("", vec![Message::user("hi")]);
    invalid(no_default.chat_completion(&bare).unwrap_err(), "no model");
    let with_default = limiter(&server, Some("gpt-4o-mini"));
    let empty = ChatCompletionRequest::new("gpt-4o-mini", vec![]);
    invalid(with_default.chat_completion(&empty).unwrap_err(), "no messages");
    let zero = ChatCompletionRequest::new("gpt-4o-mini", vec![Message::user("hi")]).max_tokens(0);
    invalid(with_default.chat_completion(&zero).unwrap_err(), "max_tokens");
    assert!(server.requests().is_empty(), "nothing may be sent");
}

#[test]
fn raw_requests_with_a_bad_method_or_path_are_refused() {
    let server = FakeServer::script(vec![Reply::new(200, "not json").close()]);
    let l = limiter(&server, Some("gpt-4o-mini"));
    invalid(l.request("TRACE", "/models", None).unwrap_err(), "method");
    invalid(l.request("GET", "models", None).unwrap_err(), "path");
    invalid(l.request("GET", "/x?u=http://evil.example/", None).unwrap_err(), "path");
    assert!(server.requests().is_empty(), "nothing may be sent");
    // A valid call whose answer is not JSON: the raw response is returned, `json()` says why.
    let raw = l.request(" get ", "/models", None).expect("2xx");
    assert_eq!(raw.header("CONTENT-TYPE"), Some("application/json"));
    assert!(raw.json().is_err());
    let sent = &server.requests()[0];
    assert_eq!((sent.method.as_str(), sent.path.as_str()), ("GET", "/v1/models"));
}

#[test]
fn out_of_range_batch_configs_are_refused_naming_the_field() {
    let server = FakeServer::script(vec![Reply::new(200, "{}").close()]);
    let l = limiter(&server, Some("gpt-4o-mini"));
    let cases = [
        ("max_workers", BatchConfig::default().max_workers(0)),
        ("max_workers", BatchConfig::default().max_workers(16_385)),
        ("max_concurrent_requests", BatchConfig::default().max_concurrent_requests(0)),
        ("max_retries_per_item", BatchConfig::default().max_retries_per_item(101)),
        ("retry_delay", BatchConfig::default().retry_delay(Duration::from_secs(7_200))),
    ];
    for (field, config) in cases {
        let req = ChatCompletionRequest::new("gpt-4o-mini", vec![Message::user("hi")]);
        match process_chat_completion_batch(&l, vec![req], &config) {
            Err(Error::Config(m)) => assert!(m.contains(field), "{field}: {m}"),
            other => panic!("{field}: expected a config error, got {other:?}"),
        }
    }
    assert!(server.requests().is_empty(), "nothing may be sent");
}

#[test]
fn error_helpers_answer_for_every_kind() {
    let transport =
        Error::Transport { provider: Provider::OpenAI, message: "reset".into(), timeout: false };
    assert!(transport.is_retryable() && !transport.is_rate_limited());
    assert_eq!((transport.status(), transport.api_error().is_none()), (None, true));
    for e in [Error::Cancelled, Error::Config("x".into()), Error::Stream("cut".into())] {
        assert!(!e.is_retryable() && !e.is_rate_limited() && e.status().is_none(), "{e}");
    }
}
