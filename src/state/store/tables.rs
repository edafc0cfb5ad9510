//! [`State`] to rows and back. Times are stored as the JSON state file wrote them (serde's
//! RFC 3339 text), so `state export` prints an imported state byte for byte as it was.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension as _, Row, Transaction, params};

use crate::state::{
    ActiveCount, ManagedGroup, ManagedUser, PendingCreate, Rejection, Removal, STATE_VERSION,
    State, StateError, UserOperation,
};

/// Everything the state holds about one source user: the unit a write's outcome commits.
#[derive(Debug, PartialEq)]
pub struct Entry<'s> {
    user: Option<&'s ManagedUser>,
    rejected: Option<&'s Rejection>,
    pending: Option<&'s PendingCreate>,
    not_kept: Option<&'s BTreeMap<String, String>>,
    unverified: Option<&'s BTreeMap<String, String>>,
}

impl<'s> Entry<'s> {
    pub fn of(state: &'s State, source: &str) -> Entry<'s> {
        Entry {
            user: state.users.get(source),
            rejected: state.rejected.get(source),
            pending: state.pending.get(source),
            not_kept: state.not_kept.get(source),
            unverified: state.unverified.get(source),
        }
    }

    /// Makes `state`'s entry for `source` this one.
    pub fn copy_into(&self, state: &mut State, source: &str) {
        fn set<T: Clone>(map: &mut BTreeMap<String, T>, source: &str, value: Option<&T>) {
            match value {
                Some(value) => {
                    map.insert(source.to_owned(), value.clone());
                }
                None => {
                    map.remove(source);
                }
            }
        }
        set(&mut state.users, source, self.user);
        set(&mut state.rejected, source, self.rejected);
        set(&mut state.pending, source, self.pending);
        set(&mut state.not_kept, source, self.not_kept);
        set(&mut state.unverified, source, self.unverified);
    }
}

/// Replaces the rows of `source` with `entry`.
pub fn put_entry(
    tx: &Transaction<'_>,
    target: &str,
    source: &str,
    entry: &Entry<'_>,
) -> rusqlite::Result<()> {
    for table in ["users", "rejected", "pending", "not_kept", "unverified"] {
        tx.prepare_cached(&format!(
            "DELETE FROM {table} WHERE target = ?1 AND source = ?2"
        ))?
        .execute([target, source])?;
    }
    if let Some(user) = entry.user {
        tx.prepare_cached(
            "INSERT INTO users (target, source, id, user_name, active, fingerprint, deactivated_at, written)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            target,
            source,
            user.id,
            user.user_name,
            user.active,
            user.fingerprint,
            user.deactivated_at.as_ref().map(stamp),
            user.written,
        ])?;
    }
    if let Some(rejection) = entry.rejected {
        tx.prepare_cached(
            "INSERT INTO rejected (target, source, operation, status, detail, fingerprint, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            target,
            source,
            rejection.operation.verb(),
            rejection.status,
            rejection.detail,
            rejection.fingerprint,
            stamp(&rejection.at),
        ])?;
    }
    if let Some(pending) = entry.pending {
        tx.prepare_cached(
            "INSERT INTO pending (target, source, match_attribute, match_value, user_name, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            target,
            source,
            pending.match_attribute,
            pending.match_value,
            pending.user_name,
            stamp(&pending.at),
        ])?;
    }
    for (table, paths) in [
        ("not_kept", entry.not_kept),
        ("unverified", entry.unverified),
    ] {
        for (path, fingerprint) in paths.into_iter().flatten() {
            tx.prepare_cached(&format!(
                "INSERT INTO {table} (target, source, path, fingerprint) VALUES (?1, ?2, ?3, ?4)"
            ))?
            .execute([target, source, path, fingerprint])?;
        }
    }
    Ok(())
}

/// Replaces (or deletes) the row of group `key`.
pub fn put_group(
    tx: &Transaction<'_>,
    target: &str,
    key: &str,
    group: Option<&ManagedGroup>,
) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM groups WHERE target = ?1 AND key = ?2")?
        .execute([target, key])?;
    if let Some(group) = group {
        let members = group
            .members
            .as_ref()
            .map(|m| serde_json::to_string(m).unwrap_or_default());
        tx.prepare_cached(
            "INSERT INTO groups (target, key, id, display_name, members) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![target, key, &group.id, &group.display_name, members])?;
    }
    Ok(())
}

/// Makes the removal rows `now`: appends when `now` only grew (one removal per deactivation,
/// the common case), rewrites them when the window moved.
pub fn put_removals(
    tx: &Transaction<'_>,
    target: &str,
    before: &[Removal],
    now: &[Removal],
) -> rusqlite::Result<()> {
    let start = if now.starts_with(before) {
        before.len()
    } else {
        tx.prepare_cached("DELETE FROM removals WHERE target = ?1")?
            .execute([target])?;
        0
    };
    for (seq, removal) in now.iter().enumerate().skip(start) {
        tx.prepare_cached(
            "INSERT INTO removals (target, seq, source, at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![target, seq, removal.source, stamp(&removal.at)])?;
    }
    Ok(())
}

fn put_active_counts(
    tx: &Transaction<'_>,
    target: &str,
    counts: &[ActiveCount],
) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM active_counts WHERE target = ?1")?
        .execute([target])?;
    for (seq, count) in counts.iter().enumerate() {
        tx.prepare_cached(
            "INSERT INTO active_counts (target, seq, at, active) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![target, seq, stamp(&count.at), count.active])?;
    }
    Ok(())
}

/// Writes every difference between `before` (what the database holds) and `now`; whether
/// there was any.
pub fn put_differences(
    tx: &Transaction<'_>,
    target: &str,
    before: &State,
    now: &State,
) -> rusqlite::Result<bool> {
    let mut wrote = false;
    for source in sources(before)
        .chain(sources(now))
        .collect::<std::collections::BTreeSet<_>>()
    {
        let entry = Entry::of(now, source);
        if entry != Entry::of(before, source) {
            put_entry(tx, target, source, &entry)?;
            wrote = true;
        }
    }
    for key in before.groups.keys().chain(now.groups.keys()) {
        if before.groups.get(key) != now.groups.get(key) {
            put_group(tx, target, key, now.groups.get(key))?;
            wrote = true;
        }
    }
    if before.removals != now.removals {
        put_removals(tx, target, &before.removals, &now.removals)?;
        wrote = true;
    }
    if before.active_counts != now.active_counts {
        put_active_counts(tx, target, &now.active_counts)?;
        wrote = true;
    }
    if before.reconcile != now.reconcile {
        put_reconcile(tx, target, &now.target, &now.reconcile)?;
        wrote = true;
    }
    Ok(wrote)
}

/// The target's full-run record, on its row (made here when this is the target's first
/// commit).
fn put_reconcile(
    tx: &Transaction<'_>,
    target: &str,
    url: &str,
    reconcile: &crate::state::reconcile::Reconcile,
) -> rusqlite::Result<()> {
    let json = if reconcile.is_empty() {
        None
    } else {
        Some(
            serde_json::to_string(reconcile)
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
        )
    };
    tx.execute(
        "INSERT INTO targets (name, url, reconcile) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET reconcile = excluded.reconcile",
        params![target, url, json],
    )?;
    Ok(())
}

/// The target's full-run record as its row holds it (empty when it has none).
fn load_reconcile(
    conn: &Connection,
    target: &str,
) -> rusqlite::Result<crate::state::reconcile::Reconcile> {
    let json: Option<String> = conn
        .query_row(
            "SELECT reconcile FROM targets WHERE name = ?1",
            [target],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    json.map_or_else(
        || Ok(Default::default()),
        |json| {
            serde_json::from_str(&json).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    0,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })
        },
    )
}

/// Every source id `state` has an entry for.
fn sources(state: &State) -> impl Iterator<Item = &str> {
    state
        .users
        .keys()
        .chain(state.rejected.keys())
        .chain(state.pending.keys())
        .chain(state.not_kept.keys())
        .chain(state.unverified.keys())
        .map(String::as_str)
}

pub fn insert_target(
    tx: &Transaction<'_>,
    name: &str,
    url: &str,
    imported_from: Option<&str>,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO targets (name, url, imported_from) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO NOTHING",
        params![name, url, imported_from],
    )?;
    Ok(())
}

/// The URL the target's ids belong to; `None` when the database has no row for it.
pub fn target_url(
    conn: &Connection,
    name: &str,
    path: &Path,
) -> Result<Option<String>, StateError> {
    conn.query_row("SELECT url FROM targets WHERE name = ?1", [name], |r| {
        r.get(0)
    })
    .optional()
    .map_err(|e| super::database_error(path, &e))
}

/// The JSON file the target was imported from, if it was.
pub fn imported_from(conn: &Connection, name: &str) -> rusqlite::Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT imported_from FROM targets WHERE name = ?1",
            [name],
            |r| r.get::<_, Option<String>>(0),
        )
        .optional()?
        .flatten())
}

/// The target's state as the database holds it.
pub fn load(conn: &Connection, target: &str, url: &str) -> rusqlite::Result<State> {
    let mut state = State::new(url);
    state.version = STATE_VERSION;
    state.reconcile = load_reconcile(conn, target)?;
    each(
        conn,
        "SELECT source, id, user_name, active, fingerprint, deactivated_at, written FROM users WHERE target = ?1",
        target,
        |r| {
            let mut user =
                ManagedUser::new(r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get(3)?);
            user.fingerprint = r.get(4)?;
            user.deactivated_at = r
                .get::<_, Option<String>>(5)?
                .map(|t| time(&t, 5))
                .transpose()?;
            user.written = r.get(6)?;
            state.users.insert(r.get(0)?, user);
            Ok(())
        },
    )?;
    each(
        conn,
        "SELECT source, operation, status, detail, fingerprint, at FROM rejected WHERE target = ?1",
        target,
        |r| {
            let operation: String = r.get(1)?;
            let rejection = Rejection {
                operation: operation_of(&operation, 1)?,
                status: r.get(2)?,
                detail: r.get(3)?,
                fingerprint: r.get(4)?,
                at: time(&r.get::<_, String>(5)?, 5)?,
            };
            state.rejected.insert(r.get(0)?, rejection);
            Ok(())
        },
    )?;
    each(
        conn,
        "SELECT source, match_attribute, match_value, user_name, at FROM pending WHERE target = ?1",
        target,
        |r| {
            let pending = PendingCreate {
                match_attribute: r.get(1)?,
                match_value: r.get(2)?,
                user_name: r.get(3)?,
                at: time(&r.get::<_, String>(4)?, 4)?,
            };
            state.pending.insert(r.get(0)?, pending);
            Ok(())
        },
    )?;
    for (table, map) in [
        ("not_kept", &mut state.not_kept),
        ("unverified", &mut state.unverified),
    ] {
        each(
            conn,
            &format!("SELECT source, path, fingerprint FROM {table} WHERE target = ?1"),
            target,
            |r| {
                map.entry(r.get(0)?)
                    .or_default()
                    .insert(r.get(1)?, r.get(2)?);
                Ok(())
            },
        )?;
    }
    each(
        conn,
        "SELECT key, id, display_name, members FROM groups WHERE target = ?1",
        target,
        |r| {
            // Unreadable members are unknown: the next run lists the groups.
            let members = r
                .get::<_, Option<String>>(3)?
                .and_then(|m| serde_json::from_str(&m).ok());
            let group = ManagedGroup {
                id: r.get(1)?,
                display_name: r.get(2)?,
                members,
            };
            state.groups.insert(r.get(0)?, group);
            Ok(())
        },
    )?;
    each(
        conn,
        "SELECT source, at FROM removals WHERE target = ?1 ORDER BY seq",
        target,
        |r| {
            state.removals.push(Removal {
                source: r.get(0)?,
                at: time(&r.get::<_, String>(1)?, 1)?,
            });
            Ok(())
        },
    )?;
    each(
        conn,
        "SELECT at, active FROM active_counts WHERE target = ?1 ORDER BY seq",
        target,
        |r| {
            state.active_counts.push(ActiveCount {
                at: time(&r.get::<_, String>(0)?, 0)?,
                active: r.get(1)?,
            });
            Ok(())
        },
    )?;
    Ok(state)
}

/// Runs `sql` for `target` and hands each row to `add`.
fn each(
    conn: &Connection,
    sql: &str,
    target: &str,
    mut add: impl FnMut(&Row<'_>) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query([target])?;
    while let Some(row) = rows.next()? {
        add(row)?;
    }
    Ok(())
}

/// A time as the JSON state file writes it.
fn stamp(at: &DateTime<Utc>) -> String {
    match serde_json::to_value(at) {
        Ok(serde_json::Value::String(text)) => text,
        _ => at.to_rfc3339(),
    }
}

fn time(text: &str, column: usize) -> rusqlite::Result<DateTime<Utc>> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn operation_of(text: &str, column: usize) -> rusqlite::Result<UserOperation> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
    })
}
