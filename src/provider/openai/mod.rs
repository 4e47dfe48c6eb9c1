//! OpenAI Chat Completions: request body, response, errors, rate-limit headers and stream
//! chunks. OpenRouter speaks the same dialect, so its module reuses the body, response and
//! stream code here and differs only in errors, headers and `top_k`.

pub(crate) mod error;
pub(crate) mod headers;
pub(crate) mod request;
pub(crate) mod response;
mod response_reader;
pub(crate) mod stream;
