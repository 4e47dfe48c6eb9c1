//! The state of a `--via batch` job, kept beside the output (`OUTPUT.batches.json`): which
//! input lines went into which provider batch. It is written to a temporary file, synced and
//! renamed over the old one, so a kill at any moment leaves either the old or the new state.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One provider batch of the job.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
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
}

/// The whole job.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct JobState {
    /// The format's version.
    pub version: u32,
    /// The provider the batches were sent to.
    pub provider: String,
    /// Every batch, in submission order.
    pub parts: Vec<PartState>,
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
        let state = JobState {
            version: 1,
            provider: "openai".into(),
            parts: vec![PartState {
                lines: vec![1, 3],
                file_id: None,
                batch_id: Some("b".into()),
                done: false,
            }],
        };
        save(&path, &state).unwrap();
        assert_eq!(load(&path).unwrap(), Some(state));
        fs::write(&path, b"{torn").unwrap();
        assert!(load(&path).is_err(), "a damaged state is an error, not a fresh start");
    }
}
