//! Fault injection against an in-process SCIM server (`support/fault.rs`): rate limits,
//! server errors, resets, slow answers, conflicts and permanent refusals. Each test asserts
//! the exact requests sent, the server's final state (exactly-once effects) and the failures
//! recorded; plus the safety threshold, an empty source, a crash before the state save,
//! cancellation, auth modes, PUT mode and Entra op casing.

use crate::support::fault;

use std::path::PathBuf;
use std::time::Duration;

use fault::{Fault, FaultServer, Strict};
use scimsync::config::Config;
use scimsync::sync::{RunOptions, RunReport, SyncError, TargetRun, run_sync};
use serde_json::{Value as Json, json};

const MAP: &str = "userName <- user.email\nname.familyName <- user.last\n";

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(url: &str, extra: &str, users: &Json) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.map"), MAP).unwrap();
        std::fs::write(dir.path().join("token"), "secret-token\n").unwrap();
        // As an admin keeps it (a token open to others is warned about).
        std::fs::set_permissions(
            dir.path().join("token"),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        std::fs::write(dir.path().join("users.json"), users.to_string()).unwrap();
        std::fs::write(
            dir.path().join("scimsync.toml"),
            format!(
                "mapping = \"m.map\"\n[source]\nkind = \"json\"\npath = \"users.json\"\nformat = \"plain\"\n\
                 [target]\nurl = \"{url}\"\ntoken_file = \"token\"\ntimeout_seconds = 1\nmax_backoff_seconds = 2\n{extra}\n\
                 [state]\npath = \"state\"\n"
            ),
        )
        .unwrap();
        Setup { dir }
    }

    fn config(&self) -> Config {
        Config::load(&self.dir.path().join("scimsync.toml")).unwrap()
    }

    /// Replaces the mapping.
    fn map(&self, text: &str) {
        std::fs::write(self.dir.path().join("m.map"), text).unwrap();
    }

    /// Appends TOML to the config (after `[state]`: start with a table header).
    fn append_config(&self, text: &str) {
        let toml = self.dir.path().join("scimsync.toml");
        let old = std::fs::read_to_string(&toml).unwrap();
        std::fs::write(&toml, format!("{old}{text}\n")).unwrap();
    }

    fn users(&self, users: &Json) {
        std::fs::write(self.dir.path().join("users.json"), users.to_string()).unwrap();
    }

    /// The JSON state file older versions kept: the lock file is beside it, and errors about
    /// the lock name it.
    fn state_file(&self) -> PathBuf {
        self.dir.path().join("state/state.json")
    }

    /// Deletes the state database, as if the state were lost.
    fn lose_state(&self) {
        for file in ["scimsync.db", "scimsync.db-wal", "scimsync.db-shm"] {
            let _ = std::fs::remove_file(self.dir.path().join("state").join(file));
        }
        assert!(!self.dir.path().join("state/scimsync.db").exists());
    }

    async fn run(&self) -> Result<RunReport, SyncError> {
        self.run_as(false, false).await
    }

    /// A run with the command line's `--dry-run` and `--allow-mass-deactivation`.
    async fn run_as(
        &self,
        dry_run: bool,
        allow_mass_deactivation: bool,
    ) -> Result<RunReport, SyncError> {
        let mut options = RunOptions::new(dry_run);
        options.allow_mass_deactivation = allow_mass_deactivation;
        only_target(run_sync(&self.config(), &options).await)
    }
}

/// The one target's report of a single-target run.
fn only_target(runs: Result<Vec<TargetRun>, SyncError>) -> Result<RunReport, SyncError> {
    let mut runs = runs?;
    assert_eq!(runs.len(), 1, "one target");
    runs.remove(0).report
}

fn people(n: usize) -> Json {
    Json::Array(
        (1..=n)
            .map(|i| json!({"id": format!("s{i}"), "email": format!("u{i}@x"), "last": format!("L{i}")}))
            .collect(),
    )
}

/// How many users a run created and adopted, and how many writes failed.
fn created_adopted_failed(report: RunReport) -> (usize, usize, usize) {
    let applied = report.applied.unwrap();
    (applied.created, applied.adopted, applied.failures.len())
}

fn user_names(server: &FaultServer) -> Vec<String> {
    server
        .users()
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_with_and_without_retry_after() {
    let server = FaultServer::start().await;
    server.fault(
        "POST",
        "/Users",
        Some("u1@x"),
        Fault::Status(429, Some("1".into())),
        1,
    );
    server.fault("POST", "/Users", Some("u2@x"), Fault::Status(429, None), 1);
    let setup = Setup::new(&server.url, "concurrency = 1", &people(2));
    let started = std::time::Instant::now();
    let report = setup.run().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was honoured"
    );
    let applied = report.applied.unwrap();
    assert_eq!((applied.created, applied.failures.len()), (2, 0));
    assert_eq!(report.requests.throttled, 2);
    assert_eq!(
        user_names(&server),
        ["u1@x", "u2@x"],
        "each user exactly once"
    );
    let posts: Vec<String> = server
        .trace()
        .into_iter()
        .filter(|t| t.starts_with("POST"))
        .collect();
    assert_eq!(
        posts,
        [
            "POST /v2/Users 429",
            "POST /v2/Users 201",
            "POST /v2/Users 429",
            "POST /v2/Users 201"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_on_updates_are_retried_and_applied_once() {
    let server = FaultServer::start().await;
    let setup = Setup::new(&server.url, "", &people(2));
    setup.run().await.unwrap();
    let mut changed = people(2);
    changed[0]["last"] = json!("New");
    changed[1]["last"] = json!("Newer");
    setup.users(&changed);
    server.clear_log();
    server.fault(
        "PATCH",
        "/Users/",
        Some("New\""),
        Fault::Status(500, None),
        1,
    );
    server.fault(
        "PATCH",
        "/Users/",
        Some("Newer"),
        Fault::Status(503, Some("0".into())),
        2,
    );
    let report = setup.run().await.unwrap();
    assert_eq!(report.applied.as_ref().unwrap().updated, 2);
    assert_eq!(report.requests.retries, 3);
    let patches = server.log().iter().filter(|l| l.method == "PATCH").count();
    assert_eq!(patches, 5, "{:?}", server.trace());
    let names: Vec<&str> = server
        .users()
        .iter()
        .map(|u| u["name"]["familyName"].as_str().unwrap())
        .map(|s| if s == "New" { "New" } else { "Newer" })
        .collect();
    assert_eq!(names, ["New", "Newer"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_that_timed_out_is_looked_up_not_sent_twice() {
    let server = FaultServer::start().await;
    // The server creates the user, then answers after the client's 1 s timeout.
    server.fault(
        "POST",
        "/Users",
        None,
        Fault::SlowAfterApply(Duration::from_secs(3)),
        1,
    );
    let setup = Setup::new(&server.url, "concurrency = 1", &people(1));
    assert_eq!(
        created_adopted_failed(setup.run().await.unwrap()),
        (0, 1, 0)
    );
    assert_eq!(user_names(&server), ["u1@x"]);
    let writes: Vec<String> = server
        .trace()
        .into_iter()
        .filter(|t| !t.starts_with("GET"))
        .collect();
    assert_eq!(writes, ["POST /v2/Users 201"], "one POST only");
    // The adopted user is in the state: the next run writes nothing.
    server.clear_log();
    let again = setup.run().await.unwrap();
    assert_eq!(again.changes.changes.len(), 0);
    assert_eq!(server.writes(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_before_the_write_and_500_after_it() {
    let server = FaultServer::start().await;
    server.fault("POST", "/Users", Some("u1@x"), Fault::Reset, 1);
    server.fault(
        "POST",
        "/Users",
        Some("u2@x"),
        Fault::StatusAfterApply(500),
        1,
    );
    let setup = Setup::new(&server.url, "concurrency = 1", &people(2));
    let report = setup.run().await.unwrap();
    let applied = report.applied.unwrap();
    // A reset after the request went out may have created u1: it is not sent again in this
    // run but left pending; u2 is found and adopted.
    assert_eq!(
        (applied.created, applied.adopted, applied.pending),
        (0, 1, 1),
        "u1 pending after a lookup found nothing; u2 found and adopted"
    );
    assert_eq!(applied.failures[0].name, "u1@x");
    assert!(applied.failures[0].failure.outcome_unknown);
    assert_eq!(user_names(&server), ["u2@x"]);
    let state: Json = state_json(&setup);
    assert_eq!(state["pending"]["s1"]["matchValue"], "u1@x");
    assert_eq!(state["pending"].as_object().unwrap().len(), 1);
    assert_eq!(
        server.log().iter().filter(|l| l.method == "POST").count(),
        2
    );
    // The next run looks u1 up, finds it absent and creates it, once.
    let again = setup.run().await.unwrap();
    assert_eq!(again.applied.unwrap().created, 1);
    assert_eq!(user_names(&server), ["u1@x", "u2@x"]);
    assert_eq!(
        server.log().iter().filter(|l| l.method == "POST").count(),
        3
    );
    let state: Json = state_json(&setup);
    assert!(state.get("pending").is_none(), "{state}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflict_on_create_adopts_the_existing_user() {
    let server = FaultServer::start().await;
    // Someone creates u1 between our listing and our POST: the POST gets a 409.
    server.fault(
        "POST",
        "/Users",
        Some("u1@x"),
        Fault::StatusAfterApply(409),
        1,
    );
    let setup = Setup::new(&server.url, "", &people(1));
    let report = setup.run().await.unwrap();
    assert_eq!(report.applied.unwrap().adopted, 1);
    let state: Json = state_json(&setup);
    assert_eq!(state["users"]["s1"]["id"], server.users()[0]["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_refusal_is_recorded_and_not_retried_until_the_user_changes() {
    let server = FaultServer::start().await;
    let setup = Setup::new(&server.url, "", &people(3));
    setup.run().await.unwrap();
    let owner = server.users()[0]["id"].as_str().unwrap().to_owned();
    server.fault(
        "PATCH",
        &owner,
        None,
        Fault::Refuse(403, "workspace owners cannot be deactivated".into()),
        usize::MAX,
    );
    // u1 (the owner) and u2 leave the source.
    setup.users(&json!([people(3)[2]]));
    let report = setup.run().await.unwrap();
    let applied = report.applied.as_ref().unwrap();
    assert_eq!(applied.deactivated, 1);
    assert_eq!(applied.failures.len(), 1);
    let failure = serde_json::to_value(&applied.failures[0]).unwrap();
    assert_eq!(failure["operation"], "deactivate");
    assert_eq!(failure["name"], "u1@x");
    assert_eq!(failure["status"], 403);
    assert_eq!(failure["detail"], "workspace owners cannot be deactivated");
    assert_eq!(failure["permanent"], true);
    assert!(report.failed());
    // Next run: held, no request for it, not a failure.
    server.clear_log();
    let again = setup.run().await.unwrap();
    assert_eq!(server.writes(), 0, "{:?}", server.trace());
    assert!(!again.failed());
    assert!(
        again
            .changes
            .skipped
            .iter()
            .any(|s| s.user == "u1@x" && s.reason.to_string().contains("not retried")),
        "{:?}",
        again.changes.skipped
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_threshold_stops_a_mass_deactivation_before_any_write() {
    let server = FaultServer::start().await;
    let setup = Setup::new(&server.url, "", &people(10));
    setup.run().await.unwrap();
    setup.users(&people(2));
    server.clear_log();
    let err = setup.run().await.unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("would deactivate or delete 8 of 10 managed users (80%)"),
        "{message}"
    );
    assert!(message.contains("--allow-mass-deactivation"), "{message}");
    assert_eq!(server.writes(), 0);
    // A dry run reports it instead of failing.
    let dry = setup.run_as(true, false).await.unwrap();
    assert_eq!(dry.safety.as_ref().unwrap().removals, 8);
    // Allowed for this run:
    let report = setup.run_as(false, true).await.unwrap();
    assert_eq!(report.applied.unwrap().deactivated, 8);
    // An empty source is refused whatever is allowed.
    setup.users(&json!([]));
    let err = setup.run_as(false, true).await.unwrap_err();
    assert!(err.to_string().contains("the source has no users"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_before_the_state_save_converges_without_duplicates() {
    let server = FaultServer::start().await;
    let setup = Setup::new(&server.url, "", &people(5));
    setup.run().await.unwrap();
    // As if the process died after the writes and before the save.
    setup.lose_state();
    server.clear_log();
    let report = setup.run().await.unwrap();
    assert_eq!(server.writes(), 0, "{:?}", server.trace());
    assert_eq!(report.changes.unchanged, 5);
    assert_eq!(server.users().len(), 5);
    let state: Json = state_json(&setup);
    assert_eq!(
        state["users"].as_object().unwrap().len(),
        5,
        "all adopted back"
    );
}

/// Cancels the run as soon as the first write is recorded, as SIGTERM would mid-run.
struct CancelAfterFirst(tokio_util::sync::CancellationToken);

impl scimsync::sync::event::WriteObserver for CancelAfterFirst {
    fn record(&self, _event: &scimsync::sync::event::WriteEvent) {
        self.0.cancel();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_stops_new_writes_and_saves_what_was_done() {
    let server = FaultServer::start().await;
    let setup = Setup::new(&server.url, "concurrency = 1", &people(5));
    let mut options = RunOptions::new(false);
    options.observer = std::sync::Arc::new(CancelAfterFirst(options.cancel.clone()));
    let report = only_target(run_sync(&setup.config(), &options).await).unwrap();
    assert!(report.cancelled);
    let applied = report.applied.unwrap();
    assert_eq!(
        (applied.created, applied.not_started, applied.failures.len()),
        (1, 4, 0)
    );
    assert_eq!(server.writes(), 1);
    let state: Json = state_json(&setup);
    assert_eq!(
        state["users"].as_object().unwrap().len(),
        1,
        "the write made is saved"
    );
    assert!(
        state.get("pending").is_none(),
        "creates never started are not pending: {state}"
    );
    // The next run finishes the job.
    let report = setup.run().await.unwrap();
    assert_eq!(report.applied.unwrap().created, 4);
    assert_eq!(server.users().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_client_credentials_refetch_after_a_401() {
    let server = FaultServer::start().await;
    server.require_oauth();
    // The first listing is refused as if the token had been revoked.
    server.fault("GET", "/Users", None, Fault::Status(401, None), 1);
    let token_url = server.url.replace("/v2", "/oauth/token");
    let extra = format!("auth = \"oauth2\"\ntoken_url = \"{token_url}\"\nclient_id = \"cid\"");
    let setup = Setup::new(&server.url, &extra, &people(2));
    let report = setup.run().await.unwrap();
    assert_eq!(report.applied.unwrap().created, 2);
    assert_eq!(
        server.trace(),
        [
            "POST /oauth/token 200",
            "GET /v2/Users 401",
            "POST /oauth/token 200",
            "GET /v2/Users 200",
            "GET /v2/ServiceProviderConfig 404",
            "POST /v2/Users 201",
            "POST /v2/Users 201",
        ],
        "one token, a new one after the 401, then cached"
    );
    let log = server.log();
    // Client credentials go as HTTP Basic to the token endpoint, never in the URL.
    assert_eq!(
        log[0].authorization.as_deref(),
        Some("Basic Y2lkOnNlY3JldC10b2tlbg==")
    );
    assert_eq!(log[0].body, "grant_type=client_credentials");
    assert_eq!(
        log.last().unwrap().authorization.as_deref(),
        Some("Bearer issued-2")
    );
}

use fault::Logged;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_and_raw_header_auth_are_sent_as_configured() {
    let server = FaultServer::start().await;
    let setup = Setup::new(
        &server.url,
        "auth = \"basic\"\nusername = \"svc\"",
        &people(1),
    );
    setup.run().await.unwrap();
    assert_eq!(
        server.log()[0].authorization.as_deref(),
        Some("Basic c3ZjOnNlY3JldC10b2tlbg==")
    );
    let setup = Setup::new(&server.url, "auth = \"header\"", &people(1));
    setup.run().await.unwrap();
    assert_eq!(
        server.log().last().unwrap().authorization.as_deref(),
        Some("secret-token")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_mode_and_entra_op_casing() {
    let server = FaultServer::start().await;
    let setup = Setup::new(&server.url, "update_mode = \"put\"", &people(1));
    // Full runs: PUT mode's read before the write, not the incremental read by id
    // (`incremental::put_mode_reads_by_id_then_puts`).
    setup.append_config("[sync]\nfull_reconcile = \"always\"");
    setup.run().await.unwrap();
    setup.users(&json!([{"id": "s1", "email": "u1@x", "last": "Changed"}]));
    server.clear_log();
    setup.run().await.unwrap();
    let writes: Vec<Logged> = server
        .log()
        .into_iter()
        .filter(|l| l.method != "GET" || l.path.contains("/Users/"))
        .collect();
    assert_eq!(
        writes.iter().map(|l| l.method.as_str()).collect::<Vec<_>>(),
        ["GET", "PUT"]
    );
    let put: Json = serde_json::from_str(&writes[1].body).unwrap();
    assert_eq!(put["name"]["familyName"], "Changed");
    assert_eq!(put["userName"], "u1@x");
    assert!(put.get("meta").is_none());

    let server = FaultServer::start().await;
    let setup = Setup::new(&server.url, "patch_op_case = \"capitalized\"", &people(1));
    setup.run().await.unwrap();
    setup.users(&json!([]));
    setup.users(&json!([{"id": "s1", "email": "u1@x", "last": "Changed"}]));
    setup.run().await.unwrap();
    let patch = server
        .log()
        .into_iter()
        .find(|l| l.method == "PATCH")
        .unwrap();
    let body: Json = serde_json::from_str(&patch.body).unwrap();
    assert_eq!(
        body["Operations"],
        json!([{"op": "Replace", "path": "name.familyName", "value": "Changed"}])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_show_and_forget() {
    let server = FaultServer::start().await;
    server.fault(
        "POST",
        "/Users",
        Some("u3@x"),
        Fault::Refuse(400, "userName is reserved".into()),
        1,
    );
    let setup = Setup::new(&server.url, "", &people(3));
    let report = setup.run().await.unwrap();
    assert_eq!(report.applied.unwrap().failures.len(), 1);
    let config = setup.config_arg();
    let run = |list: &[&str]| {
        let mut all = args(list);
        all.extend(["--config".to_owned(), config.clone()]);
        scimsync_cli(all)
    };
    let (code, stdout, _) = run(&["state", "show"]).await;
    assert_eq!(code, 0);
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let held = stdout.lines().nth(3).unwrap_or_default().to_owned();
    assert!(
        held.starts_with(&format!("held  s3  create refused (HTTP 400) on {today} "))
            && held.ends_with(" UTC: userName is reserved"),
        "{stdout}"
    );
    // Creates run concurrently: the server's ids follow the order the POSTs arrived in.
    let id_of = |user_name: &str| {
        server
            .users()
            .iter()
            .find(|u| u["userName"] == user_name)
            .and_then(|u| u["id"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        stdout.lines().take(3).collect::<Vec<_>>(),
        [
            format!("target {}", server.url),
            format!("user  s1  {}  u1@x  active", id_of("u1@x")),
            format!("user  s2  {}  u2@x  active", id_of("u2@x")),
        ]
    );
    // The summary, then the full run this sync made (and its filtering, not checked yet).
    assert!(
        stdout.ends_with(&format!(
            "2 user(s), 0 group(s) managed; 1 held.\n{}",
            crate::support::shown_full_runs(&state_json(&setup))
        )),
        "{stdout}"
    );
    let (code, stdout, stderr) = run(&["state", "forget", "U2@X", "nobody"]).await;
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stdout, "forgot s2\n");
    assert_eq!(stderr, "error: not in the state: nobody\n");
    let (_, json_out, _) = run(&["state", "show", "--output", "json"]).await;
    let state: Json = serde_json::from_str(&json_out).unwrap();
    assert_eq!(state["users"].as_object().unwrap().len(), 1);
    assert_eq!(state["rejected"]["s3"]["operation"], "create");
    assert_eq!(state["rejected"]["s3"]["status"], 400);
    assert_eq!(state["rejected"]["s3"]["detail"], "userName is reserved");
    assert!(
        state["rejected"]["s3"]["at"]
            .as_str()
            .unwrap()
            .starts_with(&today)
    );
}

// --- Exactly once, one writer, and a guard that holds across runs (trust in production) ---

/// `scimsync ARGS` in the setup's directory, as a child process.
fn binary(setup: &Setup, args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_scimsync"));
    command
        .args(args)
        .arg("--config")
        .arg(setup.dir.path().join("scimsync.toml"))
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Waits (at most `limit`) for `ready`; false when it never came.
async fn wait_for(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if ready() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ready()
}

impl Setup {
    /// A 30 s client timeout, for runs that must outlast a slow answer.
    fn patient(&self) {
        let toml = self.dir.path().join("scimsync.toml");
        let text = std::fs::read_to_string(&toml).unwrap();
        std::fs::write(
            &toml,
            text.replace("timeout_seconds = 1", "timeout_seconds = 30"),
        )
        .unwrap();
    }

    /// Waits (at most 10 s) until process `pid` holds the state's lock.
    async fn locked_by(&self, pid: u32) -> bool {
        let lock = self.dir.path().join("state/state.json.lock");
        wait_for(Duration::from_secs(10), || {
            std::fs::read_to_string(&lock).is_ok_and(|p| p.trim() == pid.to_string())
        })
        .await
    }
}

/// A target without uniqueness whose creates take `delay` and only then take effect.
async fn slow_creating_target(delay: Duration) -> FaultServer {
    let server = FaultServer::start().await;
    server.allow_duplicates();
    server.fault(
        "POST",
        "/Users",
        None,
        Fault::SlowThenApply(delay),
        usize::MAX,
    );
    server
}

/// The target's state, as `state export --json` prints it.
fn state_json(setup: &Setup) -> Json {
    crate::support::state_json(&setup.dir.path().join("state"), None)
        .expect("the target has a state")
}

fn posts(server: &FaultServer) -> usize {
    server.log().iter().filter(|l| l.method == "POST").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_creates_on_a_target_without_uniqueness_are_never_sent_twice() {
    // Each POST takes 2 s (the client gives up after 1 s) and only then creates the user:
    // the lookup after the timeout finds nothing yet.
    let server = slow_creating_target(Duration::from_secs(2)).await;
    let setup = Setup::new(&server.url, "", &people(5));
    let report = setup.run().await.unwrap();
    let applied = report.applied.as_ref().unwrap();
    assert_eq!(
        (
            applied.created,
            applied.adopted,
            applied.pending,
            applied.failures.len()
        ),
        (0, 0, 5, 5)
    );
    assert!(report.failed(), "an unknown outcome is not a success");
    assert!(applied.failures.iter().all(|f| f.failure.outcome_unknown));
    let text = scimsync::sync::render::applied_text(applied);
    assert!(
        text.contains("? pending create u1@x: cannot reach ")
            && text.contains("It is not sent again: the next run looks the user up"),
        "{text}"
    );
    assert!(
        text.ends_with("Applied: 0 created, 0 updated, 0 reactivated, 0 deactivated; 5 failed (5 of them pending: outcome unknown).\n"),
        "{text}"
    );
    assert_eq!(state_json(&setup)["pending"].as_object().unwrap().len(), 5);
    let show = binary(&setup, &["state", "show"]).output().await.unwrap();
    let shown = String::from_utf8_lossy(&show.stdout);
    let pending: Vec<&str> = shown.lines().filter(|l| l.starts_with("pending")).collect();
    assert_eq!(pending.len(), 5, "{shown}");
    assert!(
        pending[0].starts_with("pending  s1  create of u1@x sent ")
            && pending[0]
                .ends_with(" UTC; the next run looks it up by userName before creating it"),
        "{shown}"
    );
    assert!(
        shown.ends_with(&format!(
            "0 user(s), 0 group(s) managed; 0 held; 5 pending.\n{}",
            crate::support::shown_full_runs(&state_json(&setup))
        )),
        "{shown}"
    );
    // Once every POST received has landed, the server holds exactly what was sent.
    assert!(
        wait_for(Duration::from_secs(10), || posts(&server)
            == server.received("POST"))
        .await
    );
    assert_eq!(posts(&server), 5, "one POST per user");
    assert_eq!(server.users().len(), 5);
    // The next run adopts what the lost answers created, and sends no POST.
    server.clear_faults();
    server.clear_log();
    let again = setup.run().await.unwrap();
    let applied = again.applied.as_ref().unwrap();
    assert_eq!((applied.created, applied.failures.len()), (0, 0));
    assert_eq!(posts(&server), 0, "{:?}", server.trace());
    assert_eq!(
        user_names(&server),
        ["u1@x", "u2@x", "u3@x", "u4@x", "u5@x"]
    );
    let state = state_json(&setup);
    assert!(state.get("pending").is_none());
    assert_eq!(state["users"].as_object().unwrap().len(), 5);
    // And then nothing is left to do.
    server.clear_log();
    let third = setup.run().await.unwrap();
    assert_eq!(third.changes.changes.len(), 0);
    assert_eq!(server.writes(), 0);
    assert_eq!(server.users().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_that_leaves_out_managed_users_does_not_recreate_them() {
    let server = FaultServer::start().await;
    server.allow_duplicates();
    let setup = Setup::new(&server.url, "", &people(50));
    // A full run (a listing) each time: what these runs test is the listing.
    setup.append_config("[sync]\nfull_reconcile = \"always\"");
    setup.run().await.unwrap();
    let ids: Vec<String> = server
        .users()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 50);
    // The listing loses every managed user; one of them (u50) is really gone.
    server.leave_out_of_listing(&ids);
    let gone = ids[49].clone();
    server.clear_log();
    let client = reqwest::Client::new();
    let deleted = client
        .delete(format!("{}/Users/{gone}", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    // u1 leaves the source: it must be deactivated, not forgotten, although unlisted.
    setup.users(&Json::Array(people(50).as_array().unwrap()[1..].to_vec()));
    server.clear_log();
    let report = setup.run().await.unwrap();
    let applied = report.applied.unwrap();
    assert_eq!(
        (
            applied.created,
            applied.deactivated,
            applied.updated,
            applied.failures.len()
        ),
        (1, 1, 0, 0),
        "only the user the target answered 404 for is created again"
    );
    let gets = server
        .log()
        .iter()
        .filter(|l| l.method == "GET" && l.path.starts_with("/v2/Users/"))
        .count();
    assert_eq!(gets, 50, "each unlisted managed user confirmed by id");
    assert_eq!(posts(&server), 1);
    let users = server.users();
    assert_eq!(users.len(), 50, "49 kept + u50 created again");
    assert_eq!(users.iter().filter(|u| u["userName"] == "u50@x").count(), 1);
    assert_eq!(
        users.iter().find(|u| u["userName"] == "u1@x").unwrap()["active"],
        false
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_during_creates_is_resolved_by_lookup_not_a_second_create() {
    let server = slow_creating_target(Duration::from_secs(1)).await;
    let setup = Setup::new(&server.url, "", &people(4));
    setup.patient();
    let mut child = binary(&setup, &["sync"]).spawn().unwrap();
    // The creates are on disk as pending before the first POST goes out; kill -9 once all
    // four are on their way (the default concurrency is 4).
    assert!(
        wait_for(Duration::from_secs(20), || server.received("POST") == 4).await,
        "the four creates are sent"
    );
    assert_eq!(
        state_json(&setup)["pending"].as_object().unwrap().len(),
        4,
        "the pending creates are saved before they are sent"
    );
    child.start_kill().unwrap();
    let status = child.wait().await.unwrap();
    assert!(!status.success());
    assert!(
        wait_for(Duration::from_secs(10), || server.users().len() == 4).await,
        "the POSTs in flight still land"
    );
    // The listing does not show them yet (eventual consistency): only the pending records
    // and a lookup by userName can find them.
    let ids: Vec<String> = server
        .users()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    server.leave_out_of_listing(&ids);
    server.clear_faults();
    server.clear_log();
    let report = setup.run().await.unwrap();
    assert_eq!(report.applied.unwrap().created, 0);
    assert_eq!(posts(&server), 0, "{:?}", server.trace());
    assert_eq!(server.users().len(), 4);
    let state = state_json(&setup);
    assert!(state.get("pending").is_none(), "{state}");
    assert_eq!(state["users"].as_object().unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_on_one_state_never_write_at_once() {
    let server = FaultServer::start().await;
    server.allow_duplicates();
    let setup = Setup::new(&server.url, "", &people(3));
    setup.patient();
    // The first run's listing takes 3 s: long enough for a second run to try.
    server.fault(
        "GET",
        "/Users?",
        None,
        Fault::SlowAfterApply(Duration::from_secs(3)),
        1,
    );
    let first = binary(&setup, &["sync"]).spawn().unwrap();
    let first_pid = first.id().unwrap();
    assert!(
        setup.locked_by(first_pid).await,
        "the first run holds the lock"
    );
    let second = binary(&setup, &["sync"]).output().await.unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    let state_path = setup.state_file();
    assert!(
        stderr.contains(&format!(
            "error: state {} is in use by another scimsync run (PID {first_pid})",
            state_path.display()
        )),
        "{stderr}"
    );
    let forget = binary(&setup, &["state", "forget", "s1"])
        .output()
        .await
        .unwrap();
    assert_eq!(forget.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&forget.stderr).contains(&format!("(PID {first_pid})")));
    // A dry run takes no lock, and says a writer holds it.
    let dry = binary(&setup, &["sync", "--dry-run"])
        .output()
        .await
        .unwrap();
    let dry_err = String::from_utf8_lossy(&dry.stderr);
    assert_eq!(dry.status.code(), Some(0), "{dry_err}");
    assert!(
        dry_err.contains(&format!(
            "dry run: another scimsync run (PID {first_pid}) is writing this target"
        )),
        "{dry_err}"
    );
    let first = first.wait_with_output().await.unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(
        user_names(&server),
        ["u1@x", "u2@x", "u3@x"],
        "created once"
    );
    assert_eq!(posts(&server), 3);
    // The lock went with its process: the next run goes ahead.
    let next = binary(&setup, &["sync"]).output().await.unwrap();
    assert!(
        next.status.success(),
        "{}",
        String::from_utf8_lossy(&next.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_left_by_a_killed_run_does_not_block_the_next() {
    let server = FaultServer::start().await;
    let setup = Setup::new(&server.url, "", &people(2));
    setup.patient();
    server.fault(
        "GET",
        "/Users?",
        None,
        Fault::SlowAfterApply(Duration::from_secs(5)),
        1,
    );
    let mut first = binary(&setup, &["sync"]).spawn().unwrap();
    let lock = setup.dir.path().join("state/state.json.lock");
    let pid = first.id().unwrap().to_string();
    assert!(setup.locked_by(first.id().unwrap()).await);
    first.start_kill().unwrap();
    first.wait().await.unwrap();
    // The file still names the dead process; the kernel released its lock.
    assert_eq!(std::fs::read_to_string(&lock).unwrap().trim(), pid);
    let next = binary(&setup, &["sync"]).output().await.unwrap();
    assert!(
        next.status.success(),
        "{}",
        String::from_utf8_lossy(&next.stderr)
    );
    assert_eq!(user_names(&server), ["u1@x", "u2@x"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_that_shrinks_every_run_is_stopped_by_the_window() {
    let server = FaultServer::start().await;
    let setup = Setup::new(&server.url, "", &people(200));
    setup.run().await.unwrap();
    let first_n = |n: usize| Json::Array(people(200).as_array().unwrap()[..n].to_vec());
    // 200 -> 160: 40 of 200 (20 %), allowed.
    setup.users(&first_n(160));
    let report = setup.run().await.unwrap();
    assert_eq!(report.applied.unwrap().deactivated, 40);
    // 160 -> 120: 40 more in the same day is 80 of 200 (40 %): stopped, nothing written.
    setup.users(&first_n(120));
    server.clear_log();
    let message = setup.run().await.unwrap_err().to_string();
    assert_eq!(
        message,
        "refusing to sync: this run would deactivate or delete 40 users, and 40 were already deactivated or deleted in the last 24 h: 80 of 200 managed active users (40%), above the threshold (50 users or 20% per 24 h); nothing was written. If this is intended, run once with --allow-mass-deactivation, or raise max_deactivations / max_deactivation_percent in [sync.safety]"
    );
    assert_eq!(server.writes(), 0);
    // The dry run says the same; with --allow-mass-deactivation it shows the real run's
    // plan, with no stop.
    let dry = setup.run_as(true, false).await.unwrap();
    assert_eq!(dry.safety.as_ref().unwrap().already_removed, 40);
    let dry_allowed = setup.run_as(true, true).await.unwrap();
    assert_eq!(dry_allowed.safety, None);
    assert_eq!(
        dry_allowed
            .changes
            .count(scimsync::sync::diff::Action::Deactivate),
        40
    );
    assert!(
        !scimsync::sync::render::report_text(&dry_allowed, true).contains("! stop"),
        "the dry run shows what the real run with the same flags does"
    );
    // A window of one run only goes back to counting each run alone.
    let toml = setup.dir.path().join("scimsync.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(&toml, format!("{text}\n[sync.safety]\nwindow = \"0s\"\n")).unwrap();
    setup.users(&first_n(130));
    let report = setup.run().await.unwrap();
    assert_eq!(report.applied.unwrap().deactivated, 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_detail_is_redacted_before_it_is_cut() {
    let server = FaultServer::start().await;
    // The token (`secret-token`, loaded from the file) straddles the 500-character cut.
    let detail = format!("{}secret-token{}", "x".repeat(490), "y".repeat(20));
    server.fault("POST", "/Users", None, Fault::Refuse(400, detail), 1);
    let setup = Setup::new(&server.url, "", &people(1));
    let report = setup.run().await.unwrap();
    let failure = serde_json::to_value(&report.applied.unwrap().failures[0]).unwrap();
    assert_eq!(
        failure["detail"],
        format!("{}[redacted]", "x".repeat(490)),
        "the half of the token before the cut must not survive"
    );
}
// Strict targets: behaviours of real SCIM targets, as switchable profiles of the fault
// server (`fault::Strict`), and what scimsync does about each.

/// A fault server with the strict behaviours of `strict` on.
async fn strict_server(strict: Strict) -> FaultServer {
    let server = FaultServer::start().await;
    server.strict(strict);
    server
}

/// The plan and the applied lines of a run, as `scimsync sync` prints them.
fn printed(report: &RunReport) -> String {
    let mut out = scimsync::sync::render::report_text(report, false);
    if let Some(applied) = &report.applied {
        out.push_str(&scimsync::sync::render::applied_text(applied));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_page_cap_below_the_requested_count_still_lists_everyone() {
    let server = strict_server(Strict {
        page_cap: Some(100),
        ..Strict::default()
    })
    .await;
    let setup = Setup::new(&server.url, "page_size = 200", &people(250));
    // A full run (a listing) each time: what these runs test is the listing.
    setup.append_config("[sync]\nfull_reconcile = \"always\"");
    assert_eq!(setup.run().await.unwrap().applied.unwrap().created, 250);
    server.clear_log();
    let again = setup.run().await.unwrap();
    assert_eq!(
        (again.changes.changes.len(), again.changes.unchanged),
        (0, 250)
    );
    let pages: Vec<String> = server
        .log()
        .iter()
        .filter(|l| l.method == "GET")
        .map(|l| l.path.clone())
        .collect();
    assert_eq!(
        pages,
        [
            "/v2/Users?startIndex=1&count=200",
            "/v2/Users?startIndex=101&count=200",
            "/v2/Users?startIndex=201&count=200",
        ]
    );
    assert_eq!(server.writes(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_filters_lookups_survive_single_eq_and_blind_externalid_filters() {
    let server = strict_server(Strict {
        single_eq_filter: true,
        blind_filters: vec!["externalid", "emails"],
        ..Strict::default()
    })
    .await;
    // The create takes effect but answers 500: scimsync must find the user to adopt it,
    // and the target's externalId filter finds nothing.
    server.fault("POST", "/Users", None, Fault::StatusAfterApply(500), 1);
    let setup = Setup::new(&server.url, "", &people(1));
    setup.map("match externalId\nuserName <- user.email\nexternalId <- user.id\nname.familyName <- user.last\n");
    assert_eq!(
        created_adopted_failed(setup.run().await.unwrap()),
        (0, 1, 0)
    );
    assert_eq!(user_names(&server), ["u1@x"]);
    let lookups: Vec<String> = server
        .log()
        .iter()
        .filter(|l| l.path.contains("filter="))
        .map(|l| format!("{} {}", l.path, l.status))
        .collect();
    assert_eq!(
        lookups,
        [
            "/v2/Users?filter=externalId+eq+%22s1%22 200",
            "/v2/Users?filter=userName+eq+%22u1%40x%22 200",
        ]
    );
    assert_eq!(setup.run().await.unwrap().changes.changes.len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_under_match_externalid_says_why_the_user_was_not_adopted() {
    let server = FaultServer::start().await;
    server.seed_user(json!({"userName": "u1@x", "externalId": "legacy-7"}));
    server.seed_user(json!({"userName": "u2@x"}));
    let setup = Setup::new(&server.url, "concurrency = 1", &people(2));
    setup.map("match externalId\nuserName <- user.email\nexternalId <- user.id\n");
    let report = setup.run().await.unwrap();
    let text = scimsync::sync::render::applied_text(report.applied.as_ref().unwrap());
    let url = &server.url;
    assert_eq!(
        text,
        format!(
            "! create user u1@x (userName, externalId) failed: POST {url}/Users failed with HTTP 409 (uniqueness): userName already in use; the target holds a conflicting resource. A user with userName \"u1@x\" is on the target with another externalId (\"legacy-7\"), and users are matched on `externalId`, so it was not adopted. To adopt it, set its externalId to \"s1\" in the app (or `match userName` in the mapping)\n\
             ! create user u2@x (userName, externalId) failed: POST {url}/Users failed with HTTP 409 (uniqueness): userName already in use; the target holds a conflicting resource. A user with userName \"u2@x\" is on the target with no externalId, and users are matched on `externalId`, so it was not adopted. To adopt it, set its externalId to \"s2\" in the app (or `match userName` in the mapping)\n\
             Applied: 0 created, 0 updated, 0 reactivated, 0 deactivated; 2 failed.\n"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_501_on_filtered_patch_paths_names_the_path_and_put_mode_works() {
    let server = strict_server(Strict {
        no_filtered_patch: true,
        ..Strict::default()
    })
    .await;
    let id = server.seed_user(json!({"userName": "u1@x",
        "emails": [{"type": "work", "value": "old@x"}]}));
    let users = json!([{"id": "s1", "email": "u1@x", "work": "new@x"}]);
    let setup = Setup::new(&server.url, "", &users);
    setup.map("userName <- user.email\nemails[type eq \"work\"].value <- user.work\n");
    let report = setup.run().await.unwrap();
    let applied = report.applied.as_ref().unwrap();
    assert_eq!(
        applied.failures[0].line(),
        format!(
            "update user u1@x (emails[type eq \"work\"].value) failed: PATCH {}/Users/{id} failed with HTTP 501; the target does not implement this request. The target may not implement PATCH on filtered paths (emails[type eq \"work\"].value): set update_mode = \"put\" in [target], or drop the attribute from the mapping",
            server.url
        )
    );
    assert!(printed(&report).contains(&format!("! {}\n", applied.failures[0].line())));
    // The remedy works: the whole user is replaced, with the e-mail in its element.
    let toml = setup.dir.path().join("scimsync.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(
        &toml,
        text.replace("[state]", "update_mode = \"put\"\n[state]"),
    )
    .unwrap();
    setup.lose_state();
    let report = setup.run().await.unwrap();
    assert_eq!(report.applied.unwrap().updated, 1);
    assert_eq!(
        server.users()[0]["emails"],
        json!([{"type": "work", "value": "new@x"}])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_put_that_drops_an_attribute_is_reported_once_and_not_resent() {
    let server = strict_server(Strict {
        drops: vec!["title"],
        ..Strict::default()
    })
    .await;
    server.seed_user(json!({"userName": "u1@x", "name": {"familyName": "L1"}}));
    server.seed_user(json!({"userName": "u2@x", "name": {"familyName": "L2"}}));
    let users = |title: &str| {
        json!([{"id": "s1", "email": "u1@x", "last": "L1", "title": title},
               {"id": "s2", "email": "u2@x", "last": "L2", "title": title}])
    };
    let setup = Setup::new(&server.url, "update_mode = \"put\"", &users("Boss"));
    setup.map("userName <- user.email\nname.familyName <- user.last\ntitle <- user.title\n");
    let report = setup.run().await.unwrap();
    assert_eq!(
        scimsync::sync::render::applied_text(report.applied.as_ref().unwrap()),
        "! the target accepted `title` but does not keep it (2 user(s): u1@x, u2@x); it is not sent again while the value stays the same\n\
         Applied: 0 created, 2 updated, 0 reactivated, 0 deactivated; 0 failed.\n"
    );
    assert_eq!(
        state_json(&setup)["notKept"],
        json!({"s1": {"title": "6282dad5e4adfeea"}, "s2": {"title": "6282dad5e4adfeea"}})
    );
    server.clear_log();
    let again = setup.run().await.unwrap();
    assert_eq!(
        printed(&again),
        "No changes: the target is up to date.\n\
         Plan: 0 to create, 0 to update, 0 to reactivate, 0 to deactivate; 2 unchanged, 0 skipped.\n\
         Applied: 0 created, 0 updated, 0 reactivated, 0 deactivated; 0 failed.\n"
    );
    assert_eq!(server.writes(), 0);
    // A new value is sent again (the target might keep it now).
    setup.users(&users("Chief"));
    let changed = setup.run().await.unwrap();
    assert_eq!(changed.applied.as_ref().unwrap().updated, 2);
    assert_eq!(changed.applied.unwrap().not_kept.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_patch_204_that_drops_an_attribute_is_noticed_in_the_next_listing() {
    let server = strict_server(Strict {
        drops: vec!["title"],
        ..Strict::default()
    })
    .await;
    server.seed_user(json!({"userName": "u1@x", "name": {"familyName": "L1"}}));
    let users = json!([{"id": "s1", "email": "u1@x", "last": "L1", "title": "Boss"}]);
    let setup = Setup::new(&server.url, "", &users);
    // The next run lists (an incremental run leaves the check to the next full run).
    setup.append_config("[sync]\nfull_reconcile = \"always\"");
    setup.map("userName <- user.email\nname.familyName <- user.last\ntitle <- user.title\n");
    assert_eq!(setup.run().await.unwrap().applied.unwrap().updated, 1);
    assert_eq!(
        state_json(&setup)["unverified"],
        json!({"s1": {"title": "6282dad5e4adfeea"}})
    );
    server.clear_log();
    let second = setup.run().await.unwrap();
    assert_eq!(
        printed(&second),
        "! the target accepted `title` but does not keep it (1 user(s): u1@x); it is not sent again while the value stays the same\n\
         No changes: the target is up to date.\n\
         Plan: 0 to create, 0 to update, 0 to reactivate, 0 to deactivate; 1 unchanged, 0 skipped.\n\
         Applied: 0 created, 0 updated, 0 reactivated, 0 deactivated; 0 failed.\n"
    );
    assert_eq!(server.writes(), 0);
    let document =
        serde_json::to_value(scimsync::sync::render::report_json(&second, false)).unwrap();
    assert_eq!(
        document["not_kept"],
        json!([{"source_id": "s1", "user": "u1@x", "path": "title"}])
    );
    let state = state_json(&setup);
    assert_eq!(
        state["notKept"],
        json!({"s1": {"title": "6282dad5e4adfeea"}})
    );
    assert!(state.get("unverified").is_none());
    let third = setup.run().await.unwrap();
    assert!(printed(&third).starts_with("No changes: the target is up to date.\n"));
    assert_eq!(server.writes(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_a_username_reserved_after_delete_is_explained() {
    let server = strict_server(Strict {
        reserve_deleted_names: true,
        ..Strict::default()
    })
    .await;
    let setup = Setup::new(&server.url, "", &people(2));
    setup.append_config("[sync.actions]\ndelete = true");
    setup.run().await.unwrap();
    setup.users(&Json::Array(people(2).as_array().unwrap()[1..].to_vec()));
    let deleted = setup.run_as(false, true).await.unwrap();
    assert_eq!(deleted.applied.unwrap().deleted, 1);
    setup.users(&people(2));
    let report = setup.run().await.unwrap();
    assert_eq!(
        scimsync::sync::render::applied_text(report.applied.as_ref().unwrap()),
        format!(
            "! create user u1@x (userName, name.familyName) failed: POST {}/Users failed with HTTP 409 (uniqueness): userName is reserved; the target holds a conflicting resource. No user with userName \"u1@x\" is on the target: it may keep the userName of a deleted user reserved. Restore the user in the app, or free the userName there\n\
             Applied: 0 created, 0 updated, 0 reactivated, 0 deactivated; 1 failed.\n",
            server.url
        )
    );
    assert_eq!(user_names(&server), ["u2@x"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_lower_cased_emails_are_not_rewritten_on_every_run() {
    let server = strict_server(Strict {
        lowercase_emails: true,
        ..Strict::default()
    })
    .await;
    let users = json!([{"id": "s1", "email": "Ada.Lovelace@Example.COM", "name": "Ada Lovelace"}]);
    let setup = Setup::new(&server.url, "", &users);
    // A full run (a listing) each time: what these runs test is the listing.
    setup.append_config("[sync]\nfull_reconcile = \"always\"");
    setup.map("userName <- user.email\nemails[type eq \"work\"].value <- user.email\ndisplayName <- user.name\n");
    assert_eq!(setup.run().await.unwrap().applied.unwrap().created, 1);
    assert_eq!(
        server.users()[0]["emails"],
        json!([{"type": "work", "value": "ada.lovelace@example.com"}])
    );
    server.clear_log();
    let again = setup.run().await.unwrap();
    assert!(
        printed(&again).starts_with("No changes: the target is up to date.\n"),
        "{}",
        printed(&again)
    );
    assert_eq!(server.writes(), 0);
    // The difference in case made the run ask the target's /Schemas once (404 here: RFC
    // 7643's defaults apply).
    assert_eq!(server.trace(), ["GET /v2/Users 200", "GET /v2/Schemas 404"]);
    // displayName is case-exact by default: a re-spelling is written...
    setup
        .users(&json!([{"id": "s1", "email": "Ada.Lovelace@Example.COM", "name": "ADA LOVELACE"}]));
    let dry = setup.run_as(true, false).await.unwrap();
    assert_eq!(dry.changes.changes.len(), 1);
    // ...unless the target's schema says its case does not matter.
    server.strict(Strict {
        lowercase_emails: true,
        schemas: Some(
            json!({"Resources": [{"id": "urn:ietf:params:scim:schemas:core:2.0:User",
            "attributes": [{"name": "displayName", "type": "string", "caseExact": false}]}]}),
        ),
        ..Strict::default()
    });
    let dry = setup.run_as(true, false).await.unwrap();
    assert_eq!(dry.changes.changes.len(), 0);
    assert_eq!(dry.changes.unchanged, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_post_groups_that_ignores_members_still_ends_with_the_members() {
    let server = strict_server(Strict {
        group_post_ignores_members: true,
        ..Strict::default()
    })
    .await;
    let users = json!([{"id": "s1", "email": "u1@x", "last": "L1", "groups": ["eng"]},
                       {"id": "s2", "email": "u2@x", "last": "L2", "groups": ["eng"]}]);
    let setup = Setup::new(&server.url, "", &users);
    setup.map(
        "userName <- user.email\nname.familyName <- user.last\ngroup \"eng\" as \"Engineering\"\n",
    );
    setup.run().await.unwrap();
    let ids: Vec<Json> = server
        .users()
        .iter()
        .map(|u| json!({"value": u["id"]}))
        .collect();
    let groups = server.groups();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["displayName"], "Engineering");
    assert_eq!(groups[0]["members"], Json::Array(ids));
    assert_eq!(setup.run().await.unwrap().groups.changes.len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_re_created_in_the_source_takes_over_their_account() {
    let server = FaultServer::start().await;
    let setup = Setup::new(
        &server.url,
        "",
        &json!([{"id": "okta-1", "email": "ada@x", "last": "Lovelace"}]),
    );
    setup.run().await.unwrap();
    let id = server.users()[0]["id"].as_str().unwrap().to_owned();
    // HR deletes Ada and creates her again: same e-mail, new source id.
    setup.users(&json!([{"id": "okta-2", "email": "ada@x", "last": "King"}]));
    let report = setup.run().await.unwrap();
    assert_eq!(
        printed(&report),
        "~ update ada@x (taken over from source user okta-1: re-created): name.familyName\n\
         Plan: 0 to create, 1 to update, 0 to reactivate, 0 to deactivate; 0 unchanged, 0 skipped.\n\
         Applied: 0 created, 1 updated, 0 reactivated, 0 deactivated; 0 failed.\n"
    );
    let users = server.users();
    assert_eq!(
        (
            users.len(),
            &users[0]["id"],
            &users[0]["active"],
            &users[0]["name"]["familyName"]
        ),
        (1, &json!(id), &json!(true), &json!("King"))
    );
    let state = state_json(&setup);
    assert_eq!(
        state["users"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["okta-2"]
    );
    assert_eq!(state["users"]["okta-2"]["id"], json!(id));
    assert!(printed(&setup.run().await.unwrap()).starts_with("No changes"));

    // Left, deactivated by a run, then re-created: reactivated by the new id.
    setup.users(&json!([{"id": "okta-9", "email": "bob@x", "last": "B"}]));
    setup.run_as(false, true).await.unwrap();
    assert_eq!(server.users()[0]["active"], false);
    setup.users(&json!([{"id": "okta-3", "email": "ada@x", "last": "King"},
                        {"id": "okta-9", "email": "bob@x", "last": "B"}]));
    let report = setup.run().await.unwrap();
    assert!(
        printed(&report).starts_with(
            "~ reactivate ada@x (taken over from source user okta-2: re-created): active\n"
        ),
        "{}",
        printed(&report)
    );
    assert_eq!(server.users()[0]["active"], true);
    assert_eq!(user_names(&server), ["ada@x", "bob@x"]);
}

/// Runs the scimsync binary off the async runtime (the fault server lives on it): exit code,
/// stdout, stderr.
async fn scimsync_cli(args: Vec<String>) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_scimsync"))
            .args(&args)
            .output()
            .unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

impl Setup {
    fn config_arg(&self) -> String {
        self.dir
            .path()
            .join("scimsync.toml")
            .to_str()
            .unwrap()
            .to_owned()
    }
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|a| (*a).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_over_the_cap_stops_sending_and_keeps_the_writes_made() {
    let server = FaultServer::start().await;
    // Within max_backoff_seconds (2): waited out, with a warning.
    server.fault(
        "POST",
        "/Users",
        Some("u1@x"),
        Fault::Status(429, Some("1".into())),
        1,
    );
    // An hour: the run stops sending; u2 and u3 are not tried, now or in a retry loop.
    server.fault(
        "POST",
        "/Users",
        Some("u2@x"),
        Fault::Status(429, Some("3600".into())),
        usize::MAX,
    );
    let setup = Setup::new(&server.url, "concurrency = 1", &people(3));
    let started = chrono::Utc::now();
    let (code, stdout, stderr) =
        scimsync_cli(args(&["sync", "--config", &setup.config_arg()])).await;
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        server.trace(),
        [
            "GET /v2/Users 200",
            "GET /v2/ServiceProviderConfig 404",
            "POST /v2/Users 429",
            "POST /v2/Users 201",
            "POST /v2/Users 429"
        ],
        "nothing is sent after the long Retry-After"
    );
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains(" WARN ")).collect();
    assert_eq!(warnings.len(), 2, "{stderr}");
    assert!(
        warnings[0]
            .contains("the target is throttling (HTTP 429): waiting 1.0 s before trying again"),
        "{stderr}"
    );
    assert!(
        warnings[1].contains(
            "the target asks to wait 3600 s, more than max_backoff_seconds (2 s): nothing more is sent to it this run"
        ),
        "{stderr}"
    );
    let last = stderr.lines().last().unwrap();
    let (message, after) = last.split_once(" after ").unwrap();
    assert_eq!(
        message,
        "error: the target asks to wait 3600 s, more than max_backoff_seconds (2 s); nothing more was sent to it; the writes above were made and the state is saved; run sync again"
    );
    let until = chrono::NaiveDateTime::parse_from_str(after, "%Y-%m-%d %H:%M:%S UTC")
        .unwrap()
        .and_utc();
    let hour_later = (until - started).num_seconds();
    assert!((3600..=3630).contains(&hour_later), "{last}");
    assert!(
        stdout.ends_with("Stopped: 2 write(s) not started; the state holds everything done.\n"),
        "{stdout}"
    );
    assert_eq!(user_names(&server), ["u1@x"]);
    let state: Json = state_json(&setup);
    let managed: Vec<&String> = state["users"].as_object().unwrap().keys().collect();
    assert_eq!(managed, ["s1"], "the write made before the stop is saved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_date_over_the_cap_stops_the_listing() {
    let server = FaultServer::start().await;
    let later = std::time::SystemTime::now() + Duration::from_secs(7200);
    server.fault(
        "GET",
        "/Users",
        None,
        Fault::Status(429, Some(httpdate::fmt_http_date(later))),
        usize::MAX,
    );
    let setup = Setup::new(&server.url, "", &people(2));
    let err = setup.run().await.unwrap_err();
    let SyncError::Target(scimsync_scim::client::ClientError::Throttled { held, .. }) = &err else {
        panic!("{err}")
    };
    assert!(
        (7198..=7200).contains(&held.wait_seconds()),
        "{}",
        held.wait_seconds()
    );
    assert_eq!(held.cap, Duration::from_secs(2));
    assert_eq!(server.trace(), ["GET /v2/Users 429"], "one request only");
    assert!(
        crate::support::state_json(&setup.dir.path().join("state"), None).is_none(),
        "nothing was written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_of_a_failed_dry_run_says_it_was_a_dry_run() {
    let server = FaultServer::start().await;
    server.fault(
        "GET",
        "/Users",
        None,
        Fault::Refuse(403, "not allowed to list".into()),
        usize::MAX,
    );
    let setup = Setup::new(&server.url, "", &people(1));
    let (code, _, stderr) = scimsync_cli(args(&[
        "-v",
        "--log-format",
        "json",
        "sync",
        "--dry-run",
        "--config",
        &setup.config_arg(),
    ]))
    .await;
    assert_eq!(code, 1, "{stderr}");
    let summaries: Vec<Json> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Json>(l).ok())
        .filter(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("run finished"))
        })
        .collect();
    assert_eq!(summaries.len(), 1, "{stderr}");
    let url = format!("{}/Users?startIndex=1&count=200", server.url);
    assert_eq!(summaries[0]["dry_run"], true);
    assert_eq!(
        summaries[0]["error"],
        format!(
            "cannot list the target's users: GET {url} failed with HTTP 403: not allowed to list"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_okta_status_stops_the_run_before_any_write() {
    let server = FaultServer::start().await;
    let users = json!([
        {"id": "00u1", "status": "active", "profile": {"email": "u1@x", "last": "L1"}},
        {"id": "00u2", "status": "WHATEVER", "profile": {"email": "u2@x", "last": "L2"}}
    ]);
    let setup = Setup::new(&server.url, "", &users);
    let toml = setup.dir.path().join("scimsync.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(
        &toml,
        text.replace("format = \"plain\"", "format = \"okta\""),
    )
    .unwrap();
    let err = setup.run().await.unwrap_err();
    let export = setup.dir.path().join("users.json");
    assert_eq!(
        err.to_string(),
        format!(
            "export {}, record 1 (line 1): `status` \"WHATEVER\" is not an Okta user status (one of ACTIVE, STAGED, PROVISIONED, RECOVERY, PASSWORD_EXPIRED, LOCKED_OUT, SUSPENDED, DEPROVISIONED)",
            export.display()
        )
    );
    assert_eq!(server.writes(), 0);
}

/// A CA and a certificate it signed for 127.0.0.1: (CA PEM, server chain PEM, server key PEM).
fn private_ca() -> (String, String, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "scimsync test CA");
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = rcgen::Issuer::from_params(&ca, &ca_key);
    let server_key = rcgen::KeyPair::generate().unwrap();
    let server = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();
    (ca_pem, server.pem(), server_key.serialize_pem())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_not_retried_and_ca_file_trusts_a_private_ca() {
    let (ca, chain, key) = private_ca();
    let server = FaultServer::start_tls(&chain, &key).await;
    let setup = Setup::new(&server.url, "", &people(2));
    let err = setup.run().await.unwrap_err();
    let host = server
        .url
        .trim_start_matches("https://")
        .trim_end_matches("/v2");
    assert_eq!(
        err.to_string(),
        format!(
            "cannot list the target's users: GET {}/Users?startIndex=1&count=200: the TLS certificate of {host} is not trusted: it is not signed by a trusted CA (UnknownIssuer); if the target uses a private CA, set `ca_file` in [target] to that CA's PEM certificate",
            server.url
        )
    );
    assert_eq!(server.connections(), 1, "one attempt, no retries");
    assert!(server.log().is_empty(), "no request got through");

    // The CA in `ca_file` (relative to the config): the same target is trusted.
    let setup = Setup::new(&server.url, "ca_file = \"ca.pem\"", &people(2));
    std::fs::write(setup.dir.path().join("ca.pem"), ca).unwrap();
    let report = setup.run().await.unwrap();
    assert_eq!(report.applied.unwrap().created, 2);
    assert_eq!(user_names(&server), ["u1@x", "u2@x"]);
    assert_eq!(
        server.trace(),
        [
            "GET /v2/Users 200",
            "GET /v2/ServiceProviderConfig 404",
            "POST /v2/Users 201",
            "POST /v2/Users 201"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_short_of_its_total_looks_before_each_create() {
    let server = FaultServer::start().await;
    server.allow_duplicates();
    // u2 is on the target already (made by hand, not managed), but the listing misses it
    // while its totalResults still counts it, as when a page shifts under a deletion.
    let existing = server.seed_user(json!({"userName": "u2@x", "name": {"familyName": "L2"}}));
    server.count_but_leave_out_of_listing(std::slice::from_ref(&existing));
    let setup = Setup::new(&server.url, "concurrency = 1", &people(3));
    let report = setup.run().await.unwrap();
    let applied = report.applied.unwrap();
    assert_eq!((applied.created, applied.adopted), (2, 1));
    let mut names = user_names(&server);
    names.sort();
    assert_eq!(names, ["u1@x", "u2@x", "u3@x"], "no second u2");
    let lookups = server
        .log()
        .iter()
        .filter(|l| l.method == "GET" && l.path.contains("filter="))
        .count();
    assert_eq!(lookups, 3, "one lookup per create: {:?}", server.trace());
    assert_eq!(state_json(&setup)["users"]["s2"]["id"], existing.as_str());
    // A listing that is whole costs no lookup.
    let server = FaultServer::start().await;
    let setup = Setup::new(&server.url, "", &people(3));
    setup.run().await.unwrap();
    assert!(
        !server.trace().iter().any(|t| t.contains("filter=")),
        "{:?}",
        server.trace()
    );
}

/// A server that answers every request with a list of `body_bytes` bytes, announced with
/// `Content-Length` or streamed without one.
async fn oversized_server(body_bytes: usize, announce_length: bool) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        for _ in 0..4 {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request).await;
            let head = if announce_length {
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\nContent-Length: {body_bytes}\r\n\r\n"
                )
            } else {
                "HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\nConnection: close\r\n\r\n".to_owned()
            };
            let _ = stream.write_all(head.as_bytes()).await;
            let chunk = vec![b' '; 64 * 1024];
            let mut sent = 0;
            while sent < body_bytes {
                let n = chunk.len().min(body_bytes - sent);
                if stream.write_all(&chunk[..n]).await.is_err() {
                    break;
                }
                sent += n;
            }
        }
    });
    format!("http://127.0.0.1:{port}/v2")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_larger_than_the_limit_fails_the_request_not_the_memory() {
    use scimsync_scim::auth::Auth;
    use scimsync_scim::client::{ClientOptions, ResourceType, ScimClient};
    use scimsync_secure::secret::Secret;
    let options = ClientOptions {
        max_response_bytes: 1 << 20,
        ..ClientOptions::default()
    };
    for announce_length in [true, false] {
        let url = oversized_server(3 << 20, announce_length).await;
        let client = ScimClient::new(
            &url,
            Auth::bearer(&Secret::new("token-1234")).unwrap(),
            &options,
        )
        .unwrap();
        let error = client.list(ResourceType::User).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "GET {url}/Users?startIndex=1&count=200: unexpected response: the answer is larger than 1 MiB; scimsync stops reading it"
            ),
            "Content-Length announced: {announce_length}"
        );
    }
}
