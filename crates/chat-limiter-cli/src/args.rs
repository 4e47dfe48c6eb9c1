//! The subcommands' flags. The flags of `run` are named after the library settings they set
//! (`--request-limit` is [`ChatLimiterBuilder::request_limit`], `--max-workers` is
//! [`BatchConfig::max_workers`], ...); the defaults shown by `--help` are taken from the
//! library, so they cannot drift from it.
//!
//! [`ChatLimiterBuilder::request_limit`]: chat_limiter::ChatLimiterBuilder::request_limit
//! [`BatchConfig::max_workers`]: chat_limiter::BatchConfig::max_workers

use std::path::PathBuf;

use chat_limiter::{BatchConfig, Config, OpenAiApi, Provider};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Args;

/// `--provider`'s parser: one of the library's providers, listed in `--help`.
fn provider_parser() -> impl TypedValueParser<Value = Provider> {
    PossibleValuesParser::new(Provider::ALL.map(|p| p.as_str())).try_map(|s| s.parse::<Provider>())
}

/// `--openai-api`'s parser: one of the library's OpenAI APIs, listed in `--help`.
fn openai_api_parser() -> impl TypedValueParser<Value = OpenAiApi> {
    let names = [OpenAiApi::ChatCompletions, OpenAiApi::Responses].map(OpenAiApi::as_str);
    PossibleValuesParser::new(names).try_map(|s| s.parse::<OpenAiApi>())
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
    /// OpenAI: the API lines go to unless their own `url` says (`/v1/responses` lines always
    /// go to the Responses API) or --responses-models lists their model.
    #[arg(long, value_parser = openai_api_parser(), ignore_case = true,
          default_value_t = Config::default().openai_api())]
    pub openai_api: OpenAiApi,
    /// OpenAI: models sent to the Responses API, comma-separated; `o3-pro*` is a prefix,
    /// any other entry an exact name.
    #[arg(long, value_name = "MODELS", value_delimiter = ',')]
    pub responses_models: Vec<String>,
    /// Share the limits with other processes through this Redis (feature `redis`).
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// Also write the summary as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub stats_json: Option<PathBuf>,
    /// At the end, write an HTML report (charts and tables) of the run's timeline to FILE;
    /// `chat-limiter report OUTPUT -o FILE` writes it later.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
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
    /// `auto`: chosen from the job's size, the limits and --deadline: the batch API when the
    /// deadline allows its window, real time when it fits, else both (see the README).
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
    /// Not a flag: the lines one pass of a `--via auto` job handles (all when `None`).
    #[arg(skip)]
    pub lines: Option<crate::line_set::LineSet>,
    /// Read the whole input and print, by model, the lines, estimated input tokens, worst-case
    /// output, the cost range and the time at the given limits; send nothing, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// A hard spending limit in USD: each request reserves its worst-case cost before it is
    /// sent; once the next one cannot fit, no more are sent, those in flight finish, and the
    /// lines not sent are left for a rerun (exit code 3).
    #[arg(long, value_name = "USD")]
    pub max_cost: Option<f64>,
    /// With --redis and --max-cost: share the budget with every process using this name.
    #[arg(long, value_name = "NAME", requires_all = ["redis", "max_cost"])]
    pub budget_name: Option<String>,
    /// A price table (our JSON format or LiteLLM's model_prices_and_context_window.json),
    /// merged over the shipped dated default (see docs/pricing.md).
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
    /// --dry-run: the expected output, as a fraction of each line's max_tokens.
    #[arg(long, value_name = "FRACTION",
          default_value_t = crate::dry_run::DEFAULT_EXPECTED_OUTPUT)]
    pub expected_output: f64,
    /// Serve `GET /metrics` (Prometheus text format) on this loopback address while the run
    /// lasts, e.g. `127.0.0.1:9464` (real-time runs).
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<String>,
}

/// How `run` sends the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Via {
    // (Plain comments: variant docs would make clap print `run --help` in its long layout.)
    // The real-time endpoints, at the rate limits.
    Realtime,
    // The provider's batch API.
    Batch,
    // Chosen from the job's size, the limits and --deadline: batch, real time, or both.
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
2 usage or configuration error (also when the run's first requests all fail with one 401, 403
or 404: it stops there, the other lines unsent); 3 --max-cost stopped the run (the lines not
sent are left for a rerun); 130/143 stopped by SIGINT/SIGTERM (after the requests in
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
            openai_api: defaults.openai_api(),
            responses_models: Vec::new(),
            redis: None,
            stats_json: None,
            report: None,
            no_progress: false,
            retry: None,
            grace: DEFAULT_GRACE_SECS,
            via: Via::Realtime,
            batch_max_requests: None,
            poll_interval: chat_limiter::PollSchedule::default().first.as_secs_f64(),
            deadline: None,
            cache: crate::cache_cmd::CacheFlags::default(),
            lines: None,
            dry_run: false,
            max_cost: None,
            budget_name: None,
            prices: None,
            expected_output: crate::dry_run::DEFAULT_EXPECTED_OUTPUT,
            metrics: None,
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
    /// Write the run's HTML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
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
