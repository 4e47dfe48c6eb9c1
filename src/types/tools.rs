//! Tools, in one shape for every provider: the definitions a request offers, the choice of
//! tool, the complete calls on a response message, and the pieces a stream delivers them in.
//!
//! The serde shape of each type is OpenAI's (`{"type":"function","function":{...}}`); each
//! provider module maps it to its own wire (Anthropic: `tools[].input_schema`, `tool_use`
//! blocks, `tool_choice: {type: any}`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Value};

/// A tool (function) the model may call.
///
/// ```
/// use chat_limiter::Tool;
/// let t = Tool::new("get_weather", "Weather of a city",
///     serde_json::json!({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}));
/// assert_eq!(serde_json::to_value(&t).unwrap()["function"]["name"], "get_weather");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    /// The name the model calls it by (`[a-zA-Z0-9_-]`, up to 64 characters on every provider).
    pub name: String,
    /// What it does, for the model.
    pub description: Option<String>,
    /// Its arguments, as a JSON Schema object.
    pub parameters: Value,
    /// OpenAI's `strict` (arguments guaranteed to match the schema); not sent to Anthropic.
    pub strict: Option<bool>,
}

impl Tool {
    /// A tool with a description and a JSON Schema for its arguments.
    pub fn new(name: impl Into<String>, description: impl Into<String>, parameters: Value) -> Self {
        Tool { name: name.into(), description: Some(description.into()), parameters, strict: None }
    }

    /// The definition in OpenAI's `tools[]` shape.
    pub fn to_openai(&self) -> Value {
        let mut f = json!({"name": self.name});
        if let Some(d) = &self.description {
            f["description"] = json!(d);
        }
        f["parameters"] = self.parameters.clone();
        if let Some(s) = self.strict {
            f["strict"] = json!(s);
        }
        json!({"type": "function", "function": f})
    }

    /// The definition in Anthropic's `tools[]` shape (`input_schema`).
    pub fn to_anthropic(&self) -> Value {
        let mut t = json!({"name": self.name});
        if let Some(d) = &self.description {
            t["description"] = json!(d);
        }
        t["input_schema"] = self.parameters.clone();
        t
    }
}

impl Serialize for Tool {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_openai().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Tool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            #[serde(rename = "type")]
            kind: String,
            function: Function,
        }
        #[derive(Deserialize)]
        struct Function {
            name: String,
            description: Option<String>,
            parameters: Value,
            strict: Option<bool>,
        }
        let w = Wire::deserialize(d)?;
        if w.kind != "function" {
            return Err(serde::de::Error::custom("not a function tool"));
        }
        let f = w.function;
        Ok(Tool {
            name: f.name,
            description: f.description,
            parameters: f.parameters,
            strict: f.strict,
        })
    }
}

/// Which tool the model may or must call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ToolChoice {
    /// The model decides (the default when tools are given).
    Auto,
    /// No tool call.
    None,
    /// At least one tool call, any tool (OpenAI `required`, Anthropic `any`).
    Required,
    /// This tool must be called.
    Tool(String),
}

impl ToolChoice {
    /// OpenAI's `tool_choice` value.
    pub fn to_openai(&self) -> Value {
        match self {
            ToolChoice::Auto => json!("auto"),
            ToolChoice::None => json!("none"),
            ToolChoice::Required => json!("required"),
            ToolChoice::Tool(n) => json!({"type": "function", "function": {"name": n}}),
        }
    }

    /// Anthropic's `tool_choice` value.
    pub fn to_anthropic(&self) -> Value {
        match self {
            ToolChoice::Auto => json!({"type": "auto"}),
            ToolChoice::None => json!({"type": "none"}),
            ToolChoice::Required => json!({"type": "any"}),
            ToolChoice::Tool(n) => json!({"type": "tool", "name": n}),
        }
    }
}

impl Serialize for ToolChoice {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_openai().serialize(s)
    }
}

impl<'de> Deserialize<'de> for ToolChoice {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let named = v.get("function").and_then(|f| f.get("name")).and_then(Value::as_str);
        match (v.as_str(), named) {
            (Some("auto"), _) => Ok(ToolChoice::Auto),
            (Some("none"), _) => Ok(ToolChoice::None),
            (Some("required"), _) => Ok(ToolChoice::Required),
            (None, Some(n)) if v.get("type") == Some(&json!("function")) => {
                Ok(ToolChoice::Tool(n.to_string()))
            }
            _ => Err(serde::de::Error::custom("not an OpenAI tool_choice")),
        }
    }
}

/// A complete tool call the model made.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ToolCall {
    /// The call's id (`call_…`, `toolu_…`), to quote in the tool result.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments, as JSON text (as OpenAI sends them; Anthropic's `input` object is
    /// written as compact JSON text).
    pub arguments: String,
}

impl ToolCall {
    /// A call of `name` with `arguments` (JSON text).
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        ToolCall { id: id.into(), name: name.into(), arguments: arguments.into() }
    }

    /// The call in OpenAI's `tool_calls[]` shape.
    pub fn to_openai(&self) -> Value {
        json!({"id": self.id, "type": "function",
               "function": {"name": self.name, "arguments": self.arguments}})
    }

    /// The arguments parsed as JSON.
    ///
    /// # Errors
    /// When the arguments are not valid JSON (a stream cut short, a model's mistake).
    pub fn arguments_json(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_str(&self.arguments)
    }
}

impl Serialize for ToolCall {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_openai().serialize(s)
    }
}

impl<'de> Deserialize<'de> for ToolCall {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            id: String,
            #[serde(rename = "type")]
            kind: String,
            function: Function,
        }
        #[derive(Deserialize)]
        struct Function {
            name: String,
            arguments: String,
        }
        let w = Wire::deserialize(d)?;
        if w.kind != "function" {
            return Err(serde::de::Error::custom("not a function call"));
        }
        Ok(ToolCall { id: w.id, name: w.function.name, arguments: w.function.arguments })
    }
}

/// A piece of a streamed tool call. Pieces with the same `index` belong to one call: the first
/// carries its `id` and `name`, every piece some of its `arguments` text, in order.
/// [`ChatStream::collect_response`](crate::ChatStream::collect_response) joins them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ToolCallDelta {
    /// Which call of the message (0, 1, ... in the order the model made them).
    pub index: u32,
    /// The call's id, on its first piece.
    pub id: Option<String>,
    /// The tool's name, on its first piece.
    pub name: Option<String>,
    /// More of the arguments' JSON text.
    pub arguments: String,
}

impl ToolCallDelta {
    /// A piece of call `index`.
    pub fn new(index: u32, id: Option<String>, name: Option<String>, arguments: String) -> Self {
        ToolCallDelta { index, id, name, arguments }
    }
}

/// Joins streamed pieces into complete calls, ordered by index.
pub(crate) fn assemble(deltas: &[ToolCallDelta]) -> Vec<ToolCall> {
    let mut calls: Vec<(u32, ToolCall)> = Vec::new();
    for d in deltas {
        let pos = match calls.iter().position(|(i, _)| *i == d.index) {
            Some(p) => p,
            None => {
                calls.push((d.index, ToolCall::default()));
                calls.len() - 1
            }
        };
        let call = &mut calls[pos].1;
        if let Some(id) = &d.id {
            call.id.clone_from(id);
        }
        if let Some(name) = &d.name {
            call.name.push_str(name);
        }
        call.arguments.push_str(&d.arguments);
    }
    calls.sort_by_key(|(i, _)| *i);
    calls.into_iter().map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_assemble_by_index_in_order() {
        let d = |index, id: Option<&str>, name: Option<&str>, args: &str| {
            ToolCallDelta::new(index, id.map(str::to_string), name.map(str::to_string), args.into())
        };
        let calls = assemble(&[
            d(1, Some("b"), Some("time"), ""),
            d(0, Some("a"), Some("weather"), "{\"ci"),
            d(1, None, None, "{}"),
            d(0, None, None, "ty\":\"Paris\"}"),
        ]);
        assert_eq!(calls.len(), 2);
        assert_eq!((calls[0].id.as_str(), calls[0].name.as_str()), ("a", "weather"));
        assert_eq!(calls[0].arguments, r#"{"city":"Paris"}"#);
        assert_eq!((calls[1].id.as_str(), calls[1].arguments.as_str()), ("b", "{}"));
    }

    #[test]
    fn tools_and_choices_map_to_each_wire() {
        let t = Tool::new("f", "does f", json!({"type":"object"}));
        let back: Tool = serde_json::from_value(t.to_openai()).expect("reads back");
        assert_eq!(back, t);
        assert_eq!(
            t.to_anthropic(),
            json!({"name":"f","description":"does f","input_schema":{"type":"object"}})
        );
        for (c, o, a) in [
            (ToolChoice::Auto, json!("auto"), json!({"type":"auto"})),
            (ToolChoice::None, json!("none"), json!({"type":"none"})),
            (ToolChoice::Required, json!("required"), json!({"type":"any"})),
            (
                ToolChoice::Tool("f".into()),
                json!({"type":"function","function":{"name":"f"}}),
                json!({"type":"tool","name":"f"}),
            ),
        ] {
            assert_eq!((c.to_openai(), c.to_anthropic()), (o.clone(), a));
            assert_eq!(serde_json::from_value::<ToolChoice>(o).expect("reads"), c);
        }
        assert!(serde_json::from_value::<Tool>(json!({"type":"web_search"})).is_err());
    }
}
