//! Anthropic Messages (docs/providers.md §2): `x-api-key` + `anthropic-version`, validation,
//! RPM/ITPM/OTPM admission with OTPM settlement, `anthropic-ratelimit-*` headers, bodies
//! and the named-event SSE stream.

use std::time::Duration;

use serde_json::{json, Value};

use super::anthropic_content;
use super::bucket::{find, Dim, DimView, Rejection};
use super::chat::{self, After, Outcome, Reply};
use super::config::OtpmMode;
use super::features;
use super::format::{anthropic_reset, fnv1a, round_thousand, thousands, unix_now};
use super::http::HttpResponse;
use super::server::Ctx;
use super::vision;

const ORG_ID: &str = "6f1e2c1a-0b1d-4c55-9e8a-emulator0001";

fn request_id(ctx: &mut Ctx) -> String {
    format!("req_011C{}", ctx.rng.base62(20))
}

fn error(
    ctx: &mut Ctx,
    status: u16,
    kind: &str,
    message: &str,
    details: Option<Value>,
) -> HttpResponse {
    let id = request_id(ctx);
    let mut err = json!({"type": kind, "message": message});
    if let Some(d) = details {
        err["details"] = d;
    }
    HttpResponse::json(status, &json!({"type": "error", "error": err, "request_id": id}))
        .with("request-id", id)
}

fn bad(ctx: &mut Ctx, message: &str) -> HttpResponse {
    error(ctx, 400, "invalid_request_error", message, None)
}

fn invalid(ctx: &mut Ctx, message: &str) -> Outcome {
    Outcome::now(error(ctx, 400, "invalid_request_error", message, None))
}

/// Headers of the ratelimit family. `tokens-*` is read as the combined input+output
/// bucket: limit = ITPM + OTPM, remaining = the sum of both remainders, reset = the time
/// to refill the combined deficit at the combined rate.
fn ratelimit_headers(views: &[DimView]) -> Vec<(String, String)> {
    let now = unix_now();
    let mut out = Vec::new();
    let mut push = |name: &str, limit: u64, remaining: u64, wait: Duration| {
        out.push((format!("anthropic-ratelimit-{name}-limit"), limit.to_string()));
        out.push((format!("anthropic-ratelimit-{name}-remaining"), remaining.to_string()));
        out.push((format!("anthropic-ratelimit-{name}-reset"), anthropic_reset(now, wait)));
    };
    let requests = match (find(views, Dim::Requests), find(views, Dim::RequestsDay)) {
        (Some(m), Some(d)) => Some(if d.remaining < m.remaining { d } else { m }),
        (m, d) => m.or(d),
    };
    if let Some(r) = requests {
        push("requests", r.limit, r.remaining, r.to_full);
    }
    let (input, output) = (find(views, Dim::InputTokens), find(views, Dim::OutputTokens));
    let parts: Vec<DimView> = [input, output].into_iter().flatten().collect();
    if !parts.is_empty() {
        let limit: u64 = parts.iter().map(|v| v.limit).sum();
        let remaining: u64 = parts.iter().map(|v| v.remaining).sum();
        let weighted: f64 = parts.iter().map(|v| v.to_full.as_secs_f64() * v.limit as f64).sum();
        push(
            "tokens",
            limit,
            round_thousand(remaining),
            Duration::from_secs_f64(weighted / limit as f64),
        );
    }
    for (name, v) in [("input-tokens", input), ("output-tokens", output)] {
        if let Some(v) = v {
            push(name, v.limit, round_thousand(v.remaining), v.to_full);
        }
    }
    out
}

fn rejection(ctx: &mut Ctx, r: &Rejection) -> HttpResponse {
    let what = match r.dim {
        Dim::InputTokens => "input tokens per minute",
        Dim::OutputTokens => "output tokens per minute",
        Dim::RequestsDay => "requests per day",
        _ => "requests per minute",
    };
    let msg = format!("This request would exceed the rate limit for your organization ({ORG_ID}) of {} {what}. For details, refer to: https://docs.anthropic.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later. You may also contact sales at https://www.anthropic.com/contact-sales to discuss your options for a rate limit increase.", thousands(r.limit));
    error(ctx, 429, "rate_limit_error", &msg, None)
        .with("retry-after", r.wait.as_secs_f64().ceil().max(1.0).to_string())
        .with("x-should-retry", "true")
}

/// Validated body fields.
struct Parsed {
    body: Value,
    model: String,
    max_tokens: u64,
    prompt: u64,
    stream: bool,
}

fn parse(ctx: &mut Ctx) -> Result<Parsed, HttpResponse> {
    let Ok(body) = serde_json::from_slice::<Value>(&ctx.req.body) else {
        return Err(bad(ctx, "There was an error parsing the body of your request: invalid JSON"));
    };
    let Some(model) = body.get("model").and_then(Value::as_str).map(str::to_string) else {
        return Err(bad(ctx, "model: Field required"));
    };
    let max_tokens = match chat::opt_u64(&body, "max_tokens") {
        Ok(Some(m)) => m,
        Ok(None) => return Err(bad(ctx, "max_tokens: Field required")),
        Err(()) => return Err(bad(ctx, "max_tokens: Input should be a valid integer")),
    };
    if max_tokens > chat::MAX_OUTPUT_TOKENS {
        let msg = format!("max_tokens: {max_tokens} > {}, which is the maximum allowed number of output tokens for {model}", chat::MAX_OUTPUT_TOKENS);
        return Err(bad(ctx, &msg));
    }
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return Err(bad(ctx, "messages: Field required"));
    };
    for (i, m) in messages.iter().enumerate() {
        match m.get("role").and_then(Value::as_str) {
            Some("user" | "assistant") => {}
            Some("system") => return Err(bad(ctx, "messages: Unexpected role \"system\". The Messages API accepts a top-level `system` parameter, not \"system\" as an input message role.")),
            _ => return Err(bad(ctx, &format!("messages.{i}.role: Input should be 'user' or 'assistant'"))),
        }
    }
    // Consecutive same-role turns are merged by the real API; merging changes no count here.
    let chars = chat::messages_chars(messages)
        + body.get("system").map(chat::content_chars).unwrap_or(0)
        + features::extra_chars(&body);
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let media =
        vision::parts_cost(vision::Dialect::Anthropic, messages).map_err(|e| bad(ctx, &e))?;
    Ok(Parsed { body, model, max_tokens, prompt: chat::prompt_tokens(chars) + media, stream })
}

/// Handles `POST /v1/messages`.
pub(crate) fn handle(ctx: &mut Ctx) -> Outcome {
    let key = ctx
        .req
        .header("x-api-key")
        .or_else(|| ctx.req.header("authorization").and_then(|v| v.strip_prefix("Bearer ")))
        .unwrap_or("")
        .trim()
        .to_string();
    if key.is_empty() {
        return Outcome::now(error(
            ctx,
            401,
            "authentication_error",
            "x-api-key header is required",
            None,
        ));
    }
    if ctx.cfg.api_key.as_ref().is_some_and(|want| *want != key) {
        return Outcome::now(error(ctx, 401, "authentication_error", "invalid x-api-key", None));
    }
    if ctx.req.header("anthropic-version").is_none_or(str::is_empty) {
        return invalid(ctx, "anthropic-version: header is required");
    }
    let p = match parse(ctx) {
        Ok(p) => p,
        Err(resp) => return Outcome::now(resp),
    };
    let known = match &ctx.cfg.models {
        Some(list) => list.contains(&p.model),
        None => p.model.starts_with("claude-"),
    };
    if !known {
        let msg = format!("model: {}", p.model);
        return Outcome::now(error(ctx, 404, "not_found_error", &msg, None));
    }
    // Checked before admission: a rejected request consumes nothing.
    let hash = fnv1a(&ctx.req.body);
    let plan = match anthropic_content::plan(&p.body, p.max_tokens, hash) {
        Ok(plan) => plan,
        Err(msg) => return invalid(ctx, &msg),
    };
    let now = ctx.now;
    if ctx.quota {
        let views = ctx.limiter.views(&key, &p.model, now);
        let details = json!({"error_code": "enforced_spend_limit_reached"});
        let mut resp = error(ctx, 429, "rate_limit_error", "Your organization has reached its monthly spend limit. Access resumes at 00:00 UTC on the first day of next month.", Some(details));
        resp.headers.extend(ratelimit_headers(&views));
        return Outcome::now(resp);
    }
    let reserve = match ctx.cfg.otpm_mode {
        OtpmMode::ReserveMaxTokens => p.max_tokens as f64,
        OtpmMode::ActualOutput => 0.0,
    };
    let charge = [
        (Dim::Requests, 1.0),
        (Dim::RequestsDay, 1.0),
        (Dim::InputTokens, p.prompt as f64),
        (Dim::OutputTokens, reserve),
    ];
    let views = match ctx.limiter.admit(&key, &p.model, &charge, now) {
        Ok(v) => v,
        Err(r) => {
            let views = ctx.limiter.views(&key, &p.model, now);
            let mut resp = rejection(ctx, &r);
            resp.headers.extend(ratelimit_headers(&views));
            return Outcome::now(resp);
        }
    };
    let visible = chat::outputs(ctx.cfg.output_len, hash, p.max_tokens, 1, &plan)[0];
    // Thinking is output: it counts toward `max_tokens` and `output_tokens`.
    let out = visible + plan.reasoning;
    let mid_error = p.stream && ctx.mid_stream_error;
    let deltas = if mid_error {
        charge.iter().map(|(d, a)| (*d, -a)).collect()
    } else {
        vec![(Dim::OutputTokens, out as f64 - reserve)]
    };
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    headers.extend(ratelimit_headers(&views));
    headers.push(("request-id".into(), request_id(ctx)));
    headers.push(("anthropic-organization-id".into(), ORG_ID.into()));
    let blocks = anthropic_content::blocks(&plan, hash, visible);
    let stop = if !plan.calls.is_empty() {
        "tool_use"
    } else if visible >= p.max_tokens.saturating_sub(plan.reasoning) {
        "max_tokens"
    } else {
        "end_turn"
    };
    let id = format!("msg_01{}", ctx.rng.base62(22));
    let usage = |output: u64| json!({"input_tokens": p.prompt, "output_tokens": output, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0});
    let reply = if p.stream {
        headers[0].1 = "text/event-stream; charset=utf-8".into();
        let first = chat::first_byte(ctx.cfg, &mut ctx.rng);
        let ev = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
        let message = json!({"id": id, "type": "message", "role": "assistant", "model": p.model, "content": [], "stop_reason": null, "stop_sequence": null, "usage": usage(1)});
        let mut events = vec![(
            first,
            ev("message_start", json!({"type": "message_start", "message": message})),
        )];
        let body = anthropic_content::events(&blocks, ctx.cfg.per_token_latency, mid_error);
        for (k, (delay, data)) in body.into_iter().enumerate() {
            let name = data["type"].as_str().unwrap_or("content_block_delta").to_string();
            events.push((delay, ev(&name, data)));
            if k == 0 {
                events.push((Duration::ZERO, ev("ping", json!({"type": "ping"}))));
            }
        }
        if mid_error {
            let err = json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}});
            events.push((ctx.cfg.per_token_latency, ev("error", err)));
        } else {
            let delta = json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": out}});
            events.push((Duration::ZERO, ev("message_delta", delta)));
            events.push((Duration::ZERO, ev("message_stop", json!({"type": "message_stop"}))));
        }
        Reply::Stream { headers, events }
    } else {
        let content = anthropic_content::content(&blocks);
        let body = json!({"id": id, "type": "message", "role": "assistant", "model": p.model, "content": content, "stop_reason": stop, "stop_sequence": null, "usage": usage(out)});
        let delay = chat::total_latency(ctx.cfg, &mut ctx.rng, out);
        let mut resp = HttpResponse::json(200, &body);
        resp.headers = headers;
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
        output: out,
    };
    Outcome { reply, after: Some(after) }
}
