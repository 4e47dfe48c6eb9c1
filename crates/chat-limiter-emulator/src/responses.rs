//! OpenAI's Responses API, `POST /v1/responses` (docs/providers.md §11): the same key, model
//! and rate-limit rules as Chat Completions (one RPM/TPM bucket per key and model, the same
//! `x-ratelimit-*` headers and 429 bodies), a Responses-shaped body in and out, and the typed
//! SSE events when streaming. The answer's objects and events are built in
//! `responses_body.rs`.
//!
//! Prompt tokens: `max(1, ceil(C / 4))` over the characters of `instructions` and of every
//! input item (a string input, message contents as a string or the `text` of their parts,
//! function-call arguments and outputs), plus the OpenAI image rule for `input_image` parts
//! and 3000 per `input_file`. Reasoning models (`o*`, `gpt-5*`) spend half their output
//! tokens reasoning and report them in `output_tokens_details.reasoning_tokens`.

use serde_json::{json, Value};

use super::bucket::Dim;
use super::chat::{self, After, Outcome, Reply};
use super::http::HttpResponse;
use super::openai::{bearer, error, mask, reasoning, rejection_body, well_formed, with_headers};
use super::responses_body::Answer;
use super::server::Ctx;
use super::vision;

/// The smallest `max_output_tokens` the API takes.
const MIN_OUTPUT_TOKENS: u64 = 16;

fn invalid(message: &str, param: Option<&str>, code: Option<&str>) -> HttpResponse {
    error(400, message, "invalid_request_error", param, code)
}

/// A checked request.
struct Parsed {
    model: String,
    prompt: u64,
    cap: u64,
    stream: bool,
    summary: bool,
    body: Value,
}

fn parse(ctx: &Ctx) -> Result<Parsed, HttpResponse> {
    let body: Value = serde_json::from_slice(&ctx.req.body).map_err(|_| {
        invalid("We could not parse the JSON body of your request. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.", None, None)
    })?;
    let Some(model) = body.get("model").and_then(Value::as_str).map(str::to_string) else {
        return Err(invalid(
            "Missing required parameter: 'model'.",
            Some("model"),
            Some("missing_required_parameter"),
        ));
    };
    // Chat Completions fields the Responses API does not take.
    for field in ["messages", "max_tokens", "max_completion_tokens", "n", "stop"] {
        if body.get(field).is_some() {
            return Err(invalid(
                &format!("Unsupported parameter: '{field}'."),
                Some(field),
                Some("unsupported_parameter"),
            ));
        }
    }
    let input = body.get("input");
    let items = match input {
        Some(Value::String(s)) if !s.is_empty() => Vec::new(),
        Some(Value::Array(items)) if !items.is_empty() => items.clone(),
        _ => {
            return Err(invalid(
                "Missing required parameter: 'input'.",
                Some("input"),
                Some("missing_required_parameter"),
            ))
        }
    };
    let mut media_messages = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if item.get("type").and_then(Value::as_str).unwrap_or("message") == "message" {
            let content = item.get("content").ok_or_else(|| {
                invalid(
                    &format!("Missing required parameter: 'input[{i}].content'."),
                    Some("input"),
                    Some("missing_required_parameter"),
                )
            })?;
            media_messages.push(json!({"content": chat_parts(content)}));
        }
    }
    let chars = text_chars(&body);
    let media = vision::parts_cost(vision::Dialect::OpenAI, &media_messages).map_err(|e| {
        invalid(&format!("Invalid 'input': {e}"), Some("input"), Some("invalid_value"))
    })?;
    let cap = match chat::opt_u64(&body, "max_output_tokens") {
        Err(()) => return Err(invalid("Invalid type for 'max_output_tokens': expected an integer, but got a different type instead.", Some("max_output_tokens"), Some("invalid_type"))),
        Ok(Some(n)) if n < MIN_OUTPUT_TOKENS => {
            let msg = format!("Invalid 'max_output_tokens': integer below minimum value. Expected a value >= {MIN_OUTPUT_TOKENS}, but got {n} instead.");
            return Err(invalid(&msg, Some("max_output_tokens"), Some("integer_below_min_value")));
        }
        Ok(Some(n)) if n > chat::MAX_OUTPUT_TOKENS => {
            let msg = format!("max_output_tokens is too large: {n}. This model supports at most {} output tokens.", chat::MAX_OUTPUT_TOKENS);
            return Err(invalid(&msg, Some("max_output_tokens"), Some("invalid_value")));
        }
        Ok(n) => n.unwrap_or(ctx.cfg.default_max_tokens),
    };
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let summary = body.pointer("/reasoning/summary").is_some_and(|s| s.is_string());
    let prompt = chat::prompt_tokens(chars) + media;
    Ok(Parsed { model, prompt, cap, stream, summary, body })
}

/// The characters of `instructions` and of every input item (see the module docs).
fn text_chars(body: &Value) -> usize {
    let mut chars = str_len(body.get("instructions"));
    match body.get("input") {
        Some(Value::String(s)) => chars += s.chars().count(),
        Some(Value::Array(items)) => {
            for item in items {
                chars += match item.get("type").and_then(Value::as_str).unwrap_or("message") {
                    "message" => item.get("content").map_or(0, chat::content_chars),
                    "function_call" => str_len(item.get("arguments")),
                    "function_call_output" => str_len(item.get("output")),
                    _ => 0,
                };
            }
        }
        _ => {}
    }
    chars
}

/// The prompt tokens of a Responses body, text only (the batch runner's count).
pub(crate) fn batch_prompt_tokens(body: &Value) -> u64 {
    chat::prompt_tokens(text_chars(body))
}

/// A batch line's answer (`Err`: the 400 message), shaped like the batch runner's chat
/// answers: "batch answer to: " and the last user text.
pub(crate) fn batch_answer(n: u64, body: &Value) -> Result<Value, String> {
    let last_user = match body.get("input") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .rev()
            .find(|i| i.get("role").and_then(Value::as_str) == Some("user"))
            .and_then(|i| i.get("content"))
            .map(|c| match c {
                Value::String(s) => s.clone(),
                Value::Array(parts) => parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join(" "),
                _ => String::new(),
            })
            .unwrap_or_default(),
        _ => return Err("Missing required parameter: 'input'.".into()),
    };
    let text = format!("batch answer to: {last_user}");
    let prompt = batch_prompt_tokens(body);
    let output = text.split(' ').count() as u64;
    Ok(json!({"id": format!("resp_b{n}"), "object": "response", "status": "completed",
        "model": body["model"], "error": null, "incomplete_details": null,
        "output": [{"id": format!("msg_b{n}"), "type": "message", "status": "completed",
            "role": "assistant", "content": [{"type": "output_text", "text": text, "annotations": []}]}],
        "usage": {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + output}}))
}

fn str_len(v: Option<&Value>) -> usize {
    v.and_then(Value::as_str).map_or(0, |s| s.chars().count())
}

/// Responses parts in the Chat Completions shape the image rule reads.
fn chat_parts(content: &Value) -> Value {
    let Some(parts) = content.as_array() else { return json!(null) };
    let mapped: Vec<Value> = parts
        .iter()
        .filter_map(|p| match p.get("type").and_then(Value::as_str) {
            Some("input_image") => Some(json!({"type": "image_url", "image_url": {
                "url": p.get("image_url").and_then(Value::as_str).unwrap_or(""),
                "detail": p.get("detail")}})),
            Some("input_file") => Some(json!({"type": "file"})),
            _ => None,
        })
        .collect();
    Value::Array(mapped)
}

/// Handles `POST /v1/responses`.
pub(crate) fn handle(ctx: &mut Ctx) -> Outcome {
    let key = match bearer(ctx) {
        Ok(k) => k,
        Err(None) => return Outcome::now(error(401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", "invalid_request_error", None, None)),
        Err(Some(k)) => return Outcome::now(error(401, &format!("Incorrect API key provided: {}. You can find your API key at https://platform.openai.com/account/api-keys.", mask(&k)), "invalid_request_error", None, Some("invalid_api_key"))),
    };
    let p = match parse(ctx) {
        Ok(p) => p,
        Err(resp) => return Outcome::now(resp),
    };
    let known = match &ctx.cfg.models {
        Some(list) => list.contains(&p.model),
        None => well_formed(&p.model),
    };
    if !known {
        let msg =
            format!("The model `{}` does not exist or you do not have access to it.", p.model);
        return Outcome::now(error(
            404,
            &msg,
            "invalid_request_error",
            None,
            Some("model_not_found"),
        ));
    }
    let now = ctx.now;
    if ctx.quota {
        let views = ctx.limiter.views(&key, &p.model, now);
        let resp = error(
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            None,
            Some("insufficient_quota"),
        );
        return Outcome::now(with_headers(ctx, resp, &views, true));
    }
    let estimate = (p.prompt + p.cap) as f64;
    let charge = [
        (Dim::Requests, 1.0),
        (Dim::RequestsDay, 1.0),
        (Dim::Tokens, estimate),
        (Dim::TokensDay, estimate),
    ];
    let views = match ctx.limiter.admit(&key, &p.model, &charge, now) {
        Ok(v) => v,
        Err(r) => {
            if ctx.cfg.rejected_count_against_rpm {
                ctx.limiter.adjust(
                    &key,
                    &p.model,
                    &[(Dim::Requests, 1.0), (Dim::RequestsDay, 1.0)],
                    now,
                );
            }
            let views = ctx.limiter.views(&key, &p.model, now);
            return Outcome::now(with_headers(ctx, rejection_body(&p.model, &r), &views, true));
        }
    };
    let hash = super::format::fnv1a(&ctx.req.body);
    let output = chat::output_len(ctx.cfg.output_len, hash, p.cap);
    let thinking = if reasoning(&p.model) { output / 2 } else { 0 };
    let mut deltas = Vec::new();
    if ctx.cfg.refund_to_actual {
        let actual = (p.prompt + output) as f64;
        deltas = vec![(Dim::Tokens, actual - estimate), (Dim::TokensDay, actual - estimate)];
    }
    let mid_error = p.stream && ctx.mid_stream_error;
    if mid_error {
        deltas = charge.iter().map(|(d, a)| (*d, -a)).collect();
    }
    let answer =
        Answer::new(ctx, hash, &p.model, &p.body, p.prompt, output, thinking, p.cap, p.summary);
    let mut headers =
        with_headers(ctx, HttpResponse::json(200, &Value::Null), &views, false).headers;
    let reply = if p.stream {
        headers[0].1 = "text/event-stream; charset=utf-8".into();
        Reply::Stream { headers, events: answer.events(ctx, mid_error) }
    } else {
        let delay = chat::total_latency(ctx.cfg, &mut ctx.rng, output);
        let mut resp = HttpResponse::json(200, &answer.object(true));
        resp.headers = headers;
        resp.headers.push(("openai-processing-ms".into(), delay.as_millis().to_string()));
        Reply::Full { resp, delay }
    };
    let after = After {
        key,
        model: p.model,
        deltas,
        cost: 0.0,
        completed: !mid_error,
        body_hash: hash,
        input: p.prompt,
        output,
    };
    Outcome { reply, after: Some(after) }
}
