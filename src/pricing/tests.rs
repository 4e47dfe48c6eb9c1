use super::*;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

#[test]
fn default_table_parses_and_is_dated() {
    let table = PriceTable::from_json(DEFAULT_PRICES).expect("the shipped table parses");
    assert_eq!(table.prices_as_of(), Some("2025-10-01"));
    assert_eq!(PriceTable::default(), table);
    for (provider, model) in [
        (Provider::OpenAI, "gpt-4o"),
        (Provider::OpenAI, "gpt-4o-mini"),
        (Provider::OpenAI, "gpt-4.1-nano"),
        (Provider::OpenAI, "o3"),
        (Provider::OpenAI, "o4-mini"),
        (Provider::Anthropic, "claude-3-5-sonnet"),
        (Provider::Anthropic, "claude-3-7-sonnet"),
        (Provider::Anthropic, "claude-sonnet-4"),
        (Provider::Anthropic, "claude-3-5-haiku"),
        (Provider::Anthropic, "claude-opus-4"),
    ] {
        assert!(table.lookup(provider, model).is_some(), "{provider}/{model}");
    }
}

#[test]
fn dated_snapshots_match_their_base_model_exact_names_first() {
    let mut table = PriceTable::empty();
    table.insert(Provider::OpenAI, "gpt-4o", ModelPrice::new(2.5, 10.0));
    table.insert(Provider::OpenAI, "gpt-4o-2024-05-13", ModelPrice::new(5.0, 15.0));
    assert_eq!(table.lookup(Provider::OpenAI, "gpt-4o-2024-08-06").unwrap().input, 2.5);
    assert_eq!(table.lookup(Provider::OpenAI, "gpt-4o-2024-05-13").unwrap().input, 5.0);
    assert!(table.lookup(Provider::Anthropic, "gpt-4o").is_none());
    assert!(table.lookup(Provider::OpenAI, "gpt-4o-mini").is_none());
}

#[test]
fn openai_cached_tokens_are_part_of_the_prompt() {
    let p = ModelPrice::new(2.0, 8.0).cached_input(0.5);
    let usage = Usage { cache_read_input_tokens: Some(400), ..Usage::new(1_000, 100) };
    // 600 uncached × 2 + 400 cached × 0.5 + 100 × 8, per million.
    assert!(close(p.cost_of(&usage).unwrap(), (1_200.0 + 200.0 + 800.0) / 1e6));
    // No cached price: cache reads at the input price (an upper bound).
    let q = ModelPrice::new(2.0, 8.0);
    assert!(close(q.cost_of(&usage).unwrap(), (2_000.0 + 800.0) / 1e6));
}

#[test]
fn anthropic_cache_writes_need_a_price() {
    let p = ModelPrice::new(3.0, 15.0).cached_input(0.3).cache_write(3.75);
    let usage = Usage {
        cache_creation_input_tokens: Some(200),
        cache_read_input_tokens: Some(500),
        ..Usage::new(1_000, 10)
    };
    let want = (300.0 * 3.0 + 500.0 * 0.3 + 200.0 * 3.75 + 10.0 * 15.0) / 1e6;
    assert!(close(p.cost_of(&usage).unwrap(), want));
    assert_eq!(ModelPrice::new(3.0, 15.0).cost_of(&usage), None);
    // The worst case charges every input token at the dearer cache-write price.
    assert!(close(p.worst_case(1_000, 10), (3_750.0 + 150.0) / 1e6));
}

#[test]
fn openrouter_usage_cost_wins_and_unknown_models_are_none() {
    let table = PriceTable::default();
    let usage = Usage { cost: Some(0.0123), ..Usage::new(10, 10) };
    assert_eq!(usage.cost_usd(&table, Provider::OpenRouter, "unknown/model"), Some(0.0123));
    assert_eq!(Usage::new(10, 10).cost_usd(&table, Provider::OpenRouter, "unknown/model"), None);
    assert_eq!(Usage::new(10, 10).cost_usd(&table, Provider::OpenAI, "gpt-unknown"), None);
}

#[test]
fn our_format_rejects_bad_entries_by_name() {
    let bad = [
        (r#"{"models": [{"provider": "acme", "model": "m", "input": 1, "output": 1}]}"#, "acme/m"),
        (
            r#"{"models": [{"provider": "openai", "model": "m", "input": -1, "output": 1}]}"#,
            "openai/m",
        ),
        (
            r#"{"models": [{"provider": "openai", "model": "m", "input": 1, "output": 1, "batch_discount": 1.5}]}"#,
            "batch_discount",
        ),
        (
            r#"{"models": [{"provider": "openai", "model": "m", "input": 1, "output": 1, "inptu": 2}]}"#,
            "inptu",
        ),
        ("not json", "price table"),
    ];
    for (text, named) in bad {
        let e = PriceTable::from_json(text).unwrap_err();
        assert!(matches!(e, crate::Error::PriceTable(_)), "{e}");
        assert!(e.to_string().contains(named), "{named}: {e}");
    }
}

#[test]
fn litellm_format_is_read() {
    let text = r#"{
        "sample_spec": {"max_tokens": "set to max_output_tokens if provider specifies it"},
        "gpt-4o": {"litellm_provider": "openai", "mode": "chat",
                   "input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05,
                   "cache_read_input_token_cost": 1.25e-06,
                   "input_cost_per_token_batches": 1.25e-06, "output_cost_per_token_batches": 5e-06},
        "claude-3-5-haiku-20241022": {"litellm_provider": "anthropic",
                   "input_cost_per_token": 8e-07, "output_cost_per_token": 4e-06,
                   "cache_creation_input_token_cost": 1e-06, "cache_read_input_token_cost": 8e-08},
        "openrouter/openai/gpt-4o-mini": {"litellm_provider": "openrouter",
                   "input_cost_per_token": 1.5e-07, "output_cost_per_token": 6e-07},
        "bedrock/anthropic.claude-v2": {"litellm_provider": "bedrock",
                   "input_cost_per_token": 8e-06, "output_cost_per_token": 2.4e-05},
        "text-embedding-3-small": {"litellm_provider": "openai", "input_cost_per_token": 2e-08}
    }"#;
    let t = PriceTable::from_litellm_json(text).unwrap();
    assert_eq!(t.len(), 3, "{:?}", t.models());
    let gpt = t.lookup(Provider::OpenAI, "gpt-4o").unwrap();
    assert!(close(gpt.input, 2.5) && close(gpt.output, 10.0));
    assert!(close(gpt.cached_input.unwrap(), 1.25) && close(gpt.batch_discount, 0.5));
    let haiku = t.lookup(Provider::Anthropic, "claude-3-5-haiku-20241022").unwrap();
    assert!(close(haiku.cache_write.unwrap(), 1.0) && close(haiku.cached_input.unwrap(), 0.08));
    let or = t.lookup(Provider::OpenRouter, "openai/gpt-4o-mini").unwrap();
    assert!(close(or.input, 0.15) && close(or.output, 0.6));
    assert!(t.lookup(Provider::OpenAI, "text-embedding-3-small").is_none());
    assert!(PriceTable::from_litellm_json("[1, 2]").is_err());
}

#[test]
fn openrouter_models_answer_is_read() {
    let text = r#"{"data": [
        {"id": "openai/gpt-4o", "pricing": {"prompt": "0.0000025", "completion": "0.00001",
                                            "input_cache_read": "0.00000125"}},
        {"id": "openrouter/auto", "pricing": {"prompt": "-1", "completion": "-1"}},
        {"id": "meta-llama/llama-3-8b:free", "pricing": {"prompt": "0", "completion": "0"}},
        {"id": "no/pricing"}
    ]}"#;
    let t = PriceTable::from_openrouter_models(text).unwrap();
    assert_eq!(t.len(), 2);
    let p = t.lookup(Provider::OpenRouter, "openai/gpt-4o").unwrap();
    assert!(close(p.input, 2.5) && close(p.output, 10.0) && close(p.cached_input.unwrap(), 1.25));
    assert_eq!(t.lookup(Provider::OpenRouter, "meta-llama/llama-3-8b:free").unwrap().input, 0.0);
    assert!(PriceTable::from_openrouter_models(r#"{"models": []}"#).is_err());
}

#[test]
fn merge_overrides_and_from_file_tells_the_formats_apart() {
    let dir = std::env::temp_dir().join(format!("chat-limiter-prices-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ours = dir.join("ours.json");
    std::fs::write(
        &ours,
        r#"{"prices_as_of": "2030-01-01", "models": [{"provider": "openai", "model": "gpt-4o", "input": 1, "output": 2}]}"#,
    )
    .unwrap();
    let litellm = dir.join("litellm.json");
    std::fs::write(
        &litellm,
        r#"{"my-ft": {"litellm_provider": "openai", "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06}}"#,
    )
    .unwrap();
    let mut table = PriceTable::default();
    table.merge(PriceTable::from_file(&ours).unwrap());
    table.merge(PriceTable::from_file(&litellm).unwrap());
    assert_eq!(table.prices_as_of(), Some("2030-01-01"));
    assert_eq!(table.lookup(Provider::OpenAI, "gpt-4o").unwrap().input, 1.0);
    assert!(close(table.lookup(Provider::OpenAI, "my-ft").unwrap().output, 2.0));
    assert!(table.lookup(Provider::OpenAI, "gpt-4o-mini").is_some());
    let missing = PriceTable::from_file(dir.join("missing.json")).unwrap_err();
    assert!(missing.to_string().contains("missing.json"), "{missing}");
    std::fs::remove_dir_all(&dir).unwrap();
}
