//! What scimsync remembers between runs: which target users it manages, by source identity.
//!
//! Only users recorded here are ever deactivated; anything else on the target is left alone.
//! The state is one JSON file, replaced atomically (write a temporary file, fsync, rename), so a
//! crash leaves either the old state or the new one, never half of each.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const STATE_VERSION: u32 = 1;

/// One managed user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedUser {
    /// The SCIM `id` the target gave the user.
    pub id: String,
    /// The user's userName when last written, for messages.
    #[serde(rename = "userName")]
    pub user_name: String,
    /// Whether scimsync last left the user active.
    pub active: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    /// The target base URL the ids belong to.
    pub target: String,
    /// Managed users by source identity.
    pub users: BTreeMap<String, ManagedUser>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read state {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("state {path} is damaged: {reason}")]
    Corrupt { path: String, reason: String },
    #[error(
        "state {path} belongs to target {found}, not {expected}; use another [state] path for this target"
    )]
    OtherTarget {
        path: String,
        found: String,
        expected: String,
    },
    #[error("cannot write state {path}: {reason}")]
    Write { path: String, reason: String },
}

impl State {
    pub fn new(target: &str) -> State {
        State {
            version: STATE_VERSION,
            target: target.to_owned(),
            users: BTreeMap::new(),
        }
    }

    /// Loads the state for `target`; a missing file is an empty state.
    pub fn load(path: &Path, target: &str) -> Result<State, StateError> {
        let shown = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::new(target)),
            Err(e) => {
                return Err(StateError::Read {
                    path: shown,
                    reason: e.to_string(),
                });
            }
        };
        let state: State = serde_json::from_str(&text).map_err(|e| StateError::Corrupt {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        if state.version != STATE_VERSION {
            return Err(StateError::Corrupt {
                path: shown,
                reason: format!(
                    "version {} is not supported (expected {STATE_VERSION})",
                    state.version
                ),
            });
        }
        if state.target.trim_end_matches('/') != target.trim_end_matches('/') {
            return Err(StateError::OtherTarget {
                path: shown,
                found: state.target,
                expected: target.to_owned(),
            });
        }
        Ok(state)
    }

    /// Writes the state atomically.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let fail = |e: std::io::Error| StateError::Write {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(fail)?;
        let temporary = temporary_path(path);
        let mut file = std::fs::File::create(&temporary).map_err(fail)?;
        let mut text =
            serde_json::to_vec_pretty(self).map_err(|e| fail(std::io::Error::other(e)))?;
        text.push(b'\n');
        file.write_all(&text).map_err(fail)?;
        file.sync_all().map_err(fail)?;
        drop(file);
        std::fs::rename(&temporary, path).map_err(fail)?;
        // Make the rename itself durable.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// The source identity of the managed user with SCIM id `id`.
    pub fn source_of(&self, id: &str) -> Option<&str> {
        self.users
            .iter()
            .find(|(_, u)| u.id == id)
            .map(|(s, _)| s.as_str())
    }
}

fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/state.json");
        let mut state = State::new("http://t/v2");
        state.users.insert(
            "00u1".into(),
            ManagedUser {
                id: "abc".into(),
                user_name: "a@x".into(),
                active: true,
            },
        );
        state.save(&path).unwrap();
        assert_eq!(State::load(&path, "http://t/v2/").unwrap(), state);
        assert!(!dir.path().join("sub/state.json.tmp").exists());
    }

    #[test]
    fn refuses_state_of_another_target_and_damaged_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        State::new("http://a/v2").save(&path).unwrap();
        assert!(matches!(
            State::load(&path, "http://b/v2"),
            Err(StateError::OtherTarget { .. })
        ));
        std::fs::write(&path, "{").unwrap();
        assert!(matches!(
            State::load(&path, "http://a/v2"),
            Err(StateError::Corrupt { .. })
        ));
        assert_eq!(
            State::load(&dir.path().join("none.json"), "x").unwrap(),
            State::new("x")
        );
    }
}
