//! The Responses API's answer: the response object (`"object": "response"`) and, for a stream,
//! its typed events: `response.created`, `response.in_progress`, for a reasoning model a
//! `reasoning` item (with `response.reasoning_summary_*` events when a summary was asked
//! for), a `message` item (`response.output_item.added`, `response.content_part.added`, one
//! `response.output_text.delta` per token, `.done` events), then `response.completed`, or
//! `response.incomplete` when the output reached `max_output_tokens`. Every event is
//! `event: <type>` plus a `data:` object with that `type` and a `sequence_number`; there is no
//! `[DONE]`.

use std::time::Duration;

use serde_json::{json, Value};

use super::chat;
use super::format::unix_now;
use super::server::Ctx;

/// One generated answer.
pub(crate) struct Answer {
    id: String,
    msg_id: String,
    rs_id: String,
    created: u64,
    model: String,
    request: Value,
    prompt: u64,
    output: u64,
    thinking: u64,
    cap: u64,
    pieces: Vec<String>,
    summary: Option<Vec<String>>,
}

impl Answer {
    /// `output` tokens in all, `thinking` of them reasoning; `summary`: a reasoning summary
    /// was asked for.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        ctx: &mut Ctx,
        hash: u64,
        model: &str,
        request: &Value,
        prompt: u64,
        output: u64,
        thinking: u64,
        cap: u64,
        summary: bool,
    ) -> Self {
        let summary =
            (summary && thinking > 0).then(|| chat::lorem_pieces(hash ^ 0x5eed, thinking.min(12)));
        Answer {
            id: format!("resp_{}", ctx.rng.hex(48)),
            msg_id: format!("msg_{}", ctx.rng.hex(48)),
            rs_id: format!("rs_{}", ctx.rng.hex(48)),
            created: unix_now().as_secs(),
            model: model.to_string(),
            request: request.clone(),
            prompt,
            output,
            thinking,
            cap,
            pieces: chat::lorem_pieces(hash, output - thinking),
            summary,
        }
    }

    fn incomplete(&self) -> bool {
        self.output >= self.cap
    }

    fn reasoning_item(&self) -> Option<Value> {
        (self.thinking > 0).then(|| {
            let summary: Vec<Value> = self
                .summary
                .iter()
                .map(|s| json!({"type": "summary_text", "text": s.concat()}))
                .collect();
            json!({"id": self.rs_id, "type": "reasoning", "summary": summary})
        })
    }

    fn text_part(&self, text: &str) -> Value {
        json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
    }

    fn message_item(&self, done: bool) -> Value {
        let (status, content) = if done {
            let status = if self.incomplete() { "incomplete" } else { "completed" };
            (status, json!([self.text_part(&self.pieces.concat())]))
        } else {
            ("in_progress", json!([]))
        };
        json!({"id": self.msg_id, "type": "message", "status": status, "role": "assistant",
            "content": content})
    }

    /// The response object, finished (`done`) or as `response.created` shows it.
    pub(crate) fn object(&self, done: bool) -> Value {
        let r = &self.request;
        let (status, details) = match (done, self.incomplete()) {
            (false, _) => ("in_progress", Value::Null),
            (true, true) => ("incomplete", json!({"reason": "max_output_tokens"})),
            (true, false) => ("completed", Value::Null),
        };
        let output: Vec<Value> = if done {
            self.reasoning_item().into_iter().chain([self.message_item(true)]).collect()
        } else {
            Vec::new()
        };
        let usage = done.then(|| {
            json!({
            "input_tokens": self.prompt, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": self.output,
            "output_tokens_details": {"reasoning_tokens": self.thinking},
            "total_tokens": self.prompt + self.output})
        });
        let field = |k: &str, default: Value| r.get(k).cloned().unwrap_or(default);
        json!({
            "id": self.id, "object": "response", "created_at": self.created, "status": status,
            "background": false, "error": null, "incomplete_details": details,
            "instructions": field("instructions", Value::Null),
            "max_output_tokens": field("max_output_tokens", Value::Null),
            "model": self.model, "output": output, "parallel_tool_calls": true,
            "previous_response_id": null,
            "reasoning": field("reasoning", json!({"effort": null, "summary": null})),
            "service_tier": "default", "store": field("store", json!(true)),
            "temperature": field("temperature", json!(1.0)),
            "text": field("text", json!({"format": {"type": "text"}})),
            "tool_choice": field("tool_choice", json!("auto")), "tools": field("tools", json!([])),
            "top_p": field("top_p", json!(1.0)), "truncation": "disabled",
            "usage": usage, "user": null, "metadata": field("metadata", json!({})),
        })
    }

    /// The stream's events, each after its delay; cut by an `error` event halfway through
    /// the text when `mid_error`.
    pub(crate) fn events(&self, ctx: &mut Ctx, mid_error: bool) -> Vec<(Duration, String)> {
        let per_token = ctx.cfg.per_token_latency;
        let mut out = Events { list: Vec::new(), seq: 0 };
        let first = chat::first_byte(ctx.cfg, &mut ctx.rng);
        out.push(first, "response.created", json!({"response": self.object(false)}));
        out.push(Duration::ZERO, "response.in_progress", json!({"response": self.object(false)}));
        let mut index = 0;
        if let Some(item) = self.reasoning_item() {
            let empty = json!({"id": self.rs_id, "type": "reasoning", "summary": []});
            out.push(
                Duration::ZERO,
                "response.output_item.added",
                json!({"output_index": 0, "item": empty}),
            );
            if let Some(summary) = &self.summary {
                let at = json!({"item_id": self.rs_id, "output_index": 0, "summary_index": 0});
                let with = |extra: Value| merge(&at, extra);
                out.push(
                    Duration::ZERO,
                    "response.reasoning_summary_part.added",
                    with(json!({"part": {"type": "summary_text", "text": ""}})),
                );
                for piece in summary {
                    out.push(
                        per_token,
                        "response.reasoning_summary_text.delta",
                        with(json!({"delta": piece})),
                    );
                }
                let text = summary.concat();
                out.push(
                    Duration::ZERO,
                    "response.reasoning_summary_text.done",
                    with(json!({"text": text})),
                );
                out.push(
                    Duration::ZERO,
                    "response.reasoning_summary_part.done",
                    with(json!({"part": {"type": "summary_text", "text": text}})),
                );
            }
            out.push(
                Duration::ZERO,
                "response.output_item.done",
                json!({"output_index": 0, "item": item}),
            );
            index = 1;
        }
        out.push(
            Duration::ZERO,
            "response.output_item.added",
            json!({"output_index": index, "item": self.message_item(false)}),
        );
        let at = json!({"item_id": self.msg_id, "output_index": index, "content_index": 0});
        out.push(
            Duration::ZERO,
            "response.content_part.added",
            merge(&at, json!({"part": self.text_part("")})),
        );
        let stop_at = if mid_error { self.pieces.len() / 2 } else { self.pieces.len() };
        for piece in &self.pieces[..stop_at] {
            out.push(
                per_token,
                "response.output_text.delta",
                merge(&at, json!({"delta": piece, "logprobs": []})),
            );
        }
        if mid_error {
            out.push(per_token, "error", json!({"code": "server_error",
                "message": "The server had an error while processing your request. Sorry about that!",
                "param": null}));
            return out.list;
        }
        let text = self.pieces.concat();
        out.push(
            Duration::ZERO,
            "response.output_text.done",
            merge(&at, json!({"text": text, "logprobs": []})),
        );
        out.push(
            Duration::ZERO,
            "response.content_part.done",
            merge(&at, json!({"part": self.text_part(&text)})),
        );
        out.push(
            Duration::ZERO,
            "response.output_item.done",
            json!({"output_index": index, "item": self.message_item(true)}),
        );
        let last = if self.incomplete() { "response.incomplete" } else { "response.completed" };
        out.push(Duration::ZERO, last, json!({"response": self.object(true)}));
        out.list
    }
}

struct Events {
    list: Vec<(Duration, String)>,
    seq: u64,
}

impl Events {
    fn push(&mut self, delay: Duration, kind: &str, mut data: Value) {
        data["type"] = json!(kind);
        data["sequence_number"] = json!(self.seq);
        self.seq += 1;
        self.list.push((delay, format!("event: {kind}\ndata: {data}\n\n")));
    }
}

fn merge(a: &Value, b: Value) -> Value {
    let mut out = a.clone();
    if let (Some(o), Value::Object(extra)) = (out.as_object_mut(), b) {
        o.extend(extra);
    }
    out
}
