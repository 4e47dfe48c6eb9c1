//! `chat-limiter`: run JSONL batches of chat requests through the rate limiter, resumably;
//! run the provider emulator; a self-contained demo; probe a key's limits.
//!
//! Exit codes: 0 every line succeeded, 1 some lines failed (or the output could not be
//! written), 2 usage or configuration error, 3 `run --max-cost` stopped sending (the lines
//! not sent are left for a rerun), 130/143 `run` stopped by SIGINT/SIGTERM.

mod args;
mod auto_plan;
mod batch_progress;
mod batch_record;
mod batch_state;
mod batch_submit;
mod batches_cmd;
mod cache_cmd;
mod demo;
mod dry_run;
mod emulate;
mod feed;
mod id_set;
mod input;
mod input_responses;
mod latency;
mod limits;
mod line_set;
mod live;
mod lock;
mod logger;
mod metrics_server;
mod metrics_text;
mod open_files;
mod output;
mod prior_map;
mod record;
mod report;
mod report_cmd;
mod report_html;
mod report_svg;
mod run;
mod sampler;
mod setup;
mod signals;
mod source;
mod spend;
mod summary;
mod timeline;
mod verdict;
mod via_auto;
mod via_batch;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use args::{DemoArgs, EmulateArgs, LimitsArgs, RunArgs};

/// Rate-limited batches of chat requests for OpenAI, Anthropic and OpenRouter.
#[derive(Debug, Parser)]
#[command(name = "chat-limiter", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
// Parsed once at start-up and matched at once: the size of `RunArgs` costs nothing here.
#[allow(clippy::large_enum_variant)]
enum Command {
    /// Send every line of a JSONL file, appending results to OUTPUT (resumes when rerun).
    #[command(after_help = args::RUN_RULES)]
    Run(RunArgs),
    /// Run the provider emulator in the foreground; prints its base URL on the first line.
    Emulate(EmulateArgs),
    /// Run a few hundred generated prompts against an in-process emulator (no key, no network).
    Demo(DemoArgs),
    /// One probe call, then a table of the limits the provider reported.
    Limits(LimitsArgs),
    /// The provider batches of a `run --via batch` job: `status` or `cancel`.
    Batches(batches_cmd::BatchesArgs),
    /// A response cache (`run --cache PATH`): `stats` or `prune`.
    Cache(cache_cmd::CacheArgs),
    /// Write the HTML report of a run's output from its timeline (OUTPUT.timeline.jsonl).
    Report(report_cmd::ReportArgs),
}

/// A failure that ends the command, with its exit code.
#[derive(Debug)]
pub struct Fatal {
    /// 1 for a failed operation, 2 for usage and configuration errors.
    pub code: u8,
    /// What to tell the user.
    pub message: String,
}

impl Fatal {
    /// A usage or configuration error (exit code 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Fatal { code: 2, message: message.into() }
    }
    /// An operation that failed after a valid start (exit code 1).
    pub fn failed(message: impl Into<String>) -> Self {
        Fatal { code: 1, message: message.into() }
    }
}

impl From<chat_limiter::Error> for Fatal {
    /// Library errors raised before any request is sent are configuration errors.
    fn from(e: chat_limiter::Error) -> Self {
        use chat_limiter::Error;
        // The library's messages name builder methods; say it in the CLI's terms.
        Fatal::usage(match e {
            Error::MissingApiKey { provider, var } => {
                format!("no API key for {provider}: set the {var} environment variable")
            }
            Error::UnknownModel { model } => format!(
                "cannot tell the provider of model {model:?}: pass --provider openai|anthropic|openrouter"
            ),
            other => other.to_string(),
        })
    }
}

fn main() -> ExitCode {
    logger::install();
    open_files::raise_soft_limit();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) if args.via != args::Via::Realtime && args.cache.cache.is_some() => {
            Err(Fatal::usage("--cache works with --via realtime only (the batch APIs bypass it)"))
        }
        Command::Run(args) if args.dry_run => dry_run::dry_run(&args),
        Command::Run(args) if args.via != args::Via::Realtime && args.metrics.is_some() => {
            Err(Fatal::usage(metrics_server::NOT_WITH_BATCH))
        }
        Command::Run(args) if args.via != args::Via::Realtime && args.report.is_some() => {
            Err(Fatal::usage(report::NOT_WITH_BATCH))
        }
        Command::Run(args) => {
            signals::install(std::time::Duration::from_secs_f64(args.grace.clamp(0.0, 86_400.0)));
            match args.via {
                args::Via::Batch => via_batch::run(&args, None),
                args::Via::Auto => via_auto::run(&args),
                args::Via::Realtime => run::run(&args, None).map(|o| o.exit_code()),
            }
        }
        Command::Emulate(args) => emulate::emulate(&args),
        Command::Demo(args) => demo::demo(&args),
        Command::Limits(args) => limits::limits(&args),
        Command::Batches(args) => batches_cmd::batches(&args),
        Command::Cache(args) => cache_cmd::cache(&args),
        Command::Report(args) => report_cmd::report_cmd(&args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            logger::say(&format!("chat-limiter: error: {}\n", f.message));
            ExitCode::from(f.code)
        }
    }
}
