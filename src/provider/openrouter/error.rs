//! OpenRouter error bodies (`{"error":{"code":<int>,"message","metadata"?}}`) and their retry
//! class (docs/providers.md §3.7).
//!
//! Terminal: 402 (no credits), `payment_required`, `error.availability.retryable == false`, and
//! the per-day free-model counter, whose reset can be hours away: it is reported with its reset
//! as `retry_after` but not retried, so the caller can say "quota exhausted until ...".

use std::time::{Duration, SystemTime};

use serde_json::Value;
use ureq::http::HeaderMap;

use crate::error::ApiError;
use crate::provider::api_error::{body_snippet, clean_field, clean_message, truncate, Draft};
use crate::provider::headers::{
    header_str, parse_epoch_millis, server_now, standard_retry_after, until,
};
use crate::provider::json::in_band_status;
use crate::provider::json::{obj_of, str_of, u64_of};
use crate::provider_id::Provider;

use super::headers::reset_in;

/// `metadata.limit_source` values that a retry within the day cannot fix.
const TERMINAL_LIMIT_SOURCES: [&str; 2] = ["openrouter_free_tier_daily", "openrouter_credits"];

/// Builds the error for an HTTP error status from OpenRouter.
pub(crate) fn parse_error(
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    api_key: &str,
    now: SystemTime,
) -> ApiError {
    let root: Option<Value> = serde_json::from_slice(body).ok();
    let server_now = server_now(headers, now);
    let mut draft = match root.as_ref().and_then(|r| r.get("error")) {
        Some(err @ Value::Object(_)) => draft_from(status, err, api_key, server_now),
        Some(Value::String(s)) => {
            Draft { status, message: clean_message(s, api_key), ..Draft::default() }
        }
        _ => Draft { status, message: body_snippet(body, status, api_key), ..Draft::default() },
    };
    draft.request_id = header_str(headers, "x-generation-id")
        .or_else(|| header_str(headers, "x-request-id"))
        .map(|id| clean_message(id, api_key));
    // Hint order (docs/providers.md §5): retry-after-ms, retry-after, X-RateLimit-Reset
    // (header, then the copy in the body), then the body's availability.retry_after.
    let from_body = draft.retry_after.take();
    draft.retry_after = standard_retry_after(headers, now)
        .or(reset_in(headers, now).filter(|d| !d.is_zero()))
        .or(from_body);
    draft.finish(Provider::OpenRouter, headers)
}

/// The error inside a 2xx body or a stream chunk (`err` is the `error` object); its `code` is
/// the HTTP-like status; without one, the status its type names, else 500 ([`in_band_status`]).
pub(crate) fn in_band_error(err: &Value, api_key: &str) -> ApiError {
    let status = in_band_status(err);
    draft_from(status, err, api_key, SystemTime::now())
        .finish(Provider::OpenRouter, &HeaderMap::new())
}

fn draft_from(status: u16, err: &Value, api_key: &str, server_now: SystemTime) -> Draft {
    let meta = err.get("metadata");
    let availability = err.get("availability").or_else(|| meta.and_then(|m| m.get("availability")));
    let raw_message = str_of(err.get("message")).unwrap_or_default();
    let error_type_meta = meta.and_then(|m| clean_field(m.get("error_type"), api_key));
    let limit_source = meta.and_then(|m| str_of(m.get("limit_source")));
    let terminal = status == 402
        || error_type_meta.as_deref() == Some("payment_required")
        || availability.and_then(|a| a.get("retryable")).and_then(Value::as_bool) == Some(false)
        || raw_message.contains("free-models-per-day")
        || raw_message.contains("limit_rpd/")
        || limit_source.is_some_and(|s| TERMINAL_LIMIT_SOURCES.contains(&s));
    Draft {
        status,
        // The typed, stable `metadata.error_type` is the most useful code; else the number.
        code: error_type_meta.or_else(|| clean_field(err.get("code"), api_key)),
        error_type: availability
            .and_then(|a| clean_field(a.get("code"), api_key))
            .or_else(|| limit_source.map(|s| clean_message(s, api_key))),
        message: message(status, raw_message, meta, api_key),
        retry_after: body_retry_hint(meta, availability, server_now),
        terminal,
        ..Draft::default()
    }
}

/// The message, with the upstream provider and its raw answer appended for
/// "Provider returned error" bodies, which say nothing on their own.
fn message(status: u16, raw: &str, meta: Option<&Value>, api_key: &str) -> String {
    let mut msg = if raw.is_empty() { format!("HTTP {status}") } else { raw.to_string() };
    if let Some(name) = meta.and_then(|m| str_of(m.get("provider_name"))) {
        msg.push_str(&format!(" (provider: {name})"));
    }
    match meta.and_then(|m| m.get("raw")) {
        Some(Value::String(s)) if !s.is_empty() => msg.push_str(&format!(": {}", truncate(s, 300))),
        Some(v @ Value::Object(_)) => msg.push_str(&format!(": {}", truncate(&v.to_string(), 300))),
        _ => {}
    }
    clean_message(&msg, api_key)
}

/// `metadata.headers["X-RateLimit-Reset"]` (epoch ms, as a string or number), then
/// `availability.retry_after` (seconds).
fn body_retry_hint(
    meta: Option<&Value>,
    availability: Option<&Value>,
    server_now: SystemTime,
) -> Option<Duration> {
    let reset = obj_of(meta.and_then(|m| m.get("headers"))).and_then(|h| {
        let v = h.iter().find(|(k, _)| k.eq_ignore_ascii_case("x-ratelimit-reset"))?.1;
        let at = match v {
            Value::String(s) => parse_epoch_millis(s)?,
            other => parse_epoch_millis(&u64_of(Some(other))?.to_string())?,
        };
        Some(until(at, server_now)).filter(|d| !d.is_zero())
    });
    let avail = availability
        .and_then(|a| a.get("retry_after"))
        .and_then(|v| v.as_f64())
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .filter(|d| !d.is_zero());
    reset.or(avail)
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
