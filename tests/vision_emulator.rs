//! Image parts end to end through the emulator, for every provider, streamed and not: the
//! client maps them to the provider's wire, the emulator (which reads image sizes itself)
//! charges them by the provider's rule, and the client's estimate equals that charge.

mod common;

use chat_limiter::{
    anthropic_rule, openai_tile_rule, CharEstimator, ChatCompletionRequest, ContentPart, ImagePart,
    Message, Provider, TokenCounter,
};
use chat_limiter_emulator::Emulator;

const PROVIDERS: [(Provider, &str); 3] = [
    (Provider::OpenAI, "gpt-4o-mini"),
    (Provider::Anthropic, "claude-haiku-4-5"),
    (Provider::OpenRouter, "openai/gpt-4o-mini"),
];

/// Standard base64.
fn b64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in bytes.chunks(3) {
        let n = u32::from(c[0]) << 16
            | u32::from(*c.get(1).unwrap_or(&0)) << 8
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            s.push(if i <= c.len() { T[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    s
}

/// A PNG-headed image of the given size with `body` more bytes (a large inline image).
fn png(w: u32, h: u32, body: usize) -> String {
    let mut v = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    v.extend(w.to_be_bytes());
    v.extend(h.to_be_bytes());
    v.extend(std::iter::repeat_n(3u8, body));
    b64(&v)
}

#[test]
fn image_requests_are_charged_by_the_provider_rule_and_estimated_the_same() {
    let (w, h) = (1600, 1200);
    let data = png(w, h, 600_000); // 800 KB of base64: chars / 4 would be 200k tokens
    for (p, model) in PROVIDERS {
        let emu = match p {
            Provider::Anthropic => Emulator::anthropic(),
            Provider::OpenRouter => Emulator::openrouter(),
            _ => Emulator::openai(),
        }
        .start()
        .unwrap();
        let limiter = common::builder(p, &emu.base_url()).build().unwrap();
        let req = ChatCompletionRequest::new(
            model,
            vec![Message::user_parts(vec![
                ContentPart::text("What is in this image?"), // 22 chars: 6 tokens
                ContentPart::Image(ImagePart::base64("image/png", data.clone())),
                ContentPart::Image(ImagePart::url("https://example.com/cat.png").detail("low")),
            ])],
        )
        .max_tokens(16);
        let rule = match p {
            Provider::Anthropic => anthropic_rule(w, h) + 1600, // URL image: size unknown
            _ => openai_tile_rule(w, h) + 85,
        };
        let estimate = CharEstimator::default().count_prompt(&req)
            + CharEstimator::default().count_media(p, &req);
        assert_eq!(estimate, 6 + rule, "{p}");
        let full = limiter.chat_completion(&req).unwrap();
        assert_eq!(full.usage.unwrap().prompt_tokens, estimate, "{p}");
        let streamed = limiter.chat_completion_stream(&req).unwrap().collect_response().unwrap();
        assert_eq!(streamed.usage.unwrap().prompt_tokens, estimate, "{p} stream");
        assert!(!full.text().is_empty());
    }
}

#[test]
fn malformed_anthropic_image_is_a_400_not_a_silent_drop() {
    let emu = Emulator::anthropic().start().unwrap();
    let limiter = common::builder(Provider::Anthropic, &emu.base_url()).build().unwrap();
    let req = ChatCompletionRequest::new(
        "claude-haiku-4-5",
        vec![Message::user_parts(vec![ContentPart::Image(ImagePart::base64(
            "text/plain",
            "AAAA",
        ))])],
    )
    .max_tokens(8);
    let err = limiter.chat_completion(&req).unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
}
