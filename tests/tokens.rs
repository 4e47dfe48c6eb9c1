//! Exact token counts against published figures: the OpenAI cookbook's encodings of sample
//! strings, and its chat example whose `prompt_tokens` the API itself reported (129 for
//! gpt-4 and gpt-3.5-turbo, 124 for gpt-4o and gpt-4o-mini).
#![cfg(feature = "tiktoken")]

use std::sync::Arc;

use chat_limiter::{
    ChatCompletionRequest, ChatLimiter, Message, Provider, TiktokenCounter, TiktokenEncoding,
    TokenCounter,
};

use TiktokenEncoding::{Cl100kBase, O200kBase};

#[test]
fn cookbook_strings() {
    for (text, cl100k, o200k) in
        [("antidisestablishmentarianism", 6, 6), ("2 + 2 = 4", 7, 7), ("お誕生日おめでとう", 9, 8)]
    {
        assert_eq!(Cl100kBase.count(text), cl100k, "cl100k {text}");
        assert_eq!(O200kBase.count(text), o200k, "o200k {text}");
    }
    assert_eq!(O200kBase.count("tiktoken is great!"), 6);
    assert_eq!(O200kBase.count(""), 0);
}

fn named(name: &str, text: &str) -> Message {
    let mut m = Message::system(text);
    m.extra.insert("name".into(), name.into());
    m
}

/// The cookbook's example conversation (system messages with and without `name`).
fn cookbook_messages() -> Vec<Message> {
    vec![
        Message::system("You are a helpful, pattern-following assistant that translates corporate jargon into plain English."),
        named("example_user", "New synergies will help drive top-line growth."),
        named("example_assistant", "Things working well together will increase revenue."),
        named("example_user", "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage."),
        named("example_assistant", "Let's talk later when we're less busy about how to do better."),
        Message::user("This late pivot means we don't have time to boil the ocean for the client deliverable."),
    ]
}

#[test]
fn chat_overhead_matches_the_prompt_tokens_openai_reported() {
    let counter = TiktokenCounter::new();
    for (model, expected) in [
        ("gpt-3.5-turbo", 129),
        ("gpt-4-0613", 129),
        ("gpt-4", 129),
        ("gpt-4o", 124),
        ("gpt-4o-mini", 124),
        ("openai/gpt-4o-mini", 124),
    ] {
        let req = ChatCompletionRequest::new(model, cookbook_messages());
        assert_eq!(counter.count_prompt(&req), expected, "{model}");
    }
}

/// The limiter reserves `exact prompt + max_tokens`: after a call whose reported usage is
/// smaller, the TPM bucket keeps the reservation (OpenAI does not refund, cost.rs).
#[test]
fn the_limiter_reserves_the_exact_count() {
    use httpmock::prelude::*;
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(POST).path("/v1/chat/completions");
        then.status(200)
            .header("x-ratelimit-limit-tokens", "100000")
            .header("x-ratelimit-remaining-tokens", "100000")
            .header("x-ratelimit-reset-tokens", "1s")
            .json_body(serde_json::json!({"id": "c", "object": "chat.completion", "model": "gpt-4o",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 8, "completion_tokens": 1, "total_tokens": 9}}));
    });
    let limiter = ChatLimiter::builder()
        .provider(Provider::OpenAI)
        .api_key("sk-test")
        .base_url(server.url("/v1"))
        .token_counter(Arc::new(TiktokenCounter::new()))
        .build()
        .unwrap();
    let req = ChatCompletionRequest::new("gpt-4o", vec![Message::user("Hello")]).max_tokens(10);
    assert_eq!(TiktokenCounter::new().count_prompt(&req), 3 + 1 + 1 + 3);
    limiter.chat_completion(&req).unwrap(); // learns the bucket
    limiter.reset_usage_tracking();
    limiter.chat_completion(&req).unwrap();
    let used = limiter.current_limits().model("gpt-4o").unwrap().tokens.unwrap().used;
    assert_eq!(used, 8 + 10, "exact prompt (8, as OpenAI reports) + max_tokens");
}

#[test]
fn counters_are_shared_across_threads() {
    let counter = Arc::new(TiktokenCounter::new());
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let c = Arc::clone(&counter);
            std::thread::spawn(move || {
                let req = ChatCompletionRequest::new("gpt-4o", cookbook_messages());
                (i, c.count_prompt(&req))
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap().1, 124);
    }
}
