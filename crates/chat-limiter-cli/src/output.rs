//! The output file: records appended one whole line at a time, and read back to resume.
//!
//! Crash safety rests on two rules. Each record goes out as a single `write_all` of the line and
//! its `\n` on a file opened in append mode, so a kill leaves at most one torn last line. On
//! resume a last line that does not parse is torn and cut off before anything is appended; a
//! last line that parses but lacks its `\n` (an editor, a copy) is kept and given one.
//! A failed write is undone (the file is cut back to its last whole record) so that a later
//! write never lands after half a line.
//!
//! Resume semantics: a custom_id is *done* when its latest record is a success or a final
//! failure (`error.retryable == false`, see [`crate::record`]), and the record's
//! `request_fingerprint` matches the line's request (a record without one, from an older
//! version, matches any). Any other line is sent again; when it then gets a new record, the
//! old one is removed at the end of the run (the file is rewritten to a temporary file and
//! renamed over, so a kill at any point leaves either the old or the new file). The output's
//! lock ([`crate::lock`]) is held throughout, so no other writer can be appending meanwhile.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::prior_map::{fp_key, PriorMap};
use crate::record::{id_hash, DUPLICATE};

pub use crate::prior_map::{Known, Prior};

/// What the output file already holds.
#[derive(Debug, Default)]
pub struct Resume {
    /// The latest record of every custom_id, by [`id_hash`].
    pub prior: PriorMap,
    /// Input line numbers already reported as duplicates.
    pub duplicate_lines: HashSet<u64>,
    /// Bytes of a torn last line that were cut off.
    pub torn_bytes: u64,
    /// The last record lacked its newline, which was added.
    pub newline_added: bool,
    /// Complete lines that were not records (kept, but ignored).
    pub unreadable: u64,
}

/// Bytes the start-up check writes (and removes) to prove the disk can take records.
pub const SPACE_PROBE_BYTES: usize = 64 * 1024;

/// Appends records, one whole line per write.
#[derive(Debug)]
pub struct Writer {
    file: File,
    path: PathBuf,
    /// Length of the file up to its last whole record.
    len: u64,
}

impl Writer {
    /// Appends one record and its newline in a single write; on failure the file is cut back
    /// to its last whole record.
    pub fn write(&mut self, record: &Value) -> io::Result<()> {
        let mut line = serde_json::to_vec(record).map_err(io::Error::other)?;
        line.push(b'\n');
        self.append(&line)
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.file.write_all(bytes).and_then(|()| self.file.flush()) {
            Ok(()) => {
                self.len += bytes.len() as u64;
                Ok(())
            }
            Err(e) => {
                let _ = self.file.set_len(self.len);
                Err(e)
            }
        }
    }

    /// Proves the disk can take [`SPACE_PROBE_BYTES`] more: writes that many spaces (no
    /// newline: a kill meanwhile leaves a blank torn tail, cut by the next resume), syncs
    /// them, and cuts them off again.
    pub fn check_space(&mut self) -> io::Result<()> {
        let probe = vec![b' '; SPACE_PROBE_BYTES];
        let result = self.file.write_all(&probe).and_then(|()| self.file.sync_data());
        let cut = self.file.set_len(self.len);
        result.and(cut)
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
/// the file for appending. The caller holds the output's lock.
pub fn open(path: &Path) -> io::Result<(Writer, Resume)> {
    let mut resume = Resume::default();
    let _ = fs::remove_file(tmp_path(path)); // left by a kill during compaction
    if path.exists() {
        let end = scan(path, |rec| {
            let Some(rec) = rec else {
                resume.unreadable += 1;
                return;
            };
            if let Some(line) = rec.duplicate_line {
                resume.duplicate_lines.insert(line);
            } else {
                resume.prior.push(id_hash(&rec.custom_id), rec.known);
            }
        })?;
        let superseded = resume.prior.seal();
        let len = fs::metadata(path)?.len();
        if end.good < len {
            resume.torn_bytes = len - end.good;
            OpenOptions::new().write(true).open(path)?.set_len(end.good)?;
        }
        if end.missing_newline {
            OpenOptions::new().append(true).open(path)?.write_all(b"\n")?;
            resume.newline_added = true;
        }
        if superseded {
            compact(path)?;
        }
    }
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    let len = file.metadata()?.len();
    Ok((Writer { file, path: path.to_path_buf(), len }, resume))
}

/// The part of a record that resuming needs.
struct Seen {
    custom_id: String,
    known: Known,
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
    let fingerprint = v
        .get("request_fingerprint")
        .and_then(Value::as_str)
        .and_then(|s| u128::from_str_radix(s, 16).ok())
        .map(fp_key);
    Some(Seen { custom_id, known: Known { prior, fingerprint }, duplicate_line })
}

/// Where the good part of the file ends.
struct End {
    /// Bytes up to the end of the last whole record (or complete line).
    good: u64,
    /// The last record parses but has no `\n`.
    missing_newline: bool,
}

/// Calls `f` on every complete line (`None` for one that is not a record); a last line
/// without `\n` counts when it is a record.
fn scan(path: &Path, mut f: impl FnMut(Option<Seen>)) -> io::Result<End> {
    let mut reader = BufReader::new(File::open(path)?);
    let mut buf = Vec::new();
    let mut good = 0u64;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Ok(End { good, missing_newline: false });
        }
        if buf.last() != Some(&b'\n') {
            if buf.iter().all(u8::is_ascii_whitespace) {
                return Ok(End { good, missing_newline: false });
            }
            return Ok(match seen(&buf) {
                Some(rec) => {
                    f(Some(rec));
                    End { good: good + n as u64, missing_newline: true }
                }
                None => End { good, missing_newline: false },
            });
        }
        good += n as u64;
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
    // (hash, record index) of every record, sorted: the last of each hash is its latest.
    // 24 bytes a record, and an unstable sort needs no buffer.
    let split = |h: u128| ((h >> 64) as u64, h as u64);
    let mut last: Vec<((u64, u64), u64)> = Vec::new();
    let mut index = 0u64;
    scan(path, |rec| {
        if let Some(rec) = rec.filter(|r| r.duplicate_line.is_none()) {
            last.push((split(id_hash(&rec.custom_id)), index));
        }
        index += 1;
    })?;
    last.sort_unstable();
    let mut kept = 0;
    for i in 0..last.len() {
        if last.get(i + 1).is_none_or(|next| next.0 != last[i].0) {
            last[kept] = last[i];
            kept += 1;
        }
    }
    last.truncate(kept);
    let latest = |h: u128| {
        let key = split(h);
        last.binary_search_by_key(&key, |e| e.0).ok().map(|i| last[i].1)
    };
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
            Some(r) if r.duplicate_line.is_none() => latest(id_hash(&r.custom_id)) == Some(index),
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
#[path = "output_tests.rs"]
mod tests;
