//! The OpenRouter error table of docs/providers.md §3.7, with the real 429 bodies quoted there.

use super::*;
use crate::provider::headers::test_headers;
use std::time::UNIX_EPOCH;

const KEY: &str = "sk-or-v1-0123456789abcdef0123456789abcdef";

fn at_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

fn err(status: u16, body: &str) -> ApiError {
    parse_error(status, &HeaderMap::new(), body.as_bytes(), KEY, at_ms(1_765_661_730_000))
}

#[test]
fn free_per_minute_429_retries_at_the_reset() {
    let body = r#"{"error":{"message":"Rate limit exceeded: free-models-per-min. ","code":429,"metadata":{"headers":{"X-RateLimit-Limit":"20","X-RateLimit-Remaining":"0","X-RateLimit-Reset":"1765661760000"},"provider_name":null}},"user_id":"user_1"}"#;
    let e = err(429, body);
    assert!(e.retryable);
    assert_eq!(e.retry_after, Some(Duration::from_secs(30)));
    assert_eq!(e.code.as_deref(), Some("429"));
    // The same reset as a header (what OpenRouter also sends) is preferred to the body copy.
    let h = test_headers(&[("x-ratelimit-reset", "1765661745000")]);
    let e = parse_error(429, &h, body.as_bytes(), KEY, at_ms(1_765_661_730_000));
    assert_eq!(e.retry_after, Some(Duration::from_secs(15)));
    let h = test_headers(&[("retry-after", "2"), ("x-ratelimit-reset", "1765661745000")]);
    let e = parse_error(429, &h, body.as_bytes(), KEY, at_ms(1_765_661_730_000));
    assert_eq!(e.retry_after, Some(Duration::from_secs(2)));
}

#[test]
fn daily_free_quota_is_terminal_but_says_when() {
    let body = r#"{"error":{"message":"Rate limit exceeded: free-models-per-day. Add 10 credits to unlock 1000 free model requests per day","code":429,"metadata":{"headers":{"X-RateLimit-Limit":"50","X-RateLimit-Remaining":"0","X-RateLimit-Reset":1765670400000}}}}"#;
    let e = err(429, body);
    assert!(!e.retryable);
    assert_eq!(e.retry_after, Some(Duration::from_millis(1_765_670_400_000 - 1_765_661_730_000)));
    let e =
        err(429, r#"{"error":{"message":"Rate limit exceeded: limit_rpd/x/y/uuid","code":429}}"#);
    assert!(!e.retryable);
    let e = err(
        429,
        r#"{"error":{"message":"slow","code":429,"metadata":{"limit_source":"openrouter_free_tier_daily"}}}"#,
    );
    assert!(!e.retryable);
    assert_eq!(e.error_type.as_deref(), Some("openrouter_free_tier_daily"));
    let e =
        err(429, r#"{"error":{"message":"Rate limit exceeded: limit_rpm/x/y/uuid","code":429}}"#);
    assert!(e.retryable);
}

#[test]
fn credits_and_availability() {
    let e = err(
        402,
        r#"{"error":{"code":402,"message":"This request requires more credits, or fewer max_tokens. You requested up to 16384 tokens, but can only afford 3324."}}"#,
    );
    assert!(!e.retryable);
    let e = err(
        404,
        r#"{"error":{"code":404,"message":"No endpoints found","availability":{"code":"no_endpoints","retryable":false}}}"#,
    );
    assert_eq!((e.retryable, e.error_type.as_deref()), (false, Some("no_endpoints")));
    let e = err(
        429,
        r#"{"error":{"code":429,"message":"busy","availability":{"code":"capacity_exhausted","retryable":true,"retry_after":7}}}"#,
    );
    assert_eq!((e.retryable, e.retry_after), (true, Some(Duration::from_secs(7))));
    let e = err(
        503,
        r#"{"error":{"code":503,"message":"x","availability":{"code":"temporarily_unavailable","retryable":false}}}"#,
    );
    assert!(!e.retryable);
    let e = err(
        400,
        r#"{"error":{"code":400,"message":"too long","metadata":{"error_type":"context_length_exceeded"}}}"#,
    );
    assert_eq!((e.retryable, e.code.as_deref()), (false, Some("context_length_exceeded")));
}

#[test]
fn status_table() {
    for (s, retry) in [
        (400, false),
        (401, false),
        (402, false),
        (403, false),
        (404, false),
        (408, true),
        (413, false),
        (422, false),
        (429, true),
        (500, true),
        (502, true),
        (503, true),
        (504, true),
    ] {
        let body = format!(r#"{{"error":{{"code":{s},"message":"m"}}}}"#);
        assert_eq!(err(s, &body).retryable, retry, "{s}");
    }
}

#[test]
fn upstream_error_message_and_redaction() {
    let body = format!(
        r#"{{"error":{{"code":429,"message":"Provider returned error","metadata":{{"provider_name":"Chutes","raw":{{"detail":"rate-limited upstream for {KEY}"}}}}}}}}"#
    );
    let e = err(429, &body);
    assert!(e.message.starts_with("Provider returned error (provider: Chutes): "), "{}", e.message);
    assert!(!e.message.contains(KEY));
    let h = test_headers(&[("x-generation-id", "gen-1")]);
    let e = parse_error(
        401,
        &h,
        br#"{"error":{"code":401,"message":"Missing Authentication header"}}"#,
        KEY,
        UNIX_EPOCH,
    );
    assert_eq!(e.request_id.as_deref(), Some("gen-1"));
}

#[test]
fn non_json_bodies() {
    let e = err(502, "<!DOCTYPE html><title>502</title>");
    assert!(e.retryable && e.message.starts_with("<!DOCTYPE"));
    let e = err(503, r#"{"error":"overloaded"}"#);
    assert_eq!(e.message, "overloaded");
}
