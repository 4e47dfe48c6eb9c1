//! A local, faithful fake of the OpenAI, Anthropic and OpenRouter chat APIs that enforces
//! their rate limits, for tests, demos and benchmarks.
//!
//! It is written from the providers' public documentation alone
//! (summarised in `docs/providers.md`) and shares no code with the client, so a bug on
//! one side is caught by the other. One instance emulates one provider:
//!
//! ```no_run
//! use std::time::Duration;
//! use chat_limiter_emulator::Emulator;
//!
//! let emu = Emulator::openai()
//!     .rpm(600)
//!     .tpm(60_000)
//!     .latency(Duration::from_millis(20), Duration::ZERO)
//!     .start()?;
//! let url = format!("{}/chat/completions", emu.base_url());
//! # let _ = url;
//! println!("{:?}", emu.stats());
//! # Ok::<(), chat_limiter_emulator::EmulatorError>(())
//! ```
//!
//! # Routes
//! OpenAI `POST /v1/chat/completions` and `POST /v1/responses` (the Responses API: the same
//! limits and headers, its own body and typed stream events); Anthropic `POST /v1/messages`; OpenRouter
//! `POST /api/v1/chat/completions`, `GET /api/v1/key` and `GET /api/v1/auth/key`. The batch APIs (see [`BatchEmulation`]): OpenAI `POST /v1/files`,
//! `POST /v1/batches`, `GET /v1/batches`, `GET /v1/batches/{id}`, `POST /v1/batches/{id}/cancel`,
//! `GET /v1/files/{id}/content`; Anthropic `POST /v1/messages/batches`, `GET` and
//! `POST .../cancel` on `/v1/messages/batches/{id}`, `GET .../results`; `GET /_batches`
//! returns [`BatchStats`]. On every
//! instance `GET /_stats` returns [`EmulatorStats`](crate::EmulatorStats) as JSON and `GET /_stats/reset` clears it.
//!
//! # Token accounting
//! * **Prompt tokens** = `max(1, ceil(C / 4))` where `C` is the number of Unicode scalar
//!   values (Rust `chars()`) in all message contents — string contents, or the `text` of
//!   each text part — plus Anthropic's top-level `system` text. `usage.prompt_tokens` and
//!   Anthropic's `usage.input_tokens` report exactly this number. Image and document parts
//!   add their provider's published cost (OpenAI: 85 at `detail: "low"`, else 85 + 170 per
//!   512-pixel tile after fitting into 2048×2048 and the short side into 768; Anthropic:
//!   `ceil(w × h / 750)` after fitting the long edge into 1568, at most 1600; sizes read from
//!   inline PNG, GIF and JPEG headers, else 765 / 1600 per image; 3000 per document). A
//!   malformed image part gets a 400.
//! * **Output tokens**: the cap is `max_completion_tokens ?? max_tokens ?? default_max_tokens`
//!   (Anthropic: the required `max_tokens`). The length follows [`OutputLen`](crate::OutputLen); the default
//!   is `max/2 + h % (max - max/2 + 1)` with `h` the FNV-1a hash of the raw body (choice
//!   `i` of `n` uses `h + i`). Each output token is one lorem word, so the text is
//!   deterministic. Finish reason is `length`/`max_tokens` exactly when the cap is reached.
//! * **OpenAI** charges RPM 1 and TPM `prompt + n × cap` at admission; with
//!   `refund_to_actual` the TPM charge is corrected to `prompt + completion` at the end.
//! * **Anthropic** charges RPM 1 and ITPM `prompt`; OTPM per [`OtpmMode`](crate::OtpmMode) (default: reserve
//!   `max_tokens`, settle to the actual output when the response has been sent).
//! * **OpenRouter** charges its request buckets and deducts
//!   `prompt × prompt_price + completion × completion_price` (zero for `:free` models) from
//!   the credits after the response; a request whose worst case (`n × cap` completion
//!   tokens) does not fit the balance gets 402.
//! * `rpd`/`tpd` add buckets with a 86400 s window. A request is admitted only if every
//!   bucket has room, and a rejected request consumes nothing. Buckets are per (API key,
//!   model), start full and refill continuously at `limit / window`.
//!
//! # Tools, JSON and reasoning
//! * **Tool calls** (`tools` given, `tool_choice` not `none`, the last turn not a tool
//!   result): every tool whose name appears in the last message's text is called, in the
//!   order of first appearance; with `required` / `any` and no name found, the first tool; a
//!   named `tool_choice` calls that tool (400 if it is not among the tools). Call ids are
//!   `call_…` / `toolu_01…` from the body hash. Arguments are generated from the tool's
//!   schema: `const`, else the first `enum` value, else the first `anyOf`/`oneOf`/`allOf`
//!   branch, local `$ref`s followed; `string` → the property's name (`"text"` where there is
//!   none), `integer` → `minimum` or 1, `number` → `minimum` or 1.5, `boolean` → `true`,
//!   `array` → `max(minItems, 1)` items, `object` → every property in key order. The answer
//!   has no text; OpenAI `finish_reason: tool_calls`, Anthropic `stop_reason: tool_use`.
//!   Output tokens: `ceil(chars / 4)` of the names and arguments. Streams send each call's
//!   id and name first, then its arguments in pieces of 5 characters (OpenAI
//!   `delta.tool_calls[{index,…}]`, Anthropic `tool_use` block + `input_json_delta`).
//! * **JSON** (OpenAI/OpenRouter `response_format`): `json_schema` → a value generated from
//!   the schema as above; `json_object` → `{"answer":"answer"}`; text pieces of 4
//!   characters; output `ceil(chars / 4)`.
//! * **Reasoning**: OpenAI reasoning models (`o<digit>…`, `gpt-5…`) with `reasoning_effort`
//!   (400 on other models) and OpenRouter `reasoning.effort` spend `cap/16` (minimal),
//!   `cap/8` (low), `cap/4` (medium), `cap/2` (high) reasoning tokens; OpenRouter
//!   `reasoning.max_tokens` spends `min(max_tokens, cap/2)`, `enabled: true` `cap/4`. They are
//!   reported in `completion_tokens_details.reasoning_tokens` and included in
//!   `completion_tokens`; the visible answer's length follows the output rule over what is
//!   left of the cap. OpenRouter also returns the text (`message.reasoning`, streamed as
//!   `delta.reasoning`), one lorem word per token.
//! * **Anthropic thinking**: `enabled` needs `budget_tokens` ≥ 1024 and below `max_tokens`
//!   (400 otherwise) and spends `min(budget / 4, max_tokens / 2)` tokens; `adaptive` spends
//!   `max_tokens / 4`; a forced `tool_choice` with thinking is a 400. The answer starts with a
//!   `thinking` block (streamed `thinking_delta`s, then a `signature_delta`) whose signature is
//!   derived from its text; thinking is counted in `output_tokens`. Every thinking block sent
//!   back must carry its signature unchanged, and a final assistant turn with `tool_use`
//!   must start with a thinking block; otherwise 400.
//! * **Prompt tokens** also count the JSON text of `tools`, `response_format` and OpenAI
//!   `tool_calls`, the `content` of Anthropic `tool_result` blocks and the input JSON of
//!   `tool_use` blocks.
//!
//! # Headers
//! * OpenAI: `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` on every response of
//!   the chat route (also 429s unless `omit_headers_on_429`); reset = time to full, as a Go
//!   duration truncated to ms. With a daily bucket configured, each family shows the bucket
//!   with fewer units left.
//! * Anthropic: `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-
//!   {limit,remaining,reset}`; token remainders rounded to the nearest 1000; resets are
//!   `now + time to full` rounded up to a whole second, RFC 3339 UTC. `tokens-*` is read
//!   as the combined input+output bucket: limit and remaining are the sums, reset is the
//!   combined deficit over the combined rate.
//! * OpenRouter: `X-Generation-Id`; `X-RateLimit-{Limit,Remaining,Reset}` (epoch ms) only on
//!   its 429s.
//!
//! # Faults
//! See [`FaultKind`](crate::FaultKind). Each kind has a probability; one seeded draw per request picks at
//! most one. Faults that replace the answer consume no limit; `GarbageHeaders` is a charged
//! success; `MidStreamError` is admitted and then refunded in full.

#![warn(missing_docs)]

mod anthropic;
mod anthropic_content;
mod batch_anthropic;
mod batch_openai;
mod batch_store;
mod bucket;
mod builder;
mod chat;
mod completion;
mod config;
mod dialect;
mod faults;
mod features;
mod format;
mod http;
mod openai;
mod openrouter;
mod pricing;
mod responses;
mod responses_body;
mod schema;
mod server;
mod stats;
mod vision;

pub use batch_store::{BatchEmulation, BatchStats};
pub use builder::{Emulator, EmulatorBuilder, EmulatorError};
pub use config::{EmulatedProvider, EmulatorConfig, FaultKind, OtpmMode, OutputLen};
pub use dialect::HeaderDialect;
pub use stats::{EmulatorStats, SecondStats};
