//! Incremental runs against the in-process fault server, counting every request it receives:
//! a run that changes nothing sends nothing, changed users cost their write alone, new
//! users a lookup and a create, departed users one deactivation; the first run, `--full`, a
//! due `full_reconcile` and a target whose filtering fails are full runs and say why.

use crate::support;
use crate::support::fault::{FaultServer, Strict};

use scimsync::config::Config;
use scimsync::sync::kind::{FullReason, RunKind};
use scimsync::sync::{RunOptions, RunReport, SyncError, render, run_sync};
use serde_json::{Value as Json, json};

const MAP: &str = "userName <- user.email\nname.familyName <- user.last\n";

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(url: &str, users: &Json) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.map"), MAP).unwrap();
        std::fs::write(dir.path().join("token"), "secret-token\n").unwrap();
        std::fs::set_permissions(
            dir.path().join("token"),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        let setup = Setup { dir };
        setup.users(users);
        std::fs::write(
            setup.dir.path().join("scimsync.toml"),
            format!(
                "mapping = \"m.map\"\n[source]\nkind = \"json\"\npath = \"users.json\"\nformat = \"plain\"\n\
                 [target]\nurl = \"{url}\"\ntoken_file = \"token\"\ntimeout_seconds = 2\nmax_backoff_seconds = 2\n\
                 [state]\npath = \"state.json\"\n"
            ),
        )
        .unwrap();
        setup
    }

    fn append_config(&self, text: &str) {
        let toml = self.dir.path().join("scimsync.toml");
        let old = std::fs::read_to_string(&toml).unwrap();
        std::fs::write(&toml, format!("{old}{text}\n")).unwrap();
    }

    fn users(&self, users: &Json) {
        std::fs::write(self.dir.path().join("users.json"), users.to_string()).unwrap();
    }

    fn state(&self) -> Json {
        support::state_in(&self.dir.path().join("state.db"), None).expect("a state")
    }

    async fn run_with(&self, options: RunOptions) -> Result<RunReport, SyncError> {
        let config = Config::load(&self.dir.path().join("scimsync.toml")).unwrap();
        let mut runs = run_sync(&config, &options).await?;
        assert_eq!(runs.len(), 1);
        runs.remove(0).report
    }

    async fn run(&self) -> RunReport {
        self.run_with(RunOptions::new(false)).await.unwrap()
    }

    async fn run_full(&self) -> RunReport {
        let mut options = RunOptions::new(false);
        options.full = true;
        self.run_with(options).await.unwrap()
    }

    async fn dry_run(&self) -> RunReport {
        self.run_with(RunOptions::new(true)).await.unwrap()
    }
}

fn people(range: std::ops::RangeInclusive<usize>) -> Json {
    Json::Array(range.map(person).collect())
}

fn person(i: usize) -> Json {
    json!({"id": format!("s{i}"), "email": format!("u{i}@x"), "last": format!("L{i}")})
}

/// The target id of `user_name` on the server.
fn target_id(server: &FaultServer, user_name: &str) -> String {
    server
        .users()
        .iter()
        .find(|u| u["userName"] == user_name)
        .and_then(|u| u["id"].as_str())
        .unwrap()
        .to_owned()
}

fn full(reason: FullReason) -> RunKind {
    RunKind::Full(reason)
}

fn is_incremental(report: &RunReport) -> bool {
    matches!(report.kind.kind, RunKind::Incremental { .. })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_run_is_full_then_a_run_with_no_change_sends_no_request() {
    let server = FaultServer::start().await;
    let setup = Setup::new(&server.url, &people(1..=30));
    let first = setup.run().await;
    assert_eq!(first.kind.kind, full(FullReason::FirstRun));
    assert_eq!(first.kind.why, "full: first run");
    assert_eq!(first.applied.unwrap().created, 30);
    assert!(setup.state()["reconcile"]["lastFull"].is_string());

    server.clear_log();
    let second = setup.run().await;
    assert!(is_incremental(&second), "{:?}", second.kind);
    assert_eq!(server.log(), [], "a no-op incremental run sends nothing");
    assert_eq!(second.changes.unchanged, 30);
    assert!(second.changes.is_empty());
    assert_eq!(second.requests.requests, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_changed_users_of_fifty_cost_three_patches_and_no_read() {
    let server = FaultServer::start().await;
    let setup = Setup::new(&server.url, &people(1..=50));
    setup.run().await;
    let mut users = people(1..=50);
    for i in [7, 21, 44] {
        users[i - 1]["last"] = json!(format!("Changed{i}"));
    }
    setup.users(&users);
    server.clear_log();
    let report = setup.run().await;
    assert!(is_incremental(&report));
    let mut trace = server.trace();
    trace.sort();
    let ids: Vec<String> = [7, 21, 44]
        .iter()
        .map(|i| target_id(&server, &format!("u{i}@x")))
        .collect();
    // Diffed against what scimsync last wrote to each (kept in the state): the PATCH goes
    // by the stored id without a read, and carries the changed value only.
    let mut expected: Vec<String> = ids
        .iter()
        .map(|id| format!("PATCH /v2/Users/{id} 204"))
        .chain(["GET /v2/ServiceProviderConfig 404".to_owned()])
        .collect();
    expected.sort();
    assert_eq!(trace, expected);
    let patch_of = |id: &str| -> Json {
        let logged = server.log();
        let patch = logged
            .iter()
            .find(|l| l.path == format!("/v2/Users/{id}"))
            .unwrap();
        serde_json::from_str(&patch.body).unwrap()
    };
    assert_eq!(
        patch_of(&ids[1]),
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations": [{"op": "replace", "path": "name.familyName", "value": "Changed21"}]})
    );
    assert_eq!(report.changes.unchanged, 47);
    // The target answered the PATCHes with 204: the next run does not read them back (the
    // next full run's listing checks what they hold).
    server.clear_log();
    setup.run().await;
    assert_eq!(server.log(), []);
    assert_eq!(
        server
            .users()
            .iter()
            .find(|u| u["userName"] == "u21@x")
            .unwrap()["name"]["familyName"],
        "Changed21"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_costs_one_lookup_and_one_create() {
    let server = FaultServer::start().await;
    let setup = Setup::new(&server.url, &people(1..=5));
    setup.run().await;

    setup.users(&people(1..=6));
    server.clear_log();
    let report = setup.run().await;
    assert!(is_incremental(&report));
    // The first lookup reads what the target says of filtering (this one publishes nothing:
    // lookups are tried, and each answer is checked); later runs do not ask again.
    assert_eq!(
        server.trace(),
        [
            "GET /v2/ServiceProviderConfig 404",
            "GET /v2/Users 200",
            "POST /v2/Users 201"
        ]
    );
    let lookup = &server.log()[1];
    assert!(
        lookup.path.contains("filter=userName+eq+%22u6%40x%22"),
        "{}",
        lookup.path
    );
    assert_eq!(
        setup.state()["reconcile"]["filter"],
        json!({"verdict": "works"})
    );

    setup.users(&people(1..=7));
    server.clear_log();
    setup.run().await;
    // The lookup, what the target offers for writing (once per run that writes), the create.
    assert_eq!(
        server.trace(),
        [
            "GET /v2/Users 200",
            "GET /v2/ServiceProviderConfig 404",
            "POST /v2/Users 201"
        ]
    );
    assert_eq!(server.users().len(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_already_on_the_target_is_adopted_after_its_lookup() {
    let server = FaultServer::start().await;
    let setup = Setup::new(&server.url, &people(1..=3));
    setup.run().await;
    let seeded = server
        .seed_user(json!({"userName": "u4@x", "name": {"familyName": "Old"}, "active": true}));
    setup.users(&people(1..=4));
    server.clear_log();
    let report = setup.run().await;
    assert!(is_incremental(&report));
    assert_eq!(
        server.trace(),
        [
            "GET /v2/ServiceProviderConfig 404",
            "GET /v2/Users 200",
            format!("PATCH /v2/Users/{seeded} 204").as_str()
        ]
    );
    let change = &report.changes.changes[0];
    assert!(change.adopted, "{change:?}");
    assert_eq!(change.id.as_deref(), Some(seeded.as_str()));
    assert_eq!(report.applied.unwrap().updated, 1);
    assert_eq!(server.users().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_departed_user_is_deactivated_by_id_and_the_guard_counts_it() {
    let server = FaultServer::start().await;
    let setup = Setup::new(&server.url, &people(1..=10));
    setup.append_config(
        "[sync.safety]\nmax_deactivations = 2\nalways_allowed = 0\nmax_deactivation_percent = 100",
    );
    setup.run().await;

    setup.users(&people(1..=9));
    server.clear_log();
    let report = setup.run().await;
    assert!(is_incremental(&report));
    let gone = target_id(&server, "u10@x");
    assert_eq!(
        server.trace(),
        [
            "GET /v2/ServiceProviderConfig 404".to_owned(),
            format!("PATCH /v2/Users/{gone} 204")
        ]
    );
    assert_eq!(report.changes.removals(), 1);
    assert_eq!(
        server
            .users()
            .iter()
            .find(|u| u["id"] == gone.as_str())
            .unwrap()["active"],
        false
    );

    // Two more leave: with the one above that is three within the window, over the limit of
    // two; the guard stops the run before any request, as it would in a full run.
    setup.users(&people(1..=7));
    server.clear_log();
    let refused = setup.run_with(RunOptions::new(false)).await.unwrap_err();
    assert!(matches!(refused, SyncError::Safety(_)), "{refused}");
    assert_eq!(server.log(), []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_lists_the_target_and_repairs_what_was_changed_by_hand() {
    let server = FaultServer::start().await;
    let setup = Setup::new(&server.url, &people(1..=4));
    setup.run().await;
    let edited = target_id(&server, "u2@x");
    server.edit_user(&edited, "name", json!({"familyName": "Edited by hand"}));

    server.clear_log();
    let incremental = setup.run().await;
    assert!(is_incremental(&incremental));
    assert_eq!(
        server.log(),
        [],
        "an incremental run does not see changes made by hand"
    );

    let report = setup.run_full().await;
    assert_eq!(report.kind.kind, full(FullReason::Asked));
    assert_eq!(report.kind.why, "full: --full");
    assert_eq!(
        server.trace(),
        [
            "GET /v2/Users 200".to_owned(),
            "GET /v2/ServiceProviderConfig 404".to_owned(),
            format!("PATCH /v2/Users/{edited} 204")
        ]
    );
    assert!(server.log()[0].path.contains("startIndex=1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_user_deleted_on_the_target_is_looked_up_and_created_again_in_the_same_run() {
    let server = FaultServer::start().await;
    let setup = Setup::new(&server.url, &people(1..=3));
    setup.run().await;
    let removed = target_id(&server, "u2@x");
    server.remove_user(&removed);
    let mut users = people(1..=3);
    users[1]["last"] = json!("Changed");
    setup.users(&users);

    server.clear_log();
    let report = setup.run().await;
    assert!(is_incremental(&report));
    let applied = report.applied.unwrap();
    assert_eq!(
        (applied.updated, applied.created, applied.failures.len()),
        (0, 1, 0)
    );
    // The PATCH by stored id says the user is gone; the same run looks it up by its match
    // value (nobody holds it) and creates it with every value, not only the changed one.
    let created = target_id(&server, "u2@x");
    assert_eq!(
        server.trace(),
        [
            "GET /v2/ServiceProviderConfig 404".to_owned(),
            format!("PATCH /v2/Users/{removed} 404"),
            "GET /v2/Users 200".to_owned(),
            "POST /v2/Users 201".to_owned(),
        ]
    );
    assert!(
        server.log()[2]
            .path
            .contains("filter=userName+eq+%22u2%40x%22")
    );
    let user = server
        .users()
        .into_iter()
        .find(|u| u["id"] == created)
        .unwrap();
    assert_eq!(
        (
            &user["userName"],
            &user["name"]["familyName"],
            &user["active"]
        ),
        (&json!("u2@x"), &json!("Changed"), &json!(true))
    );
    assert_eq!(setup.state()["users"]["s2"]["id"], json!(created));
    assert_eq!(setup.state().get("rejected"), None, "not a refusal");
    // And the state is right: the next run has nothing to do.
    server.clear_log();
    setup.run().await;
    assert_eq!(server.log(), []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_user_deleted_and_made_again_by_hand_is_adopted_and_written() {
    let server = FaultServer::start().await;
    let setup = Setup::new(&server.url, &people(1..=2));
    setup.run().await;
    let removed = target_id(&server, "u2@x");
    server.remove_user(&removed);
    let again = server
        .seed_user(json!({"userName": "u2@x", "name": {"familyName": "By hand"}, "active": true}));
    let mut users = people(1..=2);
    users[1]["last"] = json!("Changed");
    setup.users(&users);

    server.clear_log();
    let report = setup.run().await;
    let applied = report.applied.unwrap();
    // Adopted by its match value, and updated (as a full run's listing adopts a user).
    assert_eq!(
        (applied.updated, applied.created, applied.failures.len()),
        (1, 0, 0),
        "{applied:?}"
    );
    assert!(
        report.changes.changes.iter().all(|c| !c.adopted),
        "the first plan knew the user"
    );
    assert_eq!(
        server.trace(),
        [
            "GET /v2/ServiceProviderConfig 404".to_owned(),
            format!("PATCH /v2/Users/{removed} 404"),
            "GET /v2/Users 200".to_owned(),
            format!("PATCH /v2/Users/{again} 204"),
        ]
    );
    assert_eq!(server.users().len(), 2);
    let user = server
        .users()
        .into_iter()
        .find(|u| u["id"] == again)
        .unwrap();
    assert_eq!(user["name"]["familyName"], "Changed");
    assert_eq!(setup.state()["users"]["s2"]["id"], json!(again));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_deleted_on_the_target_by_hand_is_created_again_by_the_next_full_run_only() {
    let server = FaultServer::start().await;
    let setup = Setup::new(&server.url, &people(1..=3));
    setup.run().await;
    let removed = target_id(&server, "u2@x");
    server.remove_user(&removed);

    server.clear_log();
    setup.run().await;
    assert_eq!(server.log(), []);
    assert_eq!(server.users().len(), 2, "not seen until the next full run");

    let report = setup.run_full().await;
    assert_eq!(report.applied.unwrap().created, 1);
    // The listing, the read by id that confirms the managed user is gone, the create.
    assert_eq!(
        server.trace(),
        [
            "GET /v2/Users 200".to_owned(),
            format!("GET /v2/Users/{removed} 404"),
            "GET /v2/ServiceProviderConfig 404".to_owned(),
            "POST /v2/Users 201".to_owned()
        ]
    );
    assert_eq!(server.users().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_full_reconcile_lists_and_dry_runs_say_which_kind_and_why() {
    let server = FaultServer::start().await;
    let setup = Setup::new(&server.url, &people(1..=2));
    setup.append_config("[sync]\nfull_reconcile = \"6h\"");
    let started: chrono::DateTime<chrono::Utc> = "2026-12-07T09:00:00Z".parse().unwrap();
    let at = |hours: i64| {
        let mut options = RunOptions::new(false);
        options.now = started + chrono::Duration::hours(hours);
        options
    };
    setup.run_with(at(0)).await.unwrap();
    let mut dry = at(3);
    dry.dry_run = true;
    let report = setup.run_with(dry).await.unwrap();
    assert_eq!(
        render::report_text(&report, true),
        "Run: incremental: last full run 2026-12-07 09:00 UTC, next full run due in 3 h\n\
         No changes: the target is up to date.\n\
         Plan: 0 to create, 0 to update, 0 to reactivate, 0 to deactivate; 2 unchanged, 0 skipped.\n"
    );
    let json = serde_json::to_value(render::report_json(&report, true)).unwrap();
    assert_eq!(
        json["run"],
        json!({
            "kind": "incremental",
            "lastFull": "2026-12-07T09:00:00Z",
            "nextFull": "2026-12-07T15:00:00Z",
            "why": "incremental: last full run 2026-12-07 09:00 UTC, next full run due in 3 h"
        })
    );

    server.clear_log();
    let due = setup.run_with(at(7)).await.unwrap();
    assert_eq!(
        due.kind.why,
        "full: full_reconcile due (last full run 2026-12-07 09:00 UTC)"
    );
    assert_eq!(server.trace(), ["GET /v2/Users 200"]);
    assert_eq!(
        setup.state()["reconcile"]["lastFull"],
        "2026-12-07T16:00:00Z"
    );
    server.clear_log();
    let mut dry = at(8);
    dry.dry_run = true;
    let after = setup.run_with(dry).await.unwrap();
    assert!(is_incremental(&after));
    assert_eq!(server.log(), []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_without_filtering_gets_full_runs_and_says_so() {
    let server = FaultServer::start().await;
    server.strict(Strict {
        service_provider_config: Some(
            json!({"filter": {"supported": false}, "patch": {"supported": true}}),
        ),
        ..Strict::default()
    });
    let setup = Setup::new(&server.url, &people(1..=3));
    setup.run().await;
    // Nothing new: no lookup is needed, so the run stays incremental.
    server.clear_log();
    assert!(is_incremental(&setup.run().await));
    assert_eq!(server.log(), []);

    setup.users(&people(1..=4));
    server.clear_log();
    let report = setup.run().await;
    assert_eq!(report.kind.kind, full(FullReason::FilterUnsupported));
    assert_eq!(
        report.kind.why,
        "full: target does not support filtering (/ServiceProviderConfig filter.supported = false)"
    );
    assert_eq!(
        server.trace(),
        [
            "GET /v2/ServiceProviderConfig 200",
            "GET /v2/Users 200",
            "POST /v2/Users 201"
        ]
    );
    assert!(!server.log()[1].path.contains("filter="));
    assert_eq!(
        setup.state()["reconcile"]["filter"],
        json!({"verdict": "unsupported"})
    );
    // Later runs stay full, without asking again, until a scheduled or --full full run.
    let dry = setup.dry_run().await;
    assert!(
        render::report_text(&dry, true).starts_with("Run: full: target does not support filtering")
    );
    server.clear_log();
    setup.run().await;
    assert_eq!(server.trace(), ["GET /v2/Users 200"]);
    setup.run_full().await;
    assert!(setup.state()["reconcile"].get("filter").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_that_answers_with_other_users_sends_the_run_back_to_a_listing() {
    let server = FaultServer::start().await;
    server.strict(Strict {
        filter_ignored: true,
        ..Strict::default()
    });
    let setup = Setup::new(&server.url, &people(1..=3));
    setup.run().await;
    setup.users(&people(1..=4));
    server.clear_log();
    // The server answers with every user, first the one it created first (the first run's
    // creates run concurrently: any of u1..u3). `users()` sorts by userName: take the
    // lowest id.
    let first = server
        .users()
        .into_iter()
        .min_by_key(|u| u["id"].as_str().unwrap().to_owned())
        .and_then(|u| u["userName"].as_str().map(str::to_owned))
        .unwrap();
    let report = setup.run().await;
    assert_eq!(
        report.kind.kind,
        full(FullReason::FilterUnreliable {
            detail: format!("filter userName eq \"u4@x\" answered with userName \"{first}\"")
        })
    );
    assert_eq!(
        server.trace(),
        [
            "GET /v2/ServiceProviderConfig 404",
            "GET /v2/Users 200",
            "GET /v2/Users 200",
            "POST /v2/Users 201"
        ]
    );
    assert!(server.log()[1].path.contains("filter="));
    assert!(server.log()[2].path.contains("startIndex=1"));
    assert_eq!(
        server.users().len(),
        4,
        "no user was adopted or created twice"
    );
    assert_eq!(
        setup.state()["reconcile"]["filter"]["verdict"],
        json!("unreliable")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_mode_reads_by_id_then_puts() {
    let server = FaultServer::start().await;
    let setup = Setup::new(&server.url, &people(1..=2));
    setup.append_config("");
    let toml = setup.dir.path().join("scimsync.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(
        &toml,
        text.replace("[state]", "update_mode = \"put\"\n[state]"),
    )
    .unwrap();
    setup.run().await;
    setup.users(&json!([person(1), {"id": "s2", "email": "u2@x", "last": "Changed"}]));
    server.clear_log();
    assert!(is_incremental(&setup.run().await));
    let id = target_id(&server, "u2@x");
    // Diffed against what scimsync last wrote (no read for the diff); the one read is the
    // one PUT mode makes right before it replaces the resource (so it replaces what is there
    // now).
    assert_eq!(
        server.trace(),
        [
            "GET /v2/ServiceProviderConfig 404".to_owned(),
            format!("GET /v2/Users/{id} 200"),
            format!("PUT /v2/Users/{id} 200")
        ]
    );
}

// --- sync --user: one user, now ---

/// `scimsync sync --user WANTED EXTRA... --config …` as a child process: (exit code, stdout,
/// stderr).
async fn sync_user(setup: &Setup, wanted: &str, extra: &[&str]) -> (i32, String, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_scimsync"))
        .args(["sync", "--user", wanted])
        .args(extra)
        .arg("--config")
        .arg(setup.dir.path().join("scimsync.toml"))
        .env_remove("RUST_LOG")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(60), output)
        .await
        .expect("sync --user ends")
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn pretty(resource: &Json) -> String {
    serde_json::to_string_pretty(resource).unwrap()
}

fn resource_of(server: &FaultServer, user_name: &str) -> Json {
    server
        .users()
        .into_iter()
        .find(|u| u["userName"] == user_name)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_user_updates_that_user_alone_and_shows_each_request() {
    let server = FaultServer::start().await;
    let setup = Setup::new(&server.url, &people(1..=3));
    setup.run().await;
    // u2 changes, u3 changes too and u1 leaves: only u2 is touched.
    setup.users(&json!([
        {"id": "s2", "email": "u2@x", "last": "Changed"},
        {"id": "s3", "email": "u3@x", "last": "Changed too"}
    ]));
    let id = target_id(&server, "u2@x");
    server.clear_log();
    let (code, stdout, stderr) = sync_user(&setup, "u2@x", &[]).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        format!(
            "Run: one user: source id s2 (sync --user)\n\
             ~ update u2@x\n\
             \x20   name.familyName: \"L2\" -> \"Changed\"\n\
             Plan: 0 to create, 1 to update, 0 to reactivate, 0 to deactivate; 0 unchanged, 0 skipped.\n\
             Applied: 0 created, 1 updated, 0 reactivated, 0 deactivated; 0 failed.\n\
             Requests:\n\
             \x20 GET /v2/Users/{id} 200\n\
             \x20 GET /v2/ServiceProviderConfig 404\n\
             \x20 PATCH /v2/Users/{id} 204\n\
             \x20 GET /v2/Users/{id} 200\n\
             Resource on the target:\n{}\n",
            pretty(&resource_of(&server, "u2@x"))
        )
    );
    assert_eq!(
        server.trace(),
        [
            format!("GET /v2/Users/{id} 200"),
            "GET /v2/ServiceProviderConfig 404".to_owned(),
            format!("PATCH /v2/Users/{id} 204"),
            format!("GET /v2/Users/{id} 200")
        ]
    );
    assert_eq!(
        resource_of(&server, "u2@x")["name"]["familyName"],
        "Changed"
    );
    assert_eq!(resource_of(&server, "u3@x")["name"]["familyName"], "L3");
    assert_eq!(resource_of(&server, "u1@x")["active"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_user_creates_a_new_user_after_a_lookup_and_dry_run_only_reads() {
    let server = FaultServer::start().await;
    let setup = Setup::new(&server.url, &people(1..=2));
    setup.run().await;
    setup.users(&people(1..=3));
    server.clear_log();
    let (code, stdout, stderr) = sync_user(&setup, "s3", &["--dry-run"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "Run: one user: source id s3 (sync --user)\n\
         + create u3@x\n\
         \x20   userName: \"u3@x\"\n\
         \x20   name.familyName: \"L3\"\n\
         Plan: 1 to create, 0 to update, 0 to reactivate, 0 to deactivate; 0 unchanged, 0 skipped.\n\
         Requests (a dry run only reads):\n\
         \x20 GET /v2/Users?filter=userName+eq+%22u3%40x%22 200\n\
         Resource on the target: none\n"
    );
    assert_eq!(server.writes(), 0);

    server.clear_log();
    let (code, stdout, stderr) = sync_user(&setup, "u3@x", &[]).await;
    assert_eq!(code, 0, "{stderr}");
    let id = target_id(&server, "u3@x");
    assert!(
        stdout.ends_with(&format!(
            "Requests:\n\
             \x20 GET /v2/Users?filter=userName+eq+%22u3%40x%22 200\n\
             \x20 GET /v2/ServiceProviderConfig 404\n\
             \x20 POST /v2/Users 201\n\
             \x20 GET /v2/Users/{id} 200\n\
             Resource on the target:\n{}\n",
            pretty(&resource_of(&server, "u3@x"))
        )),
        "{stdout}"
    );
    // The state knows the user: the next incremental run sends nothing.
    server.clear_log();
    assert!(is_incremental(&setup.run().await));
    assert_eq!(server.log(), []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_user_deactivates_only_that_departed_user() {
    let server = FaultServer::start().await;
    let setup = Setup::new(&server.url, &people(1..=3));
    setup.run().await;
    setup.users(&people(3..=3));
    let id = target_id(&server, "u2@x");
    server.clear_log();
    let (code, stdout, stderr) = sync_user(&setup, "u2@x", &[]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with(
            "Run: one user: source id s2 (sync --user)\n\
             - deactivate u2@x\n\
             Plan: 0 to create, 0 to update, 0 to reactivate, 1 to deactivate; 0 unchanged, 0 skipped.\n"
        ),
        "{stdout}"
    );
    assert_eq!(
        server.trace(),
        [
            format!("GET /v2/Users/{id} 200"),
            "GET /v2/ServiceProviderConfig 404".to_owned(),
            format!("PATCH /v2/Users/{id} 204"),
            format!("GET /v2/Users/{id} 200")
        ]
    );
    assert_eq!(resource_of(&server, "u2@x")["active"], false);
    assert_eq!(
        resource_of(&server, "u1@x")["active"],
        true,
        "u1 left too, but was not named"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_user_with_an_unknown_user_is_a_clear_error_and_sends_nothing() {
    let server = FaultServer::start().await;
    let setup = Setup::new(&server.url, &people(1..=2));
    setup.run().await;
    server.clear_log();
    let (code, stdout, stderr) = sync_user(&setup, "nobody@x", &[]).await;
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    assert_eq!(
        stderr.trim_end(),
        "error: no user nobody@x in the source, nor in the state of target 127.0.0.1"
    );
    assert_eq!(server.log(), []);
}

// --- End to end against real peers: scim2-server and SCIMMY ---

const PEER_MAP: &str = "userName <- user.email\nname.familyName <- user.last\n";

/// The requests the peer logged after the first `from`, as `METHOD path` below the base URL
/// with the query cut off, sorted; each must have succeeded (the peers differ in 200 or 204).
fn logged_since(server: &crate::support::ScimServer, from: usize) -> Vec<String> {
    let base = url::Url::parse(&server.url)
        .unwrap()
        .path()
        .trim_end_matches('/')
        .to_owned();
    let mut lines: Vec<String> = server.requests()[from..]
        .iter()
        .map(|r| {
            assert!(r.status < 300, "{r:?}");
            let path = r.path.split('?').next().unwrap_or_default();
            format!("{} {}", r.method, path.strip_prefix(&base).unwrap_or(path))
        })
        .collect();
    lines.sort();
    lines
}

/// Full run, a no-op incremental run (no request), then one change, one arrival and one
/// departure converge with exactly the requests they need, counted at the peer.
fn incremental_against(server: crate::support::ScimServer) {
    use crate::support::{Project, scimsync};
    let project = Project::new();
    project.write("test.map", PEER_MAP);
    project.write("users.json", &people(1..=5).to_string());
    let config = project.config(&server.url);
    let config = config.to_str().unwrap();
    let token = Some(server.token.as_str());
    let sync = |extra: &[&str]| {
        let mut args = vec!["sync", "--config", config];
        args.extend(extra);
        let run = scimsync(&args, token);
        assert_eq!(run.code, 0, "{}", run.all_output());
        run.stdout
    };
    sync(&[]);
    assert_eq!(server.users().len(), 5);

    let before = server.requests().len();
    assert!(sync(&["--dry-run"]).starts_with("Run: incremental: last full run "));
    sync(&[]);
    assert_eq!(
        logged_since(&server, before),
        Vec::<String>::new(),
        "no request at all"
    );

    // u2 changes, u6 arrives, u5 leaves.
    let mut users = people(1..=4);
    users[1]["last"] = json!("Changed");
    users.as_array_mut().unwrap().push(person(6));
    project.write("users.json", &users.to_string());
    let before = server.requests().len();
    sync(&[]);
    // The changed user: no read (diffed against what scimsync last wrote to it); the new
    // one: the filter support read once (it also says the peer offers bulk), the lookup;
    // then the three writes (the patch of u2, the create, the deactivation by id) in
    // one /Bulk request.
    let mut expected = vec![
        "GET /ServiceProviderConfig".to_owned(),
        "GET /Users".to_owned(),
        "POST /Bulk".to_owned(),
    ];
    expected.sort();
    assert_eq!(logged_since(&server, before), expected);
    let state: Vec<(String, bool, String)> = server
        .users()
        .iter()
        .map(|u| {
            (
                u["userName"].as_str().unwrap().to_owned(),
                u["active"].as_bool().unwrap(),
                u["name"]["familyName"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want = |i: usize, active: bool, last: &str| (format!("u{i}@x"), active, last.to_owned());
    let mut wanted = vec![
        want(1, true, "L1"),
        want(2, true, "Changed"),
        want(3, true, "L3"),
        want(4, true, "L4"),
        want(5, false, "L5"),
        want(6, true, "L6"),
    ];
    let mut state = state;
    state.sort();
    wanted.sort();
    assert_eq!(state, wanted);

    // A full run finds the target as the state says: it lists, and writes nothing.
    let writes = server.writes();
    assert!(sync(&["--full", "--dry-run"]).starts_with("Run: full: --full\nNo changes"));
    sync(&["--full"]);
    assert_eq!(server.writes(), writes);
}

#[test]
fn incremental_runs_against_scim2_server() {
    incremental_against(crate::support::ScimServer::start());
}

#[test]
fn incremental_runs_against_scimmy() {
    incremental_against(crate::support::ScimServer::start_scimmy());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_departed_user_already_deleted_on_the_target_is_forgotten_not_failed() {
    let server = FaultServer::start().await;
    let setup = Setup::new(&server.url, &people(1..=3));
    setup.run().await;
    let gone = target_id(&server, "u3@x");
    server.remove_user(&gone);
    setup.users(&people(1..=2));
    server.clear_log();
    let report = setup.run().await;
    assert!(is_incremental(&report));
    // The deactivation is the one request; its 404 says the goal holds already.
    assert_eq!(
        server.trace(),
        [
            "GET /v2/ServiceProviderConfig 404".to_owned(),
            format!("PATCH /v2/Users/{gone} 404")
        ]
    );
    assert!(!report.failed(), "{:?}", report.applied);
    assert!(setup.state()["users"].get("s3").is_none());
    server.clear_log();
    setup.run().await;
    assert_eq!(server.log(), []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_user_changes_only_that_users_group_memberships() {
    let server = FaultServer::start().await;
    let member = |i: usize, groups: &[&str]| {
        let mut user = person(i);
        user["groups"] = json!(groups);
        user
    };
    let setup = Setup::new(
        &server.url,
        &json!([member(1, &["eng"]), member(2, &["eng"])]),
    );
    std::fs::write(
        setup.dir.path().join("m.map"),
        format!("{MAP}group \"eng\" as \"Engineering\"\n"),
    )
    .unwrap();
    setup.run().await;
    let group = server.groups()[0]["id"].as_str().unwrap().to_owned();
    // u3 arrives in eng, and u1 leaves eng: only u3 is named.
    setup.users(&json!([
        member(1, &[]),
        member(2, &["eng"]),
        member(3, &["eng"])
    ]));
    server.clear_log();
    let (code, stdout, stderr) = sync_user(&setup, "u3@x", &[]).await;
    assert_eq!(code, 0, "{stderr}");
    let id = target_id(&server, "u3@x");
    assert_eq!(
        server.trace(),
        [
            "GET /v2/Users 200".to_owned(),
            "GET /v2/Groups 200".to_owned(),
            "GET /v2/ServiceProviderConfig 404".to_owned(),
            "POST /v2/Users 201".to_owned(),
            format!("PATCH /v2/Groups/{group} 204"),
            format!("GET /v2/Users/{id} 200"),
        ],
        "{stdout}"
    );
    let members: Vec<String> = server.groups()[0]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap().to_owned())
        .collect();
    let mut expected = vec![
        target_id(&server, "u1@x"),
        target_id(&server, "u2@x"),
        id.clone(),
    ];
    expected.sort();
    let mut members = members;
    members.sort();
    assert_eq!(members, expected, "u1 stays until a whole run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_user_json_has_the_plan_the_requests_and_the_resource() {
    let server = FaultServer::start().await;
    let setup = Setup::new(&server.url, &people(1..=2));
    setup.run().await;
    setup.users(&json!([person(1), {"id": "s2", "email": "u2@x", "last": "New"}]));
    let (code, stdout, stderr) = sync_user(&setup, "s2", &["--output", "json"]).await;
    assert_eq!(code, 0, "{stderr}");
    let document: Json = serde_json::from_str(&stdout).unwrap();
    let id = target_id(&server, "u2@x");
    assert_eq!(document[0]["target"], "127.0.0.1");
    assert_eq!(document[0]["sourceId"], "s2");
    assert_eq!(
        document[0]["plan"]["run"],
        json!({"kind": "one_user", "sourceId": "s2", "why": "one user: source id s2 (sync --user)"})
    );
    assert_eq!(document[0]["plan"]["summary"]["update"], 1);
    assert_eq!(
        document[0]["requests"],
        json!([
            {"method": "GET", "path": format!("/v2/Users/{id}"), "status": 200},
            {"method": "GET", "path": "/v2/ServiceProviderConfig", "status": 404},
            {"method": "PATCH", "path": format!("/v2/Users/{id}"), "status": 204},
            {"method": "GET", "path": format!("/v2/Users/{id}"), "status": 200}
        ])
    );
    assert_eq!(document[0]["resource"], resource_of(&server, "u2@x"));
}

// --- groups: what scimsync last left, not a listing ---

fn member(i: usize, groups: &[&str]) -> Json {
    let mut user = person(i);
    user["groups"] = json!(groups);
    user
}

fn members_of(server: &FaultServer, group: &str) -> Vec<String> {
    let groups = server.groups();
    let group = groups.iter().find(|g| g["id"] == group).unwrap();
    let mut members: Vec<String> = group["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|m| m["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    members.sort();
    members
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_groups_are_not_listed_by_incremental_runs_and_member_changes_cost_their_patch() {
    let server = FaultServer::start().await;
    let setup = Setup::new(
        &server.url,
        &json!([
            member(1, &["eng"]),
            member(2, &["eng", "ops"]),
            member(3, &[])
        ]),
    );
    std::fs::write(
        setup.dir.path().join("m.map"),
        format!("{MAP}group \"eng\" as \"Engineering\"\ngroup \"ops\" as \"Operations\"\n"),
    )
    .unwrap();
    setup.run().await;
    let group_id = |name: &str| {
        server
            .groups()
            .iter()
            .find(|g| g["displayName"] == name)
            .and_then(|g| g["id"].as_str().map(str::to_owned))
            .unwrap()
    };
    let (eng, ops) = (group_id("Engineering"), group_id("Operations"));
    let (u1, u2, u3) = (
        target_id(&server, "u1@x"),
        target_id(&server, "u2@x"),
        target_id(&server, "u3@x"),
    );
    // What the state keeps of each group: its managed members.
    let state = setup.state();
    let mut eng_members = vec![u1.clone(), u2.clone()];
    eng_members.sort();
    assert_eq!(state["groups"]["eng"]["members"], json!(eng_members));
    assert_eq!(state["groups"]["ops"]["members"], json!([&u2]));

    // Nothing changed: no request at all, groups included.
    server.clear_log();
    let report = setup.run().await;
    assert!(is_incremental(&report));
    assert_eq!(server.log(), []);

    // u3 joins eng, u1 leaves it: one PATCH each way, no listing of /Groups.
    setup.users(&json!([
        member(1, &[]),
        member(2, &["eng", "ops"]),
        member(3, &["eng"])
    ]));
    server.clear_log();
    let report = setup.run().await;
    assert!(is_incremental(&report));
    let applied = report.applied.unwrap();
    assert_eq!((applied.members_added, applied.members_removed), (1, 1));
    assert_eq!(
        server.trace(),
        [
            // Whether the target takes group writes in bulk (this one publishes nothing).
            "GET /v2/ServiceProviderConfig 404".to_owned(),
            format!("PATCH /v2/Groups/{eng} 204"),
            format!("PATCH /v2/Groups/{eng} 204"),
        ]
    );
    let mut want = vec![u2.clone(), u3.clone()];
    want.sort();
    assert_eq!(members_of(&server, &eng), want);
    assert_eq!(members_of(&server, &ops), std::slice::from_ref(&u2));
    // And the state follows: the next run sends nothing.
    server.clear_log();
    setup.run().await;
    assert_eq!(server.log(), []);

    // A full run finds the groups as the state says: it lists them and writes nothing.
    server.clear_log();
    let report = setup.run_full().await;
    assert_eq!(report.applied.unwrap().members_added, 0);
    assert!(
        server.trace().iter().all(|t| t.starts_with("GET ")),
        "{:?}",
        server.trace()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_whose_write_failed_is_listed_by_the_next_run() {
    let server = FaultServer::start().await;
    let setup = Setup::new(&server.url, &json!([member(1, &["eng"]), member(2, &[])]));
    std::fs::write(
        setup.dir.path().join("m.map"),
        format!("{MAP}group \"eng\" as \"Engineering\"\n"),
    )
    .unwrap();
    setup.run().await;
    let eng = server.groups()[0]["id"].as_str().unwrap().to_owned();
    setup.users(&json!([member(1, &["eng"]), member(2, &["eng"])]));
    server.fault(
        "PATCH",
        "/Groups/",
        None,
        crate::support::fault::Fault::Status(400, None),
        1,
    );
    let report = setup.run().await;
    assert_eq!(report.applied.unwrap().failures.len(), 1);
    assert_eq!(
        setup.state()["groups"]["eng"].get("members"),
        None,
        "not known"
    );
    server.clear_faults();
    server.clear_log();
    let report = setup.run().await;
    assert!(is_incremental(&report));
    assert_eq!(report.applied.unwrap().members_added, 1);
    assert_eq!(
        server.trace(),
        [
            "GET /v2/Groups 200".to_owned(),
            "GET /v2/ServiceProviderConfig 404".to_owned(),
            format!("PATCH /v2/Groups/{eng} 204"),
        ]
    );
}
