//! The request path's side of money: each attempt's worst-case cost reserved against the
//! [`Budget`] (when there is one), its real cost from the response's usage and the price
//! table, and the totals that [`ChatLimiter::spend`](crate::ChatLimiter::spend) reports.

use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use super::{Budget, BudgetSnapshot, Hold};
use crate::error::{Error, Result};
use crate::pricing::PriceTable;
use crate::provider_id::Provider;
use crate::types::{ChatCompletionResponse, Usage};

/// What a successful answer does with its attempt's [`Charge`].
pub(crate) trait Billed {
    /// Settles `charge` with the usage the answer reports, or keeps it until the usage is
    /// known (a stream settles when it ends; its impl is in `src/stream/`).
    fn bill(&mut self, charge: Charge);
}

impl Billed for ChatCompletionResponse {
    fn bill(&mut self, charge: Charge) {
        charge.settle(self.usage.as_ref());
    }
}

/// Money spent through one limiter, from [`ChatLimiter::spend`](crate::ChatLimiter::spend).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub struct SpendSnapshot {
    /// The real cost of the answers whose usage and price were known, USD.
    pub spent_usd: f64,
    /// Worst-case costs counted for answers whose real cost is unknown (streams that broke or
    /// were dropped before their usage arrived, raw requests, unreadable answers), USD.
    pub estimated_usd: f64,
    /// Answers priced (their real cost is in `spent_usd`).
    pub priced: u64,
    /// Answers that could not be priced: their model is not in the price table (their cost
    /// is in neither total).
    pub unpriced: u64,
    /// The budget, when one is set (with Redis: its state across every process).
    pub budget: Option<BudgetSnapshot>,
}

/// The engine's money state: the price table, the budget, the totals (shared with the
/// charges of answers still running, such as streams).
pub(crate) struct Spend {
    table: Arc<RwLock<PriceTable>>,
    budget: Option<Budget>,
    totals: Arc<Mutex<SpendSnapshot>>,
}

impl Spend {
    pub(crate) fn new(table: PriceTable, budget: Option<Budget>) -> Self {
        Spend {
            table: Arc::new(RwLock::new(table)),
            budget,
            totals: Arc::new(Mutex::new(SpendSnapshot::default())),
        }
    }

    /// The price table in use.
    pub(crate) fn table(&self) -> PriceTable {
        self.table.read().clone()
    }

    /// Adds (or replaces) prices.
    pub(crate) fn merge_prices(&self, more: PriceTable) {
        self.table.write().merge(more);
    }

    /// The totals so far.
    pub(crate) fn snapshot(&self) -> SpendSnapshot {
        let mut s = *self.totals.lock();
        s.budget = self.budget.as_ref().map(Budget::snapshot);
        s
    }

    /// Before an attempt: prices its worst case (`prompt` input tokens, `output` output
    /// tokens in all) and reserves it against the budget. Nothing is reserved for a call
    /// that carries no tokens (a raw `GET`).
    ///
    /// Errors: [`Error::BudgetExhausted`] when it does not fit; [`Error::PriceTable`] when a
    /// budget is set and the model has no price (the budget could not be kept).
    pub(crate) fn reserve(
        &self,
        provider: Provider,
        model: &Arc<str>,
        prompt: u64,
        output: u64,
    ) -> Result<Charge> {
        let worst = self.table.read().lookup(provider, model).map(|p| p.worst_case(prompt, output));
        let empty = prompt == 0 && output == 0;
        let hold = match (&self.budget, worst) {
            (_, _) if empty => None,
            (Some(budget), Some(worst)) => Some(budget.reserve(worst)?),
            (Some(_), None) => {
                return Err(Error::PriceTable(format!(
                    "no price for {}/{model}: a budget needs every model priced; add it to \
                     the price table (docs/pricing.md)",
                    provider.as_str()
                )))
            }
            (None, _) => None,
        };
        // A call with no tokens has nothing to count, priced or not.
        let worst = if empty { Some(0.0) } else { worst };
        Ok(Charge {
            table: Arc::clone(&self.table),
            totals: Arc::clone(&self.totals),
            provider,
            model: Arc::clone(model),
            worst,
            hold,
            done: empty,
        })
    }
}

/// One attempt's money: settled once with what the answer says, or, dropped unsettled
/// (the outcome unknown), counted at its worst case.
pub(crate) struct Charge {
    table: Arc<RwLock<PriceTable>>,
    totals: Arc<Mutex<SpendSnapshot>>,
    provider: Provider,
    model: Arc<str>,
    /// The worst-case cost, when the model is priced.
    worst: Option<f64>,
    hold: Option<Hold>,
    /// Settled or released.
    done: bool,
}

impl std::fmt::Debug for Charge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Charge")
            .field("model", &self.model)
            .field("worst", &self.worst)
            .finish_non_exhaustive()
    }
}

impl Charge {
    /// A 2xx answer: its real cost when its usage is known and priced, else its worst case.
    pub(crate) fn settle(mut self, usage: Option<&Usage>) {
        self.done = true;
        let table = self.table.read();
        let real = usage.and_then(|u| u.cost_usd(&table, self.provider, &self.model));
        drop(table);
        let mut t = self.totals.lock();
        match (real, self.worst) {
            (Some(usd), _) => {
                t.spent_usd += usd;
                t.priced += 1;
                if let Some(h) = self.hold.take() {
                    h.settle(usd);
                }
            }
            // Dropping the hold keeps the worst case reserved as spent.
            (None, Some(worst)) => t.estimated_usd += worst,
            (None, None) => t.unpriced += 1,
        }
    }

    /// After a failed attempt: an error status was not billed (providers do not bill those);
    /// any other failure (a cut connection, an unreadable body) may have been billed and
    /// keeps its worst case. (A success settles through [`Billed::bill`].)
    pub(crate) fn failed(self, err: &Error) {
        match err {
            Error::Api(_) => self.not_billed(),
            _ => drop(self),
        }
    }

    /// The provider answered with an error status: providers do not bill those.
    pub(crate) fn not_billed(mut self) {
        self.done = true;
        if let Some(h) = self.hold.take() {
            h.release();
        }
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        // Unsettled: the answer may have been billed (a cut connection, an unreadable body).
        // Its worst case stays reserved (the hold's drop) and is counted as estimated.
        if !self.done {
            if let Some(worst) = self.worst {
                self.totals.lock().estimated_usd += worst;
            }
        }
    }
}
