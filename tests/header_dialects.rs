//! Every header dialect of OpenAI-compatible servers, end to end against the emulator: the full
//! set, headers only on 429s, none at all, Azure's remaining with no limit, no reset, and `-1`
//! or empty values. Each job finishes with every answer and without a storm of 429s.

mod common;

use std::time::Duration;

use chat_limiter::{
    create_chat_completion_requests, process_chat_completion_batch, BatchConfig, ChatLimiter,
    Provider,
};
use chat_limiter_emulator::{Emulator, HeaderDialect};
use common::builder;

/// `n` one-line prompts through a batch; returns the limiter for its snapshot.
fn run(emu: &Emulator, n: usize) -> ChatLimiter {
    let limiter = builder(Provider::OpenAI, &emu.base_url()).max_retries(8).build().unwrap();
    let prompts: Vec<String> = (0..n).map(|i| format!("dialect question {i}")).collect();
    let reqs = create_chat_completion_requests("gpt-4o-mini", prompts, Some(4), None);
    let results = process_chat_completion_batch(&limiter, reqs, &BatchConfig::default()).unwrap();
    let failed: Vec<_> = results.iter().filter(|r| !r.success()).map(|r| &r.result).collect();
    assert!(failed.is_empty(), "{failed:?}");
    limiter
}

fn emulator(dialect: HeaderDialect, per: u64, window: Duration) -> Emulator {
    Emulator::openai().requests_per(per, window).header_dialect(dialect).start().expect("emulator")
}

#[test]
fn the_full_set_is_followed_with_no_429() {
    let emu = emulator(HeaderDialect::Full, 20, Duration::from_secs(2));
    let limiter = run(&emu, 40);
    assert_eq!(emu.stats().rate_limited, 0);
    let learned = limiter.current_limits().models[0].requests.unwrap();
    assert_eq!(learned.limit, 20);
}

#[test]
fn headers_only_on_429s_are_found_by_a_slow_start_with_a_handful_of_429s() {
    let emu = emulator(HeaderDialect::OnlyOn429, 20, Duration::from_secs(2));
    let limiter = run(&emu, 60);
    let rejected = emu.stats().rate_limited;
    // The slow start overshoots by at most what it had in flight when the limit was crossed.
    assert!(rejected <= 20, "a few 429s while the limit is found, not a storm: {rejected}");
    let learned = limiter.current_limits().models[0].requests.unwrap();
    assert_eq!(learned.limit, 20, "the limit the first 429 told");
    // Once found, it holds: the next job on the same limiter meets no 429.
    emu.reset_stats();
    let prompts: Vec<String> = (0..30).map(|i| format!("second job {i}")).collect();
    let reqs = create_chat_completion_requests("gpt-4o-mini", prompts, Some(4), None);
    let results = process_chat_completion_batch(&limiter, reqs, &BatchConfig::default()).unwrap();
    assert!(results.iter().all(|r| r.success()));
    assert_eq!(emu.stats().rate_limited, 0);
}

#[test]
fn no_headers_at_all_back_off_on_429s_and_finish() {
    let emu = emulator(HeaderDialect::Nothing, 10, Duration::from_secs(1));
    let limiter = run(&emu, 30);
    let rejected = emu.stats().rate_limited;
    assert!(rejected < 30, "fewer 429s than requests (the window halves on each): {rejected}");
    assert!(limiter.current_limits().models[0].requests.is_none(), "nothing to learn from");
}

#[test]
fn azure_remaining_without_a_limit_sizes_the_bucket() {
    let emu = emulator(HeaderDialect::RemainingOnly, 30, Duration::from_secs(60));
    let limiter = run(&emu, 25);
    assert_eq!(emu.stats().rate_limited, 0);
    let learned = limiter.current_limits().models[0].requests.unwrap();
    assert_eq!(learned.limit, 30, "the first remaining (29) plus the request it answered");
}

#[test]
fn limits_with_no_reset_and_minus_one_values_are_read_for_what_they_say() {
    for dialect in [HeaderDialect::NoReset, HeaderDialect::MinusOne] {
        let emu = emulator(dialect, 50, Duration::from_secs(60));
        let limiter = run(&emu, 30);
        assert_eq!(emu.stats().rate_limited, 0, "{dialect:?}");
        let m = &limiter.current_limits().models[0];
        assert_eq!(m.requests.unwrap().limit, 50, "{dialect:?}");
        if dialect == HeaderDialect::MinusOne {
            assert!(m.tokens.is_none(), "-1 is no figure, not a limit of -1 or 2^64-1");
        }
    }
}
