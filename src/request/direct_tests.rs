//! Direct calls over the fake transport and a manual clock: the same key and host, retries
//! for what is safe to replay, and never a second create after an answer that may have acted.

use std::sync::Arc;
use std::time::Duration;

use super::{DirectBody, Replay};
use crate::limit::clock::{Clock, ManualClock};
use crate::transport::fake::{FakeTransport, Scripted};
use crate::ChatLimiter;

const KEY: &str = "sk-test-key-0123456789";
const SERVER_ERROR: &str = r#"{"error":{"message":"boom","type":"server_error"}}"#;
const RATE_LIMITED: &str =
    r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#;

fn rig(script: Vec<Scripted>) -> (ChatLimiter, Arc<FakeTransport>) {
    let fake = Arc::new(FakeTransport::new(script));
    let clock = Arc::new(ManualClock::new());
    let limiter = ChatLimiter::builder()
        .model("gpt-4o")
        .api_key(KEY)
        .base_url("https://api.example.test/v1")
        .max_retries(3)
        .base_backoff(Duration::from_millis(400))
        .transport(Box::new(Arc::clone(&fake)))
        .clock(clock as Arc<dyn Clock>)
        .build()
        .unwrap();
    (limiter, fake)
}

#[test]
fn a_safe_call_is_retried_after_a_5xx_with_the_key_to_the_configured_host() {
    let (l, fake) =
        rig(vec![Scripted::json(500, &[], SERVER_ERROR), Scripted::json(200, &[], "{}")]);
    let resp = l.engine().direct("GET", "/batches/b1", None, Replay::Safe).unwrap();
    assert_eq!(resp.body, b"{}");
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].url, "https://api.example.test/v1/batches/b1");
    assert!(seen[1].headers.iter().any(|(k, v)| k == "authorization" && v.ends_with(KEY)));
}

#[test]
fn a_create_is_not_replayed_after_a_5xx_or_a_reset_but_is_after_a_429() {
    for first in [Scripted::json(500, &[], SERVER_ERROR), Scripted::reset()] {
        let (l, fake) = rig(vec![first, Scripted::json(200, &[], "{}")]);
        let body = DirectBody { bytes: b"{}", content_type: None };
        assert!(l
            .engine()
            .direct("POST", "/batches", Some(body), Replay::OnlyAfterRateLimit)
            .is_err());
        assert_eq!(fake.seen().len(), 1, "sent once only");
    }
    let (l, fake) = rig(vec![
        Scripted::json(429, &[("retry-after", "1")], RATE_LIMITED),
        Scripted::json(200, &[], "{}"),
    ]);
    let body = DirectBody { bytes: b"{}", content_type: None };
    l.engine().direct("POST", "/batches", Some(body), Replay::OnlyAfterRateLimit).unwrap();
    assert_eq!(fake.seen().len(), 2);
}

#[test]
fn a_body_with_its_own_content_type_replaces_json() {
    let (l, fake) = rig(vec![Scripted::json(200, &[], "{}")]);
    let body =
        DirectBody { bytes: b"--x--", content_type: Some("multipart/form-data; boundary=x") };
    l.engine().direct("POST", "/files", Some(body), Replay::Safe).unwrap();
    let types: Vec<String> = fake.seen()[0]
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone())
        .collect();
    assert_eq!(types, ["multipart/form-data; boundary=x"]);
}

#[test]
fn an_error_never_shows_the_key() {
    let body = format!(
        r#"{{"error":{{"message":"Incorrect API key provided: {KEY}","type":"invalid_request_error"}}}}"#
    );
    let (l, _) = rig(vec![Scripted::json(401, &[], &body)]);
    let err = l.engine().direct("GET", "/batches/b1", None, Replay::Safe).unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains(KEY), "{text}");
}

#[test]
fn a_download_is_retried_before_its_body_and_read_line_by_line() {
    let (l, fake) = rig(vec![
        Scripted::json(503, &[], SERVER_ERROR),
        Scripted::json(200, &[], "{\"a\":1}\n{\"b\":2}\n"),
    ]);
    let e = l.engine();
    let mut reader = std::io::BufReader::new(e.direct_download("/files/f/content").unwrap());
    let mut line = Vec::new();
    let mut lines = Vec::new();
    while e.read_line(&mut reader, &mut line).unwrap().is_some() {
        lines.push(String::from_utf8(line.clone()).unwrap());
    }
    assert_eq!(lines, ["{\"a\":1}\n", "{\"b\":2}\n"]);
    assert_eq!(fake.seen().len(), 2);
}

#[test]
fn a_download_cut_in_the_middle_is_a_typed_transport_error() {
    let cut = Scripted::Cut { status: 200, headers: vec![], body: b"{\"a\":1}\n{\"b\"".to_vec() };
    let (l, _) = rig(vec![cut]);
    let e = l.engine();
    let mut reader = std::io::BufReader::new(e.direct_download("/files/f/content").unwrap());
    let mut line = Vec::new();
    assert!(e.read_line(&mut reader, &mut line).unwrap().is_some());
    let mut err = None;
    for _ in 0..3 {
        if let Err(x) = e.read_line(&mut reader, &mut line) {
            err = Some(x);
            break;
        }
    }
    assert!(matches!(err, Some(crate::Error::Transport { .. })), "{err:?}");
}
