//! A server-sent events framer: bytes in, `(event, data)` pairs out.
//!
//! All three providers stream over SSE (OpenAI and OpenRouter with `data:` lines only, Anthropic
//! with named `event:` lines, OpenRouter with `: OPENROUTER PROCESSING` keep-alive comments). This
//! follows the WHATWG event-stream rules for fields, comments and line endings, with two
//! deliberate differences: an event still pending at end of input is delivered (servers and
//! proxies do cut the final blank line), and one event may not exceed a size cap, so a broken or
//! hostile stream costs bounded memory.

use std::io::{self, BufRead};

/// Default cap on one event (its data plus the line being read): 8 MiB.
pub(crate) const DEFAULT_MAX_EVENT_BYTES: usize = 8 * 1024 * 1024;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The `event:` name, when the server gave one (Anthropic always does).
    pub(crate) event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub(crate) data: String,
}

/// Reads [`SseEvent`]s from a buffered byte stream.
pub(crate) struct SseReader<R: BufRead> {
    reader: R,
    max_event_bytes: usize,
    /// The current line's bytes, without its terminator.
    line: Vec<u8>,
    event: Option<String>,
    data: String,
    /// Whether a `data` field was seen since the last dispatch (the spec's "data buffer is
    /// non-empty", which a single empty `data:` line also satisfies).
    has_data: bool,
    /// The previous line ended in a bare `\r`; a `\n` right after it belongs to that line.
    skip_lf: bool,
    at_start: bool,
    finished: bool,
}

impl<R: BufRead> SseReader<R> {
    /// A reader with the default 8 MiB event cap.
    pub(crate) fn new(reader: R) -> Self {
        Self::with_max_event_bytes(reader, DEFAULT_MAX_EVENT_BYTES)
    }

    /// A reader whose events (data plus the line being read) may not exceed `max` bytes.
    pub(crate) fn with_max_event_bytes(reader: R, max: usize) -> Self {
        SseReader {
            reader,
            max_event_bytes: max,
            line: Vec::new(),
            event: None,
            data: String::new(),
            has_data: false,
            skip_lf: false,
            at_start: true,
            finished: false,
        }
    }

    /// The next event, or `None` at the end of the stream.
    ///
    /// Errors: the underlying read failed, a line is not UTF-8, or an event is larger than the
    /// cap (all `io::ErrorKind::InvalidData` except the first).
    pub(crate) fn next_event(&mut self) -> io::Result<Option<SseEvent>> {
        while !self.finished {
            let got_line = self.read_line()?;
            if !got_line {
                self.finished = true;
                return Ok(self.dispatch());
            }
            let mut line = std::str::from_utf8(&self.line)
                .map_err(|_| invalid("stream is not valid UTF-8"))?;
            if self.at_start {
                self.at_start = false;
                line = line.strip_prefix('\u{feff}').unwrap_or(line);
            }
            if line.is_empty() {
                if let Some(ev) = self.dispatch() {
                    return Ok(Some(ev));
                }
                continue;
            }
            if line.starts_with(':') {
                continue; // a comment, such as OpenRouter's keep-alive
            }
            let (field, value) = match line.split_once(':') {
                Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
                None => (line, ""),
            };
            match field {
                "event" => self.event = Some(value.to_string()),
                "data" => {
                    if self.has_data {
                        self.data.push('\n');
                    }
                    self.data.push_str(value);
                    self.has_data = true;
                    if self.data.len() > self.max_event_bytes {
                        return Err(self.too_large());
                    }
                }
                // `id` and `retry` matter only for reconnecting, which a chat call never does.
                _ => {}
            }
        }
        Ok(None)
    }

    /// Takes the pending event, if it has any data; resets the buffers either way.
    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take().filter(|e| !e.is_empty());
        if !std::mem::take(&mut self.has_data) {
            return None;
        }
        Some(SseEvent { event, data: std::mem::take(&mut self.data) })
    }

    /// Reads one line into `self.line` (terminator `\n`, `\r\n` or `\r` removed). `false` at end
    /// of input with nothing read. Never buffers more than the event cap.
    fn read_line(&mut self) -> io::Result<bool> {
        self.line.clear();
        let mut read_any = false;
        loop {
            let buf = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                return Ok(read_any);
            }
            let mut start = 0;
            if self.skip_lf {
                self.skip_lf = false;
                if buf[0] == b'\n' {
                    start = 1;
                }
            }
            let rest = &buf[start..];
            match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
                Some(i) => {
                    self.skip_lf = rest[i] == b'\r';
                    let fits = self.line.len() + i + self.data.len() <= self.max_event_bytes;
                    if fits {
                        self.line.extend_from_slice(&rest[..i]);
                    }
                    self.reader.consume(start + i + 1);
                    return if fits { Ok(true) } else { Err(self.too_large()) };
                }
                None => {
                    let n = rest.len();
                    if self.line.len() + n + self.data.len() > self.max_event_bytes {
                        return Err(self.too_large());
                    }
                    self.line.extend_from_slice(rest);
                    read_any |= n > 0;
                    self.reader.consume(start + n);
                }
            }
        }
    }

    fn too_large(&mut self) -> io::Error {
        // Drop what was buffered; the stream cannot be trusted past this point.
        self.finished = true;
        self.line = Vec::new();
        self.data = String::new();
        invalid(&format!("stream event larger than {} bytes", self.max_event_bytes))
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

#[cfg(test)]
#[path = "sse_tests.rs"]
mod tests;
