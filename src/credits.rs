//! OpenRouter credit checking: ask `GET /key` how much the key has left, and fail fast when it
//! is spent instead of sending requests that can only get 402.

use std::time::{Duration, Instant};

use crate::client::ChatLimiter;
use crate::error::{Error, Result};
use crate::provider::openrouter::{parse_key_info, OpenRouterKeyInfo};

/// How long a fetched balance is trusted before asking again.
const FRESH_FOR: Duration = Duration::from_secs(30);

/// The last answer of `GET /key`.
#[derive(Debug, Default)]
pub(crate) struct CreditCache {
    /// When it was fetched, and what it said (`None`: the endpoint could not be read).
    fetched: Option<(Instant, Option<OpenRouterKeyInfo>)>,
    /// Set by a 402: spent until the next successful refresh says otherwise.
    exhausted: bool,
}

/// Serialises refreshes, so a pool of workers starting together asks `GET /key` once.
#[derive(Debug, Default)]
pub(crate) struct RefreshLock(parking_lot::Mutex<()>);

impl ChatLimiter {
    /// Fetches the key's limits and credit from OpenRouter (`GET /key`, falling back to the
    /// older `GET /auth/key`).
    pub fn openrouter_key_info(&self) -> Result<OpenRouterKeyInfo> {
        if self.inner.provider != crate::provider::Provider::OpenRouter {
            return Err(Error::Config("key info is an OpenRouter feature".into()));
        }
        let mut last = None;
        for path in ["/key", "/auth/key"] {
            match self.send("GET", path, None, None) {
                Ok(r) if (200..300).contains(&r.status) => return parse_key_info(&r.body),
                Ok(r) => {
                    let api = crate::provider::wire::parse_error(
                        self.inner.provider,
                        r.status,
                        &r.headers,
                        &r.body,
                        self.inner.key.expose(),
                    );
                    last = Some(Error::Api(Box::new(api)));
                    if r.status != 404 {
                        break;
                    }
                }
                Err(e) => {
                    last = Some(e);
                    break;
                }
            }
        }
        Err(last.unwrap_or(Error::Cancelled)) // the loop ran at least once
    }

    /// Fails with [`Error::CreditsExhausted`] when the key is known to be out of credit.
    pub(crate) fn check_credits(&self) -> Result<()> {
        if !self.inner.check_credits {
            return Ok(());
        }
        let stale =
            |c: &CreditCache| c.fetched.as_ref().is_none_or(|(at, _)| at.elapsed() > FRESH_FOR);
        if stale(&self.inner.credits.lock()) {
            let _one_at_a_time = self.inner.credit_refresh.0.lock();
            // Another thread may have refreshed it while we waited for the lock.
            if stale(&self.inner.credits.lock()) {
                // Unreadable key info (an old proxy, a network blip) must not stop the job:
                // the requests themselves will say 402 if credit really is gone.
                let info = self.openrouter_key_info().ok();
                let mut c = self.inner.credits.lock();
                if info.is_some() {
                    c.exhausted = false;
                }
                c.fetched = Some((Instant::now(), info));
            }
        }
        let c = self.inner.credits.lock();
        let info = c.fetched.as_ref().and_then(|(_, i)| i.as_ref());
        let remaining = info.and_then(|i| i.limit_remaining);
        if c.exhausted || info.is_some_and(OpenRouterKeyInfo::credits_exhausted) {
            return Err(Error::CreditsExhausted { remaining: remaining.unwrap_or(0.0) });
        }
        Ok(())
    }

    /// A 402: the key is out of credit until a refresh shows otherwise.
    pub(crate) fn mark_credits_exhausted(&self) {
        if self.inner.check_credits {
            let mut c = self.inner.credits.lock();
            c.exhausted = true;
            c.fetched = Some((Instant::now(), c.fetched.take().and_then(|(_, i)| i)));
        }
    }
}
