//! The shapes of a provider batch: its status, counts, items and per-item outcomes.

use crate::provider_id::Provider;
use crate::types::{ChatCompletionRequest, ChatCompletionResponse};

/// The endpoint an OpenAI batch's lines go to (every line of one batch uses the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BatchEndpoint {
    /// `/v1/chat/completions`.
    #[default]
    ChatCompletions,
    /// `/v1/responses`: the lines are Responses bodies and the results are read as
    /// Responses objects, as [`ChatLimiter::responses`](crate::ChatLimiter::responses) does.
    Responses,
}

impl BatchEndpoint {
    /// The path as the batch API names it.
    pub fn as_str(self) -> &'static str {
        match self {
            BatchEndpoint::ChatCompletions => "/v1/chat/completions",
            BatchEndpoint::Responses => "/v1/responses",
        }
    }
}

/// A batch's status, both providers' in one type.
///
/// OpenAI: `validating`, `failed`, `in_progress`, `finalizing`, `completed`, `expired`,
/// `cancelling`, `cancelled`. Anthropic (`processing_status`): `in_progress`, `canceling`
/// (read as [`Cancelling`](Self::Cancelling)), `ended`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchStatus {
    /// The input is being checked (OpenAI).
    Validating,
    /// The input was rejected; nothing will run (OpenAI). See [`BatchInfo::errors`].
    Failed,
    /// Running.
    InProgress,
    /// The results are being written (OpenAI).
    Finalizing,
    /// Every item has a result (OpenAI).
    Completed,
    /// The window passed; finished items have results, the rest are expired (OpenAI).
    Expired,
    /// A cancel was asked for and is under way.
    Cancelling,
    /// Cancelled; finished items have results, the rest are cancelled (OpenAI).
    Cancelled,
    /// Processing has ended: every item has a result of its own (Anthropic).
    Ended,
    /// A status this version does not know, kept as sent.
    Other(String),
}

impl BatchStatus {
    /// Reads a status as either provider sends it.
    pub fn parse(s: &str) -> Self {
        match s {
            "validating" => BatchStatus::Validating,
            "failed" => BatchStatus::Failed,
            "in_progress" => BatchStatus::InProgress,
            "finalizing" => BatchStatus::Finalizing,
            "completed" => BatchStatus::Completed,
            "expired" => BatchStatus::Expired,
            "cancelling" | "canceling" => BatchStatus::Cancelling,
            "cancelled" | "canceled" => BatchStatus::Cancelled,
            "ended" => BatchStatus::Ended,
            other => BatchStatus::Other(other.to_string()),
        }
    }

    /// The batch will not change any more.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            BatchStatus::Failed
                | BatchStatus::Completed
                | BatchStatus::Expired
                | BatchStatus::Cancelled
                | BatchStatus::Ended
        )
    }
}

impl std::fmt::Display for BatchStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BatchStatus::Validating => "validating",
            BatchStatus::Failed => "failed",
            BatchStatus::InProgress => "in_progress",
            BatchStatus::Finalizing => "finalizing",
            BatchStatus::Completed => "completed",
            BatchStatus::Expired => "expired",
            BatchStatus::Cancelling => "cancelling",
            BatchStatus::Cancelled => "cancelled",
            BatchStatus::Ended => "ended",
            BatchStatus::Other(s) => s,
        })
    }
}

/// How many of a batch's items are where, both providers' counts in one shape (OpenAI's
/// `completed` is `succeeded`, its `failed` is `errored`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestCounts {
    /// Items in the batch (OpenAI's `total`; Anthropic: the sum of its counts).
    pub total: u64,
    /// Not finished yet.
    pub processing: u64,
    /// Answered.
    pub succeeded: u64,
    /// Failed.
    pub errored: u64,
    /// Cancelled before they ran (Anthropic; OpenAI reports them only in the error file).
    pub canceled: u64,
    /// Not run within the window (Anthropic; OpenAI reports them only in the error file).
    pub expired: u64,
}

/// A batch-level error the provider reported (OpenAI's `errors.data`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchFailure {
    /// The provider's code (`token_limit_exceeded`, `invalid_json_line`, ...).
    pub code: String,
    /// The provider's message.
    pub message: String,
    /// The input line it is about, when it names one.
    pub line: Option<u64>,
}

/// A batch as the provider last described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchInfo {
    /// The provider's batch id.
    pub id: String,
    /// The provider.
    pub provider: Provider,
    /// Its status.
    pub status: BatchStatus,
    /// Its counts.
    pub counts: RequestCounts,
    /// When it was created (Unix seconds), when the provider says.
    pub created_at: Option<u64>,
    /// The input file (OpenAI).
    pub input_file_id: Option<String>,
    /// The answers file (OpenAI), once there is one.
    pub output_file_id: Option<String>,
    /// The failed items' file (OpenAI), once there is one.
    pub error_file_id: Option<String>,
    /// Where the results are (Anthropic), once processing has ended.
    pub results_url: Option<String>,
    /// Batch-level errors (OpenAI).
    pub errors: Vec<BatchFailure>,
}

/// One request of a job, with the id its result comes back under.
#[derive(Debug, Clone)]
pub struct BatchItem {
    /// Unique within the job. Anthropic accepts 1 to 64 of `A-Z a-z 0-9 _ -`.
    pub custom_id: String,
    /// The request (an empty model uses the limiter's default).
    pub request: ChatCompletionRequest,
}

impl BatchItem {
    /// An item.
    pub fn new(custom_id: impl Into<String>, request: ChatCompletionRequest) -> Self {
        BatchItem { custom_id: custom_id.into(), request }
    }
}

/// What became of one item.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ItemOutcome {
    /// The answer.
    Succeeded(Box<ChatCompletionResponse>),
    /// The provider answered the item with an error (or the batch failed as a whole).
    Errored {
        /// The HTTP status the item got, when it got one.
        status: Option<u16>,
        /// The provider's error code or type.
        code: String,
        /// The provider's message (redacted).
        message: String,
    },
    /// Not run before the batch's window closed: send it again.
    Expired,
    /// Not run because the batch was cancelled.
    Canceled,
}

/// One item's result.
#[derive(Debug, Clone)]
pub struct ItemResult {
    /// The item's id.
    pub custom_id: String,
    /// What became of it.
    pub outcome: ItemOutcome,
}
