//! OpenAI's Batch API: upload a JSONL file (`POST /files`, purpose `batch`), create a batch
//! (`POST /batches`), read it (`GET /batches/{id}`), cancel it, download its output and error
//! files (`GET /files/{id}/content`).

use serde_json::{json, Value};

use super::error::BatchError;
use super::parse::{self, err_outcome, obj_str};
use super::types::{BatchEndpoint, BatchInfo, ItemOutcome, ItemResult};
use crate::request::{DirectBody, Engine, Replay};

const BOUNDARY: &str = "chat-limiter-batch-7d1f0c9a5b3e";

/// One input line.
pub(crate) fn line(custom_id: &str, endpoint: BatchEndpoint, body: &Value) -> Vec<u8> {
    let mut l =
        json!({"custom_id": custom_id, "method": "POST", "url": endpoint.as_str(), "body": body})
            .to_string()
            .into_bytes();
    l.push(b'\n');
    l
}

/// The multipart form of an upload: `purpose=batch` and the file.
fn multipart(jsonl: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(jsonl.len() + 400);
    out.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n\
             --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"batch.jsonl\"\r\n\
             Content-Type: application/jsonl\r\n\r\n"
        )
        .as_bytes(),
    );
    out.extend_from_slice(jsonl);
    out.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    out
}

/// The bytes an upload adds around the lines.
pub(crate) const UPLOAD_OVERHEAD: u64 = 0;

/// Uploads the lines and returns the file id.
pub(crate) fn upload(engine: &Engine, jsonl: &[u8]) -> Result<String, BatchError> {
    let form = multipart(jsonl);
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    let body = DirectBody { bytes: &form, content_type: Some(&ct) };
    let resp = engine.direct("POST", "/files", Some(body), Replay::Safe)?;
    let v = parse::json(&resp.body)?;
    obj_str(&v, "id").map(str::to_string).ok_or_else(|| parse::invalid("a file without an id"))
}

/// Creates a batch over an uploaded file.
pub(crate) fn create(
    engine: &Engine,
    file_id: &str,
    endpoint: BatchEndpoint,
) -> Result<BatchInfo, BatchError> {
    let body = json!({"input_file_id": file_id, "endpoint": endpoint.as_str(), "completion_window": "24h"})
        .to_string();
    let body = DirectBody { bytes: body.as_bytes(), content_type: None };
    let resp = engine.direct("POST", "/batches", Some(body), Replay::OnlyAfterRateLimit)?;
    parse::openai_batch(&parse::json(&resp.body)?, engine)
}

/// Reads a batch.
pub(crate) fn get(engine: &Engine, id: &str) -> Result<BatchInfo, BatchError> {
    let resp =
        engine.direct("GET", &format!("/batches/{}", parse::path_id(id)?), None, Replay::Safe)?;
    parse::openai_batch(&parse::json(&resp.body)?, engine)
}

/// One page of the account's batches, newest first, and whether there are more.
pub(crate) fn list(
    engine: &Engine,
    after: Option<&str>,
) -> Result<(Vec<BatchInfo>, bool), BatchError> {
    let path = match after {
        Some(a) => format!("/batches?limit=100&after={}", parse::path_id(a)?),
        None => "/batches?limit=100".to_string(),
    };
    let resp = engine.direct("GET", &path, None, Replay::Safe)?;
    let v = parse::json(&resp.body)?;
    let data = v
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| parse::invalid("a list without data"))?;
    let page =
        data.iter().map(|b| parse::openai_batch(b, engine)).collect::<Result<Vec<_>, _>>()?;
    Ok((page, v.get("has_more").and_then(Value::as_bool).unwrap_or(false)))
}

/// Asks for a batch to be cancelled.
pub(crate) fn cancel(engine: &Engine, id: &str) -> Result<BatchInfo, BatchError> {
    let path = format!("/batches/{}/cancel", parse::path_id(id)?);
    let resp = engine.direct("POST", &path, None, Replay::Safe)?;
    parse::openai_batch(&parse::json(&resp.body)?, engine)
}

/// The results in the batch's output and error files.
pub(crate) fn results(engine: &Engine, info: &BatchInfo) -> Result<Vec<ItemResult>, BatchError> {
    let mut out = Vec::new();
    for file in [&info.output_file_id, &info.error_file_id].into_iter().flatten() {
        let path = format!("/files/{}/content", parse::path_id(file)?);
        parse::read_results(engine, &path, &mut out, result_line)?;
    }
    Ok(out)
}

/// One line of an output or error file.
fn result_line(engine: &Engine, v: &Value) -> Result<ItemResult, BatchError> {
    let custom_id = obj_str(v, "custom_id")
        .ok_or_else(|| parse::invalid("a result line without a custom_id"))?
        .to_string();
    let response = v.get("response").filter(|r| !r.is_null());
    let status = response.and_then(|r| r.get("status_code")).and_then(Value::as_u64);
    let error = v.get("error").filter(|e| !e.is_null());
    let outcome = match (status, error) {
        (_, Some(e)) => match obj_str(e, "code").unwrap_or("") {
            "batch_expired" => ItemOutcome::Expired,
            "batch_cancelled" | "batch_canceled" => ItemOutcome::Canceled,
            code => err_outcome(engine, None, code, obj_str(e, "message").unwrap_or("")),
        },
        (Some(s), None) if (200..300).contains(&s) => {
            let body = response.and_then(|r| r.get("body")).cloned().unwrap_or(Value::Null);
            let request_id = response.and_then(|r| obj_str(r, "request_id")).map(str::to_string);
            match engine.parse_batch_chat(body.to_string().as_bytes(), request_id) {
                Ok(r) => ItemOutcome::Succeeded(Box::new(r)),
                Err(e) => err_outcome(engine, Some(s as u16), "invalid_response", &e.to_string()),
            }
        }
        (s, None) => {
            let e = response.and_then(|r| r.pointer("/body/error"));
            let code = e.and_then(|e| obj_str(e, "code").or_else(|| obj_str(e, "type")));
            let message = e.and_then(|e| obj_str(e, "message")).unwrap_or("no answer");
            err_outcome(engine, s.map(|s| s as u16), code.unwrap_or("api_error"), message)
        }
    };
    Ok(ItemResult { custom_id, outcome })
}
