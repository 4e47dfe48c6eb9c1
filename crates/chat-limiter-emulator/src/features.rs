//! Tools, structured output and reasoning: what the emulated model does beyond lorem text,
//! decided from the request alone (the rule is in the crate docs, "Tools, JSON and
//! reasoning").

use serde_json::{json, Value};

use super::chat;
use super::format::Rng;
use super::schema;

/// Which request shape a body has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// OpenAI and OpenRouter: `tools[].function`, `tool_choice: "required"`, `role: tool`.
    OpenAI,
    /// Anthropic: `tools[].input_schema`, `tool_choice: {type: any}`, `tool_result` blocks.
    Anthropic,
}

/// One tool call the model makes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Call {
    pub(crate) id: String,
    pub(crate) name: String,
    /// The arguments as compact JSON text.
    pub(crate) arguments: String,
}

/// What the answer is made of.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    /// Tool calls, in order (the answer has no text then).
    pub(crate) calls: Vec<Call>,
    /// A JSON answer generated from the requested schema.
    pub(crate) json: Option<String>,
    /// Reasoning tokens, part of the output.
    pub(crate) reasoning: u64,
}

impl Plan {
    /// The visible output tokens of a tool-call or JSON answer: `ceil(chars / 4)` of the
    /// calls' names and arguments, or of the JSON text. `None` for a lorem answer.
    pub(crate) fn fixed_output(&self) -> Option<u64> {
        if !self.calls.is_empty() {
            let chars: usize = self
                .calls
                .iter()
                .map(|c| c.name.chars().count() + c.arguments.chars().count())
                .sum();
            return Some(chat::prompt_tokens(chars));
        }
        self.json.as_ref().map(|j| chat::prompt_tokens(j.chars().count()))
    }

    /// The text pieces of a JSON answer (4 characters each), or `None`.
    pub(crate) fn json_pieces(&self) -> Option<Vec<String>> {
        self.json.as_ref().map(|j| pieces(j, 4))
    }
}

/// `text` cut into pieces of `n` characters.
pub(crate) fn pieces(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(n.max(1)).map(|c| c.iter().collect()).collect()
}

/// The tools of a request: (name, argument schema).
fn tools(d: Dialect, body: &Value) -> Vec<(String, Value)> {
    let Some(list) = body.get("tools").and_then(Value::as_array) else { return Vec::new() };
    list.iter()
        .filter_map(|t| {
            let (def, key) = match d {
                Dialect::OpenAI => (t.get("function")?, "parameters"),
                Dialect::Anthropic => (t, "input_schema"),
            };
            let name = def.get("name")?.as_str()?.to_string();
            Some((name, def.get(key).cloned().unwrap_or(json!({"type": "object"}))))
        })
        .collect()
}

/// The tool choice, in either dialect.
enum Choice {
    /// The model decides (the default).
    Auto,
    /// No call (`none`).
    Never,
    /// Some tool must be called (`required`, Anthropic `any`).
    Any,
    /// This tool must be called.
    Named(String),
}

fn choice(d: Dialect, body: &Value) -> Choice {
    let c = body.get("tool_choice");
    match d {
        Dialect::OpenAI => match c {
            Some(Value::String(s)) if s == "none" => Choice::Never,
            Some(Value::String(s)) if s == "required" => Choice::Any,
            Some(v) => match v.pointer("/function/name").and_then(Value::as_str) {
                Some(n) => Choice::Named(n.to_string()),
                None => Choice::Auto,
            },
            None => Choice::Auto,
        },
        Dialect::Anthropic => match c.and_then(|c| c.get("type")).and_then(Value::as_str) {
            Some("none") => Choice::Never,
            Some("any") => Choice::Any,
            Some("tool") => Choice::Named(
                c.and_then(|c| c.get("name")).and_then(Value::as_str).unwrap_or("").to_string(),
            ),
            _ => Choice::Auto,
        },
    }
}

/// True when the tool choice forces a call (`required`/`any`, or a named tool).
pub(crate) fn forces_tool(d: Dialect, body: &Value) -> bool {
    matches!(choice(d, body), Choice::Any | Choice::Named(_))
}

/// The last message's text, and whether it is a tool result.
fn last_turn(d: Dialect, body: &Value) -> (String, bool) {
    let Some(last) = body.get("messages").and_then(Value::as_array).and_then(|m| m.last()) else {
        return (String::new(), false);
    };
    let content = last.get("content");
    let result = match d {
        Dialect::OpenAI => last.get("role").and_then(Value::as_str) == Some("tool"),
        Dialect::Anthropic => content.and_then(Value::as_array).is_some_and(|blocks| {
            blocks.iter().any(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
        }),
    };
    let text = match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => {
            parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect()
        }
        _ => String::new(),
    };
    (text, result)
}

/// Decides the tool calls and JSON answer of a request (reasoning is set by the caller).
///
/// Errors: a named `tool_choice` that is not among the tools.
pub(crate) fn plan(d: Dialect, body: &Value, hash: u64) -> Result<Plan, String> {
    let tools = tools(d, body);
    let (text, answered) = last_turn(d, body);
    let chosen: Vec<&(String, Value)> = match choice(d, body) {
        Choice::Never => Vec::new(),
        Choice::Named(n) => match tools.iter().find(|t| t.0 == n) {
            Some(t) => vec![t],
            None => return Err(format!("tool_choice names the tool {n:?}, which is not in tools")),
        },
        c => {
            let mut named: Vec<(usize, &(String, Value))> = if answered {
                Vec::new()
            } else {
                tools.iter().filter_map(|t| text.find(t.0.as_str()).map(|p| (p, t))).collect()
            };
            named.sort_by_key(|(p, _)| *p);
            let mut picked: Vec<_> = named.into_iter().map(|(_, t)| t).collect();
            if picked.is_empty() && matches!(c, Choice::Any) {
                picked.extend(tools.first());
            }
            picked
        }
    };
    let mut rng = Rng::new(hash ^ 0x7001);
    let calls = chosen
        .into_iter()
        .map(|(name, params)| Call {
            id: match d {
                Dialect::OpenAI => format!("call_{}", rng.base62(24)),
                Dialect::Anthropic => format!("toolu_01{}", rng.base62(22)),
            },
            name: name.clone(),
            arguments: schema::generate(params, params).to_string(),
        })
        .collect::<Vec<_>>();
    let json = if calls.is_empty() && d == Dialect::OpenAI { json_answer(body) } else { None };
    Ok(Plan { calls, json, reasoning: 0 })
}

/// OpenAI's `response_format`: a value generated from a `json_schema`'s schema, or
/// `{"answer":"answer"}` for `json_object`.
fn json_answer(body: &Value) -> Option<String> {
    let f = body.get("response_format")?;
    match f.get("type").and_then(Value::as_str)? {
        "json_schema" => {
            let s = f.pointer("/json_schema/schema").cloned().unwrap_or(json!({}));
            Some(schema::generate(&s, &s).to_string())
        }
        "json_object" => Some(json!({"answer": "answer"}).to_string()),
        _ => None,
    }
}

/// Reasoning tokens for an effort (`none`, `minimal`, `low`, `medium`, `high`) out of `cap`:
/// 0, cap/16, cap/8, cap/4, cap/2. `None` for an unknown effort.
pub(crate) fn effort_tokens(effort: &str, cap: u64) -> Option<u64> {
    Some(match effort {
        "none" => 0,
        "minimal" => cap / 16,
        "low" => cap / 8,
        "medium" => cap / 4,
        "high" => cap / 2,
        _ => return None,
    })
}

/// Characters the prompt count adds for tools: the JSON text of `tools` and
/// `response_format`, and of every message's OpenAI `tool_calls`.
pub(crate) fn extra_chars(body: &Value) -> usize {
    let text = |v: Option<&Value>| v.map_or(0, |v| v.to_string().chars().count());
    let calls: usize = body
        .get("messages")
        .and_then(Value::as_array)
        .map_or(0, |ms| ms.iter().map(|m| text(m.get("tool_calls"))).sum());
    text(body.get("tools")) + text(body.get("response_format")) + calls
}

/// A thinking block's signature: derived from its text, so that a block sent back changed
/// (or without its signature) is detected.
pub(crate) fn signature(thinking: &str) -> String {
    format!("EmuSig{:016x}", super::format::fnv1a(thinking.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn openai(tools: &[&str], text: &str, choice: Option<Value>) -> Value {
        let tools: Vec<Value> = tools
            .iter()
            .map(|n| json!({"type":"function","function":{"name":n,"parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}))
            .collect();
        let mut b = json!({"tools": tools, "messages":[{"role":"user","content":text}]});
        if let Some(c) = choice {
            b["tool_choice"] = c;
        }
        b
    }

    #[test]
    fn tools_named_in_the_last_user_turn_are_called_in_order() {
        let b = openai(&["get_weather", "get_time"], "call get_time then get_weather", None);
        let p = plan(Dialect::OpenAI, &b, 1).expect("plan");
        let names: Vec<_> = p.calls.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["get_time", "get_weather"]);
        assert_eq!(p.calls[0].arguments, r#"{"city":"city"}"#);
        assert!(p.calls[0].id.starts_with("call_"));
        let none = plan(Dialect::OpenAI, &openai(&["f"], "hello", None), 1).expect("plan");
        assert!(none.calls.is_empty());
        let forced = openai(&["f", "g"], "hello", Some(json!("required")));
        assert_eq!(plan(Dialect::OpenAI, &forced, 1).expect("plan").calls[0].name, "f");
        let named =
            openai(&["f", "g"], "call f", Some(json!({"type":"function","function":{"name":"g"}})));
        assert_eq!(plan(Dialect::OpenAI, &named, 1).expect("plan").calls[0].name, "g");
        let never = openai(&["f"], "call f", Some(json!("none")));
        assert!(plan(Dialect::OpenAI, &never, 1).expect("plan").calls.is_empty());
        let missing = openai(&["f"], "x", Some(json!({"type":"function","function":{"name":"h"}})));
        assert!(plan(Dialect::OpenAI, &missing, 1).is_err());
    }

    #[test]
    fn a_tool_result_turn_is_answered_with_text() {
        let mut b = openai(&["f"], "call f", None);
        b["messages"] = json!([{"role":"user","content":"call f"},{"role":"tool","tool_call_id":"c","content":"1"}]);
        assert!(plan(Dialect::OpenAI, &b, 1).expect("plan").calls.is_empty());
        let a = json!({"tools":[{"name":"f","input_schema":{"type":"object"}}],"messages":[
            {"role":"user","content":"call f"},
            {"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"1"}]}]});
        assert!(plan(Dialect::Anthropic, &a, 1).expect("plan").calls.is_empty());
    }

    #[test]
    fn json_answers_and_effort() {
        let b = json!({"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema",
            "json_schema":{"name":"p","schema":{"type":"object","properties":{"age":{"type":"integer"}}}}}});
        let p = plan(Dialect::OpenAI, &b, 1).expect("plan");
        assert_eq!(p.json.as_deref(), Some(r#"{"age":1}"#));
        assert_eq!(p.fixed_output(), Some(3));
        assert_eq!(p.json_pieces().expect("pieces").concat(), r#"{"age":1}"#);
        assert_eq!(effort_tokens("high", 100), Some(50));
        assert_eq!(effort_tokens("extreme", 100), None);
    }
}
