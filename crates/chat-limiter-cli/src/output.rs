//! The output file: records in the Batch API output shape, appended one whole line at a time,
//! and read back to resume.
//!
//! Crash safety rests on two rules. Each record goes out as a single `write_all` of the line and
//! its `\n` on a file opened in append mode, so a kill leaves at most one torn last line. On
//! resume a torn last line (no `\n`) is cut off before anything is appended.
//!
//! Resume semantics: a custom_id is *done* when its latest record is a success or a failure
//! that retrying cannot fix (`error.retryable == false`: invalid input, a 4xx such as a bad
//! request or a spent quota). A record with `error.retryable == true` (transport errors,
//! timeouts, 429/5xx after every retry, cancelled items) is sent again; when it then gets a new
//! record, the old one is removed at the end of the run (the file is rewritten to a temporary
//! file and renamed over, so a kill at any point leaves either the old or the new file).

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use chat_limiter::{ChatCompletionResponse, Error};
use serde_json::{json, Value};

/// Error code of a line that cannot be parsed.
pub const INVALID_INPUT: &str = "invalid_input";
/// Error code of a later line repeating an earlier line's custom_id.
pub const DUPLICATE: &str = "duplicate_custom_id";

/// What an earlier run recorded for a custom_id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prior {
    /// Succeeded: skip.
    Succeeded,
    /// Failed for good: skip (counts as a failure for the exit code).
    Failed,
    /// Failed in a way worth retrying: send again.
    Retry,
}

/// What the output file already holds.
#[derive(Debug, Default)]
pub struct Resume {
    /// The latest state of every custom_id with a record, by [`id_hash`].
    pub prior: HashMap<u128, Prior>,
    /// Input line numbers already reported as duplicates.
    pub duplicate_lines: HashSet<u64>,
    /// Bytes of a torn last line that were cut off.
    pub torn_bytes: u64,
    /// Complete lines that were not records (kept, but ignored).
    pub unreadable: u64,
}

/// Why an item failed, as written in `error`.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Short machine-readable code.
    pub code: String,
    /// Human-readable message (the library's errors never hold the key).
    pub message: String,
    /// Whether a rerun sends the line again.
    pub retryable: bool,
    /// The provider's HTTP status, when it answered.
    pub status: Option<u16>,
    /// The provider's request id, when it answered.
    pub request_id: Option<String>,
    /// The provider's error type, when it answered.
    pub error_type: Option<String>,
}

impl Failure {
    /// A failure decided by the CLI itself (bad input, duplicate id): never retried.
    pub fn local(code: &str, message: String) -> Self {
        Failure {
            code: code.into(),
            message,
            retryable: false,
            status: None,
            request_id: None,
            error_type: None,
        }
    }

    /// Classifies a library error.
    pub fn from_error(e: &Error) -> Self {
        let api = e.api_error();
        let retryable = match e {
            Error::RetriesExhausted { .. } | Error::Cancelled | Error::Store(_) => true,
            Error::InvalidResponse { .. } | Error::Stream(_) | Error::Transport { .. } => true,
            other => other.is_retryable(),
        };
        let code = match (e, api) {
            (_, Some(a)) => a
                .code
                .clone()
                .or_else(|| a.error_type.clone())
                .unwrap_or_else(|| format!("http_{}", a.status)),
            (Error::Transport { timeout: true, .. }, _) => "timeout".into(),
            (Error::Transport { .. }, _) => "transport_error".into(),
            (Error::InvalidResponse { .. }, _) => "invalid_response".into(),
            (Error::InvalidRequest(_), _) => "invalid_request".into(),
            (Error::NeverFits { .. }, _) => "never_fits".into(),
            (Error::CreditsExhausted { .. }, _) => "credits_exhausted".into(),
            (Error::Cancelled, _) => "cancelled".into(),
            (Error::Store(_), _) => "store_error".into(),
            (Error::Stream(_), _) => "stream_error".into(),
            _ => "error".into(),
        };
        Failure {
            code,
            message: e.to_string(),
            retryable,
            status: api.map(|a| a.status),
            request_id: api.and_then(|a| a.request_id.clone()),
            error_type: api.and_then(|a| a.error_type.clone()),
        }
    }
}

/// A success record; `body` is the provider's original JSON.
pub fn success_record(line: u64, custom_id: &str, resp: &ChatCompletionResponse) -> Value {
    json!({
        "id": record_id(line),
        "custom_id": custom_id,
        "response": {"status_code": 200, "request_id": resp.request_id, "body": resp.raw},
        "error": null,
    })
}

/// A failure record; when the provider answered, `response` holds its status and error.
pub fn failure_record(line: u64, custom_id: &str, f: &Failure) -> Value {
    let response = f.status.map(|status| {
        json!({
            "status_code": status,
            "request_id": f.request_id,
            "body": {"error": {"message": f.message, "type": f.error_type, "code": f.code}},
        })
    });
    json!({
        "id": record_id(line),
        "custom_id": custom_id,
        "response": response,
        "error": {"code": f.code, "message": f.message, "retryable": f.retryable},
    })
}

/// A 128-bit hash of a custom_id (ids are only ever looked up, so 16 bytes stand in for each): two SipHash passes with different prefixes (a false
/// duplicate would need a 128-bit collision).
pub fn id_hash(id: &str) -> u128 {
    let half = |salt: u8| {
        let mut h = DefaultHasher::new();
        salt.hash(&mut h);
        id.hash(&mut h);
        h.finish()
    };
    (u128::from(half(0)) << 64) | u128::from(half(1))
}

/// Records are named after their input line, which lets a rerun recognise its duplicates.
fn record_id(line: u64) -> String {
    format!("line-{line}")
}

/// Appends records, one whole line per write.
#[derive(Debug)]
pub struct Writer {
    file: File,
    path: PathBuf,
}

impl Writer {
    /// Appends one record and its newline in a single write.
    pub fn write(&mut self, record: &Value) -> io::Result<()> {
        let mut line = serde_json::to_vec(record).map_err(io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.flush()
    }

    /// Flushes to disk and rewrites the file without superseded records.
    pub fn finish(self, compact_needed: bool) -> io::Result<()> {
        self.file.sync_data()?;
        drop(self.file);
        if compact_needed {
            compact(&self.path)?;
        }
        Ok(())
    }
}

/// Reads what the output holds, cuts a torn last line, drops superseded records, and opens
/// the file for appending.
pub fn open(path: &Path) -> io::Result<(Writer, Resume)> {
    let mut resume = Resume::default();
    let _ = fs::remove_file(tmp_path(path)); // left by a kill during compaction
    let mut superseded = false;
    if path.exists() {
        let complete = scan(path, |rec| {
            let Some(rec) = rec else {
                resume.unreadable += 1;
                return;
            };
            if let Some(line) = rec.duplicate_line {
                resume.duplicate_lines.insert(line);
            } else if resume.prior.insert(id_hash(&rec.custom_id), rec.prior).is_some() {
                superseded = true;
            }
        })?;
        let len = fs::metadata(path)?.len();
        if complete < len {
            resume.torn_bytes = len - complete;
            OpenOptions::new().write(true).open(path)?.set_len(complete)?;
        }
        if superseded {
            compact(path)?;
        }
    }
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    Ok((Writer { file, path: path.to_path_buf() }, resume))
}

/// The part of a record that resuming needs.
struct Seen {
    custom_id: String,
    prior: Prior,
    duplicate_line: Option<u64>,
}

fn seen(line: &[u8]) -> Option<Seen> {
    let v: Value = serde_json::from_slice(line).ok()?;
    let custom_id = v.get("custom_id")?.as_str()?.to_string();
    let error = v.get("error").filter(|e| !e.is_null());
    let code = error.and_then(|e| e.get("code")).and_then(Value::as_str);
    let duplicate_line = (code == Some(DUPLICATE))
        .then(|| v.get("id")?.as_str()?.strip_prefix("line-")?.parse().ok())
        .flatten();
    let prior = match error {
        None => Prior::Succeeded,
        Some(e) if e.get("retryable").and_then(Value::as_bool) == Some(true) => Prior::Retry,
        Some(_) => Prior::Failed,
    };
    Some(Seen { custom_id, prior, duplicate_line })
}

/// Calls `f` on every complete line (`None` for one that is not a record) and returns the
/// length of the file up to the end of its last complete line.
fn scan(path: &Path, mut f: impl FnMut(Option<Seen>)) -> io::Result<u64> {
    let mut reader = BufReader::new(File::open(path)?);
    let mut buf = Vec::new();
    let mut complete = 0u64;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf)?;
        if n == 0 || buf.last() != Some(&b'\n') {
            return Ok(complete);
        }
        complete += n as u64;
        if !buf.iter().all(u8::is_ascii_whitespace) {
            f(seen(&buf));
        }
    }
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".compact.tmp");
    path.with_file_name(name)
}

/// Rewrites the file keeping only the latest record of each custom_id (and every duplicate
/// report), through a temporary file renamed over the original.
fn compact(path: &Path) -> io::Result<()> {
    let mut last: HashMap<u128, u64> = HashMap::new();
    let mut index = 0u64;
    scan(path, |rec| {
        if let Some(rec) = rec.filter(|r| r.duplicate_line.is_none()) {
            last.insert(id_hash(&rec.custom_id), index);
        }
        index += 1;
    })?;
    let tmp = tmp_path(path);
    let mut out = BufWriter::new(File::create(&tmp)?);
    let mut reader = BufReader::new(File::open(path)?);
    let mut buf = Vec::new();
    let mut index = 0u64;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 || buf.last() != Some(&b'\n') {
            break;
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let keep = match seen(&buf) {
            Some(r) if r.duplicate_line.is_none() => {
                last.get(&id_hash(&r.custom_id)) == Some(&index)
            }
            Some(_) => true,
            None => false,
        };
        if keep {
            out.write_all(&buf)?;
        }
        index += 1;
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_line_is_cut_and_superseded_records_removed() {
        let dir = std::env::temp_dir().join(format!("clr-out-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("tmp dir");
        let path = dir.join("out.jsonl");
        let retry = failure_record(
            1,
            "a",
            &Failure { retryable: true, ..Failure::local("timeout", "t".into()) },
        );
        let dup = failure_record(3, "a", &Failure::local(DUPLICATE, "dup".into()));
        let ok = json!({"id": "line-1", "custom_id": "a", "response": {}, "error": null});
        let text = format!("{retry}\n{dup}\n{ok}\n{{\"custom_id\":\"b\",\"err");
        fs::write(&path, text).expect("write");
        let (w, resume) = open(&path).expect("open");
        drop(w);
        assert_eq!(resume.prior.get(&id_hash("a")), Some(&Prior::Succeeded));
        assert!(resume.duplicate_lines.contains(&3));
        assert!(resume.torn_bytes > 0);
        let after = fs::read_to_string(&path).expect("read");
        assert_eq!(after, format!("{dup}\n{ok}\n"));
        let _ = fs::remove_dir_all(&dir);
    }
}
