//! A budget in Redis shared by two limiters (standing in for two processes, each with its
//! own `Budget` handle): together they never take the emulator's charge past it, both stop,
//! and the shared counters equal the emulator's count; a rerun with a larger limit goes on.
#![cfg(feature = "redis")]

mod redis_support;

use std::time::Duration;

use chat_limiter::{
    create_chat_completion_requests, process_chat_completion_batch, BatchConfig, Budget,
    ChatLimiter, Error, PriceTable, Provider,
};
use chat_limiter_emulator::{Emulator, OutputLen};
use redis_support::RedisServer;

const TABLE: &str = r#"{"models": [
  {"provider": "openai", "model": "gpt-4o", "input": 2.5, "output": 10}
]}"#;

fn limiter(base_url: &str, budget: Budget) -> ChatLimiter {
    ChatLimiter::builder()
        .provider(Provider::OpenAI)
        .api_key("sk-test")
        .base_url(base_url)
        .price_table(PriceTable::from_json(TABLE).unwrap())
        .budget(budget)
        .build()
        .unwrap()
}

fn run(limiter: &ChatLimiter, n: usize) -> (usize, usize) {
    let prompts = (0..n).map(|i| format!("question {i}: {}", "why ".repeat(i % 5 * 4)));
    let requests = create_chat_completion_requests("gpt-4o", prompts, Some(100), None);
    let config = BatchConfig::default().max_workers(32).max_concurrent_requests(32);
    let results = process_chat_completion_batch(limiter, requests, &config).unwrap();
    let ok = results.iter().filter(|r| r.success()).count();
    let refused =
        results.iter().filter(|r| matches!(r.error(), Some(Error::BudgetExhausted { .. }))).count();
    assert_eq!(ok + refused, n, "{:?}", results.iter().find_map(|r| r.error()));
    (ok, refused)
}

#[test]
fn two_limiters_share_one_budget_in_redis() {
    let Some(redis) = RedisServer::start() else { return };
    let emu = Emulator::openai()
        .unlimited()
        .output_len(OutputLen::Max)
        .latency(Duration::from_millis(5), Duration::ZERO)
        .price_table(TABLE)
        .start()
        .unwrap();
    let limit = 0.04;
    let a = limiter(&emu.base_url(), Budget::redis(&redis.url(), "job-1", limit).unwrap());
    let b = limiter(&emu.base_url(), Budget::redis(&redis.url(), "job-1", limit).unwrap());
    let (ra, rb) = std::thread::scope(|s| {
        let ha = s.spawn(|| run(&a, 200));
        let hb = s.spawn(|| run(&b, 200));
        (ha.join().unwrap(), hb.join().unwrap())
    });
    let stats = emu.stats();
    assert!(ra.0 > 0 && rb.0 > 0, "both sent some: {ra:?} {rb:?}");
    assert!(ra.1 > 0 && rb.1 > 0, "both were stopped: {ra:?} {rb:?}");
    assert_eq!(stats.accepted as usize, ra.0 + rb.0);
    assert!(stats.cost_usd <= limit, "charged {} over {limit}", stats.cost_usd);
    assert!(stats.cost_usd > limit * 0.8, "the budget was used: {}", stats.cost_usd);
    // Either handle reads the shared counters: both limiters' spend together.
    let shared = a.spend().budget.unwrap();
    assert!(shared.exhausted && shared.reserved_usd == 0.0);
    assert!((shared.spent_usd - stats.cost_usd).abs() < 1e-6, "{shared:?} vs {}", stats.cost_usd);
    let (sa, sb) = (a.spend().spent_usd, b.spend().spent_usd);
    assert!((sa + sb - stats.cost_usd).abs() < 1e-6);

    // A rerun under a larger limit is not held by the old stop; the same limit still is.
    let same = limiter(&emu.base_url(), Budget::redis(&redis.url(), "job-1", limit).unwrap());
    assert!(matches!(same.simple_chat("gpt-4o", "hi", 10), Err(Error::BudgetExhausted { .. })));
    let more = limiter(&emu.base_url(), Budget::redis(&redis.url(), "job-1", limit * 2.0).unwrap());
    more.simple_chat("gpt-4o", "hi", 10).unwrap();
    assert!(more.spend().budget.unwrap().spent_usd > shared.spent_usd);
}

#[test]
fn redis_down_fails_the_request_unsent() {
    let emu = Emulator::openai().start().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("redis://:hunter2@127.0.0.1:{port}/");
    let l = limiter(&emu.base_url(), Budget::redis(&url, "job-2", 1.0).unwrap());
    let e = l.simple_chat("gpt-4o", "hi", 10).unwrap_err();
    assert!(matches!(e, Error::Store(_)), "{e}");
    assert!(!e.to_string().contains("hunter2"), "{e}");
    assert_eq!(emu.stats().requests, 0);
}
