//! How big a batch's pool grows (issue 14): no more workers than a small or fast batch needs,
//! and every item in flight at once for a slow one the limits allow. Asserts on the
//! `BatchSummary` and the emulator's counts, not on timing.

mod common;

use std::time::Duration;

use chat_limiter::{
    create_chat_completion_requests, process_chat_completion_stream, BatchConfig, BatchSummary,
    ChatLimiter, Provider,
};
use common::{far_limits_emulator as emulator, far_limits_limiter as limiter};

fn run(limiter: &ChatLimiter, n: usize, config: &BatchConfig) -> BatchSummary {
    let prompts: Vec<String> = (0..n).map(|i| format!("pool prompt {i}")).collect();
    let reqs = create_chat_completion_requests("gpt-4o-mini", prompts, Some(4), None);
    let summary = process_chat_completion_stream(limiter, reqs, config, Some(n), |_| {}).unwrap();
    assert_eq!((summary.succeeded, summary.failed), (n, 0), "{summary:?}");
    summary
}

#[test]
fn a_three_item_batch_starts_three_workers() {
    let emu = emulator(Duration::from_millis(50));
    let summary = run(&limiter(&emu), 3, &BatchConfig::default());
    assert_eq!((summary.workers, summary.peak_in_flight), (3, 3));
}

#[test]
fn a_fast_batch_starts_a_few_dozen_workers_not_the_maximum() {
    // Without the growth rule every lane used its maximum: 600 items, 600 workers.
    let emu = emulator(Duration::ZERO);
    let summary = run(&limiter(&emu), 600, &BatchConfig::default());
    assert!(summary.workers <= 64, "{summary:?}");
    assert!(summary.peak_in_flight <= 64, "{summary:?}");
    assert!(emu.stats().peak_in_flight <= 64);
}

#[test]
fn a_slow_batch_has_every_item_in_flight_at_once() {
    // 1.5 s per response and limits that admit all 300 at once: the pool must hold 300.
    let emu = emulator(Duration::from_millis(1500));
    let summary = run(&limiter(&emu), 300, &BatchConfig::default());
    assert_eq!((summary.workers, summary.peak_in_flight), (300, 300), "{summary:?}");
    assert_eq!(emu.stats().peak_in_flight, 300);
}

#[test]
fn without_adaptation_a_lane_uses_its_maximum_from_the_start() {
    let emu = emulator(Duration::from_millis(300));
    let config = BatchConfig::default().adaptive_batch_size(false).max_workers(24);
    let summary = run(&limiter(&emu), 48, &config);
    assert_eq!((summary.workers, summary.peak_in_flight), (24, 24), "{summary:?}");
}

#[test]
fn the_default_ceiling_allows_thousands_in_flight() {
    let d = BatchConfig::default();
    assert!(d.max_workers >= 3_000 && d.max_concurrent_requests >= 3_000, "{d:?}");
    assert!(d.validate().is_ok());
    assert!(BatchConfig::default().max_workers(16_384).validate().is_ok());
    assert!(BatchConfig::default().max_workers(16_385).validate().is_err());
    let c = ChatLimiter::builder().provider(Provider::OpenAI).api_key("sk-x").build().unwrap();
    assert!(c.config().max_in_flight() as usize >= d.max_workers, "the limiter's cap is not lower");
}
