//! chat-limiter: a blocking, runtime-free client and rate limiter for the OpenAI, Anthropic and
//! OpenRouter chat APIs.
#![warn(missing_docs)]

mod batch;
mod builder;
mod client;
mod credits;
/// A local fake of the OpenAI, Anthropic and OpenRouter APIs that enforces their limits.
#[cfg(feature = "emulator")]
pub mod emulator;
mod error;
mod exec;
mod limit;
mod provider;
mod retry;
mod secret;
mod stream;
mod tokens;
mod types;

pub use batch::{
    create_chat_completion_requests, process_chat_completion_batch, process_chat_completion_stream,
    BatchConfig, BatchProgress, BatchResult, BatchSummary, ProgressFn,
};
pub use builder::ChatLimiterBuilder;
pub use client::{ChatLimiter, RawResponse};
pub use error::{ApiError, Error, Result};
pub use limit::clock::{Clock, ManualClock, SystemClock};
pub use limit::info::{DimensionInfo, RateLimitInfo};
pub use limit::snapshot::{DimensionSnapshot, LimitsSnapshot, ModelLimits};
pub use provider::openrouter::OpenRouterKeyInfo;
pub use provider::{Provider, ProviderConfig};
pub use stream::ChatStream;
pub use tokens::{CharEstimator, TokenCounter};
#[cfg(feature = "tiktoken")]
pub use tokens::{TiktokenCounter, TiktokenEncoding};
pub use types::{
    ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse, Choice, Message,
    MessageRole, Usage,
};
