//! OpenAI's Files and Batches (docs/providers.md, "Batch APIs"): `POST /v1/files` (multipart,
//! purpose `batch`), `POST /v1/batches`, `GET /v1/batches/{id}`, `POST /v1/batches/{id}/cancel`,
//! `GET /v1/files/{id}/content`.

use std::time::Instant;

use serde_json::{json, Value};

use super::batch_store::{self, Batch, Fate, Item};
use super::http::{HttpRequest, HttpResponse};
use super::server::Shared;

const DOCUMENTED_REQUESTS: u64 = 50_000;
const DOCUMENTED_BYTES: u64 = 200 * 1024 * 1024;

fn error(status: u16, message: &str, code: Option<&str>) -> HttpResponse {
    HttpResponse::json(
        status,
        &json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": code}}),
    )
}

/// Serves a batch route, or `None` when the path is not one.
pub(crate) fn handle(shared: &Shared, req: &HttpRequest) -> Option<HttpResponse> {
    let path = req.path.trim_end_matches('/');
    let parts: Vec<&str> = path.trim_start_matches("/v1/").split('/').collect();
    let route = match (req.method.as_str(), parts.as_slice()) {
        ("POST", ["files"]) => 0,
        ("POST", ["batches"]) => 1,
        ("GET", ["batches"]) => 5,
        ("GET", ["batches", _]) => 2,
        ("POST", ["batches", _, "cancel"]) => 3,
        ("GET", ["files", _, "content"]) => 4,
        _ => return None,
    };
    if !path.starts_with("/v1/") {
        return None;
    }
    let key = req.header("authorization").and_then(|v| v.strip_prefix("Bearer ")).unwrap_or("");
    if key.is_empty() || shared.cfg.api_key.as_deref().is_some_and(|k| k != key) {
        return Some(error(401, "Incorrect API key provided.", Some("invalid_api_key")));
    }
    Some(match route {
        0 => upload(shared, req),
        1 => create(shared, req),
        2 => get(shared, parts[1]),
        3 => cancel(shared, parts[1]),
        5 => list(shared),
        _ => content(shared, parts[1]),
    })
}

/// The `file` part of a multipart form, and whether `purpose` was `batch`.
fn multipart_file(req: &HttpRequest) -> Option<(Vec<u8>, bool)> {
    let ct = req.header("content-type")?;
    let boundary = ct.split(';').find_map(|p| p.trim().strip_prefix("boundary="))?;
    let delim = format!("--{}", boundary.trim_matches('"'));
    let body = &req.body;
    let mut file = None;
    let mut purpose = false;
    let mut rest: &[u8] = body;
    while let Some(start) = find(rest, delim.as_bytes()) {
        rest = &rest[start + delim.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let head_end = find(rest, b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&rest[..head_end]).to_ascii_lowercase();
        let content_start = head_end + 4;
        let end = find(&rest[content_start..], format!("\r\n{delim}").as_bytes())?;
        let content = &rest[content_start..content_start + end];
        if head.contains("name=\"file\"") {
            file = Some(content.to_vec());
        } else if head.contains("name=\"purpose\"") {
            purpose = content == b"batch";
        }
        rest = &rest[content_start + end + 2..];
    }
    file.map(|f| (f, purpose))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn upload(shared: &Shared, req: &HttpRequest) -> HttpResponse {
    let Some((file, purpose)) = multipart_file(req) else {
        return error(400, "Expected a multipart form with a 'file' part.", None);
    };
    if !purpose {
        return error(400, "'purpose' must be 'batch' for a batch input file.", None);
    }
    let cap = shared.cfg.batch.max_bytes.unwrap_or(DOCUMENTED_BYTES);
    if file.len() as u64 > cap {
        return error(
            400,
            &format!("File is too large: {} bytes, the limit is {cap}.", file.len()),
            None,
        );
    }
    let mut s = shared.batches.inner.lock();
    s.stats.files += 1;
    let id = s.id("file-");
    let bytes = file.len();
    s.files.insert(id.clone(), file);
    HttpResponse::json(
        200,
        &json!({"id": id, "object": "file", "bytes": bytes, "created_at": batch_store::unix_now(),
                "filename": "batch.jsonl", "purpose": "batch"}),
    )
}

/// Checks the lines; `Err((code, message, line))` fails the batch in validation.
fn read_lines(file: &[u8], endpoint: &str) -> Result<Vec<(String, Value)>, (String, String, u64)> {
    let mut out: Vec<(String, Value)> = Vec::new();
    for (n, line) in file.split(|b| *b == b'\n').enumerate() {
        let n = n as u64 + 1;
        if line.trim_ascii().is_empty() {
            continue;
        }
        let bad = |code: &str, m: &str| (code.to_string(), m.to_string(), n);
        let v: Value =
            serde_json::from_slice(line).map_err(|_| bad("invalid_json_line", "not JSON"))?;
        let id = v["custom_id"].as_str().filter(|s| !s.is_empty());
        let id = id.ok_or_else(|| bad("missing_custom_id", "custom_id is required"))?;
        if out.iter().any(|(o, _)| o == id) {
            return Err(bad("duplicate_custom_id", "custom_id must be unique within a batch"));
        }
        if v["method"] != "POST" || v["url"] != endpoint {
            return Err(bad("invalid_url", "every line's url must be the batch's endpoint"));
        }
        if !v["body"]["model"].is_string() {
            return Err(bad("missing_required_parameter", "body.model is required"));
        }
        out.push((id.to_string(), v["body"].clone()));
    }
    Ok(out)
}

fn answer(n: u64, body: &Value) -> Value {
    let text = format!("batch answer to: {}", batch_store::last_user_text(body));
    let prompt = batch_store::prompt_tokens(body);
    let completion = text.split(' ').count() as u64;
    json!({"id": format!("chatcmpl-b{n}"), "object": "chat.completion", "created": batch_store::unix_now(),
           "model": body["model"],
           "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
           "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}})
}

fn create(shared: &Shared, req: &HttpRequest) -> HttpResponse {
    let Ok(v) = serde_json::from_slice::<Value>(&req.body) else {
        return error(400, "The body is not JSON.", None);
    };
    let (Some(file_id), Some(endpoint)) = (v["input_file_id"].as_str(), v["endpoint"].as_str())
    else {
        return error(
            400,
            "input_file_id and endpoint are required.",
            Some("missing_required_parameter"),
        );
    };
    if !["/v1/chat/completions", "/v1/responses", "/v1/embeddings", "/v1/completions"]
        .contains(&endpoint)
    {
        return error(400, &format!("Unsupported endpoint {endpoint}."), None);
    }
    if v["completion_window"] != "24h" {
        return error(400, "completion_window must be '24h'.", None);
    }
    let cfg = &shared.cfg.batch;
    let now = Instant::now();
    let mut s = shared.batches.inner.lock();
    let Some(file) = s.files.get(file_id).cloned() else {
        return error(404, &format!("No such File object: {file_id}"), None);
    };
    s.stats.batches += 1;
    let id = s.id("batch_");
    let mut batch = Batch {
        id: id.clone(),
        created: now,
        created_unix: batch_store::unix_now(),
        input_file_id: Some(file_id.to_string()),
        endpoint: endpoint.to_string(),
        model: String::new(),
        tokens: 0,
        items: Vec::new(),
        failed: None,
        cancelled_at: None,
    };
    match read_lines(&file, endpoint) {
        Err((code, message, line)) => {
            batch.failed = Some((code, format!("line {line}: {message}")))
        }
        Ok(lines) => {
            s.stats.requests += lines.len() as u64;
            let model = lines.first().map(|(_, b)| b["model"].as_str().unwrap_or("").to_string());
            batch.model = model.unwrap_or_default();
            let responses = endpoint == "/v1/responses";
            batch.tokens = lines
                .iter()
                .map(|(_, b)| match responses {
                    true => super::responses::batch_prompt_tokens(b),
                    false => batch_store::prompt_tokens(b),
                })
                .sum();
            let max = cfg.max_requests.unwrap_or(DOCUMENTED_REQUESTS);
            if lines.iter().any(|(_, b)| b["model"] != batch.model.as_str()) {
                batch.failed = Some((
                    "mixed_models".into(),
                    "every line of a batch must use one model".into(),
                ));
            } else if lines.len() as u64 > max {
                batch.failed = Some((
                    "too_many_requests".into(),
                    format!("a batch holds at most {max} requests"),
                ));
            } else if cfg.enqueued_tokens.is_some_and(|l| {
                s.enqueued(&batch.model, now, cfg.processing_time) + batch.tokens > l
            }) {
                let m = format!(
                    "Enqueued token limit reached for {}. Wait for earlier batches to finish.",
                    batch.model
                );
                batch.failed = Some(("token_limit_exceeded".into(), m));
            } else {
                for (n, (custom_id, body)) in lines.into_iter().enumerate() {
                    let fate = if s.take_expiry(cfg) {
                        Fate::Expire
                    } else if responses {
                        match super::responses::batch_answer(n as u64, &body) {
                            Ok(a) => Fate::Answer(a),
                            Err(m) => Fate::Error(400, "invalid_request_error".into(), m),
                        }
                    } else if body["messages"].as_array().is_none_or(|m| m.is_empty()) {
                        Fate::Error(
                            400,
                            "invalid_request_error".into(),
                            "messages must be a non-empty array".into(),
                        )
                    } else {
                        Fate::Answer(answer(n as u64, &body))
                    };
                    batch.items.push(Item { custom_id, fate });
                }
            }
        }
    }
    if batch.failed.is_some() {
        batch.items.clear();
    }
    let body = view(&batch, shared);
    s.batches.push(batch);
    HttpResponse::json(200, &body)
}

/// The batch object as the API shows it now.
fn view(b: &Batch, shared: &Shared) -> Value {
    let processing = shared.cfg.batch.processing_time;
    let now = Instant::now();
    let done = b.done(now, processing);
    let expired = b.items.iter().take(done).filter(|i| matches!(i.fate, Fate::Expire)).count();
    let failed = b.items.iter().take(done).filter(|i| matches!(i.fate, Fate::Error(..))).count();
    let ended = b.ended(now, processing);
    let status = match (&b.failed, b.cancelled_at, ended) {
        (Some(_), _, _) => "failed",
        (_, Some(_), _) => "cancelled",
        (_, _, false) => "in_progress",
        _ if expired > 0 => "expired",
        _ => "completed",
    };
    let errors = b.failed.as_ref().map(|(code, message)| {
        json!({"object": "list", "data": [{"code": code, "message": message, "param": null, "line": null}]})
    });
    let has_out = ended && b.failed.is_none() && done > expired + failed;
    let has_err = ended
        && b.failed.is_none()
        && (expired + failed > 0 || b.cancelled_at.is_some_and(|n| n < b.items.len()));
    json!({
        "id": b.id, "object": "batch", "endpoint": b.endpoint, "errors": errors,
        "input_file_id": b.input_file_id, "completion_window": "24h", "status": status,
        "output_file_id": has_out.then(|| format!("{}-output", b.id)),
        "error_file_id": has_err.then(|| format!("{}-errors", b.id)),
        "created_at": b.created_unix, "metadata": null,
        "request_counts": {"total": b.items.len(), "completed": done - expired - failed, "failed": failed}
    })
}

/// Every batch, newest first, in one page (the emulator ignores `limit` and `after`).
fn list(shared: &Shared) -> HttpResponse {
    let s = shared.batches.inner.lock();
    let data: Vec<Value> = s.batches.iter().rev().map(|b| view(b, shared)).collect();
    HttpResponse::json(200, &json!({"object": "list", "data": data, "has_more": false}))
}

fn get(shared: &Shared, id: &str) -> HttpResponse {
    let mut s = shared.batches.inner.lock();
    match s.batch(id) {
        Some(b) => HttpResponse::json(200, &view(b, shared)),
        None => error(404, &format!("No batch found with id '{id}'."), None),
    }
}

fn cancel(shared: &Shared, id: &str) -> HttpResponse {
    let processing = shared.cfg.batch.processing_time;
    let mut s = shared.batches.inner.lock();
    s.stats.cancels += 1;
    let Some(b) = s.batch(id) else {
        return error(404, &format!("No batch found with id '{id}'."), None);
    };
    if !b.ended(Instant::now(), processing) {
        b.cancelled_at = Some(b.done(Instant::now(), processing));
    }
    HttpResponse::json(200, &view(b, shared))
}

fn content(shared: &Shared, file_id: &str) -> HttpResponse {
    std::thread::sleep(shared.cfg.batch.download_delay);
    let processing = shared.cfg.batch.processing_time;
    let mut s = shared.batches.inner.lock();
    s.stats.downloads += 1;
    let (batch_id, errors) =
        match (file_id.strip_suffix("-output"), file_id.strip_suffix("-errors")) {
            (Some(b), _) => (b.to_string(), false),
            (_, Some(b)) => (b.to_string(), true),
            _ => match s.files.get(file_id) {
                Some(f) => return HttpResponse { status: 200, headers: vec![], body: f.clone() },
                None => return error(404, &format!("No such File object: {file_id}"), None),
            },
        };
    let Some(b) = s.batch(&batch_id).filter(|b| b.ended(Instant::now(), processing)) else {
        return error(404, &format!("No such File object: {file_id}"), None);
    };
    let done = b.done(Instant::now(), processing);
    let mut out = String::new();
    for (n, item) in b.items.iter().enumerate() {
        let line = match (&item.fate, n < done, errors) {
            (Fate::Answer(body), true, false) => {
                json!({"id": format!("batch_req_{n}"), "custom_id": item.custom_id,
                "response": {"status_code": 200, "request_id": format!("req_{n}"), "body": body}, "error": null})
            }
            (Fate::Error(status, kind, message), true, true) => {
                json!({"id": format!("batch_req_{n}"), "custom_id": item.custom_id,
                "response": {"status_code": status, "request_id": format!("req_{n}"), "body": {"error": {"message": message, "type": kind}}}, "error": null})
            }
            (Fate::Expire, true, true) => {
                json!({"id": format!("batch_req_{n}"), "custom_id": item.custom_id, "response": null,
                "error": {"code": "batch_expired", "message": "This request could not be executed before the completion window expired."}})
            }
            (_, false, true) => {
                json!({"id": format!("batch_req_{n}"), "custom_id": item.custom_id, "response": null,
                "error": {"code": "batch_cancelled", "message": "This request was cancelled before it ran."}})
            }
            _ => continue,
        };
        out.push_str(&line.to_string());
        out.push('\n');
    }
    HttpResponse {
        status: 200,
        headers: vec![("content-type".into(), "application/jsonl".into())],
        body: out.into_bytes(),
    }
}
