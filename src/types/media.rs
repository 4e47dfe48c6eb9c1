//! Image and document parts and where their bytes come from.

use serde_json::{json, Value};

/// Where an image or document comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaSource {
    /// A URL the provider fetches (`https://…`).
    Url(String),
    /// Inline bytes, base64-encoded, with their media type (`image/png`, `application/pdf`).
    Base64 {
        /// The media type.
        media_type: String,
        /// The base64 text (no `data:` prefix).
        data: String,
    },
}

impl MediaSource {
    /// Reads a `data:<type>;base64,<data>` URL as inline bytes; any other URL stays a URL.
    pub(super) fn from_url(url: &str) -> MediaSource {
        if let Some(rest) = url.strip_prefix("data:") {
            if let Some((media_type, data)) = rest.split_once(";base64,") {
                return MediaSource::Base64 { media_type: media_type.into(), data: data.into() };
            }
        }
        MediaSource::Url(url.to_string())
    }

    /// The source as one URL (inline bytes as a `data:` URL), the way OpenAI takes it.
    pub(super) fn as_url(&self) -> String {
        match self {
            MediaSource::Url(u) => u.clone(),
            MediaSource::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
        }
    }

    /// Anthropic's `source` object.
    pub(super) fn anthropic_source(&self) -> Value {
        match self {
            MediaSource::Url(u) => json!({"type": "url", "url": u}),
            MediaSource::Base64 { media_type, data } => {
                json!({"type": "base64", "media_type": media_type, "data": data})
            }
        }
    }

    pub(super) fn from_anthropic(source: &Value) -> Option<MediaSource> {
        match source.get("type")?.as_str()? {
            "url" => Some(MediaSource::Url(source.get("url")?.as_str()?.to_string())),
            "base64" => Some(MediaSource::Base64 {
                media_type: source.get("media_type")?.as_str()?.to_string(),
                data: source.get("data")?.as_str()?.to_string(),
            }),
            _ => None,
        }
    }
}

/// Which provider's JSON shape a part is written in when the unified request is serialised
/// (requests sent to a provider are always translated to that provider's shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Shape {
    #[default]
    OpenAI,
    Anthropic,
}

/// An image part.
///
/// ```
/// use chat_limiter::{ContentPart, ImagePart, Message};
/// let m = Message::user_parts(vec![
///     ContentPart::text("What is in this picture?"),
///     ContentPart::Image(ImagePart::url("https://example.com/cat.png").detail("low")),
/// ]);
/// assert_eq!(m.text(), "What is in this picture?");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ImagePart {
    /// Where the image is.
    pub source: MediaSource,
    /// OpenAI's `detail` (`low`, `high`, `auto`); not sent to Anthropic, which has no such
    /// setting.
    pub detail: Option<String>,
    /// The image's size in pixels when the caller knows it (for the token estimate of a URL
    /// image; inline PNG, JPEG, GIF and WebP sizes are read from the bytes).
    pub size: Option<(u32, u32)>,
    pub(super) shape: Shape,
}

impl ImagePart {
    /// An image the provider fetches from `url` (a `data:` URL is read as inline bytes).
    pub fn url(url: impl Into<String>) -> Self {
        let url = url.into();
        ImagePart {
            source: MediaSource::from_url(&url),
            detail: None,
            size: None,
            shape: Shape::OpenAI,
        }
    }
    /// Inline image bytes, base64-encoded, of the given media type (`image/png`, ...).
    pub fn base64(media_type: impl Into<String>, data: impl Into<String>) -> Self {
        let source = MediaSource::Base64 { media_type: media_type.into(), data: data.into() };
        ImagePart { source, detail: None, size: None, shape: Shape::OpenAI }
    }
    /// Sets OpenAI's `detail`.
    #[must_use]
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
    /// Declares the size in pixels, used for the token estimate.
    #[must_use]
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.size = Some((width, height));
        self
    }
}

/// A document part (a PDF): OpenAI's `file` part, Anthropic's `document` block.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentPart {
    /// Where the document is. OpenAI's Chat Completions takes inline bytes only.
    pub source: MediaSource,
    /// The file name (OpenAI `filename`, Anthropic `title`).
    pub filename: Option<String>,
    pub(super) shape: Shape,
}

impl DocumentPart {
    /// An inline document, base64-encoded (`application/pdf`).
    pub fn base64(media_type: impl Into<String>, data: impl Into<String>) -> Self {
        let source = MediaSource::Base64 { media_type: media_type.into(), data: data.into() };
        DocumentPart { source, filename: None, shape: Shape::OpenAI }
    }
    /// A document the provider fetches (Anthropic only).
    pub fn url(url: impl Into<String>) -> Self {
        DocumentPart {
            source: MediaSource::Url(url.into()),
            filename: None,
            shape: Shape::Anthropic,
        }
    }
    /// Sets the file name.
    #[must_use]
    pub fn filename(mut self, name: impl Into<String>) -> Self {
        self.filename = Some(name.into());
        self
    }
}
