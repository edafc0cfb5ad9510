//! Fault injection against an in-process SCIM server (`support/fault.rs`): rate limits,
//! server errors, resets, slow answers, conflicts and permanent refusals. Each test asserts
//! the exact requests sent, the server's final state (exactly-once effects) and the failures
//! recorded; plus the safety threshold, an empty source, a crash before the state save,
//! cancellation, auth modes, PUT mode and Entra op casing.

#[path = "support/fault.rs"]
mod fault;

use std::path::PathBuf;
use std::time::Duration;

use fault::{Fault, FaultServer};
use scimsync::config::Config;
use scimsync::sync::{RunOptions, RunReport, SyncError, run_sync};
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

    fn users(&self, users: &Json) {
        std::fs::write(self.dir.path().join("users.json"), users.to_string()).unwrap();
    }

    fn state_file(&self) -> PathBuf {
        self.dir.path().join("state/state.json")
    }

    async fn run(&self) -> Result<RunReport, SyncError> {
        run_sync(&self.config(), &RunOptions::new(false)).await
    }
}

fn people(n: usize) -> Json {
    Json::Array(
        (1..=n)
            .map(|i| json!({"id": format!("s{i}"), "email": format!("u{i}@x"), "last": format!("L{i}")}))
            .collect(),
    )
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
    let report = setup.run().await.unwrap();
    let applied = report.applied.unwrap();
    assert_eq!(
        (applied.created, applied.adopted, applied.failures.len()),
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
    assert_eq!(
        (applied.created, applied.adopted),
        (1, 1),
        "u1 re-sent after a lookup; u2 found and adopted"
    );
    assert_eq!(user_names(&server), ["u1@x", "u2@x"]);
    assert_eq!(
        server.log().iter().filter(|l| l.method == "POST").count(),
        3
    );
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
    let state: Json =
        serde_json::from_str(&std::fs::read_to_string(setup.state_file()).unwrap()).unwrap();
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
            .any(|s| s.user == "u1@x" && s.reason.contains("not retried")),
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
    let dry = run_sync(&setup.config(), &RunOptions::new(true))
        .await
        .unwrap();
    assert_eq!(dry.safety.as_ref().unwrap().removals, 8);
    // Allowed for this run:
    let mut options = RunOptions::new(false);
    options.allow_mass_deactivation = true;
    let report = run_sync(&setup.config(), &options).await.unwrap();
    assert_eq!(report.applied.unwrap().deactivated, 8);
    // An empty source is refused whatever is allowed.
    setup.users(&json!([]));
    let err = run_sync(&setup.config(), &options).await.unwrap_err();
    assert!(err.to_string().contains("the source has no users"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_before_the_state_save_converges_without_duplicates() {
    let server = FaultServer::start().await;
    let setup = Setup::new(&server.url, "", &people(5));
    setup.run().await.unwrap();
    // As if the process died after the writes and before the save.
    std::fs::remove_file(setup.state_file()).unwrap();
    server.clear_log();
    let report = setup.run().await.unwrap();
    assert_eq!(server.writes(), 0, "{:?}", server.trace());
    assert_eq!(report.changes.unchanged, 5);
    assert_eq!(server.users().len(), 5);
    let state: Json =
        serde_json::from_str(&std::fs::read_to_string(setup.state_file()).unwrap()).unwrap();
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
    let report = run_sync(&setup.config(), &options).await.unwrap();
    assert!(report.cancelled);
    let applied = report.applied.unwrap();
    assert_eq!(
        (applied.created, applied.not_started, applied.failures.len()),
        (1, 4, 0)
    );
    assert_eq!(server.writes(), 1);
    let state: Json =
        serde_json::from_str(&std::fs::read_to_string(setup.state_file()).unwrap()).unwrap();
    assert_eq!(
        state["users"].as_object().unwrap().len(),
        1,
        "the write made is saved"
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
    assert_eq!(
        stdout.lines().take(3).collect::<Vec<_>>(),
        [
            format!("target {}", server.url),
            "user  s1  u0001  u1@x  active".to_owned(),
            "user  s2  u0002  u2@x  active".to_owned(),
        ]
    );
    assert!(
        stdout.ends_with("2 user(s), 0 group(s) managed; 1 held.\n"),
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
    let state: Json =
        serde_json::from_str(&std::fs::read_to_string(setup.state_file()).unwrap()).unwrap();
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
    let SyncError::Target(scimsync::scim::client::ClientError::Throttled { held, .. }) = &err
    else {
        panic!("{err}")
    };
    assert!(
        (7198..=7200).contains(&held.wait_seconds()),
        "{}",
        held.wait_seconds()
    );
    assert_eq!(held.cap, Duration::from_secs(2));
    assert_eq!(server.trace(), ["GET /v2/Users 429"], "one request only");
    assert!(!setup.state_file().exists(), "nothing was written");
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
            "POST /v2/Users 201",
            "POST /v2/Users 201"
        ]
    );
}
