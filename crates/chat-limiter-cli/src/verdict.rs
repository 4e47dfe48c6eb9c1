//! The summary's honest reading of a run against each limit, in the provider's own
//! accounting: the units the limiter's buckets charged (requests admitted; tokens at their
//! admission charge, prompt estimate + `max_tokens`, for OpenAI and OpenRouter; settled input
//! and output for Anthropic), over the window actually in force.
//!
//! A bucket starts full: in a run of T seconds a limit of L per window W allows L × (1 + T/W),
//! so a short run may average far above L per window without breaching anything. The share
//! reported is of that allowance, and a rate above the nominal figure is explained as the
//! provider's burst.

use serde::Serialize;

use crate::live::span;

/// A share of the allowance at or above which a run is "at the limit".
pub const AT_LIMIT: f64 = 0.90;

/// One limit dimension of a model over a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DimensionUse {
    /// `requests`, `tokens`, `input_tokens` or `output_tokens`.
    pub name: String,
    /// The provider's limit per window.
    pub limit: u64,
    /// The window in force, in seconds.
    pub window_secs: f64,
    /// Units charged over the run (the provider's accounting).
    pub used: u64,
    /// `used` per minute of wall time.
    pub per_min: f64,
    /// The limit per minute.
    pub limit_per_min: f64,
    /// `used` over what the limit allowed in the run's wall time (a full bucket plus refill).
    pub share_of_allowed: f64,
    /// The sentence the summary prints.
    pub verdict: String,
    /// Why a rate above the limit's per-minute figure is no breach, when it is above.
    pub burst: Option<String>,
}

/// How a dimension is named in the summary.
pub fn describe(name: &str) -> &'static str {
    match name {
        "requests" => "requests",
        "tokens" => "tokens (admission charge: prompt estimate + max_tokens)",
        "input_tokens" => "input tokens",
        _ => "output tokens",
    }
}

fn short(name: &str) -> &'static str {
    match name {
        "requests" => "requests",
        "tokens" => "tokens",
        "input_tokens" => "input tokens",
        _ => "output tokens",
    }
}

/// Reads one model's dimensions `(name, limit, window_secs, used)` over `wall_secs`.
pub fn read(dims: &[(String, u64, f64, u64)], wall_secs: f64) -> Vec<DimensionUse> {
    let wall = wall_secs.max(1e-3);
    let mut out: Vec<DimensionUse> = dims
        .iter()
        .map(|(name, limit, window, used)| {
            let window = window.max(1e-3);
            let allowed = *limit as f64 * (1.0 + wall / window);
            DimensionUse {
                name: name.clone(),
                limit: *limit,
                window_secs: window,
                used: *used,
                per_min: *used as f64 * 60.0 / wall,
                limit_per_min: *limit as f64 * 60.0 / window,
                share_of_allowed: if allowed > 0.0 { *used as f64 / allowed } else { 0.0 },
                verdict: String::new(),
                burst: None,
            }
        })
        .collect();
    let binding = out
        .iter()
        .filter(|d| d.share_of_allowed >= AT_LIMIT)
        .max_by(|a, b| a.share_of_allowed.total_cmp(&b.share_of_allowed))
        .map(|d| d.name.clone());
    for d in &mut out {
        d.verdict = sentence(d, binding.as_deref(), wall);
        d.burst = (d.per_min > d.limit_per_min * 1.005).then(|| {
            format!(
                "above the {:.0}/min limit because the bucket starts full with {}: that is the \
                 provider's burst, not a breach",
                d.limit_per_min, d.limit
            )
        });
    }
    out
}

fn sentence(d: &DimensionUse, binding: Option<&str>, wall: f64) -> String {
    let window = std::time::Duration::from_secs_f64(d.window_secs);
    let limit = if (d.window_secs - 60.0).abs() < 0.5 {
        format!("limit {}/min", d.limit)
    } else {
        format!("limit {} per {} ({:.0}/min)", d.limit, span(window), d.limit_per_min)
    };
    let allowed = d.limit as f64 * (1.0 + wall / d.window_secs);
    let mut s = format!(
        "{}: {:.0}/min over {wall:.1} s, {limit}: used {} of the {allowed:.0} it allows in that \
         time: ",
        describe(&d.name),
        d.per_min,
        d.used
    );
    if d.share_of_allowed >= AT_LIMIT {
        s.push_str("at the limit");
    } else {
        // Rounded down: a run at 99.6% of nothing is not "100% below".
        let below = (100.0 * (1.0 - d.share_of_allowed)).floor().max(0.0);
        s.push_str(&format!("{below:.0}% below it, "));
        match binding {
            Some(b) => s.push_str(&format!("bound by {}", short(b))),
            None => s.push_str(
                "bound by none of the limits (latency and concurrency set the pace, or the \
                 input ran out)",
            ),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dims(list: &[(&str, u64, f64, u64)]) -> Vec<(String, u64, f64, u64)> {
        list.iter().map(|(n, l, w, u)| (n.to_string(), *l, *w, *u)).collect()
    }

    #[test]
    fn a_token_bound_demo_is_at_the_token_limit_and_below_the_request_limit() {
        // 300 requests of 240 tokens each (prompt estimate 20 + max_tokens 220) in 12.5 s
        // against 600 RPM and 60,000 TPM: the tokens bind.
        let r =
            read(&dims(&[("requests", 600, 60.0, 300), ("tokens", 60_000, 60.0, 72_000)]), 12.5);
        let (req, tok) = (&r[0].verdict, &r[1].verdict);
        assert!(tok.starts_with("tokens (admission charge: prompt estimate + max_tokens): 345600/min over 12.5 s, limit 60000/min: used 72000 of the 72500 it allows in that time: at the limit"), "{tok}");
        assert!(req.contains("limit 600/min: used 300 of the 725 it allows in that time: 58% below it, bound by tokens"), "{req}");
        assert!(req.starts_with("requests: 1440/min over 12.5 s"), "{req}");
        // 1440/min is above 600/min: explained as the full bucket, never as a breach.
        assert!(req.contains("1440/min over 12.5 s"), "{req}");
        let burst = r[0].burst.as_deref().unwrap_or_default();
        assert_eq!(burst, "above the 600/min limit because the bucket starts full with 600: that is the provider's burst, not a breach");
        assert!(!tok.contains('%') && !req.contains("breach"), "{req} / {tok}");
    }

    #[test]
    fn a_run_below_every_limit_says_so_and_names_no_binding_limit() {
        let r = read(&dims(&[("requests", 600, 60.0, 24), ("tokens", 60_000, 60.0, 900)]), 60.0);
        assert!(
            r[0].verdict.contains(
                "24/min over 60.0 s, limit 600/min: used 24 of the 1200 it allows in that time: 98% below it, bound by none of the limits"
            ),
            "{}",
            r[0].verdict
        );
        assert_eq!(r[0].burst, None, "24/min is below 600/min");
        assert!((r[1].share_of_allowed - 900.0 / 120_000.0).abs() < 1e-9);
    }

    #[test]
    fn a_window_other_than_a_minute_is_named_and_counted_over() {
        // OpenRouter-style 20 requests per 10 s over 30 s: 20 + 3 × 20 allowed.
        let r = read(&dims(&[("requests", 20, 10.0, 78)]), 30.0);
        assert!(
            r[0].verdict.contains("limit 20 per 10s (120/min): used 78 of the 80 it allows in that time: at the limit"),
            "{}",
            r[0].verdict
        );
        let burst = r[0].burst.as_deref().unwrap_or_default();
        assert!(burst.starts_with("above the 120/min limit because the bucket starts full with 20"));
    }
}
