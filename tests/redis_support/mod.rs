//! Test support for the Redis backend: a private `redis-server` on a free port (killed on
//! drop, restartable on the same port) and a tiny stand-in HTTP server whose answers and
//! clock of arrivals the tests control.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

pub const KEY: &str = "sk-test-SECRET-0123456789";

/// A `redis-server` of our own.
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one, or `None` (with a note) when `redis-server` is not installed. Under `CI`
    /// a missing server is a failure, not a skip: CI must run these tests.
    pub fn start() -> Option<RedisServer> {
        if Command::new("redis-server").arg("--version").output().is_err() {
            assert!(
                std::env::var_os("CI").is_none(),
                "redis-server is not installed but CI is set: install it (apt-get install redis-server)"
            );
            eprintln!("note: redis-server not installed; skipping this Redis test");
            return None;
        }
        let port = free_port();
        let mut s = RedisServer { port, child: None };
        s.spawn();
        Some(s)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if ping(self.port) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server on port {} did not answer PING", self.port);
    }

    /// Kills the server (mid-run failure).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port (empty).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// A plain connection for inspecting what the limiter wrote.
    pub fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url()).unwrap().get_connection().unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn ping(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
    let mut buf = [0u8; 7];
    s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

/// One answer of the stand-in server.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// A successful OpenAI chat answer with this usage.
    pub fn openai(prompt: u64, completion: u64) -> Reply {
        let body = format!(
            r#"{{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{{"index":0,"message":{{"role":"assistant","content":"ok"}},"finish_reason":"stop"}}],"usage":{{"prompt_tokens":{prompt},"completion_tokens":{completion},"total_tokens":{}}}}}"#,
            prompt + completion
        );
        Reply { status: 200, headers: vec![], body }
    }

    /// A successful Anthropic message with this usage.
    pub fn anthropic(input: u64, output: u64) -> Reply {
        let body = format!(
            r#"{{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{{"type":"text","text":"ok"}}],"stop_reason":"end_turn","usage":{{"input_tokens":{input},"output_tokens":{output}}}}}"#
        );
        Reply { status: 200, headers: vec![], body }
    }

    /// An OpenAI 429 asking to wait `ms`.
    pub fn openai_429(ms: u64) -> Reply {
        let body = r#"{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#;
        Reply {
            status: 429,
            headers: vec![("retry-after-ms".into(), ms.to_string())],
            body: body.into(),
        }
    }

    pub fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.into(), v.into()));
        self
    }
}

type Handler = dyn Fn(usize) -> Reply + Send + Sync;

/// A loopback HTTP/1.1 server: answers request number `n` (1-based) with `handler(n)` and
/// records when each request arrived. Lives for the rest of the test process.
#[derive(Clone)]
pub struct StubServer {
    pub url: String,
    hits: Arc<Mutex<Vec<Instant>>>,
}

impl StubServer {
    pub fn start(handler: impl Fn(usize) -> Reply + Send + Sync + 'static) -> StubServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let hits = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let h = Arc::clone(&hits);
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (h, handler) = (Arc::clone(&h), Arc::clone(&handler));
                std::thread::spawn(move || serve(conn, &h, &*handler));
            }
        });
        StubServer { url, hits }
    }

    /// Requests seen so far.
    pub fn hits(&self) -> usize {
        self.hits.lock().len()
    }

    /// Arrival times so far.
    pub fn arrivals(&self) -> Vec<Instant> {
        self.hits.lock().clone()
    }
}

fn serve(conn: TcpStream, hits: &Mutex<Vec<Instant>>, handler: &Handler) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut out = conn;
    loop {
        let mut len = 0usize;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0u8; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let n = {
            let mut h = hits.lock();
            h.push(Instant::now());
            h.len()
        };
        let r = handler(n);
        let mut head = format!(
            "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
            r.status,
            r.body.len()
        );
        for (k, v) in &r.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        if out.write_all(head.as_bytes()).is_err() || out.write_all(r.body.as_bytes()).is_err() {
            return;
        }
    }
}
