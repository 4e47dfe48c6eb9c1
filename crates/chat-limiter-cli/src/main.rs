//! `chat-limiter`: run JSONL batches of chat requests through the rate limiter, resumably;
//! run the provider emulator; a self-contained demo; probe a key's limits.
//!
//! Exit codes: 0 every line succeeded, 1 some lines failed, 2 usage or configuration error.

mod demo;
mod emulate;
mod input;
mod limits;
mod output;
mod run;
mod setup;
mod summary;

use std::path::PathBuf;
use std::process::ExitCode;

use chat_limiter::Provider;
use clap::{Args, Parser, Subcommand};

/// Rate-limited batches of chat requests for OpenAI, Anthropic and OpenRouter.
#[derive(Debug, Parser)]
#[command(name = "chat-limiter", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Send every line of a JSONL file, appending results to OUTPUT (resumes when rerun).
    Run(RunArgs),
    /// Run the provider emulator in the foreground; prints its base URL on the first line.
    Emulate(EmulateArgs),
    /// Run a few hundred generated prompts against an in-process emulator (no key, no network).
    Demo(DemoArgs),
    /// One probe call, then a table of the limits the provider reported.
    Limits(LimitsArgs),
}

/// The options of `run` (and, with a generated input, of `demo`).
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Input JSONL: OpenAI Batch lines, Anthropic Message Batches lines, bare chat bodies,
    /// or {"prompt": ..., "id": ...}.
    pub input: PathBuf,
    /// Output JSONL in the Batch API output shape; appended to, and read to resume.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Model for lines that name none; also tells the provider when --provider is not given.
    #[arg(long)]
    pub model: Option<String>,
    /// The provider every line goes to (default: detected from the model name).
    #[arg(long, value_parser = parse_provider)]
    pub provider: Option<Provider>,
    /// API base URL (a proxy, or the emulator).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Requests per minute (default: learned from the provider's headers).
    #[arg(long)]
    pub rpm: Option<u32>,
    /// Tokens per minute, OpenAI and OpenRouter (default: learned).
    #[arg(long)]
    pub tpm: Option<u32>,
    /// Anthropic input tokens per minute (default: learned).
    #[arg(long)]
    pub input_tpm: Option<u32>,
    /// Anthropic output tokens per minute (default: learned).
    #[arg(long)]
    pub output_tpm: Option<u32>,
    /// Worker threads (default 256).
    #[arg(long)]
    pub max_workers: Option<usize>,
    /// Most requests in flight at once (default 256).
    #[arg(long)]
    pub max_concurrent: Option<usize>,
    /// Retries of one request after its first attempt (default 5).
    #[arg(long)]
    pub max_retries: Option<u32>,
    /// Time limit of one attempt, in seconds (default 600).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// Share the limits with other processes through this Redis (feature `redis`).
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// Also write the summary as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub stats_json: Option<PathBuf>,
    /// No progress bar (it is also off when stderr is not a terminal).
    #[arg(long)]
    pub no_progress: bool,
}

/// The options of `emulate`.
#[derive(Debug, Args)]
pub struct EmulateArgs {
    /// The provider to emulate.
    #[arg(long, value_parser = parse_provider)]
    pub provider: Provider,
    /// Port on 127.0.0.1 (default: a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Requests per minute.
    #[arg(long)]
    pub rpm: Option<u64>,
    /// OpenAI tokens per minute.
    #[arg(long)]
    pub tpm: Option<u64>,
    /// Anthropic input tokens per minute.
    #[arg(long)]
    pub input_tpm: Option<u64>,
    /// Anthropic output tokens per minute.
    #[arg(long)]
    pub output_tpm: Option<u64>,
    /// Latency before each answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Probability of a 5xx answer, in [0, 1].
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
}

/// The options of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write the results (default: a file in the temp directory).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// How many prompts to send.
    #[arg(long, default_value_t = 300)]
    pub requests: usize,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// The options of `limits`.
#[derive(Debug, Args)]
pub struct LimitsArgs {
    /// The model to probe.
    #[arg(long)]
    pub model: String,
    /// API base URL.
    #[arg(long)]
    pub base_url: Option<String>,
    /// The provider (default: detected from the model name).
    #[arg(long, value_parser = parse_provider)]
    pub provider: Option<Provider>,
}

fn parse_provider(s: &str) -> Result<Provider, String> {
    s.parse().map_err(|e: chat_limiter::Error| e.to_string())
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
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(&args, None).map(|o| o.exit_code()),
        Command::Emulate(args) => emulate::emulate(&args),
        Command::Demo(args) => demo::demo(&args),
        Command::Limits(args) => limits::limits(&args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            eprintln!("chat-limiter: error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
