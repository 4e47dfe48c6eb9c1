//! Anthropic Messages: request body, response, errors, rate-limit headers and stream events,
//! each mapped to and from the unified OpenAI-shaped types.

#![allow(dead_code)] // used by the client (being written in parallel)

pub(crate) mod error;
pub(crate) mod headers;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod stream;
