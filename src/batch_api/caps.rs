//! The providers' per-batch caps and the split of a job into batches that fit them.

use super::error::{BatchError, Cap};
use crate::provider_id::Provider;

/// The limits one batch must fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchCaps {
    /// Requests per batch (OpenAI 50,000; Anthropic 100,000).
    pub max_requests: u64,
    /// Bytes per batch: the input file (OpenAI 200 MB) or the create body (Anthropic 256 MB).
    pub max_bytes: u64,
    /// Prompt tokens a model may have enqueued in unfinished batches (OpenAI, depends on the
    /// account's tier: unknown, so `None`, unless set). A job is split to fit it and the next
    /// part is submitted when earlier ones finish.
    pub enqueued_tokens: Option<u64>,
}

impl BatchCaps {
    /// The provider's documented caps (the one place they are defined).
    pub fn for_provider(provider: Provider) -> Self {
        match provider {
            Provider::Anthropic => BatchCaps {
                max_requests: 100_000,
                max_bytes: 256 * 1024 * 1024,
                enqueued_tokens: None,
            },
            Provider::OpenAI | Provider::OpenRouter => BatchCaps {
                max_requests: 50_000,
                max_bytes: 200 * 1024 * 1024,
                enqueued_tokens: None,
            },
        }
    }
}

/// What one item weighs against the caps.
#[derive(Debug, Clone)]
pub(crate) struct Weight {
    pub custom_id: String,
    /// The model (OpenAI: one model per batch).
    pub model: String,
    pub bytes: u64,
    pub tokens: u64,
}

/// Splits items (in order) into parts that each fit `caps`; a part holds one model when
/// `one_model` (OpenAI). `overhead` is the bytes a batch needs around its items.
pub(crate) fn split(
    items: &[Weight],
    caps: &BatchCaps,
    one_model: bool,
    overhead: u64,
) -> Result<Vec<Vec<usize>>, BatchError> {
    let too_large = |w: &Weight, cap, needed, limit| BatchError::TooLarge {
        custom_id: w.custom_id.clone(),
        cap,
        needed,
        limit,
    };
    let mut models: Vec<&str> = Vec::new();
    if one_model {
        for w in items {
            if !models.contains(&w.model.as_str()) {
                models.push(&w.model);
            }
        }
    } else {
        models.push("");
    }
    let mut parts = Vec::new();
    for model in models {
        let (mut part, mut bytes, mut tokens) = (Vec::new(), overhead, 0u64);
        for (i, w) in items.iter().enumerate() {
            if one_model && w.model != model {
                continue;
            }
            if w.bytes + overhead > caps.max_bytes {
                return Err(too_large(w, Cap::Bytes, w.bytes + overhead, caps.max_bytes));
            }
            if let Some(limit) = caps.enqueued_tokens.filter(|l| w.tokens > *l) {
                return Err(too_large(w, Cap::EnqueuedTokens, w.tokens, limit));
            }
            let full = part.len() as u64 >= caps.max_requests
                || bytes + w.bytes > caps.max_bytes
                || caps.enqueued_tokens.is_some_and(|l| tokens + w.tokens > l);
            if full && !part.is_empty() {
                parts.push(std::mem::take(&mut part));
                bytes = overhead;
                tokens = 0;
            }
            part.push(i);
            bytes += w.bytes;
            tokens += w.tokens;
        }
        if !part.is_empty() {
            parts.push(part);
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(id: &str, model: &str, bytes: u64, tokens: u64) -> Weight {
        Weight { custom_id: id.into(), model: model.into(), bytes, tokens }
    }

    fn caps(requests: u64, bytes: u64, tokens: Option<u64>) -> BatchCaps {
        BatchCaps { max_requests: requests, max_bytes: bytes, enqueued_tokens: tokens }
    }

    #[test]
    fn splits_by_request_count() {
        let items: Vec<_> = (0..5).map(|i| w(&i.to_string(), "m", 10, 1)).collect();
        let parts = split(&items, &caps(2, 1000, None), true, 0).unwrap();
        assert_eq!(parts, vec![vec![0, 1], vec![2, 3], vec![4]]);
    }

    #[test]
    fn splits_by_bytes_and_tokens() {
        let items = vec![w("a", "m", 40, 5), w("b", "m", 40, 5), w("c", "m", 30, 9)];
        assert_eq!(
            split(&items, &caps(10, 100, None), true, 10).unwrap(),
            vec![vec![0, 1], vec![2]]
        );
        assert_eq!(
            split(&items, &caps(10, 1000, Some(10)), true, 0).unwrap(),
            vec![vec![0, 1], vec![2]]
        );
    }

    #[test]
    fn one_model_per_part_only_when_asked() {
        let items = vec![w("a", "x", 1, 1), w("b", "y", 1, 1), w("c", "x", 1, 1)];
        assert_eq!(
            split(&items, &caps(10, 100, None), true, 0).unwrap(),
            vec![vec![0, 2], vec![1]]
        );
        assert_eq!(split(&items, &caps(10, 100, None), false, 0).unwrap(), vec![vec![0, 1, 2]]);
    }

    #[test]
    fn an_item_larger_than_a_cap_is_a_typed_error_naming_it() {
        let items = vec![w("a", "m", 1, 1), w("big", "m", 200, 1)];
        match split(&items, &caps(10, 100, None), true, 0) {
            Err(BatchError::TooLarge { custom_id, cap: Cap::Bytes, needed: 200, limit: 100 }) => {
                assert_eq!(custom_id, "big")
            }
            other => panic!("{other:?}"),
        }
        let items = vec![w("t", "m", 1, 50)];
        assert!(matches!(
            split(&items, &caps(10, 100, Some(10)), true, 0),
            Err(BatchError::TooLarge { cap: Cap::EnqueuedTokens, .. })
        ));
    }
}
