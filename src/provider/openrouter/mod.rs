//! OpenRouter: errors, its 429-only rate-limit headers and the key-information endpoint. Request
//! bodies, responses and stream chunks are OpenAI's dialect and live in the `openai` module.

pub(crate) mod error;
pub(crate) mod headers;
mod key;

// Unused until the client calls `GET /key` and lib.rs re-exports the type.
#[allow(unused_imports)]
pub(crate) use key::parse_key_info;
#[allow(unused_imports)]
pub use key::OpenRouterKeyInfo;
