//! The Anthropic error table of docs/providers.md §2.7.

use super::*;
use crate::provider::headers::test_headers;
use std::time::{Duration, UNIX_EPOCH};

const KEY: &str = "sk-ant-api03-abcdefghijklmnop";

fn body(ty: &str, msg: &str) -> String {
    serde_json::json!({"type":"error","error":{"type":ty,"message":msg},"request_id":"req_body"})
        .to_string()
}

fn err(status: u16, h: &[(&'static str, &str)], body: &str) -> ApiError {
    parse_error(status, &test_headers(h), body.as_bytes(), KEY, UNIX_EPOCH)
}

#[test]
fn rate_limit_429_with_retry_after() {
    let e = err(429, &[("retry-after", "12"), ("x-should-retry", "true"), ("request-id", "req_hdr")],
        &body("rate_limit_error", "This request would exceed the rate limit for your organization of 40,000 input tokens per minute."));
    assert!(e.retryable);
    assert_eq!(e.retry_after, Some(Duration::from_secs(12)));
    assert_eq!(e.error_type.as_deref(), Some("rate_limit_error"));
    assert_eq!(e.request_id.as_deref(), Some("req_hdr"));
}

#[test]
fn spend_cap_and_billing_are_terminal() {
    let b = r#"{"type":"error","error":{"type":"rate_limit_error","message":"spend limit","details":{"error_code":"enforced_spend_limit_reached"}},"request_id":"req_1"}"#;
    let e = err(429, &[], b);
    assert!(!e.retryable);
    assert_eq!(e.code.as_deref(), Some("enforced_spend_limit_reached"));
    assert_eq!(e.request_id.as_deref(), Some("req_1"));
    assert!(!err(402, &[], &body("billing_error", "payment problem")).retryable);
    assert!(
        !err(
            400,
            &[],
            &body("invalid_request_error", "You have reached your specified API usage limits")
        )
        .retryable
    );
    // x-should-retry is the server's word and wins (docs/providers.md §5 step 1).
    assert!(err(400, &[("x-should-retry", "true")], &body("invalid_request_error", "x")).retryable);
}

#[test]
fn status_table() {
    for (s, ty, retry) in [
        (400, "invalid_request_error", false),
        (401, "authentication_error", false),
        (403, "permission_error", false),
        (404, "not_found_error", false),
        (409, "conflict_error", true),
        (413, "request_too_large", false),
        (500, "api_error", true),
        (504, "timeout_error", true),
        (529, "overloaded_error", true),
    ] {
        assert_eq!(err(s, &[], &body(ty, "m")).retryable, retry, "{s}");
        assert_eq!(status_for_type(ty), s);
    }
    assert_eq!(status_for_type("brand_new_error"), 500);
}

#[test]
fn redaction_and_non_json() {
    let e = err(401, &[], &body("authentication_error", &format!("invalid x-api-key {KEY}")));
    assert!(!e.message.contains(KEY));
    let e = err(413, &[], "<html><body>413 Request Entity Too Large</body></html>");
    assert!(!e.retryable && e.message.contains("413"));
    assert_eq!(e.request_id, None);
}

#[test]
fn overloaded_in_band() {
    let e =
        in_band_error(&serde_json::json!({"type":"overloaded_error","message":"Overloaded"}), KEY);
    assert_eq!((e.status, e.retryable, e.message.as_str()), (529, true, "Overloaded"));
}
