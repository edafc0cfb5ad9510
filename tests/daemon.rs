//! `scimsync daemon` as a child process, on a one-second schedule, against a real scim2-server
//! and a JSON export: changes reach the target by the next tick, SIGHUP with a good and a broken
//! config, SIGTERM exits 0 with the state saved, /healthz and /metrics scraped and parsed, the
//! audit log checked line by line, and the token appears in no output. Overlapping ticks and
//! repeated failures are driven by fault injection (a deliberately slow fake target, a closed
//! port). Every wait is bounded by time. Against an in-process target that echoes the request's
//! headers in its error answers, every auth mode's secrets, in every form, reach none of the
//! outputs of `sync`, `state show` and the daemon, while `[redacted]` shows where they were.

use crate::support;
use crate::support::fault;

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fault::{Echo, Fault, FaultServer};
use serde_json::{Value as Json, json};
use support::{Project, ScimServer};

pub(crate) const MAPPING: &str = "dialect okta\nmatch userName\n\nuserName       <- user.email\nname.givenName <- user.firstName\n";
pub(crate) const MAPPING_WITH_TITLE: &str = "dialect okta\nmatch userName\n\nuserName       <- user.email\nname.givenName <- user.firstName\ntitle          <- user.title\n";
/// `String.toLowerCase` takes one argument: a checker error at 5:19.
pub(crate) const BROKEN_MAPPING: &str = "dialect okta\nmatch userName\n\nuserName       <- user.email\nname.givenName <- String.toLowerCase(user.firstName, 1)\n";

/// Polls `check` every 100 ms until it returns `Some`, for at most `limit`.
pub(crate) fn wait_for<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Writes `path` atomically, so the daemon never reads half a file.
pub(crate) fn replace(path: &Path, contents: &str) {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, contents).expect("write");
    std::fs::rename(&temporary, path).expect("rename");
}

pub(crate) fn user(id: &str, email: &str, first: &str, title: Option<&str>) -> Json {
    let mut user = json!({"id": id, "email": email, "firstName": first});
    if let Some(title) = title {
        user["title"] = json!(title);
    }
    user
}

/// A scratch project for the daemon: mapping, plain export, config with a schedule, audit
/// log and (optionally) the HTTP listener.
fn project(url: &str, http_port: Option<u16>, schedule: &str) -> Project {
    let project = Project::new();
    project.write("test.map", MAPPING);
    project.write("users.json", "[]");
    let http = http_port.map_or_else(String::new, |port| {
        format!("\n[http]\nlisten = \"127.0.0.1:{port}\"\nmax_success_age_seconds = 3600\n")
    });
    project.write(
        "scimsync.toml",
        &format!(
            "mapping = \"test.map\"\n\n[source]\nkind = \"json\"\npath = \"users.json\"\nformat = \"plain\"\n\n[target]\nurl = \"{url}\"\ntoken_env = \"SCIMSYNC_TEST_TOKEN\"\ntimeout_seconds = 10\n\n[state]\npath = \"state\"\n\n[audit]\npath = \"log/audit.jsonl\"\n\n[schedule]\n{schedule}\n{http}"
        ),
    );
    project
}

/// The daemon child process, logging JSON lines to a file in the project.
pub(crate) struct Daemon {
    pub(crate) child: Child,
    pub(crate) log: PathBuf,
}

impl Daemon {
    pub(crate) fn start(project: &Project, token: &str) -> Daemon {
        Daemon::start_with(project, token, &[])
    }

    fn start_with(project: &Project, token: &str, env: &[(&str, &str)]) -> Daemon {
        Daemon::start_args(project, token, env, &[])
    }

    /// Starts the daemon with `env` set and `args` after `--config FILE`.
    pub(crate) fn start_args(
        project: &Project,
        token: &str,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Daemon {
        let log = project.path("daemon.log");
        let stderr = std::fs::File::create(&log).expect("log file");
        let stdout = std::fs::File::create(project.path("daemon.out")).expect("out file");
        let child = Command::new(env!("CARGO_BIN_EXE_scimsync"))
            .args(["daemon", "--log-format", "json", "--config"])
            .arg(project.path("scimsync.toml"))
            .args(args)
            .env("SCIMSYNC_TEST_TOKEN", token)
            .env_remove("RUST_LOG")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("start the daemon");
        Daemon { child, log }
    }

    pub(crate) fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Every log line, parsed (each must be one JSON object).
    pub(crate) fn lines(&self) -> Vec<Json> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }

    pub(crate) fn messages_starting(&self, prefix: &str) -> Vec<Json> {
        self.lines()
            .into_iter()
            .filter(|l| l["message"].as_str().is_some_and(|m| m.starts_with(prefix)))
            .collect()
    }

    /// Waits for `n` log lines whose message starts with `prefix`.
    pub(crate) fn wait_for_message(&self, prefix: &str, n: usize, limit: Duration) -> Vec<Json> {
        wait_for(limit, &format!("{n} log line(s) `{prefix}…`"), || {
            let found = self.messages_starting(prefix);
            (found.len() >= n).then_some(found)
        })
    }

    /// Sends SIGTERM and waits (bounded) for the exit code.
    pub(crate) fn terminate(&mut self, limit: Duration) -> i32 {
        self.signal("TERM");
        let status = wait_for(limit, "the daemon to exit", || {
            self.child.try_wait().expect("try_wait")
        });
        status.code().unwrap_or(-1)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub(crate) fn get(url: &str) -> (u16, String) {
    let response = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
        .get(url)
        .send()
        .expect("GET");
    (response.status().as_u16(), response.text().expect("body"))
}

/// Prometheus text format: `name{labels} value` lines, keyed by `name{labels}`.
pub(crate) fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (key, value) = l.rsplit_once(' ').expect("metric line");
            (key.to_owned(), value.parse().expect("metric value"))
        })
        .collect()
}

/// The server's users as (userName, givenName, title).
pub(crate) fn server_users(server: &ScimServer) -> Vec<(String, String, Option<String>)> {
    server
        .users()
        .iter()
        .map(|u| {
            (
                u["userName"].as_str().unwrap_or_default().to_owned(),
                u["name"]["givenName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                u["title"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

pub(crate) fn triple(
    name: &str,
    given: &str,
    title: Option<&str>,
) -> (String, String, Option<String>) {
    (name.into(), given.into(), title.map(str::to_owned))
}

#[test]
fn daemon_syncs_each_tick_reloads_on_hup_and_stops_on_term() {
    let server = ScimServer::start();
    let port = free_port();
    let project = project(
        &server.url,
        Some(port),
        "cron = \"* * * * * *\"\nrun_at_start = true\nshutdown_timeout_seconds = 5",
    );
    let users = project.path("users.json");
    replace(
        &users,
        &json!([
            user("1", "ada@example.com", "Ada", Some("Engineer")),
            user("2", "bob@example.com", "Bob", None)
        ])
        .to_string(),
    );
    let mut daemon = Daemon::start(&project, &server.token);

    // The first run creates both users.
    wait_for(Duration::from_secs(30), "the first sync", || {
        (server_users(&server)
            == [
                triple("ada@example.com", "Ada", None),
                triple("bob@example.com", "Bob", None),
            ])
        .then_some(())
    });

    // /healthz and /metrics once a run has succeeded.
    let base = format!("http://127.0.0.1:{port}");
    let health: Json = wait_for(Duration::from_secs(10), "a healthy /healthz", || {
        let (status, body) = get(&format!("{base}/healthz"));
        let doc: Json = serde_json::from_str(&body).expect("healthz JSON");
        (status == 200 && doc["status"] == "ok").then_some(doc)
    });
    assert_eq!(health["consecutive_failures"], 0);
    assert_eq!(health["last_run"]["result"], "success");
    assert!(health["last_success_age_seconds"].as_i64().unwrap() <= 60);
    assert_eq!(health["max_success_age_seconds"], 3600);
    let (status, text) = get(&format!("{base}/metrics"));
    assert_eq!(status, 200);
    assert!(text.ends_with("# EOF\n"), "{text}");
    let metrics = parse_metrics(&text);
    // Every series but the reload counter names its target: the single form's is the URL host.
    let t = "target=\"127.0.0.1\"";
    assert!(metrics[&format!("scimsync_runs_total{{{t},result=\"success\"}}")] >= 1.0);
    assert_eq!(
        metrics
            [&format!("scimsync_operations_total{{{t},operation=\"create\",result=\"success\"}}")],
        2.0
    );
    assert_eq!(
        metrics[&format!("scimsync_request_duration_seconds_count{{{t},kind=\"write\"}}")],
        2.0
    );
    assert!(
        metrics[&format!("scimsync_request_duration_seconds_count{{{t},kind=\"list\"}}")] >= 1.0
    );
    assert_eq!(metrics[&format!("scimsync_users_in_scope{{{t}}}")], 2.0);
    assert!(metrics[&format!("scimsync_last_success_timestamp_seconds{{{t}}}")] > 1.7e9);
    assert_eq!(
        metrics[&format!("scimsync_consecutive_failures{{{t}}}")],
        0.0
    );
    // The single-target document is also under `targets`, by name.
    assert_eq!(health["targets"]["127.0.0.1"]["status"], "ok");
    assert_eq!(
        health["targets"]["127.0.0.1"]["last_run"],
        health["last_run"]
    );

    // A change to the source reaches the target by the next tick.
    replace(
        &users,
        &json!([
            user("1", "ada@example.com", "Ada", Some("Engineer")),
            user("2", "bob@example.com", "Robert", None),
            user("3", "cy@example.com", "Cy", Some("Designer"))
        ])
        .to_string(),
    );
    wait_for(
        Duration::from_secs(15),
        "the source change on the target",
        || {
            (server_users(&server)
                == [
                    triple("ada@example.com", "Ada", None),
                    triple("bob@example.com", "Robert", None),
                    triple("cy@example.com", "Cy", None),
                ])
            .then_some(())
        },
    );

    // SIGHUP with a good mapping: `title` is written from the next run on.
    replace(&project.path("test.map"), MAPPING_WITH_TITLE);
    daemon.signal("HUP");
    daemon.wait_for_message(
        "configuration and mapping reloaded",
        1,
        Duration::from_secs(10),
    );
    wait_for(Duration::from_secs(15), "titles after the reload", || {
        (server_users(&server)
            == [
                triple("ada@example.com", "Ada", Some("Engineer")),
                triple("bob@example.com", "Robert", None),
                triple("cy@example.com", "Cy", Some("Designer")),
            ])
        .then_some(())
    });

    // SIGHUP with a broken mapping: rejected with its diagnostic, the old one keeps running.
    replace(&project.path("test.map"), BROKEN_MAPPING);
    daemon.signal("HUP");
    let rejected = daemon.wait_for_message("reload rejected", 1, Duration::from_secs(10));
    let message = rejected[0]["message"].as_str().unwrap();
    assert_eq!(rejected[0]["level"], "ERROR");
    assert!(
        message.contains("test.map:5:19: error[E0202]:"),
        "{message}"
    );
    replace(
        &users,
        &json!([
            user("1", "ada@example.com", "Ada", Some("Engineer")),
            user("2", "bob@example.com", "Robert", None),
            user("3", "cy@example.com", "Cy", Some("Designer")),
            user("4", "dee@example.com", "Dee", Some("Writer"))
        ])
        .to_string(),
    );
    wait_for(
        Duration::from_secs(15),
        "a sync with the previous mapping",
        || {
            server_users(&server)
                .contains(&triple("dee@example.com", "Dee", Some("Writer")))
                .then_some(())
        },
    );
    let (_, text) = get(&format!("{base}/metrics"));
    let metrics = parse_metrics(&text);
    assert_eq!(
        metrics["scimsync_config_reloads_total{result=\"success\"}"],
        1.0
    );
    assert_eq!(
        metrics["scimsync_config_reloads_total{result=\"failure\"}"],
        1.0
    );

    // SIGTERM: exit 0 within the bound, state saved.
    let code = daemon.terminate(Duration::from_secs(10));
    assert_eq!(
        code,
        0,
        "log:\n{}",
        std::fs::read_to_string(&daemon.log).unwrap()
    );
    let state: Json = support::state_json(&project.path("state"), None).expect("a state");
    let managed: Vec<(&str, &str)> = state["users"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(source, u)| (source.as_str(), u["userName"].as_str().unwrap()))
        .collect();
    assert_eq!(
        managed,
        [
            ("1", "ada@example.com"),
            ("2", "bob@example.com"),
            ("3", "cy@example.com"),
            ("4", "dee@example.com")
        ]
    );

    // One summary line per run, every one a success.
    let lines = daemon.lines();
    let started = daemon.messages_starting("run started").len();
    let finished = daemon.messages_starting("run finished");
    assert_eq!(started, finished.len());
    assert!(
        finished
            .iter()
            .all(|l| l["level"] == "INFO" && l["failed"] == 0)
    );
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "next run scheduled" && l["next_run"].is_string())
    );

    // The audit log: exactly the writes made, one line each, attribute names only.
    let audit_text = std::fs::read_to_string(project.path("log/audit.jsonl")).unwrap();
    let audit: Vec<Json> = audit_text
        .lines()
        .map(|l| serde_json::from_str(l).expect("audit line is JSON"))
        .collect();
    let run_ids: Vec<&str> = finished
        .iter()
        .map(|l| l["run_id"].as_str().unwrap())
        .collect();
    for line in &audit {
        assert!(
            run_ids.contains(&line["run_id"].as_str().unwrap()),
            "{line}"
        );
        assert!(chrono::DateTime::parse_from_rfc3339(line["time"].as_str().unwrap()).is_ok());
        assert_eq!(line["resource_type"], "User");
        assert_eq!(line["result"], "success");
        // Successful writes carry the target's HTTP status too (the engine's WriteEvent).
        if line["operation"] == "create" {
            assert_eq!(line["status"], 201, "{line}");
        } else {
            assert!(matches!(line["status"].as_u64(), Some(200 | 204)), "{line}");
        }
        assert!(
            line["id"].as_str().is_some_and(|id| !id.is_empty()),
            "{line}"
        );
    }
    let writes: Vec<(String, String, Json)> = audit
        .iter()
        .map(|l| {
            (
                l["operation"].as_str().unwrap().to_owned(),
                l["userName"].as_str().unwrap().to_owned(),
                l["attributes"].clone(),
            )
        })
        .collect();
    let expected = |op: &str, name: &str, attrs: Json| (op.to_owned(), name.to_owned(), attrs);
    let mut sorted = writes.clone();
    sorted.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
    assert_eq!(
        sorted,
        [
            expected(
                "create",
                "ada@example.com",
                json!(["userName", "name.givenName"])
            ),
            expected("update", "ada@example.com", json!(["title"])),
            expected(
                "create",
                "bob@example.com",
                json!(["userName", "name.givenName"])
            ),
            expected("update", "bob@example.com", json!(["name.givenName"])),
            expected(
                "create",
                "cy@example.com",
                json!(["userName", "name.givenName"])
            ),
            expected("update", "cy@example.com", json!(["title"])),
            expected(
                "create",
                "dee@example.com",
                json!(["userName", "name.givenName", "title"])
            ),
        ]
    );
    assert!(!audit_text.contains("Robert") && !audit_text.contains("Engineer"));

    // No secret anywhere.
    for file in [
        "daemon.log",
        "daemon.out",
        "log/audit.jsonl",
        "state/scimsync.db",
        "state/scimsync.db-wal",
    ] {
        // The database is binary: its text is searched as bytes.
        let text = String::from_utf8_lossy(&std::fs::read(project.path(file)).unwrap_or_default())
            .into_owned();
        assert!(
            !text.contains(&server.token),
            "the token leaked into {file}"
        );
    }
}

/// The daemon's mapping with `name.givenName <- EXPR` as its fifth line (`EXPR` at column 19).
fn mapping_with_given_name(expr: &str) -> String {
    format!(
        "dialect okta\nmatch userName\n\nuserName       <- user.email\nname.givenName <- {expr}\n"
    )
}

/// Waits (bounded) until the target holds exactly these (userName, givenName), no titles.
fn wait_for_given_names(server: &ScimServer, what: &str, expected: &[(&str, &str)]) {
    let expected: Vec<_> = expected
        .iter()
        .map(|(name, given)| triple(name, given, None))
        .collect();
    wait_for(Duration::from_secs(30), what, || {
        (server_users(server) == expected).then_some(())
    });
}

/// SIGHUP into mappings nested far too deeply (350 brackets, a 7,000-term chain) used to
/// kill the daemon with a stack overflow. Each reload is rejected with its E0007 diagnostic,
/// the daemon keeps syncing with the previous mapping, and a mapping right at the depth limit
/// is accepted and evaluated on the runtime's worker threads (2 MiB stacks).
#[test]
fn hup_into_a_mapping_nested_too_deeply_keeps_the_daemon_running() {
    let server = ScimServer::start();
    let project = project(
        &server.url,
        None,
        "cron = \"* * * * * *\"\nrun_at_start = true\nshutdown_timeout_seconds = 5",
    );
    let users = project.path("users.json");
    replace(
        &users,
        &json!([user("1", "ada@example.com", "Ada", None)]).to_string(),
    );
    let mut daemon = Daemon::start(&project, &server.token);
    wait_for_given_names(&server, "the first sync", &[("ada@example.com", "Ada")]);

    // Columns of the first level too many: the 65th `(` or `{`, the 64th `+`.
    let hostile = [
        (
            format!("{}user.firstName{}", "(".repeat(350), ")".repeat(350)),
            19 + 64,
        ),
        (
            format!("{}user.firstName{}", "{".repeat(350), "}".repeat(350)),
            19 + 64,
        ),
        (
            format!("user.firstName{}", " + 'x'".repeat(7000)),
            34 + 6 * 63,
        ),
    ];
    for (i, (expr, column)) in hostile.iter().enumerate() {
        replace(&project.path("test.map"), &mapping_with_given_name(expr));
        daemon.signal("HUP");
        let rejected = daemon.wait_for_message("reload rejected", i + 1, Duration::from_secs(10));
        let message = rejected[i]["message"].as_str().unwrap();
        let expected = format!(
            "test.map:5:{column}: error[E0007]: this expression nests more than 64 levels deep"
        );
        assert!(
            message.contains(&expected),
            "{expected:?} not in {}",
            &message[..message.len().min(300)]
        );
        assert!(
            daemon.child.try_wait().expect("try_wait").is_none(),
            "the daemon died on reload {i}"
        );
    }

    // Still syncing, with the mapping it started with.
    replace(
        &users,
        &json!([
            user("1", "ada@example.com", "Ada", None),
            user("2", "bob@example.com", "Bob", None)
        ])
        .to_string(),
    );
    wait_for_given_names(
        &server,
        "a sync with the previous mapping",
        &[("ada@example.com", "Ada"), ("bob@example.com", "Bob")],
    );

    // 62 calls, the argument `user.firstName` and its `user`: exactly 64 levels. (The `!`
    // makes a change a case-insensitive givenName comparison sees.)
    let deepest = format!(
        "{}String.append(user.firstName, '!'){}",
        "String.toUpperCase(".repeat(61),
        ")".repeat(61)
    );
    replace(
        &project.path("test.map"),
        &mapping_with_given_name(&deepest),
    );
    daemon.signal("HUP");
    daemon.wait_for_message(
        "configuration and mapping reloaded",
        1,
        Duration::from_secs(10),
    );
    wait_for_given_names(
        &server,
        "given names from the deepest mapping",
        &[("ada@example.com", "ADA!"), ("bob@example.com", "BOB!")],
    );
    assert_eq!(daemon.terminate(Duration::from_secs(10)), 0);
}

/// A deliberately slow SCIM target (fault injection): list requests get an empty list after
/// `list_delay`; creates get `201` after `write_delay`, and are announced on the returned
/// channel as they arrive. Returns its base URL.
fn slow_target(
    list_delay: Duration,
    write_delay: Duration,
) -> (String, std::sync::mpsc::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/v2", listener.local_addr().expect("addr"));
    let (writes, arrived) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let writes = writes.clone();
            std::thread::spawn(move || answer_slowly(stream, list_delay, write_delay, &writes));
        }
    });
    (url, arrived)
}

fn answer_slowly(
    mut stream: TcpStream,
    list_delay: Duration,
    write_delay: Duration,
    writes: &std::sync::mpsc::Sender<()>,
) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let (status, answer) = if request_line.starts_with("POST ") {
        let _ = writes.send(());
        std::thread::sleep(write_delay);
        (
            "201 Created",
            r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"fake-1","userName":"ada@example.com"}"#,
        )
    } else {
        std::thread::sleep(list_delay);
        (
            "200 OK",
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"startIndex":1,"itemsPerPage":0,"Resources":[]}"#,
        )
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    );
}

#[test]
fn a_stop_that_outlasts_its_bound_or_is_repeated_abandons_the_run_with_exit_1() {
    let cases = [
        (
            "shutdown_timeout_seconds = 1",
            false,
            "did not finish within 1s of the stop signal",
        ),
        (
            "shutdown_timeout_seconds = 60",
            true,
            "a second stop signal came",
        ),
    ];
    for (bound, signal_twice, expected) in cases {
        let (url, writes) = slow_target(Duration::ZERO, Duration::from_secs(120));
        let project = project(
            &url,
            None,
            &format!("cron = \"0 0 0 1 1 *\"\nrun_at_start = true\n{bound}"),
        );
        replace(
            &project.path("users.json"),
            &json!([user("1", "ada@example.com", "Ada", None)]).to_string(),
        );
        let mut daemon = Daemon::start(&project, "tok-slow-target");
        writes
            .recv_timeout(Duration::from_secs(30))
            .expect("the create to arrive");
        if signal_twice {
            daemon.signal("TERM");
            daemon.wait_for_message(
                "stop signal received; finishing the writes in flight",
                1,
                Duration::from_secs(10),
            );
        }
        let code = daemon.terminate(Duration::from_secs(15));
        let log = std::fs::read_to_string(&daemon.log).unwrap();
        assert_eq!(code, 1, "{log}");
        assert!(log.contains(expected), "{log}");
        // The abandoned create is on disk as pending (saved before it was sent), so the next
        // run looks it up before it may create Ada again; nothing is recorded as managed.
        let state: serde_json::Value =
            support::state_json(&project.path("state"), None).expect("a state");
        assert_eq!(
            state["pending"]["1"]["matchValue"], "ada@example.com",
            "{state}"
        );
        assert_eq!(state["users"], json!({}), "{state}");
    }
}

#[test]
fn ticks_during_a_run_are_skipped_and_runs_never_overlap() {
    let (url, _writes) = slow_target(Duration::from_millis(2500), Duration::ZERO);
    let project = project(
        &url,
        None,
        "cron = \"* * * * * *\"\nshutdown_timeout_seconds = 5",
    );
    let mut daemon = Daemon::start(&project, "tok-slow-target");
    daemon.wait_for_message("run finished", 2, Duration::from_secs(30));
    let skipped = daemon.messages_starting("tick skipped");
    assert!(!skipped.is_empty());
    assert!(skipped.iter().all(|l| l["level"] == "WARN"));
    // In log order, every run finishes before the next one starts.
    let mut in_progress = false;
    for line in daemon.lines() {
        let message = line["message"].as_str().unwrap_or_default();
        if message.starts_with("run started") {
            assert!(!in_progress, "two runs overlapped");
            in_progress = true;
        } else if message.starts_with("run finished") {
            assert!(in_progress);
            in_progress = false;
        }
    }
    // A stop signal while a run is still only reading ends it at once, exit code 0.
    let code = daemon.terminate(Duration::from_secs(10));
    assert_eq!(code, 0);
    let audit = std::fs::read_to_string(project.path("log/audit.jsonl")).unwrap_or_default();
    assert_eq!(audit, "", "nothing was written");
}

#[test]
fn repeated_failures_escalate_without_hot_looping() {
    // A closed loopback port: every run fails to list the target.
    let dead = format!("http://127.0.0.1:{}/v2", free_port());
    let port = free_port();
    let project = project(
        &dead,
        Some(port),
        "cron = \"* * * * * *\"\nrun_at_start = true\nfailure_threshold = 2",
    );
    project.write(
        "users.json",
        &json!([user("1", "ada@example.com", "Ada", None)]).to_string(),
    );
    let mut daemon = Daemon::start(&project, "tok-unused");
    let first = Instant::now();
    let finished = daemon.wait_for_message("run finished", 3, Duration::from_secs(30));
    let elapsed = first.elapsed();
    assert_eq!(finished[0]["level"], "WARN");
    assert_eq!(finished[1]["level"], "ERROR");
    assert_eq!(finished[2]["level"], "ERROR");
    assert!(
        finished[0]["error"]
            .as_str()
            .unwrap()
            .contains("cannot list the target's users"),
        "{}",
        finished[0]
    );
    // Retried on ticks only: three runs take at least two tick intervals.
    assert!(elapsed >= Duration::from_millis(1500), "{elapsed:?}");
    let (status, body) = get(&format!("http://127.0.0.1:{port}/healthz"));
    let doc: Json = serde_json::from_str(&body).unwrap();
    assert_eq!(status, 503, "{doc}");
    assert_eq!(doc["status"], "unhealthy");
    assert_eq!(doc["last_run"]["result"], "failure");
    assert_eq!(daemon.terminate(Duration::from_secs(10)), 0);
}

#[test]
fn a_broken_config_at_start_exits_1_with_its_diagnostics() {
    let broken_mapping = project("http://127.0.0.1:9/v2", None, "cron = \"* * * * * *\"");
    broken_mapping.write("test.map", BROKEN_MAPPING);
    let cases = [
        (broken_mapping, "test.map:5:19: error[E0202]:"),
        (
            project_without_schedule(),
            "`scimsync daemon` needs a [schedule] section",
        ),
    ];
    for (project, expected) in cases {
        let config = project.path("scimsync.toml");
        let run = support::scimsync(
            &["daemon", "--config", config.to_str().unwrap()],
            Some("tok"),
        );
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(run.stderr.contains(expected), "{}", run.stderr);
    }
}

fn project_without_schedule() -> Project {
    let project = Project::new();
    project.write("test.map", MAPPING);
    project.write("users.json", "[]");
    project.config("http://127.0.0.1:9/v2");
    project
}

/// A project whose export has `n` users, none of them on the server yet, written one request
/// each (`bulk = "off"`): these tests stop a run between its writes, and scim2-server would
/// otherwise take all `n` creates in one `/Bulk` request, leaving nothing in between.
fn many_users_project(server: &ScimServer, n: usize, schedule: &str) -> Project {
    let project = project(&server.url, None, schedule);
    let config = project.path("scimsync.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    replace(
        &config,
        &text.replace(
            "timeout_seconds = 10\n",
            "timeout_seconds = 10\nbulk = \"off\"\n",
        ),
    );
    let users: Vec<Json> = (0..n)
        .map(|i| {
            user(
                &i.to_string(),
                &format!("user{i:03}@example.com"),
                "U",
                None,
            )
        })
        .collect();
    replace(&project.path("users.json"), &Json::Array(users).to_string());
    project
}

/// Waits until the audit log has at least `n` lines.
fn wait_for_audit_lines(project: &Project, n: usize) {
    let audit_path = project.path("log/audit.jsonl");
    wait_for(Duration::from_secs(30), "the first writes", || {
        let text = std::fs::read_to_string(&audit_path).unwrap_or_default();
        (text.lines().count() >= n).then_some(())
    });
}

/// After an interrupted first run: every write that was started finished, was audited (all
/// creates, all successful), is on the server and is in the saved state. Returns how many.
fn assert_interrupted_run_is_consistent(
    project: &Project,
    server: &ScimServer,
    of: usize,
) -> usize {
    let audit: Vec<Json> = std::fs::read_to_string(project.path("log/audit.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(audit.len() < of, "the run finished before the signal");
    assert!(
        audit
            .iter()
            .all(|l| l["operation"] == "create" && l["result"] == "success")
    );
    let mut audited: Vec<String> = audit
        .iter()
        .map(|l| l["userName"].as_str().unwrap().to_owned())
        .collect();
    audited.sort();
    let on_server: Vec<String> = server_users(server).into_iter().map(|u| u.0).collect();
    assert_eq!(on_server, audited);
    let state: Json = support::state_json(&project.path("state"), None).expect("a state");
    let mut in_state: Vec<String> = state["users"]
        .as_object()
        .unwrap()
        .values()
        .map(|u| u["userName"].as_str().unwrap().to_owned())
        .collect();
    in_state.sort();
    assert_eq!(in_state, audited);
    audit.len()
}

#[test]
fn sigterm_during_writes_finishes_them_and_saves_the_state() {
    let server = ScimServer::start();
    let project = many_users_project(
        &server,
        300,
        "cron = \"0 0 0 1 1 *\"\nrun_at_start = true\nshutdown_timeout_seconds = 20",
    );
    let mut daemon = Daemon::start(&project, &server.token);
    wait_for_audit_lines(&project, 5);
    let code = daemon.terminate(Duration::from_secs(25));
    assert_eq!(code, 0, "{}", std::fs::read_to_string(&daemon.log).unwrap());
    daemon.wait_for_message(
        "stop signal received; finishing the writes in flight",
        1,
        Duration::from_secs(1),
    );
    let written = assert_interrupted_run_is_consistent(&project, &server, 300);
    let finished = daemon.messages_starting("run finished");
    assert_eq!(finished.len(), 1);
    assert_eq!(finished[0]["created"], written);
}

#[test]
fn sync_interrupted_by_sigint_finishes_in_flight_writes_and_saves_the_state() {
    let server = ScimServer::start();
    let project = many_users_project(&server, 300, "cron = \"0 0 0 1 1 *\"");
    let mut child = Command::new(env!("CARGO_BIN_EXE_scimsync"))
        .args(["sync", "--config"])
        .arg(project.path("scimsync.toml"))
        .env("SCIMSYNC_TEST_TOKEN", &server.token)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sync");
    wait_for_audit_lines(&project, 5);
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exited = wait_for(Duration::from_secs(25), "sync to exit", || {
        child.try_wait().expect("try_wait")
    });
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    assert_eq!(exited.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("stopping: finishing the writes in flight"),
        "{stderr}"
    );
    assert!(stderr.contains("error: interrupted:"), "{stderr}");
    assert!(!stderr.contains(&server.token));
    assert_interrupted_run_is_consistent(&project, &server, 300);
}

#[test]
fn systemd_is_told_ready_status_reloading_stopping_and_watchdog() {
    use std::os::unix::net::UnixDatagram;
    let dead = format!("http://127.0.0.1:{}/v2", free_port());
    let project = project(&dead, None, "cron = \"0 0 0 1 1 *\"\nrun_at_start = true");
    let socket_path = project.path("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("bind the notify socket");
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let mut daemon = Daemon::start_with(
        &project,
        "tok-unused",
        &[
            ("NOTIFY_SOCKET", socket_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "400000"),
        ],
    );
    let mut received: Vec<String> = Vec::new();
    let mut receive_until = |done: &dyn Fn(&[String]) -> bool, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut buffer = [0u8; 4096];
        while !done(&received) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {received:?}"
            );
            if let Ok(n) = socket.recv(&mut buffer) {
                received.push(String::from_utf8_lossy(&buffer[..n]).trim_end().to_owned());
            }
        }
        received.clone()
    };
    let got = receive_until(
        &|r| {
            r.iter()
                .any(|m| m.contains("STATUS=last run") && m.contains("failed"))
        },
        "the first run's status",
    );
    assert!(
        got[0].starts_with("READY=1\nSTATUS=waiting for the first run"),
        "{got:?}"
    );
    let got = receive_until(
        &|r| r.iter().filter(|m| m.as_str() == "WATCHDOG=1").count() >= 2,
        "watchdog pings",
    );
    assert!(got.iter().any(|m| m == "WATCHDOG=1"));
    daemon.signal("HUP");
    let got = receive_until(
        &|r| r.iter().any(|m| m.starts_with("RELOADING=1")),
        "RELOADING=1",
    );
    let reloading = got
        .iter()
        .position(|m| m.starts_with("RELOADING=1"))
        .unwrap();
    assert!(got[reloading].contains("MONOTONIC_USEC="), "{got:?}");
    let got = receive_until(
        &|r| r[reloading..].iter().any(|m| m.starts_with("READY=1")),
        "READY=1 after the reload",
    );
    assert!(got.len() > reloading);
    assert_eq!(daemon.terminate(Duration::from_secs(10)), 0);
    let got = receive_until(
        &|r| r.iter().any(|m| m.starts_with("STOPPING=1")),
        "STOPPING=1",
    );
    assert!(
        got.iter()
            .any(|m| m.starts_with("STOPPING=1\nSTATUS=stopping"))
    );
}

#[test]
fn sync_shows_plain_progress_lines_and_writes_the_audit_log() {
    let server = ScimServer::start();
    let project = project(&server.url, None, "cron = \"0 0 0 1 1 *\"");
    let users: Vec<Json> = (0..60)
        .map(|i| user(&format!("{i}"), &format!("p{i:02}@example.com"), "P", None))
        .collect();
    replace(&project.path("users.json"), &Json::Array(users).to_string());
    let run = support::scimsync(
        &[
            "sync",
            "--config",
            project.path("scimsync.toml").to_str().unwrap(),
        ],
        Some(&server.token),
    );
    assert_eq!(run.code, 0, "{}", run.all_output());
    let progress: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("progress: "))
        .collect();
    assert_eq!(progress.len(), 10, "{}", run.stderr);
    assert_eq!(progress[0], "progress: 6/60 writes (10%), 0 failed");
    assert_eq!(progress[9], "progress: 60/60 writes (100%), 0 failed");
    let audit = std::fs::read_to_string(project.path("log/audit.jsonl")).unwrap();
    let lines: Vec<Json> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 60);
    let run_ids: std::collections::BTreeSet<&str> = lines
        .iter()
        .map(|l| l["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(run_ids.len(), 1, "one run");
    assert!(
        lines
            .iter()
            .all(|l| l["operation"] == "create" && l["result"] == "success")
    );
    assert!(!run.all_output().contains(&server.token));
    assert!(!audit.contains(&server.token));

    // On a terminal (a pty from util-linux `script`, in Debian's essential bsdutils): a bar.
    replace(
        &project.path("users.json"),
        &Json::Array(
            (0..60)
                .map(|i| user(&i.to_string(), &format!("p{i:02}@example.com"), "Q", None))
                .collect(),
        )
        .to_string(),
    );
    let command = format!(
        "{} sync --config {}",
        env!("CARGO_BIN_EXE_scimsync"),
        project.path("scimsync.toml").display()
    );
    let output = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("SCIMSYNC_TEST_TOKEN", &server.token)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("run script(1)");
    let terminal = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{terminal}");
    assert!(
        terminal.contains("Read 60 users: 60 in scope, 0 skipped"),
        "{terminal}"
    );
    assert!(
        regex::Regex::new(r"writing \[[=> ]{40}\] \d+/60")
            .unwrap()
            .is_match(&terminal),
        "{terminal}"
    );
    assert!(!terminal.contains("progress: "), "{terminal}");
    assert!(
        terminal.contains("Applied: 0 created, 60 updated"),
        "{terminal}"
    );

    // A dry run writes nothing, so it audits nothing and shows no progress.
    let run = support::scimsync(
        &[
            "sync",
            "--dry-run",
            "--config",
            project.path("scimsync.toml").to_str().unwrap(),
        ],
        Some(&server.token),
    );
    assert_eq!(run.code, 0);
    assert!(!run.stderr.contains("progress:"));
    assert_eq!(
        std::fs::read_to_string(project.path("log/audit.jsonl"))
            .unwrap()
            .lines()
            .count(),
        120
    );
}

// Secrets echoed back by the target ------------------------------------------------------------

/// One auth mode: its `[target]` lines, what its secret file holds, and every form of the
/// secret that must never come out (the OAuth access tokens are added as the server issues
/// them).
struct AuthCase {
    name: &'static str,
    target: String,
    secret: &'static str,
    forms: Vec<String>,
    /// The `Authorization` value as it reads once redacted.
    echoed: &'static str,
}

fn base64_unpadded(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .encode(text)
        .trim_end_matches('=')
        .to_owned()
}

/// The auth mode `name` against `server`.
fn auth_case(name: &'static str, server: &FaultServer) -> AuthCase {
    let (target, secret, forms) = match name {
        "bearer" => (
            "auth = \"bearer\"".to_owned(),
            "bearer-secret-7Qx9",
            vec!["bearer-secret-7Qx9".to_owned()],
        ),
        "header" => (
            "auth = \"header\"".to_owned(),
            "SSWS header-secret-4Kd2",
            vec!["header-secret-4Kd2".to_owned()],
        ),
        "basic" => (
            "auth = \"basic\"\nusername = \"svc\"".to_owned(),
            "basic-pass-9Zr1",
            vec![
                "basic-pass-9Zr1".to_owned(),
                base64_unpadded("svc:basic-pass-9Zr1"),
            ],
        ),
        _ => (
            format!(
                "auth = \"oauth2\"\ntoken_url = \"{}\"\nclient_id = \"cid\"",
                server.url.replace("/v2", "/oauth/token")
            ),
            "client-secret-3Vb8",
            vec![
                "client-secret-3Vb8".to_owned(),
                base64_unpadded("cid:client-secret-3Vb8"),
            ],
        ),
    };
    let echoed = match name {
        "header" => "[redacted]",
        "basic" => "Basic [redacted]",
        _ => "Bearer [redacted]",
    };
    AuthCase {
        name,
        target,
        secret,
        forms,
        echoed,
    }
}

const AUTH_MODES: [&str; 4] = ["bearer", "header", "basic", "oauth2"];

/// A project whose secret is read from `secret` (mode `mode`), with an audit log, a one-second
/// schedule (`sync` ignores it) and, when `http` is given, the listener.
fn echo_project(url: &str, case: &AuthCase, mode: u32, http: Option<(u16, bool)>) -> Project {
    use std::os::unix::fs::PermissionsExt as _;
    let project = Project::new();
    project.write("test.map", MAPPING);
    let users: Vec<Json> = (1..=4)
        .map(|i| user(&i.to_string(), &format!("u{i}@x"), "New", None))
        .collect();
    project.write("users.json", &Json::Array(users).to_string());
    let secret = project.write("secret", &format!("{}\n", case.secret));
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(mode)).expect("chmod");
    write_echo_config(&project, url, case, http);
    project
}

fn write_echo_config(project: &Project, url: &str, case: &AuthCase, http: Option<(u16, bool)>) {
    let http = http.map_or_else(String::new, |(port, expose)| {
        format!("[http]\nlisten = \"127.0.0.1:{port}\"\nexpose_details = {expose}\n")
    });
    replace(
        &project.path("scimsync.toml"),
        &format!(
            "mapping = \"test.map\"\n\n[source]\nkind = \"json\"\npath = \"users.json\"\nformat = \"plain\"\n\n[target]\nurl = \"{url}\"\ntoken_file = \"secret\"\n{}\ntimeout_seconds = 5\nmax_retries = 0\nmax_backoff_seconds = 1\n\n[state]\npath = \"state\"\n\n[audit]\npath = \"log/audit.jsonl\"\n\n[schedule]\ncron = \"* * * * * *\"\nrun_at_start = true\n{http}",
            case.target
        ),
    );
}

/// Asserts that no form of the case's secrets (access tokens issued so far included) is in
/// any of `channels` (name, text); returns them named after the case.
fn assert_no_leak<const N: usize>(
    echo: Echo,
    server: &FaultServer,
    case: &AuthCase,
    channels: [(&str, String); N],
) -> Vec<(String, String)> {
    let channels: Vec<(String, String)> = channels
        .into_iter()
        .map(|(channel, text)| (format!("{} {echo:?}: {channel}", case.name), text))
        .collect();
    let forms = all_forms(case, server);
    let leaks: Vec<String> = channels
        .iter()
        .flat_map(|(name, text)| {
            forms
                .iter()
                .filter(|form| text.contains(form.as_str()))
                .map(move |form| format!("{name}: {form}"))
        })
        .collect();
    assert_eq!(leaks, Vec::<String>::new(), "{channels:#?}");
    channels
}

/// The case's forms plus every access token the server issued so far.
fn all_forms(case: &AuthCase, server: &FaultServer) -> Vec<String> {
    let mut forms = case.forms.clone();
    forms.extend(server.issued_tokens());
    assert_eq!(
        case.name == "oauth2",
        !server.issued_tokens().is_empty(),
        "access tokens are issued in oauth2 mode only"
    );
    forms
}

/// A fault server that echoes the request's headers in `echo` style, asks for OAuth tokens of
/// its own in the oauth2 case, and has `u4@x` already (so it gets a PATCH).
fn echo_server(runtime: &tokio::runtime::Runtime, echo: Echo, oauth: bool) -> FaultServer {
    let server = runtime.block_on(FaultServer::start());
    server.echo_headers(echo);
    if oauth {
        server.require_oauth();
    }
    server.seed_user(json!({"userName": "u4@x", "name": {"givenName": "Old"}}));
    server
}

/// Runs `check` for each echo style and auth mode, against a fresh [`echo_server`].
fn for_each_echo_case(mut check: impl FnMut(Echo, &FaultServer, &AuthCase)) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    for echo in [Echo::ScimError, Echo::HtmlPage] {
        for name in AUTH_MODES {
            let server = echo_server(&runtime, echo, name == "oauth2");
            check(echo, &server, &auth_case(name, &server));
        }
    }
}

#[test]
fn secrets_echoed_by_the_target_reach_no_output_of_sync_or_state() {
    for_each_echo_case(|echo, server, case| {
        // 401 on one create, 403 (permanent: held in the state) on another, 500 on the
        // update of the user already there; the third create goes through.
        for (method, path, body, status) in [
            ("POST", "/Users", Some("u1@x"), 401),
            ("POST", "/Users", Some("u2@x"), 403),
            ("PATCH", "/Users/u0001", None, 500),
        ] {
            server.fault(method, path, body, Fault::Status(status, None), usize::MAX);
        }
        // The bearer secret file is world-readable: warned about, by name.
        let mode = if case.name == "bearer" { 0o644 } else { 0o600 };
        let project = echo_project(&server.url, case, mode, None);
        let config = project.path("scimsync.toml");
        let config = config.to_str().unwrap();
        let sync = |extra: &[&str]| {
            let mut args = vec!["sync", "--config", config];
            args.extend(extra);
            support::scimsync(&args, None)
        };
        let text = sync(&[]);
        let json_out = sync(&["--output", "json"]);
        let verbose = sync(&["-v"]);
        let debug_json = sync(&["-vv", "--log-format", "json"]);
        let show = support::scimsync(&["state", "show", "--config", config], None);
        let show_json = support::scimsync(
            &["state", "show", "--output", "json", "--config", config],
            None,
        );
        let read = |name: &str| std::fs::read_to_string(project.path(name)).unwrap_or_default();
        // The database is binary: its text is searched as bytes.
        let read_bytes = |name: &str| {
            String::from_utf8_lossy(&std::fs::read(project.path(name)).unwrap_or_default())
                .into_owned()
        };
        let channels = [
            ("sync stdout", text.stdout.clone()),
            ("sync stderr", text.stderr.clone()),
            ("sync --output json stdout", json_out.stdout.clone()),
            ("sync --output json stderr", json_out.stderr.clone()),
            ("sync -v stdout", verbose.stdout.clone()),
            ("sync -v stderr", verbose.stderr.clone()),
            (
                "sync -vv --log-format json stdout",
                debug_json.stdout.clone(),
            ),
            (
                "sync -vv --log-format json stderr",
                debug_json.stderr.clone(),
            ),
            ("state show", show.all_output()),
            ("state show --output json", show_json.all_output()),
            (
                "state database",
                read_bytes("state/scimsync.db") + &read_bytes("state/scimsync.db-wal"),
            ),
            ("audit log", read("log/audit.jsonl")),
        ];
        let channels = assert_no_leak(echo, server, case, channels);

        // The runs did fail on the echoing answers (the test is not vacuous) ...
        assert_eq!(text.code, 1, "{}", text.all_output());
        let url = &server.url;
        for line in [
            format!(
                "! create user u1@x (userName, name.givenName) failed: POST {url}/Users failed with HTTP 401"
            ),
            format!(
                "! create user u2@x (userName, name.givenName) failed: POST {url}/Users failed with HTTP 403"
            ),
            format!(
                "! update user u4@x (name.givenName) failed: PATCH {url}/Users/u0001 failed with HTTP 500"
            ),
        ] {
            assert!(text.stdout.contains(&line), "{line}\n{}", text.stdout);
        }
        assert!(
            show.stdout.contains("held  2  create refused (HTTP 403)"),
            "{}",
            show.stdout
        );
        // ... and where a SCIM error quoted the headers, `[redacted]` stands in their place.
        if echo == Echo::ScimError {
            let echoed = format!("echo: authorization: {} |", case.echoed);
            let missing: Vec<&String> = channels
                .iter()
                .filter(|(_, text)| !text.contains(&echoed))
                .map(|(name, _)| name)
                .collect();
            assert_eq!(missing, Vec::<&String>::new(), "{channels:#?}");
        }
        let warning = format!(
            "file {}: permissions 0644 are too open, group or others can access it; chmod 600 {}",
            project.path("secret").display(),
            project.path("secret").display()
        );
        assert_eq!(
            text.stderr.contains(&warning),
            case.name == "bearer",
            "{}",
            text.stderr
        );
        assert!(!text.stderr.contains("too open") || case.name == "bearer");
    });
}

#[test]
fn secrets_echoed_by_the_target_reach_neither_healthz_metrics_nor_the_daemon_log() {
    for_each_echo_case(|echo, server, case| {
        // Every run stops: the listing is refused with the echo.
        server.fault("GET", "/Users", None, Fault::Status(401, None), usize::MAX);
        let port = free_port();
        let project = echo_project(&server.url, case, 0o600, Some((port, false)));
        let mut daemon = Daemon::start(&project, "unused");
        daemon.wait_for_message("serving /healthz", 1, Duration::from_secs(10));
        let healthz = format!("http://127.0.0.1:{port}/healthz");
        let failed_run = || {
            let (_, body) = get(&healthz);
            let doc: Json = serde_json::from_str(&body).expect("healthz JSON");
            (doc["last_run"]["result"] == "failure").then_some((body, doc))
        };
        let (closed, doc) = wait_for(Duration::from_secs(20), "a failed run", failed_run);
        // Counts and codes only: no text the server could have put there.
        assert_eq!(doc["last_run"]["stopped"], true, "{doc}");
        assert_eq!(doc["last_run"]["counts"]["created"], 0, "{doc}");
        assert!(doc["last_run"].get("summary").is_none(), "{doc}");
        assert!(!closed.contains("echo"), "{closed}");
        let (_, metrics) = get(&format!("http://127.0.0.1:{port}/metrics"));

        // Opened up on reload: the summary quotes the server, redacted.
        write_echo_config(&project, &server.url, case, Some((port, true)));
        daemon.signal("HUP");
        daemon.wait_for_message(
            "configuration and mapping reloaded",
            1,
            Duration::from_secs(10),
        );
        let (open, doc) = wait_for(Duration::from_secs(20), "a failed run", failed_run);
        let summary = doc["last_run"]["summary"]
            .as_str()
            .expect("summary")
            .to_owned();
        assert!(
            summary.contains(&format!(
                "{}/Users?startIndex=1&count=200 failed with HTTP 401",
                server.url
            )),
            "{summary}"
        );
        assert_eq!(daemon.terminate(Duration::from_secs(10)), 0);
        let log = std::fs::read_to_string(project.path("daemon.log")).expect("daemon log");
        let channels = [
            ("/healthz", closed),
            ("/healthz with expose_details", open),
            ("/metrics", metrics),
            ("daemon log", log.clone()),
        ];
        assert_no_leak(echo, server, case, channels);
        if echo == Echo::ScimError {
            let echoed = format!("echo: authorization: {} |", case.echoed);
            assert!(summary.contains(&echoed), "{summary}");
            assert!(log.contains(&echoed), "{log}");
        }
    });
}

#[test]
fn a_secret_too_short_to_redact_is_warned_about() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let server = runtime.block_on(FaultServer::start());
    let case = AuthCase {
        secret: "abc",
        ..auth_case("bearer", &server)
    };
    let project = echo_project(&server.url, &case, 0o600, None);
    let config = project.path("scimsync.toml");
    let run = support::scimsync(
        &["sync", "--dry-run", "--config", config.to_str().unwrap()],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.all_output());
    let warning = format!(
        " WARN the secret from file {} is shorter than 4 characters: easy to guess, and not redacted from what servers send back\n",
        project.path("secret").display()
    );
    assert!(run.stderr.contains(&warning), "{}", run.stderr);
}

/// A target that answers every request with `429` and `Retry-After: <retry_after>`, counting
/// the requests. Returns its base URL.
fn throttling_target(
    retry_after: &'static str,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/v2", listener.local_addr().expect("addr"));
    let requests = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = requests.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            // The request line and headers (a GET has no body).
            while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                line.clear();
            }
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = write!(
                stream,
                "HTTP/1.1 429 Too Many Requests\r\nRetry-After: {retry_after}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    (url, requests)
}

#[test]
fn a_target_asking_to_wait_past_the_cap_gets_no_tick_before_then() {
    let (url, requests) = throttling_target("5");
    let project = project(&url, None, "cron = \"* * * * * *\"\nrun_at_start = true");
    let config = std::fs::read_to_string(project.path("scimsync.toml")).unwrap();
    project.write(
        "scimsync.toml",
        &config.replace(
            "timeout_seconds = 10\n",
            "timeout_seconds = 10\nmax_backoff_seconds = 1\n",
        ),
    );
    let mut daemon = Daemon::start(&project, "tok-throttled");
    let finished = daemon.wait_for_message("run finished", 1, Duration::from_secs(30));
    assert_eq!(finished[0]["level"], "WARN");
    assert_eq!(
        finished[0]["error"],
        format!(
            "cannot list the target's users: GET {url}/Users?startIndex=1&count=200: the target asks to wait 5 s, more than max_backoff_seconds (1 s); nothing more was sent to it"
        )
    );
    let skipping = daemon.wait_for_message(
        "the target asked to be left alone until then",
        1,
        Duration::from_secs(10),
    );
    let until =
        chrono::DateTime::parse_from_rfc3339(skipping[0]["until"].as_str().unwrap()).unwrap();
    // Three one-second ticks later the target has still seen one request only.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(requests.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(daemon.messages_starting("run started").len() == 1);
    let scheduled = daemon.messages_starting("next run scheduled");
    let next = chrono::DateTime::parse_from_rfc3339(
        scheduled.last().unwrap()["next_run"].as_str().unwrap(),
    )
    .unwrap();
    assert!(next >= until, "{next} is before {until}");
    assert_eq!(daemon.terminate(Duration::from_secs(10)), 0);
}
