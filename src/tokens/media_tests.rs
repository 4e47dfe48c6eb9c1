use super::*;
use crate::types::Message;

/// Standard base64, for building test images.
pub(crate) fn b64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in bytes.chunks(3) {
        let n = u32::from(c[0]) << 16
            | u32::from(*c.get(1).unwrap_or(&0)) << 8
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                s.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// The first bytes of a PNG of the given size, padded with a large fake body.
pub(crate) fn png(w: u32, h: u32, body: usize) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    v.extend(w.to_be_bytes());
    v.extend(h.to_be_bytes());
    v.extend(std::iter::repeat_n(7u8, body));
    v
}

#[test]
fn reads_sizes_from_headers() {
    assert_eq!(image_size(&b64(&png(1024, 768, 10))), Some((1024, 768)));
    assert_eq!(image_size(&b64(b"GIF89a\x40\x01\xf0\x00rest")), Some((320, 240)));
    // A JPEG: SOI, an APP0 segment of 16 bytes, then SOF0 with height 300 and width 400.
    let mut jpg = vec![0xff, 0xd8, 0xff, 0xe0, 0, 16];
    jpg.extend([0u8; 14]);
    jpg.extend([0xff, 0xc0, 0, 17, 8, 0x01, 0x2c, 0x01, 0x90, 3, 0, 0, 0]);
    assert_eq!(image_size(&b64(&jpg)), Some((400, 300)));
    let mut webp = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0".to_vec();
    webp.extend([0x7f, 0x02, 0x00, 0xdf, 0x01, 0x00]); // 640 x 480, minus one each
    assert_eq!(image_size(&b64(&webp)), Some((640, 480)));
    assert_eq!(image_size("not an image"), None);
    assert_eq!(image_size(""), None);
}

#[test]
fn openai_tiles() {
    // OpenAI's published examples: 1024x1024 -> 765, 2048x4096 -> 1105, low detail 85.
    assert_eq!(openai_tile_rule(1024, 1024), 765);
    assert_eq!(openai_tile_rule(2048, 4096), 1105);
    assert_eq!(openai_tile_rule(100, 100), 255);
    let img = ImagePart::url("https://x/y.png").detail("low").size(4000, 4000);
    assert_eq!(image_tokens(Provider::OpenAI, &img), 85);
}

#[test]
fn anthropic_area_rule() {
    assert_eq!(anthropic_rule(1000, 1000), 1334);
    assert_eq!(anthropic_rule(200, 200), 54);
    assert_eq!(anthropic_rule(8000, 8000), ANTHROPIC_MAX_IMAGE_TOKENS);
}

#[test]
fn a_large_base64_image_costs_its_size_not_its_length() {
    let data = b64(&png(1024, 1024, 3_000_000)); // a 4 MB base64 string
    let req = ChatCompletionRequest::new(
        "m",
        vec![Message::user_parts(vec![
            ContentPart::text("what is it?"),
            ContentPart::Image(ImagePart::base64("image/png", data.clone())),
        ])],
    );
    assert_eq!(media_tokens(Provider::OpenAI, &req), 765);
    assert_eq!(media_tokens(Provider::Anthropic, &req), anthropic_rule(1024, 1024));
    let url = ImagePart::url(format!("data:image/png;base64,{data}"));
    assert_eq!(image_tokens(Provider::OpenRouter, &url), 765);
    let unknown = ImagePart::url("https://example.com/a.png");
    assert_eq!(image_tokens(Provider::OpenAI, &unknown), OPENAI_UNKNOWN_IMAGE_TOKENS);
    assert_eq!(image_tokens(Provider::Anthropic, &unknown), ANTHROPIC_MAX_IMAGE_TOKENS);
}

#[test]
fn untyped_image_blocks_get_the_default() {
    let block = serde_json::json!({"type":"image","source":{"type":"base64","media_type":"image/png",
        "data":"AAAA"},"cache_control":{"type":"ephemeral"}});
    let part: ContentPart = serde_json::from_value(block).expect("reads");
    assert!(matches!(part, ContentPart::Other(_)));
    let req = ChatCompletionRequest::new("m", vec![Message::user_parts(vec![part])]);
    assert_eq!(media_tokens(Provider::Anthropic, &req), ANTHROPIC_MAX_IMAGE_TOKENS);
}
