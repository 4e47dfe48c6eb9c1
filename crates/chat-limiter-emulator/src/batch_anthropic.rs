//! Anthropic's Message Batches (docs/providers.md, "Batch APIs"): `POST /v1/messages/batches`,
//! `GET /v1/messages/batches` (the list, newest first), `GET /v1/messages/batches/{id}`,
//! `POST /v1/messages/batches/{id}/cancel` and `GET /v1/messages/batches/{id}/results` (the
//! `results_url`).

use std::time::Instant;

use serde_json::{json, Value};

use super::batch_store::{self, Batch, Fate, Item};
use super::http::{HttpRequest, HttpResponse};
use super::server::Shared;

const DOCUMENTED_REQUESTS: u64 = 100_000;
const DOCUMENTED_BYTES: u64 = 256 * 1024 * 1024;

fn error(status: u16, kind: &str, message: &str) -> HttpResponse {
    HttpResponse::json(
        status,
        &json!({"type": "error", "error": {"type": kind, "message": message}}),
    )
}

/// Serves a batch route, or `None` when the path is not one.
pub(crate) fn handle(shared: &Shared, req: &HttpRequest, base: &str) -> Option<HttpResponse> {
    let path = req.path.trim_end_matches('/');
    let rest = path.strip_prefix("/v1/messages/batches")?;
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    let route = match (req.method.as_str(), parts.as_slice()) {
        ("POST", []) => 0,
        ("GET", []) => 4,
        ("GET", [_]) => 1,
        ("POST", [_, "cancel"]) => 2,
        ("GET", [_, "results"]) => 3,
        _ => return None,
    };
    let key = req.header("x-api-key").unwrap_or("");
    if key.is_empty() || shared.cfg.api_key.as_deref().is_some_and(|k| k != key) {
        return Some(error(401, "authentication_error", "invalid x-api-key"));
    }
    Some(match route {
        0 => create(shared, req, base),
        1 => with_batch(shared, parts[0], |b| HttpResponse::json(200, &view(b, shared, base))),
        2 => cancel(shared, parts[0], base),
        4 => list(shared, base),
        _ => results(shared, parts[0]),
    })
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn create(shared: &Shared, req: &HttpRequest, base: &str) -> HttpResponse {
    let cfg = &shared.cfg.batch;
    let cap = cfg.max_bytes.unwrap_or(DOCUMENTED_BYTES);
    if req.body.len() as u64 > cap {
        return error(
            413,
            "request_too_large",
            &format!("Request exceeds the maximum size of {cap} bytes"),
        );
    }
    let Ok(v) = serde_json::from_slice::<Value>(&req.body) else {
        return error(400, "invalid_request_error", "the body is not JSON");
    };
    let Some(requests) = v["requests"].as_array().filter(|r| !r.is_empty()) else {
        return error(400, "invalid_request_error", "requests: a non-empty array is required");
    };
    let max = cfg.max_requests.unwrap_or(DOCUMENTED_REQUESTS);
    if requests.len() as u64 > max {
        return error(
            400,
            "invalid_request_error",
            &format!("requests: at most {max} requests per batch"),
        );
    }
    let mut seen = Vec::new();
    for (i, r) in requests.iter().enumerate() {
        let id = r["custom_id"].as_str().unwrap_or("");
        if !valid_id(id) {
            return error(
                400,
                "invalid_request_error",
                &format!("requests.{i}.custom_id: must match ^[a-zA-Z0-9_-]{{1,64}}$"),
            );
        }
        if seen.contains(&id) {
            return error(
                400,
                "invalid_request_error",
                &format!("requests.{i}.custom_id: duplicate {id}"),
            );
        }
        seen.push(id);
        if !r["params"]["model"].is_string() || !r["params"]["max_tokens"].is_u64() {
            return error(
                400,
                "invalid_request_error",
                &format!("requests.{i}.params: model and max_tokens are required"),
            );
        }
    }
    let mut s = shared.batches.inner.lock();
    s.stats.batches += 1;
    s.stats.requests += requests.len() as u64;
    let id = s.id("msgbatch_");
    let mut items = Vec::new();
    for (n, r) in requests.iter().enumerate() {
        let params = &r["params"];
        let fate = if s.take_expiry(cfg) {
            Fate::Expire
        } else if params["messages"].as_array().is_none_or(|m| m.is_empty()) {
            Fate::Error(
                400,
                "invalid_request_error".into(),
                "messages: at least one message is required".into(),
            )
        } else {
            let text = format!("batch answer to: {}", batch_store::last_user_text(params));
            let input = batch_store::prompt_tokens(params);
            let output = text.split(' ').count() as u64;
            Fate::Answer(json!({"id": format!("msg_b{n}"), "type": "message", "role": "assistant",
                "model": params["model"], "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn", "stop_sequence": null,
                "usage": {"input_tokens": input, "output_tokens": output}}))
        };
        items.push(Item { custom_id: r["custom_id"].as_str().unwrap_or("").to_string(), fate });
    }
    let batch = Batch {
        id,
        created: Instant::now(),
        created_unix: batch_store::unix_now(),
        input_file_id: None,
        endpoint: "/v1/messages".into(),
        model: String::new(),
        tokens: 0,
        items,
        failed: None,
        cancelled_at: None,
    };
    let body = view(&batch, shared, base);
    s.batches.push(batch);
    HttpResponse::json(200, &body)
}

fn view(b: &Batch, shared: &Shared, base: &str) -> Value {
    let processing = shared.cfg.batch.processing_time;
    let now = Instant::now();
    let done = b.done(now, processing);
    let ended = b.ended(now, processing);
    let count = |f: fn(&Fate) -> bool| b.items.iter().take(done).filter(|i| f(&i.fate)).count();
    let canceled = if b.cancelled_at.is_some() { b.items.len() - done } else { 0 };
    let status = match (ended, b.cancelled_at) {
        (true, _) => "ended",
        (false, Some(_)) => "canceling",
        (false, None) => "in_progress",
    };
    json!({
        "id": b.id, "type": "message_batch", "processing_status": status,
        "request_counts": {
            "processing": b.items.len() - done - canceled,
            "succeeded": count(|f| matches!(f, Fate::Answer(_))),
            "errored": count(|f| matches!(f, Fate::Error(..))),
            "canceled": canceled,
            "expired": count(|f| matches!(f, Fate::Expire)),
        },
        "created_at": batch_store::rfc3339(b.created_unix),
        "results_url": ended.then(|| format!("{base}/v1/messages/batches/{}/results", b.id)),
    })
}

/// Every message batch, newest first, in one page (the emulator ignores `limit`, `before_id`
/// and `after_id`, and says `has_more: false`).
fn list(shared: &Shared, base: &str) -> HttpResponse {
    let s = shared.batches.inner.lock();
    let data: Vec<Value> = s
        .batches
        .iter()
        .rev()
        .filter(|b| b.endpoint == "/v1/messages")
        .map(|b| view(b, shared, base))
        .collect();
    let first = data.first().map(|b| b["id"].clone());
    let last = data.last().map(|b| b["id"].clone());
    HttpResponse::json(
        200,
        &json!({"data": data, "has_more": false, "first_id": first, "last_id": last}),
    )
}

fn with_batch(
    shared: &Shared,
    id: &str,
    f: impl FnOnce(&mut Batch) -> HttpResponse,
) -> HttpResponse {
    let mut s = shared.batches.inner.lock();
    match s.batch(id) {
        Some(b) => f(b),
        None => error(404, "not_found_error", &format!("no batch {id}")),
    }
}

fn cancel(shared: &Shared, id: &str, base: &str) -> HttpResponse {
    shared.batches.inner.lock().stats.cancels += 1;
    let processing = shared.cfg.batch.processing_time;
    with_batch(shared, id, |b| {
        if !b.ended(Instant::now(), processing) {
            b.cancelled_at = Some(b.done(Instant::now(), processing));
        }
        HttpResponse::json(200, &view(b, shared, base))
    })
}

fn results(shared: &Shared, id: &str) -> HttpResponse {
    std::thread::sleep(shared.cfg.batch.download_delay);
    let processing = shared.cfg.batch.processing_time;
    shared.batches.inner.lock().stats.downloads += 1;
    with_batch(shared, id, |b| {
        if !b.ended(Instant::now(), processing) {
            return error(
                404,
                "not_found_error",
                "results are not available until processing has ended",
            );
        }
        let done = b.done(Instant::now(), processing);
        let mut out = String::new();
        // Results come in any order: the documented contract. Serve them reversed so a client
        // that assumes the input order fails its tests.
        for (n, item) in b.items.iter().enumerate().rev() {
            let result = match (&item.fate, n < done) {
                (_, false) => json!({"type": "canceled"}),
                (Fate::Answer(m), true) => json!({"type": "succeeded", "message": m}),
                (Fate::Error(_, kind, message), true) => {
                    json!({"type": "errored", "error": {"type": "error", "error": {"type": kind, "message": message}}})
                }
                (Fate::Expire, true) => json!({"type": "expired"}),
            };
            out.push_str(&json!({"custom_id": item.custom_id, "result": result}).to_string());
            out.push('\n');
        }
        HttpResponse {
            status: 200,
            headers: vec![("content-type".into(), "application/binary".into())],
            body: out.into_bytes(),
        }
    })
}
