//! Message content: text, or a list of typed parts (text, images, documents) with any other
//! part kind kept as raw JSON.
//!
//! A part read from JSON is typed only when writing it back gives exactly the JSON that was
//! read; anything else (an unknown kind, an extra field such as `cache_control`) is kept as
//! [`ContentPart::Other`] and sent untouched, so nothing a caller wrote is ever dropped.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Map, Value};

use super::media::Shape;
pub use super::media::{DocumentPart, ImagePart, MediaSource};

/// A message's content: a string, a list of parts, or nothing (`null`, as an assistant turn
/// that only calls tools has).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Typed parts, in order.
    Parts(Vec<ContentPart>),
    /// No content (`null` on the wire).
    #[default]
    Null,
}

impl Content {
    /// The text: the string, or the `text` of every text part joined (image and document parts
    /// contribute nothing).
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Content::Text(s) => Cow::Borrowed(s),
            Content::Parts(parts) => {
                Cow::Owned(parts.iter().filter_map(ContentPart::as_text).collect())
            }
            Content::Null => Cow::Borrowed(""),
        }
    }

    /// True when there is no text and no part.
    pub fn is_empty(&self) -> bool {
        match self {
            Content::Text(s) => s.is_empty(),
            Content::Parts(p) => p.is_empty(),
            Content::Null => true,
        }
    }

    /// The parts (a text content is one text part; `null` none).
    pub fn parts(&self) -> Vec<ContentPart> {
        match self {
            Content::Text(s) => vec![ContentPart::Text(s.clone())],
            Content::Parts(p) => p.clone(),
            Content::Null => Vec::new(),
        }
    }
}

impl From<String> for Content {
    fn from(s: String) -> Self {
        Content::Text(s)
    }
}

impl From<&str> for Content {
    fn from(s: &str) -> Self {
        Content::Text(s.to_string())
    }
}

impl From<Vec<ContentPart>> for Content {
    fn from(p: Vec<ContentPart>) -> Self {
        Content::Parts(p)
    }
}

impl PartialEq<&str> for Content {
    fn eq(&self, other: &&str) -> bool {
        matches!(self, Content::Text(s) if s == other)
    }
}

impl std::fmt::Display for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

impl Serialize for Content {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Content::Text(t) => s.serialize_str(t),
            Content::Parts(p) => p.serialize(s),
            Content::Null => s.serialize_unit(),
        }
    }
}

impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(Content::Text(s)),
            Value::Null => Ok(Content::Null),
            Value::Array(items) => {
                Ok(Content::Parts(items.into_iter().map(ContentPart::from_json).collect()))
            }
            _ => Err(serde::de::Error::custom(
                "message content must be a string, an array of parts or null",
            )),
        }
    }
}

/// One part of a message's content.
#[derive(Debug, Clone, PartialEq)]
pub enum ContentPart {
    /// Text.
    Text(String),
    /// An image.
    Image(ImagePart),
    /// A document (PDF).
    Document(DocumentPart),
    /// Any other part, kept and sent exactly as given (audio, `cache_control`-marked blocks,
    /// a provider's newer kinds).
    Other(Value),
}

impl ContentPart {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        ContentPart::Text(text.into())
    }

    /// The part's text, for a text part (or an unknown part of type `text`, such as an
    /// Anthropic text block with `cache_control`).
    pub fn as_text(&self) -> Option<&str> {
        match self {
            ContentPart::Text(t) => Some(t),
            ContentPart::Other(v) if v.get("type").and_then(Value::as_str) == Some("text") => {
                v.get("text").and_then(Value::as_str)
            }
            _ => None,
        }
    }

    /// Reads a part; typed only when it writes back to the same JSON, else kept as `Other`.
    fn from_json(v: Value) -> ContentPart {
        match Self::typed(&v) {
            Some(p) if p.to_json() == v => p,
            _ => ContentPart::Other(v),
        }
    }

    fn typed(v: &Value) -> Option<ContentPart> {
        let s = |x: Option<&Value>| x.and_then(Value::as_str).map(str::to_string);
        Some(match v.get("type")?.as_str()? {
            "text" => ContentPart::Text(s(v.get("text"))?),
            "image_url" => {
                let iu = v.get("image_url")?;
                let mut img = ImagePart::url(s(iu.get("url"))?);
                img.detail = s(iu.get("detail"));
                ContentPart::Image(img)
            }
            "image" => ContentPart::Image(ImagePart {
                source: MediaSource::from_anthropic(v.get("source")?)?,
                detail: None,
                size: None,
                shape: Shape::Anthropic,
            }),
            "file" => {
                let f = v.get("file")?;
                let source = MediaSource::from_url(&s(f.get("file_data"))?);
                matches!(source, MediaSource::Base64 { .. }).then_some(())?;
                ContentPart::Document(DocumentPart {
                    source,
                    filename: s(f.get("filename")),
                    shape: Shape::OpenAI,
                })
            }
            "document" => ContentPart::Document(DocumentPart {
                source: MediaSource::from_anthropic(v.get("source")?)?,
                filename: s(v.get("title")),
                shape: Shape::Anthropic,
            }),
            _ => return None,
        })
    }

    /// The part in the shape it was read in (or OpenAI's, for one built in code).
    fn to_json(&self) -> Value {
        let shape = match self {
            ContentPart::Image(i) => i.shape,
            ContentPart::Document(d) => d.shape,
            _ => Shape::OpenAI,
        };
        match shape {
            Shape::OpenAI => self.to_openai().unwrap_or_else(|_| self.to_anthropic()),
            Shape::Anthropic => self.to_anthropic(),
        }
    }

    /// The part as OpenAI's Chat Completions takes it (OpenRouter too). Errors: a document
    /// given by URL, which that API does not accept.
    pub(crate) fn to_openai(&self) -> Result<Value, String> {
        Ok(match self {
            ContentPart::Text(t) => json!({"type": "text", "text": t}),
            ContentPart::Image(i) => {
                let mut iu = Map::new();
                iu.insert("url".into(), json!(i.source.as_url()));
                if let Some(d) = &i.detail {
                    iu.insert("detail".into(), json!(d));
                }
                json!({"type": "image_url", "image_url": iu})
            }
            ContentPart::Document(d) => {
                if let MediaSource::Url(_) = d.source {
                    return Err("OpenAI's Chat Completions takes documents inline (base64) only, not by URL".into());
                }
                let mut f = Map::new();
                if let Some(n) = &d.filename {
                    f.insert("filename".into(), json!(n));
                }
                f.insert("file_data".into(), json!(d.source.as_url()));
                json!({"type": "file", "file": f})
            }
            ContentPart::Other(v) => v.clone(),
        })
    }

    /// The part as an Anthropic content block.
    pub(crate) fn to_anthropic(&self) -> Value {
        match self {
            ContentPart::Text(t) => json!({"type": "text", "text": t}),
            ContentPart::Image(i) => {
                json!({"type": "image", "source": i.source.anthropic_source()})
            }
            ContentPart::Document(d) => {
                let mut o = Map::new();
                o.insert("type".into(), json!("document"));
                o.insert("source".into(), d.source.anthropic_source());
                if let Some(n) = &d.filename {
                    o.insert("title".into(), json!(n));
                }
                Value::Object(o)
            }
            ContentPart::Other(v) => v.clone(),
        }
    }
}

impl Serialize for ContentPart {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for ContentPart {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(ContentPart::from_json(Value::deserialize(d)?))
    }
}

#[cfg(test)]
#[path = "content_tests.rs"]
mod tests;
