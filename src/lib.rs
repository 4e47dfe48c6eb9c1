//! chat-limiter: a blocking, runtime-free client and rate limiter for the OpenAI, Anthropic and
//! OpenRouter chat APIs.
#![warn(missing_docs)]

/// A local fake of the OpenAI, Anthropic and OpenRouter APIs that enforces their limits.
#[cfg(feature = "emulator")]
pub mod emulator;
mod error;
mod limit;
mod provider;
mod types;

pub use error::{ApiError, Error, Result};
pub use limit::info::{DimensionInfo, RateLimitInfo};
pub use provider::{Provider, ProviderConfig};
pub use types::{
    ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse, Choice, Message,
    MessageRole, Usage,
};
