//! Tokens for the image and document parts of a prompt, by each provider's published rule
//! (docs/providers.md §9), never by the length of their base64 text.
//!
//! An image's size is the one the caller declared ([`ImagePart::size`]), else read from the
//! header of inline PNG, JPEG, GIF or WebP bytes; when it is unknown (a URL), a documented
//! per-image default applies.

use crate::provider_id::Provider;
use crate::types::{ChatCompletionRequest, Content, ContentPart, ImagePart, MediaSource};

/// OpenAI, image of unknown size at high detail: a 1024×1024 image's cost (4 tiles).
pub const OPENAI_UNKNOWN_IMAGE_TOKENS: u64 = 765;
/// OpenAI, `detail: "low"`: a flat cost whatever the size.
pub const OPENAI_LOW_DETAIL_TOKENS: u64 = 85;
/// Anthropic, image of unknown size: the most one image costs after Anthropic's resizing.
pub const ANTHROPIC_MAX_IMAGE_TOKENS: u64 = 1600;
/// Any provider, a document (PDF) part: a two-page estimate (Anthropic reports about
/// 1,500–3,000 tokens a page, text and page image together).
pub const DOCUMENT_TOKENS: u64 = 3000;

/// The tokens of every image and document part in the request, for `provider`.
pub fn media_tokens(provider: Provider, req: &ChatCompletionRequest) -> u64 {
    req.messages
        .iter()
        .filter_map(|m| match &m.content {
            Content::Parts(p) => Some(p),
            _ => None,
        })
        .flatten()
        .map(|part| match part {
            ContentPart::Image(img) => image_tokens(provider, img),
            ContentPart::Document(_) => DOCUMENT_TOKENS,
            // An image or document block with fields we do not type (`cache_control`, a
            // `file_id` source): its size is unknown, so the per-image default applies.
            ContentPart::Other(v) => match v.get("type").and_then(|t| t.as_str()) {
                Some("image" | "image_url" | "input_image") => {
                    image_tokens(provider, &ImagePart::url(""))
                }
                Some("document" | "file" | "input_file") => DOCUMENT_TOKENS,
                _ => 0,
            },
            ContentPart::Text(_) => 0,
        })
        .fold(0u64, u64::saturating_add)
}

/// One image's tokens for `provider`.
pub fn image_tokens(provider: Provider, img: &ImagePart) -> u64 {
    let size = img.size.or_else(|| match &img.source {
        MediaSource::Base64 { data, .. } => image_size(data),
        MediaSource::Url(url) => url
            .strip_prefix("data:")
            .and_then(|r| r.split_once(";base64,"))
            .and_then(|(_, d)| image_size(d)),
    });
    match provider {
        Provider::Anthropic => {
            size.map_or(ANTHROPIC_MAX_IMAGE_TOKENS, |(w, h)| anthropic_rule(w, h))
        }
        Provider::OpenAI | Provider::OpenRouter => {
            if img.detail.as_deref() == Some("low") {
                return OPENAI_LOW_DETAIL_TOKENS;
            }
            size.map_or(OPENAI_UNKNOWN_IMAGE_TOKENS, |(w, h)| openai_tile_rule(w, h))
        }
    }
}

/// OpenAI high detail: fit in 2048×2048, scale the short side down to 768, then
/// 85 + 170 per 512-pixel tile.
pub fn openai_tile_rule(width: u32, height: u32) -> u64 {
    let (mut w, mut h) = (f64::from(width.max(1)), f64::from(height.max(1)));
    let fit = (2048.0 / w.max(h)).min(1.0);
    w *= fit;
    h *= fit;
    let short = (768.0 / w.min(h)).min(1.0);
    w *= short;
    h *= short;
    let tiles = (w / 512.0).ceil() as u64 * (h / 512.0).ceil() as u64;
    85 + 170 * tiles
}

/// Anthropic: width × height / 750 after scaling the long edge down to 1568, at most 1600.
pub fn anthropic_rule(width: u32, height: u32) -> u64 {
    let (mut w, mut h) = (f64::from(width.max(1)), f64::from(height.max(1)));
    let fit = (1568.0 / w.max(h)).min(1.0);
    w *= fit;
    h *= fit;
    ((w * h / 750.0).ceil() as u64).min(ANTHROPIC_MAX_IMAGE_TOKENS)
}

/// Base64 characters decoded to find an image's size (a JPEG's size can follow a long EXIF
/// block).
const HEADER_CHARS: usize = 96 * 1024;

/// Width and height from the start of a base64 PNG, JPEG, GIF or WebP, if it is one.
pub(crate) fn image_size(b64: &str) -> Option<(u32, u32)> {
    let bytes = decode_prefix(b64, HEADER_CHARS);
    let b = bytes.as_slice();
    let be16 = |i: usize| Some(u32::from(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?])));
    let le16 = |i: usize| Some(u32::from(u16::from_le_bytes([*b.get(i)?, *b.get(i + 1)?])));
    let be32 = |i: usize| Some(u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?));
    let le24 = |i: usize| {
        Some(
            u32::from(*b.get(i)?)
                | u32::from(*b.get(i + 1)?) << 8
                | u32::from(*b.get(i + 2)?) << 16,
        )
    };
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some((be32(16)?, be32(20)?));
    }
    if b.starts_with(b"GIF8") {
        return Some((le16(6)?, le16(8)?));
    }
    if b.starts_with(b"RIFF") && b.get(8..12) == Some(b"WEBP") {
        return match b.get(12..16)? {
            b"VP8X" => Some((le24(24)? + 1, le24(27)? + 1)),
            b"VP8 " => Some((le16(26)? & 0x3fff, le16(28)? & 0x3fff)),
            b"VP8L" => {
                let bits = u32::from_le_bytes(b.get(21..25)?.try_into().ok()?);
                Some(((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1))
            }
            _ => None,
        };
    }
    if b.starts_with(&[0xff, 0xd8]) {
        // Walk the JPEG segments to the first start-of-frame marker.
        let mut i = 2;
        while i + 9 < b.len() {
            if b[i] != 0xff {
                return None;
            }
            let marker = b[i + 1];
            let len = be16(i + 2)? as usize;
            let sof = matches!(marker, 0xc0..=0xcf) && !matches!(marker, 0xc4 | 0xc8 | 0xcc);
            if sof {
                return Some((be16(i + 7)?, be16(i + 5)?));
            }
            i += 2 + len;
        }
    }
    None
}

/// Decodes up to `max_chars` of standard or URL-safe base64, stopping at the first character
/// that is neither (whitespace is skipped).
fn decode_prefix(b64: &str, max_chars: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(max_chars / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in b64.bytes().take(max_chars) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'\n' | b'\r' | b' ' | b'\t' => continue,
            _ => break,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[cfg(test)]
#[path = "media_tests.rs"]
mod tests;
