//! Metrics a program can read: what the requests of one [`ChatLimiter`](crate::ChatLimiter)
//! came to, per model, as counters and duration histograms.
//!
//! The request loop and the limiter record with a handful of relaxed atomic adds per attempt
//! (no lock, no allocation); [`ChatLimiter::metrics`](crate::ChatLimiter::metrics) reads them
//! into a [`MetricsSnapshot`]. Counters only grow (they are not cleared by
//! [`reset_usage_tracking`](crate::ChatLimiter::reset_usage_tracking)), so a scraper can take
//! rates from them. See docs/observability.md.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::error::Error;

mod histogram;
mod kind;
mod snapshot;

pub use histogram::{Histogram, BUCKET_BOUNDS};
pub use kind::FailureKind;
pub use snapshot::{CallCounts, MetricsSnapshot, ModelMetrics, TokenCounts};

use histogram::AtomicHistogram;

/// The counters of one model (crate-internal: the limiter keeps one beside each model's state).
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    sent: AtomicU64,
    succeeded: AtomicU64,
    failed: [AtomicU64; FailureKind::ALL.len()],
    rate_limited: AtomicU64,
    retries: AtomicU64,
    /// Charged at admission: tokens, input tokens, output tokens.
    charged: [AtomicU64; 3],
    /// Reported by the provider: input (prompt) and output (completion) tokens.
    reported: [AtomicU64; 2],
    wait: AtomicHistogram,
    latency: AtomicHistogram,
}

impl Recorder {
    /// A request was admitted after waiting `waited`, charged `[tokens, input, output]`.
    pub(crate) fn admitted(&self, waited: Duration, charged: [u64; 3]) {
        self.wait.record(waited);
        for (c, n) in self.charged.iter().zip(charged) {
            if n > 0 {
                c.fetch_add(n, Relaxed);
            }
        }
    }

    /// An attempt was answered (or failed to be) after `latency`; `status` is the HTTP
    /// status, when there was an answer.
    pub(crate) fn attempted(&self, latency: Duration, status: Option<u16>) {
        self.sent.fetch_add(1, Relaxed);
        self.latency.record(latency);
        if status == Some(429) {
            self.rate_limited.fetch_add(1, Relaxed);
        }
    }

    /// A failed attempt is tried again.
    pub(crate) fn retried(&self) {
        self.retries.fetch_add(1, Relaxed);
    }

    /// A call ended well.
    pub(crate) fn succeeded(&self) {
        self.succeeded.fetch_add(1, Relaxed);
    }

    /// A call ended with `err`.
    pub(crate) fn failed(&self, err: &Error) {
        self.failed[FailureKind::of(err).index()].fetch_add(1, Relaxed);
    }

    /// The provider reported this usage for a request.
    pub(crate) fn reported(&self, input: u64, output: u64) {
        self.reported[0].fetch_add(input, Relaxed);
        self.reported[1].fetch_add(output, Relaxed);
    }

    /// The counters of `model` now; `in_flight` and `queued` come from the limiter's state.
    pub(crate) fn snapshot(&self, model: &str, in_flight: u32, queued: usize) -> ModelMetrics {
        let failed = FailureKind::ALL
            .iter()
            .map(|&k| (k, self.failed[k.index()].load(Relaxed)))
            .filter(|&(_, n)| n > 0)
            .collect();
        let [tokens, input, output] = self.charged.each_ref().map(|c| c.load(Relaxed));
        let [r_in, r_out] = self.reported.each_ref().map(|c| c.load(Relaxed));
        ModelMetrics {
            model: model.to_string(),
            requests: CallCounts {
                sent: self.sent.load(Relaxed),
                succeeded: self.succeeded.load(Relaxed),
                failed,
            },
            rate_limited: self.rate_limited.load(Relaxed),
            retries: self.retries.load(Relaxed),
            tokens_charged: TokenCounts { tokens, input, output },
            tokens_reported: TokenCounts {
                tokens: r_in.saturating_add(r_out),
                input: r_in,
                output: r_out,
            },
            in_flight,
            queued,
            wait: self.wait.snapshot(),
            latency: self.latency.snapshot(),
        }
    }
}
