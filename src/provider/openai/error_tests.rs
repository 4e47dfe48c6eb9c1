//! The OpenAI error table of docs/providers.md §1.8 and the retry decisions of §5.

use super::*;
use crate::provider::headers::test_headers;
use crate::provider::json::status_from_code;
use std::time::UNIX_EPOCH;

const KEY: &str = "sk-proj-abcdef0123456789";

fn err(status: u16, body: &str) -> ApiError {
    parse_error(status, &HeaderMap::new(), body.as_bytes(), KEY, UNIX_EPOCH)
}

fn body(ty: &str, code: &str, msg: &str) -> String {
    serde_json::json!({"error": {"message": msg, "type": ty, "param": null, "code": code}})
        .to_string()
}

#[test]
fn rate_limit_429_is_retryable_with_message_hint() {
    let msg = "Rate limit reached for gpt-4o-mini in organization org-x on requests per min (RPM): \
               Limit 3, Used 3, Requested 1. Please try again in 20s. Visit https://platform.openai.com/account/rate-limits to learn more.";
    let e = err(429, &body("requests", "rate_limit_exceeded", msg));
    assert!(e.retryable);
    assert_eq!(e.retry_after, Some(Duration::from_secs(20)));
    assert_eq!(
        (e.error_type.as_deref(), e.code.as_deref()),
        (Some("requests"), Some("rate_limit_exceeded"))
    );
    assert_eq!(e.message, msg);
    let e = err(
        429,
        &body(
            "tokens",
            "rate_limit_exceeded",
            "… (TPM): Limit 200000, Used 195869, Requested 4412. Please try again in 84ms. Visit …",
        ),
    );
    assert_eq!(e.retry_after, Some(Duration::from_millis(84)));
    let e = err(429, &body("rate_limit_error", "slow_down", "slow down"));
    assert!(e.retryable);
}

#[test]
fn header_hints_beat_the_message() {
    let h = test_headers(&[("retry-after", "3"), ("x-request-id", "req_1e3a")]);
    let b = body("tokens", "rate_limit_exceeded", "Please try again in 6m0s.");
    let e = parse_error(429, &h, b.as_bytes(), KEY, UNIX_EPOCH);
    assert_eq!(e.retry_after, Some(Duration::from_secs(3)));
    assert_eq!(e.request_id.as_deref(), Some("req_1e3a"));
    let h = test_headers(&[("retry-after-ms", "695"), ("retry-after", "3")]);
    let e = parse_error(429, &h, b.as_bytes(), KEY, UNIX_EPOCH);
    assert_eq!(e.retry_after, Some(Duration::from_millis(695)));
}

#[test]
fn quota_billing_and_too_large_429s_are_terminal() {
    for (ty, code) in [
        ("insufficient_quota", "insufficient_quota"),
        ("insufficient_quota", "credit_balance_exhausted"),
        ("insufficient_quota", "organization_spend_limit_exceeded"),
        ("insufficient_quota", "project_spend_limit_exceeded"),
        ("insufficient_quota", "organization_usage_limit_exceeded"),
        ("requests", "billing_hard_limit_reached"),
        ("insufficient_quota", "something_new"),
    ] {
        let e = err(429, &body(ty, code, "You exceeded your current quota"));
        assert!(!e.retryable, "{ty}/{code}");
    }
    let e = err(429, &body("tokens", "rate_limit_exceeded", "Request too large for gpt-4o in organization org-x on tokens per min (TPM): Limit 30000, Requested 87968."));
    assert!(!e.retryable);
    // Even with a retry-after header: its presence does not make quota retryable.
    let h = test_headers(&[("retry-after", "20")]);
    let b = body("insufficient_quota", "insufficient_quota", "quota");
    assert!(!parse_error(429, &h, b.as_bytes(), KEY, UNIX_EPOCH).retryable);
    // ... but the server's explicit instruction does win.
    let h = test_headers(&[("x-should-retry", "true")]);
    assert!(parse_error(429, &h, b.as_bytes(), KEY, UNIX_EPOCH).retryable);
}

#[test]
fn status_table() {
    for (status, retry) in [
        (400, false),
        (401, false),
        (403, false),
        (404, false),
        (408, true),
        (409, true),
        (413, false),
        (422, false),
        (500, true),
        (502, true),
        (503, true),
        (504, true),
    ] {
        assert_eq!(err(status, &body("x", "y", "m")).retryable, retry, "{status}");
    }
}

#[test]
fn key_is_redacted_and_null_code_is_none() {
    let msg = format!("Incorrect API key provided: {KEY}. You can find your API key at https://platform.openai.com/account/api-keys.");
    let b = serde_json::json!({"error": {"message": msg, "type": "invalid_request_error", "param": null, "code": null}});
    let e = err(401, &b.to_string());
    assert!(!e.message.contains(KEY) && e.message.contains("[REDACTED]"));
    assert!(!e.to_string().contains(KEY));
    assert_eq!(e.code, None);
    assert!(!e.retryable);
}

#[test]
fn non_json_bodies_still_give_an_error() {
    let e =
        err(502, "<html><head><title>502 Bad Gateway</title></head><body>cloudflare</body></html>");
    assert!(e.retryable);
    assert!(e.message.starts_with("<html>"));
    assert_eq!(e.error_type, None);
    let e = err(503, "");
    assert_eq!(e.message, "HTTP 503 with an empty body");
    let e = err(500, r#"{"error":"upstream said no"}"#);
    assert_eq!(e.message, "upstream said no");
    let e = err(500, r#"{"error":{}}"#);
    assert_eq!(e.message, "HTTP 500");
}

#[test]
fn try_again_hints() {
    assert_eq!(try_again_hint("Please try again in 1.5s."), Some(Duration::from_millis(1500)));
    assert_eq!(try_again_hint("please TRY AGAIN IN 7m12s, thanks"), Some(Duration::from_secs(432)));
    assert_eq!(try_again_hint("Please try again in a moment."), None);
    assert_eq!(try_again_hint("Please try again in 0s."), None);
    assert_eq!(try_again_hint("try again in"), None);
    assert_eq!(try_again_hint("ünïcödé try again in 2s"), Some(Duration::from_secs(2)));
}

#[test]
fn in_band_errors() {
    let e = in_band_error(
        &serde_json::json!({"message": "boom", "type": "server_error", "code": null}),
        KEY,
    );
    assert_eq!((e.status, e.retryable), (500, true));
    let e = in_band_error(&serde_json::json!({"message": "slow", "code": 429}), KEY);
    assert_eq!((e.status, e.retryable), (429, true));
    let e = in_band_error(&serde_json::json!({"message": "x", "code": "insufficient_quota"}), KEY);
    assert_eq!((e.status, e.retryable), (429, false));
    // A 200 whose body is an error is classified by the error's own fields, with the retry
    // rules of the HTTP error it stands for.
    let cases = [
        (
            serde_json::json!({"message": "no", "type": "invalid_request_error", "code": "model_not_found"}),
            404,
            false,
        ),
        (
            serde_json::json!({"message": "no", "type": "invalid_request_error", "code": null}),
            400,
            false,
        ),
        (serde_json::json!({"message": "bad key", "code": "invalid_api_key"}), 401, false),
        (
            serde_json::json!({"message": "slow down", "type": "requests", "code": "rate_limit_exceeded"}),
            429,
            true,
        ),
        (serde_json::json!({"message": "busy", "type": "overloaded_error"}), 503, true),
        (serde_json::json!({"message": "gone", "status": 404}), 404, false),
        (serde_json::json!({"message": "?", "type": "something_new"}), 500, true),
    ];
    for (err, status, retryable) in cases {
        let e = in_band_error(&err, KEY);
        assert_eq!((e.status, e.retryable), (status, retryable), "{err}");
    }
    assert_eq!(status_from_code(Some(&serde_json::json!("503"))), Some(503));
    assert_eq!(status_from_code(Some(&serde_json::json!(70000))), None);
}
