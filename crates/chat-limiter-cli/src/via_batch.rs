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

use chat_limiter::{
    BatchApi, BatchCaps, BatchInfo, BatchItem, BatchStatus, ChatCompletionRequest, ItemOutcome,
    PollSchedule, Provider,
};

use crate::batch_state::{self, JobState, PartState};
use crate::input::{self, Defaults, Lines, Parsed};
use crate::output::{self, Prior, Writer};
use crate::record::{self, fingerprint, id_hash, Failure, DUPLICATE, INVALID_INPUT};
use crate::setup::{build_limiter, prepass, resolve_provider};
use crate::{Fatal, RunArgs};

/// One line to send: the user's id and the request.
struct Line {
    id: String,
    request: ChatCompletionRequest,
}

/// Counts for the closing summary.
#[derive(Default)]
struct Tally {
    succeeded: u64,
    failed: u64,
    skipped: u64,
    skipped_failed: u64,
}

/// Runs the job through the batch API; returns the exit code.
pub fn run(args: &RunArgs, api_key: Option<String>) -> Result<u8, Fatal> {
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
        .unwrap_or(JobState { version: 1, provider: provider.as_str().into(), parts: Vec::new() });
    if state.provider != provider.as_str() {
        return Err(Fatal::usage(format!(
            "{} belongs to a {} job, not {provider}",
            state_path.display(),
            state.provider
        )));
    }
    let save = |state: &JobState| {
        batch_state::save(&state_path, state)
            .map_err(|e| Fatal::failed(format!("cannot save {}: {e}", state_path.display())))
    };
    let io_fail = |e: std::io::Error| Fatal::failed(format!("cannot write the output: {e}"));

    // Read the input: what is already recorded is skipped, what cannot be sent is recorded.
    let defaults = Defaults { model: args.model.clone(), provider, check_provider: detected };
    let reader = File::open(&args.input)
        .map_err(|e| Fatal::usage(format!("cannot read {}: {e}", args.input.display())))?;
    let mut lines: HashMap<u64, Line> = HashMap::new();
    let mut seen = HashSet::new();
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
        let hash = id_hash(&id);
        if !seen.insert(hash) {
            if !resume.duplicate_lines.contains(&number) {
                let msg = format!("line {number}: custom_id {id:?} repeats an earlier line's");
                let rec =
                    record::failure_record(number, &id, None, &Failure::local(DUPLICATE, msg));
                writer.write(&rec).map_err(io_fail)?;
            }
            continue;
        }
        // A record of another request under this custom_id (the line changed) does not count.
        let fp = parsed.request.as_ref().ok().map(fingerprint);
        let known = resume.prior.get(&hash).filter(|k| match (k.fingerprint, fp) {
            (Some(had), Some(now)) => had == now,
            _ => true,
        });
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

    // OpenAI: a part whose file was uploaded but whose batch id was not saved is looked up by
    // its file (the batch may have been created just before the kill), else created from it.
    for i in 0..state.parts.len() {
        let Some(file) =
            state.parts[i].file_id.clone().filter(|_| state.parts[i].batch_id.is_none())
        else {
            continue;
        };
        let fail =
            |e: chat_limiter::BatchError| Fatal::failed(format!("cannot submit a batch: {e}"));
        let info = match api.find_by_input_file(&file).map_err(fail)? {
            Some(info) => info,
            None => api.create_from_file(&file).map_err(fail)?,
        };
        state.parts[i].batch_id = Some(info.id);
        save(&state)?;
    }
    // A part saved without a batch id or a file was killed while being submitted: send its
    // lines again (Anthropic has no way to find a batch it may have created).
    let unsure = state
        .parts
        .iter()
        .filter(|p| p.batch_id.is_none() && p.file_id.is_none() && !p.done)
        .count();
    if unsure > 0 {
        eprintln!(
            "chat-limiter: {unsure} batch(es) were being submitted when the last run stopped; \
             their lines are submitted again"
        );
    }
    state.parts.retain(|p| p.batch_id.is_some() || p.done);
    let running: HashSet<u64> =
        state.parts.iter().filter(|p| !p.done).flat_map(|p| p.lines.iter().copied()).collect();
    let mut fresh: Vec<u64> = lines.keys().copied().filter(|n| !running.contains(n)).collect();
    fresh.sort_unstable();
    if !fresh.is_empty() {
        let items: Vec<BatchItem> = fresh
            .iter()
            .map(|n| BatchItem::new(format!("l{n}"), lines[n].request.clone()))
            .collect();
        let plan = api.plan(&items).map_err(|e| Fatal::usage(e.to_string()))?;
        for indices in plan {
            let part_lines: Vec<u64> = indices.iter().map(|i| fresh[*i]).collect();
            state.parts.push(PartState {
                lines: part_lines,
                file_id: None,
                batch_id: None,
                done: false,
            });
            save(&state)?;
            let subset: Vec<BatchItem> = indices.iter().map(|i| items[*i].clone()).collect();
            let last = state.parts.len() - 1;
            submit_part(&api, &subset, &mut state, last, &state_path)?;
        }
    }

    // Poll every unfinished part; download and record each as it ends.
    let started = Instant::now();
    let mut waiting: Vec<usize> = Vec::new();
    for n in 0.. {
        let (mut left, mut ended) = (0, 0);
        for i in 0..state.parts.len() {
            let part = &state.parts[i];
            let Some(id) = part.batch_id.clone().filter(|_| !part.done) else { continue };
            let info = api
                .status(&id)
                .map_err(|e| Fatal::failed(format!("cannot read batch {id}: {e}")))?;
            progress(&info, started);
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
                eprintln!("chat-limiter: batch {id} waits for the enqueued-token limit");
                state.parts[i].batch_id = None;
                state.parts[i].file_id = None;
                save(&state)?;
                waiting.push(i);
                continue;
            }
            ended += 1;
            let results = api
                .results(&info)
                .map_err(|e| Fatal::failed(format!("cannot download batch {id}: {e}")))?;
            let mut by_line: HashMap<u64, ItemOutcome> = HashMap::new();
            for r in results {
                if let Some(line) = r.custom_id.strip_prefix('l').and_then(|s| s.parse().ok()) {
                    by_line.insert(line, r.outcome);
                }
            }
            for line in state.parts[i].lines.clone() {
                let Some(l) = lines.get(&line) else { continue }; // recorded by an earlier run
                let outcome = by_line.remove(&line);
                let fp = fingerprint(&l.request);
                let rec = line_record(line, &l.id, fp, outcome, &info, &mut tally);
                writer.write(&rec).map_err(io_fail)?;
            }
            state.parts[i].done = true;
            save(&state)?;
        }
        if !waiting.is_empty() && (ended > 0 || left == 0) {
            for i in std::mem::take(&mut waiting) {
                let subset: Vec<BatchItem> = state.parts[i]
                    .lines
                    .iter()
                    .filter_map(|n| {
                        lines.get(n).map(|l| BatchItem::new(format!("l{n}"), l.request.clone()))
                    })
                    .collect();
                submit_part(&api, &subset, &mut state, i, &state_path)?;
                left += 1;
            }
        }
        if left == 0 {
            break;
        }
        std::thread::sleep(schedule.delay(n));
    }
    finish(writer, compact, &args.output)?;
    eprintln!(
        "chat-limiter: {} succeeded, {} failed, {} already done",
        tally.succeeded, tally.failed, tally.skipped
    );
    Ok(if tally.failed == 0 && tally.skipped_failed == 0 { 0 } else { 1 })
}

/// Submits part `i` of the job and saves its ids as they come (OpenAI: the file before the
/// batch, so a kill in between can find the batch by its file).
fn submit_part(
    api: &BatchApi,
    subset: &[BatchItem],
    state: &mut JobState,
    i: usize,
    path: &std::path::Path,
) -> Result<(), Fatal> {
    let save = |state: &JobState| {
        batch_state::save(path, state)
            .map_err(|e| Fatal::failed(format!("cannot save {}: {e}", path.display())))
    };
    let fail = |e: chat_limiter::BatchError| Fatal::failed(format!("cannot submit a batch: {e}"));
    let info = if state.provider == Provider::Anthropic.as_str() {
        api.submit(subset).map_err(fail)?
    } else {
        let file = api.upload(subset).map_err(fail)?;
        state.parts[i].file_id = Some(file.clone());
        save(state)?;
        api.create_from_file(&file).map_err(fail)?
    };
    eprintln!("chat-limiter: submitted batch {} ({} requests)", info.id, subset.len());
    state.parts[i].batch_id = Some(info.id);
    save(state)
}

fn finish(writer: Writer, compact: bool, path: &std::path::Path) -> Result<(), Fatal> {
    writer
        .finish(compact)
        .map_err(|e| Fatal::failed(format!("cannot finish {}: {e}", path.display())))
}

/// A batch's counts and how long it has run (since its creation when the provider says,
/// else since this run started polling), on stderr.
fn progress(info: &BatchInfo, started: Instant) {
    let c = &info.counts;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let running = match info.created_at {
        Some(t) if t <= now => (now - t) as f64,
        _ => started.elapsed().as_secs_f64(),
    };
    eprintln!(
        "chat-limiter: batch {} {}: {}/{} succeeded, {} errored, {} expired, {} canceled, running {:.0}s",
        info.id,
        info.status,
        c.succeeded,
        c.total,
        c.errored,
        c.expired,
        c.canceled,
        running
    );
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
