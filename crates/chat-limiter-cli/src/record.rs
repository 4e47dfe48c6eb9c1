//! The records of the output file (the Batch API output shape), how a failure is classified
//! for the next run, and the fingerprint that ties a record to the request it answers.
//!
//! Which failures are final for the job (a rerun skips the line) and which are re-sent:
//!
//! | class           | what                                                        | next run  |
//! |-----------------|-------------------------------------------------------------|-----------|
//! | `transient`     | transport errors, timeouts, 429/5xx after every retry       | re-sent   |
//! | `configuration` | 401, 403, 404 (a wrong key, model access or `--base-url`)    | re-sent   |
//! | `quota`         | quota, billing or credit exhaustion (402, `insufficient_quota`) | re-sent |
//! | `request`       | the provider rejected the request itself (400, 413, 422...) | final     |
//! | `input`         | the line cannot be parsed, or repeats a custom_id           | final     |
//!
//! `--retry failed` re-sends final failures too.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use chat_limiter::{ChatCompletionRequest, ChatCompletionResponse, Error};
use serde_json::{json, Value};

/// Error code of a line that cannot be parsed.
pub const INVALID_INPUT: &str = "invalid_input";
/// Error code of a later line repeating an earlier line's custom_id.
pub const DUPLICATE: &str = "duplicate_custom_id";

/// Why an item failed, as written in `error`.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Short machine-readable code.
    pub code: String,
    /// Human-readable message (the library's errors never hold the key).
    pub message: String,
    /// The failure's class (see the module docs): `transient`, `configuration`, `quota`,
    /// `request` or `input`.
    pub class: &'static str,
    /// Whether a rerun sends the line again (without `--retry failed`).
    pub retryable: bool,
    /// The provider's HTTP status, when it answered.
    pub status: Option<u16>,
    /// The provider's request id, when it answered.
    pub request_id: Option<String>,
    /// The provider's error type, when it answered.
    pub error_type: Option<String>,
}

/// Whether a provider error means the key's quota, billing or credits ran out.
fn is_quota(status: u16, code: Option<&str>, error_type: Option<&str>) -> bool {
    let named = |s: Option<&str>| {
        s.is_some_and(|s| {
            let s = s.to_ascii_lowercase();
            s.contains("quota") || s.contains("billing") || s.contains("credit")
        })
    };
    status == 402 || named(code) || named(error_type)
}

impl Failure {
    /// A failure decided by the CLI itself (bad input, duplicate id): final.
    pub fn local(code: &str, message: String) -> Self {
        Failure {
            code: code.into(),
            message,
            class: "input",
            retryable: false,
            status: None,
            request_id: None,
            error_type: None,
        }
    }

    /// Classifies a library error.
    pub fn from_error(e: &Error) -> Self {
        let api = e.api_error();
        let class = match (e, api) {
            (Error::CreditsExhausted { .. } | Error::WaitTooLong { .. }, _) => "quota",
            (Error::BudgetExhausted { .. }, _) => "quota",
            // --max-cost with a model the price table lacks: fix --prices and rerun.
            (Error::PriceTable(_), _) => "configuration",
            (_, Some(a)) if is_quota(a.status, a.code.as_deref(), a.error_type.as_deref()) => {
                "quota"
            }
            (_, Some(a)) if a.status == 429 && !a.retryable => "quota",
            (_, Some(a)) if matches!(a.status, 401 | 403 | 404) => "configuration",
            (Error::RetriesExhausted { .. }, _) | (Error::Cancelled | Error::Store(_), _) => {
                "transient"
            }
            (Error::InvalidResponse { .. } | Error::Stream(_) | Error::Transport { .. }, _) => {
                "transient"
            }
            _ if e.is_retryable() => "transient",
            _ => "request",
        };
        let code = match (e, api) {
            (_, Some(a)) => a
                .code
                .clone()
                .or_else(|| a.error_type.clone())
                .unwrap_or_else(|| format!("http_{}", a.status)),
            (Error::Transport { timeout: true, .. }, _) => "timeout".into(),
            (Error::Transport { .. }, _) => "transport_error".into(),
            (Error::InvalidResponse { .. }, _) => "invalid_response".into(),
            (Error::InvalidRequest(_), _) => "invalid_request".into(),
            (Error::NeverFits { .. }, _) => "never_fits".into(),
            (Error::CreditsExhausted { .. }, _) => "credits_exhausted".into(),
            (Error::WaitTooLong { .. }, _) => "wait_too_long".into(),
            (Error::BudgetExhausted { .. }, _) => "budget_exhausted".into(),
            (Error::PriceTable(_), _) => "no_price".into(),
            (Error::Cancelled, _) => "cancelled".into(),
            (Error::Store(_), _) => "store_error".into(),
            (Error::Stream(_), _) => "stream_error".into(),
            _ => "error".into(),
        };
        Failure {
            code,
            message: e.to_string(),
            class,
            retryable: class != "request",
            status: api.map(|a| a.status),
            request_id: api.and_then(|a| a.request_id.clone()),
            error_type: api.and_then(|a| a.error_type.clone()),
        }
    }
}

/// A success record; `body` is the provider's original JSON.
/// An answer from the response cache (`--cache`) says so: `response.cached` is `true`.
pub fn success_record(line: u64, id: &str, fp: u128, resp: &ChatCompletionResponse) -> Value {
    // The body as JSON, as the library's `raw` gives it; one that no `Value` can hold (a
    // number beyond f64, kept verbatim in `raw`) is written as its text rather than lost.
    let body =
        resp.raw.parse::<Value>().unwrap_or_else(|_| Value::String(resp.raw.as_str().into()));
    let mut rec = json!({
        "id": record_id(line),
        "custom_id": id,
        "request_fingerprint": fp_hex(fp),
        "response": {"status_code": 200, "request_id": resp.request_id, "body": body},
        "error": null,
    });
    if resp.cached {
        rec["response"]["cached"] = json!(true);
    }
    rec
}

/// A failure record; when the provider answered, `response` holds its status and error.
/// `fp` is the request's fingerprint (`None` for a line that is no request).
pub fn failure_record(line: u64, id: &str, fp: Option<u128>, f: &Failure) -> Value {
    let response = f.status.map(|status| {
        json!({
            "status_code": status,
            "request_id": f.request_id,
            "body": {"error": {"message": f.message, "type": f.error_type, "code": f.code}},
        })
    });
    let mut rec = json!({
        "id": record_id(line),
        "custom_id": id,
        "response": response,
        "error": {"code": f.code, "message": f.message, "class": f.class,
                  "retryable": f.retryable},
    });
    if let Some(fp) = fp {
        rec["request_fingerprint"] = json!(fp_hex(fp));
    }
    rec
}

/// A 128-bit hash of a custom_id, the key of the output's records when resuming and
/// compacting ([`crate::prior_map`]): two SipHash passes with different prefixes (two ids
/// would need a 128-bit collision to be taken for one). Only kept in memory, never written.
pub fn id_hash(id: &str) -> u128 {
    let half = |salt: u8| {
        let mut h = DefaultHasher::new();
        salt.hash(&mut h);
        id.hash(&mut h);
        h.finish()
    };
    (u128::from(half(0)) << 64) | u128::from(half(1))
}

/// The fingerprint of a request as sent (the line after the run's defaults are applied):
/// 128-bit FNV-1a over its JSON. Written to the output, so it is a fixed, documented
/// function, stable across versions of Rust and of this program.
pub fn fingerprint(req: &ChatCompletionRequest) -> u128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    // Serialising a plain data type to JSON cannot fail; an empty body would still hash.
    let mut bytes = serde_json::to_vec(req).unwrap_or_default();
    // The wire a line asks for is not in the JSON but is part of the request as sent: a line
    // moved to `/v1/responses` is sent again (chat lines keep their fingerprints).
    if req.openai_api == Some(chat_limiter::OpenAiApi::Responses) {
        bytes.extend_from_slice(b" /v1/responses");
    }
    bytes.iter().fold(OFFSET, |h, b| (h ^ u128::from(*b)).wrapping_mul(PRIME))
}

/// A fingerprint as written in the output.
pub fn fp_hex(fp: u128) -> String {
    format!("{fp:032x}")
}

/// Records are named after their input line, which lets a rerun recognise its duplicates.
fn record_id(line: u64) -> String {
    format!("line-{line}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_limiter::Message;

    #[test]
    fn fingerprint_follows_the_request() {
        let a = ChatCompletionRequest::new("m", vec![Message::user("hi")]);
        let b = ChatCompletionRequest::new("m", vec![Message::user("ho")]);
        assert_eq!(fingerprint(&a), fingerprint(&a.clone()));
        assert_ne!(fingerprint(&a), fingerprint(&b));
        assert_eq!(fp_hex(1).len(), 32);
    }

    #[test]
    fn quota_is_told_apart() {
        assert!(is_quota(402, None, None));
        assert!(is_quota(429, Some("insufficient_quota"), None));
        assert!(!is_quota(400, Some("invalid_value"), Some("invalid_request_error")));
    }
}
