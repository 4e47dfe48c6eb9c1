//! Everything a provider's wire says: request bodies, responses, stream events, errors,
//! rate-limit headers and what a request costs in each provider's accounting.
//!
//! Each provider has its own folder; [`wire`] dispatches on [`Provider`](crate::Provider).
//! All of it is pure (bytes and headers in, typed values out): the request loop owns the I/O.

pub(crate) mod anthropic;
mod api_error;
pub(crate) mod cost;
pub(crate) mod duration;
pub(crate) mod headers;
mod json;
mod lenient;
pub(crate) mod openai;
pub(crate) mod openai_responses;
pub(crate) mod openrouter;
pub(crate) mod sse;
pub(crate) mod timestamp;
pub(crate) mod wire;
