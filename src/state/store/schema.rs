//! The database's tables, and how a database made by an older scimsync is brought up to date:
//! `schema_version` holds the number of migrations applied; each migration is one batch of
//! SQL run in the transaction that also bumps the number. A database from a newer scimsync
//! (more migrations than this one knows) is refused rather than written in a shape it does not
//! expect.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension as _, Transaction, TransactionBehavior};

use crate::state::StateError;

/// Migrations in order; the schema version is how many of them a database has applied. Never
/// edit one that has shipped: add the next.
const MIGRATIONS: &[&str] = &[
    // 1: the state of issue 15, one row per fact, every table keyed by target first.
    "
    CREATE TABLE targets (
        name TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        imported_from TEXT
    );
    CREATE TABLE users (
        target TEXT NOT NULL,
        source TEXT NOT NULL,
        id TEXT NOT NULL,
        user_name TEXT NOT NULL,
        active INTEGER NOT NULL,
        fingerprint TEXT,
        deactivated_at TEXT,
        PRIMARY KEY (target, source)
    );
    CREATE TABLE rejected (
        target TEXT NOT NULL,
        source TEXT NOT NULL,
        operation TEXT NOT NULL,
        status INTEGER,
        detail TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (target, source)
    );
    CREATE TABLE pending (
        target TEXT NOT NULL,
        source TEXT NOT NULL,
        match_attribute TEXT NOT NULL,
        match_value TEXT NOT NULL,
        user_name TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (target, source)
    );
    CREATE TABLE not_kept (
        target TEXT NOT NULL,
        source TEXT NOT NULL,
        path TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        PRIMARY KEY (target, source, path)
    );
    CREATE TABLE unverified (
        target TEXT NOT NULL,
        source TEXT NOT NULL,
        path TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        PRIMARY KEY (target, source, path)
    );
    CREATE TABLE groups (
        target TEXT NOT NULL,
        key TEXT NOT NULL,
        id TEXT NOT NULL,
        display_name TEXT NOT NULL,
        PRIMARY KEY (target, key)
    );
    CREATE TABLE removals (
        target TEXT NOT NULL,
        seq INTEGER NOT NULL,
        source TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (target, seq)
    );
    CREATE TABLE active_counts (
        target TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        active INTEGER NOT NULL,
        PRIMARY KEY (target, seq)
    );
    ",
    // 2: what the target's full reconciliations left (issue 15's incremental runs): when the
    // last one completed and the filtering verdict, as JSON (`state::reconcile::Reconcile`).
    "ALTER TABLE targets ADD COLUMN reconcile TEXT;",
    // 3: what the last write left on each user (`sync::written::LastWritten`, JSON), so an
    // incremental run PATCHes a changed user without reading it first.
    "ALTER TABLE users ADD COLUMN written TEXT;",
    // 4: the managed members each pushed group holds as scimsync last left it (a JSON array
    // of target ids), so an incremental run does not list /Groups.
    "ALTER TABLE groups ADD COLUMN members TEXT;",
];

/// The schema version this scimsync writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// Applies the migrations `conn` lacks, each in its own transaction.
pub fn migrate(conn: &Connection, path: &Path) -> Result<(), StateError> {
    let fail = |e: rusqlite::Error| super::database_error(path, &e);
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        .map_err(fail)?;
    let applied = version(conn).map_err(fail)?;
    refuse_newer(applied, path)?;
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
        // IMMEDIATE: the write lock is taken (waiting out the busy timeout) before the
        // version is read. A deferred transaction that read first could not upgrade once
        // another process had migrated meanwhile: SQLITE_BUSY, not a wait.
        let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate).map_err(fail)?;
        // Another process may have migrated since `version` was read: check inside.
        if version(&tx).map_err(fail)? > index {
            continue;
        }
        tx.execute_batch(migration).map_err(fail)?;
        tx.execute("DELETE FROM schema_version", []).map_err(fail)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [i64::try_from(index + 1).unwrap_or(i64::MAX)],
        )
        .map_err(fail)?;
        tx.commit().map_err(fail)?;
    }
    Ok(())
}

/// A reader checks the version without changing anything: `false` for a database with no
/// tables yet (created, never written), an error for one this scimsync cannot read.
pub fn check_readable(conn: &Connection, path: &Path) -> Result<bool, StateError> {
    let exists: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| super::database_error(path, &e))?;
    let applied = match exists {
        Some(_) => version(conn).map_err(|e| super::database_error(path, &e))?,
        None => 0,
    };
    refuse_newer(applied, path)?;
    if applied == 0 {
        return Ok(false);
    }
    if applied < SCHEMA_VERSION {
        // An older layout: the next writing run migrates it. Reading it as it is would need
        // the old queries, which this version does not keep.
        return Err(StateError::Database {
            path: path.display().to_string(),
            reason: format!(
                "schema version {applied} is older than {SCHEMA_VERSION}; run `scimsync sync` once to update it"
            ),
        });
    }
    Ok(true)
}

fn refuse_newer(applied: usize, path: &Path) -> Result<(), StateError> {
    if applied > SCHEMA_VERSION {
        return Err(StateError::Database {
            path: path.display().to_string(),
            reason: format!(
                "schema version {applied} was written by a newer scimsync (this one knows up to {SCHEMA_VERSION})"
            ),
        });
    }
    Ok(())
}

fn version(conn: &Connection) -> rusqlite::Result<usize> {
    let version: Option<i64> = conn
        .query_row("SELECT max(version) FROM schema_version", [], |r| r.get(0))
        .optional()?
        .flatten();
    Ok(version.and_then(|v| usize::try_from(v).ok()).unwrap_or(0))
}
