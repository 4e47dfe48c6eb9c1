//! Learning limits: from the headers of every answer (`sync`), from a 429 that is the only
//! answer to carry them, from a remaining with no limit beside it (Azure), and from a hint
//! such as OpenRouter's `GET /key` `rate_limit`; and the refill holds of a cold start.

use std::time::{Duration, Instant};

use super::{Bucket, Cost, Learning, ModelState, Since, DEFAULT_WINDOW};
use crate::limit::info::{DimensionInfo, RateLimitInfo};
use crate::limit::window::Precision;

/// How long after our first admission the provider's buckets are assumed to exist: a request
/// reaches the server within a connect and a send, even on a loaded machine. A quarter second
/// of refill is what this margin costs, once per model.
pub(crate) const FIRST_CONTACT_MARGIN: Duration = Duration::from_millis(250);

impl ModelState {
    /// No limit configured and no bucket learned: the in-flight window of the slow start
    /// governs admission (`ramp.rs`).
    pub(crate) fn discovering(&self) -> bool {
        !self.configured
            && self.requests.is_none()
            && self.tokens.is_none()
            && self.input.is_none()
            && self.output.is_none()
    }

    /// A limit from a hint rather than a response (OpenRouter's `GET /key` `rate_limit`, which
    /// is deprecated but the only signal its successes give): `limit` requests per `window`.
    /// Taken only while nothing better is known; a 429's figures correct it later.
    pub(crate) fn hint_requests(&mut self, limit: u64, window: Duration, now: Instant) {
        if self.configured || self.requests.is_some() || limit == 0 || window.is_zero() {
            return;
        }
        let mut b = Bucket::new(limit, window, self.cfg.request_ratio, now);
        b.trust_window();
        self.requests = Some(b);
    }

    /// Charges part of a reservation after the fact: the cold-start probe was admitted before
    /// its buckets existed, and its cost belongs in them once they do.
    pub(crate) fn charge_late(&mut self, extra: &Cost, now: Instant) {
        for (b, n) in [
            (&mut self.tokens, extra.tokens),
            (&mut self.input, extra.input),
            (&mut self.output, extra.output),
        ] {
            if let (Some(b), true) = (b, n > 0) {
                b.take(n, now);
            }
        }
    }

    /// The server has answered: its buckets exist, so ours may refill.
    ///
    /// The provider's buckets exist at the latest when our first request reached them: refill
    /// is credited from the first admission plus a connect time's margin, not from the answer
    /// (which would throw away a whole latency of refill at the start of every job).
    pub(super) fn release_holds(&mut self, now: Instant) {
        let from = self.first_admission.map_or(now, |t| t + FIRST_CONTACT_MARGIN);
        for b in [&mut self.requests, &mut self.tokens, &mut self.input, &mut self.output]
            .into_iter()
            .flatten()
        {
            b.release_refill(from, now);
        }
    }

    /// Follows the server's headers: creates buckets it reveals, corrects those we have.
    ///
    /// `since` is the admission of the request whose response carried the headers, when
    /// known: the server's figures are as of then (see [`Bucket::sync`]).
    pub(crate) fn sync(&mut self, info: &RateLimitInfo, now: Instant, since: Option<&Since>) {
        self.release_holds(now);
        let (rr, tr) = (self.cfg.request_ratio, self.cfg.token_ratio);
        let pairs: [(&mut Option<Bucket>, &DimensionInfo, f64); 4] = [
            (&mut self.requests, &info.requests, rr),
            (&mut self.tokens, &info.tokens, tr),
            (&mut self.input, &info.input_tokens, tr),
            (&mut self.output, &info.output_tokens, tr),
        ];
        let inferred = &mut self.inferred;
        // How long the request was out: how stale its figures may be, and how much the server
        // has refilled since it computed them.
        let age = since.map(|s| now.saturating_duration_since(s.admitted));
        for (d, (bucket, dim, ratio)) in pairs.into_iter().enumerate() {
            let precision = Precision::of(info, d, age);
            match bucket {
                Some(b) => {
                    if inferred[d] && dim.limit.is_none() {
                        grow_inferred(b, dim.remaining, now);
                    }
                    let credit = since.zip(age).map_or(0.0, |(s, age)| {
                        b.rate() * age.as_secs_f64() + (b.refunded - s.marks[d])
                    });
                    b.sync(dim, &precision, now, credit);
                }
                None => {
                    let reported = dim.limit.filter(|&l| l > 0);
                    // Azure OpenAI reports `remaining` with no limit: the limit is at least
                    // the remaining plus the request just answered, and grows with larger
                    // readings (`inferred`).
                    let Some(limit) =
                        reported.or_else(|| dim.remaining.map(|r| r.saturating_add(1)))
                    else {
                        continue;
                    };
                    let window = if d == 0 { rejection_window(dim, info, limit) } else { None };
                    let mut b = Bucket::new(limit, window.unwrap_or(DEFAULT_WINDOW), ratio, now);
                    if window.is_some() {
                        b.trust_window();
                    }
                    b.sync(dim, &precision, now, 0.0);
                    *bucket = Some(b);
                    inferred[d] = reported.is_none();
                }
            }
        }
        if !info.is_empty() && self.learning == Learning::Probing {
            self.learning = Learning::Done;
        }
    }
}

/// The window of a request limit that only a 429 revealed, with no reset of its own but a
/// retry hint (OpenRouter's `X-RateLimit-Reset`, a `retry-after`): at zero remaining the hint
/// is when the next request fits, so the window is `limit × hint`. Under a fixed window the
/// hint is only the time to its end and `limit × hint` overstates the window; so it is capped
/// at the default minute, which is where the limiter would be without it. Nothing shorter
/// than the hint itself. `None` when the reading says nothing about the window.
fn rejection_window(dim: &DimensionInfo, info: &RateLimitInfo, limit: u64) -> Option<Duration> {
    if dim.reset.is_some() || dim.remaining != Some(0) {
        return None;
    }
    let hint = info.retry_after.filter(|h| !h.is_zero() && *h < DEFAULT_WINDOW)?;
    let window = hint.as_secs_f64() * limit as f64;
    Some(Duration::from_secs_f64(window.clamp(hint.as_secs_f64(), DEFAULT_WINDOW.as_secs_f64())))
}

/// A bucket sized from `remaining + 1` grows when a larger remaining shows the limit is
/// larger (keeping its deficit).
fn grow_inferred(b: &mut Bucket, remaining: Option<u64>, now: Instant) {
    if let Some(r) = remaining.map(|r| r.saturating_add(1)).filter(|r| *r > b.limit()) {
        let bigger = DimensionInfo { limit: Some(r), remaining: None, reset: None };
        b.sync(&bigger, &Precision::EXACT, now, 0.0);
    }
}

#[cfg(test)]
#[path = "learn_tests.rs"]
mod tests;
