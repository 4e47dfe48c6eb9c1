//! The state of a `--via batch` job, kept beside the output (`OUTPUT.batches.json`): which
//! input lines went into which provider batch. It is written to a temporary file, synced and
//! renamed over the old one, so a kill at any moment leaves either the old or the new state.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One provider batch of the job.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct PartState {
    /// The input line numbers it holds (its items' ids are `l{line}`).
    pub lines: Vec<u64>,
    /// OpenAI: the uploaded input file, saved before the batch is created from it.
    #[serde(default)]
    pub file_id: Option<String>,
    /// The provider's batch id, once created.
    pub batch_id: Option<String>,
    /// Its results are all in the output.
    pub done: bool,
    /// When (Unix seconds) the part was saved, just before its batch was asked for. A part
    /// with this and no batch id was stopped while being submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<u64>,
    /// Batches created around `submitted_at` with as many requests as the part: one of them
    /// may be this part's (a run stopped before it saved the id). Each is watched until it
    /// ends; the one whose results carry this job's tag is adopted, the others are left alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<String>,
    /// OpenAI: the endpoint of its lines when it is not chat completions (`/v1/responses`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

/// The whole job.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct JobState {
    /// The format's version.
    pub version: u32,
    /// The provider the batches were sent to.
    pub provider: String,
    /// A tag unique to this job, in every item's custom id (`l{line}-{tag}`), so results can
    /// be told from another job's. Empty in jobs saved before tags (their ids are `l{line}`).
    #[serde(default)]
    pub tag: String,
    /// Every batch, in submission order.
    pub parts: Vec<PartState>,
}

impl JobState {
    /// A new job for `provider`, with a fresh tag.
    pub fn new(provider: &str) -> Self {
        JobState { version: 1, provider: provider.into(), tag: new_tag(), parts: Vec::new() }
    }

    /// The custom id of line `line`'s item.
    pub fn item_id(&self, line: u64) -> String {
        if self.tag.is_empty() {
            format!("l{line}")
        } else {
            format!("l{line}-{}", self.tag)
        }
    }

    /// The line a result's custom id names, when it is one of this job's ids.
    pub fn line_of(&self, custom_id: &str) -> Option<u64> {
        let rest = custom_id.strip_prefix('l')?;
        let number = if self.tag.is_empty() {
            rest
        } else {
            rest.strip_suffix(self.tag.as_str())?.strip_suffix('-')?
        };
        number.parse().ok().filter(|_| number.bytes().all(|b| b.is_ascii_digit()))
    }
}

/// Eight hex digits from the clock, the process id and std's randomly keyed hasher.
fn new_tag() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    h.write_u128(nanos);
    h.write_u32(std::process::id());
    format!("{:08x}", h.finish() as u32)
}

/// Where the state of the job writing `output` lives.
pub fn path_for(output: &Path) -> PathBuf {
    let mut name = output.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".batches.json");
    output.with_file_name(name)
}

/// The saved state, if there is one.
pub fn load(path: &Path) -> io::Result<Option<JobState>> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Saves the state: write, sync, rename, sync the folder.
pub fn save(path: &Path, state: &JobState) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = File::create(&tmp)?;
    f.write_all(&serde_json::to_vec_pretty(state).map_err(io::Error::other)?)?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Makes the rename durable; not every platform can open a folder, which is harmless.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_and_loads_beside_the_output() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.jsonl");
        let path = path_for(&out);
        assert_eq!(path, dir.path().join("out.jsonl.batches.json"));
        assert_eq!(load(&path).unwrap(), None);
        let mut state = JobState::new("openai");
        state.parts.push(PartState {
            lines: vec![1, 3],
            file_id: None,
            batch_id: Some("b".into()),
            done: false,
            submitted_at: Some(1_700_000_000),
            candidates: vec!["c".into()],
            endpoint: Some("/v1/responses".into()),
        });
        save(&path, &state).unwrap();
        assert_eq!(load(&path).unwrap(), Some(state));
        fs::write(&path, b"{torn").unwrap();
        assert!(load(&path).is_err(), "a damaged state is an error, not a fresh start");
    }

    #[test]
    fn item_ids_carry_the_job_tag_and_foreign_ids_map_to_no_line() {
        let job = JobState::new("anthropic");
        assert_eq!(job.tag.len(), 8);
        assert_ne!(job.tag, JobState::new("anthropic").tag, "each job has its own tag");
        let id = job.item_id(42);
        assert_eq!(job.line_of(&id), Some(42));
        assert!(id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        assert_eq!(job.line_of("l42"), None, "an untagged id is another job's");
        assert_eq!(job.line_of(&JobState::new("anthropic").item_id(42)), None);
        assert_eq!(job.line_of(&format!("l+4-{}", job.tag)), None);
        let legacy = JobState { tag: String::new(), ..JobState::new("openai") };
        assert_eq!(legacy.item_id(7), "l7");
        assert_eq!(legacy.line_of("l7"), Some(7));
        assert_eq!(legacy.line_of(&id), None);
        let old: JobState = serde_json::from_str(
            r#"{"version":1,"provider":"openai","parts":[{"lines":[1],"batch_id":null,"done":false}]}"#,
        )
        .unwrap();
        assert_eq!((old.tag.as_str(), old.parts[0].submitted_at), ("", None));
    }
}
