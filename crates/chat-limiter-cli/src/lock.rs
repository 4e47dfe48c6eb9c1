//! The output's exclusive lock: a lock file beside it (`OUTPUT.lock`), held with an advisory
//! `flock`-style lock for the whole run (compaction included) and holding the owner's pid.
//!
//! The lock is the operating system's: it goes away with the process, however it ends
//! (SIGKILL included), so a stale lock file never blocks a rerun; only its text (the pid) is
//! left behind, and the next owner overwrites it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Holds the lock until dropped.
#[derive(Debug)]
pub struct OutputLock {
    _file: File,
}

/// The lock file of `output`.
pub fn lock_path(output: &Path) -> PathBuf {
    let mut name = output.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    output.with_file_name(name)
}

/// Takes the lock of `output`, or says which process holds it.
pub fn acquire(output: &Path) -> Result<OutputLock, String> {
    let path = lock_path(output);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| format!("cannot create the lock file {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let who = if holder.is_empty() {
                "another process".to_string()
            } else {
                format!("process {holder}")
            };
            return Err(format!(
                "{} is in use by {who} (lock file {}); wait for it to end, or use another -o",
                output.display(),
                path.display()
            ));
        }
        Err(TryLockError::Error(e)) => {
            return Err(format!("cannot lock {}: {e}", path.display()));
        }
    }
    let pid = std::process::id();
    let written = file
        .set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| file.write_all(format!("{pid}\n").as_bytes()));
    written.map_err(|e| format!("cannot write the lock file {}: {e}", path.display()))?;
    Ok(OutputLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_and_names_the_holder() {
        let dir = std::env::temp_dir().join(format!("clr-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let out = dir.join("out.jsonl");
        let held = acquire(&out).expect("first lock");
        let err = acquire(&out).expect_err("second lock");
        assert!(err.contains(&format!("process {}", std::process::id())), "{err}");
        drop(held);
        acquire(&out).expect("free again");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
