//! The providers' Batch APIs (OpenAI Files + Batches, Anthropic Message Batches): the same
//! requests at half the price, answered within 24 hours, under limits of their own.
//!
//! [`BatchApi`] is built from a [`ChatLimiter`] and uses its key, base URL, transport, retry
//! policy and redaction, but not its rate limiter. Calls that create a batch are retried only
//! after a 429, so a batch is never submitted twice by a retry.

use std::collections::HashSet;

use crate::client::ChatLimiter;
use crate::provider_id::Provider;
use crate::request::Engine;

mod anthropic;
mod caps;
mod error;
mod job;
mod openai;
mod parse;
mod poll;
mod types;

pub use caps::BatchCaps;
pub use error::{BatchError, Cap};
pub use poll::PollSchedule;
pub use types::{
    BatchEndpoint, BatchFailure, BatchInfo, BatchItem, BatchStatus, ItemOutcome, ItemResult,
    RequestCounts,
};

/// A blocking client for the provider's batch API.
///
/// ```
/// use chat_limiter::{BatchApi, BatchItem, ChatCompletionRequest, ChatLimiter, Message, PollSchedule};
/// use std::time::Duration;
/// let emu = chat_limiter_emulator::Emulator::openai().api_key("sk-test").start()?;
/// let limiter = ChatLimiter::builder()
///     .model("gpt-4o-mini").api_key("sk-test").base_url(emu.base_url()).build()?;
/// let api = BatchApi::new(&limiter)?;
/// let items: Vec<BatchItem> = (0..3)
///     .map(|i| BatchItem::new(format!("q{i}"), ChatCompletionRequest::new("", vec![Message::user(format!("question {i}"))]).max_tokens(8)))
///     .collect();
/// let fast = PollSchedule { first: Duration::from_millis(20), max: Duration::from_millis(100), factor: 2.0 };
/// let results = api.run(&items, &fast, |_| {})?;
/// assert_eq!(results.len(), 3);
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct BatchApi {
    limiter: ChatLimiter,
    caps: BatchCaps,
    endpoint: BatchEndpoint,
}

/// A part of a job, ready to submit: its items (indices into the job) and what goes on the wire.
#[derive(Debug, Clone)]
pub(crate) struct Part {
    pub indices: Vec<usize>,
    pub tokens: u64,
}

impl BatchApi {
    /// A batch client for the limiter's provider, with its documented caps.
    ///
    /// Errors: [`BatchError::Unsupported`] for OpenRouter, which has no batch API.
    pub fn new(limiter: &ChatLimiter) -> Result<Self, BatchError> {
        let provider = limiter.provider();
        if provider == Provider::OpenRouter {
            return Err(BatchError::Unsupported { provider });
        }
        Ok(BatchApi {
            limiter: limiter.clone(),
            caps: BatchCaps::for_provider(provider),
            endpoint: BatchEndpoint::default(),
        })
    }

    /// The same client with other caps (an account's enqueued-token limit, or smaller caps).
    pub fn with_caps(mut self, caps: BatchCaps) -> Self {
        self.caps = caps;
        self
    }

    /// The same client with another OpenAI endpoint for the lines.
    pub fn with_endpoint(mut self, endpoint: BatchEndpoint) -> Self {
        self.endpoint = endpoint;
        self
    }

    /// The request as the batch's endpoint takes it: every OpenAI line goes to the endpoint's
    /// API, so a request that asks for the other one is refused (docs/providers.md §8.1).
    fn on_endpoint(
        &self,
        request: &crate::types::ChatCompletionRequest,
    ) -> Result<crate::types::ChatCompletionRequest, String> {
        if self.provider() != Provider::OpenAI {
            return Ok(request.clone());
        }
        let api = match self.endpoint {
            BatchEndpoint::Responses => crate::OpenAiApi::Responses,
            BatchEndpoint::ChatCompletions => crate::OpenAiApi::ChatCompletions,
        };
        match request.openai_api {
            Some(asked) if asked != api => Err(format!(
                "the request asks for the {asked} API, but the batch's endpoint is {}",
                self.endpoint.as_str()
            )),
            _ => Ok(request.clone().openai_api(api)),
        }
    }

    /// The caps a batch must fit.
    pub fn caps(&self) -> BatchCaps {
        self.caps
    }

    fn engine(&self) -> &Engine {
        self.limiter.engine()
    }

    fn provider(&self) -> Provider {
        self.limiter.provider()
    }

    /// The wire form of every item: (model, bytes, estimated prompt tokens), checked.
    fn encode(&self, items: &[BatchItem]) -> Result<Vec<(caps::Weight, Vec<u8>)>, BatchError> {
        if items.is_empty() {
            return Err(BatchError::Empty);
        }
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let id = &item.custom_id;
            if !seen.insert(id.as_str()) {
                return Err(BatchError::DuplicateCustomId(id.clone()));
            }
            let invalid =
                |reason: String| BatchError::InvalidItem { custom_id: id.clone(), reason };
            if id.is_empty() || (self.provider() == Provider::Anthropic && !anthropic::valid_id(id))
            {
                return Err(invalid("the id must be 1 to 64 of A-Z a-z 0-9 _ -".into()));
            }
            let request = self.on_endpoint(&item.request).map_err(invalid)?;
            let (model, body, tokens) =
                self.engine().batch_body(&request).map_err(|e| invalid(e.to_string()))?;
            let bytes = match self.provider() {
                Provider::Anthropic => anthropic::entry(id, &body),
                _ => openai::line(id, self.endpoint, &body),
            };
            let weight = caps::Weight {
                custom_id: id.clone(),
                model,
                bytes: bytes.len() as u64 + 1,
                tokens,
            };
            out.push((weight, bytes));
        }
        Ok(out)
    }

    /// How the items would be split over batches to fit the caps (indices into `items`).
    ///
    /// Errors: a typed error for an unusable item, a duplicate id, or one item larger than a
    /// cap ([`BatchError::TooLarge`] names the cap).
    pub fn plan(&self, items: &[BatchItem]) -> Result<Vec<Vec<usize>>, BatchError> {
        Ok(self.parts(&self.encode(items)?)?.into_iter().map(|p| p.indices).collect())
    }

    fn parts(&self, encoded: &[(caps::Weight, Vec<u8>)]) -> Result<Vec<Part>, BatchError> {
        let weights: Vec<caps::Weight> = encoded.iter().map(|(w, _)| w.clone()).collect();
        let (one_model, overhead) = match self.provider() {
            Provider::Anthropic => (false, anthropic::BODY_OVERHEAD),
            _ => (true, openai::UPLOAD_OVERHEAD),
        };
        let parts = caps::split(&weights, &self.caps, one_model, overhead)?;
        Ok(parts
            .into_iter()
            .map(|indices| Part {
                tokens: indices.iter().map(|i| weights[*i].tokens).sum(),
                indices,
            })
            .collect())
    }

    /// Submits the items as one batch (OpenAI: uploads the file, then creates the batch).
    ///
    /// Errors: as [`plan`](Self::plan), and [`BatchError::TooLarge`] when the items do not
    /// fit one batch (use [`plan`](Self::plan) to split them).
    pub fn submit(&self, items: &[BatchItem]) -> Result<BatchInfo, BatchError> {
        let encoded = self.encode(items)?;
        let parts = self.parts(&encoded)?;
        if parts.len() > 1 {
            return Err(BatchError::TooLarge {
                custom_id: items[parts[1].indices[0]].custom_id.clone(),
                cap: Cap::Requests,
                needed: items.len() as u64,
                limit: parts[0].indices.len() as u64,
            });
        }
        let lines: Vec<Vec<u8>> = encoded.into_iter().map(|(_, b)| b).collect();
        self.submit_encoded(&lines)
    }

    fn submit_encoded(&self, lines: &[Vec<u8>]) -> Result<BatchInfo, BatchError> {
        match self.provider() {
            Provider::Anthropic => anthropic::create(self.engine(), lines),
            _ => {
                let file = openai::upload(self.engine(), &lines.concat())?;
                openai::create(self.engine(), &file, self.endpoint)
            }
        }
    }

    /// OpenAI: uploads the items as a batch input file, without creating the batch, and
    /// returns the file's id. Saving it before [`create_from_file`](Self::create_from_file)
    /// lets a run killed in between find its batch with
    /// [`find_by_input_file`](Self::find_by_input_file) instead of submitting it twice.
    pub fn upload(&self, items: &[BatchItem]) -> Result<String, BatchError> {
        if self.provider() == Provider::Anthropic {
            return Err(BatchError::OpenAiOnly { what: "an input file" });
        }
        let encoded = self.encode(items)?;
        if self.parts(&encoded)?.len() > 1 {
            return Err(BatchError::TooLarge {
                custom_id: items[items.len() - 1].custom_id.clone(),
                cap: Cap::Requests,
                needed: items.len() as u64,
                limit: self.caps.max_requests,
            });
        }
        let lines: Vec<u8> = encoded.into_iter().flat_map(|(_, b)| b).collect();
        openai::upload(self.engine(), &lines)
    }

    /// OpenAI: creates the batch of an uploaded input file.
    pub fn create_from_file(&self, file_id: &str) -> Result<BatchInfo, BatchError> {
        if self.provider() == Provider::Anthropic {
            return Err(BatchError::OpenAiOnly { what: "an input file" });
        }
        openai::create(self.engine(), parse::path_id(file_id)?, self.endpoint)
    }

    /// OpenAI: the batch created from this input file, if any (the newest first, looking
    /// through the account's most recent 1,000 batches).
    pub fn find_by_input_file(&self, file_id: &str) -> Result<Option<BatchInfo>, BatchError> {
        if self.provider() == Provider::Anthropic {
            return Err(BatchError::OpenAiOnly { what: "an input file" });
        }
        let mut after: Option<String> = None;
        for _ in 0..10 {
            let (page, more) = openai::list(self.engine(), after.as_deref())?;
            if let Some(found) = page.iter().find(|b| b.input_file_id.as_deref() == Some(file_id)) {
                return Ok(Some(found.clone()));
            }
            match page.last() {
                Some(last) if more => after = Some(last.id.clone()),
                _ => break,
            }
        }
        Ok(None)
    }

    /// The account's batches created at or after `since` (Unix seconds), newest first, looking
    /// through at most the 1,000 most recent. A batch whose creation time the provider does
    /// not give is included (it may be recent).
    ///
    /// This is how a job killed between asking for a batch and saving its id finds the batch
    /// it may have created (Anthropic has no input file to look it up by).
    pub fn created_since(&self, since: u64) -> Result<Vec<BatchInfo>, BatchError> {
        let mut found = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..10 {
            let (page, next) = match self.provider() {
                Provider::Anthropic => anthropic::list(self.engine(), after.as_deref())?,
                _ => {
                    let (page, more) = openai::list(self.engine(), after.as_deref())?;
                    let next = page.last().map(|b| b.id.clone()).filter(|_| more);
                    (page, next)
                }
            };
            let older = page.iter().any(|b| b.created_at.is_some_and(|t| t < since));
            found.extend(page.into_iter().filter(|b| b.created_at.is_none_or(|t| t >= since)));
            match next {
                Some(n) if !older => after = Some(n),
                _ => break,
            }
        }
        Ok(found)
    }

    /// Reads a batch's status and counts.
    pub fn status(&self, id: &str) -> Result<BatchInfo, BatchError> {
        match self.provider() {
            Provider::Anthropic => anthropic::get(self.engine(), id),
            _ => openai::get(self.engine(), id),
        }
    }

    /// Asks the provider to cancel a batch; items already answered keep their results.
    pub fn cancel(&self, id: &str) -> Result<BatchInfo, BatchError> {
        match self.provider() {
            Provider::Anthropic => anthropic::cancel(self.engine(), id),
            _ => openai::cancel(self.engine(), id),
        }
    }

    /// Downloads the results of a batch (read with [`status`](Self::status)), in the
    /// provider's order. Items with no result line are not invented: compare with what was
    /// submitted ([`run`](Self::run) does).
    pub fn results(&self, info: &BatchInfo) -> Result<Vec<ItemResult>, BatchError> {
        match self.provider() {
            Provider::Anthropic => anthropic::results(self.engine(), info),
            _ => openai::results(self.engine(), info),
        }
    }

    /// Polls a batch on `schedule` until it is terminal, calling `on_poll` after each read.
    pub fn wait(
        &self,
        id: &str,
        schedule: &PollSchedule,
        mut on_poll: impl FnMut(&BatchInfo),
    ) -> Result<BatchInfo, BatchError> {
        for n in 0.. {
            let info = self.status(id)?;
            on_poll(&info);
            if info.status.is_terminal() {
                return Ok(info);
            }
            self.engine().sleep(schedule.delay(n));
        }
        unreachable!("the poll loop only ends by returning")
    }
}
