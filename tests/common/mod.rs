//! Shared helpers for the integration tests: loopback servers only, proxies off.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chat_limiter::{ChatLimiter, ChatLimiterBuilder, Provider};
use chat_limiter_emulator::Emulator;

pub const KEY: &str = "sk-test-SECRET-0123456789";

/// A builder aimed at a loopback base URL, with short backoffs so retry tests are quick.
pub fn builder(provider: Provider, base_url: &str) -> ChatLimiterBuilder {
    ChatLimiter::builder()
        .provider(provider)
        .api_key(KEY)
        .base_url(base_url)
        .base_backoff(Duration::from_millis(5))
        .max_backoff(Duration::from_secs(2))
        .timeout(Duration::from_secs(10))
}

/// A counter that a mock's matcher can use to answer differently on each call.
#[derive(Clone, Default)]
pub struct Calls(Arc<AtomicUsize>);

impl Calls {
    /// Increments and returns the call number (1-based).
    pub fn next(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// An OpenAI emulator whose limits never bind, answering after `latency`.
pub fn far_limits_emulator(latency: Duration) -> Emulator {
    Emulator::openai()
        .rpm(10_000_000)
        .tpm(1_000_000_000)
        .latency(latency, Duration::ZERO)
        .start()
        .unwrap()
}

/// A limiter for [`far_limits_emulator`], configured with the same far limits.
pub fn far_limits_limiter(emu: &Emulator) -> ChatLimiter {
    builder(Provider::OpenAI, &emu.base_url())
        .request_limit(10_000_000)
        .token_limit(1_000_000_000)
        .build()
        .unwrap()
}
