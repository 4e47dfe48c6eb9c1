//! Batch processing: push many requests through one limiter as fast as its limits allow.

mod config;
mod lane;
mod open_files;
mod requests;
mod run;
mod shrinking;

pub use config::{BatchConfig, BatchProgress, BatchResult, ProgressFn};
pub use requests::create_chat_completion_requests;
pub use run::{process_chat_completion_batch, process_chat_completion_stream, BatchSummary};
