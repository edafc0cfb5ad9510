//! The one interface the engine reaches a target's state through: take the run lock and open
//! the state for writing ([`StoreBackend::open_for_run`], which hands back the [`Store`] the run
//! records each write's outcome in), or read it as last committed with no lock
//! ([`StoreBackend::load`], for dry runs, `state show` and `state export`).
//!
//! The lock belongs to the backend because what "one writer per target" means depends on where
//! the state is: for the SQLite database beside the config it is a per-target lock file
//! (`<state>.lock`, see [`crate::state::lock`]); for a database shared by an active/standby
//! pair it must live in that database, or the standby could not see it. Each method's docs say
//! how a PostgreSQL backend would do it (not built: nothing here depends on it).
//!
//! The engine reads a user's entry from the in-memory [`State`] the open returned: a run is
//! the only writer of its target (it holds the lock), so what it loaded plus what it changed is
//! what the database holds, and no read goes back to the store during a run.

use super::{Location, SqliteStore, Store};
use crate::config::Target;
use crate::state::lock::{LockError, StateLock};
use crate::state::{State, StateError};

/// Why a target's state could not be opened for a run: another run holds its lock, or the
/// state itself cannot be read or created.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Locked(#[from] LockError),
    #[error(transparent)]
    State(#[from] StateError),
}

/// Where targets' states are kept, as the engine uses it.
pub trait StoreBackend: Send + Sync {
    /// Takes the target's run lock without waiting, then opens its state for writing and
    /// loads it. The lock is held by the returned store and released when it is dropped (or
    /// when the process dies, however it dies); a second open of the same target while the
    /// first store lives fails with [`OpenError::Locked`], naming the holder.
    ///
    /// SQLite: `flock` on `<legacy state file>.lock`, then the database (created and migrated
    /// if needed; the target's JSON state file imported on first use). PostgreSQL: one
    /// dedicated session per run that takes `pg_try_advisory_lock(hash(target name))`
    /// (false: `Locked`, naming the holder's `pid`/`client_addr` from `pg_locks` and
    /// `pg_stat_activity`) and keeps it for the run; the session ending (a killed process, a
    /// failover) releases it, as the kernel releases a `flock`.
    fn open_for_run(&self, location: &Location) -> Result<(Box<dyn Store>, State), OpenError>;

    /// The target's state as last committed, with no lock and creating nothing: a reader
    /// beside a writing run sees what that run has committed so far.
    ///
    /// SQLite: a read on the WAL database, or the JSON state file not imported yet.
    /// PostgreSQL: one `REPEATABLE READ` transaction over the target's rows.
    fn load(&self, location: &Location) -> Result<State, StateError>;

    /// Whether a writing run holds the target's run lock now: `Some` with its PID when it
    /// named itself (a dry run says its view may be a step behind). Takes nothing that
    /// outlives the call.
    ///
    /// SQLite: a shared `flock` attempt on the lock file. PostgreSQL: `pg_locks` where
    /// `locktype = 'advisory'` and the key is the target's hash.
    fn run_lock_holder(&self, location: &Location) -> Option<Option<u32>>;

    /// Whether the target has any state at all (`state forget` skips a target never synced).
    ///
    /// SQLite: its row in the database, or its JSON state file. PostgreSQL: its row.
    fn exists(&self, location: &Location) -> Result<bool, StateError>;
}

/// The state in one SQLite database per config (see [`super`]), the run lock a file per target.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sqlite;

impl StoreBackend for Sqlite {
    fn open_for_run(&self, location: &Location) -> Result<(Box<dyn Store>, State), OpenError> {
        // The lock first: a run that finds it held neither creates nor migrates the database.
        let lock = StateLock::acquire(&location.legacy)?;
        let (store, state) = SqliteStore::open(lock, location)?;
        Ok((Box::new(store), state))
    }

    fn load(&self, location: &Location) -> Result<State, StateError> {
        super::read(location)
    }

    fn run_lock_holder(&self, location: &Location) -> Option<Option<u32>> {
        StateLock::holder(&location.legacy)
    }

    fn exists(&self, location: &Location) -> Result<bool, StateError> {
        location.exists()
    }
}

/// The backend that keeps `target`'s state, and where in it: the one place a setting for
/// another backend (a shared database) would be read. Every target uses SQLite today.
pub fn backend_for(target: &Target) -> (&'static dyn StoreBackend, Location) {
    (&Sqlite, Location::of(target))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ManagedUser;

    fn location(dir: &std::path::Path) -> Location {
        Location {
            database: dir.join("state/scimsync.db"),
            name: "crm".to_owned(),
            url: "http://t/v2".to_owned(),
            legacy: dir.join("state/crm.json"),
        }
    }

    #[test]
    fn opening_for_a_run_takes_the_lock_until_the_store_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let place = location(dir.path());
        let (first, mut state) = Sqlite.open_for_run(&place).unwrap();
        let pid = std::process::id();
        // The lock file is where it always was, beside the target's JSON state file.
        let lock_file = dir.path().join("state/crm.json.lock");
        assert_eq!(
            std::fs::read_to_string(&lock_file).unwrap(),
            format!("{pid}\n")
        );
        assert_eq!(Sqlite.run_lock_holder(&place), Some(Some(pid)));

        let Err(refused) = Sqlite.open_for_run(&place) else {
            panic!("a second run opened a target whose lock is held");
        };
        assert!(
            matches!(&refused, OpenError::Locked(LockError::Held { pid: Some(p), .. }) if *p == pid),
            "{refused:?}"
        );
        assert!(
            refused.to_string().starts_with(&format!(
                "state {} is in use by another scimsync run (PID {pid}): ",
                place.legacy.display()
            )),
            "{refused}"
        );

        // A reader takes no lock and sees what the writer committed.
        state
            .users
            .insert("s1".into(), ManagedUser::new("id1", "a@x", true));
        first.record_users(&state, &["s1"]).unwrap();
        assert_eq!(Sqlite.load(&place).unwrap(), state);
        assert!(Sqlite.exists(&place).unwrap());

        drop(first);
        assert_eq!(Sqlite.run_lock_holder(&place), None);
        let (_second, again) = Sqlite.open_for_run(&place).unwrap();
        assert_eq!(again, state);
    }

    #[test]
    fn a_run_refused_by_the_lock_creates_no_database() {
        let dir = tempfile::tempdir().unwrap();
        let place = location(dir.path());
        let _held = StateLock::acquire(&place.legacy).unwrap();
        assert!(matches!(
            Sqlite.open_for_run(&place),
            Err(OpenError::Locked(_))
        ));
        assert!(!place.database.exists());
        assert!(!Sqlite.exists(&place).unwrap());
        assert_eq!(Sqlite.load(&place).unwrap(), State::new("http://t/v2"));
    }
}
