//! One writer per state: an exclusive OS lock (`flock`) on `<state>.lock`, held for a whole
//! run. The kernel drops it when the holder exits, however it exits, so a killed process
//! never leaves a lock behind that blocks the next run. The holder writes its PID into the
//! file, only to name itself to a run that finds the lock taken.
//!
//! The lock is a file of its own, beside the target's JSON state file from older versions
//! (`<state>.lock`, where it always was): the state database is shared by every target of the
//! config, and SQLite's own locks are per database and per transaction, while this one is per
//! target and held for a whole run, so two targets still run at once.

use std::fs::{File, TryLockError};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

/// An exclusive hold on a state file; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct StateLock {
    // Held for its lock; closing the file releases it.
    _file: File,
    path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "state {state} is in use by another scimsync run{}: two runs writing one target at once could create users twice. Wait for it to finish (or stop it), then run again",
        holder_text(*pid)
    )]
    Held { state: String, pid: Option<u32> },
    #[error("cannot lock state {state} ({lock}): {reason}")]
    Io {
        state: String,
        lock: String,
        reason: String,
    },
}

fn holder_text(pid: Option<u32>) -> String {
    pid.map_or_else(String::new, |pid| format!(" (PID {pid})"))
}

/// The lock file beside a state file: `<state>.lock`.
pub fn lock_path(state: &Path) -> PathBuf {
    super::beside(state, ".lock")
}

impl StateLock {
    /// Takes the exclusive lock on `state` without waiting: a run that finds it held fails at
    /// once, naming the holder.
    pub fn acquire(state: &Path) -> Result<StateLock, LockError> {
        let path = lock_path(state);
        let io = |e: std::io::Error| LockError::Io {
            state: state.display().to_string(),
            lock: path.display().to_string(),
            reason: e.to_string(),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = scimsync_secure::private_file::read_write(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Held {
                    state: state.display().to_string(),
                    pid: read_pid(&mut file),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        write_pid(&mut file).map_err(io)?;
        Ok(StateLock { _file: file, path })
    }

    /// The PID of the process that holds the lock on `state` now, if one does (`Some(None)`
    /// when the holder has not written its PID yet). Takes no lock that outlives the call.
    pub fn holder(state: &Path) -> Option<Option<u32>> {
        let path = lock_path(state);
        let mut file = File::open(&path).ok()?;
        match file.try_lock_shared() {
            Ok(()) => None,
            Err(TryLockError::WouldBlock) => Some(read_pid(&mut file)),
            Err(TryLockError::Error(_)) => None,
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn write_pid(file: &mut File) -> std::io::Result<()> {
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    writeln!(file, "{}", std::process::id())?;
    file.sync_data()
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_pid() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.json");
        let first = StateLock::acquire(&state).unwrap();
        // flock locks belong to open files, so a second open in this process conflicts too.
        let refused = StateLock::acquire(&state).unwrap_err();
        let pid = std::process::id();
        assert!(
            matches!(&refused, LockError::Held { pid: Some(p), .. } if *p == pid),
            "{refused:?}"
        );
        assert!(
            refused.to_string().starts_with(&format!(
                "state {} is in use by another scimsync run (PID {pid})",
                state.display()
            )),
            "{refused}"
        );
        assert_eq!(StateLock::holder(&state), Some(Some(pid)));
        drop(first);
        assert_eq!(StateLock::holder(&state), None);
        let again = StateLock::acquire(&state).unwrap();
        assert_eq!(again.path(), dir.path().join("state.json.lock"));
    }

    #[test]
    fn a_lock_file_left_by_a_dead_process_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.json");
        // What a killed holder leaves: the file with its PID, and no lock.
        std::fs::write(lock_path(&state), "999999\n").unwrap();
        assert_eq!(StateLock::holder(&state), None);
        let _lock = StateLock::acquire(&state).unwrap();
        let pid = std::fs::read_to_string(lock_path(&state)).unwrap();
        assert_eq!(pid.trim(), std::process::id().to_string());
    }
}
