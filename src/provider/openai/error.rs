//! OpenAI error bodies (`{"error":{"message","type","param","code"}}`) and their retry class.
//!
//! A 429 is not always a rate limit: quota, billing and spend-limit codes, and "Request too
//! large" (one request bigger than the whole bucket), will fail again however long we wait
//! (docs/providers.md §1.8). They are told apart by `error.code`, `error.type` and the message.

use std::time::{Duration, SystemTime};

use serde_json::Value;
use ureq::http::HeaderMap;

use crate::error::ApiError;
use crate::provider::api_error::{body_snippet, clean_field, clean_message, Draft};
use crate::provider::duration::parse_go_duration;
use crate::provider::headers::{header_str, standard_retry_after};
use crate::provider::json::{in_band_status, str_of};
use crate::provider_id::Provider;

/// Codes that mean the account, not the moment, is the problem.
const TERMINAL_CODES: [&str; 4] = [
    "insufficient_quota",
    "credit_balance_exhausted",
    "organization_usage_limit_exceeded",
    "billing_hard_limit_reached",
];

/// Builds the error for an HTTP error status from OpenAI.
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
        // Some proxies answer `{"error": "text"}`.
        Some(Value::String(s)) => {
            Draft { status, message: clean_message(s, api_key), ..Draft::default() }
        }
        _ => Draft { status, message: body_snippet(body, status, api_key), ..Draft::default() },
    };
    draft.request_id = header_str(headers, "x-request-id").map(|id| clean_message(id, api_key));
    let hint_from_message = draft.retry_after.take();
    draft.retry_after = standard_retry_after(headers, now).or(hint_from_message);
    draft.finish(Provider::OpenAI, headers)
}

/// The error inside a 2xx body or a stream chunk (`err` is the `error` object).
///
/// There is no HTTP status to go by, so the error's own fields tell it
/// ([`in_band_status`]): a numeric `status` or `code`, else the status its `code` or `type`
/// names, else 500 (an error reported after the answer started is a server-side failure).
pub(crate) fn in_band_error(err: &Value, api_key: &str) -> ApiError {
    let status = in_band_status(err);
    draft_from(status, err, api_key).finish(Provider::OpenAI, &HeaderMap::new())
}

/// Reads the `error` object; the retry hint, if any, comes from the message.
fn draft_from(status: u16, err: &Value, api_key: &str) -> Draft {
    let raw_message = str_of(err.get("message")).unwrap_or_default();
    let error_type = clean_field(err.get("type"), api_key);
    let code = clean_field(err.get("code"), api_key);
    let terminal = is_terminal(error_type.as_deref(), code.as_deref(), raw_message);
    let message = if raw_message.is_empty() {
        format!("HTTP {status}")
    } else {
        clean_message(raw_message, api_key)
    };
    Draft {
        status,
        error_type,
        code,
        message,
        retry_after: try_again_hint(raw_message),
        terminal,
        ..Draft::default()
    }
}

/// Quota, billing and spend-limit errors, and requests too large to ever fit.
fn is_terminal(error_type: Option<&str>, code: Option<&str>, message: &str) -> bool {
    let code_terminal =
        code.is_some_and(|c| TERMINAL_CODES.contains(&c) || c.ends_with("_spend_limit_exceeded"));
    // Quota 429s carry type `insufficient_quota` even when a newer code is used.
    code_terminal
        || error_type == Some("insufficient_quota")
        || message.trim_start().starts_with("Request too large")
}

/// "… Please try again in 20s. …" / "in 84ms" / "in 6m0s": the wait OpenAI names in its 429
/// message, used when no header gives one.
pub(crate) fn try_again_hint(message: &str) -> Option<Duration> {
    const NEEDLE: &str = "try again in ";
    // ASCII lower-casing keeps byte offsets, so the index is valid in `message` too.
    let at = message.to_ascii_lowercase().find(NEEDLE)? + NEEDLE.len();
    let word = message[at..].split_whitespace().next()?;
    let word = word.trim_end_matches(['.', ',', ';', ')']);
    parse_go_duration(word).filter(|d| !d.is_zero())
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
