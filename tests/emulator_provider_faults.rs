//! The provider-specific error faults of the emulator (billing errors, OpenRouter's upstream
//! 429 and its error inside a 200), and how the client classifies each.

mod common;

use std::time::Duration;

use chat_limiter::{Error, Provider};
use chat_limiter_emulator::{Emulator, FaultKind};
use common::builder;

fn client(p: Provider, emu: &Emulator) -> chat_limiter::ChatLimiter {
    builder(p, &emu.base_url())
        .max_retries(2)
        .base_backoff(Duration::from_millis(1))
        .check_credits(false)
        .build()
        .unwrap()
}

#[test]
fn billing_errors_are_terminal_for_every_provider() {
    for (p, model, status, code) in [
        (Provider::OpenAI, "gpt-4o-mini", 429, "credit_balance_exhausted"),
        (Provider::Anthropic, "claude-haiku-4-5", 402, "billing_error"),
        (Provider::OpenRouter, "openai/gpt-4o-mini", 402, "payment_required"),
    ] {
        let b = match p {
            Provider::OpenAI => Emulator::openai(),
            Provider::Anthropic => Emulator::anthropic(),
            _ => Emulator::openrouter(),
        };
        let emu = b.fault(FaultKind::BillingError, 1.0).start().unwrap();
        let err = client(p, &emu).simple_chat(model, "hi", 5).unwrap_err();
        let api = err.api_error().unwrap_or_else(|| panic!("{p}: {err:?}"));
        assert_eq!(api.status, status, "{p}");
        assert!(!api.retryable, "{p}: billing errors are never retried");
        let typed = [api.code.as_deref(), api.error_type.as_deref()];
        assert!(typed.contains(&Some(code)), "{p}: {typed:?}");
        let stats = emu.stats();
        assert_eq!(stats.requests, 1, "{p}: sent once");
        assert_eq!(stats.faults.get("billing_error"), Some(&1));
    }
}

#[test]
fn openrouter_upstream_429_is_retried_and_names_the_provider() {
    let emu = Emulator::openrouter().fault(FaultKind::UpstreamError, 1.0).start().unwrap();
    let err =
        client(Provider::OpenRouter, &emu).simple_chat("openai/gpt-4o-mini", "hi", 5).unwrap_err();
    let Error::RetriesExhausted { attempts, last } = &err else { panic!("{err:?}") };
    assert_eq!(*attempts, 3);
    let api = last.api_error().unwrap();
    assert_eq!(api.status, 429);
    assert!(api.message.contains("Emulator"), "{}", api.message);
    assert_eq!(emu.stats().requests, 3);
}

#[test]
fn openrouter_error_inside_a_200_is_an_api_error_not_a_success() {
    let emu = Emulator::openrouter().fault(FaultKind::ErrorIn200, 1.0).start().unwrap();
    let err =
        client(Provider::OpenRouter, &emu).simple_chat("openai/gpt-4o-mini", "hi", 5).unwrap_err();
    assert_eq!(err.status(), Some(502), "{err:?}");
    assert_eq!(emu.stats().by_status.get(&200), Some(&3), "retried as the 502 it reports");
    // Elsewhere the same fault is a `model_not_found` or `not_found_error` in a 200: the final
    // 404 it stands for, sent once, not a retried 500. The upstream fault is a 503.
    for (p, model) in [(Provider::OpenAI, "gpt-4o-mini"), (Provider::Anthropic, "claude-haiku-4-5")]
    {
        let b = if p == Provider::OpenAI { Emulator::openai() } else { Emulator::anthropic() };
        let emu = b.fault(FaultKind::ErrorIn200, 1.0).start().unwrap();
        let err = client(p, &emu).simple_chat(model, "hi", 5).unwrap_err();
        assert_eq!(err.status(), Some(404), "{p}: {err:?}");
        assert!(!err.is_retryable(), "{p}");
        assert_eq!(emu.stats().by_status.get(&200), Some(&1), "{p}: not retried");
    }
    let emu = Emulator::anthropic().fault(FaultKind::UpstreamError, 1.0).start().unwrap();
    let err =
        client(Provider::Anthropic, &emu).simple_chat("claude-haiku-4-5", "hi", 5).unwrap_err();
    assert_eq!(err.status(), Some(503));
}

#[test]
fn rejected_requests_can_count_against_rpm() {
    // Time until the request bucket is full again, after two accepted and three rejected.
    let reset_after = |count: bool| -> String {
        let emu = Emulator::openai().rpm(2).rejected_count_against_rpm(count).start().unwrap();
        let agent: ureq::Agent =
            ureq::Agent::config_builder().proxy(None).http_status_as_error(false).build().into();
        let url = format!("{}/chat/completions", emu.base_url());
        let body =
            r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":1}"#;
        let mut last = String::new();
        for i in 0..5 {
            let resp = agent.post(&url).header("authorization", "Bearer sk-x").send(body).unwrap();
            assert_eq!(resp.status().as_u16(), if i < 2 { 200 } else { 429 });
            last = resp.headers()["x-ratelimit-reset-requests"].to_str().unwrap().to_string();
        }
        last
    };
    let (free, counted) = (reset_after(false), reset_after(true));
    // rpm 2 refills one request per 30 s. Not counted: the bucket stays at 0 (deficit 2,
    // 60 s). Counted: three rejections push it to -3 (deficit 5, 150 s).
    assert!(free.starts_with("59.") || free == "1m0s", "{free}");
    assert!(counted.starts_with("2m29.") || counted == "2m30s", "{counted}");
}
