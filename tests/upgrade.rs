//! Upgrading from the single-target scimsync (commit 4c4aebd, the last before `[[target]]`):
//! its config and state keep working, with zero writes on the first run after the upgrade.
//! The state file is imported into the state database on that first run and kept, byte for
//! byte, as `<file>.migrated`; `state export --json` prints what the file held.
//!
//! The fixtures in `tests/fixtures/upgrade/` were written by that commit's binary
//! (`regenerate.sh` there says how): its state file, the users it left on the server, and what
//! its no-op run, `check` and `state show` printed. A state file names its target's URL and
//! holds the ids that server gave, so the test re-creates the same users on a fresh
//! scim2-server and puts that server's URL and ids in place of the old ones; every other byte
//! of the state is the old binary's.

use std::path::Path;

use serde_json::Value as Json;

use crate::support;
use support::{Project, ScimServer, scimsync, scimsync_in};

fn fixture(name: &str) -> String {
    let path = support::repo().join("tests/fixtures/upgrade").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Creates the old server's users on `server`; returns each old id with its new one.
fn recreate_users(server: &ScimServer) -> Vec<(String, String)> {
    let users: Vec<Json> = serde_json::from_str(&fixture("server-users.json")).expect("JSON");
    users
        .into_iter()
        .map(|mut user| {
            let old = user["id"].as_str().expect("an id").to_owned();
            user.as_object_mut().expect("a user").remove("id");
            let created = server.create(user);
            (old, created["id"].as_str().expect("a new id").to_owned())
        })
        .collect()
}

/// `text` with the old server's URL and ids replaced by the new server's.
fn moved(text: &str, old_url: &str, new_url: &str, ids: &[(String, String)]) -> String {
    ids.iter()
        .fold(text.replace(old_url, new_url), |text, (old, new)| {
            text.replace(old.as_str(), new)
        })
}

/// The server's users as `(userName, active)`, to show they are as the old binary left them.
fn users(server: &ScimServer) -> Vec<(String, bool)> {
    server
        .users()
        .iter()
        .map(|u| {
            (
                u["userName"].as_str().unwrap_or_default().to_owned(),
                u["active"].as_bool().unwrap_or(true),
            )
        })
        .collect()
}

#[test]
fn a_single_target_config_and_state_from_before_many_targets_sync_with_zero_writes() {
    let server = ScimServer::start();
    let ids = recreate_users(&server);
    let old_state = fixture("state.json");
    let old_url = serde_json::from_str::<Json>(&old_state).expect("state JSON")["target"]
        .as_str()
        .expect("the state names its target")
        .to_owned();
    let state = moved(&old_state, &old_url, &server.url, &ids);
    let left_by_old_binary = users(&server);
    assert_eq!(
        left_by_old_binary,
        [
            ("ada@example.com".to_owned(), true),
            ("alan@example.com".to_owned(), true),
            ("grace@example.com".to_owned(), true),
            ("ken@example.com".to_owned(), false),
            ("zoe@example.com".to_owned(), true),
        ]
    );

    // `[state] path` named a directory (state.json inside it) or a `.json` file: both work.
    // The database is `scimsync.db` in the directory, or beside the file with `.db`.
    for (setting, file, database) in [
        ("state", "state/state.json", "state/scimsync.db"),
        (
            "scimsync-state.json",
            "scimsync-state.json",
            "scimsync-state.db",
        ),
    ] {
        let project = Project::new();
        project.write("app.map", &fixture("app.map"));
        project.write("users.json", &fixture("users.json"));
        let config = project.write(
            "scimsync.toml",
            &fixture("scimsync.toml")
                .replace("@URL@", &server.url)
                .replace("@STATE@", setting),
        );
        let config = config.to_str().expect("UTF-8 path");
        let state_file = project.write(file, &state);
        let token = Some(server.token.as_str());
        let requests = server.requests().len();

        let run = scimsync(&["sync", "--config", config], token);
        assert_eq!(
            run.code,
            0,
            "[state] path = {setting}: {}",
            run.all_output()
        );
        assert_eq!(
            run.stdout,
            fixture("noop.stdout"),
            "as the old binary printed"
        );
        let sent = server.requests();
        assert!(
            sent[requests..].iter().all(|r| r.method == "GET"),
            "[state] path = {setting}: only reads: {:?}",
            &sent[requests..]
        );
        // Imported: the file is kept byte for byte as the backup. The log says so, without -v.
        let backup = project.path(&format!("{file}.migrated"));
        assert!(
            run.stderr.contains(
                "imported the JSON state file into the state database; the file is kept as a backup"
            ) && run.stderr.contains(&backup.display().to_string()),
            "{}",
            run.stderr
        );
        assert!(!state_file.exists(), "[state] path = {setting}: renamed");
        assert_eq!(
            std::fs::read_to_string(&backup).expect("backup"),
            state,
            "[state] path = {setting}: the backup is the old file"
        );
        let export = |config: &str| {
            let run = scimsync(&["state", "export", "--json", "--config", config], token);
            assert_eq!(run.code, 0, "{}", run.all_output());
            run.stdout
        };
        // The first run after the upgrade is a full one (the old state never recorded one):
        // the database holds exactly what the old file held, plus when that full run
        // completed, so the next runs can be incremental.
        let mut saved: Json = serde_json::from_str(&export(config)).expect("state JSON");
        let reconcile = saved
            .as_object_mut()
            .expect("state object")
            .remove("reconcile")
            .expect("the full run is recorded");
        assert!(reconcile["lastFull"].is_string(), "{reconcile}");
        assert_eq!(reconcile.as_object().map(|o| o.len()), Some(1));
        // ... and, for each active user the full run found as desired, what it holds (so
        // later incremental runs write a changed user without reading it first).
        for (source, user) in saved["users"].as_object_mut().expect("users") {
            let written = user.as_object_mut().and_then(|u| u.remove("written"));
            let active = user["active"] == true;
            assert_eq!(written.is_some(), active, "{source}: {written:?}");
            if let Some(written) = written {
                assert_eq!(written["values"]["userName"], user["userName"], "{source}");
            }
        }
        assert_eq!(
            saved,
            serde_json::from_str::<Json>(&state).expect("old state"),
            "[state] path = {setting}: nothing else in the state changes"
        );
        assert_eq!(
            support::state_in(&project.path(database), None).expect("imported"),
            serde_json::from_str::<Json>(&export(config)).expect("JSON"),
            "[state] path = {setting}: the export is the database"
        );
        // The next run is incremental: no request, and the state is not changed.
        let recorded = export(config);
        let requests = server.requests().len();
        let again = scimsync(&["sync", "--config", config], token);
        assert_eq!(again.code, 0, "{}", again.all_output());
        assert_eq!(
            server.requests().len(),
            requests,
            "an incremental no-op sends nothing"
        );
        assert_eq!(
            export(config),
            recorded,
            "[state] path = {setting}: the state is not changed"
        );
        assert_no_audit_lines(&project.path("audit.jsonl"));

        let check = scimsync_in(
            &["check", "--config", "scimsync.toml"],
            token,
            Some(project.dir.path()),
        );
        assert_eq!(check.code, 0, "{}", check.all_output());
        assert_eq!(check.stdout, fixture("check.stdout"));

        // What the old binary printed, line for line, then the full run the upgrade made.
        let show = scimsync(&["state", "show", "--config", config], token);
        assert_eq!(show.code, 0, "{}", show.all_output());
        assert_eq!(
            show.stdout,
            moved(&fixture("state-show.txt"), &old_url, &server.url, &ids)
                + &support::shown_full_runs(&serde_json::from_str(&recorded).expect("JSON"))
        );

        // The target is named after its URL's host.
        let run = scimsync(&["sync", "--config", config, "--output", "json"], token);
        assert_eq!(run.code, 0, "{}", run.all_output());
        let report: Json = serde_json::from_str(&run.stdout).expect("JSON report");
        assert_eq!(
            report["targets"],
            serde_json::json!([{"name": "127.0.0.1", "status": "ok", "exit_code": 0}])
        );
        assert_eq!(report["summary"]["unchanged"], 4);
        assert_eq!(report["requests"]["writes"], 0);
        assert_eq!(export(config), recorded, "a no-op run changes nothing");
        assert_eq!(
            std::fs::read_to_string(&backup).expect("backup"),
            state,
            "imported once: the backup is not touched again"
        );
        // No other state file appeared (none named after the target, say), and no WAL file
        // outlives the runs.
        let lock = format!("{file}.lock");
        let migrated = format!("{file}.migrated");
        let mut expected = vec![
            "app.map",
            "audit.jsonl",
            "scimsync.toml",
            database,
            migrated.as_str(),
            lock.as_str(),
            "users.json",
        ];
        expected.sort_unstable();
        assert_eq!(files_under(project.dir.path()), expected);
    }
    assert_eq!(users(&server), left_by_old_binary);
}

/// Every file under `dir`, as paths relative to it, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    // Bounded: a scratch project holds a handful of files in at most two levels.
    for _ in 0..100 {
        let Some(next) = pending.pop() else { break };
        for entry in std::fs::read_dir(&next).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir).expect("under dir");
                files.push(relative.display().to_string());
            }
        }
    }
    files.sort();
    files
}

/// A run that writes nothing leaves no audit line (the log is opened, so it exists, empty).
fn assert_no_audit_lines(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    assert_eq!(text, "", "audit lines of a run that wrote nothing");
}
