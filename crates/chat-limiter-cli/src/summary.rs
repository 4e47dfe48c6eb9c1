//! The end-of-run summary: printed for people, written as JSON for scripts (`--stats-json`).

use std::fmt::Write as _;
use std::path::Path;

use chat_limiter::{DimensionSnapshot, LimitsSnapshot};
use serde::Serialize;

use crate::verdict::{self, DimensionUse};

/// One model's limits at the end of the run (configured, or learned from the headers).
#[derive(Debug, Clone, Serialize)]
pub struct ModelLimitsSummary {
    /// The model.
    pub model: String,
    /// Requests per minute.
    pub rpm: Option<u64>,
    /// Tokens per minute (OpenAI, OpenRouter).
    pub tpm: Option<u64>,
    /// Input tokens per minute (Anthropic).
    pub input_tpm: Option<u64>,
    /// Output tokens per minute (Anthropic).
    pub output_tpm: Option<u64>,
    /// 429s the limiter saw for this model.
    pub rate_limited: u64,
    /// Each known limit against what the run charged to it, in the provider's accounting
    /// (see [`crate::verdict`]).
    pub dimensions: Vec<DimensionUse>,
    /// `(name, limit, window in seconds, used)` of each known dimension.
    #[serde(skip)]
    raw: Vec<(String, u64, f64, u64)>,
}

/// Everything a run did. Field names are the `--stats-json` contract.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// The provider the run sent to.
    pub provider: String,
    /// Non-blank input lines.
    pub total_lines: u64,
    /// Lines skipped because an earlier run already has their final result.
    pub skipped: u64,
    /// Of the skipped lines, those whose earlier result is a failure.
    pub skipped_failed: u64,
    /// Lines sent in this run (one per line; retries not counted).
    pub sent: u64,
    /// HTTP attempts made for them (what the server counts as requests).
    pub attempts: u64,
    /// Of the lines sent, those answered from the response cache (`--cache`): no request
    /// reached the provider for them, and nothing was paid.
    pub cached: u64,
    /// Lines that succeeded in this run.
    pub succeeded: u64,
    /// Lines whose request failed in this run.
    pub failed: u64,
    /// Lines that could not be parsed.
    pub invalid_input: u64,
    /// Lines repeating an earlier line's custom_id.
    pub duplicates: u64,
    /// Attempts beyond the first of each line (`attempts - sent` once every line is answered).
    pub retries: u64,
    /// 429 answers received (rate limits and quota errors alike).
    pub rate_limited: u64,
    /// Lines sent again because their request changed since their record was written.
    pub changed: u64,
    /// Lines with a final failure sent again (`--retry failed`).
    pub resent_failed: u64,
    /// Answers received that could not be written (a write failure); the next run sends them.
    pub unwritten: u64,
    /// Lines read but never sent because the run stopped (a write failure or a signal); they
    /// have no record, so the next run sends them.
    pub not_sent: u64,
    /// The signal that stopped the run early, when one did.
    pub interrupted_by: Option<String>,
    /// Lines `--max-cost` left unsent (no record: the next run sends them).
    pub budget_unsent: u64,
    /// What the run cost.
    pub spend: Option<crate::spend::SpendSummary>,
    /// Prompt tokens reported by the provider.
    pub prompt_tokens: u64,
    /// Completion tokens reported by the provider.
    pub completion_tokens: u64,
    /// Wall time of the run in seconds.
    pub wall_secs: f64,
    /// Requests completed per minute of wall time.
    pub achieved_rpm: f64,
    /// Prompt + completion tokens *reported* per minute of wall time (the token limits are
    /// charged otherwise: see `limits[].dimensions`).
    pub achieved_tpm: f64,
    /// Prompt tokens per minute of wall time.
    pub achieved_input_tpm: f64,
    /// Completion tokens per minute of wall time.
    pub achieved_output_tpm: f64,
    /// The limits in force, per model.
    pub limits: Vec<ModelLimitsSummary>,
    /// Peak resident memory of the process (VmHWM), in KiB, where the OS tells it.
    pub peak_rss_kib: Option<u64>,
}

impl Summary {
    /// Fills the rates from the counts and the wall time.
    pub fn set_rates(&mut self, wall_secs: f64) {
        self.wall_secs = wall_secs;
        let minutes = (wall_secs / 60.0).max(1e-9);
        // Cached answers reached no server: they are not part of any rate.
        self.achieved_rpm =
            (self.succeeded + self.failed).saturating_sub(self.cached) as f64 / minutes;
        self.achieved_input_tpm = self.prompt_tokens as f64 / minutes;
        self.achieved_output_tpm = self.completion_tokens as f64 / minutes;
        self.achieved_tpm = self.achieved_input_tpm + self.achieved_output_tpm;
        for m in &mut self.limits {
            m.dimensions = verdict::read(&m.raw, wall_secs);
        }
    }

    /// Takes the limits and the 429 count from the limiter's snapshot.
    pub fn set_limits(&mut self, snapshot: &LimitsSnapshot) {
        let lim = |d: &Option<DimensionSnapshot>| d.map(|d| d.limit);
        self.limits = snapshot
            .models
            .iter()
            .filter(|m| !m.model.is_empty() || m.completed > 0)
            .map(|m| ModelLimitsSummary {
                model: m.model.clone(),
                rpm: lim(&m.requests),
                tpm: lim(&m.tokens),
                input_tpm: lim(&m.input_tokens),
                output_tpm: lim(&m.output_tokens),
                rate_limited: m.rate_limited,
                dimensions: Vec::new(),
                raw: [
                    ("requests", m.requests),
                    ("tokens", m.tokens),
                    ("input_tokens", m.input_tokens),
                    ("output_tokens", m.output_tokens),
                ]
                .into_iter()
                .filter_map(|(n, d)| d.map(|d| (n.into(), d.limit, d.window.as_secs_f64(), d.used)))
                .collect(),
            })
            .collect();
        self.rate_limited = snapshot.models.iter().map(|m| m.rate_limited).sum();
    }

    /// Whether every line has a successful result.
    pub fn all_succeeded(&self) -> bool {
        self.failed + self.invalid_input + self.duplicates + self.skipped_failed + self.unwritten
            == 0
            && self.interrupted_by.is_none()
    }

    /// The summary as text, for a terminal.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "chat-limiter: {} lines to {}", self.total_lines, self.provider);
        let _ = writeln!(
            s,
            "  succeeded {}  failed {}  invalid {}  duplicate ids {}  skipped (done before) {}",
            self.succeeded, self.failed, self.invalid_input, self.duplicates, self.skipped
        );
        let from_cache = if self.cached > 0 {
            format!(" ({} answered from the cache, not sent to the provider)", self.cached)
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "  sent {}{from_cache}  HTTP attempts {}  retries {}  429s {}",
            self.sent, self.attempts, self.retries, self.rate_limited
        );
        if self.changed + self.resent_failed > 0 {
            let _ = writeln!(
                s,
                "  sent again: changed requests {}  failed before (--retry failed) {}",
                self.changed, self.resent_failed
            );
        }
        if self.not_sent > 0 {
            let _ = writeln!(
                s,
                "  lines read but not sent (the next run sends them) {}",
                self.not_sent
            );
        }
        if self.unwritten > 0 {
            let _ = writeln!(s, "  answers received but not written {}", self.unwritten);
        }
        if let Some(sig) = &self.interrupted_by {
            let _ = writeln!(s, "  stopped by {sig}: the lines not sent are left for a rerun");
        }
        let _ = writeln!(
            s,
            "  wall time {:.1} s  tokens reported: in {} out {}",
            self.wall_secs, self.prompt_tokens, self.completion_tokens
        );
        for m in &self.limits {
            let _ = writeln!(s, "  {}:", m.model);
            for d in &m.dimensions {
                let _ = writeln!(s, "    {}", d.verdict);
                if let Some(burst) = &d.burst {
                    let _ = writeln!(s, "      ({burst})");
                }
            }
            if m.dimensions.is_empty() {
                let _ = writeln!(s, "    limits unknown: none configured, none reported");
            }
        }
        if self.limits.is_empty() {
            let _ = writeln!(
                s,
                "  lines per minute {:.0}, tokens reported per minute {:.0} (no limits known)",
                self.achieved_rpm, self.achieved_tpm
            );
        }
        if let Some(spend) = &self.spend {
            s.push_str(&spend.render(self.budget_unsent));
        }
        if let Some(kib) = self.peak_rss_kib {
            let _ = writeln!(s, "  peak RSS {:.1} MiB", kib as f64 / 1024.0);
        }
        s
    }

    /// Writes the summary as pretty JSON.
    pub fn write_json(&self, path: &Path) -> std::io::Result<()> {
        let mut text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        text.push('\n');
        std::fs::write(path, text)
    }
}

/// Peak resident set size of this process in KiB (`VmHWM` on Linux), `None` elsewhere.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_success() {
        let mut s = Summary {
            succeeded: 60,
            prompt_tokens: 600,
            completion_tokens: 60,
            ..Default::default()
        };
        s.set_rates(30.0);
        assert_eq!(s.achieved_rpm, 120.0);
        assert_eq!(s.achieved_tpm, 1320.0);
        assert!(s.all_succeeded());
        s.duplicates = 1;
        assert!(!s.all_succeeded());
        assert!(s.render().contains("duplicate ids 1"));
    }

    #[test]
    fn tokens_are_read_by_their_admission_charge_not_by_the_reported_usage() {
        // 300 answers reporting 40 tokens each (12,000) were charged 240 each at admission
        // (prompt estimate + max_tokens): 72,000 of the 72,500 a 60,000 TPM limit allows in
        // 12.5 s. By the reported tokens the run would read as 17% of the limit.
        let mut s = Summary {
            succeeded: 300,
            prompt_tokens: 3_000,
            completion_tokens: 9_000,
            ..Default::default()
        };
        s.limits.push(ModelLimitsSummary {
            model: "gpt-4o-mini".into(),
            rpm: Some(600),
            tpm: Some(60_000),
            input_tpm: None,
            output_tpm: None,
            rate_limited: 0,
            dimensions: Vec::new(),
            raw: vec![("requests".into(), 600, 60.0, 300), ("tokens".into(), 60_000, 60.0, 72_000)],
        });
        s.set_rates(12.5);
        let text = s.render();
        assert!(text.contains("    tokens (admission charge: prompt estimate + max_tokens): 345600/min over 12.5 s, limit 60000/min: used 72000 of the 72500 it allows in that time: at the limit"), "{text}");
        assert!(
            text.contains(
                "    requests: 1440/min over 12.5 s, limit 600/min: used 300 of the 725 it allows in that time: 58% below it, bound by tokens"
            ),
            "{text}"
        );
        assert!(text.contains("tokens reported: in 3000 out 9000"), "{text}");
        let json = serde_json::to_value(&s).expect("json");
        let tok = &json["limits"][0]["dimensions"][1];
        assert_eq!(tok["used"], 72_000);
        assert!(tok["share_of_allowed"].as_f64().unwrap_or(0.0) > 0.99, "{tok}");
    }
}
