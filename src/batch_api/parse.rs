//! Reading the batch APIs' JSON: batch objects of both providers and small helpers.

use serde_json::Value;

use super::error::BatchError;
use super::types::{BatchFailure, BatchInfo, BatchStatus, ItemOutcome, RequestCounts};
use crate::provider_id::Provider;
use crate::request::Engine;

/// Downloads the JSONL results at `path`, line by line (a timeout between reads, never the
/// whole file in memory), reading each non-blank line with `one` into `out`.
pub(crate) fn read_results(
    engine: &Engine,
    path: &str,
    out: &mut Vec<super::types::ItemResult>,
    one: fn(&Engine, &Value) -> Result<super::types::ItemResult, BatchError>,
) -> Result<(), BatchError> {
    let mut reader = std::io::BufReader::new(engine.direct_download(path)?);
    let mut line = Vec::new();
    while engine.read_line(&mut reader, &mut line)?.is_some() {
        if !line.trim_ascii().is_empty() {
            out.push(one(engine, &json(&line)?)?);
        }
    }
    Ok(())
}

pub(crate) fn invalid(what: &str) -> BatchError {
    BatchError::InvalidResponse(what.to_string())
}

pub(crate) fn json(bytes: &[u8]) -> Result<Value, BatchError> {
    serde_json::from_slice(bytes).map_err(|e| invalid(&format!("not JSON: {e}")))
}

pub(crate) fn obj_str<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// An id fit to put in a path (ids come back from the provider or a state file).
pub(crate) fn path_id(id: &str) -> Result<&str, BatchError> {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        Ok(id)
    } else {
        Err(invalid(&format!("an id with unexpected characters: {id:?}")))
    }
}

/// An errored item, its message redacted.
pub(crate) fn err_outcome(
    engine: &Engine,
    status: Option<u16>,
    code: &str,
    message: &str,
) -> ItemOutcome {
    ItemOutcome::Errored { status, code: code.to_string(), message: engine.redact(message) }
}

fn count(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

fn opt_string(v: &Value, key: &str) -> Option<String> {
    obj_str(v, key).filter(|s| !s.is_empty()).map(str::to_string)
}

/// An OpenAI batch object.
pub(crate) fn openai_batch(v: &Value, engine: &Engine) -> Result<BatchInfo, BatchError> {
    let id = opt_string(v, "id").ok_or_else(|| invalid("a batch without an id"))?;
    let status = obj_str(v, "status").ok_or_else(|| invalid("a batch without a status"))?;
    let rc = v.get("request_counts").cloned().unwrap_or(Value::Null);
    let (total, succeeded, errored) =
        (count(&rc, "total"), count(&rc, "completed"), count(&rc, "failed"));
    let errors = v
        .pointer("/errors/data")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|e| BatchFailure {
                    code: obj_str(e, "code").unwrap_or("").to_string(),
                    message: engine.redact(obj_str(e, "message").unwrap_or("")),
                    line: e.get("line").and_then(Value::as_u64),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(BatchInfo {
        id,
        provider: Provider::OpenAI,
        status: BatchStatus::parse(status),
        counts: RequestCounts {
            total,
            processing: total.saturating_sub(succeeded + errored),
            succeeded,
            errored,
            canceled: 0,
            expired: 0,
        },
        created_at: v.get("created_at").and_then(Value::as_u64),
        input_file_id: opt_string(v, "input_file_id"),
        output_file_id: opt_string(v, "output_file_id"),
        error_file_id: opt_string(v, "error_file_id"),
        results_url: None,
        errors,
    })
}

/// An Anthropic message batch object.
pub(crate) fn anthropic_batch(v: &Value) -> Result<BatchInfo, BatchError> {
    let id = opt_string(v, "id").ok_or_else(|| invalid("a batch without an id"))?;
    let status =
        obj_str(v, "processing_status").ok_or_else(|| invalid("a batch without a status"))?;
    let rc = v.get("request_counts").cloned().unwrap_or(Value::Null);
    let counts = RequestCounts {
        total: ["processing", "succeeded", "errored", "canceled", "expired"]
            .iter()
            .map(|k| count(&rc, k))
            .sum(),
        processing: count(&rc, "processing"),
        succeeded: count(&rc, "succeeded"),
        errored: count(&rc, "errored"),
        canceled: count(&rc, "canceled"),
        expired: count(&rc, "expired"),
    };
    Ok(BatchInfo {
        id,
        provider: Provider::Anthropic,
        status: BatchStatus::parse(status),
        counts,
        // RFC 3339 (`2024-08-20T18:37:24.100435Z`); unreadable is unknown, never "now".
        created_at: obj_str(v, "created_at")
            .and_then(crate::provider::timestamp::parse_rfc3339)
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs()),
        input_file_id: None,
        output_file_id: None,
        error_file_id: None,
        results_url: opt_string(v, "results_url"),
        errors: Vec::new(),
    })
}
