//! `run --dry-run`: read the whole input and print what the run would send and cost, sending
//! nothing and writing nothing (not even the output file).
//!
//! Per model: the lines, the estimated input tokens (the library's token counter: characters
//! / 4, or tiktoken's exact count when built with the `tiktoken` feature), the worst-case
//! output (`max_tokens × n`, or the library's `default_max_tokens` for a line that sets
//! none), and the cost range: expected = input + `--expected-output` × the worst-case output,
//! worst case = input + the whole worst-case output (at the dearer of the input and cache-
//! write price, as a `--max-cost` budget reserves it). The time is at the limits given by
//! the flags (`--request-limit`, `--token-limit`, ...), at their steady rate. With
//! `--via batch` the prices are less each model's Batch API discount. The output file is not
//! read: lines an earlier run already finished are counted too.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use chat_limiter::{Config, ModelPrice, PriceTable, Provider, TokenCounter};
use serde_json::Value;

use crate::args::Via;
use crate::input::{self, Defaults, Lines};
use crate::setup::resolve_provider;
use crate::{source, spend, Fatal, RunArgs};

/// `--expected-output`'s default: half of each line's `max_tokens`.
pub const DEFAULT_EXPECTED_OUTPUT: f64 = 0.5;

/// One model's totals.
#[derive(Debug, Default)]
struct Row {
    lines: u64,
    input: u64,
    max_output: u64,
    expected_usd: f64,
    worst_usd: f64,
    /// The price table has the model.
    priced: bool,
}

/// Runs the dry run; the exit code is 0 (2 for a usage error).
pub fn dry_run(args: &RunArgs) -> Result<u8, Fatal> {
    let ratio = args.expected_output;
    if !(0.0..=1.0).contains(&ratio) {
        return Err(Fatal::usage(format!("--expected-output must be in [0, 1], got {ratio}")));
    }
    let need_model = args.provider.is_none() && args.model.is_none();
    let input = source::open_input(args, need_model)?;
    let (provider, detected) = resolve_provider(args, input.first_model.clone())?;
    let table = spend::price_table(args)?;
    let counter = counter();
    let defaults = Defaults { model: args.model.clone(), provider, check_provider: detected };
    let default_max = u64::from(Config::default().default_max_tokens());
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    let mut invalid = 0u64;
    for line in Lines::new(input.reader) {
        let (_, text) =
            line.map_err(|e| Fatal::failed(format!("cannot read {}: {e}", args.input.display())))?;
        let Ok(req) = text.and_then(|t| input::parse_line(&t, &defaults).request) else {
            invalid += 1;
            continue;
        };
        let prompt = counter.count_prompt(&req).saturating_add(counter.count_media(provider, &req));
        let n = req.extra.get("n").and_then(Value::as_u64).unwrap_or(1).max(1);
        let max_output = req.max_tokens.map_or(default_max, u64::from).saturating_mul(n);
        let price = table.lookup(provider, &req.model).map(|p| discounted(p, args));
        add(rows.entry(req.model.clone()).or_default(), price, prompt, max_output, ratio);
    }
    print!("{}", render(args, provider, &table, &rows, invalid));
    Ok(0)
}

fn add(row: &mut Row, price: Option<ModelPrice>, prompt: u64, max_output: u64, ratio: f64) {
    row.lines += 1;
    row.input += prompt;
    row.max_output += max_output;
    if let Some(p) = price {
        row.priced = true;
        row.expected_usd += (prompt as f64 * p.input + max_output as f64 * ratio * p.output) / 1e6;
        row.worst_usd += p.worst_case(prompt, max_output);
    }
}

/// The price as the run pays it: with `--via batch`, less the Batch API discount.
fn discounted(p: &ModelPrice, args: &RunArgs) -> ModelPrice {
    if args.via != Via::Batch {
        return *p;
    }
    let f = 1.0 - p.batch_discount;
    let mut d = ModelPrice::new(p.input * f, p.output * f);
    d.cached_input = p.cached_input.map(|c| c * f);
    d.cache_write = p.cache_write.map(|c| c * f);
    d
}

/// The library's counter: exact for OpenAI models with the `tiktoken` feature.
fn counter() -> Arc<dyn TokenCounter> {
    #[cfg(feature = "tiktoken")]
    return Arc::new(chat_limiter::TiktokenCounter::new());
    #[cfg(not(feature = "tiktoken"))]
    Arc::new(chat_limiter::CharEstimator::default())
}

fn render(
    args: &RunArgs,
    provider: Provider,
    table: &PriceTable,
    rows: &BTreeMap<String, Row>,
    invalid: u64,
) -> String {
    let total_lines: u64 = rows.values().map(|r| r.lines).sum();
    let mut s = String::new();
    let as_of = table.prices_as_of().unwrap_or("an undated table");
    let _ = writeln!(
        s,
        "chat-limiter --dry-run: {} lines to {provider} (nothing sent, nothing written); \
         prices as of {as_of}{}",
        total_lines + invalid,
        if args.via == Via::Batch { ", less the Batch API discount (--via batch)" } else { "" }
    );
    let _ = writeln!(
        s,
        "{:<32} {:>8} {:>14} {:>14} {:>14} {:>14}",
        "model", "lines", "input tokens", "max output", "expected USD", "worst USD"
    );
    let usd = |r: &Row, v: f64| if r.priced { format!("{v:.6}") } else { "unknown".into() };
    for (model, r) in rows {
        let _ = writeln!(
            s,
            "{model:<32} {:>8} {:>14} {:>14} {:>14} {:>14}",
            r.lines,
            r.input,
            r.max_output,
            usd(r, r.expected_usd),
            usd(r, r.worst_usd)
        );
    }
    let sum = |f: fn(&Row) -> f64| rows.values().map(f).sum::<f64>();
    let _ = writeln!(
        s,
        "{:<32} {:>8} {:>14} {:>14} {:>14.6} {:>14.6}",
        "total",
        total_lines,
        rows.values().map(|r| r.input).sum::<u64>(),
        rows.values().map(|r| r.max_output).sum::<u64>(),
        sum(|r| r.expected_usd),
        sum(|r| r.worst_usd)
    );
    let unpriced: Vec<&str> =
        rows.iter().filter(|(_, r)| !r.priced).map(|(m, _)| m.as_str()).collect();
    if !unpriced.is_empty() {
        let _ = writeln!(
            s,
            "no price for {}: their cost is unknown and left out of the totals (--prices FILE)",
            unpriced.join(", ")
        );
    }
    if invalid > 0 {
        let _ = writeln!(s, "{invalid} lines cannot be sent (not a request): not counted");
    }
    let _ = writeln!(
        s,
        "expected output: {:.0}% of each line's max_tokens (--expected-output {})",
        args.expected_output * 100.0,
        args.expected_output
    );
    s.push_str(&time_line(args, provider, rows));
    s
}

/// The time at the limits given by the flags, and which one binds.
fn time_line(args: &RunArgs, provider: Provider, rows: &BTreeMap<String, Row>) -> String {
    let lines: u64 = rows.values().map(|r| r.lines).sum();
    let input: u64 = rows.values().map(|r| r.input).sum();
    let max_out: u64 = rows.values().map(|r| r.max_output).sum();
    let expected_out = max_out as f64 * args.expected_output;
    // In the limiter's accounting (provider/cost.rs): OpenAI and OpenRouter reserve prompt +
    // max output in one bucket and keep it; Anthropic counts input and the real output.
    let mut need: Vec<(&str, f64, Option<u32>)> =
        vec![("requests", lines as f64, args.request_limit)];
    if provider == Provider::Anthropic {
        need.push(("input tokens", input as f64, args.input_token_limit));
        need.push(("output tokens", expected_out, args.output_token_limit));
    } else {
        need.push(("tokens", (input + max_out) as f64, args.token_limit));
    }
    let binding = need
        .iter()
        .filter_map(|(name, n, limit)| limit.map(|l| (*name, n / f64::from(l.max(1)), l)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    match binding {
        Some((name, minutes, limit)) => {
            format!("time at the given limits: {minutes:.1} min ({name} bind: {limit}/min)\n")
        }
        None => "time: unknown (limits are learned when sending): pass --request-limit, \
                 --token-limit, --input-token-limit or --output-token-limit to estimate it\n"
            .into(),
    }
}
