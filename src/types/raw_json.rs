//! [`RawJson`]: the provider's original body, kept once, as the text that came on the wire.

use std::fmt;
use std::ops::Index;
use std::sync::{Arc, OnceLock};

use serde::de::DeserializeOwned;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;

/// The provider's original JSON body (the `raw` of a
/// [`ChatCompletionResponse`](crate::ChatCompletionResponse)), kept once, as its exact text.
///
/// Why text and not a [`Value`]: a batch holds every response until it returns, and a
/// `Value` tree is several times the size of the text it was read from (a node per value, a
/// `String` per key, a map per object), on top of the typed fields read from the same body.
/// So a response keeps the typed fields and the text, nothing else: the parser reads the
/// typed fields in one pass over the body and never builds a tree of the rest.
///
/// * **Verbatim**: [`as_str`](Self::as_str) is the body as the provider wrote it (key order,
///   spacing, escapes, and numbers such as `1.0` or `1e400` untouched), less any whitespace
///   around it; [`Serialize`] writes that text as JSON, not as a string, so the response
///   cache and the command line's output records hold the provider's own bytes.
/// * **Parsed only when asked**: [`value`](Self::value) (and indexing, `raw["usage"]`) parses
///   the text once and keeps the tree with this response; [`parse`](Self::parse) reads it
///   into any type without keeping anything.
/// * **Shared**: the text is an `Arc<str>`, so a cloned response does not copy it.
///
/// It is always valid JSON: built by the parsers from a body they read, by
/// [`from_string`](Self::from_string) or by deserialising (both check it).
/// Serialisation writes the text verbatim with `serde_json` (and `serde_json::to_value`);
/// other serde formats see `serde_json`'s raw-value struct, so use `serde_json` for it.
///
/// ```
/// use chat_limiter::RawJson;
/// let raw = RawJson::from_string(r#"{"object": "chat.completion", "n": 1.0}"#.into())?;
/// assert_eq!(raw["object"], "chat.completion");
/// assert_eq!(raw.as_str(), r#"{"object": "chat.completion", "n": 1.0}"#);
/// assert_eq!(serde_json::to_string(&raw)?, raw.as_str(), "written as it came");
/// # Ok::<_, serde_json::Error>(())
/// ```
#[derive(Clone)]
pub struct RawJson {
    text: Arc<str>,
    /// The parsed tree, once [`value`](Self::value) was called.
    tree: OnceLock<Box<Value>>,
}

impl RawJson {
    /// Checks that `text` is one JSON value and keeps it (less the whitespace around it).
    pub fn from_string(text: String) -> Result<RawJson, serde_json::Error> {
        let raw: &RawValue = serde_json::from_str(&text)?;
        Ok(RawJson::from_valid(raw.get()))
    }

    /// The text of a value, written compactly.
    pub fn from_value(value: &Value) -> RawJson {
        RawJson::from_valid(&value.to_string())
    }

    /// Text already known to be one JSON value (the parsers read it whole before calling
    /// this).
    pub(crate) fn from_valid(text: &str) -> RawJson {
        RawJson { text: Arc::from(text), tree: OnceLock::new() }
    }

    /// The JSON text, verbatim.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The body as a [`Value`], parsed on the first call and kept with this response (the
    /// tree then costs its memory as long as the response lives). [`Value::Null`] when
    /// `serde_json` cannot hold the body as a `Value` (a number beyond `f64`, `1e400`):
    /// [`parse`](Self::parse) says why.
    pub fn value(&self) -> &Value {
        self.tree.get_or_init(|| Box::new(self.parse().unwrap_or(Value::Null)))
    }

    /// Reads the body into `T` (a `Value`, or a type of the caller's), keeping nothing.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.text)
    }

    /// The value at a JSON pointer (`/choices/0/message`), as [`Value::pointer`].
    pub fn pointer(&self, pointer: &str) -> Option<&Value> {
        self.value().pointer(pointer)
    }
}

impl<I: serde_json::value::Index> Index<I> for RawJson {
    type Output = Value;

    /// As indexing a [`Value`]: [`Value::Null`] where there is nothing.
    fn index(&self, index: I) -> &Value {
        &self.value()[index]
    }
}

impl PartialEq for RawJson {
    /// The same text.
    fn eq(&self, other: &RawJson) -> bool {
        self.text == other.text
    }
}

impl Eq for RawJson {}

impl PartialEq<Value> for RawJson {
    /// The same JSON value (parsed), whatever the spelling.
    fn eq(&self, other: &Value) -> bool {
        self.value() == other
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RawJson").field(&self.as_str()).finish()
    }
}

impl fmt::Display for RawJson {
    /// The JSON text, verbatim.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The text is valid JSON (see the type's docs): this scan finds its end, it builds
        // nothing.
        let raw: &RawValue = serde_json::from_str(&self.text).map_err(S::Error::custom)?;
        raw.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RawJson, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        Ok(RawJson { text: Arc::from(Box::<str>::from(raw)), tree: OnceLock::new() })
    }
}

#[cfg(test)]
#[path = "raw_json_tests.rs"]
mod tests;
