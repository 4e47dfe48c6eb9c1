//! The subcommands' flags. The flags of `run` are named after the library settings they set
//! (`--request-limit` is [`ChatLimiterBuilder::request_limit`], `--max-workers` is
//! [`BatchConfig::max_workers`], ...); the defaults shown by `--help` are taken from the
//! library, so they cannot drift from it.
//!
//! [`ChatLimiterBuilder::request_limit`]: chat_limiter::ChatLimiterBuilder::request_limit
//! [`BatchConfig::max_workers`]: chat_limiter::BatchConfig::max_workers

use std::path::PathBuf;

use chat_limiter::{BatchConfig, Config, Provider};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Args;

/// `--provider`'s parser: one of the library's providers, listed in `--help`.
fn provider_parser() -> impl TypedValueParser<Value = Provider> {
    PossibleValuesParser::new(Provider::ALL.map(|p| p.as_str())).try_map(|s| s.parse::<Provider>())
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
    #[arg(long, value_parser = provider_parser(), ignore_case = true)]
    pub provider: Option<Provider>,
    /// API base URL (a proxy, or the emulator).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Requests per minute (default: learned from the provider's headers).
    #[arg(long, value_name = "RPM")]
    pub request_limit: Option<u32>,
    /// Tokens per minute, OpenAI and OpenRouter (default: learned).
    #[arg(long, value_name = "TPM")]
    pub token_limit: Option<u32>,
    /// Anthropic input tokens per minute (default: learned).
    #[arg(long, value_name = "TPM")]
    pub input_token_limit: Option<u32>,
    /// Anthropic output tokens per minute (default: learned).
    #[arg(long, value_name = "TPM")]
    pub output_token_limit: Option<u32>,
    /// Worker threads of the batch.
    #[arg(long, value_name = "N", default_value_t = BatchConfig::default().max_workers)]
    pub max_workers: usize,
    /// Most requests in flight at once (also the limiter's cap per model).
    #[arg(long, value_name = "N",
          default_value_t = BatchConfig::default().max_concurrent_requests)]
    pub max_concurrent_requests: usize,
    /// Retries of one request after its first attempt.
    #[arg(long, value_name = "N", default_value_t = Config::default().max_retries())]
    pub max_retries: u32,
    /// Time limit of one attempt, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = Config::default().timeout().as_secs_f64())]
    pub timeout: f64,
    /// When the server asks for a longer wait than the backoff allows (a daily cap): `wait`
    /// pauses until the time it gave and says so; `fail` records the lines as failed for the
    /// next run to send.
    #[arg(long, value_enum, default_value_t = LongWaitArg::from(Config::default().long_wait()))]
    pub long_wait: LongWaitArg,
    /// Share the limits with other processes through this Redis (feature `redis`).
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// Also write the summary as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub stats_json: Option<PathBuf>,
    /// No progress bar (it is also off when stderr is not a terminal).
    #[arg(long)]
    pub no_progress: bool,
    /// `failed`: also send again the lines whose recorded failure is final (see the rules
    /// below).
    #[arg(long, value_enum, value_name = "failed", hide_possible_values = true)]
    pub retry: Option<Retry>,
    /// After SIGINT/SIGTERM, how long the requests in flight may take to finish, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_GRACE_SECS)]
    pub grace: f64,
    /// `realtime`: one request at a time at the rate limits; `batch`: the provider's batch
    /// API (half the price, answers within 24 h; the job's state is kept beside the output);
    /// `auto`: the batch API when --deadline allows its window, else real time.
    #[arg(long, value_enum, default_value_t = Via::Realtime)]
    pub via: Via,
    /// `--via batch`: requests per batch (default: the provider's cap).
    #[arg(long, value_name = "N")]
    pub batch_max_requests: Option<u64>,
    /// `--via batch`: the first delay between two polls of a batch, in seconds; it grows to
    /// minutes while the batch runs.
    #[arg(long, value_name = "SECS",
          default_value_t = chat_limiter::PollSchedule::default().first.as_secs_f64())]
    pub poll_interval: f64,
    /// `--via auto`: when the job must be done (`90s`, `30m`, `2h`, `1d`).
    #[arg(long, value_name = "DURATION")]
    pub deadline: Option<String>,
    /// The response cache (`--cache PATH` and its settings).
    #[command(flatten)]
    pub cache: crate::cache_cmd::CacheFlags,
}

/// How `run` sends the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Via {
    // (Plain comments: variant docs would make clap print `run --help` in its long layout.)
    // The real-time endpoints, at the rate limits.
    Realtime,
    // The provider's batch API.
    Batch,
    // The batch API when --deadline allows its 24 h window, else real time.
    Auto,
}

/// `--grace`'s default, in seconds.
pub const DEFAULT_GRACE_SECS: f64 = 30.0;

/// What `--retry` sends again beyond the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Retry {
    /// Every line whose latest record is a failure, final ones included.
    Failed,
}

/// `run --help`'s closing text: which failures a rerun sends again, and the exit codes.
pub const RUN_RULES: &str = "\
Resume: rerun the same command to continue; a line is skipped when the output already holds
its success, or a final failure, for the same request (each record holds a fingerprint of
the request: a line whose request changed is sent again).

Failures, as recorded in `error.class`:
  transient      transport errors, timeouts, 429/5xx after every retry    sent again
  configuration  401, 403, 404 (wrong key, model access or --base-url)     sent again
  quota          quota, billing or credits exhausted (402, insufficient_quota) sent again
  request        the provider rejected the request (400, 413, 422...)     final
  input          the line cannot be parsed, or repeats a custom_id         final
`--retry failed` sends the final ones again too.

The output must be a regular file other than the input; a lock file beside it (OUTPUT.lock)
keeps a second process off it. A write failure (a full disk) stops sending at once; the
answers then in flight are kept until they can be written, or sent again by the next run.

Exit codes: 0 every line succeeded; 1 some lines failed, or the output could not be written;
2 usage or configuration error; 130/143 stopped by SIGINT/SIGTERM (after the requests in
flight finished or --grace ran out; a second signal stops at once).";

impl RunArgs {
    /// The arguments of `run INPUT -o OUTPUT` with every other flag at its default.
    pub fn new(input: PathBuf, output: PathBuf) -> Self {
        let batch = BatchConfig::default();
        let defaults = Config::default();
        RunArgs {
            input,
            output,
            model: None,
            provider: None,
            base_url: None,
            request_limit: None,
            token_limit: None,
            input_token_limit: None,
            output_token_limit: None,
            max_workers: batch.max_workers,
            max_concurrent_requests: batch.max_concurrent_requests,
            max_retries: defaults.max_retries(),
            timeout: defaults.timeout().as_secs_f64(),
            long_wait: LongWaitArg::from(defaults.long_wait()),
            redis: None,
            stats_json: None,
            no_progress: false,
            retry: None,
            grace: DEFAULT_GRACE_SECS,
            via: Via::Realtime,
            batch_max_requests: None,
            poll_interval: chat_limiter::PollSchedule::default().first.as_secs_f64(),
            deadline: None,
            cache: crate::cache_cmd::CacheFlags::default(),
        }
    }
}

/// The options of `emulate`: the settings of the emulated *server*, named as in the
/// emulator's builder.
#[derive(Debug, Args)]
pub struct EmulateArgs {
    /// The provider to emulate.
    #[arg(long, value_parser = provider_parser(), ignore_case = true)]
    pub provider: Provider,
    /// Port on 127.0.0.1 (default: a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Requests per minute, or per --request-window (default: the emulator's for the provider;
    /// OpenRouter: unlimited).
    #[arg(long)]
    pub rpm: Option<u64>,
    /// The window --rpm counts over, in seconds: OpenRouter-style interval limits
    /// (`--rpm 20 --request-window 10` is 20 requests per 10 s).
    #[arg(long, value_name = "SECS", requires = "rpm")]
    pub request_window: Option<u64>,
    /// Requests per day.
    #[arg(long)]
    pub rpd: Option<u64>,
    /// OpenAI tokens per minute.
    #[arg(long)]
    pub tpm: Option<u64>,
    /// Anthropic input tokens per minute.
    #[arg(long)]
    pub input_tpm: Option<u64>,
    /// Anthropic output tokens per minute.
    #[arg(long)]
    pub output_tpm: Option<u64>,
    /// OpenRouter: the key's credit balance (its limit) in USD (default: unlimited).
    #[arg(long, value_name = "USD")]
    pub credits: Option<f64>,
    /// OpenRouter: price of a prompt token in USD (default: the emulator's).
    #[arg(long, value_name = "USD")]
    pub prompt_price: Option<f64>,
    /// OpenRouter: price of a completion token in USD (default: the emulator's).
    #[arg(long, value_name = "USD")]
    pub completion_price: Option<f64>,
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
    /// Where to write the results (default: a temporary file, removed at the end).
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
    #[arg(long, value_parser = provider_parser(), ignore_case = true)]
    pub provider: Option<Provider>,
}

/// `--long-wait`: the library's [`LongWait`](chat_limiter::LongWait) as a flag value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LongWaitArg {
    // (Plain comments: variant docs would make clap print `run --help` in its long layout.)
    // Pause until the server's time.
    Wait,
    // Fail at once.
    Fail,
}

impl From<chat_limiter::LongWait> for LongWaitArg {
    fn from(l: chat_limiter::LongWait) -> Self {
        match l {
            chat_limiter::LongWait::Fail => LongWaitArg::Fail,
            _ => LongWaitArg::Wait,
        }
    }
}

impl From<LongWaitArg> for chat_limiter::LongWait {
    fn from(l: LongWaitArg) -> Self {
        match l {
            LongWaitArg::Wait => chat_limiter::LongWait::Wait,
            LongWaitArg::Fail => chat_limiter::LongWait::Fail,
        }
    }
}
