//! The spending limit: a [`Budget`] in USD that every request reserves its worst-case cost
//! against before it is sent and settles to its real cost after, like the token buckets, so
//! any number of requests in flight can never take it past its limit.
//!
//! Amounts are kept as whole nanodollars (1e-9 USD), rounded up, so sums are exact and the
//! same in this process and in Redis. The request path's side (which price, which usage)
//! is `spend.rs`.

use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use crate::error::{Error, Result};

#[cfg(feature = "redis")]
mod redis;
mod spend;
#[cfg(test)]
mod tests;

pub use spend::SpendSnapshot;
pub(crate) use spend::{Billed, Charge, Spend};

/// USD as whole nanodollars, rounded up (a cost is never under-counted).
pub(crate) fn to_nano(usd: f64) -> u64 {
    if usd.is_finite() && usd > 0.0 {
        (usd * 1e9).ceil() as u64
    } else {
        0
    }
}

fn to_usd(nano: u64) -> f64 {
    nano as f64 / 1e9
}

/// What a reservation came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reserve {
    /// Reserved.
    Granted,
    /// The budget is (now) exhausted; `spent` nanodollars are settled.
    Exhausted { spent: u64 },
}

/// A budget's counters, in nanodollars.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Levels {
    pub spent: u64,
    pub reserved: u64,
    pub exhausted: bool,
}

/// Where a budget's counters live: this process, or Redis.
pub(crate) trait BudgetStore: Send + Sync {
    /// Reserves `amount` under `limit`. When it does not fit beside the other reservations
    /// but would once they settle, waits for them; when it cannot fit even then, marks the
    /// budget exhausted, so that no later request is admitted either.
    fn reserve(&self, limit: u64, amount: u64) -> Result<Reserve>;
    /// Replaces a reservation of `reserved` by the real cost `actual`.
    fn settle(&self, reserved: u64, actual: u64) -> Result<()>;
    /// The counters now; `exhausted` as seen under `limit`.
    fn levels(&self, limit: u64) -> Result<Levels>;
}

/// A spending limit in US dollars, shared by every limiter (and, with Redis, every process)
/// given it.
///
/// Each request reserves its worst-case cost (prompt estimate at the input price, plus
/// `max_tokens × n` at the output price) after the rate limiter admits it and before it is
/// sent, and settles to the real cost from the response's usage after. When the next request
/// cannot fit, even once the requests in flight have settled, the budget is exhausted: that
/// request and every later one fail with [`Error::BudgetExhausted`] without being sent, and
/// what is in flight finishes. Cheap to clone (an `Arc` inside).
///
/// ```
/// use chat_limiter_emulator::Emulator;
/// use chat_limiter::{Budget, ChatLimiter, Error};
///
/// let emu = Emulator::openai().start().unwrap();
/// let budget = Budget::new(0.0001)?; // a tenth of a cent
/// let limiter = ChatLimiter::builder()
///     .model("gpt-4o").api_key("sk-test").base_url(emu.base_url())
///     .budget(budget.clone())
///     .build()?;
/// // 1000 output tokens of gpt-4o could cost $0.01: more than the budget, so nothing is sent.
/// let err = limiter.simple_chat("gpt-4o", "Hello", 1000).unwrap_err();
/// assert!(matches!(err, Error::BudgetExhausted { .. }));
/// assert_eq!(emu.stats().requests, 0);
/// assert!(budget.snapshot().exhausted);
/// # Ok::<_, chat_limiter::Error>(())
/// ```
#[derive(Clone)]
pub struct Budget {
    limit: u64,
    store: Arc<dyn BudgetStore>,
}

impl std::fmt::Debug for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budget").field("limit_usd", &self.limit_usd()).finish_non_exhaustive()
    }
}

/// A budget's state, from [`Budget::snapshot`].
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct BudgetSnapshot {
    /// The limit, USD.
    pub limit_usd: f64,
    /// Settled so far (real costs, and worst cases where the real cost is unknown), USD.
    pub spent_usd: f64,
    /// Reserved by requests in flight, USD.
    pub reserved_usd: f64,
    /// A request did not fit: nothing more is admitted.
    pub exhausted: bool,
}

impl Budget {
    /// A budget of `max_usd` kept in this process.
    ///
    /// Errors: [`Error::Config`] when `max_usd` is negative or not finite.
    pub fn new(max_usd: f64) -> Result<Budget> {
        Ok(Budget { limit: check_limit(max_usd)?, store: Arc::new(LocalStore::default()) })
    }

    /// A budget of `max_usd` kept in Redis under the key `chat-limiter:budget:{name}`, shared
    /// by every process that opens the same name (feature `redis`). The limit is each
    /// process's own: a rerun may raise it. Redis unreachable fails the request with
    /// [`Error::Store`] (a hard stop fails closed).
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn redis(url: &str, name: &str, max_usd: f64) -> Result<Budget> {
        let limit = check_limit(max_usd)?;
        Ok(Budget { limit, store: Arc::new(redis::RedisBudget::new(url, name)?) })
    }

    /// The limit, USD.
    pub fn limit_usd(&self) -> f64 {
        to_usd(self.limit)
    }

    /// The budget's state now (with Redis: of every process sharing it; all zeros when
    /// Redis cannot be read).
    pub fn snapshot(&self) -> BudgetSnapshot {
        let l = self.store.levels(self.limit).unwrap_or_default();
        BudgetSnapshot {
            limit_usd: self.limit_usd(),
            spent_usd: to_usd(l.spent),
            reserved_usd: to_usd(l.reserved),
            exhausted: l.exhausted,
        }
    }

    /// Reserves `usd`; the hold settles (or keeps the reservation) when done.
    pub(crate) fn reserve(&self, usd: f64) -> Result<Hold> {
        let amount = to_nano(usd);
        match self.store.reserve(self.limit, amount)? {
            Reserve::Granted => Ok(Hold { budget: self.clone(), amount, done: false }),
            Reserve::Exhausted { spent } => {
                // Debug per refusal: the first refusal's story is the run's own stop message.
                log::debug!(
                    target: "chat_limiter::budget",
                    "budget: ${:.4} spent of ${:.4}; a request needing up to ${:.4} is not sent",
                    to_usd(spent),
                    self.limit_usd(),
                    to_usd(amount)
                );
                Err(Error::BudgetExhausted {
                    limit_usd: self.limit_usd(),
                    spent_usd: to_usd(spent),
                    needed_usd: to_usd(amount),
                })
            }
        }
    }
}

fn check_limit(max_usd: f64) -> Result<u64> {
    if !max_usd.is_finite() || max_usd < 0.0 {
        return Err(Error::Config(format!(
            "max_cost must be a finite USD amount >= 0, got {max_usd}"
        )));
    }
    // Rounded down: the limit is never raised by the conversion.
    Ok((max_usd * 1e9).floor() as u64)
}

/// A reservation in flight. Dropped without [`settle`](Self::settle) or
/// [`release`](Self::release) (the real cost unknown), it keeps its worst case as spent.
#[derive(Debug)]
pub(crate) struct Hold {
    budget: Budget,
    amount: u64,
    done: bool,
}

impl Hold {
    /// Settles to the real cost.
    pub(crate) fn settle(mut self, actual_usd: f64) {
        self.finish(to_nano(actual_usd));
    }
    /// Nothing was charged (the provider answered with an error).
    pub(crate) fn release(mut self) {
        self.finish(0);
    }
    fn finish(&mut self, actual: u64) {
        self.done = true;
        if let Err(e) = self.budget.store.settle(self.amount, actual) {
            // The reservation stays counted: the budget errs on the side of spending less.
            log::warn!(target: "chat_limiter::budget", "budget: could not settle a reservation ({e}); it stays counted");
        }
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        if !self.done {
            self.finish(self.amount);
        }
    }
}

/// A budget in this process: the counters behind a Mutex, a Condvar for requests waiting for
/// the ones in flight to settle.
#[derive(Default)]
struct LocalStore {
    levels: Mutex<Levels>,
    settled: Condvar,
}

impl BudgetStore for LocalStore {
    fn reserve(&self, limit: u64, amount: u64) -> Result<Reserve> {
        let mut l = self.levels.lock();
        loop {
            if l.exhausted {
                return Ok(Reserve::Exhausted { spent: l.spent });
            }
            let committed = l.spent.saturating_add(amount);
            if committed.saturating_add(l.reserved) <= limit {
                l.reserved += amount;
                return Ok(Reserve::Granted);
            }
            if committed > limit || l.reserved == 0 {
                l.exhausted = true;
                log::warn!(
                    target: "chat_limiter::budget",
                    "budget of ${:.4} reached (${:.4} spent): no more requests are sent",
                    to_usd(limit),
                    to_usd(l.spent)
                );
                self.settled.notify_all();
                return Ok(Reserve::Exhausted { spent: l.spent });
            }
            // It fits once the requests in flight settle below their worst case.
            self.settled.wait(&mut l);
        }
    }

    fn settle(&self, reserved: u64, actual: u64) -> Result<()> {
        let mut l = self.levels.lock();
        l.reserved = l.reserved.saturating_sub(reserved);
        l.spent = l.spent.saturating_add(actual);
        self.settled.notify_all();
        Ok(())
    }

    fn levels(&self, _limit: u64) -> Result<Levels> {
        Ok(*self.levels.lock())
    }
}
