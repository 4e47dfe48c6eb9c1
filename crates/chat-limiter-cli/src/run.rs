//! `chat-limiter run`: stream a JSONL file through the batch engine into a resumable output.
//!
//! The input is read twice: a counting pre-pass (for the progress bar, and the first model
//! when the provider must be detected) and the streaming pass, which parses one line at a time
//! as the batch engine asks for work. What grows with the input is only the sets of custom_ids,
//! kept as 128-bit hashes: one per input line (to catch duplicates) and one per output record.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal};
use std::rc::Rc;
use std::time::{Duration, Instant};

use chat_limiter::{process_chat_completion_stream, BatchResult, ChatCompletionRequest};
use indicatif::{ProgressBar, ProgressStyle};

use crate::input::{self, Defaults, Lines, Parsed};
use crate::output::{self, id_hash, Failure, Prior, Resume, Writer, DUPLICATE, INVALID_INPUT};
use crate::setup::{batch_config, build_limiter, prepass, resolve_provider};
use crate::summary::{self, Summary};
use crate::{Fatal, RunArgs};

/// What a run came to.
#[derive(Debug)]
pub struct Outcome {
    /// The counts, rates and limits.
    pub summary: Summary,
}

impl Outcome {
    /// 0 when every line has a successful result, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.summary.all_succeeded() {
            0
        } else {
            1
        }
    }
}

/// Runs the batch. `api_key` overrides the provider's environment variable (the demo passes
/// its emulator's dummy key this way instead of setting a variable).
pub fn run(args: &RunArgs, api_key: Option<String>) -> Result<Outcome, Fatal> {
    let started = Instant::now();
    let need_model = args.provider.is_none() && args.model.is_none();
    let (total_lines, first_model) = prepass(args, need_model)?;
    let (provider, detected) = resolve_provider(args, first_model)?;
    // The batch settings first: their messages name the flags' own settings.
    let config = batch_config(args)?;
    let limiter = build_limiter(args, provider, api_key)?;
    let (writer, resume) = output::open(&args.output).map_err(|e| {
        Fatal::usage(format!("cannot use output file {}: {e}", args.output.display()))
    })?;
    if resume.torn_bytes > 0 {
        eprintln!(
            "chat-limiter: cut a torn last line ({} bytes) from the output",
            resume.torn_bytes
        );
    }
    let reader = File::open(&args.input)
        .map_err(|e| Fatal::usage(format!("cannot read {}: {e}", args.input.display())))?;
    let bar = progress_bar(args.no_progress, total_lines);
    let defaults = Defaults { model: args.model.clone(), provider, check_provider: detected };
    let state =
        Rc::new(RefCell::new(State::new(writer, resume, bar.clone(), defaults, total_lines)));
    state.borrow_mut().summary.total_lines = total_lines;
    state.borrow_mut().summary.provider = provider.as_str().to_string();

    let mut lines = Lines::new(BufReader::with_capacity(1 << 16, reader));
    let feed = Rc::clone(&state);
    let requests = std::iter::from_fn(move || feed.borrow_mut().next_request(&mut lines));
    let sink = Rc::clone(&state);
    let on_bar = bar.clone();
    let config = config.on_progress(move |p| {
        on_bar.set_message(format!("{} in flight, {} 429s", p.in_flight, p.rate_limited));
    });
    let batch = process_chat_completion_stream(&limiter, requests, &config, None, move |r| {
        sink.borrow_mut().record(r);
    })?;
    bar.finish_and_clear();

    let state = Rc::try_unwrap(state)
        .map_err(|_| Fatal::failed("internal error: the batch kept its input"))?
        .into_inner();
    let State { writer, summary: mut s, io_error, rerun, .. } = state;
    if let Some(e) = io_error {
        return Err(Fatal::failed(format!("cannot read the input or write the output: {e}")));
    }
    writer
        .finish(rerun)
        .map_err(|e| Fatal::failed(format!("cannot finish {}: {e}", args.output.display())))?;
    s.retries = batch.retries;
    s.set_limits(&limiter.current_limits());
    s.set_rates(started.elapsed().as_secs_f64());
    s.peak_rss_kib = summary::peak_rss_kib();
    eprint!("{}", s.render());
    if let Some(path) = &args.stats_json {
        s.write_json(path)
            .map_err(|e| Fatal::failed(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(Outcome { summary: s })
}

fn progress_bar(off: bool, total: u64) -> ProgressBar {
    if off || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template(
        "{spinner} {elapsed_precise} [{wide_bar}] {pos}/{len} {rate} ETA {eta} {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .with_key("rate", |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
        let _ = write!(w, "{:.1}/s", s.per_sec());
    });
    let bar = ProgressBar::new(total).with_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// The bookkeeping shared by the input feed and the result sink (both run on the batch's
/// coordinator thread, one after the other, hence `Rc<RefCell<_>>`).
struct State {
    writer: Writer,
    resume: Resume,
    /// Hashes of every custom_id read so far in this run.
    seen: HashSet<u128>,
    /// Line number and custom_id of each item handed to the engine, by engine index.
    in_flight: HashMap<usize, (u64, String)>,
    next_index: usize,
    summary: Summary,
    bar: ProgressBar,
    defaults: Defaults,
    /// A line whose earlier result was retryable was sent again: its old record must go.
    rerun: bool,
    io_error: Option<io::Error>,
}

impl State {
    fn new(
        writer: Writer,
        resume: Resume,
        bar: ProgressBar,
        defaults: Defaults,
        lines: u64,
    ) -> Self {
        State {
            writer,
            resume,
            // Sized up front: growing it would briefly hold the old and the new table.
            seen: HashSet::with_capacity(usize::try_from(lines).unwrap_or(0)),
            in_flight: HashMap::new(),
            next_index: 0,
            summary: Summary::default(),
            bar,
            defaults,
            rerun: false,
            io_error: None,
        }
    }

    /// The next request to send; writes error records for lines that cannot be sent.
    fn next_request<R: BufRead>(&mut self, lines: &mut Lines<R>) -> Option<ChatCompletionRequest> {
        while self.io_error.is_none() {
            let (number, text) = match lines.next()? {
                Ok(line) => line,
                Err(e) => {
                    self.io_error = Some(e);
                    return None;
                }
            };
            let parsed = match text {
                Ok(t) => input::parse_line(&t, &self.defaults),
                Err(msg) => Parsed { custom_id: None, request: Err(msg) },
            };
            let id = parsed.custom_id.unwrap_or_else(|| number.to_string());
            let hash = id_hash(&id);
            if !self.seen.insert(hash) {
                if self.resume.duplicate_lines.contains(&number) {
                    self.skip(false);
                } else {
                    let msg = format!("line {number}: custom_id {id:?} repeats an earlier line's");
                    self.summary.duplicates += 1;
                    self.write_local(number, &id, DUPLICATE, msg);
                }
                continue;
            }
            match self.resume.prior.get(&hash) {
                Some(Prior::Succeeded) => {
                    self.skip(false);
                    continue;
                }
                Some(Prior::Failed) => {
                    self.skip(true);
                    continue;
                }
                Some(Prior::Retry) => self.rerun = true,
                None => {}
            }
            match parsed.request {
                Err(msg) => {
                    self.summary.invalid_input += 1;
                    self.write_local(number, &id, INVALID_INPUT, format!("line {number}: {msg}"));
                }
                Ok(req) => {
                    self.in_flight.insert(self.next_index, (number, id));
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
        let rec = output::failure_record(number, id, &Failure::local(code, message));
        self.write(&rec);
    }

    fn write(&mut self, rec: &serde_json::Value) {
        if let Err(e) = self.writer.write(rec) {
            self.io_error.get_or_insert(e);
        }
        self.bar.inc(1);
    }

    /// Writes one result as soon as it completes.
    fn record(&mut self, r: BatchResult) {
        let Some((number, id)) = self.in_flight.remove(&r.index) else { return };
        let rec = match &r.result {
            Ok(resp) => {
                self.summary.succeeded += 1;
                if let Some(u) = &resp.usage {
                    self.summary.prompt_tokens += u.prompt_tokens;
                    self.summary.completion_tokens += u.completion_tokens;
                }
                output::success_record(number, &id, resp)
            }
            Err(e) => {
                self.summary.failed += 1;
                output::failure_record(number, &id, &Failure::from_error(e))
            }
        };
        self.write(&rec);
    }
}
