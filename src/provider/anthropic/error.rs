//! Anthropic error bodies (`{"type":"error","error":{"type","message",...},"request_id"}`) and
//! their retry class (docs/providers.md §2.7).
//!
//! Terminal despite a retryable-looking status: the monthly spend cap (429 with
//! `details.error_code = enforced_spend_limit_reached`), 402 `billing_error`, and 400 (which is
//! also how a self-imposed spend limit answers).

use std::time::SystemTime;

use serde_json::Value;
use ureq::http::HeaderMap;

use crate::error::ApiError;
use crate::provider::api_error::{body_snippet, clean_field, clean_message, Draft};
use crate::provider::headers::{header_str, standard_retry_after};
use crate::provider::json::{str_of, string_of};
use crate::provider_id::Provider;

/// Builds the error for an HTTP error status from Anthropic.
pub(crate) fn parse_error(
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    api_key: &str,
    now: SystemTime,
) -> ApiError {
    let root: Option<Value> = serde_json::from_slice(body).ok();
    let mut draft = match root.as_ref().and_then(|r| r.get("error")) {
        Some(err @ Value::Object(_)) => draft_from(status, err, api_key),
        _ => Draft { status, message: body_snippet(body, status, api_key), ..Draft::default() },
    };
    draft.request_id = header_str(headers, "request-id")
        .map(str::to_string)
        .or_else(|| root.as_ref().and_then(|r| string_of(r.get("request_id"))))
        .or_else(|| header_str(headers, "x-request-id").map(str::to_string))
        .map(|id| clean_message(&id, api_key));
    draft.retry_after = standard_retry_after(headers, now);
    draft.finish(Provider::Anthropic, headers)
}

/// The error of an SSE `error` event or a 2xx body of type `error` (`err` is the `error`
/// object); the status is the one the error type stands for.
pub(crate) fn in_band_error(err: &Value, api_key: &str) -> ApiError {
    let status = status_for_type(str_of(err.get("type")).unwrap_or_default());
    draft_from(status, err, api_key).finish(Provider::Anthropic, &HeaderMap::new())
}

/// The HTTP status each documented error type is returned with; 500 for unknown types.
pub(crate) fn status_for_type(error_type: &str) -> u16 {
    match error_type {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "billing_error" => 402,
        "permission_error" => 403,
        "not_found_error" => 404,
        "conflict_error" => 409,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "timeout_error" => 504,
        "overloaded_error" => 529,
        _ => 500,
    }
}

fn draft_from(status: u16, err: &Value, api_key: &str) -> Draft {
    let error_type = clean_field(err.get("type"), api_key);
    let code = clean_field(err.get("details").and_then(|d| d.get("error_code")), api_key);
    let terminal = code.as_deref() == Some("enforced_spend_limit_reached")
        || status == 402
        || error_type.as_deref() == Some("billing_error")
        || status == 400;
    let message = match str_of(err.get("message")) {
        Some(m) if !m.is_empty() => clean_message(m, api_key),
        _ => format!("HTTP {status}"),
    };
    Draft { status, error_type, code, message, terminal, ..Draft::default() }
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
