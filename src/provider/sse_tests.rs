//! Tests of the SSE framer: the spec's field rules, each provider's framing, and limits.

use super::*;
use proptest::prelude::*;
use std::io::{BufReader, Cursor, Read};

fn events(input: &[u8]) -> io::Result<Vec<SseEvent>> {
    let mut r = SseReader::new(Cursor::new(input.to_vec()));
    let mut out = Vec::new();
    while let Some(ev) = r.next_event()? {
        out.push(ev);
    }
    Ok(out)
}

fn ev(event: Option<&str>, data: &str) -> SseEvent {
    SseEvent { event: event.map(str::to_string), data: data.to_string() }
}

#[test]
fn openai_data_lines_and_done() {
    let got = events(b"data: {\"a\":1}\n\ndata: [DONE]\n\n").expect("valid");
    assert_eq!(got, vec![ev(None, "{\"a\":1}"), ev(None, "[DONE]")]);
}

#[test]
fn anthropic_named_events_with_crlf() {
    let got = events(
        b"event: ping\r\ndata: {\"type\": \"ping\"}\r\n\r\nevent: message_stop\r\ndata: {}\r\n\r\n",
    )
    .expect("valid");
    assert_eq!(got, vec![ev(Some("ping"), "{\"type\": \"ping\"}"), ev(Some("message_stop"), "{}")]);
}

#[test]
fn openrouter_comments_are_skipped() {
    let input = b": OPENROUTER PROCESSING\n\n: OPENROUTER PROCESSING\n\ndata: {\"x\":2}\n: mid\n\ndata: [DONE]\n\n";
    let got = events(input).expect("valid");
    assert_eq!(got, vec![ev(None, "{\"x\":2}"), ev(None, "[DONE]")]);
}

#[test]
fn field_rules_from_the_spec() {
    // Several data lines join with \n; one leading space is stripped, not two; no colon means
    // an empty value; unknown fields and id/retry are ignored; a bare CR ends a line too.
    let input = b"data:a\ndata:  b\ndata\nid: 7\nretry: 10\nfoo: bar\n\nevent: e\rdata: x\r\r";
    let got = events(input).expect("valid");
    assert_eq!(got, vec![ev(None, "a\n b\n"), ev(Some("e"), "x")]);
}

#[test]
fn event_without_data_is_not_dispatched() {
    let got = events(b"event: lonely\n\ndata: after\n\n").expect("valid");
    assert_eq!(got, vec![ev(None, "after")]);
    // An empty data line still makes an (empty) event.
    assert_eq!(events(b"data:\n\n").expect("valid"), vec![ev(None, "")]);
}

#[test]
fn end_of_input_flushes_pending_event() {
    assert_eq!(events(b"data: [DONE]").expect("valid"), vec![ev(None, "[DONE]")]);
    assert_eq!(events(b"data: [DONE]\n").expect("valid"), vec![ev(None, "[DONE]")]);
    assert_eq!(events(b"").expect("valid"), vec![]);
    assert_eq!(events(b"\n\n\r\n: only comments").expect("valid"), vec![]);
}

#[test]
fn bom_is_stripped_once() {
    let got = events("\u{feff}data: x\n\n".as_bytes()).expect("valid");
    assert_eq!(got, vec![ev(None, "x")]);
}

#[test]
fn invalid_utf8_is_an_error() {
    let err = events(b"data: \xff\xfe\n\n").expect_err("not UTF-8");
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
}

#[test]
fn oversize_line_and_event_are_errors() {
    let mut r = SseReader::with_max_event_bytes(Cursor::new(vec![b'a'; 100]), 50);
    assert_eq!(r.next_event().expect_err("line too long").kind(), io::ErrorKind::InvalidData);
    assert!(r.next_event().expect("finished").is_none());

    let many = "data: 0123456789\n".repeat(10) + "\n";
    let mut r = SseReader::with_max_event_bytes(Cursor::new(many.into_bytes()), 64);
    assert!(r.next_event().is_err());

    // Comments do not accumulate, so endless keep-alives are fine.
    let keepalive = ": OPENROUTER PROCESSING\n\n".repeat(1000) + "data: ok\n\n";
    let mut r = SseReader::with_max_event_bytes(Cursor::new(keepalive.into_bytes()), 64);
    assert_eq!(r.next_event().expect("valid"), Some(ev(None, "ok")));
}

/// A reader that hands out one byte at a time, to split every line and CRLF across reads.
struct Trickle(Vec<u8>, usize);
impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.1 >= self.0.len() || buf.is_empty() {
            return Ok(0);
        }
        buf[0] = self.0[self.1];
        self.1 += 1;
        Ok(1)
    }
}

#[test]
fn byte_by_byte_reads_give_the_same_events() {
    let input = b"event: a\r\ndata: 1\r\n\r\ndata: 2\r\rdata: 3\n\n".to_vec();
    let mut r = SseReader::new(BufReader::with_capacity(1, Trickle(input.clone(), 0)));
    let mut got = Vec::new();
    while let Some(e) = r.next_event().expect("valid") {
        got.push(e);
    }
    assert_eq!(got, events(&input).expect("valid"));
    assert_eq!(got, vec![ev(Some("a"), "1"), ev(None, "2"), ev(None, "3")]);
}

/// Cases per property (reported in docs/hardening.md).
const CASES: u32 = 2048;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn never_panics_and_respects_the_cap(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut r = SseReader::with_max_event_bytes(Cursor::new(bytes), 256);
        for _ in 0..4096 {
            match r.next_event() {
                Ok(Some(e)) => prop_assert!(e.data.len() <= 256),
                Ok(None) | Err(_) => break,
            }
        }
    }

    #[test]
    fn data_round_trips(lines in proptest::collection::vec("[^\r\n]{0,40}", 1..5)) {
        let mut input = String::new();
        for l in &lines {
            input.push_str("data:");
            input.push_str(l);
            input.push('\n');
        }
        input.push('\n');
        let got = events(input.as_bytes()).expect("valid");
        let expected: Vec<&str> = lines.iter().map(|l| l.strip_prefix(' ').unwrap_or(l)).collect();
        prop_assert_eq!(got, vec![ev(None, &expected.join("\n"))]);
    }
}
