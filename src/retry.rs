//! The one retry policy: whether to try again, and how long to wait first (docs/providers.md §5).
//!
//! Whether an error can succeed on a retry is [`Error::is_retryable`], decided where the error
//! is parsed; this module turns it into a decision for the request loop: the server's hint
//! first, then the reset of the exhausted limit, then exponential backoff with jitter, always
//! capped. It is applied in one place (the request loop) for every kind of call and by the
//! batch too, which may only change the attempt count and the first delay.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::error::{ApiError, Error};
use crate::limit::info::RateLimitInfo;

/// What the request loop does after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Stop with this error: it is final, or the server asks for a longer wait than
    /// `max_backoff` allows.
    GiveUp,
    /// Stop: the error was worth retrying but the attempts are spent.
    Exhausted,
    /// A rate-limit rejection: pause the model's whole queue this long and retry first.
    PauseQueue(Duration),
    /// Another failure: wait this long on this thread only, then retry.
    Sleep(Duration),
}

/// The longest server hint ever waited out: a day's cap and then some. Anything longer is
/// surely not a rate limit to wait for.
pub(crate) const MAX_LONG_WAIT: Duration = Duration::from_secs(2 * 86_400);

/// How many attempts a request gets and how long to wait between them.
#[derive(Debug, Clone)]
pub(crate) struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    backoff: Arc<Backoff>,
    /// Wait out server hints longer than `max_backoff` (up to [`MAX_LONG_WAIT`]).
    wait_long: bool,
    /// A batch's stop: once set, a request not admitted yet leaves the queue unsent, and
    /// one between attempts is not tried again.
    cancel: Option<Arc<AtomicBool>>,
}

impl RetryPolicy {
    pub(crate) fn new(max_retries: u32, base: Duration, max: Duration) -> Self {
        RetryPolicy {
            max_retries,
            backoff: Arc::new(Backoff::new(base, max)),
            wait_long: false,
            cancel: None,
        }
    }

    /// The same policy, stopped by `flag` (see [`cancel`](Self::cancel)).
    pub(crate) fn cancelled_by(mut self, flag: Arc<AtomicBool>) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// The stop flag, if the policy has one.
    pub(crate) fn cancel(&self) -> Option<&AtomicBool> {
        self.cancel.as_deref()
    }

    /// Whether the stop flag is set.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancel().is_some_and(|c| c.load(Ordering::Relaxed))
    }

    /// Whether server hints longer than `max_backoff` are waited out instead of failing.
    pub(crate) fn waiting_long(mut self, on: bool) -> Self {
        self.wait_long = on;
        self
    }

    /// The same policy with another attempt count and first delay (a batch's override).
    pub(crate) fn with(&self, max_retries: Option<u32>, base: Option<Duration>) -> Self {
        let backoff = match base {
            Some(b) => Arc::new(Backoff::new(b.min(self.backoff.max), self.backoff.max)),
            None => Arc::clone(&self.backoff),
        };
        RetryPolicy {
            max_retries: max_retries.unwrap_or(self.max_retries),
            backoff,
            wait_long: self.wait_long,
            cancel: self.cancel.clone(),
        }
    }

    /// Whether a wait is longer than our own backoff ever waits (a server's long hint).
    pub(crate) fn is_long(&self, d: Duration) -> bool {
        d > self.backoff.max()
    }

    /// The decision after attempt number `n` (0 for the first) failed with `err`.
    pub(crate) fn decide(&self, err: &Error, info: &RateLimitInfo, n: u32) -> Decision {
        if !err.is_retryable() {
            return Decision::GiveUp;
        }
        let hint = err.api_error().and_then(|a| server_wait(a, info));
        let long = hint.is_some_and(|h| h > self.backoff.max());
        if long && (!self.wait_long || hint.is_some_and(|h| h > MAX_LONG_WAIT)) {
            // The server asks for longer than we are told to wait: surface it.
            return Decision::GiveUp;
        }
        if n >= self.max_retries {
            return Decision::Exhausted;
        }
        let wait = hint.unwrap_or_else(|| match says_nothing_about_load(err) {
            // A reset connection or an unreadable 2xx says nothing about the server's load:
            // the first one goes again as soon as the limiter has room; repeated ones back off.
            true if n == 0 => Duration::ZERO,
            true => self.backoff.delay(n - 1),
            false => self.backoff.delay(n),
        });
        if err.is_rate_limited() {
            Decision::PauseQueue(wait)
        } else {
            Decision::Sleep(wait)
        }
    }
}

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

/// Failures that tell nothing about the server's load: a connection reset or cut (not a
/// timeout, which may be a slow, loaded server), or a 2xx body that could not be read.
fn says_nothing_about_load(err: &Error) -> bool {
    matches!(err, Error::Transport { timeout: false, .. } | Error::InvalidResponse { .. })
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
    use crate::provider_id::Provider;

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
    fn decisions_follow_the_error_the_hint_and_the_count() {
        let policy = RetryPolicy::new(2, Duration::from_millis(100), Duration::from_secs(10));
        let none = RateLimitInfo::default();
        let rate_limited = |ra| Error::Api(Box::new(ApiError { retry_after: ra, ..api(None) }));
        assert_eq!(
            policy.decide(&rate_limited(Some(Duration::from_secs(2))), &none, 0),
            Decision::PauseQueue(Duration::from_secs(2))
        );
        assert_eq!(policy.decide(&rate_limited(None), &none, 2), Decision::Exhausted);
        let long = rate_limited(Some(Duration::from_secs(11)));
        assert_eq!(policy.decide(&long, &none, 0), Decision::GiveUp, "longer than max_backoff");
        let final_error =
            Error::Api(Box::new(ApiError { status: 400, retryable: false, ..api(None) }));
        assert_eq!(policy.decide(&final_error, &none, 0), Decision::GiveUp);
        let reset = Error::Transport {
            provider: Provider::OpenAI,
            message: "reset".into(),
            timeout: false,
        };
        assert_eq!(policy.decide(&reset, &none, 0), Decision::Sleep(Duration::ZERO), "at once");
        let Decision::Sleep(d) = policy.decide(&reset, &none, 1) else { panic!("sleep") };
        assert!(d <= Duration::from_millis(100) && d >= Duration::from_millis(75), "{d:?}");
        let overloaded = Error::Api(Box::new(ApiError { status: 503, ..api(None) }));
        let Decision::Sleep(d) = policy.decide(&overloaded, &none, 0) else { panic!("sleep") };
        assert!(d >= Duration::from_millis(75), "5xx backs off from the first retry: {d:?}");
        let timeout =
            Error::Transport { provider: Provider::OpenAI, message: "t".into(), timeout: true };
        assert_ne!(policy.decide(&timeout, &none, 0), Decision::Sleep(Duration::ZERO));
        let batch = policy.with(Some(0), None);
        assert_eq!(batch.decide(&reset, &none, 0), Decision::Exhausted, "override of the count");
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
