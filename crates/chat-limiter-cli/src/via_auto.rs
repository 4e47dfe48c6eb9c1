//! `chat-limiter run --via auto --deadline 2h`: the real-time path, the batch API, or both,
//! chosen from the job's size, the known limits and the deadline (the rules are in
//! [`crate::auto_plan`]), and said. Then, while the deadline allows, lines a batch returned
//! expired (or cancelled, or failed for a passing reason) are finished on the real-time path.
//!
//! The limits are the configured ones (`--request-limit`, `--token-limit`, ...); when none is
//! configured and the deadline is under the batch window, one request of a single output
//! token is sent first to read them from the provider's headers (`chat-limiter limits` does
//! the same). Lines held by batches of an earlier run that are still running are never sent
//! on the real-time path: those batches are collected instead.

use std::collections::HashSet;
use std::fs::File;
use std::io::BufReader;
use std::time::{Duration, Instant};

use chat_limiter::{
    media_tokens, CharEstimator, ChatCompletionRequest, ChatLimiter, Message, Provider,
    TokenCounter,
};

use crate::auto_plan::{self, Choice, Dim, Rates, BATCH_WINDOW, DEADLINE_MARGIN};
use crate::input::{self, Defaults, Lines};
use crate::line_set::LineSet;
use crate::logger::say;
use crate::setup::{build_limiter, prepass, resolve_provider};
use crate::via_batch::{self, Mode};
use crate::{batch_state, run, Fatal, RunArgs};

/// Reads `90s`, `30m`, `2h`, `1d` (a number and a unit).
pub fn parse_deadline(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("--deadline: cannot read {text:?}; use 90s, 30m, 2h or 1d"))?;
    let unit_secs = match unit.trim() {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => return Err(format!("--deadline: unknown unit in {text:?}; use s, m, h or d")),
    };
    Duration::try_from_secs_f64(n * unit_secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("--deadline must be positive, got {text:?}"))
}

/// Runs the job on the chosen paths; returns the exit code.
pub fn run(args: &RunArgs) -> Result<u8, Fatal> {
    let started = Instant::now();
    let text = args
        .deadline
        .as_deref()
        .ok_or_else(|| Fatal::usage("--via auto needs --deadline (90s, 30m, 2h, 1d)"))?;
    let deadline = parse_deadline(text).map_err(Fatal::usage)?;
    let need_model = args.provider.is_none() && args.model.is_none();
    let (_, first_model) = prepass(args, need_model)?;
    let (provider, detected) = resolve_provider(args, first_model.clone())?;
    let running = running_batch_lines(args)?;
    let model = args.model.clone().or(first_model).unwrap_or_default();
    let rates = if deadline < BATCH_WINDOW && provider != Provider::OpenRouter {
        rates(args, provider, &model)?
    } else {
        Rates::default() // the choice does not depend on them
    };
    let budget = deadline.as_secs_f64() * DEADLINE_MARGIN;
    let defaults = Defaults { model: args.model.clone(), provider, check_provider: detected };
    let est = auto_plan::estimate(costs(args, &defaults, &running)?, &rates, budget);
    let (choice, why) = auto_plan::choose(provider, deadline, &est, &rates);
    let name = match choice {
        Choice::Realtime => "realtime",
        Choice::Batch => "batch",
        Choice::Split(_) => "realtime + batch",
    };
    say(&format!("chat-limiter: --via auto: {name} ({why})\n"));
    let mut code = 0;
    let pass = |code: &mut u8, c: u8| -> bool {
        *code = (*code).max(c);
        c < 128 // a signal stops the job
    };
    let with = |lines: LineSet| RunArgs { lines: Some(lines), ..args.clone() };
    match choice {
        Choice::Realtime if running.is_empty() => {
            return run::run(args, None).map(|o| o.exit_code());
        }
        Choice::Realtime => {
            let rt = with(LineSet::range(1, u64::MAX).without(running));
            if !pass(&mut code, run::run(&rt, None)?.exit_code()) {
                return Ok(code);
            }
            if !pass(&mut code, via_batch::run_mode(args, None, Mode::Collect)?) {
                return Ok(code);
            }
        }
        Choice::Batch => {
            if !pass(&mut code, via_batch::run(args, None)?) || code == 0 {
                return Ok(code);
            }
        }
        Choice::Split(last) => {
            let tail = with(LineSet::range(last + 1, u64::MAX));
            if !pass(&mut code, via_batch::run_mode(&tail, None, Mode::SubmitOnly)?) {
                return Ok(code);
            }
            let head = with(LineSet::range(1, last).without(running));
            if !pass(&mut code, run::run(&head, None)?.exit_code()) {
                return Ok(code);
            }
            if !pass(&mut code, via_batch::run_mode(args, None, Mode::Collect)?) {
                return Ok(code);
            }
        }
    }
    if code == 0 {
        return Ok(0);
    }
    if started.elapsed() >= deadline {
        say("chat-limiter: --via auto: the deadline has passed; unfinished lines stay recorded as retryable\n");
        return Ok(code);
    }
    // The real-time path sends exactly the lines whose records are retryable; its exit code
    // is the whole job's.
    say("chat-limiter: --via auto: finishing the lines the batches did not answer on the real-time path\n");
    run::run(args, None).map(|o| o.exit_code())
}

/// The lines held by batches of an earlier run that have not ended.
fn running_batch_lines(args: &RunArgs) -> Result<HashSet<u64>, Fatal> {
    let path = batch_state::path_for(&args.output);
    let state = batch_state::load(&path)
        .map_err(|e| Fatal::usage(format!("cannot read {}: {e}", path.display())))?;
    Ok(state
        .map(|s| s.parts.into_iter().filter(|p| !p.done).flat_map(|p| p.lines).collect())
        .unwrap_or_default())
}

/// The rates the real-time path will be held to: the configured limits, else those the
/// provider's headers give on a one-token probe.
fn rates(args: &RunArgs, provider: Provider, model: &str) -> Result<Rates, Fatal> {
    let limiter = build_limiter(args, provider, None)?;
    let windows = (limiter.config().request_window(), limiter.config().token_window());
    // A configured limit: its rate, with nothing assumed left in the provider's bucket.
    let per = |v: Option<u32>, w: Duration| v.map(|v| Dim::steady(f64::from(v) / w.as_secs_f64()));
    let configured = Rates {
        requests: per(args.request_limit, windows.0),
        tokens: per(args.token_limit, windows.1),
        input: per(args.input_token_limit, windows.1),
        output: per(args.output_token_limit, windows.1),
    };
    if configured.known() {
        return Ok(configured);
    }
    say("chat-limiter: --via auto: reading the limits with one request of one output token\n");
    if let Err(e) = probe(&limiter, model) {
        // Its headers may still have taught the limits; if not, the choice says so.
        say(&format!("chat-limiter: --via auto: the probe failed: {e}\n"));
    }
    Ok(Rates::from_snapshot(&limiter.current_limits(), model, windows))
}

fn probe(limiter: &ChatLimiter, model: &str) -> chat_limiter::Result<()> {
    let req = ChatCompletionRequest::new(model, vec![Message::user("ping")]).max_tokens(1);
    limiter.chat_completion(&req).map(drop)
}

/// Each line's admission charge, in order: `(line, prompt tokens, max output tokens)`. Lines
/// that cannot be read or parsed, and lines held by running batches, are left out (they are
/// not sent on the real-time path).
fn costs(
    args: &RunArgs,
    defaults: &Defaults,
    running: &HashSet<u64>,
) -> Result<Vec<(u64, u64, u64)>, Fatal> {
    let file = File::open(&args.input)
        .map_err(|e| Fatal::usage(format!("cannot read {}: {e}", args.input.display())))?;
    let default_max = u64::from(chat_limiter::Config::default().default_max_tokens());
    let counter = CharEstimator::default();
    let mut out = Vec::new();
    for line in Lines::new(BufReader::new(file)) {
        let (n, text) = line.map_err(|e| Fatal::failed(format!("cannot read the input: {e}")))?;
        let Ok(text) = text else { continue };
        let Ok(req) = input::parse_line(&text, defaults).request else { continue };
        if running.contains(&n) {
            continue;
        }
        let prompt = counter.count_prompt(&req) + media_tokens(defaults.provider, &req);
        out.push((n, prompt, req.max_tokens.map_or(default_max, u64::from)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_read_with_units_and_bad_ones_are_refused() {
        assert_eq!(parse_deadline("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_deadline("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_deadline("1.5d"), Ok(Duration::from_secs(129_600)));
        assert!(parse_deadline("2").is_err());
        assert!(parse_deadline("0h").is_err());
        assert!(parse_deadline("h").is_err());
        assert!(parse_deadline("3w").is_err());
    }
}
