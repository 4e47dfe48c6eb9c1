//! The shared loopback fake (`fake_http`) checked on its own with a bare TCP client, so a
//! failure in a library test is never the fake's: scripts repeat their last reply, every request
//! is recorded with its body (either framing), raw replies go out byte for byte, and chunked
//! replies finish, or are cut, as asked.

mod fake_http;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use fake_http::{End, FakeServer, Reply};

/// Sends `request` on a fresh connection and reads until the server closes it.
fn exchange(server: &FakeServer, request: &str) -> String {
    let mut conn = TcpStream::connect(("127.0.0.1", server.port())).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    conn.write_all(request.as_bytes()).expect("send");
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer); // a cut may end in a reset
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn scripts_repeat_their_last_reply_and_requests_are_recorded() {
    let server = FakeServer::script(vec![
        Reply::new(500, "first").close(),
        Reply::new(200, "again").header("x-n", "1").close(),
    ]);
    let post = "POST /v1/x?q=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";
    let answers: Vec<String> = (0..3).map(|_| exchange(&server, post)).collect();
    assert!(answers[0].starts_with("HTTP/1.1 500 ") && answers[0].ends_with("\r\n\r\nfirst"));
    for a in &answers[1..] {
        assert!(a.starts_with("HTTP/1.1 200 ") && a.ends_with("\r\n\r\nagain"), "{a}");
        assert!(a.contains("x-n: 1\r\n") && a.contains("connection: close\r\n"), "{a}");
    }
    let seen = server.requests();
    assert_eq!(seen.len(), 3);
    assert_eq!(
        (seen[2].number, seen[2].method.as_str(), seen[2].path.as_str()),
        (3, "POST", "/v1/x?q=1")
    );
    assert_eq!(
        (seen[0].header("content-length"), seen[0].body_text().as_str()),
        (Some("5"), "hello")
    );
    assert!(seen[0].head.starts_with("POST /v1/x?q=1 HTTP/1.1\r\nHost: a\r\n"));
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection_and_decodes_chunked_bodies() {
    let server = FakeServer::handler(|r| Reply::new(200, format!("n={}", r.number)));
    let chunked =
        "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    let last = "GET /last HTTP/1.1\r\nConnection: close\r\n\r\n";
    // The fake keeps the connection open after the first answer and closes it after the
    // second, which asked for that.
    let mut conn = TcpStream::connect(("127.0.0.1", server.port())).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    conn.write_all(format!("{chunked}{last}").as_bytes()).expect("send");
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.contains("\r\n\r\nn=1HTTP/1.1 200 ") && answer.ends_with("n=2"), "{answer}");
    let seen = server.requests();
    assert_eq!((seen[0].body_text().as_str(), seen[1].path.as_str()), ("abcde", "/last"));
}

#[test]
fn raw_replies_are_sent_byte_for_byte() {
    let bytes =
        "HTTP/1.1 200 OK\r\nx-api-key: sk-echo\r\nx-bad: a\u{7f}b\r\n\r\nbody without framing";
    let server = FakeServer::script(vec![Reply::raw(bytes)]);
    assert_eq!(exchange(&server, "GET / HTTP/1.1\r\n\r\n"), bytes);
}

#[test]
fn chunked_replies_finish_or_are_cut() {
    let pieces =
        || vec![(Duration::ZERO, "data: a\n\n"), (Duration::from_millis(20), "data: b\n\n")];
    let whole = FakeServer::script(vec![Reply::chunked(200, pieces(), End::Finish).close()]);
    let answer = exchange(&whole, "GET / HTTP/1.1\r\n\r\n");
    assert!(answer.contains("content-type: text/event-stream\r\ntransfer-encoding: chunked\r\n"));
    assert!(
        answer.ends_with("\r\n\r\n9\r\ndata: a\n\n\r\n9\r\ndata: b\n\n\r\n0\r\n\r\n"),
        "{answer}"
    );
    let cut = FakeServer::script(vec![Reply::chunked(200, pieces(), End::Cut)]);
    let answer = exchange(&cut, "GET / HTTP/1.1\r\n\r\n");
    assert!(answer.ends_with("9\r\ndata: b\n\n\r\n"), "no final chunk after a cut: {answer}");
}
