//! Structured output: asking for JSON (optionally matching a JSON Schema) and reading it back
//! into a user type.
//!
//! OpenAI and OpenRouter take `response_format`. Anthropic is sent a forced tool instead
//! (named [`JSON_TOOL_NAME`], its `input_schema` the schema, `tool_choice` that tool): every
//! Claude model with tool use honours it without a beta header, while Anthropic's native
//! `output_format` is a beta on a few models only. The tool's input comes back as the
//! message's text, exactly as OpenAI's JSON answer does, so [`parse_json`] reads both.
//!
//! [`parse_json`]: super::ChatCompletionResponse::parse_json

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Value};

use super::ChatCompletionResponse;

/// The name of the tool that carries structured output on Anthropic. A `tool_use` block of
/// this name is read back as the answer's text, not as a tool call.
pub const JSON_TOOL_NAME: &str = "json_response";

/// The answer's format (`response_format`).
///
/// ```
/// use chat_limiter::ResponseFormat;
/// let f = ResponseFormat::json_schema("person",
///     serde_json::json!({"type":"object","properties":{"name":{"type":"string"}}}));
/// assert_eq!(serde_json::to_value(&f).unwrap()["json_schema"]["strict"], true);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ResponseFormat {
    /// Plain text (the default).
    Text,
    /// Any JSON object.
    JsonObject,
    /// JSON matching `schema`.
    JsonSchema {
        /// A name for the schema (`[a-zA-Z0-9_-]`, up to 64 characters).
        name: String,
        /// The JSON Schema.
        schema: Value,
        /// OpenAI's strict mode: the answer is guaranteed to match (the schema must then list
        /// every property as required and set `additionalProperties: false`).
        strict: bool,
    },
}

impl ResponseFormat {
    /// JSON matching `schema`, strict.
    pub fn json_schema(name: impl Into<String>, schema: Value) -> Self {
        ResponseFormat::JsonSchema { name: name.into(), schema, strict: true }
    }

    /// The OpenAI (and OpenRouter) `response_format` value.
    pub fn to_openai(&self) -> Value {
        match self {
            ResponseFormat::Text => json!({"type": "text"}),
            ResponseFormat::JsonObject => json!({"type": "json_object"}),
            ResponseFormat::JsonSchema { name, schema, strict } => json!({"type": "json_schema",
                "json_schema": {"name": name, "schema": schema, "strict": strict}}),
        }
    }

    /// The schema the answer must match: `None` for text, `{"type":"object"}` for any object.
    pub(crate) fn schema(&self) -> Option<Value> {
        match self {
            ResponseFormat::Text => None,
            ResponseFormat::JsonObject => Some(json!({"type": "object"})),
            ResponseFormat::JsonSchema { schema, .. } => Some(schema.clone()),
        }
    }
}

impl Serialize for ResponseFormat {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_openai().serialize(s)
    }
}

impl<'de> Deserialize<'de> for ResponseFormat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let js = v.get("json_schema");
        match v.get("type").and_then(Value::as_str) {
            Some("text") => Ok(ResponseFormat::Text),
            Some("json_object") => Ok(ResponseFormat::JsonObject),
            Some("json_schema") => {
                let name = js.and_then(|j| j.get("name")).and_then(Value::as_str);
                let schema = js.and_then(|j| j.get("schema"));
                let strict = js.and_then(|j| j.get("strict")).and_then(Value::as_bool);
                match (name, schema) {
                    (Some(n), Some(s)) => Ok(ResponseFormat::JsonSchema {
                        name: n.to_string(),
                        schema: s.clone(),
                        strict: strict.unwrap_or(false),
                    }),
                    _ => Err(serde::de::Error::custom("json_schema needs a name and a schema")),
                }
            }
            _ => Err(serde::de::Error::custom("unknown response_format type")),
        }
    }
}

/// Why [`ChatCompletionResponse::parse_json`] could not give a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonOutputError {
    /// The response has no choice, or its text is empty (a refusal, a tool call instead).
    #[error("the response has no text to parse as JSON")]
    Empty,
    /// The text is not JSON.
    #[error("the answer is not JSON: {0}")]
    NotJson(String),
    /// The text is JSON but does not match the requested type.
    #[error("the answer's JSON does not match the expected type: {0}")]
    Mismatch(String),
}

impl ChatCompletionResponse {
    /// Parses the first choice's text as JSON into `T` (structured output, see
    /// [`ResponseFormat`]).
    ///
    /// # Errors
    /// [`JsonOutputError::Empty`] without text, [`JsonOutputError::NotJson`] when it is not
    /// JSON, [`JsonOutputError::Mismatch`] when it does not fit `T`.
    pub fn parse_json<T: DeserializeOwned>(&self) -> Result<T, JsonOutputError> {
        let text = self.text();
        if text.trim().is_empty() {
            return Err(JsonOutputError::Empty);
        }
        let v: Value =
            serde_json::from_str(&text).map_err(|e| JsonOutputError::NotJson(e.to_string()))?;
        serde_json::from_value(v).map_err(|e| JsonOutputError::Mismatch(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_round_trip() {
        for f in [
            ResponseFormat::Text,
            ResponseFormat::JsonObject,
            ResponseFormat::json_schema("p", json!({"type":"object"})),
        ] {
            let v = serde_json::to_value(&f).expect("ser");
            assert_eq!(serde_json::from_value::<ResponseFormat>(v).expect("reads"), f);
        }
        assert_eq!(ResponseFormat::Text.schema(), None);
        assert_eq!(ResponseFormat::JsonObject.schema(), Some(json!({"type":"object"})));
    }
}
