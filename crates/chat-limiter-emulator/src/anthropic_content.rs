//! Anthropic answers beyond plain text: thinking blocks (budgeted or adaptive) with
//! signatures checked when sent back, `tool_use` blocks, and their stream events.

use std::time::Duration;

use serde_json::{json, Value};

use super::chat;
use super::features::{self, Call, Dialect, Plan};

/// One content block of the answer.
pub(crate) enum Block {
    Thinking(Vec<String>),
    Text(Vec<String>),
    Tool(Call),
}

/// The tool calls and thinking tokens of a request, after Anthropic's checks: a budget of
/// at least 1024 and below `max_tokens`, no forced tool with thinking, and every thinking
/// block sent back intact (its signature matches) and first in a final assistant turn that
/// calls tools. Thinking tokens: `min(budget / 4, max_tokens / 2)`, or `max_tokens / 4` for
/// `adaptive`.
pub(crate) fn plan(body: &Value, max_tokens: u64, hash: u64) -> Result<Plan, String> {
    let mut plan = features::plan(Dialect::Anthropic, body, hash)?;
    let Some(t) = body.get("thinking").filter(|t| !t.is_null()) else { return Ok(plan) };
    let thinking = match t.get("type").and_then(Value::as_str) {
        Some("disabled") => return Ok(plan),
        Some("enabled") => {
            let Some(budget) = t.get("budget_tokens").and_then(Value::as_u64) else {
                return Err("thinking.enabled.budget_tokens: Field required".into());
            };
            if budget < 1024 {
                return Err(
                    "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
                        .into(),
                );
            }
            if budget >= max_tokens {
                return Err("`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size".into());
            }
            (budget / 4).min(max_tokens / 2)
        }
        Some("adaptive") => max_tokens / 4,
        other => {
            return Err(format!("thinking: Input tag '{}' found using 'type' does not match any of the expected tags: 'adaptive', 'disabled', 'enabled'", other.unwrap_or("")));
        }
    };
    if features::forces_tool(Dialect::Anthropic, body) {
        return Err("Thinking may not be enabled when tool_choice forces tool use.".into());
    }
    check_thinking_turns(body)?;
    plan.reasoning = thinking;
    Ok(plan)
}

/// Thinking blocks come back unchanged, and a final assistant turn with tool calls starts
/// with one.
fn check_thinking_turns(body: &Value) -> Result<(), String> {
    let messages = body.get("messages").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    let last_assistant = messages.iter().rposition(|m| m.get("role") == Some(&json!("assistant")));
    for (i, m) in messages.iter().enumerate() {
        let Some(blocks) = m.get("content").and_then(Value::as_array) else { continue };
        if m.get("role") != Some(&json!("assistant")) {
            continue;
        }
        for (j, b) in blocks.iter().enumerate() {
            if b.get("type").and_then(Value::as_str) == Some("thinking") {
                let text = b.get("thinking").and_then(Value::as_str).unwrap_or("");
                if b.get("signature").and_then(Value::as_str) != Some(&features::signature(text)) {
                    return Err(format!(
                        "messages.{i}.content.{j}: Invalid `signature` in `thinking` block"
                    ));
                }
            }
        }
        let calls = blocks.iter().any(|b| b.get("type") == Some(&json!("tool_use")));
        let first = blocks.first().and_then(|b| b.get("type")).and_then(Value::as_str);
        if Some(i) == last_assistant
            && calls
            && !matches!(first, Some("thinking" | "redacted_thinking"))
        {
            return Err(format!("messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{}`. When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns.", first.unwrap_or("text")));
        }
    }
    Ok(())
}

/// The answer's blocks: thinking (one lorem word per thinking token), then the tool calls
/// or the text (`out` visible tokens).
pub(crate) fn blocks(plan: &Plan, hash: u64, out: u64) -> Vec<Block> {
    let mut b = Vec::new();
    if plan.reasoning > 0 {
        b.push(Block::Thinking(chat::lorem_pieces(hash ^ 0x5eed, plan.reasoning)));
    }
    if plan.calls.is_empty() {
        if out > 0 {
            b.push(Block::Text(chat::lorem_pieces(hash, out)));
        }
    } else {
        b.extend(plan.calls.iter().cloned().map(Block::Tool));
    }
    b
}

/// The blocks of a non-streamed message.
pub(crate) fn content(blocks: &[Block]) -> Vec<Value> {
    blocks
        .iter()
        .map(|b| match b {
            Block::Thinking(p) => {
                let text = p.concat();
                json!({"type": "thinking", "thinking": text, "signature": features::signature(&text)})
            }
            Block::Text(p) => json!({"type": "text", "text": p.concat()}),
            Block::Tool(c) => json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input(c)}),
        })
        .collect()
}

fn input(c: &Call) -> Value {
    serde_json::from_str(&c.arguments).unwrap_or_else(|_| json!({}))
}

/// The stream events of the blocks (`content_block_start`, deltas, `content_block_stop`),
/// each with the delay before it; with `mid_error`, only the first half of the deltas.
pub(crate) fn events(
    blocks: &[Block],
    per_token: Duration,
    mid_error: bool,
) -> Vec<(Duration, Value)> {
    let mut out: Vec<(Duration, Value)> = Vec::new();
    let delta =
        |index: usize, d: Value| json!({"type": "content_block_delta", "index": index, "delta": d});
    let total: usize = blocks
        .iter()
        .map(|b| match b {
            Block::Thinking(p) | Block::Text(p) => p.len(),
            Block::Tool(c) => features::pieces(&c.arguments, 5).len(),
        })
        .sum();
    let mut budget = if mid_error { total / 2 } else { usize::MAX };
    if blocks.is_empty() {
        // An empty answer still opens (and closes) one text block.
        let start = json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}});
        out.push((Duration::ZERO, start));
        if !mid_error {
            out.push((Duration::ZERO, json!({"type": "content_block_stop", "index": 0})));
        }
        return out;
    }
    for (index, b) in blocks.iter().enumerate() {
        let (start, deltas) = match b {
            Block::Thinking(p) => (
                json!({"type": "thinking", "thinking": ""}),
                p.iter()
                    .map(|t| json!({"type": "thinking_delta", "thinking": t}))
                    .collect::<Vec<_>>(),
            ),
            Block::Text(p) => (
                json!({"type": "text", "text": ""}),
                p.iter().map(|t| json!({"type": "text_delta", "text": t})).collect(),
            ),
            Block::Tool(c) => (
                json!({"type": "tool_use", "id": c.id, "name": c.name, "input": {}}),
                features::pieces(&c.arguments, 5)
                    .into_iter()
                    .map(|j| json!({"type": "input_json_delta", "partial_json": j}))
                    .collect(),
            ),
        };
        out.push((
            Duration::ZERO,
            json!({"type": "content_block_start", "index": index, "content_block": start}),
        ));
        for d in deltas {
            if budget == 0 {
                return out;
            }
            budget -= 1;
            out.push((per_token, delta(index, d)));
        }
        if let Block::Thinking(p) = b {
            let sig = features::signature(&p.concat());
            out.push((
                Duration::ZERO,
                delta(index, json!({"type": "signature_delta", "signature": sig})),
            ));
        }
        out.push((Duration::ZERO, json!({"type": "content_block_stop", "index": index})));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(thinking: Value, max: u64) -> (Value, u64) {
        (
            json!({"max_tokens": max, "thinking": thinking, "messages":[{"role":"user","content":"hi"}]}),
            max,
        )
    }

    #[test]
    fn thinking_checks_and_tokens() {
        let (b, m) = body(json!({"type":"enabled","budget_tokens":2048}), 4096);
        assert_eq!(plan(&b, m, 1).expect("ok").reasoning, 512);
        let (b, m) = body(json!({"type":"adaptive"}), 400);
        assert_eq!(plan(&b, m, 1).expect("ok").reasoning, 100);
        for (t, max) in [
            (json!({"type":"enabled","budget_tokens":1000}), 4096),
            (json!({"type":"enabled","budget_tokens":4096}), 4096),
            (json!({"type":"sometimes"}), 4096),
        ] {
            let (b, m) = body(t, max);
            assert!(plan(&b, m, 1).is_err());
        }
    }

    #[test]
    fn thinking_blocks_must_come_back_signed_and_first() {
        let sig = features::signature("t");
        let mk = |asst: Value| {
            json!({"max_tokens": 4096, "thinking": {"type":"enabled","budget_tokens":1024},
            "tools":[{"name":"f","input_schema":{"type":"object"}}],
            "messages":[{"role":"user","content":"call f"},{"role":"assistant","content":asst},
                {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"1"}]}]})
        };
        let good = mk(
            json!([{"type":"thinking","thinking":"t","signature":sig},{"type":"tool_use","id":"t1","name":"f","input":{}}]),
        );
        assert!(plan(&good, 4096, 1).expect("ok").calls.is_empty());
        let forged = mk(
            json!([{"type":"thinking","thinking":"changed","signature":sig},{"type":"tool_use","id":"t1","name":"f","input":{}}]),
        );
        assert!(plan(&forged, 4096, 1).expect_err("bad signature").contains("signature"));
        let dropped = mk(json!([{"type":"tool_use","id":"t1","name":"f","input":{}}]));
        assert!(plan(&dropped, 4096, 1)
            .expect_err("no thinking")
            .contains("must start with a thinking block"));
    }
}
