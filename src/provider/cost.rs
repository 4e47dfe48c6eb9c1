//! What a request reserves, and what it turned out to cost, in each provider's accounting
//! (docs/design.md lesson 2, docs/providers.md §1.7 and §2.6).

use crate::limit::model::Cost;
use crate::provider_id::Provider;
use crate::types::Usage;

/// The reservation before sending: OpenAI and OpenRouter charge `prompt + n × max output`
/// to one token bucket; Anthropic charges input and output to separate buckets.
pub(crate) fn reserve(provider: Provider, prompt: u64, max_output: u64, n: u64) -> Cost {
    let output = max_output.saturating_mul(n.max(1));
    match provider {
        Provider::Anthropic => Cost { tokens: 0, input: prompt, output },
        _ => Cost { tokens: prompt.saturating_add(output), input: 0, output: 0 },
    }
}

/// What the provider finally charged, given the usage it reported.
///
/// OpenAI charges its estimate at admission and (as far as anyone has measured) does not
/// refund unused `max_tokens`: the safe reading of docs/providers.md §7 question 1 is to keep the
/// reservation, and to charge more only if the reported usage exceeded it. Anthropic adjusts
/// ITPM to the real uncached input and OTPM to the real output. Cache reads do not count
/// against ITPM except on the older models marked † in Anthropic's docs.
pub(crate) fn settled(provider: Provider, model: &str, reserved: Cost, usage: &Usage) -> Cost {
    match provider {
        Provider::Anthropic => {
            let cache_read = usage.cache_read_input_tokens.unwrap_or(0);
            let input = if counts_cache_reads(model) {
                usage.prompt_tokens
            } else {
                usage.prompt_tokens.saturating_sub(cache_read)
            };
            Cost { tokens: 0, input, output: usage.completion_tokens }
        }
        _ => Cost { tokens: reserved.tokens.max(usage.total_tokens), ..reserved },
    }
}

/// Anthropic models whose cache reads still count against ITPM (marked † in the docs).
fn counts_cache_reads(model: &str) -> bool {
    ["claude-3-5-haiku", "claude-3-haiku", "claude-3-opus", "claude-3-5-sonnet"]
        .iter()
        .any(|p| model.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_per_provider() {
        assert_eq!(
            reserve(Provider::OpenAI, 100, 50, 2),
            Cost { tokens: 200, input: 0, output: 0 }
        );
        assert_eq!(
            reserve(Provider::Anthropic, 100, 50, 1),
            Cost { tokens: 0, input: 100, output: 50 }
        );
    }

    #[test]
    fn anthropic_settles_to_uncached_input_and_real_output() {
        let usage = Usage {
            prompt_tokens: 1_000,
            completion_tokens: 30,
            total_tokens: 1_030,
            cache_read_input_tokens: Some(800),
            ..Usage::default()
        };
        let r = reserve(Provider::Anthropic, 1_000, 500, 1);
        assert_eq!(settled(Provider::Anthropic, "claude-sonnet-4-5", r, &usage).input, 200);
        assert_eq!(settled(Provider::Anthropic, "claude-3-haiku-20240307", r, &usage).input, 1_000);
        assert_eq!(settled(Provider::Anthropic, "claude-sonnet-4-5", r, &usage).output, 30);
    }

    #[test]
    fn openai_keeps_its_reservation_unless_usage_exceeds_it() {
        let r = reserve(Provider::OpenAI, 100, 50, 1);
        assert_eq!(settled(Provider::OpenAI, "gpt-4o", r, &Usage::new(90, 10)).tokens, 150);
        assert_eq!(settled(Provider::OpenAI, "gpt-4o", r, &Usage::new(150, 40)).tokens, 190);
    }
}
