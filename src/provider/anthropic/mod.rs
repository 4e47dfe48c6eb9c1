//! Anthropic Messages: request body, response, errors, rate-limit headers and stream events,
//! each mapped to and from the unified OpenAI-shaped types.

pub(crate) mod error;
pub(crate) mod headers;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod stream;
