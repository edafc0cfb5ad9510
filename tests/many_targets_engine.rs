//! The engine over several targets, against in-process fault servers (`support/fault.rs`):
//! a target that is slow to list holds up only itself, a source that breaks stops every
//! target before any write, and a target whose lock is held fails alone.

use crate::support::fault;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fault::{Fault, FaultServer};
use scimsync::config::Config;
use scimsync::sync::event::{WriteEvent, WriteObserver};
use scimsync::sync::{RunOptions, SyncError, TargetRun, run_sync};
use serde_json::json;

const MAP: &str = "userName <- user.email\nname.familyName <- user.last\n";

/// A many-target project: a JSON source and one `[[target]]` per (name, url).
fn project(targets: &[(&str, &str)], users: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.map"), MAP).unwrap();
    std::fs::write(dir.path().join("users.json"), users).unwrap();
    std::fs::write(dir.path().join("token"), "secret-token\n").unwrap();
    std::fs::set_permissions(
        dir.path().join("token"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let mut toml = String::from(
        "[source]\nkind = \"json\"\npath = \"users.json\"\nformat = \"plain\"\n\
         [defaults]\nmapping = \"m.map\"\ntoken_file = \"token\"\ntimeout_seconds = 5\nmax_retries = 0\n",
    );
    for (name, url) in targets {
        toml.push_str(&format!("[[target]]\nname = \"{name}\"\nurl = \"{url}\"\n"));
    }
    std::fs::write(dir.path().join("scimsync.toml"), toml).unwrap();
    dir
}

fn load(dir: &tempfile::TempDir) -> Config {
    Config::load(&dir.path().join("scimsync.toml")).unwrap()
}

fn three_users() -> String {
    json!([
        {"id": "1", "email": "ada@example.com", "last": "Lovelace"},
        {"id": "2", "email": "grace@example.com", "last": "Hopper"},
        {"id": "3", "email": "alan@example.com", "last": "Turing"},
    ])
    .to_string()
}

/// What happened when, across targets: each write and each finished listing, in order.
#[derive(Default)]
struct Timeline(Mutex<Vec<String>>);

impl WriteObserver for Timeline {
    fn record(&self, event: &WriteEvent) {
        self.0.lock().unwrap().push(format!(
            "{} {} {}",
            event.target,
            event.operation.name(),
            event.name
        ));
    }
    fn listed(&self, target: &str, _users: usize, _latency: Duration) {
        self.0.lock().unwrap().push(format!("{target} listed"));
    }
}

fn report_of<'r>(
    runs: &'r [TargetRun],
    name: &str,
) -> &'r Result<scimsync::sync::RunReport, SyncError> {
    &runs.iter().find(|r| r.name == name).unwrap().report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_slow_to_list_holds_up_only_itself() {
    let fast = FaultServer::start().await;
    let slow = FaultServer::start().await;
    // The slow target's listing answers after 2 s (under its 5 s timeout).
    slow.fault(
        "GET",
        "/Users",
        None,
        Fault::SlowAfterApply(Duration::from_secs(2)),
        usize::MAX,
    );
    let dir = project(&[("fast", &fast.url), ("slow", &slow.url)], &three_users());
    let timeline = Arc::new(Timeline::default());
    let mut options = RunOptions::new(false);
    options.observer = timeline.clone();
    let runs = run_sync(&load(&dir), &options).await.unwrap();
    for name in ["fast", "slow"] {
        let report = report_of(&runs, name).as_ref().unwrap();
        assert_eq!(report.applied.as_ref().unwrap().created, 3, "{name}");
    }
    let events = timeline.0.lock().unwrap().clone();
    let slow_listed = events.iter().position(|e| e == "slow listed").unwrap();
    let fast_writes: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.starts_with("fast create"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(fast_writes.len(), 3, "{events:#?}");
    // Every write to the fast target was made before the slow target had even answered
    // its listing: the fast one did not wait for it.
    assert!(fast_writes.iter().all(|&i| i < slow_listed), "{events:#?}");
    assert_eq!(fast.users().len(), 3);
    assert_eq!(slow.users().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_that_breaks_mid_read_stops_every_target_before_any_write() {
    let a = FaultServer::start().await;
    let b = FaultServer::start().await;
    // Valid users first, then a broken element: the read fails after mapping begins.
    let broken = format!("{}, {{\"id\": ", &three_users()[..three_users().len() - 1]);
    let dir = project(&[("a", &a.url), ("b", &b.url)], &broken);
    let error = run_sync(&load(&dir), &RunOptions::new(false))
        .await
        .unwrap_err();
    assert!(matches!(error, SyncError::Source(_)), "{error}");
    assert_eq!((a.writes(), b.writes()), (0, 0));
    assert!(crate::support::state_json(&dir.path().join("state"), Some("a")).is_none());
    assert!(crate::support::state_json(&dir.path().join("state"), Some("b")).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_whose_lock_is_held_fails_alone() {
    let free = FaultServer::start().await;
    let busy = FaultServer::start().await;
    let dir = project(&[("free", &free.url), ("busy", &busy.url)], &three_users());
    let config = load(&dir);
    std::fs::create_dir_all(dir.path().join("state")).unwrap();
    let _held =
        scimsync::state::lock::StateLock::acquire(&dir.path().join("state/busy.json")).unwrap();
    let runs = run_sync(&config, &RunOptions::new(false)).await.unwrap();
    let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["free", "busy"]);
    assert!(matches!(
        report_of(&runs, "busy"),
        Err(SyncError::Locked(_))
    ));
    assert_eq!(
        report_of(&runs, "free")
            .as_ref()
            .unwrap()
            .applied
            .as_ref()
            .unwrap()
            .created,
        3
    );
    assert_eq!((free.users().len(), busy.writes()), (3, 0));
    assert!(crate::support::state_json(&dir.path().join("state"), Some("free")).is_some());
}
