//! What a `--via batch` job writes and says as its batches end: one output record per line
//! (answers, per-item errors, expired and cancelled items), the tally for the summary, and
//! each batch's progress.

use std::collections::HashMap;

use chat_limiter::{BatchInfo, ChatCompletionRequest, ItemOutcome, ItemResult};

use crate::batch_state::JobState;
use crate::output::Writer;
use crate::record::{self, fingerprint, Failure};

/// One line to send: the user's id and the request.
pub struct Line {
    /// The user's `custom_id` (or the line number).
    pub id: String,
    /// What to send.
    pub request: ChatCompletionRequest,
}

/// Counts for the closing summary.
#[derive(Default)]
pub struct Tally {
    /// Lines answered by this run.
    pub succeeded: u64,
    /// Lines recorded as failed by this run.
    pub failed: u64,
    /// Lines an earlier run recorded.
    pub skipped: u64,
    /// Of those, the ones recorded as failed.
    pub skipped_failed: u64,
}

/// Whether any result of `results` is one of this job's items among `part_lines`.
pub fn holds_part(state: &JobState, results: &[ItemResult], part_lines: &[u64]) -> bool {
    results
        .iter()
        .filter_map(|r| state.line_of(&r.custom_id))
        .any(|line| part_lines.contains(&line))
}

/// Writes one record per line of an ended part: the batch's result for it, or a retryable
/// failure when the batch returned none. Lines an earlier run recorded are not in `lines`
/// and are not written again.
pub fn record_part(
    state: &JobState,
    part_lines: &[u64],
    lines: &HashMap<u64, Line>,
    results: Vec<ItemResult>,
    info: &BatchInfo,
    writer: &mut Writer,
    tally: &mut Tally,
) -> std::io::Result<()> {
    let mut by_line: HashMap<u64, ItemOutcome> = HashMap::new();
    for r in results {
        if let Some(line) = state.line_of(&r.custom_id) {
            by_line.insert(line, r.outcome);
        }
    }
    for line in part_lines {
        let Some(l) = lines.get(line) else { continue }; // recorded by an earlier run
        let outcome = by_line.remove(line);
        let fp = fingerprint(&l.request);
        writer.write(&line_record(*line, &l.id, fp, outcome, info, tally))?;
    }
    Ok(())
}

/// The output record of one line.
fn line_record(
    line: u64,
    id: &str,
    fp: u128,
    outcome: Option<ItemOutcome>,
    info: &BatchInfo,
    tally: &mut Tally,
) -> serde_json::Value {
    let retry = |code: &str, message: String| Failure {
        retryable: true,
        class: "transient",
        ..Failure::local(code, message)
    };
    let failure = match outcome {
        Some(ItemOutcome::Succeeded(resp)) => {
            tally.succeeded += 1;
            return record::success_record(line, id, fp, &resp);
        }
        Some(ItemOutcome::Errored { status, code, message }) => {
            let retryable = status.is_none_or(|s| s == 429 || s >= 500);
            Failure {
                retryable,
                class: if retryable { "transient" } else { "request" },
                status,
                error_type: Some(code.clone()),
                ..Failure::local(&code, message)
            }
        }
        Some(ItemOutcome::Expired) => {
            retry("batch_expired", format!("batch {} expired before this line ran", info.id))
        }
        Some(ItemOutcome::Canceled) => retry(
            "batch_cancelled",
            format!("batch {} was cancelled before this line ran", info.id),
        ),
        _ => {
            let why: Vec<String> =
                info.errors.iter().map(|e| format!("{}: {}", e.code, e.message)).collect();
            retry(
                "batch_failed",
                format!(
                    "batch {} ended {} without a result for this line {}",
                    info.id,
                    info.status,
                    why.join("; ")
                ),
            )
        }
    };
    tally.failed += 1;
    record::failure_record(line, id, Some(fp), &failure)
}
