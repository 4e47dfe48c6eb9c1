//! Reasoning settings and the reasoning a model returns.
//!
//! OpenAI's reasoning models take `reasoning_effort`; Anthropic takes `thinking` (a token
//! budget, or `adaptive` on the models that choose their own); OpenRouter takes either and
//! sends its own `reasoning` object upstream. Both kinds of thinking count as output tokens:
//! the limiter reserves the whole `max_tokens` for a request, which covers them
//! (docs/providers.md §10).

use serde::{Deserialize, Serialize};

/// OpenAI's `reasoning_effort` (OpenRouter: `reasoning.effort`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ReasoningEffort {
    /// No reasoning (gpt-5.1 and later).
    None,
    /// The least reasoning gpt-5 allows.
    Minimal,
    /// Low effort.
    Low,
    /// Medium effort (OpenAI's default).
    Medium,
    /// High effort.
    High,
}

impl ReasoningEffort {
    /// The wire name (`"low"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ReasoningEffort::None => "none",
            ReasoningEffort::Minimal => "minimal",
            ReasoningEffort::Low => "low",
            ReasoningEffort::Medium => "medium",
            ReasoningEffort::High => "high",
        }
    }
}

/// Anthropic's extended thinking (`thinking`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
#[non_exhaustive]
pub enum Thinking {
    /// `{type: enabled, budget_tokens}`: at most this many thinking tokens. Anthropic wants at
    /// least 1024, and fewer than `max_tokens` (thinking is part of the output).
    Enabled {
        /// The thinking budget in tokens.
        budget_tokens: u32,
    },
    /// `{type: adaptive}`: the model decides how much to think (the only form some models
    /// accept).
    Adaptive,
    /// `{type: disabled}`.
    Disabled,
}

/// A thinking block of an Anthropic answer, kept whole so that it can be sent back in the
/// next turn (Anthropic checks the `signature` of the thinking that led to a tool call).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ThinkingBlock {
    /// Readable thinking with its signature.
    Thinking {
        /// The thinking text.
        thinking: String,
        /// Anthropic's signature of it.
        signature: String,
    },
    /// Thinking the provider encrypted; only `data` is given, to be sent back as is.
    RedactedThinking {
        /// The opaque data.
        data: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_shapes() {
        assert_eq!(
            serde_json::to_value(Thinking::Enabled { budget_tokens: 2048 }).expect("ser"),
            json!({"type":"enabled","budget_tokens":2048})
        );
        assert_eq!(
            serde_json::to_value(Thinking::Adaptive).expect("ser"),
            json!({"type":"adaptive"})
        );
        assert_eq!(serde_json::to_value(ReasoningEffort::High).expect("ser"), json!("high"));
        let b = json!({"type":"redacted_thinking","data":"EmwK"});
        let t: ThinkingBlock = serde_json::from_value(b.clone()).expect("reads");
        assert_eq!(t, ThinkingBlock::RedactedThinking { data: "EmwK".into() });
        assert_eq!(serde_json::to_value(&t).expect("ser"), b);
    }
}
