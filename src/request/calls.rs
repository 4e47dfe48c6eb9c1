//! The three kinds of call, each a prepared [`Call`] through the one request loop with its own
//! way of reading a 2xx answer.

use serde_json::Value;

use super::run::{read_body_sized, MAX_BODY};
use super::{Call, Engine, RawResponse};
use crate::error::Result;
use crate::openai_api::OpenAiApi;
use crate::provider::{cost, openai_responses, wire};
use crate::retry::RetryPolicy;
use crate::stream::{ChatStream, StreamStart};
use crate::types::{ChatCompletionRequest, ChatCompletionResponse};

impl Engine {
    /// A chat completion.
    pub(crate) fn chat(&self, request: &ChatCompletionRequest) -> Result<ChatCompletionResponse> {
        let call = self.prepare_chat(request, false)?;
        self.chat_prepared(&call, &self.policy, &mut 0)
    }

    /// A prepared chat call under `policy`; `attempts` receives the attempts made.
    pub(crate) fn chat_prepared(
        &self,
        call: &Call,
        policy: &RetryPolicy,
        attempts: &mut u32,
    ) -> Result<ChatCompletionResponse> {
        let key = self.cache_key(call);
        if let Some(hit) = self.cached_response(key.as_deref(), call) {
            *attempts = 0;
            return Ok(hit);
        }
        let p = self.provider;
        let response = self.run(call, policy, attempts, |resp, permit| {
            let body = read_body_sized(resp.body, MAX_BODY, Some(&resp.headers))
                .map_err(|e| self.read_error(&e))?;
            let request_id = wire::request_id(p, &resp.headers, &self.key);
            let key = self.key.expose();
            let parsed = match call.api {
                OpenAiApi::Responses => {
                    openai_responses::response::parse_response(&body, request_id, key)?
                }
                _ => wire::parse_chat_response(p, &body, request_id, key)?,
            };
            if let Some(usage) = &parsed.usage {
                permit.reported(usage.prompt_tokens, usage.completion_tokens);
                let actual = cost::settled(p, &call.model, permit.cost(), usage);
                permit.settle_and_release(actual);
            }
            Ok(parsed)
        })?;
        self.cache_response(key.as_deref(), call, &response);
        Ok(response)
    }

    /// Any request, answered raw.
    pub(crate) fn raw(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<RawResponse> {
        let call = self.prepare_raw(method, path, body)?;
        self.run(&call, &self.policy, &mut 0, |resp, _permit| {
            let headers = resp
                .headers
                .iter()
                .map(|(k, v)| {
                    (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())
                })
                .collect();
            let body = read_body_sized(resp.body, MAX_BODY, Some(&resp.headers))
                .map_err(|e| self.read_error(&e))?;
            Ok(RawResponse { status: resp.status, headers, body })
        })
    }

    /// A streamed chat completion: retried until the first byte, then handed to the caller.
    pub(crate) fn stream(&self, request: &ChatCompletionRequest) -> Result<ChatStream> {
        let call = self.prepare_chat(request, true)?;
        let key = self.cache_key(&call);
        if let Some(replayed) = self.cached_stream(key.as_deref(), &call) {
            return Ok(replayed);
        }
        let p = self.provider;
        let stream = self.run(&call, &self.policy, &mut 0, |resp, permit| {
            Ok(ChatStream::new(StreamStart {
                request_id: wire::request_id(p, &resp.headers, &self.key),
                body: resp.body,
                responses: call.api == OpenAiApi::Responses,
                permit,
                provider: p,
                model: call.model.to_string(),
                api_key: self.key.expose().to_string(),
                read_timeout: self.config.timeout,
                prompt_estimate: call.prompt_tokens,
            }))
        })?;
        Ok(self.record_stream(key, &call, stream))
    }
}
