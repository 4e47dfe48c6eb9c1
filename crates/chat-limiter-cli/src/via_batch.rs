//! `chat-limiter run --via batch`: the same job through the provider's batch API, written in
//! the same output format.
//!
//! The job's state (which lines went into which batch, and the batch ids) is saved beside the
//! output before and after every submission, so a killed run resumes polling and downloading
//! without resubmitting. Lines already recorded are never written twice; a rerun resubmits
//! only the lines whose record is retryable (expired, cancelled, failed for a passing reason).

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::BufReader;
use std::time::{Duration, Instant};

use chat_limiter::{BatchApi, BatchCaps, BatchItem, BatchStatus, PollSchedule};

use crate::batch_progress::Progress;
use crate::batch_record::{self, Line, Tally};
use crate::batch_state::{self, JobState};
use crate::batch_submit::{self, save, submit_part, Apis};
use crate::id_set::IdSet;
use crate::input::{self, Defaults, Lines, Parsed};
use crate::output::{self, Prior, Writer};
use crate::record::{self, fingerprint, id_hash, Failure, DUPLICATE, INVALID_INPUT};
use crate::setup::{build_limiter, prepass, resolve_provider};
use crate::{line_set, signals, Fatal, RunArgs};

/// What one call does with the job's batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Submit what is not sent yet, then poll and record until every batch has ended.
    Full,
    /// Submit what is not sent yet, and return (`--via auto`, before its real-time share).
    SubmitOnly,
    /// Poll and record the batches already submitted; submit no new line.
    Collect,
}

/// Runs the job through the batch API; returns the exit code.
pub fn run(args: &RunArgs, api_key: Option<String>) -> Result<u8, Fatal> {
    run_mode(args, api_key, Mode::Full)
}

/// Runs the job (the lines of `args.lines`, or all) through the batch API as `mode` says.
pub fn run_mode(args: &RunArgs, api_key: Option<String>, mode: Mode) -> Result<u8, Fatal> {
    let need_model = args.provider.is_none() && args.model.is_none();
    let (_, first_model) = prepass(args, need_model)?;
    let (provider, detected) = resolve_provider(args, first_model)?;
    let limiter = build_limiter(args, provider, api_key)?;
    let defaults_caps = BatchCaps::for_provider(provider);
    let caps = BatchCaps {
        max_requests: args.batch_max_requests.unwrap_or(defaults_caps.max_requests),
        ..defaults_caps
    };
    let api = BatchApi::new(&limiter).map_err(|e| Fatal::usage(e.to_string()))?.with_caps(caps);
    let apis = Apis::new(api);
    let first = Duration::try_from_secs_f64(args.poll_interval).map_err(|_| {
        Fatal::usage(format!(
            "--poll-interval must be a positive number of seconds, got {}",
            args.poll_interval
        ))
    })?;
    let schedule = PollSchedule { first, ..PollSchedule::default() };
    // One process per output, as for a real-time run.
    let _lock = crate::lock::acquire(&args.output).map_err(Fatal::usage)?;
    let (mut writer, resume) = output::open(&args.output).map_err(|e| {
        Fatal::usage(format!("cannot use output file {}: {e}", args.output.display()))
    })?;
    let state_path = batch_state::path_for(&args.output);
    let mut state = batch_state::load(&state_path)
        .map_err(|e| Fatal::usage(format!("cannot read {}: {e}", state_path.display())))?
        .unwrap_or_else(|| JobState::new(provider.as_str()));
    if state.provider != provider.as_str() {
        return Err(Fatal::usage(format!(
            "{} belongs to a {} job, not {provider}",
            state_path.display(),
            state.provider
        )));
    }
    let io_fail = |e: std::io::Error| Fatal::failed(format!("cannot write the output: {e}"));

    // Read the input: what is already recorded is skipped, what cannot be sent is recorded.
    let defaults = Defaults { model: args.model.clone(), provider, check_provider: detected };
    let reader = File::open(&args.input)
        .map_err(|e| Fatal::usage(format!("cannot read {}: {e}", args.input.display())))?;
    let mut lines: HashMap<u64, Line> = HashMap::new();
    let mut seen = IdSet::default();
    let mut tally = Tally::default();
    let mut compact = false;
    for line in Lines::new(BufReader::new(reader)) {
        let (number, text) =
            line.map_err(|e| Fatal::failed(format!("cannot read the input: {e}")))?;
        let parsed = match text {
            Ok(t) => input::parse_line(&t, &defaults),
            Err(msg) => Parsed { custom_id: None, request: Err(msg) },
        };
        let id = parsed.custom_id.unwrap_or_else(|| number.to_string());
        if !seen.insert(&id) {
            if !resume.duplicate_lines.contains(&number) {
                let msg = format!("line {number}: custom_id {id:?} repeats an earlier line's");
                let rec =
                    record::failure_record(number, &id, None, &Failure::local(DUPLICATE, msg));
                writer.write(&rec).map_err(io_fail)?;
            }
            continue;
        }
        // A record of another request under this custom_id (the line changed) does not count.
        if !line_set::holds(args.lines.as_ref(), number) {
            continue; // another pass's line
        }
        let fp = parsed.request.as_ref().ok().map(fingerprint);
        let hash = id_hash(&id);
        let known = resume.prior.get(&hash).filter(|k| fp.is_none_or(|fp| k.answers(fp)));
        match known.map(|k| k.prior) {
            Some(p @ (Prior::Succeeded | Prior::Failed)) => {
                tally.skipped += 1;
                tally.skipped_failed += u64::from(p == Prior::Failed);
                continue;
            }
            Some(Prior::Retry) => compact = true,
            None if resume.prior.contains_key(&hash) => compact = true,
            None => {}
        }
        match parsed.request {
            Err(msg) => {
                tally.failed += 1;
                let f = Failure::local(INVALID_INPUT, format!("line {number}: {msg}"));
                writer.write(&record::failure_record(number, &id, None, &f)).map_err(io_fail)?;
            }
            Ok(request) => {
                lines.insert(number, Line { id, request });
            }
        }
    }

    batch_submit::recover(&apis, &mut state, &state_path)?;
    let running: HashSet<u64> =
        state.parts.iter().filter(|p| !p.done).flat_map(|p| p.lines.iter().copied()).collect();
    let mut fresh: Vec<u64> = lines.keys().copied().filter(|n| !running.contains(n)).collect();
    fresh.sort_unstable();
    if mode == Mode::Collect {
        fresh.clear();
    }
    batch_submit::submit_fresh(&apis, &limiter, &fresh, &lines, &mut state, &state_path)?;

    if mode == Mode::SubmitOnly {
        finish(writer, compact, &args.output)?;
        return Ok(signals::received().map_or(0, signals::exit_code));
    }

    // Poll every unfinished part; download and record each as it ends.
    let mut progress = Progress::new(args.no_progress);
    let mut waiting: Vec<usize> = Vec::new();
    for n in 0.. {
        if let Some(sig) = signals::received() {
            return stopped(sig, &state, writer, compact, &args.output);
        }
        let (mut left, mut ended) = (0, 0);
        for i in 0..state.parts.len() {
            if state.parts[i].batch_id.is_none() && !state.parts[i].done {
                if watch_candidates(
                    apis.of(&state.parts[i]),
                    &mut state,
                    i,
                    &mut progress,
                    &state_path,
                )? {
                    left += 1;
                }
                if state.parts[i].batch_id.is_none() {
                    if state.parts[i].candidates.is_empty() && !state.parts[i].done {
                        // No candidate held it: it was never created.
                        waiting.push(i);
                    }
                    continue;
                }
            }
            let part = &state.parts[i];
            let Some(id) = part.batch_id.clone().filter(|_| !part.done) else { continue };
            let api = apis.of(&state.parts[i]);
            let info = api
                .status(&id)
                .map_err(|e| Fatal::failed(format!("cannot read batch {id}: {e}")))?;
            progress.show(&info);
            if !info.status.is_terminal() {
                left += 1;
                continue;
            }
            let over_tokens = info.status == BatchStatus::Failed
                && info.errors.iter().any(|e| e.code == "token_limit_exceeded");
            let others = state
                .parts
                .iter()
                .enumerate()
                .any(|(j, p)| j != i && p.batch_id.is_some() && !p.done);
            if over_tokens && others {
                // Rejected whole (nothing ran, nothing is charged): the enqueued-token limit
                // is full. Submit it again when an earlier batch ends.
                progress
                    .say(&format!("chat-limiter: batch {id} waits for the enqueued-token limit\n"));
                state.parts[i].batch_id = None;
                state.parts[i].file_id = None;
                save(&state_path, &state)?;
                waiting.push(i);
                continue;
            }
            ended += 1;
            let results = api
                .results(&info)
                .map_err(|e| Fatal::failed(format!("cannot download batch {id}: {e}")))?;
            let part_lines = state.parts[i].lines.clone();
            batch_record::record_part(
                &state,
                &part_lines,
                &lines,
                results,
                &info,
                &mut writer,
                &mut tally,
            )
            .map_err(io_fail)?;
            state.parts[i].done = true;
            save(&state_path, &state)?;
        }
        waiting.sort_unstable();
        waiting.dedup();
        if !waiting.is_empty() && (ended > 0 || left == 0) && signals::received().is_none() {
            for i in std::mem::take(&mut waiting) {
                let subset: Vec<BatchItem> = state.parts[i]
                    .lines
                    .iter()
                    .filter_map(|n| {
                        lines.get(n).map(|l| BatchItem::new(state.item_id(*n), l.request.clone()))
                    })
                    .collect();
                submit_part(apis.of(&state.parts[i]), &subset, &mut state, i, &state_path)?;
                left += 1;
            }
        }
        if left == 0 && waiting.is_empty() {
            break;
        }
        sleep_unless_signalled(schedule.delay(n));
    }
    finish(writer, compact, &args.output)?;
    crate::logger::say(&format!(
        "chat-limiter: {} succeeded, {} failed, {} already done\n",
        tally.succeeded, tally.failed, tally.skipped
    ));
    Ok(if tally.failed == 0 && tally.skipped_failed == 0 { 0 } else { 1 })
}

/// Polls the candidates of part `i` (batches a stopped run may have created for it). An ended
/// candidate whose results carry this job's ids is adopted as the part's batch; an ended one
/// that does not is another job's and is dropped. Returns whether any is still running.
fn watch_candidates(
    api: &BatchApi,
    state: &mut JobState,
    i: usize,
    progress: &mut Progress,
    path: &std::path::Path,
) -> Result<bool, Fatal> {
    let mut running = false;
    for id in state.parts[i].candidates.clone() {
        let info =
            api.status(&id).map_err(|e| Fatal::failed(format!("cannot read batch {id}: {e}")))?;
        progress.show(&info);
        if !info.status.is_terminal() {
            running = true;
            continue;
        }
        let results = api
            .results(&info)
            .map_err(|e| Fatal::failed(format!("cannot download batch {id}: {e}")))?;
        if batch_record::holds_part(state, &results, &state.parts[i].lines) {
            progress.say(&format!("chat-limiter: batch {id} holds the unsaved part\n"));
            let part = &mut state.parts[i];
            part.batch_id = Some(id);
            part.candidates.clear();
            save(path, state)?;
            return Ok(false); // recorded by the caller's next look at the part
        }
        state.parts[i].candidates.retain(|c| c != &id);
        save(path, state)?;
    }
    Ok(running)
}

/// Sleeps for `d`, waking early when a signal arrives.
fn sleep_unless_signalled(d: Duration) {
    let end = Instant::now() + d;
    while signals::received().is_none() {
        let now = Instant::now();
        if now >= end {
            return;
        }
        std::thread::sleep((end - now).min(Duration::from_millis(50)));
    }
}

/// A signal ended the run: the batches keep running at the provider, and a rerun collects
/// them without submitting anything again.
fn stopped(
    sig: i32,
    state: &JobState,
    writer: Writer,
    compact: bool,
    path: &std::path::Path,
) -> Result<u8, Fatal> {
    finish(writer, compact, path)?;
    let running = state.parts.iter().filter(|p| !p.done).count();
    crate::logger::say(&format!(
        "chat-limiter: {}: stopped; {running} batch(es) keep running at the provider and are \
         saved in {}. Run the same command again to collect their results (nothing is \
         submitted twice), or `chat-limiter batches cancel -o {}` to cancel them\n",
        signals::name(sig),
        batch_state::path_for(path).display(),
        path.display()
    ));
    Ok(signals::exit_code(sig))
}

fn finish(writer: Writer, compact: bool, path: &std::path::Path) -> Result<(), Fatal> {
    writer
        .finish(compact)
        .map_err(|e| Fatal::failed(format!("cannot finish {}: {e}", path.display())))
}
