//! [`FailureKind`]: what a failed call is counted as.

use crate::error::Error;

/// The kind of a failed call, as counted in [`CallCounts::failed`](super::CallCounts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// Still rate limited (429) after every retry.
    RateLimited,
    /// Quota, billing or credits exhausted (402, a quota 429, OpenRouter credits).
    Quota,
    /// The key, the model's access or the URL is wrong (401, 403, 404).
    Auth,
    /// The provider rejected the request (400, 413, 422 and other 4xx), or it was unusable.
    Request,
    /// The provider failed (5xx, 529 overloaded).
    Server,
    /// The connection failed or timed out.
    Transport,
    /// A 2xx answer that could not be read, or a stream that broke.
    InvalidResponse,
    /// The limits can never admit the request, or would hold it too long (a daily cap).
    Limits,
    /// The shared (Redis) limit store failed and the policy is to fail.
    Store,
    /// The batch stopped before the request was started.
    Cancelled,
    /// The spending limit could not hold the request's worst case (nothing was sent).
    Budget,
}

impl FailureKind {
    /// Every kind.
    pub const ALL: [FailureKind; 11] = [
        FailureKind::RateLimited,
        FailureKind::Quota,
        FailureKind::Auth,
        FailureKind::Request,
        FailureKind::Server,
        FailureKind::Transport,
        FailureKind::InvalidResponse,
        FailureKind::Limits,
        FailureKind::Store,
        FailureKind::Cancelled,
        FailureKind::Budget,
    ];

    /// The kind's name, as a metric label (`rate_limited`, `quota`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::RateLimited => "rate_limited",
            FailureKind::Quota => "quota",
            FailureKind::Auth => "auth",
            FailureKind::Request => "request",
            FailureKind::Server => "server",
            FailureKind::Transport => "transport",
            FailureKind::InvalidResponse => "invalid_response",
            FailureKind::Limits => "limits",
            FailureKind::Store => "store",
            FailureKind::Cancelled => "cancelled",
            FailureKind::Budget => "budget",
        }
    }

    /// The kind of `err`.
    pub fn of(err: &Error) -> FailureKind {
        match err {
            Error::RetriesExhausted { last, .. } => FailureKind::of(last),
            Error::Api(e) => match e.status {
                429 if e.retryable => FailureKind::RateLimited,
                402 | 429 => FailureKind::Quota,
                401 | 403 | 404 => FailureKind::Auth,
                s if s >= 500 => FailureKind::Server,
                _ => FailureKind::Request,
            },
            Error::CreditsExhausted { .. } => FailureKind::Quota,
            Error::Transport { .. } => FailureKind::Transport,
            Error::InvalidResponse { .. } | Error::Stream(_) => FailureKind::InvalidResponse,
            Error::NeverFits { .. } | Error::WaitTooLong { .. } => FailureKind::Limits,
            // A cache error never fails a call (it goes on without the cache); only opening,
            // stats and prune return one.
            Error::Store(_) | Error::Cache(_) => FailureKind::Store,
            Error::Cancelled => FailureKind::Cancelled,
            Error::BudgetExhausted { .. } => FailureKind::Budget,
            Error::PriceTable(_) => FailureKind::Request,
            Error::MissingApiKey { .. }
            | Error::UnknownModel { .. }
            | Error::Config(_)
            | Error::InvalidRequest(_) => FailureKind::Request,
        }
    }

    pub(super) fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_index_and_a_distinct_name() {
        for (i, k) in FailureKind::ALL.iter().enumerate() {
            assert_eq!(k.index(), i);
        }
        let names: std::collections::BTreeSet<_> =
            FailureKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), FailureKind::ALL.len());
    }

    #[test]
    fn errors_are_classified() {
        let retries = Error::RetriesExhausted {
            attempts: 3,
            last: Box::new(Error::Transport {
                provider: crate::Provider::OpenAI,
                message: "reset".into(),
                timeout: false,
            }),
        };
        assert_eq!(FailureKind::of(&retries), FailureKind::Transport);
        assert_eq!(
            FailureKind::of(&Error::CreditsExhausted { remaining: 0.0 }),
            FailureKind::Quota
        );
        assert_eq!(FailureKind::of(&Error::Cancelled), FailureKind::Cancelled);
        let never = Error::NeverFits { dimension: "tokens", needed: 2, capacity: 1 };
        assert_eq!(FailureKind::of(&never), FailureKind::Limits);
    }
}
