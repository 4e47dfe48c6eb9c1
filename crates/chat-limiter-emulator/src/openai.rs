//! OpenAI Chat Completions (docs/providers.md §1): auth, validation, TPM/RPM admission, bodies,
//! `x-ratelimit-*` headers and SSE chunks. The chunk and completion builders are shared
//! with OpenRouter, whose wire format extends OpenAI's.

use serde_json::{json, Value};

use super::bucket::{find, Dim, DimView, Rejection};
use super::chat::{self, After, Outcome, Reply};
use super::completion::Gen;
use super::features::{self, Dialect, Plan};
use super::format::go_duration;
use super::http::HttpResponse;
use super::server::Ctx;
use super::vision;

const RATE_LIMIT_DOCS: &str =
    "Visit https://platform.openai.com/account/rate-limits to learn more.";
const ORG: &str = "org-emulator";

/// `{"error":{message,type,param,code}}`.
pub(crate) fn error(
    status: u16,
    message: &str,
    kind: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> HttpResponse {
    HttpResponse::json(
        status,
        &json!({"error": {"message": message, "type": kind, "param": param, "code": code}}),
    )
}

fn invalid(message: &str, param: Option<&str>, code: Option<&str>) -> HttpResponse {
    error(400, message, "invalid_request_error", param, code)
}

/// Bearer-token check shared by OpenAI and OpenRouter: `Ok(key)` or `Err(Some(key))` for a
/// wrong key and `Err(None)` for a missing one.
pub(crate) fn bearer(ctx: &Ctx) -> Result<String, Option<String>> {
    let key = ctx
        .req
        .header("authorization")
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .unwrap_or("");
    if key.is_empty() {
        return Err(None);
    }
    match &ctx.cfg.api_key {
        Some(want) if want != key => Err(Some(key.to_string())),
        _ => Ok(key.to_string()),
    }
}

pub(crate) fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 3..].iter().collect();
    format!("{head}***{tail}")
}

pub(crate) fn well_formed(model: &str) -> bool {
    let b = model.as_bytes();
    ["gpt-", "chatgpt-", "codex-", "ft:", "text-", "omni-", "davinci-", "babbage-", "computer-use"]
        .iter()
        .any(|p| model.starts_with(p))
        || (b.len() >= 2 && b[0] == b'o' && b[1].is_ascii_digit())
}

pub(crate) fn reasoning(model: &str) -> bool {
    let b = model.as_bytes();
    model.starts_with("gpt-5") || (b.len() >= 2 && b[0] == b'o' && b[1].is_ascii_digit())
}

/// Parsed and validated chat request fields shared with OpenRouter.
pub(crate) struct Parsed {
    pub(crate) body: Value,
    pub(crate) model: String,
    pub(crate) prompt: u64,
    pub(crate) cap: u64,
    pub(crate) n: u64,
    pub(crate) stream: bool,
    pub(crate) include_usage: bool,
}

/// Common body checks (JSON, model, messages, caps, n, stream options).
pub(crate) fn parse(ctx: &Ctx) -> Result<Parsed, HttpResponse> {
    let body: Value = serde_json::from_slice(&ctx.req.body).map_err(|_| {
        invalid("We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)", None, None)
    })?;
    let Some(model) = body.get("model").and_then(Value::as_str).map(str::to_string) else {
        return Err(invalid("you must provide a model parameter", None, None));
    };
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return Err(invalid(
            "Missing required parameter: 'messages'.",
            Some("messages"),
            Some("missing_required_parameter"),
        ));
    };
    if messages.is_empty() {
        return Err(invalid("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", Some("messages"), Some("empty_array")));
    }
    let media = vision::parts_cost(vision::Dialect::OpenAI, messages)
        .map_err(|e| invalid(&format!("Invalid '{e}'"), Some("messages"), Some("invalid_value")))?;
    let chars = chat::messages_chars(messages) + features::extra_chars(&body);
    let prompt = chat::prompt_tokens(chars) + media;
    let mut caps = Vec::new();
    for field in ["max_completion_tokens", "max_tokens"] {
        let v = chat::opt_u64(&body, field).map_err(|()| {
            invalid(&format!("Invalid type for '{field}': expected an integer, but got a different type instead."), Some(field), Some("invalid_type"))
        })?;
        caps.push(v);
    }
    let cap = caps[0].or(caps[1]).unwrap_or(ctx.cfg.default_max_tokens);
    let n = match chat::opt_u64(&body, "n") {
        Ok(None) => 1,
        Ok(Some(n)) if (1..=128).contains(&n) => n,
        _ => {
            return Err(invalid(
                "Invalid 'n': expected an integer between 1 and 128.",
                Some("n"),
                Some("invalid_value"),
            ))
        }
    };
    if p_too_large(cap, n) {
        let msg = format!("max_tokens is too large: {cap}. This model supports at most {} completion tokens, whereas you provided {cap}.", chat::MAX_OUTPUT_TOKENS);
        return Err(invalid(&msg, Some("max_tokens"), Some("invalid_value")));
    }
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    if !stream && body.get("stream_options").is_some_and(|v| !v.is_null()) {
        return Err(invalid(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            Some("stream_options"),
            None,
        ));
    }
    let include_usage =
        body.pointer("/stream_options/include_usage").and_then(Value::as_bool).unwrap_or(false);
    Ok(Parsed { body, model, prompt, cap, n, stream, include_usage })
}

fn p_too_large(cap: u64, n: u64) -> bool {
    cap > chat::MAX_OUTPUT_TOKENS || cap.saturating_mul(n) > chat::MAX_OUTPUT_TOKENS
}

/// The chosen bucket of a family: the one with the fewest units left (a daily bucket shows
/// once it binds, as the free-tier captures in docs/providers.md §1.6 do).
fn pick(views: &[DimView], minute: Dim, day: Dim) -> Option<DimView> {
    match (find(views, minute), find(views, day)) {
        (Some(m), Some(d)) => Some(if d.remaining < m.remaining { d } else { m }),
        (m, d) => m.or(d),
    }
}

fn ratelimit_headers(views: &[DimView]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, view) in [
        ("requests", pick(views, Dim::Requests, Dim::RequestsDay)),
        ("tokens", pick(views, Dim::Tokens, Dim::TokensDay)),
    ] {
        if let Some(v) = view {
            out.push((format!("x-ratelimit-limit-{name}"), v.limit.to_string()));
            out.push((format!("x-ratelimit-remaining-{name}"), v.remaining.to_string()));
            out.push((format!("x-ratelimit-reset-{name}"), go_duration(v.to_full)));
        }
    }
    out
}

pub(crate) fn rejection_body(model: &str, r: &Rejection) -> HttpResponse {
    let (kind, what) = match r.dim {
        Dim::Requests => ("requests", "requests per min (RPM)"),
        Dim::RequestsDay => ("requests", "requests per day (RPD)"),
        Dim::TokensDay => ("tokens", "tokens per day (TPD)"),
        _ => ("tokens", "tokens per min (TPM)"),
    };
    if r.too_large {
        let msg = format!("Request too large for {model} in organization {ORG} on {what}: Limit {}, Requested {}. The input or output tokens must be reduced in order to run successfully. {RATE_LIMIT_DOCS}", r.limit, r.requested);
        return error(429, &msg, kind, None, Some("rate_limit_exceeded"));
    }
    let msg = format!("Rate limit reached for {model} in organization {ORG} on {what}: Limit {}, Used {}, Requested {}. Please try again in {}. {RATE_LIMIT_DOCS}", r.limit, r.used, r.requested, go_duration(r.wait));
    error(429, &msg, kind, None, Some("rate_limit_exceeded"))
        .with("retry-after", r.wait.as_secs_f64().ceil().max(1.0).to_string())
}

/// Tool calls, JSON answer and reasoning tokens of a request. `reasoning_effort` is taken
/// by reasoning models only.
fn reasoning_plan(p: &Parsed, hash: u64) -> Result<Plan, String> {
    let mut plan = features::plan(Dialect::OpenAI, &p.body, hash)?;
    if let Some(e) = p.body.get("reasoning_effort").filter(|v| !v.is_null()) {
        if !reasoning(&p.model) {
            return Err(
                "Unsupported parameter: 'reasoning_effort' is not supported with this model."
                    .into(),
            );
        }
        plan.reasoning = e.as_str().and_then(|e| features::effort_tokens(e, p.cap)).ok_or_else(|| {
            format!("Invalid value for 'reasoning_effort': {e}. Supported values are: 'none', 'minimal', 'low', 'medium', and 'high'.")
        })?;
    }
    Ok(plan)
}

/// Handles `POST /v1/chat/completions`.
pub(crate) fn handle(ctx: &mut Ctx) -> Outcome {
    let key = match bearer(ctx) {
        Ok(k) => k,
        Err(None) => return Outcome::now(error(401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username. You can obtain an API key from https://platform.openai.com/account/api-keys.", "invalid_request_error", None, None)),
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
    if reasoning(&p.model) && p.body.get("max_tokens").is_some_and(|v| !v.is_null()) {
        return Outcome::now(invalid("Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", Some("max_tokens"), Some("unsupported_parameter")));
    }
    // Checked before admission: a rejected request consumes nothing.
    let hash = super::format::fnv1a(&ctx.req.body);
    let plan = match reasoning_plan(&p, hash) {
        Ok(plan) => plan,
        Err(msg) => return Outcome::now(invalid(&msg, None, Some("invalid_value"))),
    };
    let now = ctx.now;
    if ctx.quota {
        let views = ctx.limiter.views(&key, &p.model, now);
        let resp = error(429, "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.", "insufficient_quota", None, Some("insufficient_quota"));
        return Outcome::now(with_headers(ctx, resp, &views, true));
    }
    let estimate = (p.prompt + p.n * p.cap) as f64;
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
                let charge = [(Dim::Requests, 1.0), (Dim::RequestsDay, 1.0)];
                ctx.limiter.adjust(&key, &p.model, &charge, now);
            }
            let views = ctx.limiter.views(&key, &p.model, now);
            return Outcome::now(with_headers(ctx, rejection_body(&p.model, &r), &views, true));
        }
    };
    let outs = chat::outputs(ctx.cfg.output_len, hash, p.cap, p.n, &plan);
    let completion = chat::completion_tokens(&outs, &plan);
    let mut deltas = Vec::new();
    if ctx.cfg.refund_to_actual {
        let actual = (p.prompt + completion) as f64;
        deltas = vec![(Dim::Tokens, actual - estimate), (Dim::TokensDay, actual - estimate)];
    }
    let mid_error = p.stream && ctx.mid_stream_error;
    if mid_error {
        deltas = charge.iter().map(|(d, a)| (*d, -a)).collect();
    }
    let id = format!("chatcmpl-{}", ctx.rng.base62(29));
    let g = Gen::new(ctx, hash, id, p.model.clone(), p.prompt, outs, p.cap, false, plan);
    let mut headers =
        with_headers(ctx, HttpResponse::json(200, &Value::Null), &views, false).headers;
    let reply = if p.stream {
        headers[0].1 = "text/event-stream; charset=utf-8".into();
        let events = g.stream_events(ctx, p.include_usage, p.include_usage, mid_error);
        Reply::Stream { headers, events }
    } else {
        let delay = chat::total_latency(ctx.cfg, &mut ctx.rng, g.longest());
        let mut resp = HttpResponse::json(200, &g.completion(None));
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
        output: completion,
    };
    Outcome { reply, after: Some(after) }
}

pub(crate) fn with_headers(
    ctx: &mut Ctx,
    mut resp: HttpResponse,
    views: &[DimView],
    is_error: bool,
) -> HttpResponse {
    if !(is_error && resp.status == 429 && ctx.cfg.omit_headers_on_429) {
        resp.headers.extend(ratelimit_headers(views));
    }
    resp.headers.push(("x-request-id".into(), format!("req_{}", ctx.rng.hex(32))));
    resp.headers.push(("openai-version".into(), "2020-10-01".into()));
    resp.headers.push(("openai-organization".into(), ORG.into()));
    resp
}
