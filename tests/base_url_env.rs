//! Base URLs the way each ecosystem writes them: the provider's `*_BASE_URL` variable when the
//! builder is given none, an explicit setting first, Anthropic's root and `/v1` alike.
//! The only test in this binary, since it changes the process environment.

use chat_limiter::{ChatLimiter, Provider};
use chat_limiter_emulator::Emulator;

fn base(p: Provider) -> String {
    ChatLimiter::builder()
        .provider(p)
        .api_key("sk-test")
        .build()
        .unwrap()
        .config()
        .base_url()
        .unwrap()
        .to_string()
}

#[test]
fn env_base_urls_are_read_and_an_explicit_one_wins() {
    for p in Provider::ALL {
        std::env::remove_var(p.base_url_env_var());
    }
    assert_eq!(base(Provider::Anthropic), "https://api.anthropic.com/v1");
    std::env::set_var("ANTHROPIC_BASE_URL", "https://proxy.example/anthropic/");
    assert_eq!(base(Provider::Anthropic), "https://proxy.example/anthropic/v1", "SDK style root");
    std::env::set_var("OPENAI_BASE_URL", "http://127.0.0.1:1/v1");
    assert_eq!(base(Provider::OpenAI), "http://127.0.0.1:1/v1");
    std::env::set_var("OPENROUTER_BASE_URL", "  ");
    assert_eq!(base(Provider::OpenRouter), "https://openrouter.ai/api/v1", "blank is unset");
    let explicit = ChatLimiter::builder()
        .provider(Provider::OpenAI)
        .api_key("sk-test")
        .base_url("https://other.example/v1")
        .build()
        .unwrap();
    assert_eq!(explicit.config().base_url(), Some("https://other.example/v1"));
    for p in Provider::ALL {
        std::env::remove_var(p.base_url_env_var());
    }

    // The Anthropic root really works: requests reach /v1/messages on the emulator.
    let emu = Emulator::anthropic().start().unwrap();
    let root = emu.base_url().trim_end_matches("/v1").to_string();
    let limiter = ChatLimiter::builder()
        .model("claude-haiku-4-5")
        .api_key("sk-ant-test")
        .base_url(root)
        .build()
        .unwrap();
    assert!(!limiter.simple_chat("claude-haiku-4-5", "hi", 5).unwrap().is_empty());
}
