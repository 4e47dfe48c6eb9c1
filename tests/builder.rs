//! Building a limiter: detection, keys from the environment, validation of every setting.

use std::time::Duration;

use chat_limiter::{ChatLimiter, Config, Error, Provider};

#[test]
fn keys_come_from_the_provider_env_var() {
    // The only test in this binary that touches the environment.
    std::env::remove_var("ANTHROPIC_API_KEY");
    let err = ChatLimiter::for_model("claude-3-5-sonnet-20241022").unwrap_err();
    assert!(matches!(err, Error::MissingApiKey { var: "ANTHROPIC_API_KEY", .. }), "{err:?}");
    assert!(err.to_string().contains("ANTHROPIC_API_KEY"));
    std::env::set_var("ANTHROPIC_API_KEY", "   ");
    assert!(matches!(
        ChatLimiter::for_model("claude-3-5-sonnet-20241022"),
        Err(Error::MissingApiKey { .. })
    ));
    std::env::set_var("ANTHROPIC_API_KEY", "sk-ant-from-env");
    let l = ChatLimiter::for_model("claude-3-5-sonnet-20241022").unwrap();
    assert_eq!(l.provider(), Provider::Anthropic);
    assert_eq!(l.config().base_url(), Some("https://api.anthropic.com/v1"));
    assert!(!format!("{l:?}").contains("sk-ant-from-env"));
    std::env::remove_var("ANTHROPIC_API_KEY");
}

#[test]
fn unknown_model_suggests_the_override() {
    let err = ChatLimiter::builder().model("my-llama").api_key("k").build().unwrap_err();
    assert!(matches!(err, Error::UnknownModel { .. }));
    assert!(err.to_string().contains(".provider("));
    let l = ChatLimiter::builder()
        .model("my-llama")
        .provider(Provider::OpenRouter)
        .api_key("k")
        .build()
        .unwrap();
    assert_eq!(l.provider(), Provider::OpenRouter);
    assert_eq!(l.model(), Some("my-llama"));
}

#[test]
fn bad_values_are_rejected_with_the_field_named() {
    let base = || ChatLimiter::builder().provider(Provider::OpenAI).api_key("sk-x");
    let cases: Vec<(&str, chat_limiter::Result<ChatLimiter>)> = vec![
        ("request_limit", base().request_limit(0).build()),
        ("token_limit", base().token_limit(0).build()),
        ("request_buffer_ratio", base().request_buffer_ratio(1.5).build()),
        ("token_buffer_ratio", base().token_buffer_ratio(0.0).build()),
        ("token_buffer_ratio", base().token_buffer_ratio(f64::NAN).build()),
        ("timeout", base().timeout(Duration::ZERO).build()),
        ("timeout", base().timeout(Duration::from_secs(86_400)).build()),
        ("connect_timeout", base().connect_timeout(Duration::ZERO).build()),
        ("max_in_flight", base().max_in_flight(0).build()),
        ("max_retries", base().max_retries(1_000).build()),
        ("base_backoff", base().base_backoff(Duration::ZERO).build()),
        (
            "base_backoff",
            base()
                .base_backoff(Duration::from_secs(10))
                .max_backoff(Duration::from_secs(1))
                .build(),
        ),
        ("base_url", base().base_url("api.openai.com").build()),
        ("default_max_tokens", base().default_max_tokens(0).build()),
        ("API key", base().api_key("sk x").build()),
        ("header", base().header("bad header", "v").build()),
        ("request_window", base().request_limit(10).request_window(Duration::ZERO).build()),
        ("token_window", base().token_window(Duration::from_secs(86_400 * 365)).build()),
    ];
    for (field, result) in cases {
        match result {
            Err(Error::Config(msg)) => assert!(msg.contains(field), "{field}: {msg}"),
            other => panic!("{field}: expected a config error, got {other:?}"),
        }
    }
    let missing = ChatLimiter::builder().api_key("k").build().unwrap_err();
    assert!(matches!(missing, Error::Config(_)));
}

#[test]
fn config_is_returned_whole_and_seeds_another_builder() {
    let l = ChatLimiter::builder()
        .provider(Provider::Anthropic)
        .api_key("k")
        .request_limit(50)
        .max_retries(1)
        .header("x-title", "eval")
        .build()
        .unwrap();
    let c = l.config();
    assert_eq!(c.provider(), Some(Provider::Anthropic));
    assert_eq!(c.base_url(), Some("https://api.anthropic.com/v1"));
    assert_eq!((c.request_limit(), c.max_retries()), (Some(50), 1));
    let d = Config::default();
    assert_eq!((c.timeout(), c.max_in_flight()), (d.timeout(), d.max_in_flight()), "defaults");
    let twin =
        ChatLimiter::builder().config(c.clone()).api_key("k2").max_retries(4).build().unwrap();
    assert_eq!(twin.config().request_limit(), Some(50));
    assert_eq!(twin.config().max_retries(), 4, "setters after config() override it");
    assert_eq!(twin.config().headers(), c.headers());
    assert!(!format!("{c:?}").contains("eval"), "header values stay out of Debug");
}

#[test]
fn limiter_is_cheap_to_clone_and_shares_state() {
    let l = ChatLimiter::builder()
        .provider(Provider::OpenAI)
        .api_key("k")
        .request_limit(10)
        .build()
        .unwrap();
    let c = l.clone();
    std::thread::spawn(move || drop(c.current_limits())).join().unwrap();
    assert!(l.current_limits().models.is_empty());
}
