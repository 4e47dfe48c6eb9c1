//! The batch APIs' state (docs/providers.md, "Batch APIs"): uploaded files, batches and what
//! was received, with the settings that make a test's batch end in seconds, split over caps,
//! hit the enqueued-token limit or expire items.
//!
//! A batch's progress is a function of time: `processing_time` after its creation every
//! item has a result; before that the counts grow linearly. Results are decided at creation.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::Serialize;
use serde_json::Value;

/// How the emulator's batch APIs behave.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct BatchEmulation {
    /// From creation to every item answered (the real APIs take minutes to 24 h).
    pub processing_time: Duration,
    /// Requests per batch (`None`: the documented 50,000 / 100,000).
    pub max_requests: Option<u64>,
    /// Bytes per input file or create body (`None`: the documented 200 MB / 256 MB, bounded
    /// by the emulator's 32 MB request body).
    pub max_bytes: Option<u64>,
    /// OpenAI: prompt tokens per model in unfinished batches (`None`: unlimited). A batch
    /// that would exceed it fails with `token_limit_exceeded`.
    pub enqueued_tokens: Option<u64>,
    /// The next this many items received expire instead of being answered.
    pub expire_items: u64,
    /// A pause before each results download is served (a large file's transfer time).
    pub download_delay: Duration,
}

impl Default for BatchEmulation {
    /// Two seconds per batch, the documented caps, no enqueued-token limit, nothing expires.
    fn default() -> Self {
        BatchEmulation {
            processing_time: Duration::from_secs(2),
            max_requests: None,
            max_bytes: None,
            enqueued_tokens: None,
            expire_items: 0,
            download_delay: Duration::ZERO,
        }
    }
}

/// What the batch APIs received, for tests that prove nothing was sent twice.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BatchStats {
    /// Files uploaded (`POST /v1/files`).
    pub files: u64,
    /// Batches created, accepted or failed.
    pub batches: u64,
    /// Requests in the created batches.
    pub requests: u64,
    /// Results downloaded (output, error or results files read).
    pub downloads: u64,
    /// Cancels asked for.
    pub cancels: u64,
}

/// One item's fate, decided at creation.
#[derive(Clone, Debug)]
pub(crate) enum Fate {
    /// The answer body.
    Answer(Value),
    /// An error for this item (status, type, message).
    Error(u16, String, String),
    Expire,
}

#[derive(Clone, Debug)]
pub(crate) struct Item {
    pub(crate) custom_id: String,
    pub(crate) fate: Fate,
}

#[derive(Clone, Debug)]
pub(crate) struct Batch {
    pub(crate) id: String,
    pub(crate) created: Instant,
    pub(crate) created_unix: u64,
    pub(crate) input_file_id: Option<String>,
    pub(crate) endpoint: String,
    pub(crate) model: String,
    pub(crate) tokens: u64,
    pub(crate) items: Vec<Item>,
    /// Set when it failed validation: (code, message).
    pub(crate) failed: Option<(String, String)>,
    /// Items done when the cancel arrived.
    pub(crate) cancelled_at: Option<usize>,
}

impl Batch {
    /// Items done by `now`.
    pub(crate) fn done(&self, now: Instant, processing: Duration) -> usize {
        if let Some(n) = self.cancelled_at {
            return n;
        }
        let total = self.items.len();
        let elapsed = now.saturating_duration_since(self.created);
        if processing.is_zero() || elapsed >= processing {
            return total;
        }
        (total as f64 * elapsed.as_secs_f64() / processing.as_secs_f64()) as usize
    }

    /// Every item has its result (or never will).
    pub(crate) fn ended(&self, now: Instant, processing: Duration) -> bool {
        self.failed.is_some()
            || self.cancelled_at.is_some()
            || self.done(now, processing) == self.items.len()
    }
}

/// Files, batches and counts, behind one lock.
#[derive(Debug, Default)]
pub(crate) struct Store {
    pub(crate) inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
pub(crate) struct Inner {
    pub(crate) files: HashMap<String, Vec<u8>>,
    pub(crate) batches: Vec<Batch>,
    pub(crate) stats: BatchStats,
    pub(crate) expired_so_far: u64,
    pub(crate) next_id: u64,
}

impl Inner {
    pub(crate) fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{:012}", self.next_id)
    }

    pub(crate) fn batch(&mut self, id: &str) -> Option<&mut Batch> {
        self.batches.iter_mut().find(|b| b.id == id)
    }

    /// Prompt tokens enqueued for `model` in unfinished batches.
    pub(crate) fn enqueued(&self, model: &str, now: Instant, processing: Duration) -> u64 {
        self.batches
            .iter()
            .filter(|b| b.model == model && !b.ended(now, processing))
            .map(|b| b.tokens)
            .sum()
    }

    /// Whether the next item expires (counts it).
    pub(crate) fn take_expiry(&mut self, cfg: &BatchEmulation) -> bool {
        if self.expired_so_far < cfg.expire_items {
            self.expired_so_far += 1;
            true
        } else {
            false
        }
    }
}

/// The emulator's prompt-token count of a chat body: `max(1, ceil(chars / 4))` over the
/// message contents and the system text.
pub(crate) fn prompt_tokens(body: &Value) -> u64 {
    let mut chars = 0usize;
    let mut add = |v: &Value| match v {
        Value::String(s) => chars += s.chars().count(),
        Value::Array(parts) => {
            for p in parts {
                if let Some(t) = p.get("text").and_then(Value::as_str) {
                    chars += t.chars().count();
                }
            }
        }
        _ => {}
    };
    if let Some(msgs) = body.get("messages").and_then(Value::as_array) {
        for m in msgs {
            if let Some(c) = m.get("content") {
                add(c);
            }
        }
    }
    if let Some(s) = body.get("system") {
        add(s);
    }
    (chars.div_ceil(4)).max(1) as u64
}

/// The last user message's text, echoed in the answer so a test can match it to its line.
pub(crate) fn last_user_text(body: &Value) -> String {
    let msgs = body.get("messages").and_then(Value::as_array);
    let last = msgs.and_then(|m| m.iter().rev().find(|m| m["role"] == "user"));
    match last.map(|m| &m["content"]) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// Unix seconds now.
/// `secs` since the Unix epoch as an RFC 3339 UTC date-time (`2024-08-20T18:37:24Z`), the
/// format of Anthropic's `created_at`. Civil-from-days after Howard Hinnant's algorithm.
pub(crate) fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_dates_from_unix_seconds() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_724_179_044), "2024-08-20T18:37:24Z");
        assert_eq!(super::rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(super::rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }
}
