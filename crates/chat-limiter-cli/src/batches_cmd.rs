//! `chat-limiter batches status|cancel -o OUTPUT`: the provider batches of a `--via batch`
//! job, read from the state kept beside its output.

use std::path::PathBuf;

use chat_limiter::{BatchApi, ChatLimiter, Provider};
use clap::{Args, Subcommand};

use crate::batch_state;
use crate::Fatal;

/// The options of `batches`.
#[derive(Debug, Args)]
pub struct BatchesArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: Action,
}

/// `status` or `cancel`.
#[derive(Debug, Subcommand)]
pub enum Action {
    /// Each batch of the job: its status and counts.
    Status(JobArgs),
    /// Cancel the job's unfinished batches (answered lines keep their results; a later
    /// `run --via batch` records the cancelled ones and can resubmit them).
    Cancel(JobArgs),
}

/// Which job, and how to reach its provider.
#[derive(Debug, Args)]
pub struct JobArgs {
    /// The job's output file (its state is `OUTPUT.batches.json`).
    #[arg(short, long)]
    pub output: PathBuf,
    /// API base URL (a proxy, or the emulator).
    #[arg(long)]
    pub base_url: Option<String>,
}

/// Runs `batches`; returns the exit code.
pub fn batches(args: &BatchesArgs) -> Result<u8, Fatal> {
    let (job, cancel) = match &args.action {
        Action::Status(j) => (j, false),
        Action::Cancel(j) => (j, true),
    };
    let path = batch_state::path_for(&job.output);
    let state = batch_state::load(&path)
        .map_err(|e| Fatal::usage(format!("cannot read {}: {e}", path.display())))?
        .ok_or_else(|| Fatal::usage(format!("no batch job state at {}", path.display())))?;
    let provider: Provider = state
        .provider
        .parse()
        .map_err(|_| Fatal::usage(format!("{} names an unknown provider", path.display())))?;
    let mut b = ChatLimiter::builder().provider(provider);
    if let Some(u) = &job.base_url {
        b = b.base_url(u);
    }
    let api = BatchApi::new(&b.build()?).map_err(|e| Fatal::usage(e.to_string()))?;
    let mut failed = false;
    for part in &state.parts {
        let Some(id) = &part.batch_id else { continue };
        let result = if cancel && !part.done { api.cancel(id) } else { api.status(id) };
        match result {
            Ok(info) => {
                let c = &info.counts;
                println!(
                    "{id}\t{}\t{} lines\t{}/{} succeeded\t{} errored\t{} expired\t{} canceled{}",
                    info.status,
                    part.lines.len(),
                    c.succeeded,
                    c.total,
                    c.errored,
                    c.expired,
                    c.canceled,
                    if part.done { "\trecorded" } else { "" }
                );
            }
            Err(e) => {
                failed = true;
                eprintln!("chat-limiter: batch {id}: {e}");
            }
        }
    }
    Ok(u8::from(failed))
}
