//! What each request would have cost: the emulator's own reading of a price table in the
//! client's documented JSON format (`{"models": [{"provider", "model", "input", "output",
//! ...}]}`, USD per million tokens), written from the format's description and not shared
//! with the client, so a test compares the client's accounting with an independent count.
//! Also OpenRouter's `GET /api/v1/models`, which lists the emulated models at the
//! configured per-token prices.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::config::{EmulatedProvider, EmulatorConfig};
use super::http::HttpResponse;

/// Input and output USD per million tokens of each model of the emulated provider.
#[derive(Debug, Clone, Default)]
pub(crate) struct Prices {
    by_model: HashMap<String, (f64, f64)>,
}

impl Prices {
    /// Reads the table's entries for `provider`; an entry without a numeric `input` and
    /// `output` is an error.
    pub(crate) fn parse(text: &str, provider: EmulatedProvider) -> Result<Prices, String> {
        let root: Value = serde_json::from_str(text).map_err(|e| format!("price table: {e}"))?;
        let models =
            root.get("models").and_then(Value::as_array).ok_or("price table: no `models` array")?;
        let mut by_model = HashMap::new();
        for m in models {
            let name = match provider {
                EmulatedProvider::OpenAI => "openai",
                EmulatedProvider::Anthropic => "anthropic",
                EmulatedProvider::OpenRouter => "openrouter",
            };
            if m.get("provider").and_then(Value::as_str) != Some(name) {
                continue;
            }
            let name = m
                .get("model")
                .and_then(Value::as_str)
                .ok_or("price table: an entry has no model")?;
            let price = |f: &str| {
                m.get(f).and_then(Value::as_f64).ok_or(format!("price table: {name} has no {f}"))
            };
            by_model.insert(name.to_string(), (price("input")?, price("output")?));
        }
        Ok(Prices { by_model })
    }

    /// The cost of `input` and `output` tokens of `model` (its exact name, else the name
    /// without a `-YYYY-MM-DD` / `-YYYYMMDD` / `-latest` suffix), `None` when unpriced.
    pub(crate) fn cost(&self, model: &str, input: u64, output: u64) -> Option<f64> {
        let (i, o) = self.by_model.get(model).or_else(|| self.by_model.get(base_name(model)?))?;
        Some((input as f64 * i + output as f64 * o) / 1e6)
    }
}

/// The model name without a dated suffix, when it has one.
fn base_name(model: &str) -> Option<&str> {
    if let Some(b) = model.strip_suffix("-latest") {
        return Some(b);
    }
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (head, last) = model.rsplit_once('-')?;
    if last.len() == 8 && all_digits(last) {
        return Some(head);
    }
    let (head, month) = head.rsplit_once('-')?;
    let (head, year) = head.rsplit_once('-')?;
    let dated = year.len() == 4 && month.len() == 2 && last.len() == 2;
    (dated && all_digits(year) && all_digits(month) && all_digits(last)).then_some(head)
}

/// OpenRouter's public model list: the accepted models (or a few well-known ids when any
/// name is accepted), each at the configured prompt and completion prices, as strings of
/// USD per token.
pub(crate) fn openrouter_models(cfg: &EmulatorConfig) -> HttpResponse {
    let defaults = ["openai/gpt-4o", "openai/gpt-4o-mini", "anthropic/claude-3.5-sonnet"];
    let ids: Vec<String> = match &cfg.models {
        Some(list) => list.clone(),
        None => defaults.iter().map(|s| s.to_string()).collect(),
    };
    let data: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({
                "id": id,
                "name": id,
                "context_length": 128_000,
                "pricing": {
                    "prompt": cfg.prompt_price.to_string(),
                    "completion": cfg.completion_price.to_string(),
                    "request": "0",
                    "image": "0",
                },
            })
        })
        .collect();
    HttpResponse::json(200, &json!({ "data": data }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_provider_and_matches_dated_names() {
        let text = r#"{"models": [
            {"provider": "openai", "model": "gpt-4o", "input": 2.5, "output": 10},
            {"provider": "anthropic", "model": "claude-sonnet-4", "input": 3, "output": 15}]}"#;
        let p = Prices::parse(text, EmulatedProvider::OpenAI).unwrap();
        assert_eq!(p.cost("gpt-4o-2024-08-06", 1_000_000, 0), Some(2.5));
        assert_eq!(p.cost("gpt-4o", 0, 1_000_000), Some(10.0));
        assert_eq!(p.cost("claude-sonnet-4", 1, 1), None);
        let a = Prices::parse(text, EmulatedProvider::Anthropic).unwrap();
        assert_eq!(a.cost("claude-sonnet-4-20250514", 1_000_000, 1_000_000), Some(18.0));
        assert!(Prices::parse(
            r#"{"models": [{"provider": "openai", "model": "x"}]}"#,
            EmulatedProvider::OpenAI
        )
        .is_err());
        assert_eq!(base_name("gpt-4o"), None);
    }
}
