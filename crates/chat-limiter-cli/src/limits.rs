//! `chat-limiter limits`: one probe call, then the limits the provider reported.
//!
//! OpenAI and Anthropic: a one-token chat request, whose headers carry the limits. OpenRouter
//! sends no limit headers on success, so it asks `GET /key` for the key's credit instead.

use std::fmt::Write as _;

use chat_limiter::{ChatCompletionRequest, ChatLimiter, DimensionSnapshot, Message, Provider};

use crate::{Fatal, LimitsArgs};

/// Probes and prints; exit code 1 when the probe failed.
pub fn limits(args: &LimitsArgs) -> Result<u8, Fatal> {
    let mut b = ChatLimiter::builder().model(&args.model).max_retries(0);
    if let Some(p) = args.provider {
        b = b.provider(p);
    }
    if let Some(u) = &args.base_url {
        b = b.base_url(u);
    }
    let limiter = b.build()?;
    let mut code = 0;
    if limiter.provider() == Provider::OpenRouter {
        match limiter.openrouter_key_info() {
            Ok(k) => {
                let money =
                    |v: Option<f64>| v.map_or("unlimited".to_string(), |v| format!("${v:.4}"));
                println!("OpenRouter key {}", k.label.as_deref().unwrap_or("(no label)"));
                println!("  credit limit      {}", money(k.limit));
                println!("  credit remaining  {}", money(k.limit_remaining));
                println!("  credit used       ${:.4}", k.usage);
                println!("  free tier         {}", k.is_free_tier);
                if let (Some(n), Some(i)) = (k.rate_limit_requests, k.rate_limit_interval) {
                    println!("  requests          {n} per {i:?} (deprecated field)");
                }
            }
            Err(e) => {
                eprintln!("chat-limiter: probe failed: {e}");
                code = 1;
            }
        }
    } else {
        let req =
            ChatCompletionRequest::new(&args.model, vec![Message::user("ping")]).max_tokens(1);
        if let Err(e) = limiter.chat_completion(&req) {
            // An error answer still carries the headers: show what was learned.
            eprintln!("chat-limiter: probe failed: {e}");
            code = 1;
        }
    }
    print!("{}", table(&limiter));
    Ok(code)
}

/// The limiter's view as a table: one row per model and dimension.
fn table(limiter: &ChatLimiter) -> String {
    let snap = limiter.current_limits();
    let mut s = format!(
        "{:<32} {:<14} {:>12} {:>12} {:>10}\n",
        "MODEL", "LIMIT", "PER MINUTE", "REMAINING", "RESET"
    );
    let mut rows = 0;
    for m in &snap.models {
        let dims: [(&str, &Option<DimensionSnapshot>); 4] = [
            ("requests", &m.requests),
            ("tokens", &m.tokens),
            ("input tokens", &m.input_tokens),
            ("output tokens", &m.output_tokens),
        ];
        for (name, d) in dims {
            if let Some(d) = d {
                rows += 1;
                let _ = writeln!(
                    s,
                    "{:<32} {:<14} {:>12} {:>12} {:>9.1}s",
                    m.model,
                    name,
                    d.limit,
                    d.remaining,
                    d.reset.as_secs_f64()
                );
            }
        }
    }
    if rows == 0 {
        s.push_str("(no limits reported)\n");
    }
    s
}
