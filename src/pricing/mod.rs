//! Money: what a request costs in US dollars, from a [`PriceTable`] of per-model prices.
//!
//! Not to be confused with `provider/cost.rs`, which is the *token* reservation of the rate
//! limiter. Prices are USD per million tokens (docs/pricing.md); the table is read from our
//! own JSON format, LiteLLM's `model_prices_and_context_window.json` or OpenRouter's
//! `GET /models` (`formats.rs`), and a small dated default table ships with the crate.

use std::collections::HashMap;

use crate::provider_id::Provider;
use crate::types::Usage;

mod formats;
mod matching;
#[cfg(test)]
mod tests;

/// The shipped default table (our JSON format), dated by its `prices_as_of`.
const DEFAULT_PRICES: &str = include_str!("default_prices.json");

/// The prices of one model, in USD per million tokens.
///
/// ```
/// use chat_limiter::ModelPrice;
/// let p = ModelPrice::new(3.0, 15.0).cached_input(0.3).cache_write(3.75).batch_discount(0.5);
/// assert_eq!(p.input, 3.0);
/// assert_eq!(p.cached_input, Some(0.3));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct ModelPrice {
    /// Uncached input tokens.
    pub input: f64,
    /// Cached input tokens read (OpenAI `cached_tokens`, Anthropic `cache_read_input_tokens`).
    /// Unset: charged at [`input`](Self::input), an upper bound.
    pub cached_input: Option<f64>,
    /// Anthropic: input tokens written to the cache. Unset: a response that wrote to the
    /// cache has no known cost.
    pub cache_write: Option<f64>,
    /// Output tokens (reasoning tokens included: the providers count them as output).
    pub output: f64,
    /// Fraction taken off every price by the provider's Batch API (0.5 = half price).
    pub batch_discount: f64,
}

impl ModelPrice {
    /// Input and output prices (USD per million tokens); no cache prices, no batch discount.
    pub fn new(input: f64, output: f64) -> Self {
        ModelPrice { input, cached_input: None, cache_write: None, output, batch_discount: 0.0 }
    }
    /// Sets the price of cached input tokens read.
    pub fn cached_input(mut self, usd_per_million: f64) -> Self {
        self.cached_input = Some(usd_per_million);
        self
    }
    /// Sets the price of input tokens written to the cache (Anthropic).
    pub fn cache_write(mut self, usd_per_million: f64) -> Self {
        self.cache_write = Some(usd_per_million);
        self
    }
    /// Sets the Batch API discount, a fraction in `[0, 1)`.
    pub fn batch_discount(mut self, fraction: f64) -> Self {
        self.batch_discount = fraction;
        self
    }

    /// The cost of `usage` at these prices (interactive, no batch discount), `None` when the
    /// usage holds tokens this price has no figure for (a cache write with no
    /// `cache_write` price).
    ///
    /// `Usage::prompt_tokens` includes the cached tokens on every provider (see [`Usage`]):
    /// the uncached part is charged at `input`, cache reads at `cached_input` (or `input`),
    /// Anthropic's cache writes at `cache_write`.
    pub fn cost_of(&self, usage: &Usage) -> Option<f64> {
        let read = usage.cache_read_input_tokens.unwrap_or(0);
        let write = usage.cache_creation_input_tokens.unwrap_or(0);
        let uncached = usage.prompt_tokens.saturating_sub(read).saturating_sub(write);
        let write_cost = match (write, self.cache_write) {
            (0, _) => 0.0,
            (w, Some(p)) => w as f64 * p,
            (_, None) => return None,
        };
        let read_cost = read as f64 * self.cached_input.unwrap_or(self.input);
        let total = uncached as f64 * self.input
            + read_cost
            + write_cost
            + usage.completion_tokens as f64 * self.output;
        Some(total / 1e6)
    }

    /// The most `prompt` input tokens and `output` output tokens can cost: no cache
    /// discount, and a cache write where it is dearer than plain input.
    pub fn worst_case(&self, prompt: u64, output: u64) -> f64 {
        let input = self.input.max(self.cache_write.unwrap_or(0.0));
        (prompt as f64 * input + output as f64 * self.output) / 1e6
    }

    /// Checks every figure is finite and not negative, and the discount below 1.
    fn check(&self, name: &str) -> Result<(), String> {
        let prices = [Some(self.input), self.cached_input, self.cache_write, Some(self.output)];
        if prices.iter().flatten().any(|p| !p.is_finite() || *p < 0.0) {
            return Err(format!("{name}: prices must be finite and not negative"));
        }
        if !(0.0..1.0).contains(&self.batch_discount) {
            return Err(format!("{name}: batch_discount must be in [0, 1)"));
        }
        Ok(())
    }
}

/// Per provider and model prices.
///
/// [`PriceTable::default`] is the small dated table shipped with the crate
/// ([`prices_as_of`](Self::prices_as_of) says when it was taken); prices change, so load
/// your own for anything that matters and [`merge`](Self::merge) it over the default. A
/// model is found by its exact name, then without a dated-snapshot suffix
/// (`gpt-4o-2024-08-06` → `gpt-4o`, `claude-sonnet-4-20250514` → `claude-sonnet-4`, a
/// trailing `-latest`). An unknown model has no cost (`None`), never 0.
///
/// ```
/// use chat_limiter::{PriceTable, Provider, Usage};
/// let table = PriceTable::default();
/// assert!(table.prices_as_of().is_some());
/// let usage = Usage::new(1_000_000, 100_000);
/// // gpt-4o: $2.50 per million input tokens, $10 per million output tokens.
/// let usd = usage.cost_usd(&table, Provider::OpenAI, "gpt-4o-2024-08-06").unwrap();
/// assert!((usd - 3.5).abs() < 1e-9);
/// assert_eq!(usage.cost_usd(&table, Provider::OpenAI, "my-finetune"), None);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PriceTable {
    /// Per provider, per model: looked up by `&str` on every request, with no allocation.
    prices: HashMap<Provider, HashMap<String, ModelPrice>>,
    as_of: Option<String>,
}

impl Default for PriceTable {
    /// The shipped table (see the type's docs).
    fn default() -> Self {
        // The shipped file is checked by the `default_table_parses` test; an empty table (every
        // cost unknown) is the honest fallback should it ever fail to parse.
        PriceTable::from_json(DEFAULT_PRICES).unwrap_or_else(|_| PriceTable::empty())
    }
}

impl PriceTable {
    /// A table with no prices: every cost is unknown.
    pub fn empty() -> Self {
        PriceTable { prices: HashMap::new(), as_of: None }
    }

    /// The date the prices were taken, when the table says (`prices_as_of`).
    pub fn prices_as_of(&self) -> Option<&str> {
        self.as_of.as_deref()
    }

    /// Number of models priced.
    pub fn len(&self) -> usize {
        self.prices.values().map(HashMap::len).sum()
    }

    /// Whether no model is priced.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sets (or replaces) the prices of one model.
    pub fn insert(&mut self, provider: Provider, model: impl Into<String>, price: ModelPrice) {
        self.prices.entry(provider).or_default().insert(model.into(), price);
    }

    /// Adds every price of `other`, replacing those of the same provider and model; its date
    /// wins when it has one.
    pub fn merge(&mut self, other: PriceTable) {
        for (provider, models) in other.prices {
            self.prices.entry(provider).or_default().extend(models);
        }
        if other.as_of.is_some() {
            self.as_of = other.as_of;
        }
    }

    /// The prices of `model` at `provider`: the exact name, then the name without a dated
    /// snapshot suffix.
    pub fn lookup(&self, provider: Provider, model: &str) -> Option<&ModelPrice> {
        let models = self.prices.get(&provider)?;
        models.get(model).or_else(|| models.get(matching::undated(model)?))
    }

    /// Every priced model, sorted by provider and name.
    pub fn models(&self) -> Vec<(Provider, &str, &ModelPrice)> {
        let mut v: Vec<_> = self
            .prices
            .iter()
            .flat_map(|(p, models)| models.iter().map(|(m, price)| (*p, m.as_str(), price)))
            .collect();
        v.sort_by(|a, b| (a.0.as_str(), a.1).cmp(&(b.0.as_str(), b.1)));
        v
    }
}

impl Usage {
    /// What this usage cost in USD: OpenRouter's own `cost` when the response carried one,
    /// else the table's price of `model` at `provider` ([`ModelPrice::cost_of`]). `None`
    /// when the model is not in the table (an unknown cost, never a silent 0).
    pub fn cost_usd(&self, table: &PriceTable, provider: Provider, model: &str) -> Option<f64> {
        if let Some(c) = self.cost.filter(|c| c.is_finite() && *c >= 0.0) {
            return Some(c);
        }
        table.lookup(provider, model)?.cost_of(self)
    }
}
