//! Where the state lives: one SQLite database per config, the targets a column of every table.
//! The engine keeps working on the in-memory [`State`] it loaded; what changes is *when* a
//! change reaches the disk: each write's outcome (a created id and the fingerprint applied, a
//! pending create, a refusal, a deactivation, a group id) is committed, in one small
//! transaction, as soon as the write completes. A crash (kill -9, a power cut) then loses no
//! completed write: the next run neither repeats nor misses one.
//!
//! Why SQLite: small transactions are what it is built for (a whole-file JSON rewrite per write
//! would cost O(users) per write), WAL mode lets a dry run or `state show` read while a run
//! writes, and `synchronous = FULL` makes a commit durable across power loss, not only across a
//! crash of the process. The library is built in (`rusqlite`'s `bundled`), so every install has
//! the same SQLite.
//!
//! The engine sees two traits only: [`StoreBackend`] takes a target's run lock and opens its
//! state for a run (or reads it with no lock), and the [`Store`] it opens records each write's
//! outcome and holds the lock until it is dropped. A shared database for an active/standby
//! pair (PostgreSQL with an advisory lock) can be added behind them (see [`backend`]).
//!
//! Migration: a target with no row yet whose JSON state file (what scimsync kept before) exists
//! is imported from it in one transaction on first use; the file is then renamed to
//! `<file>.migrated` and kept as a backup. A damaged file is an error naming it; nothing is
//! imported. Reads that write nothing (a dry run, `state show`, `state export`) never create
//! the database nor import: they read the JSON file while it is still the state.

pub mod backend;
mod schema;
mod tables;

pub use backend::{OpenError, StoreBackend, backend_for};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::lock::StateLock;
use super::{State, StateError};
use crate::config::Target;

/// What the engine needs from the state's storage for one target during a run.
///
/// Each `record_*` compares what `state` holds now with what is committed and writes the
/// difference in one transaction (nothing at all when there is none). A record that fails
/// marks the store failed: the run starts no new write, and the error is returned by the next
/// [`Store::record_rest`].
pub trait Store: Send + Sync {
    /// Commits the entries of `sources` (managed user, pending create, refusal, values not
    /// kept or unverified) as `state` holds them now, and the removals window if it grew.
    fn record_users(&self, state: &State, sources: &[&str]) -> Result<(), StateError>;
    /// Commits the pushed group `key` as `state` holds it now.
    fn record_group(&self, state: &State, key: &str) -> Result<(), StateError>;
    /// Commits everything else that differs: run-level facts (active counts, the removals
    /// window), what the listing learned, the pending creates. Before a run's first write,
    /// at its end, and for `forget`.
    fn record_rest(&self, state: &State) -> Result<(), StateError>;
    /// A record failed: no new write may start.
    fn failed(&self) -> bool;
}

/// Where one target's state is: the config's database, the target's name in it, the URL its
/// ids belong to, and the JSON file an older scimsync kept (imported from, the lock beside it).
#[derive(Clone, Debug)]
pub struct Location {
    pub database: PathBuf,
    pub name: String,
    pub url: String,
    pub legacy: PathBuf,
}

impl Location {
    pub fn of(target: &Target) -> Location {
        Location {
            database: target.database.clone(),
            name: target.name.clone(),
            url: target.scim.url.clone(),
            legacy: target.state.clone(),
        }
    }

    /// The backup an imported JSON file is renamed to.
    pub fn backup(&self) -> PathBuf {
        super::beside(&self.legacy, ".migrated")
    }

    /// Whether this target has any state at all: a row in the database or a JSON file.
    pub fn exists(&self) -> Result<bool, StateError> {
        if self.legacy.exists() {
            return Ok(true);
        }
        match open_existing(&self.database)? {
            Some(conn) => Ok(tables::target_url(&conn, &self.name, &self.database)?.is_some()),
            None => Ok(false),
        }
    }
}

/// A target's state in the database, open for writing: holds the target's run lock.
pub struct SqliteStore {
    inner: Mutex<Inner>,
    failed: AtomicBool,
    location: Location,
    _lock: StateLock,
}

struct Inner {
    conn: Connection,
    /// What the database holds for the target: each record writes the difference from it.
    committed: State,
    /// The target has its row. A new target gets it with its first commit, so a run that
    /// fails before recording anything leaves no state behind, as the JSON file did.
    registered: bool,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("database", &self.location.database)
            .field("target", &self.location.name)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating it if needed) the database for a writing run that holds `lock`,
    /// imports the target's JSON state file if it has no row yet, and loads its state. The
    /// engine opens through [`StoreBackend::open_for_run`], which takes the lock.
    fn open(lock: StateLock, location: &Location) -> Result<(SqliteStore, State), StateError> {
        let conn = open_for_writing(&location.database)?;
        let (state, registered) = load_or_import(&conn, location)?;
        let store = SqliteStore {
            inner: Mutex::new(Inner {
                conn,
                committed: state.clone(),
                registered,
            }),
            failed: AtomicBool::new(false),
            location: location.clone(),
            _lock: lock,
        };
        Ok((store, state))
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding it cannot leave `committed` ahead of the database: it is
        // updated only after a commit.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `write` in one immediate transaction; on success `committed` takes `state`'s
    /// values for what was written (`update`).
    fn commit(
        &self,
        write: impl FnOnce(&rusqlite::Transaction<'_>, &State) -> rusqlite::Result<bool>,
        update: impl FnOnce(&mut State),
    ) -> Result<(), StateError> {
        let mut inner = self.inner();
        let Inner {
            conn,
            committed,
            registered,
        } = &mut *inner;
        let location = &self.location;
        let result = (|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let wrote = write(&tx, committed)?;
            if wrote {
                if !*registered {
                    tables::insert_target(&tx, &location.name, &committed.target, None)?;
                }
                tx.commit()?;
            }
            Ok(wrote)
        })();
        match result {
            Ok(wrote) => {
                *registered |= wrote;
                update(committed);
                Ok(())
            }
            Err(e) => {
                self.failed.store(true, Ordering::SeqCst);
                let error = database_error(&self.location.database, &e);
                tracing::error!(%error, target = %self.location.name, "the state could not be recorded; no new write starts");
                Err(error)
            }
        }
    }
}

impl Store for SqliteStore {
    fn record_users(&self, state: &State, sources: &[&str]) -> Result<(), StateError> {
        let target = self.location.name.as_str();
        self.commit(
            |tx, committed| {
                let mut wrote = false;
                for source in sources {
                    let entry = tables::Entry::of(state, source);
                    if entry != tables::Entry::of(committed, source) {
                        tables::put_entry(tx, target, source, &entry)?;
                        wrote = true;
                    }
                }
                if state.removals != committed.removals {
                    tables::put_removals(tx, target, &committed.removals, &state.removals)?;
                    wrote = true;
                }
                Ok(wrote)
            },
            |committed| {
                for source in sources {
                    tables::Entry::of(state, source).copy_into(committed, source);
                }
                committed.removals.clone_from(&state.removals);
            },
        )
    }

    fn record_group(&self, state: &State, key: &str) -> Result<(), StateError> {
        let target = self.location.name.as_str();
        let group = state.groups.get(key);
        self.commit(
            |tx, committed| {
                if committed.groups.get(key) == group {
                    return Ok(false);
                }
                tables::put_group(tx, target, key, group)?;
                Ok(true)
            },
            |committed| match group {
                Some(group) => {
                    committed.groups.insert(key.to_owned(), group.clone());
                }
                None => {
                    committed.groups.remove(key);
                }
            },
        )
    }

    fn record_rest(&self, state: &State) -> Result<(), StateError> {
        let target = self.location.name.as_str();
        let result = self.commit(
            |tx, committed| tables::put_differences(tx, target, committed, state),
            |committed| committed.clone_from(state),
        );
        // A record that failed earlier in the run fails the run, even if this one went through.
        match result {
            Ok(()) if self.failed() => Err(StateError::Write {
                path: self.location.database.display().to_string(),
                reason: "a write's outcome could not be recorded during the run (see the log)"
                    .into(),
            }),
            other => other,
        }
    }

    fn failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }
}

/// The target's state as last committed, for a reader that writes nothing (a dry run,
/// `state show`, `state export`): from the database when it holds the target, else from the
/// JSON state file not imported yet, else empty. Creates nothing. The engine reads through
/// [`StoreBackend::load`].
fn read(location: &Location) -> Result<State, StateError> {
    if let Some(conn) = open_existing(&location.database)?
        && let Some(url) = tables::target_url(&conn, &location.name, &location.database)?
    {
        check_url(location, &url)?;
        return tables::load(&conn, &location.name, &url)
            .map_err(|e| database_error(&location.database, &e));
    }
    State::load(&location.legacy, &location.url)
}

/// Opens the database without creating it; `None` when there is none.
fn open_existing(path: &Path) -> Result<Option<Connection>, StateError> {
    if !path.exists() {
        return Ok(None);
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| database_error(path, &e))?;
    configure(&conn, path)?;
    if !schema::check_readable(&conn, path)? {
        return Ok(None);
    }
    Ok(Some(conn))
}

/// Opens the database, creating it (owner-only) and its tables when needed.
fn open_for_writing(path: &Path) -> Result<Connection, StateError> {
    if !path.exists() {
        create_private(path)?;
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| database_error(path, &e))?;
    configure(&conn, path)?;
    schema::migrate(&conn, path)?;
    Ok(conn)
}

/// An empty file, readable by its owner only: SQLite gives its `-wal` and `-shm` files the
/// database's permissions.
fn create_private(path: &Path) -> Result<(), StateError> {
    let fail = |e: std::io::Error| StateError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let file = scimsync_secure::private_file::create(path).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    // Make the new file's name durable too.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(dir) = std::fs::File::open(dir)
    {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// WAL (readers do not wait for the writer; a commit appends, it does not rewrite), and
/// `synchronous = FULL`: every commit is fsynced before it returns, so a recorded outcome
/// survives a power cut, not only a killed process (NORMAL would lose the last commits on
/// power loss, and with them the record of writes the target has made).
fn configure(conn: &Connection, path: &Path) -> Result<(), StateError> {
    let setup = || -> rusqlite::Result<()> {
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(database = %path.display(), mode, "the state database is not in WAL mode");
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        Ok(())
    };
    setup().map_err(|e| database_error(path, &e))
}

/// Loads the target's rows, and whether it has its row; a target with none is imported from
/// its JSON state file (and gets its row), or starts empty (its row comes with its first
/// commit).
fn load_or_import(conn: &Connection, location: &Location) -> Result<(State, bool), StateError> {
    let database = &location.database;
    if let Some(url) = tables::target_url(conn, &location.name, database)? {
        check_url(location, &url)?;
        finish_interrupted_backup(conn, location)?;
        let state =
            tables::load(conn, &location.name, &url).map_err(|e| database_error(database, &e))?;
        return Ok((state, true));
    }
    if !location.legacy.exists() {
        return Ok((State::new(&location.url), false));
    }
    // A damaged or foreign file stops here, before anything is written.
    let state = State::load(&location.legacy, &location.url)?;
    let write = || -> rusqlite::Result<()> {
        // Immediate, as every write here: the lock is waited for, never refused midway.
        let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
        let from = location.legacy.display().to_string();
        tables::insert_target(&tx, &location.name, &state.target, Some(&from))?;
        tables::put_differences(&tx, &location.name, &State::new(&state.target), &state)?;
        tx.commit()
    };
    write().map_err(|e| database_error(database, &e))?;
    let backup = keep_as_backup(location)?;
    // Once per target, and worth seeing without -v: where the state went, where the file is.
    tracing::warn!(
        state = %location.legacy.display(),
        database = %database.display(),
        backup = %backup.display(),
        target = %location.name,
        users = state.users.len(),
        "imported the JSON state file into the state database; the file is kept as a backup"
    );
    Ok((state, true))
}

/// The target's row names another URL: its ids belong to another server.
fn check_url(location: &Location, url: &str) -> Result<(), StateError> {
    if url.trim_end_matches('/') == location.url.trim_end_matches('/') {
        return Ok(());
    }
    Err(StateError::OtherTarget {
        path: format!("{} (target {})", location.database.display(), location.name),
        found: url.to_owned(),
        expected: location.url.clone(),
    })
}

/// Renames the imported JSON file to its backup name (never over an earlier backup), and
/// makes the rename durable.
fn keep_as_backup(location: &Location) -> Result<PathBuf, StateError> {
    let backup = free_backup_name(&location.backup());
    let fail = |e: std::io::Error| StateError::Write {
        path: location.legacy.display().to_string(),
        reason: format!(
            "imported, but cannot rename it to {}: {e}",
            backup.display()
        ),
    };
    std::fs::rename(&location.legacy, &backup).map_err(fail)?;
    if let Some(dir) = backup.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(dir) = std::fs::File::open(dir)
    {
        let _ = dir.sync_all();
    }
    Ok(backup)
}

/// `path`, or `path.1`, `path.2`, ... when it is taken (bounded: 1,000 backups).
fn free_backup_name(path: &Path) -> PathBuf {
    if !path.exists() {
        return path.to_owned();
    }
    (1..1000)
        .map(|n| super::beside(path, &format!(".{n}")))
        .find(|p| !p.exists())
        .unwrap_or_else(|| path.to_owned())
}

/// A crash between the import's commit and the rename left the JSON file in place: rename it
/// now. A JSON file the database was not imported from is left alone, with a warning.
fn finish_interrupted_backup(conn: &Connection, location: &Location) -> Result<(), StateError> {
    if !location.legacy.exists() {
        return Ok(());
    }
    let from = tables::imported_from(conn, &location.name)
        .map_err(|e| database_error(&location.database, &e))?;
    if from.as_deref() == Some(location.legacy.display().to_string().as_str()) {
        keep_as_backup(location)?;
        return Ok(());
    }
    tracing::warn!(
        state = %location.legacy.display(),
        database = %location.database.display(),
        target = %location.name,
        "a JSON state file is present but the state database already holds this target; the file is ignored"
    );
    Ok(())
}

fn database_error(path: &Path, error: &rusqlite::Error) -> StateError {
    StateError::Database {
        path: path.display().to_string(),
        reason: error.to_string(),
    }
}

/// The state of target `name` as `database` holds it, whatever URL it names; `None` when the
/// database or the target's row is not there (tests, and tools that inspect a database).
pub fn read_named(database: &Path, name: &str) -> Result<Option<State>, StateError> {
    let Some(conn) = open_existing(database)? else {
        return Ok(None);
    };
    let Some(url) = tables::target_url(&conn, name, database)? else {
        return Ok(None);
    };
    tables::load(&conn, name, &url)
        .map(Some)
        .map_err(|e| database_error(database, &e))
}

/// Every target's state in the database, by name (for `state export` of targets no longer in
/// the config, and tests).
pub fn target_names(database: &Path) -> Result<Vec<String>, StateError> {
    let Some(conn) = open_existing(database)? else {
        return Ok(Vec::new());
    };
    let names = || -> rusqlite::Result<Vec<String>> {
        let mut statement = conn.prepare("SELECT name FROM targets ORDER BY name")?;
        statement
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()
    };
    names().map_err(|e| database_error(database, &e))
}

#[cfg(test)]
mod tests;
