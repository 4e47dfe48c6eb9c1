//! The bookkeeping of a run between the input and the output: which line to send next, which
//! to skip (done before, with the same request), and where each result goes.
//!
//! Admission stops at once when a write fails or a signal arrives: no new request is handed to
//! the engine, and the results of those in flight are kept in memory until they can be
//! written (each write failure cuts the file back to its last whole record, and every later
//! result retries the queue in order) or the run ends.

use std::collections::HashMap;
use std::io::{self, BufRead};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chat_limiter::{BatchResult, ChatCompletionRequest, Error};
use indicatif::ProgressBar;
use serde_json::Value;

use crate::id_set::IdSet;
use crate::input::{self, Defaults, Lines, Parsed};
use crate::line_set::{self, LineSet};
use crate::output::{Prior, Resume, Writer};
use crate::record::{self, fingerprint, id_hash, Failure, DUPLICATE, INVALID_INPUT};
use crate::signals;
use crate::summary::Summary;

/// The bookkeeping shared by the input feed and the result sink (both run on the batch's
/// coordinator thread, one after the other).
pub struct State {
    /// Where records go.
    pub writer: Writer,
    resume: Resume,
    /// Every custom_id read so far in this run.
    seen: IdSet,
    /// Line number, custom_id and fingerprint of each item handed to the engine, by index.
    in_flight: HashMap<usize, (u64, String, u128)>,
    next_index: usize,
    /// The counts.
    pub summary: Summary,
    bar: ProgressBar,
    defaults: Defaults,
    /// `--retry failed`: final failures are sent again too.
    resend_failed: bool,
    /// A line with an earlier record was sent again: its old record must go.
    pub rerun: bool,
    /// The input could not be read.
    pub read_error: Option<io::Error>,
    /// The first failed write to the output.
    pub write_error: Option<io::Error>,
    /// Records not written yet (after a write failure), oldest first.
    pending: Vec<Value>,
    /// Shared with the batch engine: set once nothing more may be sent.
    stop: Arc<AtomicBool>,
    /// The lines this pass sends (all when `None`).
    pub lines: Option<LineSet>,
    /// Some request has succeeded.
    any_success: bool,
    /// Failures in a row, from the start, with one setup status (401, 403, 404), and it.
    setup_failures: (u32, u16),
    /// Why the run stopped early: its first requests all failed the same way.
    pub setup_error: Option<String>,
}

/// How many requests in a row, before any success, may fail with the same 401, 403 or 404
/// before the run stops sending: the setup (the key, the model, `--base-url`) is wrong, and
/// every other line would fail the same way.
pub const SETUP_FAILURES_TO_STOP: u32 = 3;

impl State {
    /// A fresh run over `resume`.
    pub fn new(
        writer: Writer,
        resume: Resume,
        bar: ProgressBar,
        defaults: Defaults,
        resend_failed: bool,
        stop: Arc<AtomicBool>,
    ) -> Self {
        State {
            writer,
            seen: IdSet::default(),
            resume,
            in_flight: HashMap::new(),
            next_index: 0,
            summary: Summary::default(),
            bar,
            defaults,
            resend_failed,
            rerun: false,
            read_error: None,
            write_error: None,
            pending: Vec::new(),
            stop,
            lines: None,
            any_success: false,
            setup_failures: (0, 0),
            setup_error: None,
        }
    }

    /// Whether new lines may be sent.
    fn admitting(&self) -> bool {
        self.read_error.is_none()
            && self.write_error.is_none()
            && self.setup_error.is_none()
            && signals::received().is_none()
    }

    /// The next request to send; writes error records for lines that cannot be sent.
    pub fn next_request<R: BufRead>(
        &mut self,
        lines: &mut Lines<R>,
    ) -> Option<ChatCompletionRequest> {
        while self.admitting() {
            let (number, text) = match lines.next()? {
                Ok(line) => line,
                Err(e) => {
                    self.read_error = Some(e);
                    return None;
                }
            };
            self.summary.total_lines += 1;
            let parsed = match text {
                Ok(t) => input::parse_line(&t, &self.defaults),
                Err(msg) => Parsed { custom_id: None, request: Err(msg) },
            };
            let id = parsed.custom_id.unwrap_or_else(|| number.to_string());
            if !self.seen.insert(&id) {
                if self.resume.duplicate_lines.contains(&number) {
                    self.skip(false);
                } else {
                    let msg = format!("line {number}: custom_id {id:?} repeats an earlier line's");
                    self.summary.duplicates += 1;
                    self.write_local(number, &id, DUPLICATE, msg);
                }
                continue;
            }
            if !line_set::holds(self.lines.as_ref(), number) {
                // Another pass's line (`--via auto` sends it through the batch API).
                self.summary.total_lines -= 1;
                self.bar.dec_length(1);
                continue;
            }
            let fp = parsed.request.as_ref().ok().map(fingerprint);
            if let Some(known) = self.resume.prior.get(&id_hash(&id)) {
                let changed = fp.is_some_and(|fp| !known.answers(fp));
                match known.prior {
                    _ if changed => self.summary.changed += 1,
                    Prior::Succeeded => {
                        self.skip(false);
                        continue;
                    }
                    Prior::Failed if !self.resend_failed => {
                        self.skip(true);
                        continue;
                    }
                    Prior::Failed => self.summary.resent_failed += 1,
                    Prior::Retry => {}
                }
                self.rerun = true;
            }
            match parsed.request {
                Err(msg) => {
                    self.summary.invalid_input += 1;
                    self.write_local(number, &id, INVALID_INPUT, format!("line {number}: {msg}"));
                }
                Ok(req) => {
                    let fp = fp.unwrap_or_else(|| fingerprint(&req));
                    self.in_flight.insert(self.next_index, (number, id, fp));
                    self.next_index += 1;
                    self.summary.sent += 1;
                    return Some(req);
                }
            }
        }
        None
    }

    fn skip(&mut self, failed: bool) {
        self.summary.skipped += 1;
        self.summary.skipped_failed += u64::from(failed);
        self.bar.dec_length(1);
    }

    fn write_local(&mut self, number: u64, id: &str, code: &str, message: String) {
        let rec = record::failure_record(number, id, None, &Failure::local(code, message));
        self.write(rec);
    }

    fn write(&mut self, rec: Value) {
        self.pending.push(rec);
        self.flush_pending();
        self.bar.inc(1);
    }

    /// Writes the queued records in order, stopping at the first failure.
    pub fn flush_pending(&mut self) {
        let mut written = 0;
        for rec in &self.pending {
            if let Err(e) = self.writer.write(rec) {
                self.write_error.get_or_insert(e);
                break;
            }
            written += 1;
        }
        self.pending.drain(..written);
    }

    /// Results received but not written (after a write failure).
    pub fn unwritten(&self) -> usize {
        self.pending.len()
    }

    /// Writes one result as soon as it completes, and tells the batch engine to stop once
    /// new lines may no longer be sent (a write failure, a signal).
    pub fn record(&mut self, r: BatchResult) {
        let Some((number, id, fp)) = self.in_flight.remove(&r.index) else { return };
        if !self.admitting() {
            self.stop.store(true, Ordering::SeqCst);
        }
        if matches!(r.result, Err(Error::BudgetExhausted { .. })) {
            // --max-cost refused it unsent: no record, so a rerun sends it; nothing more is read.
            self.stop.store(true, Ordering::SeqCst);
            self.summary.sent -= 1;
            self.summary.budget_unsent += 1;
            self.bar.dec_length(1);
            return;
        }
        if matches!(r.result, Err(Error::Cancelled)) && r.attempts == 0 {
            // Read ahead by the engine but never sent: no record, so the next run sends it.
            self.summary.sent -= 1;
            self.summary.not_sent += 1;
            self.bar.dec_length(1);
            return;
        }
        self.summary.attempts += u64::from(r.attempts);
        self.summary.retries += u64::from(r.attempts.saturating_sub(1));
        let rec = match &r.result {
            Ok(resp) => {
                self.summary.succeeded += 1;
                self.summary.cached += u64::from(resp.cached);
                if let Some(u) = resp.usage.as_ref().filter(|_| !resp.cached) {
                    self.summary.prompt_tokens += u.prompt_tokens;
                    self.summary.completion_tokens += u.completion_tokens;
                }
                record::success_record(number, &id, fp, resp)
            }
            Err(e) => {
                self.summary.failed += 1;
                self.count_setup_failure(e);
                record::failure_record(number, &id, Some(fp), &Failure::from_error(e))
            }
        };
        self.any_success |= r.result.is_ok();
        self.write(rec);
        if self.setup_error.is_some() {
            self.stop.store(true, Ordering::SeqCst);
        }
    }

    /// Counts a 401, 403 or 404 before any success; the third in a row with one status stops
    /// the run (their records are `configuration` failures, which a rerun sends again).
    fn count_setup_failure(&mut self, e: &Error) {
        let status = e.status().filter(|s| matches!(s, 401 | 403 | 404));
        let (n, had) = self.setup_failures;
        self.setup_failures = match status {
            Some(s) if !self.any_success && (n == 0 || had == s) => (n + 1, s),
            _ => (0, 0),
        };
        if self.setup_failures.0 >= SETUP_FAILURES_TO_STOP && self.setup_error.is_none() {
            self.setup_error = Some(format!(
                "the first {SETUP_FAILURES_TO_STOP} requests all failed with HTTP {} ({e}); \
                 stopped sending: check the key, the model and --base-url, then rerun (these \
                 lines are sent again, the others were never sent)",
                self.setup_failures.1
            ));
        }
    }
}
