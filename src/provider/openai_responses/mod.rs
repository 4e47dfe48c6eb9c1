//! OpenAI's Responses API (`POST /v1/responses`), the second OpenAI wire: the unified request
//! as a Responses body, a Responses object as the unified response, and its typed stream
//! events as chunks (docs/providers.md §11). Errors and rate-limit headers are the same as
//! Chat Completions', so `provider/openai` reads those.

pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod stream;

/// The endpoint, appended to the base URL (`https://api.openai.com/v1` + `/responses`).
pub(crate) const PATH: &str = "/responses";
