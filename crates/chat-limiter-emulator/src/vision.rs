//! Image and document parts: checked and charged as the providers document it.
//!
//! * OpenAI and OpenRouter (`image_url` parts): `detail: "low"` costs 85; otherwise the
//!   image is fitted into 2048×2048, its short side brought down to 768, and it costs
//!   85 + 170 per 512-pixel tile. A `file` part (PDF) costs 3000.
//! * Anthropic (`image` blocks): `ceil(w × h / 750)` after the long edge is brought down to
//!   1568, at most 1600. A `document` block costs 3000.
//!
//! The size is read from the header of inline (base64) PNG, GIF and JPEG data. An image whose
//! size the emulator cannot see (a URL, another format) costs 765 on OpenAI and 1600 on
//! Anthropic.

use serde_json::Value;

/// The wire dialect of the parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    OpenAI,
    Anthropic,
}

const DOC_COST: u64 = 3000;

/// The tokens of all image and document parts in `messages`, or the 400 message for the
/// first malformed one.
pub(crate) fn parts_cost(d: Dialect, messages: &[Value]) -> Result<u64, String> {
    let mut total = 0u64;
    for (i, m) in messages.iter().enumerate() {
        let Some(parts) = m.get("content").and_then(Value::as_array) else { continue };
        for (j, p) in parts.iter().enumerate() {
            total = total.saturating_add(
                part_cost(d, p).map_err(|e| format!("messages.{i}.content.{j}: {e}"))?,
            );
        }
    }
    Ok(total)
}

fn part_cost(d: Dialect, p: &Value) -> Result<u64, String> {
    let kind = p.get("type").and_then(Value::as_str).unwrap_or("");
    match (d, kind) {
        (Dialect::OpenAI, "image_url") => {
            let url = p
                .pointer("/image_url/url")
                .and_then(Value::as_str)
                .ok_or("image_url.url is required")?;
            if p.pointer("/image_url/detail").and_then(Value::as_str) == Some("low") {
                return Ok(85);
            }
            let dims = url
                .strip_prefix("data:")
                .and_then(|r| r.split_once(";base64,"))
                .and_then(|(_, b)| dims(b));
            Ok(dims.map_or(765, |(w, h)| tiles(w, h)))
        }
        (Dialect::OpenAI, "file") => Ok(DOC_COST),
        (Dialect::Anthropic, "image") => {
            let src = p.get("source").ok_or("image.source: Field required")?;
            let dims = match src.get("type").and_then(Value::as_str) {
                Some("base64") => {
                    let mt = src.get("media_type").and_then(Value::as_str).unwrap_or("");
                    if !["image/jpeg", "image/png", "image/gif", "image/webp"].contains(&mt) {
                        return Err(format!("image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp', got {mt:?}"));
                    }
                    let data = src.get("data").and_then(Value::as_str).ok_or("image.source.base64.data: Field required")?;
                    dims(data)
                }
                Some("url") => None,
                _ => return Err("image.source: Input tag does not match any of the expected tags: 'base64', 'url'".into()),
            };
            Ok(dims.map_or(1600, |(w, h)| area(w, h)))
        }
        (Dialect::Anthropic, "document") => Ok(DOC_COST),
        _ => Ok(0),
    }
}

fn tiles(w: u32, h: u32) -> u64 {
    let (mut w, mut h) = (w.max(1) as f64, h.max(1) as f64);
    let long = w.max(h);
    if long > 2048.0 {
        w = w * 2048.0 / long;
        h = h * 2048.0 / long;
    }
    let short = w.min(h);
    if short > 768.0 {
        w = w * 768.0 / short;
        h = h * 768.0 / short;
    }
    85 + 170 * ((w / 512.0).ceil() * (h / 512.0).ceil()) as u64
}

fn area(w: u32, h: u32) -> u64 {
    let (mut w, mut h) = (w.max(1) as f64, h.max(1) as f64);
    let long = w.max(h);
    if long > 1568.0 {
        w = w * 1568.0 / long;
        h = h * 1568.0 / long;
    }
    ((w * h / 750.0).ceil() as u64).min(1600)
}

/// Width and height of a base64 PNG, GIF or JPEG.
fn dims(b64: &str) -> Option<(u32, u32)> {
    let bytes = unbase64(b64, 128 * 1024);
    let at = |i: usize| bytes.get(i).copied().map(u32::from);
    if bytes.starts_with(&[0x89, b'P', b'N', b'G']) {
        let be = |i: usize| Some(at(i)? << 24 | at(i + 1)? << 16 | at(i + 2)? << 8 | at(i + 3)?);
        return Some((be(16)?, be(20)?));
    }
    if bytes.starts_with(b"GIF") {
        return Some((at(6)? | at(7)? << 8, at(8)? | at(9)? << 8));
    }
    if bytes.starts_with(&[0xff, 0xd8]) {
        let mut i = 2;
        loop {
            if at(i)? != 0xff {
                return None;
            }
            let m = at(i + 1)?;
            if (0xc0..=0xcf).contains(&m) && ![0xc4, 0xc8, 0xcc].contains(&m) {
                return Some((at(i + 7)? << 8 | at(i + 8)?, at(i + 5)? << 8 | at(i + 6)?));
            }
            i += 2 + (at(i + 2)? << 8 | at(i + 3)?) as usize;
        }
    }
    None
}

fn unbase64(s: &str, limit: usize) -> Vec<u8> {
    const ALPHA: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut n = 0;
    for c in s.chars().take(limit) {
        let Some(v) = ALPHA.find(c) else {
            if c.is_whitespace() {
                continue;
            }
            break;
        };
        buf = buf << 6 | v as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((buf >> n) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rules() {
        assert_eq!(tiles(1024, 1024), 765);
        assert_eq!(tiles(2048, 4096), 1105);
        assert_eq!(area(1000, 1000), 1334);
        assert_eq!(area(5000, 5000), 1600);
        // A 64x32 PNG header ("\x89PNG\r\n\x1a\n" + IHDR).
        assert_eq!(dims("iVBORw0KGgoAAAANSUhEUgAAAEAAAAAgCAYAAA=="), Some((64, 32)));
        let msgs = [json!({"role":"user","content":[{"type":"text","text":"hi"},
            {"type":"image_url","image_url":{"url":"https://x/a.png"}},
            {"type":"image_url","image_url":{"url":"https://x/b.png","detail":"low"}}]})];
        assert_eq!(parts_cost(Dialect::OpenAI, &msgs), Ok(850));
        let bad = [
            json!({"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"text/plain","data":"x"}}]}),
        ];
        assert!(parts_cost(Dialect::Anthropic, &bad)
            .unwrap_err()
            .starts_with("messages.0.content.0"));
    }
}
