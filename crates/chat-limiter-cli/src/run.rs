//! `chat-limiter run`: stream a JSONL file through the batch engine into a resumable output.
//!
//! Before anything is sent: the output must be a regular file and not the input, its lock is
//! taken ([`crate::lock`]), it is read to resume, and the disk must take a probe write. A file
//! input is read twice (a counting pre-pass for the progress bar and the first model, then the
//! streaming pass); a pipe is read once ([`crate::source`]). What grows with the input is only
//! the set of custom_ids read ([`crate::id_set`]: a bit per generated `l17`-style or line-number
//! id, 8 bytes per other id) and, on resume, the output's records ([`crate::prior_map`]: 24
//! bytes per id).

use std::cell::RefCell;
use std::io::{self, IsTerminal};
use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_limiter::process_chat_completion_stream;
use indicatif::{ProgressBar, ProgressStyle};

use crate::feed::State;
use crate::input::{Defaults, Lines};
use crate::logger::say;
use crate::setup::{batch_config, build_limiter, resolve_provider};
use crate::summary::{self, Summary};
use crate::timeline::Tally;
use crate::{lock, output, sampler, signals, source, Fatal, RunArgs};

/// What a run came to.
#[derive(Debug)]
pub struct Outcome {
    /// The counts, rates and limits.
    pub summary: Summary,
    /// The signal that stopped the run early.
    pub signal: Option<i32>,
}

impl Outcome {
    /// 0 when every line has a successful result, 1 otherwise, 3 when `--max-cost` left
    /// lines unsent, 128 + the signal's number when a signal stopped the run.
    pub fn exit_code(&self) -> u8 {
        if let Some(sig) = self.signal {
            return signals::exit_code(sig);
        }
        if self.summary.budget_unsent > 0 {
            3
        } else if self.summary.all_succeeded() {
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
    source::check_output(args)?;
    let input = source::open_input(args, need_model)?;
    let (provider, detected) = resolve_provider(args, input.first_model.clone())?;
    // The batch settings first: their messages name the flags' own settings.
    let config = batch_config(args)?;
    let limiter = build_limiter(args, provider, api_key)?;
    let _metrics = crate::metrics_server::serve_for(args, &limiter)?;
    let out = args.output.display();
    let _lock = lock::acquire(&args.output).map_err(Fatal::usage)?;
    let (mut writer, resume) = output::open(&args.output)
        .map_err(|e| Fatal::usage(format!("cannot use output file {out}: {e}")))?;
    writer.check_space().map_err(|e| {
        Fatal::failed(format!(
            "cannot write to {out}: {e}; nothing was sent (free {} KiB or more and rerun)",
            output::SPACE_PROBE_BYTES / 1024
        ))
    })?;
    if resume.torn_bytes > 0 {
        say(&format!(
            "chat-limiter: cut a torn last line ({} bytes) from the output\n",
            resume.torn_bytes
        ));
    }
    let bar = progress_bar(args.no_progress, input.total);
    let defaults = Defaults { model: args.model.clone(), provider, check_provider: detected };
    let resend_failed = args.retry.is_some();
    // Set by the sink once nothing more may be sent: the engine then sends none of the lines
    // it has read ahead.
    let stop = Arc::new(AtomicBool::new(false));
    let state = Rc::new(RefCell::new(State::new(
        writer,
        resume,
        bar.clone(),
        defaults,
        resend_failed,
        Arc::clone(&stop),
    )));
    state.borrow_mut().summary.provider = provider.as_str().to_string();
    state.borrow_mut().lines = args.lines.clone();

    let mut lines = Lines::new(input.reader);
    let feed = Rc::clone(&state);
    let requests = std::iter::from_fn(move || feed.borrow_mut().next_request(&mut lines));
    let sink = Rc::clone(&state);
    let config = config.stop(stop);
    // The timeline beside the output, and the live view (both from crate::sampler).
    let tally = Arc::new(Tally::default());
    let sampler = sampler::start(&args.output, limiter.clone(), Arc::clone(&tally), bar.clone());
    let sent = process_chat_completion_stream(&limiter, requests, &config, None, move |r| {
        tally.finished(&r);
        sink.borrow_mut().record(r);
    });
    sampler.stop();
    sent?;
    bar.finish_and_clear();

    let mut state = Rc::try_unwrap(state)
        .map_err(|_| Fatal::failed("internal error: the batch kept its input"))?
        .into_inner();
    state.flush_pending(); // a last try for results held back by a failed write
    let unwritten = state.unwritten();
    let State { writer, summary: mut s, read_error, write_error, rerun, setup_error, .. } = state;
    let finished = if write_error.is_none() { writer.finish(rerun) } else { Ok(()) };
    s.set_limits(&limiter.current_limits());
    s.spend = Some(crate::spend::SpendSummary::new(&limiter.spend()));
    s.set_rates(started.elapsed().as_secs_f64());
    s.peak_rss_kib = summary::peak_rss_kib();
    s.unwritten = unwritten as u64;
    let signal = signals::received();
    s.interrupted_by = signal.map(|sig| signals::name(sig).to_string());
    say(&s.render());
    crate::cache_cmd::report(&limiter);
    if let Some(path) = &args.stats_json {
        s.write_json(path)
            .map_err(|e| Fatal::failed(format!("cannot write {}: {e}", path.display())))?;
    }
    // A report that cannot be written fails the command, after the run's own errors.
    let report: Result<(), Fatal> = args.report.as_ref().map_or(Ok(()), |path| {
        crate::report_cmd::write(&args.output, path)?;
        say(&format!("chat-limiter: report written to {}\n", path.display()));
        Ok(())
    });
    if let Some(e) = write_error {
        return Err(Fatal::failed(format!(
            "cannot write to {out}: {e}; stopped sending at once; {unwritten} answers received \
             could not be written and will be sent again by the next run"
        )));
    }
    if let Some(e) = read_error {
        return Err(Fatal::failed(format!("cannot read {}: {e}", args.input.display())));
    }
    finished.map_err(|e| Fatal::failed(format!("cannot finish {out}: {e}")))?;
    if let Some(why) = setup_error {
        return Err(Fatal::usage(why));
    }
    if let Some(sig) = signal {
        say(&format!(
            "chat-limiter: stopped by {}: rerun the same command to send the rest\n",
            signals::name(sig)
        ));
    }
    report?;
    Ok(Outcome { summary: s, signal })
}

fn progress_bar(off: bool, total: Option<u64>) -> ProgressBar {
    if off || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template(
        // The message (crate::live) holds the ETA at the limits, on a line of its own.
        "{spinner} {elapsed_precise} [{wide_bar}] {pos}/{len} {rate}\n  {wide_msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .with_key("rate", |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
        let _ = write!(w, "{:.1}/s", s.per_sec());
    });
    let bar = ProgressBar::new(total.unwrap_or(0)).with_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
