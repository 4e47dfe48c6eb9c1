//! The API key never shows: not in `Debug` or `Display` of any public type, not in errors built
//! from answers that echo it back (bodies, request ids, stream events), and never sent to a
//! host a redirect points at.

mod fake_http;

use std::time::Duration;

use chat_limiter::{
    process_chat_completion_batch, BatchConfig, ChatCompletionRequest, ChatLimiter,
    ChatLimiterBuilder, Error, Message, Provider,
};
use fake_http::{FakeServer, Reply};

const KEY: &str = "sk-secret-ECHOED-0123456789abcdef";

fn builder(provider: Provider, base: &str) -> ChatLimiterBuilder {
    ChatLimiter::builder()
        .provider(provider)
        .model("m")
        .api_key(KEY)
        .base_url(base)
        .request_limit(1000)
        .token_limit(1_000_000)
        .input_token_limit(1_000_000)
        .output_token_limit(1_000_000)
        .check_credits(false)
        .base_backoff(Duration::from_millis(1))
        .timeout(Duration::from_secs(10))
}

fn request() -> ChatCompletionRequest {
    ChatCompletionRequest::new("m", vec![Message::user("hi")]).max_tokens(5)
}

/// Both renderings of anything that can be printed.
fn assert_hidden(what: &str, debug: String, display: Option<String>) {
    assert!(!debug.contains(KEY), "{what}: the key is in Debug: {debug}");
    if let Some(d) = display {
        assert!(!d.contains(KEY), "{what}: the key is in Display: {d}");
    }
}

fn assert_error_hidden(what: &str, e: &Error) {
    assert_hidden(what, format!("{e:?}"), Some(e.to_string()));
    if let Some(api) = e.api_error() {
        assert_hidden(what, format!("{api:?}"), Some(api.to_string()));
    }
}

#[test]
fn builders_limiters_and_configs_hide_the_key() {
    for p in [Provider::OpenAI, Provider::Anthropic, Provider::OpenRouter] {
        let b = builder(p, "http://127.0.0.1:9/v1");
        assert_hidden("ChatLimiterBuilder", format!("{b:?}"), None);
        let limiter = b.build().expect("limiter");
        assert_hidden("ChatLimiter", format!("{limiter:?}"), None);
        assert_hidden("ProviderConfig", format!("{:?}", limiter.config()), None);
        assert_hidden("LimitsSnapshot", format!("{:?}", limiter.current_limits()), None);
    }
    let config = BatchConfig::default().on_progress(|_| {});
    assert_hidden("BatchConfig", format!("{config:?}"), None);
}

/// An error status whose body and request id echo the key, as a misbehaving proxy might.
fn echo_error(status: u16) -> Reply {
    let body = format!(
        r#"{{"error":{{"message":"Incorrect API key provided: {KEY}.","type":"invalid_request_error","code":"invalid_api_key"}},"type":"error"}}"#
    );
    Reply::new(status, body).header("x-request-id", KEY).header("request-id", KEY).close()
}

#[test]
fn api_errors_echoing_the_key_are_redacted() {
    for p in [Provider::OpenAI, Provider::Anthropic, Provider::OpenRouter] {
        let server = FakeServer::script(vec![echo_error(401)]);
        let limiter = builder(p, &server.url("/v1")).build().expect("limiter");
        let e = limiter.chat_completion(&request()).expect_err("401");
        assert_eq!(e.status(), Some(401), "{p}");
        assert_error_hidden("Error::Api", &e);
        let raw = limiter.request("GET", "/models", None).expect_err("401");
        assert_error_hidden("Error::Api from request()", &raw);
    }
}

#[test]
fn retries_exhausted_and_batch_results_are_redacted() {
    let server = FakeServer::script(vec![echo_error(500)]);
    let limiter = builder(Provider::OpenAI, &server.url("/v1")).max_retries(2).build().unwrap();
    let e = limiter.chat_completion(&request()).expect_err("500s");
    assert!(matches!(e, Error::RetriesExhausted { attempts: 3, .. }), "{e:?}");
    assert_error_hidden("Error::RetriesExhausted", &e);
    let config =
        BatchConfig::default().max_retries_per_item(1).retry_delay(Duration::from_millis(1));
    let results =
        process_chat_completion_batch(&limiter, vec![request(), request()], &config).unwrap();
    for r in &results {
        assert!(r.error().is_some());
        assert_hidden("BatchResult", format!("{r:?}"), None);
    }
}

#[test]
fn transport_and_invalid_response_errors_are_redacted() {
    // Nothing listens on port 1; the key is in the URL's user info, where ureq might echo it.
    let base = format!("http://u:{KEY}@127.0.0.1:1/v1");
    let limiter = builder(Provider::OpenAI, &base).max_retries(0).build().unwrap();
    let e = limiter.chat_completion(&request()).expect_err("refused");
    assert!(matches!(e, Error::Transport { .. }), "{e:?}");
    assert_error_hidden("Error::Transport", &e);

    let body = format!("<html>proxy error for {KEY}</html>");
    let server =
        FakeServer::script(vec![Reply::new(200, body).header("x-request-id", KEY).close()]);
    let limiter = builder(Provider::OpenAI, &server.url("/v1")).max_retries(0).build().unwrap();
    let e = limiter.chat_completion(&request()).expect_err("not JSON");
    assert!(matches!(e, Error::InvalidResponse { .. }), "{e:?}");
    assert_error_hidden("Error::InvalidResponse", &e);
}

#[test]
fn streams_and_stream_errors_are_redacted() {
    let events = format!(
        "data: {{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"hi\"}}}}]}}\n\n\
         data: {{\"error\":{{\"message\":\"key {KEY} revoked mid-stream\",\"type\":\"server_error\"}}}}\n\n"
    );
    let canned = Reply::new(200, events)
        .header("content-type", "text/event-stream")
        .header("x-request-id", KEY)
        .close();
    let server = FakeServer::script(vec![canned]);
    let limiter = builder(Provider::OpenAI, &server.url("/v1")).max_retries(0).build().unwrap();
    let mut stream = limiter.chat_completion_stream(&request()).expect("stream starts");
    assert_hidden("ChatStream", format!("{stream:?}"), None);
    let mut errors = 0;
    for item in stream.by_ref() {
        if let Err(e) = item {
            errors += 1;
            assert_error_hidden("stream error", &e);
        }
    }
    assert_eq!(errors, 1, "the error event ends the stream with one error");
    assert_hidden("ChatStream after the error", format!("{stream:?}"), None);
}

/// A first server that redirects every request to a second one on another host name.
fn redirect_pair(status: u16) -> (FakeServer, FakeServer) {
    let target = FakeServer::script(vec![Reply::new(200, "{}").close()]);
    let to = format!("http://localhost:{}/v1/chat/completions", target.port());
    let first = FakeServer::script(vec![Reply::new(status, "").header("location", &to).close()]);
    (first, target)
}

fn assert_not_forwarded(target: &FakeServer) {
    for head in target.requests().iter().map(|r| r.head.to_ascii_lowercase()) {
        assert!(!head.contains("authorization") && !head.contains("x-api-key"), "{head}");
        assert!(!head.contains(&KEY.to_ascii_lowercase()), "{head}");
    }
}

#[test]
fn redirects_are_not_followed_so_the_key_stays_put() {
    for (p, status) in [
        (Provider::OpenAI, 307),
        (Provider::Anthropic, 302),
        (Provider::OpenRouter, 308),
        (Provider::OpenAI, 301),
    ] {
        // The default agent, and a user agent that would follow redirects on its own.
        let follows: ureq::Agent =
            ureq::Agent::config_builder().proxy(None).max_redirects(10).build().into();
        for agent in [None, Some(follows)] {
            let (first, target) = redirect_pair(status);
            let mut b = builder(p, &first.url("/v1")).max_retries(0);
            if let Some(a) = agent.clone() {
                b = b.agent(a);
            }
            let limiter = b.build().expect("limiter");
            let e = limiter.chat_completion(&request()).expect_err("a redirect is no answer");
            assert_eq!(e.status(), Some(status), "{p} {status}: {e:?}");
            assert_error_hidden("redirect error", &e);
            let raw = limiter.request("GET", "/models", None);
            assert!(raw.is_err(), "{p} {status}: a redirect is no answer to request() either");
            assert_eq!(first.count(), 2, "{p} {status}");
            assert!(target.requests().is_empty(), "{p} {status}: the redirect was followed");
            assert_not_forwarded(&target);
        }
    }
}
