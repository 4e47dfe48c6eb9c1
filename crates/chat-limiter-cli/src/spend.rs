//! Money in `run`: the price table (`--prices` over the shipped default), the budget
//! (`--max-cost`, shared through Redis with `--budget-name`), and the spend lines of the
//! summary.

use std::fmt::Write as _;

use chat_limiter::{ChatLimiter, ChatLimiterBuilder, PriceTable, Provider, SpendSnapshot};
use serde::Serialize;

use crate::args::Via;
use crate::{Fatal, RunArgs};

/// The price table of the run: the shipped default, with `--prices` merged over it.
pub fn price_table(args: &RunArgs) -> Result<PriceTable, Fatal> {
    let mut table = PriceTable::default();
    if let Some(path) = &args.prices {
        table.merge(PriceTable::from_file(path)?);
    }
    Ok(table)
}

/// Adds the price table and the budget to the limiter's builder.
pub fn configure(args: &RunArgs, b: ChatLimiterBuilder) -> Result<ChatLimiterBuilder, Fatal> {
    let b = b.price_table(price_table(args)?);
    let Some(usd) = args.max_cost else { return Ok(b) };
    if args.via != Via::Realtime {
        // Not silently ignored: a provider batch is submitted whole, so no per-request
        // reservation could stop it midway.
        return Err(Fatal::usage(
            "--max-cost works with --via realtime only: a provider batch is submitted whole \
             and cannot be stopped midway by the budget (check its cost with --dry-run)",
        ));
    }
    match (&args.budget_name, &args.redis) {
        #[cfg(feature = "redis")]
        (Some(name), Some(url)) => Ok(b.budget(chat_limiter::Budget::redis(url, name, usd)?)),
        #[cfg(not(feature = "redis"))]
        (Some(_), Some(_)) => {
            Err(Fatal::usage("--budget-name needs a chat-limiter built with the `redis` feature"))
        }
        _ => Ok(b.max_cost(usd)),
    }
}

/// After the limiter is built: with a budget on OpenRouter, its public model list gives the
/// prices the worst cases are reserved at.
pub fn after_build(args: &RunArgs, limiter: &ChatLimiter) -> Result<(), Fatal> {
    if args.max_cost.is_some() && limiter.provider() == Provider::OpenRouter {
        limiter.load_openrouter_prices().map_err(|e| {
            Fatal::failed(format!(
                "--max-cost needs OpenRouter's prices and GET /models failed: {e}; nothing was sent"
            ))
        })?;
    }
    Ok(())
}

/// The money part of the summary (`--stats-json` field `spend`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SpendSummary {
    /// Real cost of the answers priced, USD.
    pub spent_usd: f64,
    /// Worst cases counted for answers whose real cost is unknown, USD.
    pub estimated_usd: f64,
    /// Answers priced.
    pub priced: u64,
    /// Answers whose model has no price (their cost is unknown, not zero).
    pub unpriced: u64,
    /// `--max-cost`, when given.
    pub max_cost_usd: Option<f64>,
    /// With a shared budget: spent by every process sharing it, USD.
    pub budget_spent_usd: Option<f64>,
}

impl SpendSummary {
    /// From the limiter's spend.
    pub fn new(s: &SpendSnapshot) -> Self {
        SpendSummary {
            spent_usd: s.spent_usd,
            estimated_usd: s.estimated_usd,
            priced: s.priced,
            unpriced: s.unpriced,
            max_cost_usd: s.budget.map(|b| b.limit_usd),
            budget_spent_usd: s.budget.map(|b| b.spent_usd),
        }
    }

    /// The summary's cost lines.
    pub fn render(&self, budget_unsent: u64) -> String {
        let mut s = String::new();
        let _ = write!(s, "  cost ${:.4} ({} answers priced", self.spent_usd, self.priced);
        if self.estimated_usd > 0.0 {
            let _ = write!(s, ", plus ${:.4} counted at worst case", self.estimated_usd);
        }
        if self.unpriced > 0 {
            let _ = write!(
                s,
                "; {} answers of models with no price: their cost is unknown (--prices FILE)",
                self.unpriced
            );
        }
        s.push_str(")\n");
        if let (Some(max), Some(spent)) = (self.max_cost_usd, self.budget_spent_usd) {
            let _ = writeln!(s, "  budget --max-cost ${max:.4}: ${spent:.4} spent");
        }
        if budget_unsent > 0 {
            let _ = writeln!(
                s,
                "  stopped by --max-cost: {budget_unsent} lines refused unsent, and the input not \
                 read after them left too; rerun with a larger --max-cost to send them"
            );
        }
        s
    }
}
