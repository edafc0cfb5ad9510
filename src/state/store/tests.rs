//! The store against real databases in temporary directories.

use super::*;
use crate::state::{ManagedUser, PendingCreate, Removal};
use chrono::TimeZone as _;

fn location(dir: &Path, name: &str) -> Location {
    Location {
        database: dir.join("state/scimsync.db"),
        name: name.to_owned(),
        url: "http://t/v2".to_owned(),
        legacy: dir.join(format!("state/{name}.json")),
    }
}

fn open(location: &Location) -> (SqliteStore, State) {
    let lock = StateLock::acquire(&location.legacy).unwrap();
    SqliteStore::open(lock, location).unwrap()
}

fn at(second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, second).unwrap()
}

use chrono::{DateTime, Utc};

#[test]
fn each_recorded_user_is_in_the_database_before_the_run_ends() {
    let dir = tempfile::tempdir().unwrap();
    let place = location(dir.path(), "app");
    let (store, mut state) = open(&place);
    assert_eq!(state, State::new("http://t/v2"));
    state.pending.insert(
        "s1".into(),
        PendingCreate {
            match_attribute: "userName".into(),
            match_value: "a@x".into(),
            user_name: "a@x".into(),
            at: at(1),
        },
    );
    store.record_users(&state, &["s1"]).unwrap();
    // Another reader (a dry run) sees the pending create while the writer holds the lock.
    assert_eq!(read(&place).unwrap().pending, state.pending);
    state.pending.clear();
    let mut user = ManagedUser::new("id1", "a@x", true);
    user.fingerprint = Some("f1".into());
    state.users.insert("s1".into(), user);
    state.removals.push(Removal {
        source: "s0".into(),
        at: at(2),
    });
    store.record_users(&state, &["s1"]).unwrap();
    let read_back = read(&place).unwrap();
    assert_eq!(read_back, state);
    assert!(!store.failed());
    drop(store);
    let (_again, loaded) = open(&place);
    assert_eq!(loaded, state);
}

#[test]
fn the_rest_is_written_as_differences_and_targets_are_kept_apart() {
    let dir = tempfile::tempdir().unwrap();
    let (first, mut a) = open(&location(dir.path(), "a"));
    let (second, mut b) = open(&location(dir.path(), "b"));
    a.users
        .insert("s1".into(), ManagedUser::new("1", "x@x", true));
    a.groups.insert(
        "eng".into(),
        crate::state::ManagedGroup {
            id: "g1".into(),
            display_name: "Eng".into(),
            members: Some(["1".to_owned(), "7".to_owned()].into()),
        },
    );
    a.note_active(at(3));
    b.users
        .insert("s1".into(), ManagedUser::new("9", "y@x", false));
    first.record_rest(&a).unwrap();
    second.record_rest(&b).unwrap();
    assert_eq!(read(&location(dir.path(), "a")).unwrap(), a, "members kept");
    a.users.remove("s1");
    a.groups.clear();
    first.record_rest(&a).unwrap();
    assert_eq!(read(&location(dir.path(), "a")).unwrap(), a);
    assert_eq!(read(&location(dir.path(), "b")).unwrap(), b);
    assert_eq!(
        target_names(&dir.path().join("state/scimsync.db")).unwrap(),
        ["a", "b"]
    );
}

#[test]
fn a_json_state_file_is_imported_once_and_kept_as_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    let place = location(dir.path(), "app");
    let mut old = State::new("http://t/v2/");
    let mut user = ManagedUser::new("id1", "a@x", false);
    user.deactivated_at = Some(at(4));
    user.fingerprint = Some("f".into());
    old.users.insert("s1".into(), user);
    old.removals.push(Removal {
        source: "s1".into(),
        at: at(4),
    });
    old.save(&place.legacy).unwrap();
    let bytes = std::fs::read(&place.legacy).unwrap();
    // A reader before the import reads the file and creates nothing.
    assert_eq!(read(&place).unwrap(), old);
    assert!(!place.database.exists());

    let (store, loaded) = open(&place);
    assert_eq!(loaded, old);
    assert!(!place.legacy.exists());
    assert_eq!(std::fs::read(place.backup()).unwrap(), bytes);
    drop(store);
    // What the database holds serializes to the very bytes of the old file.
    let mut text = serde_json::to_vec_pretty(&read(&place).unwrap()).unwrap();
    text.push(b'\n');
    assert_eq!(text, bytes);
    // A second open imports nothing more.
    let (_store, again) = open(&place);
    assert_eq!(again, old);
}

#[test]
fn a_damaged_json_state_file_is_an_error_naming_it_and_nothing_is_imported() {
    let dir = tempfile::tempdir().unwrap();
    let place = location(dir.path(), "app");
    std::fs::create_dir_all(place.legacy.parent().unwrap()).unwrap();
    std::fs::write(&place.legacy, "{\"version\": 2, \"users\": ").unwrap();
    let lock = StateLock::acquire(&place.legacy).unwrap();
    let error = SqliteStore::open(lock, &place).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with(&format!("state {} is damaged: ", place.legacy.display())),
        "{error}"
    );
    assert!(place.legacy.exists());
    assert!(!place.backup().exists());
    assert_eq!(target_names(&place.database).unwrap(), Vec::<String>::new());
}

#[test]
fn a_target_whose_url_changed_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let place = location(dir.path(), "app");
    let (store, mut state) = open(&place);
    state
        .users
        .insert("s1".into(), ManagedUser::new("id1", "a@x", true));
    store.record_users(&state, &["s1"]).unwrap();
    drop(store);
    let moved = Location {
        url: "http://other/v2".into(),
        ..place.clone()
    };
    let error = read(&moved).unwrap_err();
    assert!(matches!(error, StateError::OtherTarget { .. }), "{error}");
    let lock = StateLock::acquire(&place.legacy).unwrap();
    assert!(matches!(
        SqliteStore::open(lock, &moved),
        Err(StateError::OtherTarget { .. })
    ));
}

#[test]
fn the_database_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let place = location(dir.path(), "app");
    drop(open(&place));
    let mode = std::fs::metadata(&place.database)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o600);
}

#[test]
fn a_database_from_a_newer_scimsync_is_refused_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let place = location(dir.path(), "app");
    drop(open(&place));
    let conn = Connection::open(&place.database).unwrap();
    conn.execute("UPDATE schema_version SET version = version + 1", [])
        .unwrap();
    drop(conn);
    let error = read(&place).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "state database {}: schema version {} was written by a newer scimsync (this one knows up to {})",
            place.database.display(),
            schema::SCHEMA_VERSION + 1,
            schema::SCHEMA_VERSION
        )
    );
    let lock = StateLock::acquire(&place.legacy).unwrap();
    assert!(SqliteStore::open(lock, &place).is_err());
}

#[test]
fn an_outcome_already_committed_writes_nothing_again() {
    let dir = tempfile::tempdir().unwrap();
    let place = location(dir.path(), "app");
    let (store, mut state) = open(&place);
    for i in 0..3 {
        state.users.insert(
            format!("s{i}"),
            ManagedUser::new(format!("id{i}"), "u@x", true),
        );
    }
    store.record_users(&state, &["s0", "s1", "s2"]).unwrap();
    let changes = |store: &SqliteStore| store.inner().conn.total_changes();
    let before = changes(&store);
    // Nothing differs from what is committed: no statement runs.
    store.record_users(&state, &["s0", "s1", "s2"]).unwrap();
    store.record_rest(&state).unwrap();
    assert_eq!(changes(&store), before);
    assert_eq!(read(&place).unwrap().users, state.users);
}

#[test]
fn an_import_cut_off_before_its_rename_is_finished_not_repeated() {
    let dir = tempfile::tempdir().unwrap();
    let place = location(dir.path(), "app");
    let mut old = State::new("http://t/v2");
    old.users
        .insert("s1".into(), ManagedUser::new("id1", "a@x", true));
    old.save(&place.legacy).unwrap();
    let (store, mut state) = open(&place);
    state.users.get_mut("s1").unwrap().active = false;
    store.record_users(&state, &["s1"]).unwrap();
    drop(store);
    // As if the process died after the import's commit and before the rename.
    std::fs::rename(place.backup(), &place.legacy).unwrap();
    let (_store, loaded) = open(&place);
    assert_eq!(loaded, state, "the database is not imported over");
    assert!(!place.legacy.exists());
    assert_eq!(
        State::load(&place.backup(), "http://t/v2").unwrap(),
        old,
        "the file is kept as the backup"
    );
}

#[test]
fn processes_migrating_one_new_database_at_once_all_succeed() {
    // Every run opens (and so migrates) the config's one database; runs of two targets start
    // together. A migration that read the version and then wrote, in a deferred
    // transaction, failed with SQLITE_BUSY when another connection migrated in between.
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scimsync.db");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (path, barrier) = (path.clone(), std::sync::Arc::clone(&barrier));
                std::thread::spawn(move || {
                    let conn = Connection::open(&path).unwrap();
                    conn.busy_timeout(std::time::Duration::from_secs(10))
                        .unwrap();
                    let _: String = conn
                        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                        .unwrap();
                    barrier.wait();
                    schema::migrate(&conn, &path).map_err(|e| e.to_string())
                })
            })
            .collect();
        for thread in threads {
            assert_eq!(thread.join().unwrap(), Ok(()), "round {round}");
        }
        let conn = Connection::open(&path).unwrap();
        let version: i64 = conn
            .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, i64::try_from(schema::SCHEMA_VERSION).unwrap());
    }
}
