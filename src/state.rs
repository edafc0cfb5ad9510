//! What scimsync remembers between runs: which target users and groups it manages, by source
//! identity, with a fingerprint of what it last applied to each.
//!
//! Only objects recorded here are ever deactivated or deleted; anything else on the target is
//! left alone. [`State`] is one target's state in memory, as the engine reads and changes it;
//! [`store`] keeps it in the config's SQLite database and commits each write's outcome as it
//! completes. The JSON layout below is what older scimsync versions kept in one file per target
//! (imported on first use) and what `state show --output json` and `state export --json` print.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

pub mod lock;
pub mod reconcile;
pub mod store;

pub const STATE_VERSION: u32 = 2;
/// Older layouts this version reads (version 1 had no fingerprints, rejections or groups).
const READABLE_VERSIONS: &[u32] = &[1, 2];

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
    /// Fingerprint of the desired state last applied (or found already in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// When scimsync deactivated the user (for `delete_after_days`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deactivated_at: Option<DateTime<Utc>>,
    /// What the last write left on the target (`sync::written::LastWritten`, compact JSON): an
    /// incremental run diffs a changed user against it instead of reading the user.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "as_object")]
    pub written: Option<String>,
}

/// `written` is kept as text (compact, cheap to clone) but shown as the JSON object it is in
/// `state export --json`, so the dump diffs by attribute.
mod as_object {
    use serde::{Deserialize as _, Deserializer, Serialize as _, Serializer};
    use serde_json::Value as Json;

    pub fn serialize<S: Serializer>(text: &Option<String>, out: S) -> Result<S::Ok, S::Error> {
        let parsed: Option<Json> = text.as_deref().and_then(|t| serde_json::from_str(t).ok());
        match parsed {
            Some(object) => object.serialize(out),
            None => text.serialize(out),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(input: D) -> Result<Option<String>, D::Error> {
        Ok(match Option::<Json>::deserialize(input)? {
            None | Some(Json::Null) => None,
            Some(Json::String(text)) => Some(text),
            Some(object) => Some(object.to_string()),
        })
    }
}

impl ManagedUser {
    pub fn new(id: impl Into<String>, user_name: impl Into<String>, active: bool) -> ManagedUser {
        ManagedUser {
            id: id.into(),
            user_name: user_name.into(),
            active,
            fingerprint: None,
            deactivated_at: None,
            written: None,
        }
    }
}

/// A write to a user, as the state records a refused one (`"update"`, `"deactivate"`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserOperation {
    Create,
    Update,
    Reactivate,
    Deactivate,
    Delete,
}

impl UserOperation {
    pub fn verb(self) -> &'static str {
        match self {
            UserOperation::Create => "create",
            UserOperation::Update => "update",
            UserOperation::Reactivate => "reactivate",
            UserOperation::Deactivate => "deactivate",
            UserOperation::Delete => "delete",
        }
    }
}

impl std::fmt::Display for UserOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.verb())
    }
}

/// A write the target refused for good (a 4xx that is not about rate, time or conflicts).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// The operation refused (`update`, `deactivate`, ...).
    pub operation: UserOperation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The target's SCIM `detail`, or the error.
    pub detail: String,
    /// Fingerprint of the desired state the refused write carried.
    pub fingerprint: String,
    pub at: DateTime<Utc>,
}

/// A create whose outcome is not known yet: recorded before the POST is sent, and kept when
/// the target did not answer (a timeout, a broken connection, a 5xx). The next run looks the
/// user up by its match value before it may create it again: a create is never sent twice
/// for one person, also on targets that do not enforce uniqueness.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCreate {
    /// The match attribute (`userName`, `externalId`, ...) and the value the create carried.
    #[serde(rename = "matchAttribute")]
    pub match_attribute: String,
    #[serde(rename = "matchValue")]
    pub match_value: String,
    #[serde(rename = "userName")]
    pub user_name: String,
    pub at: DateTime<Utc>,
}

/// A deactivation or deletion scimsync made: the deactivation guard counts these over its
/// rolling window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removal {
    pub source: String,
    pub at: DateTime<Utc>,
}

/// How many managed users were active when a run started: the guard's baseline is the count
/// at its window's start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveCount {
    pub at: DateTime<Utc>,
    pub active: usize,
}

/// One pushed group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedGroup {
    /// The SCIM `id` the target gave the group.
    pub id: String,
    #[serde(rename = "displayName")]
    pub display_name: String,
    /// The target ids of the managed users the group holds as scimsync last left it (members
    /// added by hand are not counted): an incremental run diffs against these instead of
    /// listing `/Groups`. `None`: not known (a write to the group failed or is under way).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<std::collections::BTreeSet<String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    /// The target base URL the ids belong to.
    pub target: String,
    /// Managed users by source identity.
    pub users: BTreeMap<String, ManagedUser>,
    /// Writes the target refused for good, by source id: not retried until the desired
    /// state changes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rejected: BTreeMap<String, Rejection>,
    /// Pushed groups by source group name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub groups: BTreeMap<String, ManagedGroup>,
    /// Creates whose outcome is not known yet, by source id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pending: BTreeMap<String, PendingCreate>,
    /// Removals within the deactivation guard's window, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removals: Vec<Removal>,
    /// Managed active users at the start of recent runs, oldest first.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        rename = "activeCounts"
    )]
    pub active_counts: Vec<ActiveCount>,
    /// Values the target accepted but did not keep, by source id, then attribute path: the
    /// fingerprint of the value. Not sent again while the desired value is the same.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        rename = "notKept"
    )]
    pub not_kept: BTreeMap<String, BTreeMap<String, String>>,
    /// Values sent in a write whose answer did not show the resource (a 204), by source id,
    /// then path: the fingerprint of the value. The next listing shows whether they were kept.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unverified: BTreeMap<String, BTreeMap<String, String>>,
    /// The last full run and the target's filtering verdict: whether the next run may be
    /// incremental (see [`reconcile`]).
    #[serde(default, skip_serializing_if = "reconcile::Reconcile::is_empty")]
    pub reconcile: reconcile::Reconcile,
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
    #[error("state database {path}: {reason}")]
    Database { path: String, reason: String },
}

impl State {
    pub fn new(target: &str) -> State {
        State {
            version: STATE_VERSION,
            target: target.to_owned(),
            users: BTreeMap::new(),
            rejected: BTreeMap::new(),
            groups: BTreeMap::new(),
            pending: BTreeMap::new(),
            removals: Vec::new(),
            active_counts: Vec::new(),
            not_kept: BTreeMap::new(),
            unverified: BTreeMap::new(),
            reconcile: reconcile::Reconcile::default(),
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
        let mut state: State = serde_json::from_str(&text).map_err(|e| StateError::Corrupt {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        if !READABLE_VERSIONS.contains(&state.version) {
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
        state.version = STATE_VERSION;
        Ok(state)
    }

    /// Writes the state atomically as a JSON file, the layout older versions kept: tests make
    /// the files a migration imports with it (the state itself is in the database: [`store`]).
    #[cfg(test)]
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        use std::io::Write as _;
        let fail = |e: std::io::Error| StateError::Write {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(fail)?;
        let temporary = beside(path, ".tmp");
        let mut file = scimsync_secure::private_file::create(&temporary).map_err(fail)?;
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

    /// Drops a user from management by source id, SCIM id or userName (case-insensitive);
    /// returns the source ids dropped. The target is not touched.
    pub fn forget(&mut self, key: &str) -> Vec<String> {
        let matching: Vec<String> = self
            .users
            .iter()
            .filter(|(source, user)| {
                *source == key
                    || user.id == key
                    || scimsync_lang::record::same_name(&user.user_name, key)
            })
            .map(|(source, _)| source.clone())
            .collect();
        let pending: Vec<String> = self
            .pending
            .iter()
            .filter(|(source, p)| {
                *source == key || scimsync_lang::record::same_name(&p.user_name, key)
            })
            .map(|(source, _)| source.clone())
            .filter(|source| !matching.contains(source))
            .collect();
        let matching: Vec<String> = matching.into_iter().chain(pending).collect();
        for source in &matching {
            self.users.remove(source);
            self.rejected.remove(source);
            self.pending.remove(source);
            self.not_kept.remove(source);
            self.unverified.remove(source);
        }
        let groups: Vec<String> = self
            .groups
            .iter()
            .filter(|(name, group)| *name == key || group.id == key)
            .map(|(name, _)| name.clone())
            .collect();
        for name in &groups {
            self.groups.remove(name);
        }
        matching.into_iter().chain(groups).collect()
    }

    /// Managed users scimsync last left active.
    pub fn active_users(&self) -> usize {
        self.users.values().filter(|u| u.active).count()
    }

    /// Starts a run at `now` for the deactivation guard: forgets removals and counts that
    /// left the `window` (the count in force at the window's start is kept: it is the
    /// window's baseline), and notes how many managed users are active.
    pub fn start_window(&mut self, now: DateTime<Utc>, window: chrono::Duration) {
        let start = now - window;
        self.removals.retain(|r| r.at > start);
        let before_start = self.active_counts.iter().filter(|c| c.at <= start).count();
        self.active_counts.drain(..before_start.saturating_sub(1));
        self.note_active(now);
    }

    /// Notes how many managed users are active at `at` (a run's start and end); only a count
    /// that differs from the last one noted is kept, so the history stays short.
    pub fn note_active(&mut self, at: DateTime<Utc>) {
        let active = self.active_users();
        if self.active_counts.last().is_none_or(|c| c.active != active) {
            self.active_counts.push(ActiveCount { at, active });
        }
    }

    /// Removals made after `since`.
    pub fn removals_since(&self, since: DateTime<Utc>) -> usize {
        self.removals.iter().filter(|r| r.at > since).count()
    }

    /// The most managed users active at any time since `start`: the count in force at
    /// `start` (the last one noted at or before it) and every count noted after it. Counting
    /// from the peak, not only from `start`, keeps a state younger than the window (its
    /// first count is 0) from calling every removal 100 %.
    pub fn peak_active_since(&self, start: DateTime<Utc>) -> Option<usize> {
        let in_force = self.active_counts.iter().rposition(|c| c.at <= start);
        self.active_counts[in_force.unwrap_or(0)..]
            .iter()
            .map(|c| c.active)
            .max()
    }

    /// The source identity of the managed user with SCIM id `id`.
    pub fn source_of(&self, id: &str) -> Option<&str> {
        self.users
            .iter()
            .find(|(_, u)| u.id == id)
            .map(|(s, _)| s.as_str())
    }
}

/// The file beside the state `path` whose name adds `suffix` (its temporary file, its lock).
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
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
        state
            .users
            .insert("00u1".into(), ManagedUser::new("abc", "a@x", true));
        state.save(&path).unwrap();
        assert_eq!(State::load(&path, "http://t/v2/").unwrap(), state);
        assert!(!dir.path().join("sub/state.json.tmp").exists());
    }

    #[test]
    fn the_saved_state_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        // An older scimsync left it world-readable; the next save replaces it with a private one.
        std::fs::write(&path, "{}").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        State::new("http://t/v2").save(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o600);
    }

    #[test]
    fn reads_version_1_and_forgets_by_any_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(
            &path,
            r#"{"version":1,"target":"http://t/v2","users":{"00u1":{"id":"abc","userName":"A@x","active":true}}}"#,
        )
        .unwrap();
        let mut state = State::load(&path, "http://t/v2").unwrap();
        assert_eq!(state.version, STATE_VERSION);
        assert_eq!(state.users["00u1"], ManagedUser::new("abc", "A@x", true));
        assert_eq!(state.forget("a@X"), ["00u1"]);
        assert!(state.users.is_empty());
    }

    #[test]
    fn forgets_a_non_ascii_user_name_in_any_case() {
        let mut state = State::new("http://t/v2");
        state.users.insert(
            "guid-1".into(),
            ManagedUser::new("abc", "zoë0001@corp.example.test", true),
        );
        assert_eq!(state.forget("ZOË0001@CORP.EXAMPLE.TEST"), ["guid-1"]);
        assert!(state.users.is_empty());
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
