//! OpenRouter emulator behaviour against docs/providers.md §3 and §6.

mod emu_common;

use std::time::Duration;

use chat_limiter_emulator::{Emulator, OutputLen};
use emu_common::*;

const AUTH: [(&str, &str); 1] = [("authorization", "Bearer sk-or-v1-0123456789abcdef")];

fn url(emu: &Emulator) -> String {
    format!("{}/chat/completions", emu.base_url())
}

fn body(model: &str, max: u64) -> String {
    format!(
        r#"{{"model":"{model}","messages":[{{"role":"user","content":"abcdefgh"}}],"max_tokens":{max}}}"#
    )
}

#[test]
fn body_extras_credits_and_key_endpoint() {
    // 2 prompt tokens at $1/token, 10 completion tokens at $2/token.
    let emu = Emulator::openrouter()
        .credits(100.0)
        .prices(1.0, 2.0)
        .output_len(OutputLen::Max)
        .start()
        .unwrap();
    assert!(emu.base_url().ends_with("/api/v1"));
    let a = agent();
    let r = post(&a, &url(&emu), &AUTH, &body("openai/gpt-4o-mini", 10));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.h("x-ratelimit-limit").is_none() && r.h("x-ratelimit-limit-requests").is_none());
    let j = r.json();
    let id = j["id"].as_str().unwrap();
    assert!(id.starts_with("gen-"));
    assert_eq!(r.h("x-generation-id"), Some(id));
    assert_eq!(j["provider"], "Emulator");
    assert_eq!(j["choices"][0]["native_finish_reason"], "length");
    assert_eq!(j["usage"]["cost"], 22.0);
    for path in ["/key", "/auth/key"] {
        let k = get(&a, &format!("{}{path}", emu.base_url()), &AUTH);
        assert_eq!(k.status, 200);
        let d = &k.json()["data"];
        assert_eq!(d["usage"], 22.0);
        assert_eq!(d["limit_remaining"], 78.0);
        assert_eq!(d["limit"], 100.0);
        assert_eq!(d["is_free_tier"], false);
        assert!(d["rate_limit"]["note"].is_string());
        assert!(d["label"].as_str().unwrap().starts_with("sk-or-v1-"));
    }
    // Worst case 2 + 2 × 50 = 102 > 78: refused before generation.
    let r = post(&a, &url(&emu), &AUTH, &body("openai/gpt-4o-mini", 50));
    assert_eq!(r.status, 402);
    assert_eq!(r.json()["error"]["code"], 402);
    let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(msg.starts_with("This request requires more credits, or fewer max_tokens. You requested up to 50 tokens, but can only afford 38."), "{msg}");
    for _ in 0..3 {
        assert_eq!(post(&a, &url(&emu), &AUTH, &body("openai/gpt-4o-mini", 10)).status, 200);
    }
    // 100 − 4 × 22 = 12 left: a 10-token request (worst case 22) no longer fits.
    assert_eq!(post(&a, &url(&emu), &AUTH, &body("openai/gpt-4o-mini", 10)).status, 402);
    assert!((emu.stats().credits_spent - 88.0).abs() < 1e-9);
}

#[test]
fn zero_balance_blocks_even_free_models() {
    let emu = Emulator::openrouter().credits(0.0).start().unwrap();
    let r = post(&agent(), &url(&emu), &AUTH, &body("meta-llama/llama-3.2-3b-instruct:free", 10));
    assert_eq!(r.status, 402);
}

#[test]
fn auth_and_model_errors() {
    let emu = Emulator::openrouter().api_key("sk-or-v1-0123456789abcdef").start().unwrap();
    let a = agent();
    let r = get(&a, &format!("{}/key", emu.base_url()), &[]);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json(),
        serde_json::json!({"error": {"code": 401, "message": "Missing Authentication header"}})
    );
    let r = post(&a, &url(&emu), &[("authorization", "Bearer nope")], &body("openai/gpt-4o", 5));
    assert_eq!(r.status, 401);
    let r = post(&a, &url(&emu), &AUTH, &body("gpt-4o", 5));
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["message"], "No endpoints found for gpt-4o.");
    let r = post(
        &a,
        &url(&emu),
        &[("HTTP-Referer", "http://localhost"), ("X-Title", "t"), AUTH[0]],
        &body("openai/gpt-4o", 5),
    );
    assert_eq!(r.status, 200);
}

#[test]
fn free_model_429_has_headers_and_metadata() {
    let emu = Emulator::openrouter().requests_per(2, Duration::from_secs(60)).start().unwrap();
    let a = agent();
    let model = "meta-llama/llama-3.2-3b-instruct:free";
    for _ in 0..2 {
        assert_eq!(post(&a, &url(&emu), &AUTH, &body(model, 5)).status, 200);
    }
    let r = post(&a, &url(&emu), &AUTH, &body(model, 5));
    assert_eq!(r.status, 429);
    let j = r.json();
    assert_eq!(j["error"]["message"], "Rate limit exceeded: free-models-per-min. ");
    assert_eq!(j["error"]["code"], 429);
    let meta = &j["error"]["metadata"]["headers"];
    assert_eq!(meta["X-RateLimit-Limit"], "2");
    assert_eq!(meta["X-RateLimit-Remaining"], "0");
    assert_eq!(r.h("x-ratelimit-limit"), Some("2"));
    assert_eq!(r.h("x-ratelimit-remaining"), Some("0"));
    let reset: u128 = r.h("x-ratelimit-reset").unwrap().parse().unwrap();
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    assert!(reset > now && reset <= now + 31_000, "epoch ms about 30 s ahead");
    assert_eq!(meta["X-RateLimit-Reset"], r.h("x-ratelimit-reset").unwrap());
    assert!(r.h("retry-after").is_some());
}

#[test]
fn stream_has_processing_comments_and_one_usage_chunk() {
    let emu = Emulator::openrouter().output_len(OutputLen::Fixed(6)).start().unwrap();
    let b = r#"{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":50,"stream":true}"#;
    let (status, _, lines) = stream_lines(&agent(), &url(&emu), &AUTH, b);
    assert_eq!(status, 200);
    assert_eq!(lines[0].1, ": OPENROUTER PROCESSING");
    assert!(lines.iter().position(|(_, l)| l.starts_with("data: ")).unwrap() >= 1);
    assert_eq!(lines.last().unwrap().1, "data: [DONE]");
    let chunks = data_json(&lines);
    let with_usage: Vec<_> =
        chunks.iter().filter(|c| c.get("usage").is_some_and(|u| !u.is_null())).collect();
    assert_eq!(with_usage.len(), 1);
    assert_eq!(chunks.last().unwrap()["usage"]["completion_tokens"], 6);
    assert!(chunks.last().unwrap()["usage"]["cost"].is_number());
    assert!(chunks
        .iter()
        .all(|c| c["provider"] == "Emulator" && c["id"].as_str().unwrap().starts_with("gen-")));
}
