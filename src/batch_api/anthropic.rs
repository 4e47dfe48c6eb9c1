//! Anthropic's Message Batches: create (`POST /messages/batches`), read, cancel
//! (`POST /messages/batches/{id}/cancel`) and the results JSONL (`results_url`).

use serde_json::{json, Value};

use super::error::BatchError;
use super::parse::{self, err_outcome, obj_str};
use super::types::{BatchInfo, ItemOutcome, ItemResult};
use crate::request::{DirectBody, Engine, Replay};

/// One entry of the create body's `requests`.
pub(crate) fn entry(custom_id: &str, params: &Value) -> Vec<u8> {
    json!({"custom_id": custom_id, "params": params}).to_string().into_bytes()
}

/// `{"requests":[` + `]}`.
pub(crate) const BODY_OVERHEAD: u64 = 15;

/// Whether Anthropic accepts this id (1 to 64 of `A-Z a-z 0-9 _ -`).
pub(crate) fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Creates a batch from the entries.
pub(crate) fn create(engine: &Engine, entries: &[Vec<u8>]) -> Result<BatchInfo, BatchError> {
    let mut body = b"{\"requests\":[".to_vec();
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(e);
    }
    body.extend_from_slice(b"]}");
    let body = DirectBody { bytes: &body, content_type: None };
    let resp =
        engine.direct("POST", "/messages/batches", Some(body), Replay::OnlyAfterRateLimit)?;
    parse::anthropic_batch(&parse::json(&resp.body)?)
}

/// Reads a batch.
pub(crate) fn get(engine: &Engine, id: &str) -> Result<BatchInfo, BatchError> {
    let path = format!("/messages/batches/{}", parse::path_id(id)?);
    let resp = engine.direct("GET", &path, None, Replay::Safe)?;
    parse::anthropic_batch(&parse::json(&resp.body)?)
}

/// One page of the account's message batches, newest first, and the cursor of the next
/// (older) page when there is one.
pub(crate) fn list(
    engine: &Engine,
    after: Option<&str>,
) -> Result<(Vec<BatchInfo>, Option<String>), BatchError> {
    let path = match after {
        Some(a) => format!("/messages/batches?limit=100&after_id={}", parse::path_id(a)?),
        None => "/messages/batches?limit=100".to_string(),
    };
    let resp = engine.direct("GET", &path, None, Replay::Safe)?;
    let v = parse::json(&resp.body)?;
    let data = v
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| parse::invalid("a list without data"))?;
    let page = data.iter().map(parse::anthropic_batch).collect::<Result<Vec<_>, _>>()?;
    let more = v.get("has_more").and_then(Value::as_bool).unwrap_or(false);
    let next = obj_str(&v, "last_id").map(str::to_string).filter(|_| more);
    Ok((page, next))
}

/// Asks for a batch to be cancelled.
pub(crate) fn cancel(engine: &Engine, id: &str) -> Result<BatchInfo, BatchError> {
    let path = format!("/messages/batches/{}/cancel", parse::path_id(id)?);
    let resp = engine.direct("POST", &path, None, Replay::Safe)?;
    parse::anthropic_batch(&parse::json(&resp.body)?)
}

/// The results, in the order the provider lists them. The key is only sent to the configured
/// base URL: a `results_url` elsewhere is not followed, the documented path is read instead.
pub(crate) fn results(engine: &Engine, info: &BatchInfo) -> Result<Vec<ItemResult>, BatchError> {
    let standard = format!("/messages/batches/{}/results", parse::path_id(&info.id)?);
    let path = info
        .results_url
        .as_deref()
        .and_then(|u| u.strip_prefix(engine.base_url()))
        .filter(|p| p.starts_with('/'))
        .map(str::to_string)
        .unwrap_or(standard);
    let mut out = Vec::new();
    parse::read_results(engine, &path, &mut out, result_line)?;
    Ok(out)
}

fn result_line(engine: &Engine, v: &Value) -> Result<ItemResult, BatchError> {
    let custom_id = obj_str(v, "custom_id")
        .ok_or_else(|| parse::invalid("a result line without a custom_id"))?
        .to_string();
    let result = v.get("result").ok_or_else(|| parse::invalid("a result line without a result"))?;
    let outcome = match obj_str(result, "type").unwrap_or("") {
        "succeeded" => {
            let message = result.get("message").cloned().unwrap_or(Value::Null);
            match engine.parse_batch_chat(message.to_string().as_bytes(), None) {
                Ok(r) => ItemOutcome::Succeeded(Box::new(r)),
                Err(e) => err_outcome(engine, None, "invalid_response", &e.to_string()),
            }
        }
        "errored" => {
            let e = result.pointer("/error/error").or_else(|| result.get("error"));
            let code = e.and_then(|e| obj_str(e, "type")).unwrap_or("api_error");
            let message = e.and_then(|e| obj_str(e, "message")).unwrap_or("");
            err_outcome(engine, None, code, message)
        }
        "canceled" => ItemOutcome::Canceled,
        "expired" => ItemOutcome::Expired,
        other => return Err(parse::invalid(&format!("an unknown result type {other:?}"))),
    };
    Ok(ItemResult { custom_id, outcome })
}
