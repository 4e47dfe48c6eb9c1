//! OpenRouter (docs/providers.md §3): OpenAI-shaped chat with `gen-` ids, `provider`,
//! `native_finish_reason` and `usage.cost`; a credit balance (402s); request limits per
//! interval with `X-RateLimit-*` only on 429s; `GET /api/v1/key`; processing comments in
//! streams.

use std::time::Duration;

use serde_json::{json, Value};

use super::bucket::{Dim, Rejection};
use super::chat::{self, After, Outcome, Reply};
use super::completion::Gen;
use super::features::{self, Dialect, Plan};
use super::format::{fnv1a, unix_now};
use super::http::HttpResponse;
use super::openai;
use super::server::Ctx;

/// The account's credit state (USD).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Credits {
    /// Remaining balance; `None` = unlimited.
    pub(crate) balance: Option<f64>,
    /// Spent so far.
    pub(crate) spent: f64,
}

impl Credits {
    /// Deducts a finished request's cost (may go negative, as on OpenRouter).
    pub(crate) fn deduct(&mut self, cost: f64) {
        self.spent += cost;
        if let Some(b) = self.balance.as_mut() {
            *b -= cost;
        }
    }
}

fn error(status: u16, message: &str, metadata: Option<Value>) -> HttpResponse {
    let mut err = json!({"code": status, "message": message});
    if let Some(m) = metadata {
        err["metadata"] = m;
    }
    HttpResponse::json(status, &json!({"error": err}))
}

fn auth(ctx: &Ctx) -> Result<String, HttpResponse> {
    match openai::bearer(ctx) {
        Ok(k) => Ok(k),
        Err(None) => Err(error(401, "Missing Authentication header", None)),
        Err(Some(_)) => Err(error(401, "User not found.", None)),
    }
}

fn insufficient() -> HttpResponse {
    error(
        402,
        "Insufficient credits. Add more using https://openrouter.ai/settings/credits",
        Some(json!({"error_type": "payment_required"})),
    )
}

fn rejection(model: &str, r: &Rejection) -> HttpResponse {
    let free = model.ends_with(":free");
    let name = match (r.dim, free) {
        (Dim::RequestsDay, true) => {
            "free-models-per-day. Add 10 credits to unlock 1000 free model requests per day"
                .to_string()
        }
        (_, true) => "free-models-per-min. ".to_string(),
        (Dim::RequestsDay, false) => format!("limit_rpd/{model}/emulator"),
        (_, false) => format!("limit_rpm/{model}/emulator. "),
    };
    let reset = (unix_now() + r.wait).as_millis().to_string();
    let remaining = (r.limit - r.used).to_string();
    let headers = json!({"X-RateLimit-Limit": r.limit.to_string(), "X-RateLimit-Remaining": remaining, "X-RateLimit-Reset": reset});
    let body = json!({"error": {"message": format!("Rate limit exceeded: {name}"), "code": 429, "metadata": {"headers": headers, "provider_name": null}}, "user_id": "user_emulator"});
    HttpResponse::json(429, &body)
        .with("X-RateLimit-Limit", r.limit.to_string())
        .with("X-RateLimit-Remaining", remaining)
        .with("X-RateLimit-Reset", reset)
        .with("Retry-After", r.wait.as_secs_f64().ceil().max(1.0).to_string())
}

/// Tool calls, JSON answer and reasoning tokens. OpenRouter's `reasoning` object takes one
/// of `effort` (as OpenAI's, also accepted as top-level `reasoning_effort`) and
/// `max_tokens` (capped at half the output cap); `enabled: true` alone means medium effort.
fn reasoning_plan(p: &openai::Parsed, hash: u64) -> Result<Plan, String> {
    let mut plan = features::plan(Dialect::OpenAI, &p.body, hash)?;
    let r = p.body.get("reasoning");
    let effort = r
        .and_then(|r| r.get("effort"))
        .or_else(|| p.body.get("reasoning_effort"))
        .and_then(Value::as_str);
    let max = r.and_then(|r| r.get("max_tokens")).and_then(Value::as_u64);
    let enabled = r.and_then(|r| r.get("enabled")).and_then(Value::as_bool);
    plan.reasoning =
        match (effort, max, enabled) {
            (Some(_), Some(_), _) => return Err(
                "Only one of \"reasoning.effort\" and \"reasoning.max_tokens\" can be specified"
                    .into(),
            ),
            (Some(e), None, _) => features::effort_tokens(e, p.cap)
                .ok_or_else(|| format!("Invalid reasoning effort: {e}"))?,
            (None, Some(m), _) => m.min(p.cap / 2),
            (None, None, Some(true)) => p.cap / 4,
            _ => 0,
        };
    Ok(plan)
}

/// Handles `POST /api/v1/chat/completions`.
pub(crate) fn handle(ctx: &mut Ctx) -> Outcome {
    let key = match auth(ctx) {
        Ok(k) => k,
        Err(resp) => return Outcome::now(resp),
    };
    let p = match openai::parse(ctx) {
        Ok(p) => p,
        Err(resp) => {
            // Same checks as OpenAI, re-shaped into OpenRouter's error body.
            let parsed: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
            let msg =
                parsed.pointer("/error/message").and_then(Value::as_str).unwrap_or("Bad request");
            return Outcome::now(error(400, msg, Some(json!({"error_type": "invalid_request"}))));
        }
    };
    let known = match &ctx.cfg.models {
        Some(list) => list.contains(&p.model),
        None => p.model.split_once('/').is_some_and(|(v, m)| !v.is_empty() && !m.is_empty()),
    };
    if !known {
        return Outcome::now(error(404, &format!("No endpoints found for {}.", p.model), None));
    }
    let hash = fnv1a(&ctx.req.body);
    let plan = match reasoning_plan(&p, hash) {
        Ok(plan) => plan,
        Err(msg) => {
            let meta = json!({"error_type": "invalid_request"});
            return Outcome::now(error(400, &msg, Some(meta)));
        }
    };
    if ctx.quota {
        return Outcome::now(insufficient());
    }
    let free = p.model.ends_with(":free");
    let (pp, cp) = if free { (0.0, 0.0) } else { (ctx.cfg.prompt_price, ctx.cfg.completion_price) };
    if let Some(balance) = ctx.credits.lock().balance {
        if balance <= 0.0 {
            return Outcome::now(insufficient());
        }
        let prompt_cost = p.prompt as f64 * pp;
        let worst = prompt_cost + (p.n * p.cap) as f64 * cp;
        if worst > balance + 1e-12 {
            let afford = if cp > 0.0 {
                ((balance - prompt_cost) / cp).floor().max(0.0) as u64
            } else {
                p.cap
            };
            let msg = format!("This request requires more credits, or fewer max_tokens. You requested up to {} tokens, but can only afford {afford}. To increase, visit https://openrouter.ai/settings/credits and add more credits", p.cap);
            return Outcome::now(error(402, &msg, Some(json!({"error_type": "payment_required"}))));
        }
    }
    let charge = [(Dim::Requests, 1.0), (Dim::RequestsDay, 1.0)];
    if let Err(r) = ctx.limiter.admit(&key, &p.model, &charge, ctx.now) {
        return Outcome::now(rejection(&p.model, &r));
    }
    let outs = chat::outputs(ctx.cfg.output_len, hash, p.cap, p.n, &plan);
    let id = format!("gen-{}-{}", unix_now().as_secs(), ctx.rng.base62(20));
    let completion = chat::completion_tokens(&outs, &plan);
    let mut g = Gen::new(ctx, hash, id, p.model.clone(), p.prompt, outs, p.cap, true, plan);
    if free {
        g.cost = 0.0;
    }
    let mid_error = p.stream && ctx.mid_stream_error;
    let mut headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("X-Generation-Id".to_string(), g.id.clone()),
    ];
    let reply = if p.stream {
        headers[0].1 = "text/event-stream".into();
        let mut events = g.stream_events(ctx, true, false, mid_error);
        // Keep-alive comments while "queued": split the first-byte wait around them.
        let half = events.first().map(|e| e.0 / 2).unwrap_or_default();
        if let Some(first) = events.first_mut() {
            first.0 = Duration::ZERO;
        }
        let comment = ": OPENROUTER PROCESSING\n\n".to_string();
        events.splice(0..0, [(half, comment.clone()), (half, comment)]);
        Reply::Stream { headers, events }
    } else {
        let delay = chat::total_latency(ctx.cfg, &mut ctx.rng, g.longest());
        let mut resp = HttpResponse::json(200, &g.completion(Some("Emulator")));
        resp.headers = headers;
        Reply::Full { resp, delay }
    };
    let (deltas, cost) = if mid_error {
        (charge.iter().map(|(d, a)| (*d, -a)).collect(), 0.0)
    } else {
        (Vec::new(), g.cost)
    };
    let after = After {
        key,
        model: p.model,
        deltas,
        cost,
        completed: !mid_error,
        body_hash: hash,
        input: p.prompt,
        output: completion,
    };
    Outcome { reply, after: Some(after) }
}

/// Handles `GET /api/v1/key` and `/api/v1/auth/key`.
pub(crate) fn key_info(ctx: &mut Ctx) -> Outcome {
    let key = match auth(ctx) {
        Ok(k) => k,
        Err(resp) => return Outcome::now(resp),
    };
    let credits = *ctx.credits.lock();
    let label: String = if key.chars().count() > 12 {
        let head: String = key.chars().take(11).collect();
        let tail: String =
            key.chars().rev().take(3).collect::<Vec<_>>().into_iter().rev().collect();
        format!("{head}...{tail}")
    } else {
        key
    };
    let limit = credits.balance.map(|b| b + credits.spent);
    let body = json!({"data": {
        "label": label,
        "limit": limit,
        "limit_reset": null,
        "limit_remaining": credits.balance,
        "include_byok_in_limit": false,
        "usage": credits.spent, "usage_daily": credits.spent, "usage_weekly": credits.spent, "usage_monthly": credits.spent,
        "byok_usage": 0.0, "byok_usage_daily": 0.0, "byok_usage_weekly": 0.0, "byok_usage_monthly": 0.0,
        "is_free_tier": false,
        "is_management_key": false, "is_provisioning_key": false,
        "creator_user_id": "user_emulator", "expires_at": null,
        "rate_limit": {"requests": ctx.cfg.rpm.map_or(-1, |r| r as i64), "interval": format!("{}s", ctx.cfg.request_window.as_secs()), "note": "This field is deprecated and safe to ignore."}
    }});
    Outcome::now(HttpResponse::json(200, &body))
}
