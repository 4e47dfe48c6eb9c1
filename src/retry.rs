//! When to try again, and how long to wait first (providers.md §5).
//!
//! Whether an error is retryable is decided where it is parsed (`provider::wire`); this module
//! only computes delays: the server's hint first, then the reset of the exhausted limit, then
//! exponential backoff with jitter, always capped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::error::ApiError;
use crate::limit::info::RateLimitInfo;

/// Exponential backoff `min(base × 2^n, max)`, shortened by up to 25% of jitter so that
/// clients that failed together do not retry together.
#[derive(Debug)]
pub(crate) struct Backoff {
    base: Duration,
    max: Duration,
    seed: AtomicU64,
}

impl Backoff {
    pub(crate) fn new(base: Duration, max: Duration) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9);
        Backoff { base, max, seed: AtomicU64::new(seed) }
    }

    /// The delay before retry number `n` (0 for the first retry).
    pub(crate) fn delay(&self, n: u32) -> Duration {
        let factor = 2f64.powi(n.min(30) as i32);
        let full = (self.base.as_secs_f64() * factor).min(self.max.as_secs_f64());
        Duration::from_secs_f64(full * (1.0 - 0.25 * self.unit()))
    }

    /// The longest wait any hint may impose.
    pub(crate) fn max(&self) -> Duration {
        self.max
    }

    /// A pseudo-random number in [0, 1) (splitmix64; quality is irrelevant, spread is not).
    fn unit(&self) -> f64 {
        let mut z = self.seed.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// How long the server asks us to wait: its explicit hint, else the time until the exhausted
/// dimension (remaining 0) refills, else nothing.
pub(crate) fn server_wait(api: &ApiError, info: &RateLimitInfo) -> Option<Duration> {
    if let Some(ra) = api.retry_after.or(info.retry_after) {
        return Some(ra);
    }
    [info.requests, info.tokens, info.input_tokens, info.output_tokens]
        .iter()
        .filter(|d| d.remaining == Some(0))
        .filter_map(|d| d.reset)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limit::info::DimensionInfo;
    use crate::provider::Provider;

    fn api(retry_after: Option<Duration>) -> ApiError {
        ApiError {
            provider: Provider::OpenAI,
            status: 429,
            error_type: None,
            code: None,
            message: String::new(),
            request_id: None,
            retry_after,
            retryable: true,
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        let b = Backoff::new(Duration::from_millis(500), Duration::from_secs(8));
        for (n, full) in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)] {
            for _ in 0..20 {
                let d = b.delay(n).as_secs_f64();
                assert!(d <= full + 1e-9 && d >= full * 0.75 - 1e-9, "n={n} d={d}");
            }
        }
    }

    #[test]
    fn server_hint_then_exhausted_reset() {
        let hint = Duration::from_secs(3);
        assert_eq!(server_wait(&api(Some(hint)), &RateLimitInfo::default()), Some(hint));
        let info = RateLimitInfo {
            requests: DimensionInfo {
                limit: Some(10),
                remaining: Some(4),
                reset: Some(Duration::from_secs(9)),
            },
            tokens: DimensionInfo {
                limit: Some(10),
                remaining: Some(0),
                reset: Some(Duration::from_millis(700)),
            },
            ..RateLimitInfo::default()
        };
        assert_eq!(server_wait(&api(None), &info), Some(Duration::from_millis(700)));
        assert_eq!(server_wait(&api(None), &RateLimitInfo::default()), None);
    }
}
