//! Reading a [`PriceTable`]: our JSON format (docs/pricing.md), LiteLLM's
//! `model_prices_and_context_window.json`, and OpenRouter's `GET /models` answer.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::{ModelPrice, PriceTable};
use crate::error::{Error, Result};
use crate::provider_id::Provider;

/// One entry of our format.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    provider: String,
    model: String,
    input: f64,
    #[serde(default)]
    cached_input: Option<f64>,
    #[serde(default)]
    cache_write: Option<f64>,
    output: f64,
    #[serde(default)]
    batch_discount: f64,
}

/// Our format's top level.
#[derive(Deserialize)]
struct File {
    #[serde(default)]
    prices_as_of: Option<String>,
    models: Vec<Entry>,
}

fn bad(what: &str, e: impl std::fmt::Display) -> Error {
    Error::PriceTable(format!("{what}: {e}"))
}

impl PriceTable {
    /// Reads our format: `{"prices_as_of": "2025-10-01", "models": [{"provider": "openai",
    /// "model": "gpt-4o", "input": 2.5, "cached_input": 1.25, "output": 10,
    /// "batch_discount": 0.5}, ...]}`, prices in USD per million tokens (docs/pricing.md).
    ///
    /// Errors: [`Error::PriceTable`] naming the entry at fault (unknown provider or field, a
    /// negative or non-finite price, a discount outside `[0, 1)`).
    pub fn from_json(text: &str) -> Result<PriceTable> {
        let file: File = serde_json::from_str(text).map_err(|e| bad("price table", e))?;
        let mut table = PriceTable::empty();
        table.as_of = file.prices_as_of;
        for e in file.models {
            let name = format!("{}/{}", e.provider, e.model);
            let provider: Provider = e.provider.parse().map_err(|err| bad(&name, err))?;
            let price = ModelPrice {
                input: e.input,
                cached_input: e.cached_input,
                cache_write: e.cache_write,
                output: e.output,
                batch_discount: e.batch_discount,
            };
            price.check(&name).map_err(Error::PriceTable)?;
            table.insert(provider, e.model, price);
        }
        Ok(table)
    }

    /// Reads LiteLLM's `model_prices_and_context_window.json`: an object of model name →
    /// `{"litellm_provider", "input_cost_per_token", "output_cost_per_token",
    /// "cache_read_input_token_cost", "cache_creation_input_token_cost",
    /// "input_cost_per_token_batches", ...}`, USD per token. Only entries whose
    /// `litellm_provider` is `openai`, `anthropic` or `openrouter` and that have both an input
    /// and an output price are kept; a `provider/` prefix on the name is dropped
    /// (`openrouter/openai/gpt-4o` → `openai/gpt-4o` at OpenRouter).
    pub fn from_litellm_json(text: &str) -> Result<PriceTable> {
        let root: Value = serde_json::from_str(text).map_err(|e| bad("LiteLLM prices", e))?;
        let Some(entries) = root.as_object() else {
            return Err(bad("LiteLLM prices", "the top level is not an object"));
        };
        let mut table = PriceTable::empty();
        for (name, entry) in entries {
            let provider = entry.get("litellm_provider").and_then(Value::as_str);
            let Some(provider) = provider.and_then(|p| p.parse::<Provider>().ok()) else {
                continue;
            };
            let per_m = |field: &str| number(entry.get(field)).map(|usd| usd * 1e6);
            let (Some(input), Some(output)) =
                (per_m("input_cost_per_token"), per_m("output_cost_per_token"))
            else {
                continue;
            };
            let batch_discount = match per_m("input_cost_per_token_batches") {
                Some(b) if input > 0.0 && b <= input => 1.0 - b / input,
                _ => 0.0,
            };
            let price = ModelPrice {
                input,
                cached_input: per_m("cache_read_input_token_cost"),
                cache_write: per_m("cache_creation_input_token_cost"),
                output,
                batch_discount,
            };
            price.check(name).map_err(Error::PriceTable)?;
            let prefix = format!("{}/", provider.as_str());
            let model = name.strip_prefix(&prefix).unwrap_or(name);
            table.insert(provider, model, price);
        }
        Ok(table)
    }

    /// Reads OpenRouter's `GET /api/v1/models` answer: `data[].id` and
    /// `data[].pricing.prompt` / `.completion` / `.input_cache_read` / `.input_cache_write`,
    /// USD per token as strings. Models with no prompt or completion price are skipped.
    pub fn from_openrouter_models(text: &str) -> Result<PriceTable> {
        let root: Value = serde_json::from_str(text).map_err(|e| bad("OpenRouter models", e))?;
        let Some(data) = root.get("data").and_then(Value::as_array) else {
            return Err(bad("OpenRouter models", "no `data` array"));
        };
        let mut table = PriceTable::empty();
        for m in data {
            let (Some(id), Some(pricing)) = (m.get("id").and_then(Value::as_str), m.get("pricing"))
            else {
                continue;
            };
            let per_m = |field: &str| number(pricing.get(field)).map(|usd| usd * 1e6);
            let (Some(input), Some(output)) = (per_m("prompt"), per_m("completion")) else {
                continue;
            };
            let price = ModelPrice {
                input,
                cached_input: per_m("input_cache_read"),
                cache_write: per_m("input_cache_write"),
                output,
                batch_discount: 0.0,
            };
            // OpenRouter marks "varies" (its auto router) with -1: no known price.
            if price.check(id).is_ok() {
                table.insert(Provider::OpenRouter, id, price);
            }
        }
        Ok(table)
    }

    /// Reads a file in our format or LiteLLM's, told apart by the top-level `models` array.
    pub fn from_file(path: impl AsRef<Path>) -> Result<PriceTable> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| bad(&format!("cannot read {}", path.display()), e))?;
        let ours = serde_json::from_str::<Value>(&text)
            .map_err(|e| bad(&path.display().to_string(), e))?
            .get("models")
            .is_some_and(Value::is_array);
        if ours {
            PriceTable::from_json(&text)
        } else {
            PriceTable::from_litellm_json(&text)
        }
    }
}

/// A price written as a JSON number or a numeric string (OpenRouter writes strings).
fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}
