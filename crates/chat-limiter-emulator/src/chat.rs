//! What every provider shares: reading the prompt size, choosing the output length and
//! text, latency, and the `Outcome` a provider handler hands back to the server.

use std::time::Duration;

use serde_json::Value;

use super::bucket::Dim;
use super::config::{EmulatorConfig, OutputLen};
use super::features::Plan;
use super::format::Rng;
use super::http::HttpResponse;

/// Largest accepted output cap per choice (and `n × cap` total): bounds the memory and
/// time a single request can make the emulator spend. Larger values get a 400, as the real
/// APIs reject caps above a model's maximum.
pub(crate) const MAX_OUTPUT_TOKENS: u64 = 128_000;

/// A provider's answer, before latency and faults are applied by the server.
#[derive(Debug)]
pub(crate) enum Reply {
    /// A complete response, sent after `delay`.
    Full { resp: HttpResponse, delay: Duration },
    /// An SSE stream: each event is written and flushed after its delay.
    Stream { headers: Vec<(String, String)>, events: Vec<(Duration, String)> },
}

/// Work to do once the reply has been sent (settlement and statistics).
#[derive(Debug, Default)]
pub(crate) struct After {
    pub(crate) key: String,
    pub(crate) model: String,
    /// Bucket corrections: positive charges more, negative refunds.
    pub(crate) deltas: Vec<(Dim, f64)>,
    /// OpenRouter credits to deduct.
    pub(crate) cost: f64,
    /// Counted as a completed item (usage, duplicate bodies); false for mid-stream errors.
    pub(crate) completed: bool,
    pub(crate) body_hash: u64,
    pub(crate) input: u64,
    pub(crate) output: u64,
}

/// A handler's result.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) reply: Reply,
    pub(crate) after: Option<After>,
}

impl Outcome {
    /// An immediate response with nothing to settle (errors).
    pub(crate) fn now(resp: HttpResponse) -> Self {
        Outcome { reply: Reply::Full { resp, delay: Duration::ZERO }, after: None }
    }
}

/// Unicode scalar count of a message `content`: a string, or the `text` of each part (the
/// content of a `tool_result`, the input JSON of a `tool_use`).
pub(crate) fn content_chars(content: &Value) -> usize {
    match content {
        Value::String(s) => s.chars().count(),
        Value::Array(parts) => parts
            .iter()
            .map(|p| match p.get("type").and_then(Value::as_str) {
                // Anthropic tool traffic: a result's content, a call's input as JSON text.
                Some("tool_result") => p.get("content").map_or(0, content_chars),
                Some("tool_use") => p.get("input").map_or(0, |i| i.to_string().chars().count()),
                _ => p.get("text").and_then(Value::as_str).map_or(0, |t| t.chars().count()),
            })
            .sum(),
        _ => 0,
    }
}

/// Characters of all message contents.
pub(crate) fn messages_chars(messages: &[Value]) -> usize {
    messages.iter().filter_map(|m| m.get("content")).map(content_chars).sum()
}

/// `max(1, ceil(chars / 4))`.
pub(crate) fn prompt_tokens(chars: usize) -> u64 {
    (chars as u64).div_ceil(4).max(1)
}

/// Output tokens for a request whose cap is `max` (see [`OutputLen`]).
pub(crate) fn output_len(rule: OutputLen, body_hash: u64, max: u64) -> u64 {
    match rule {
        OutputLen::Hash => {
            let half = max / 2;
            half + body_hash % (max - half + 1)
        }
        OutputLen::Max => max,
        OutputLen::Fraction(f) => ((max as f64 * f).ceil() as u64).min(max),
        OutputLen::Fixed(n) => n.min(max),
    }
}

const LOREM: [&str; 32] = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
    "enim",
    "ad",
    "minim",
    "veniam",
    "quis",
    "nostrud",
    "exercitation",
    "ullamco",
    "laboris",
    "nisi",
    "aliquip",
    "ex",
    "commodo",
];

/// `n` pieces of text, one per output token: lorem words chosen by the body hash, each
/// after the first prefixed with a space (so the pieces concatenate to the full text).
pub(crate) fn lorem_pieces(body_hash: u64, n: u64) -> Vec<String> {
    let mut rng = Rng::new(body_hash);
    (0..n)
        .map(|i| {
            let word = LOREM[(rng.next_u64() % LOREM.len() as u64) as usize];
            if i == 0 {
                word.to_string()
            } else {
                format!(" {word}")
            }
        })
        .collect()
}

/// The visible output tokens of each of `n` choices: a tool-call or JSON answer's own length,
/// else [`output_len`] of what the reasoning leaves of the cap.
pub(crate) fn outputs(rule: OutputLen, hash: u64, cap: u64, n: u64, plan: &Plan) -> Vec<u64> {
    let room = cap.saturating_sub(plan.reasoning);
    (0..n)
        .map(|i| {
            plan.fixed_output().unwrap_or_else(|| output_len(rule, hash.wrapping_add(i), room))
        })
        .collect()
}

/// All output tokens: the visible ones and each choice's reasoning.
pub(crate) fn completion_tokens(outs: &[u64], plan: &Plan) -> u64 {
    outs.iter().sum::<u64>() + outs.len() as u64 * plan.reasoning
}

/// Time before the first byte: base latency plus seeded jitter.
pub(crate) fn first_byte(cfg: &EmulatorConfig, rng: &mut Rng) -> Duration {
    let jitter = cfg.jitter.mul_f64(rng.next_f64());
    cfg.base_latency + jitter
}

/// Full latency of a non-streamed answer with `tokens` output tokens.
pub(crate) fn total_latency(cfg: &EmulatorConfig, rng: &mut Rng, tokens: u64) -> Duration {
    first_byte(cfg, rng) + cfg.per_token_latency * u32::try_from(tokens).unwrap_or(u32::MAX)
}

/// The request's `max_tokens`-like field: `Ok(None)` when absent or null, `Err(())` when it
/// is present but not a non-negative integer.
pub(crate) fn opt_u64(body: &Value, field: &str) -> Result<Option<u64>, ()> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or(()),
    }
}

/// Appends `data` as an SSE `data:` event.
pub(crate) fn sse_data(data: &Value) -> String {
    format!("data: {data}\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_string_and_text_parts() {
        let msgs = vec![
            json!({"role":"user","content":"héllo"}),
            json!({"role":"user","content":[{"type":"text","text":"abc"},{"type":"image_url","image_url":{"url":"x"}}]}),
            json!({"role":"assistant","content":null}),
        ];
        assert_eq!(messages_chars(&msgs), 8);
        assert_eq!(prompt_tokens(8), 2);
        assert_eq!(prompt_tokens(9), 3);
        assert_eq!(prompt_tokens(0), 1);
    }

    #[test]
    fn output_length_rules() {
        for h in 0..50 {
            let n = output_len(OutputLen::Hash, h, 100);
            assert!((50..=100).contains(&n));
        }
        assert_eq!(output_len(OutputLen::Hash, 7, 0), 0);
        assert_eq!(output_len(OutputLen::Hash, 7, 1), 1);
        assert_eq!(output_len(OutputLen::Max, 7, 100), 100);
        assert_eq!(output_len(OutputLen::Fraction(0.25), 7, 10), 3);
        assert_eq!(output_len(OutputLen::Fixed(500), 7, 10), 10);
        let p = lorem_pieces(42, 5);
        assert_eq!(p.len(), 5);
        assert_eq!(p, lorem_pieces(42, 5));
        assert!(p[1].starts_with(' '));
    }
}
