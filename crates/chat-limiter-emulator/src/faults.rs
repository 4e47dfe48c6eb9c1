//! Seeded fault injection: which fault (if any) a request gets, and the provider-specific
//! bodies of injected errors.
//!
//! Faults are drawn before admission, and the ones that replace the answer (5xx, 529, drop,
//! stall, malformed body) never touch the buckets. `GarbageHeaders` is a normal, charged
//! success with corrupted headers; `MidStreamError` is admitted and then fully refunded.

use serde_json::json;

use super::config::{EmulatedProvider, EmulatorConfig, FaultKind};
use super::format::Rng;
use super::http::HttpResponse;

/// The draw for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pick {
    /// Serve normally.
    None,
    /// Inject this fault.
    Fault(FaultKind),
    /// Answer with the provider's terminal quota error.
    Quota,
}

/// One uniform draw laid over the configured probabilities in [`FaultKind::ALL`] order,
/// then the quota rate. A mid-stream error drawn for a non-streaming request is ignored.
pub(crate) fn pick(cfg: &EmulatorConfig, rng: &mut Rng, is_stream: bool) -> Pick {
    if cfg.faults.is_empty() && cfg.quota_error_rate == 0.0 {
        return Pick::None;
    }
    let u = rng.next_f64();
    let mut edge = 0.0;
    for kind in FaultKind::ALL {
        edge += cfg.fault_probability(kind);
        if u < edge {
            if kind == FaultKind::MidStreamError && !is_stream {
                return Pick::None;
            }
            return Pick::Fault(kind);
        }
    }
    if u < edge + cfg.quota_error_rate {
        return Pick::Quota;
    }
    Pick::None
}

fn anthropic_error(status: u16, kind: &str, message: &str, rng: &mut Rng) -> HttpResponse {
    let id = format!("req_011C{}", rng.base62(20));
    HttpResponse::json(
        status,
        &json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": id}),
    )
    .with("request-id", id)
}

fn router_error(status: u16, message: &str, metadata: serde_json::Value) -> HttpResponse {
    HttpResponse::json(
        status,
        &json!({"error": {"code": status, "message": message, "metadata": metadata}}),
    )
}

fn openai_error(
    status: u16,
    message: &str,
    kind: &str,
    code: Option<&str>,
    rng: &mut Rng,
) -> HttpResponse {
    HttpResponse::json(
        status,
        &json!({"error": {"message": message, "type": kind, "param": null, "code": code}}),
    )
    .with("x-request-id", format!("req_{}", rng.hex(32)))
}

/// The response for a status fault (500, 502, 503, 529).
pub(crate) fn status_response(
    provider: EmulatedProvider,
    kind: FaultKind,
    rng: &mut Rng,
) -> HttpResponse {
    use EmulatedProvider as P;
    let kind = match (provider, kind) {
        (P::Anthropic, k) => k,
        (_, FaultKind::Status529) => FaultKind::Status503,
        (_, k) => k,
    };
    let resp = match (provider, kind) {
        (P::OpenAI, FaultKind::Status500) => openai_error(500, "The server had an error while processing your request. Sorry about that!", "server_error", None, rng),
        (P::OpenAI, FaultKind::Status502) => HttpResponse {
            status: 502,
            headers: vec![("content-type".into(), "text/html".into())],
            body: b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n".to_vec(),
        },
        (P::OpenAI, _) => openai_error(503, "The engine is currently overloaded, please try again later", "service_unavailable_error", Some("server_is_overloaded"), rng),
        (P::Anthropic, FaultKind::Status500) => anthropic_error(500, "api_error", "Internal server error", rng),
        (P::Anthropic, FaultKind::Status502) => anthropic_error(502, "api_error", "Bad gateway", rng),
        (P::Anthropic, FaultKind::Status529) => anthropic_error(529, "overloaded_error", "Overloaded", rng),
        (P::Anthropic, _) => anthropic_error(503, "api_error", "Service unavailable", rng),
        (_, FaultKind::Status500) => router_error(500, "Internal Server Error", json!({"error_type": "server"})),
        (_, FaultKind::Status502) => router_error(502, "Provider returned error", json!({"provider_name": "Emulator", "raw": "upstream connect error or disconnect/reset before headers", "error_type": "provider_unavailable"})),
        (_, _) => router_error(503, "No available model provider that meets your routing requirements", json!({"error_type": "provider_overloaded"})),
    };
    if resp.status == 503 {
        resp.with("retry-after", "1")
    } else {
        resp
    }
}

/// The provider-specific error faults: billing, upstream, and OpenRouter's error in a 200.
pub(crate) fn provider_error(
    provider: EmulatedProvider,
    kind: FaultKind,
    rng: &mut Rng,
) -> HttpResponse {
    use EmulatedProvider as P;
    match (provider, kind) {
        (P::OpenAI, FaultKind::BillingError) => openai_error(429, "Your credit balance is too low to access the API. Please go to Plans & Billing to purchase credits.", "insufficient_quota", Some("credit_balance_exhausted"), rng),
        (P::Anthropic, FaultKind::BillingError) => anthropic_error(402, "billing_error", "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.", rng),
        (P::OpenRouter, FaultKind::BillingError) => router_error(402, "Insufficient credits. Add more using https://openrouter.ai/settings/credits", json!({"error_type": "payment_required"})),
        (P::OpenRouter, FaultKind::UpstreamError) => router_error(429, "Provider returned error", json!({"provider_name": "Emulator", "raw": "emulator/model is temporarily rate-limited upstream. Please retry shortly.", "error_type": "rate_limit_exceeded"})),
        (P::OpenRouter, _) => HttpResponse::json(200, &json!({"error": {"code": 502, "message": "Provider returned error", "metadata": {"provider_name": "Emulator", "raw": "upstream connect error", "error_type": "provider_unavailable"}}})),
        (_, FaultKind::UpstreamError) => status_response(provider, FaultKind::Status503, rng),
        // What OpenAI-compatible servers and proxies do: the error of a 404 sent with a 200.
        (P::OpenAI, FaultKind::ErrorIn200) => HttpResponse::json(200, &json!({"error": {"message": "The model does not exist or you do not have access to it.", "type": "invalid_request_error", "param": null, "code": "model_not_found"}})),
        (P::Anthropic, FaultKind::ErrorIn200) => HttpResponse::json(200, &json!({"type": "error", "error": {"type": "not_found_error", "message": "model: not found"}})),
        (_, _) => status_response(provider, FaultKind::Status500, rng),
    }
}

/// A 200 whose JSON body stops mid-way.
pub(crate) fn malformed(provider: EmulatedProvider) -> HttpResponse {
    let body: &[u8] = match provider {
        EmulatedProvider::Anthropic => b"{\"id\":\"msg_01Emulator\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"lorem ip",
        _ => b"{\"id\":\"chatcmpl-emulator\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"lorem ip",
    };
    HttpResponse {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_vec(),
    }
}

/// Replaces rate-limit header values with garbage (and adds some where the provider has
/// none on success), keeping the names so a client's parser meets them.
pub(crate) fn garble(provider: EmulatedProvider, headers: &mut Vec<(String, String)>) {
    const HUGE: &str = "99999999999999999999999999";
    let (prefix, garbage): (&str, &[(&str, &str)]) = match provider {
        EmulatedProvider::OpenAI => (
            "x-ratelimit-",
            &[
                ("x-ratelimit-limit-requests", HUGE),
                ("x-ratelimit-remaining-requests", "-5"),
                ("x-ratelimit-reset-requests", "1h2x"),
                ("x-ratelimit-limit-tokens", "lots"),
                ("x-ratelimit-remaining-tokens", HUGE),
                ("x-ratelimit-reset-tokens", "banana"),
            ],
        ),
        EmulatedProvider::Anthropic => (
            "anthropic-ratelimit-",
            &[
                ("anthropic-ratelimit-requests-limit", HUGE),
                ("anthropic-ratelimit-requests-remaining", "-5"),
                ("anthropic-ratelimit-requests-reset", "not-a-date"),
                ("anthropic-ratelimit-input-tokens-remaining", "banana"),
                ("anthropic-ratelimit-output-tokens-reset", "2025-13-45T99:99:99Z"),
                ("anthropic-ratelimit-tokens-remaining", HUGE),
            ],
        ),
        EmulatedProvider::OpenRouter => (
            "x-ratelimit-",
            &[
                ("X-RateLimit-Limit", HUGE),
                ("X-RateLimit-Remaining", "-5"),
                ("X-RateLimit-Reset", "banana"),
            ],
        ),
    };
    headers.retain(|(n, _)| !n.to_ascii_lowercase().starts_with(prefix));
    headers.extend(garbage.iter().map(|(n, v)| (n.to_string(), v.to_string())));
}

/// The provider's answer to an unknown route.
pub(crate) fn not_found(
    provider: EmulatedProvider,
    method: &str,
    path: &str,
    rng: &mut Rng,
) -> HttpResponse {
    match provider {
        EmulatedProvider::OpenAI => openai_error(
            404,
            &format!("Invalid URL ({method} {path})"),
            "invalid_request_error",
            None,
            rng,
        ),
        EmulatedProvider::Anthropic => anthropic_error(404, "not_found_error", "Not Found", rng),
        EmulatedProvider::OpenRouter => {
            HttpResponse::json(404, &json!({"error": {"code": 404, "message": "Not Found"}}))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pick_respects_probabilities() {
        let mut cfg = EmulatorConfig::new(EmulatedProvider::OpenAI);
        let mut rng = Rng::new(1);
        assert_eq!(pick(&cfg, &mut rng, false), Pick::None);
        cfg.faults = vec![(FaultKind::Status500, 1.0)];
        assert_eq!(pick(&cfg, &mut rng, false), Pick::Fault(FaultKind::Status500));
        cfg.faults = vec![(FaultKind::MidStreamError, 1.0)];
        assert_eq!(pick(&cfg, &mut rng, false), Pick::None);
        assert_eq!(pick(&cfg, &mut rng, true), Pick::Fault(FaultKind::MidStreamError));
        cfg.faults = vec![(FaultKind::Status502, 0.3)];
        cfg.quota_error_rate = 0.2;
        let draws: Vec<Pick> = (0..10_000).map(|_| pick(&cfg, &mut rng, false)).collect();
        let n502 = draws.iter().filter(|p| **p == Pick::Fault(FaultKind::Status502)).count();
        let quota = draws.iter().filter(|p| **p == Pick::Quota).count();
        assert!((2700..3300).contains(&n502), "{n502}");
        assert!((1700..2300).contains(&quota), "{quota}");
    }
}
