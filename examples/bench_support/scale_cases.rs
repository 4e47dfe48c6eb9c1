//! The batch bench's rows about pool size: a burst into a full bucket, thousands in flight,
//! and low latency against a hand-tuned pool (issue 14).

use std::time::Duration;

use chat_limiter::{BatchConfig, Provider};
use chat_limiter_emulator::{Emulator, OutputLen};

use super::{prompt, Case};

fn default_batch() -> BatchConfig {
    BatchConfig::default()
}

fn hand_tuned_64() -> BatchConfig {
    BatchConfig::default().max_workers(64)
}

/// 600 requests into a 600-RPM bucket that starts full, 2 s latency: all 600 may go at once,
/// so the ideal is one latency (2.0 s).
pub fn burst_case() -> Case {
    Case {
        name: "Burst: 600 requests, 600 RPM bucket starting full, 2 s latency, limits configured",
        emulator: Emulator::openai().rpm(600).tpm(100_000_000).output_len(OutputLen::Fraction(0.5)),
        provider: Provider::OpenAI,
        model: "gpt-4o-mini",
        items: (0..600).map(|i| (prompt(40, i), 10)).collect(),
        buckets: vec![(600.0, 60.0), (100_000_000.0, 60.0)],
        output_fraction: 0.5,
        latency: (Duration::from_secs(2), Duration::ZERO),
        configure: |b| b.request_limit(600).token_limit(100_000_000),
        batch: default_batch,
        naive_rpm: None,
        faults: false,
    }
}

/// A 3,000-RPM key at 60 s latency needs 3,000 requests in flight; scaled down with the same
/// ratio: 300 requests per second (a 3,000-request bucket over 10 s) at 10 s latency. 9,000
/// items: the first 3,000 go at once, the rest at the rate, so the pool holds 3,000 in steady
/// state, and up to 6,000 just before the first answers come back (the full bucket plus 10 s
/// of refill): past the default ceiling of 4,096, so the row also shows what the ceiling costs.
pub fn thousands_case() -> Case {
    Case {
        name: "3,000 in flight: 300 req/s (3,000 per 10 s), 10 s latency, 9,000 items",
        emulator: Emulator::openai()
            .requests_per(3_000, Duration::from_secs(10))
            .tpm(1_000_000_000)
            .output_len(OutputLen::Fraction(0.5)),
        provider: Provider::OpenAI,
        model: "gpt-4o-mini",
        items: (0..9_000).map(|i| (prompt(40, i), 10)).collect(),
        buckets: vec![(3_000.0, 10.0), (1_000_000_000.0, 60.0)],
        output_fraction: 0.5,
        latency: (Duration::from_secs(10), Duration::ZERO),
        configure: |b| {
            b.request_limit(3_000)
                .request_window(Duration::from_secs(10))
                .token_limit(1_000_000_000)
        },
        batch: default_batch,
        naive_rpm: None,
        faults: false,
    }
}

/// 20,000 small requests with limits far away: only the client's and the emulator's CPU
/// (2 cores here) bind, and more threads than that needs only cost. `hand_tuned`: 64 workers.
pub fn low_latency_case(latency_ms: u64, hand_tuned: bool) -> Case {
    let name = match (latency_ms, hand_tuned) {
        (0, false) => "Low latency 0 ms, 20,000 items, default pool",
        (0, true) => "Low latency 0 ms, 20,000 items, hand-tuned max_workers=64",
        (_, false) => "Low latency 5 ms, 20,000 items, default pool",
        (_, true) => "Low latency 5 ms, 20,000 items, hand-tuned max_workers=64",
    };
    Case {
        name,
        emulator: Emulator::openai()
            .rpm(100_000_000)
            .tpm(1_000_000_000)
            .output_len(OutputLen::Fraction(0.5)),
        provider: Provider::OpenAI,
        model: "gpt-4o-mini",
        items: (0..20_000).map(|i| (prompt(40, i), 10)).collect(),
        buckets: vec![(100_000_000.0, 60.0), (1_000_000_000.0, 60.0)],
        output_fraction: 0.5,
        latency: (Duration::from_millis(latency_ms), Duration::ZERO),
        configure: |b| b.request_limit(100_000_000).token_limit(1_000_000_000),
        batch: if hand_tuned { hand_tuned_64 } else { default_batch },
        naive_rpm: None,
        faults: false,
    }
}

/// The rows of this file, in order.
pub fn all() -> Vec<Case> {
    vec![
        low_latency_case(0, false),
        low_latency_case(0, true),
        low_latency_case(5, false),
        low_latency_case(5, true),
        burst_case(),
        thousands_case(),
    ]
}
