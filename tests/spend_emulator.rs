//! Money against the emulator, which prices every completed request under its own reading of
//! the same table: the client's spend equals the emulator's count, OpenRouter's prices come
//! from its `/models` and its `usage.cost`, and a budget stop under 64 workers never takes
//! the emulator's charge past the budget.

use chat_limiter::{
    create_chat_completion_requests, process_chat_completion_batch, BatchConfig, ChatLimiter,
    Error, PriceTable, Provider,
};
use chat_limiter_emulator::{Emulator, OutputLen};

/// Three OpenAI models at different prices, in the documented format.
const TABLE: &str = r#"{"prices_as_of": "2030-01-01", "models": [
  {"provider": "openai", "model": "gpt-4o", "input": 2.5, "cached_input": 1.25, "output": 10},
  {"provider": "openai", "model": "gpt-4o-mini", "input": 0.15, "output": 0.6},
  {"provider": "openai", "model": "gpt-4.1", "input": 2, "output": 8}
]}"#;

fn prompts(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("item {i}: {}", "tell me more ".repeat(i % 9 * 3))).collect()
}

#[test]
fn spend_equals_the_emulators_independent_count_over_several_models() {
    let emu = Emulator::openai().unlimited().price_table(TABLE).start().unwrap();
    let limiter = ChatLimiter::builder()
        .provider(Provider::OpenAI)
        .api_key("sk-test")
        .base_url(emu.base_url())
        .price_table(PriceTable::from_json(TABLE).unwrap())
        .build()
        .unwrap();
    let config = BatchConfig::default().max_workers(16).max_concurrent_requests(16);
    for model in ["gpt-4o", "gpt-4o-mini-2024-07-18", "gpt-4.1"] {
        let requests = create_chat_completion_requests(model, prompts(40), Some(64), None);
        for r in process_chat_completion_batch(&limiter, requests, &config).unwrap() {
            assert!(r.success(), "{:?}", r.error());
        }
    }
    let (spend, stats) = (limiter.spend(), emu.stats());
    assert_eq!(stats.unpriced_requests, 0);
    assert_eq!((spend.priced, spend.unpriced), (120, 0));
    assert!(stats.cost_usd > 0.0);
    assert!(
        (spend.spent_usd - stats.cost_usd).abs() < 1e-9,
        "client {} vs emulator {}",
        spend.spent_usd,
        stats.cost_usd
    );
    assert_eq!(spend.estimated_usd, 0.0);
}

#[test]
fn an_unknown_model_has_no_cost_and_a_budget_refuses_it_unsent() {
    let emu = Emulator::openai().price_table(TABLE).start().unwrap();
    let plain = ChatLimiter::builder()
        .provider(Provider::OpenAI)
        .api_key("sk-test")
        .base_url(emu.base_url())
        .price_table(PriceTable::empty())
        .build()
        .unwrap();
    plain.simple_chat("gpt-4o", "hi", 10).unwrap();
    let s = plain.spend();
    assert_eq!((s.priced, s.unpriced, s.spent_usd), (0, 1, 0.0));
    let sent = emu.stats().requests;
    let guarded = ChatLimiter::builder()
        .provider(Provider::OpenAI)
        .api_key("sk-test")
        .base_url(emu.base_url())
        .max_cost(10.0)
        .build()
        .unwrap();
    let e = guarded.simple_chat("ft:gpt-4o:acme", "hi", 10).unwrap_err();
    assert!(matches!(&e, Error::PriceTable(m) if m.contains("ft:gpt-4o:acme")), "{e}");
    assert_eq!(emu.stats().requests, sent, "nothing was sent");
}

#[test]
fn openrouter_prices_come_from_its_models_list_and_its_usage_cost() {
    let emu = Emulator::openrouter()
        .prices(0.000_003, 0.000_015)
        .models(vec!["acme/model-a".into(), "acme/model-b".into()])
        .start()
        .unwrap();
    let limiter = ChatLimiter::builder()
        .provider(Provider::OpenRouter)
        .api_key("sk-or-test")
        .base_url(emu.base_url())
        .check_credits(false)
        .build()
        .unwrap();
    assert_eq!(limiter.load_openrouter_prices().unwrap(), 2);
    let table = limiter.price_table();
    let p = table.lookup(Provider::OpenRouter, "acme/model-b").unwrap();
    assert!((p.input - 3.0).abs() < 1e-9 && (p.output - 15.0).abs() < 1e-9, "{p:?}");
    for model in ["acme/model-a", "acme/model-b"] {
        limiter.simple_chat(model, "What is the capital of France?", 40).unwrap();
    }
    let spend = limiter.spend();
    assert_eq!(spend.priced, 2);
    let credits = emu.stats().credits_spent;
    assert!(credits > 0.0);
    assert!((spend.spent_usd - credits).abs() < 1e-12, "{} vs {credits}", spend.spent_usd);
}

#[test]
fn a_budget_stop_under_64_workers_never_takes_the_emulators_charge_past_it() {
    let emu = Emulator::openai()
        .unlimited()
        .output_len(OutputLen::Max)
        .latency(std::time::Duration::from_millis(20), std::time::Duration::ZERO)
        .price_table(TABLE)
        .start()
        .unwrap();
    let limit = 0.05;
    let limiter = ChatLimiter::builder()
        .provider(Provider::OpenAI)
        .api_key("sk-test")
        .base_url(emu.base_url())
        .price_table(PriceTable::from_json(TABLE).unwrap())
        .max_cost(limit)
        .build()
        .unwrap();
    // gpt-4o, ~40 input tokens and 100 output: about $0.0011 each, so ~45 fit in $0.05.
    let requests = create_chat_completion_requests("gpt-4o", prompts(400), Some(100), None);
    let config = BatchConfig::default().max_workers(64).max_concurrent_requests(64);
    let results = process_chat_completion_batch(&limiter, requests, &config).unwrap();
    let ok = results.iter().filter(|r| r.success()).count() as u64;
    let refused =
        results.iter().filter(|r| matches!(r.error(), Some(Error::BudgetExhausted { .. }))).count();
    assert_eq!(ok as usize + refused, 400, "every item either answered or was refused unsent");
    let stats = emu.stats();
    assert_eq!(stats.accepted, ok, "a refused item never reached the emulator");
    assert!(stats.cost_usd <= limit, "the emulator charged {} over {limit}", stats.cost_usd);
    assert!(stats.cost_usd > limit * 0.8, "the budget was used: {}", stats.cost_usd);
    assert!(stats.peak_in_flight > 1, "requests ran concurrently");
    let budget = limiter.spend().budget.unwrap();
    assert!(budget.exhausted && budget.reserved_usd == 0.0);
    assert!((budget.spent_usd - stats.cost_usd).abs() < 1e-6);
}

#[test]
fn anthropic_spend_and_budget_follow_its_input_and_output_buckets() {
    let table = r#"{"models": [
      {"provider": "anthropic", "model": "claude-3-5-haiku", "input": 0.8, "cached_input": 0.08, "cache_write": 1.0, "output": 4}
    ]}"#;
    let emu = Emulator::anthropic()
        .unlimited()
        .output_len(OutputLen::Max)
        .price_table(table)
        .start()
        .unwrap();
    let limit = 0.01;
    let limiter = ChatLimiter::builder()
        .provider(Provider::Anthropic)
        .api_key("sk-ant-test")
        .base_url(emu.base_url())
        .price_table(PriceTable::from_json(table).unwrap())
        .max_cost(limit)
        .build()
        .unwrap();
    let requests =
        create_chat_completion_requests("claude-3-5-haiku-20241022", prompts(100), Some(100), None);
    let config = BatchConfig::default().max_workers(16).max_concurrent_requests(16);
    let results = process_chat_completion_batch(&limiter, requests, &config).unwrap();
    assert!(results.iter().any(|r| matches!(r.error(), Some(Error::BudgetExhausted { .. }))));
    let (spend, stats) = (limiter.spend(), emu.stats());
    assert!(stats.cost_usd <= limit && stats.cost_usd > limit * 0.8, "{}", stats.cost_usd);
    assert!((spend.spent_usd - stats.cost_usd).abs() < 1e-9, "{spend:?} vs {}", stats.cost_usd);
    assert_eq!(spend.priced, stats.accepted);
}

fn stream_limiter(emu: &Emulator) -> ChatLimiter {
    ChatLimiter::builder()
        .provider(Provider::OpenAI)
        .api_key("sk-test")
        .base_url(emu.base_url())
        .price_table(PriceTable::from_json(TABLE).unwrap())
        .max_cost(1.0)
        .build()
        .unwrap()
}

fn stream_request() -> chat_limiter::ChatCompletionRequest {
    use chat_limiter::{ChatCompletionRequest, Message};
    // 16 characters: 4 prompt tokens by the estimate; 50 output tokens at most.
    ChatCompletionRequest::new("gpt-4o", vec![Message::user("0123456789abcdef")]).max_tokens(50)
}

#[test]
fn a_completed_stream_settles_at_its_real_cost() {
    let emu = Emulator::openai().price_table(TABLE).start().unwrap();
    let limiter = stream_limiter(&emu);
    for chunk in limiter.chat_completion_stream(&stream_request()).unwrap() {
        chunk.unwrap();
    }
    let spend = limiter.spend();
    let charged = emu.stats().cost_usd;
    assert!(charged > 0.0);
    assert_eq!((spend.priced, spend.unpriced, spend.estimated_usd), (1, 0, 0.0), "{spend:?}");
    assert!((spend.spent_usd - charged).abs() < 1e-12, "{spend:?} vs {charged}");
    let budget = spend.budget.unwrap();
    // Whole nanodollars, rounded up; nothing left reserved.
    assert!((budget.spent_usd - charged).abs() < 1e-8 && budget.reserved_usd == 0.0, "{budget:?}");
}

#[test]
fn a_stream_dropped_early_keeps_its_worst_case() {
    let emu = Emulator::openai().price_table(TABLE).start().unwrap();
    let limiter = stream_limiter(&emu);
    let mut stream = limiter.chat_completion_stream(&stream_request()).unwrap();
    stream.next().unwrap().unwrap();
    drop(stream); // what the provider billed for it is not known
    let worst = (4.0 * 2.5 + 50.0 * 10.0) / 1e6;
    let spend = limiter.spend();
    assert_eq!((spend.priced, spend.unpriced, spend.spent_usd), (0, 0, 0.0));
    assert!((spend.estimated_usd - worst).abs() < 1e-12, "{spend:?}");
    let budget = spend.budget.unwrap();
    assert!((budget.spent_usd - worst).abs() < 1e-8 && budget.reserved_usd == 0.0, "{budget:?}");
    assert!(emu.stats().cost_usd <= worst, "the emulator charged no more than counted");
}
