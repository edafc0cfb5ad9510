//! One directory, many apps, end to end with real peers on loopback: one `[source]` and four
//! `[[target]]`s in one config — two scim2-server instances with different presets, one
//! SCIMMY, and one target that is down (a closed port) — run by the `scimsync` binary.
//!
//! Each test runs the same story against its source (a JSON export, then a real slapd):
//! 1. the first run creates every user on the three live targets, the down target fails
//!    alone, and the exit code, text report, state files and audit log say exactly which;
//! 2. a second run converges: zero writes on the live targets (`--output json` statuses);
//! 3. most users leave the directory: the targets with a loose `[target.sync.safety]`
//!    deactivate them, the one with a tight guard refuses and writes nothing;
//! 4. a fourth run writes nothing more, and the guard still refuses;
//! 5. (export) `--target` with `--allow-mass-deactivation` applies the refused target's
//!    removals alone.
//!
//! The directory is read once per run however many targets there are: the export is a named
//! pipe that counts its readers (a second read in a run would be counted, or hang without a
//! writer), and slapd's own log counts its searches.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

use crate::support;
use support::ldap::{LdapServer, PEOPLE};
use support::{Project, Run, ScimServer, scimsync_in, sorted_schemas};

const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const B44: &str = "urn:base44:params:scim:schemas:extension:user:2.0";
const APPSPACE: &str = "urn:ietf:params:scim:schemas:extension:appspace:2.0:User";

/// The three live peers and the URL of a target that is down.
struct Peers {
    first: ScimServer,
    second: ScimServer,
    scimmy: ScimServer,
    down: String,
}

impl Peers {
    /// Starts the three peers at once (each takes seconds to come up).
    fn start() -> Peers {
        std::thread::scope(|scope| {
            let first = scope.spawn(ScimServer::start);
            let second = scope.spawn(ScimServer::start);
            let scimmy = scope.spawn(ScimServer::start_scimmy);
            Peers {
                first: first.join().expect("scim2-server"),
                second: second.join().expect("scim2-server"),
                scimmy: scimmy.join().expect("SCIMMY"),
                down: format!("http://127.0.0.1:{}/v2", closed_port()),
            }
        })
    }

    /// Stops the peers at once (each takes a moment to stop).
    fn stop(self) {
        let Peers {
            first,
            second,
            scimmy,
            ..
        } = self;
        std::thread::scope(|scope| {
            scope.spawn(move || drop(first));
            scope.spawn(move || drop(second));
            scope.spawn(move || drop(scimmy));
        });
    }

    /// Write requests each live peer has received, in config order.
    fn writes(&self) -> [usize; 3] {
        [
            self.first.writes(),
            self.second.writes(),
            self.scimmy.writes(),
        ]
    }
}

/// A loopback port nothing listens on: bound by the OS, then released.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// Writes a secret file only its owner can read (scimsync warns about looser ones).
fn write_secret(project: &Project, name: &str, secret: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    let path = project.write(name, secret);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
}

/// One `[[target]]` of the config.
struct TargetSpec<'a> {
    name: &'a str,
    mapping: String,
    url: &'a str,
    /// More keys of the target's own.
    keys: &'a str,
    /// The target's own `[target.sync.safety]`, over the shared `[sync.safety]`.
    safety: Option<&'a str>,
}

/// The many-form config: `source` (a `[source]` table), a shared loose `[sync.safety]`, an
/// audit log, and each target with its token in `<name>.token`.
fn write_config(project: &Project, source: &str, targets: &[TargetSpec<'_>]) -> String {
    let mut text = format!(
        "{source}\n[state]\ndir = \"state\"\n\n[audit]\npath = \"audit.jsonl\"\n\n[sync.safety]\nmax_deactivations = 100\nmax_deactivation_percent = 100.0\n"
    );
    for target in targets {
        text.push_str(&format!(
            "\n[[target]]\nname = \"{}\"\nmapping = \"{}\"\nurl = \"{}\"\ntoken_file = \"{}.token\"\n{}",
            target.name, target.mapping, target.url, target.name, target.keys
        ));
        if let Some(safety) = target.safety {
            text.push_str(&format!("\n[target.sync.safety]\n{safety}\n"));
        }
    }
    project.write("scimsync.toml", &text).display().to_string()
}

fn preset(name: &str) -> String {
    support::repo()
        .join("mappings")
        .join(name)
        .display()
        .to_string()
}

fn sync(config: &str, extra: &[&str]) -> Run {
    let mut args = vec!["sync", "--config", config];
    args.extend_from_slice(extra);
    scimsync_in(&args, None, None)
}

fn statuses(list: &[(&str, &str, u64)]) -> Vec<(String, String, u64)> {
    list.iter()
        .map(|(n, s, c)| ((*n).to_owned(), (*s).to_owned(), *c))
        .collect()
}

/// The down target is not retried: every target's run waits for all the listings, and a
/// refused connection is retried (with backoff) like any passing failure.
const DOWN_KEYS: &str = "max_retries = 0\n";

/// A guard that refuses any run deactivating more than 10 % of the managed users.
const TIGHT: &str = "max_deactivation_percent = 10.0\nalways_allowed = 0";

/// The down target's section: it fails alone, before any write.
fn down_section(name: &str, url: &str) -> String {
    format!(
        "── target {name}: failed ──\nerror: cannot list the target's users: cannot reach {url}/Users?startIndex=1&count=200: Connection refused (os error 111)\n\n"
    )
}

/// A live target's section after a real run.
fn section(name: &str, lines: &[String], plan: &str, applied: &str) -> String {
    let mut out = format!("── target {name}: ok ──\n");
    if lines.is_empty() {
        out.push_str("No changes: the target is up to date.\n");
    }
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&format!("Plan: {plan}.\nApplied: {applied}; 0 failed.\n\n"));
    out
}

/// A refusal by the [`TIGHT`] guard: its percentage is the target's own, its count the
/// shared `[sync.safety]` one, and the message says where each is.
fn refused_section(name: &str, would: usize, of: usize, percent: usize) -> String {
    format!(
        "── target {name}: refused by the safety guard ──\nerror: refusing to sync: this run would deactivate or delete {would} of {of} managed users ({percent}%), above the threshold (100 users or 10%); nothing was written. If this is intended, run once with --allow-mass-deactivation, or raise max_deactivations in [sync.safety] / max_deactivation_percent in [target.sync.safety] of target \"{name}\"\n\n"
    )
}

/// The targets with a state in the config's database, sorted.
fn targets_with_state(project: &Project) -> Vec<String> {
    scimsync::state::store::target_names(&project.path("state/scimsync.db"))
        .expect("state database")
}

/// A target's state, as `state export --json` prints it.
fn state_of(project: &Project, target: &str) -> serde_json::Value {
    support::state_json(&project.path("state"), Some(target)).expect("the target has a state")
}

/// The files in the state directory, sorted.
fn state_files(project: &Project) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(project.path("state"))
        .expect("state dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `(target, operation)` of every audit line, counted.
fn audit_counts(project: &Project) -> BTreeMap<(String, String), usize> {
    let text = std::fs::read_to_string(project.path("audit.jsonl")).unwrap_or_default();
    let mut counts = BTreeMap::new();
    for line in text.lines() {
        let entry: Json = serde_json::from_str(line).expect("an audit line is JSON");
        let key = (
            entry["target"].as_str().expect("target").to_owned(),
            entry["operation"].as_str().expect("operation").to_owned(),
        );
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
}

fn counts(list: &[(&str, &str, usize)]) -> BTreeMap<(String, String), usize> {
    list.iter()
        .map(|(t, o, n)| (((*t).to_owned(), (*o).to_owned()), *n))
        .collect()
}

/// A server's users as their contents (no `id`, `meta`), schemas sorted.
fn contents(server: &ScimServer) -> Vec<Json> {
    server
        .user_contents()
        .into_iter()
        .map(sorted_schemas)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The JSON export source: an Okta List Users export, served through a named pipe.
// ---------------------------------------------------------------------------------------------

/// One Okta user of the export.
struct Person {
    login: &'static str,
    first: &'static str,
    last: &'static str,
    /// base44Role; `None`: not in the profile (the preset makes it "editor").
    role: Option<&'static str>,
    credit: &'static str,
    phone: Option<&'static str>,
    department: &'static str,
    title: &'static str,
}

const PEOPLE_EXPORT: [Person; 10] = [
    person(
        "ada",
        "Ada",
        "Lovelace",
        Some("admin"),
        "500",
        Some("+1 555 0101"),
        "eng",
    ),
    person("grace", "Grace", "Hopper", Some("editor"), "0", None, "eng"),
    person(
        "alan",
        "Alan",
        "Turing",
        Some("viewer"),
        "300",
        None,
        "research",
    ),
    person(
        "edsger",
        "Edsger",
        "Dijkstra",
        None,
        "250",
        Some("+31 20 555"),
        "research",
    ),
    person(
        "barbara",
        "Barbara",
        "Liskov",
        Some("editor"),
        "",
        None,
        "eng",
    ),
    person(
        "donald",
        "Donald",
        "Knuth",
        Some("viewer"),
        "",
        None,
        "research",
    ),
    person(
        "frances",
        "Frances",
        "Allen",
        Some("admin"),
        "900",
        None,
        "eng",
    ),
    person("ken", "Ken", "Thompson", Some("viewer"), "10", None, "ops"),
    person(
        "radia",
        "Radia",
        "Perlman",
        Some("editor"),
        "120",
        None,
        "ops",
    ),
    person("tim", "Tim", "Berners-Lee", None, "", None, "web"),
];

const fn person(
    login: &'static str,
    first: &'static str,
    last: &'static str,
    role: Option<&'static str>,
    credit: &'static str,
    phone: Option<&'static str>,
    department: &'static str,
) -> Person {
    Person {
        login,
        first,
        last,
        role,
        credit,
        phone,
        department,
        title: "Engineer",
    }
}

impl Person {
    fn email(&self) -> String {
        format!("{}@example.com", self.login)
    }

    fn okta_id(&self) -> String {
        format!("00u-{}", self.login)
    }

    /// The user as Okta's List Users API returns it.
    fn okta(&self) -> Json {
        let mut profile = json!({
            "login": self.email(), "email": self.email(), "firstName": self.first,
            "lastName": self.last, "base44CreditLimit": self.credit,
            "department": self.department, "title": self.title,
            "costCenter": format!("cc-{}", self.department), "city": "Paris",
            "userType": "employee",
        });
        if let Some(role) = self.role {
            profile["base44Role"] = json!(role);
        }
        if let Some(phone) = self.phone {
            profile["primaryPhone"] = json!(phone);
        }
        json!({"id": self.okta_id(), "status": "ACTIVE", "profile": profile})
    }

    /// What `mappings/base44-okta.map` makes of the user on the server.
    fn base44(&self, active: bool) -> Json {
        let role = self.role.unwrap_or("editor");
        let mut extension = json!({"role": role});
        if role != "viewer" && !self.credit.is_empty() {
            extension["creditLimit"] = json!(self.credit.parse::<i64>().expect("a number"));
        }
        json!({"schemas": [CORE, B44], "userName": self.email(), "active": active, B44: extension})
    }

    /// What `mappings/appspace-okta.map` makes of the user on the server.
    fn appspace(&self, active: bool) -> Json {
        let mut user = json!({
            "schemas": [CORE, APPSPACE, ENTERPRISE], "userName": self.email(), "active": active,
            "name": {"givenName": self.first, "familyName": self.last},
            "emails": [{"type": "work", "value": self.email()}],
            "title": self.title,
            ENTERPRISE: {"department": self.department},
            APPSPACE: {"costCenter": format!("cc-{}", self.department), "location": "Paris",
                       "employeeType": "employee"},
        });
        if let Some(phone) = self.phone {
            user["phoneNumbers"] = json!([{"type": "work", "value": phone}]);
        }
        user
    }
}

/// The expected users of a server, sorted by userName: `make(person, active)` for everyone in
/// `people`, active when their login is in `active`.
fn expected(make: impl Fn(&Person, bool) -> Json, active: &[&str]) -> Vec<Json> {
    let mut users: Vec<Json> = PEOPLE_EXPORT
        .iter()
        .map(|p| sorted_schemas(make(p, active.contains(&p.login))))
        .collect();
    users.sort_by_key(|u| u["userName"].as_str().unwrap_or_default().to_owned());
    users
}

/// A named pipe that hands the export to the first reader only, then closes for good: a run
/// that opened the export a second time would wait for a writer forever, and is stopped (and
/// fails) at its deadline.
struct ExportPipe {
    path: PathBuf,
}

/// Longest a run may take: far more than a run needs, bounded all the same.
const RUN_DEADLINE: Duration = Duration::from_secs(60);

impl ExportPipe {
    fn create(path: PathBuf) -> ExportPipe {
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("run mkfifo");
        assert!(made.success(), "mkfifo failed");
        ExportPipe { path }
    }

    /// Runs `scimsync sync --config CONFIG EXTRA...` while `contents` is served once.
    fn sync(&self, contents: String, config: &str, extra: &[&str]) -> Run {
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicBool::new(false));
        let writer = {
            let (path, stop, served) = (self.path.clone(), stop.clone(), served.clone());
            std::thread::spawn(move || serve_once(&path, &contents, &stop, &served))
        };
        let mut args = vec!["sync", "--config", config];
        args.extend_from_slice(extra);
        let run = run_with_deadline(&args, self.path.parent().expect("project dir"));
        stop.store(true, Ordering::SeqCst);
        writer.join().expect("the pipe's writer");
        assert!(served.load(Ordering::SeqCst), "the export was never read");
        run
    }
}

/// Until `stop` (or the deadline): as soon as a reader has the pipe open, writes `contents`,
/// closes the pipe and returns. Opening the write end without blocking fails while nobody
/// reads.
fn serve_once(path: &Path, contents: &str, stop: &AtomicBool, served: &AtomicBool) {
    use tokio::io::AsyncWriteExt as _;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let deadline = Instant::now() + RUN_DEADLINE;
        while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
            match tokio::net::unix::pipe::OpenOptions::new().open_sender(path) {
                Ok(mut sender) => {
                    sender
                        .write_all(contents.as_bytes())
                        .await
                        .expect("write the export");
                    served.store(true, Ordering::SeqCst);
                    return;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    });
}

/// Runs the binary in `dir` (its output in files there), killed at [`RUN_DEADLINE`].
fn run_with_deadline(args: &[&str], dir: &Path) -> Run {
    let out = dir.join("run.stdout");
    let err = dir.join("run.stderr");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_scimsync"))
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(std::fs::File::create(&err).expect("stderr file"))
        .spawn()
        .expect("run scimsync");
    let deadline = Instant::now() + RUN_DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for scimsync") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "scimsync did not finish within {RUN_DEADLINE:?}: did it open the export a second time?"
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code().unwrap_or(-1),
        stdout: std::fs::read_to_string(&out).expect("stdout"),
        stderr: std::fs::read_to_string(&err).expect("stderr"),
    }
}

/// A run's `--output json` document, and each target's `(name, status, exit_code)` in it.
fn json_statuses(run: &Run) -> (Json, Vec<(String, String, u64)>) {
    let document: Json = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", run.all_output()));
    let statuses = document["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap_or_default().to_owned(),
                t["status"].as_str().unwrap_or_default().to_owned(),
                t["exit_code"].as_u64().unwrap_or(99),
            )
        })
        .collect();
    (document, statuses)
}

fn export_of(people: &[&Person]) -> String {
    Json::Array(people.iter().map(|p| p.okta()).collect()).to_string()
}

#[test]
fn a_json_export_syncs_to_four_targets_one_down_one_refused() {
    let peers = Peers::start();
    let project = Project::new();
    let pipe = ExportPipe::create(project.path("users.json"));
    write_secret(&project, "base44.token", &peers.first.token);
    write_secret(&project, "appspace.token", &peers.second.token);
    write_secret(&project, "scimmy.token", &peers.scimmy.token);
    write_secret(&project, "offline.token", "nobody-answers");
    let base44 = preset("base44-okta.map");
    let appspace = preset("appspace-okta.map");
    let config = write_config(
        &project,
        "[source]\nkind = \"json\"\npath = \"users.json\"\nformat = \"okta\"\n",
        &[
            TargetSpec {
                name: "base44",
                mapping: base44.clone(),
                url: &peers.first.url,
                keys: "",
                safety: None,
            },
            TargetSpec {
                name: "appspace",
                mapping: appspace,
                url: &peers.second.url,
                keys: "",
                safety: Some(TIGHT),
            },
            TargetSpec {
                name: "scimmy",
                mapping: base44.clone(),
                url: &peers.scimmy.url,
                keys: "",
                safety: None,
            },
            TargetSpec {
                name: "offline",
                mapping: base44,
                url: &peers.down,
                keys: DOWN_KEYS,
                safety: None,
            },
        ],
    );
    let everyone: Vec<&Person> = PEOPLE_EXPORT.iter().collect();
    let all_logins: Vec<&str> = everyone.iter().map(|p| p.login).collect();

    // 1. Every user is created on the three live targets; the down one fails alone.
    let run = pipe.sync(export_of(&everyone), &config, &[]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    let creates: Vec<String> = everyone
        .iter()
        .map(|p| format!("+ create {}", p.email()))
        .collect();
    let created = |name| {
        section(
            name,
            &creates,
            "10 to create, 0 to update, 0 to reactivate, 0 to deactivate; 0 unchanged, 0 skipped",
            "10 created, 0 updated, 0 reactivated, 0 deactivated",
        )
    };
    assert_eq!(
        run.stdout,
        format!(
            "{}{}{}{}Total: 4 targets, 3 ok, 1 failed; 30 created, 0 updated, 0 reactivated, 0 deactivated; 0 write(s) failed; 0 unchanged, 0 skipped.\n",
            created("base44"),
            created("appspace"),
            created("scimmy"),
            down_section("offline", &peers.down)
        )
    );
    assert_eq!(
        run.stderr, "error: 1 of 4 targets did not sync: offline\n",
        "{}",
        run.stderr
    );
    assert_eq!(
        contents(&peers.first),
        expected(Person::base44, &all_logins)
    );
    assert_eq!(
        contents(&peers.second),
        expected(Person::appspace, &all_logins)
    );
    assert_eq!(
        contents(&peers.scimmy),
        expected(Person::base44, &all_logins)
    );
    // One database; a state in it for each target that was reached; a lock file for every
    // target, the down one included.
    assert_eq!(
        state_files(&project),
        [
            "appspace.json.lock",
            "base44.json.lock",
            "offline.json.lock",
            "scimmy.json.lock",
            "scimsync.db"
        ]
    );
    assert_eq!(
        targets_with_state(&project),
        ["appspace", "base44", "scimmy"]
    );
    assert_eq!(
        audit_counts(&project),
        counts(&[
            ("appspace", "create", 10),
            ("base44", "create", 10),
            ("scimmy", "create", 10)
        ])
    );

    // 2. Converged: zero writes on the live targets; the down target still fails.
    let writes = peers.writes();
    let run = pipe.sync(export_of(&everyone), &config, &["--output", "json"]);
    let (document, listed) = json_statuses(&run);
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(
        listed,
        statuses(&[
            ("base44", "ok", 0),
            ("appspace", "ok", 0),
            ("scimmy", "ok", 0),
            ("offline", "failed", 1)
        ])
    );
    assert_eq!(document["total"]["unchanged"], 30);
    assert_eq!(peers.writes(), writes, "a converged run writes nothing");

    // 3. Seven of ten leave: the loose targets deactivate them, the tight one refuses.
    let staying: Vec<&Person> = everyone[..3].to_vec();
    let stayers: Vec<&str> = staying.iter().map(|p| p.login).collect();
    let appspace_state = state_of(&project, "appspace");
    let run = pipe.sync(export_of(&staying), &config, &[]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    // Removals are listed in the order of the state's source ids.
    let mut leaving: Vec<&Person> = everyone[3..].to_vec();
    leaving.sort_by_key(|p| p.okta_id());
    let deactivations: Vec<String> = leaving
        .iter()
        .map(|p| format!("- deactivate {}", p.email()))
        .collect();
    let deactivated = |name| {
        section(
            name,
            &deactivations,
            "0 to create, 0 to update, 0 to reactivate, 7 to deactivate; 3 unchanged, 0 skipped",
            "0 created, 0 updated, 0 reactivated, 7 deactivated",
        )
    };
    assert_eq!(
        run.stdout,
        format!(
            "{}{}{}{}Total: 4 targets, 2 ok, 2 failed; 0 created, 0 updated, 0 reactivated, 14 deactivated; 0 write(s) failed; 6 unchanged, 0 skipped.\n",
            deactivated("base44"),
            refused_section("appspace", 7, 10, 70),
            deactivated("scimmy"),
            down_section("offline", &peers.down)
        )
    );
    assert_eq!(
        run.stderr,
        "error: 2 of 4 targets did not sync: appspace, offline\n"
    );
    assert_eq!(contents(&peers.first), expected(Person::base44, &stayers));
    assert_eq!(
        contents(&peers.second),
        expected(Person::appspace, &all_logins),
        "the refused target is untouched"
    );
    assert_eq!(contents(&peers.scimmy), expected(Person::base44, &stayers));
    assert_eq!(
        state_of(&project, "appspace"),
        appspace_state,
        "a refused run does not rewrite its target's state"
    );
    assert_eq!(
        audit_counts(&project),
        counts(&[
            ("appspace", "create", 10),
            ("base44", "create", 10),
            ("base44", "deactivate", 7),
            ("scimmy", "create", 10),
            ("scimmy", "deactivate", 7)
        ])
    );

    // 4. Nothing more to write; the guard still refuses, the down target still fails.
    let writes = peers.writes();
    let run = pipe.sync(export_of(&staying), &config, &["--output", "json"]);
    let (_, listed) = json_statuses(&run);
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(
        listed,
        statuses(&[
            ("base44", "ok", 0),
            ("appspace", "refused", 1),
            ("scimmy", "ok", 0),
            ("offline", "failed", 1)
        ])
    );
    assert_eq!(peers.writes(), writes, "a converged run writes nothing");

    // 5. The admin confirms the removals for the refused target alone: `--target` runs it
    //    (and reads the export once more); the others are not touched.
    let [first, _, scimmy] = peers.writes();
    let run = pipe.sync(
        export_of(&staying),
        &config,
        &["--target", "appspace", "--allow-mass-deactivation"],
    );
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(
        run.stdout,
        format!(
            "{}Total: 1 target, 1 ok, 0 failed; 0 created, 0 updated, 0 reactivated, 7 deactivated; 0 write(s) failed; 3 unchanged, 0 skipped.\n",
            deactivated("appspace")
        )
    );
    assert_eq!(
        contents(&peers.second),
        expected(Person::appspace, &stayers)
    );
    // The 7 deactivations go in one /Bulk request (the peer advertises bulk).
    assert_eq!(peers.writes(), [first, writes[1] + 1, scimmy]);
    assert_eq!(
        audit_counts(&project)[&("appspace".to_owned(), "deactivate".to_owned())],
        7
    );
    peers.stop();
}

// ---------------------------------------------------------------------------------------------
// The LDAP source: a real slapd seeded by the project's generator.
// ---------------------------------------------------------------------------------------------

/// Users in the directory: user0003 is disabled (never created); user0005 and user0010 have
/// two phone numbers and user0007 two mails, which the generic preset (and user0007's
/// userName) cannot send as one value, so they are skipped with their reason.
const DIRECTORY_USERS: usize = 12;

/// Users that leave the directory before the third run.
const LEAVING: [&str; 6] = [
    "user0004", "user0006", "user0008", "user0009", "user0011", "user0012",
];

/// `mappings/base44-okta.map` with the directory's attribute names (the Okta presets read Okta
/// profile attributes, which an inetOrgPerson does not have).
const BASE44_LDAP: &str = r#"# Base44 from an LDAP directory.
dialect okta
extension b44 = "urn:base44:params:scim:schemas:extension:user:2.0"
match userName

userName <- user.mail
b44:role <- user.employeeType ?: "editor"
            one of "admin", "editor", "viewer"
"#;

/// Every user entry of an LDIF file: uid → attribute → values (base64 values decoded).
fn ldif_users(ldif: &str) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    use base64::Engine as _;
    let mut users = BTreeMap::new();
    for entry in ldif.split("\n\n") {
        let mut attributes: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in entry.lines() {
            let (name, value) = if let Some((name, encoded)) = line.split_once(":: ") {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .expect("base64 in the LDIF");
                (name, String::from_utf8(bytes).expect("UTF-8 in the LDIF"))
            } else if let Some((name, value)) = line.split_once(": ") {
                (name, value.to_owned())
            } else {
                continue;
            };
            attributes.entry(name.to_owned()).or_default().push(value);
        }
        if attributes.contains_key("uid") {
            let uid = attributes["uid"][0].clone();
            users.insert(uid, attributes);
        }
    }
    users
}

type Entry = BTreeMap<String, Vec<String>>;

fn one<'e>(entry: &'e Entry, name: &str) -> &'e str {
    entry.get(name).map_or("", |v| v[0].as_str())
}

fn single_valued(entry: &Entry, name: &str) -> bool {
    entry.get(name).is_none_or(|v| v.len() == 1)
}

/// What `mappings/generic.map` makes of an entry on the server (`externalId`, the entry's
/// entryUUID, is checked apart); `None` when the preset skips it.
fn generic_user(entry: &Entry, active: bool) -> Option<Json> {
    if !single_valued(entry, "mail") || !single_valued(entry, "telephoneNumber") {
        return None;
    }
    Some(sorted_schemas(json!({
        "schemas": [CORE, ENTERPRISE], "userName": one(entry, "uid"), "active": active,
        "name": {"formatted": one(entry, "cn"), "familyName": one(entry, "sn"),
                 "givenName": one(entry, "givenName")},
        "displayName": one(entry, "displayName"), "title": one(entry, "title"),
        "userType": one(entry, "employeeType"),
        "emails": [{"value": one(entry, "mail"), "type": "work"}],
        "phoneNumbers": [{"value": one(entry, "telephoneNumber"), "type": "work"}],
        ENTERPRISE: {"employeeNumber": one(entry, "employeeNumber"),
                     "department": one(entry, "departmentNumber")},
    })))
}

/// What [`BASE44_LDAP`] makes of an entry on the server; `None` when it is skipped.
fn base44_user(entry: &Entry, active: bool) -> Option<Json> {
    if !single_valued(entry, "mail") {
        return None;
    }
    Some(sorted_schemas(json!({
        "schemas": [CORE, B44], "userName": one(entry, "mail"), "active": active,
        B44: {"role": one(entry, "employeeType")},
    })))
}

/// The users a server should hold: every enabled entry the mapping does not skip, inactive
/// when in `left`; sorted by userName.
fn directory_expected(
    entries: &BTreeMap<String, Entry>,
    make: impl Fn(&Entry, bool) -> Option<Json>,
    left: &[&str],
) -> Vec<Json> {
    let mut users: Vec<Json> = entries
        .iter()
        .filter(|(uid, _)| *uid != "user0003")
        .filter_map(|(uid, entry)| make(entry, !left.contains(&uid.as_str())))
        .collect();
    users.sort_by_key(|u| u["userName"].as_str().unwrap_or_default().to_owned());
    users
}

/// A server's users without `externalId`, which must be the entry's 36-character entryUUID.
fn contents_without_entry_uuid(server: &ScimServer) -> Vec<Json> {
    contents(server)
        .into_iter()
        .map(|mut user| {
            let uuid = user["externalId"].as_str().unwrap_or_default().to_owned();
            assert_eq!(uuid.len(), 36, "externalId is the entryUUID: {user}");
            user.as_object_mut().expect("a user").remove("externalId");
            user
        })
        .collect()
}

/// The entryUUIDs in a report, which slapd chose, written `UUID`.
fn without_uuids(text: &str) -> String {
    regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
        .expect("regex")
        .replace_all(text, "UUID")
        .into_owned()
}

/// How many `mapped source users` lines (one per target whose plan got the directory's
/// users) a `-v` run logged, each with `source=N`.
fn mapped_lines(stderr: &str, source: usize) -> usize {
    stderr
        .lines()
        .filter(|l| l.contains("mapped source users"))
        .inspect(|l| assert!(l.contains(&format!(" source={source} ")), "{l}"))
        .count()
}

#[test]
fn an_ldap_directory_syncs_to_four_targets_one_down_one_refused() {
    let (ldap, peers) = std::thread::scope(|scope| {
        let ldap = scope.spawn(|| LdapServer::start(DIRECTORY_USERS, false));
        let peers = Peers::start();
        (ldap.join().expect("slapd"), peers)
    });
    let entries = ldif_users(
        &std::fs::read_to_string(ldap.state.path().join("seed.ldif")).expect("seed LDIF"),
    );
    let project = Project::new();
    write_secret(&project, "reader.password", "reader\n");
    write_secret(&project, "generic.token", &peers.first.token);
    write_secret(&project, "base44.token", &peers.second.token);
    write_secret(&project, "scimmy.token", &peers.scimmy.token);
    write_secret(&project, "offline.token", "nobody-answers");
    project.write("base44.map", BASE44_LDAP);
    let generic = preset("generic.map");
    let config = write_config(
        &project,
        &format!(
            "[source]\nkind = \"ldap\"\nurl = \"{}\"\nbind_dn = \"{}\"\nbind_password_file = \"reader.password\"\nbase_dn = \"{PEOPLE}\"\nfilter = \"(objectClass=inetOrgPerson)\"\n",
            ldap.url,
            support::ldap::READER_DN
        ),
        &[
            TargetSpec {
                name: "generic",
                mapping: generic.clone(),
                url: &peers.first.url,
                keys: "",
                safety: Some(TIGHT),
            },
            TargetSpec {
                name: "base44",
                mapping: "base44.map".to_owned(),
                url: &peers.second.url,
                keys: "",
                safety: None,
            },
            TargetSpec {
                name: "scimmy",
                mapping: generic.clone(),
                url: &peers.scimmy.url,
                keys: "",
                safety: None,
            },
            TargetSpec {
                name: "offline",
                mapping: "base44.map".to_owned(),
                url: &peers.down,
                keys: DOWN_KEYS,
                safety: None,
            },
        ],
    );
    let base44_map = project.path("base44.map").display().to_string();
    let skip = |uid: &str, map: &str, line: u32, rule: &str, values: &str| {
        format!(
            "! skip UUID ({uid}): rule `{rule}` ({map}:{line}): [{values}] is not a valid string"
        )
    };
    let phones = |uid: &str| {
        entries[uid]["telephoneNumber"]
            .iter()
            .map(|p| format!("\"{p}\""))
            .collect::<Vec<_>>()
            .join(",")
    };
    let generic_skips = [
        skip(
            "user0005@example.com",
            &generic,
            43,
            "phoneNumbers[type eq \"work\"].value",
            &phones("user0005"),
        ),
        skip(
            "user0007",
            &generic,
            42,
            "emails[type eq \"work\"].value",
            "\"user0007@example.com\",\"user0007.alias@example.com\"",
        ),
        skip(
            "user0010@example.com",
            &generic,
            43,
            "phoneNumbers[type eq \"work\"].value",
            &phones("user0010"),
        ),
    ];
    let base44_skip = skip(
        "user0007",
        &base44_map,
        6,
        "userName",
        "\"user0007@example.com\",\"user0007.alias@example.com\"",
    );
    let run_once = |verbose: bool, json: bool| {
        let searches = ldap.searches(PEOPLE);
        let mut extra = vec![];
        if verbose {
            extra.push("-v");
        }
        if json {
            extra.extend(["--output", "json"]);
        }
        let run = sync(&config, &extra);
        assert_eq!(
            ldap.searches(PEOPLE) - searches,
            1,
            "one search of the directory for four targets"
        );
        assert_eq!(run.code, 1, "{}", run.all_output());
        run
    };

    // 1. Created on the three live targets; the down one fails alone.
    let run = run_once(true, false);
    assert_eq!(
        mapped_lines(&run.stderr, DIRECTORY_USERS),
        3,
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .ends_with("error: 1 of 4 targets did not sync: offline\n"),
        "{}",
        run.stderr
    );
    let creates = |make: &dyn Fn(&Entry, bool) -> Option<Json>| -> Vec<String> {
        entries
            .iter()
            .filter(|(uid, _)| *uid != "user0003")
            .filter_map(|(_, e)| make(e, true))
            .map(|u| format!("+ create {}", u["userName"].as_str().unwrap_or_default()))
            .collect()
    };
    // A section lists its changes, then the users its mapping skipped.
    let with_skips = |skips: &[String], lines: Vec<String>| -> Vec<String> {
        lines.into_iter().chain(skips.iter().cloned()).collect()
    };
    let generic_created = |name| {
        section(
            name,
            &with_skips(&generic_skips, creates(&generic_user)),
            "8 to create, 0 to update, 0 to reactivate, 0 to deactivate; 0 unchanged, 3 skipped",
            "8 created, 0 updated, 0 reactivated, 0 deactivated",
        )
    };
    assert_eq!(
        without_uuids(&run.stdout),
        format!(
            "{}{}{}{}Total: 4 targets, 3 ok, 1 failed; 26 created, 0 updated, 0 reactivated, 0 deactivated; 0 write(s) failed; 0 unchanged, 7 skipped.\n",
            generic_created("generic"),
            section(
                "base44",
                &with_skips(std::slice::from_ref(&base44_skip), creates(&base44_user)),
                "10 to create, 0 to update, 0 to reactivate, 0 to deactivate; 0 unchanged, 1 skipped",
                "10 created, 0 updated, 0 reactivated, 0 deactivated",
            ),
            generic_created("scimmy"),
            down_section("offline", &peers.down)
        )
    );
    assert_eq!(
        contents_without_entry_uuid(&peers.first),
        directory_expected(&entries, generic_user, &[])
    );
    assert_eq!(
        contents(&peers.second),
        directory_expected(&entries, base44_user, &[])
    );
    assert_eq!(
        contents_without_entry_uuid(&peers.scimmy),
        directory_expected(&entries, generic_user, &[])
    );
    assert_eq!(
        state_files(&project),
        [
            "base44.json.lock",
            "generic.json.lock",
            "offline.json.lock",
            "scimmy.json.lock",
            "scimsync.db"
        ]
    );
    assert_eq!(
        targets_with_state(&project),
        ["base44", "generic", "scimmy"]
    );
    assert_eq!(
        audit_counts(&project),
        counts(&[
            ("base44", "create", 10),
            ("generic", "create", 8),
            ("scimmy", "create", 8)
        ])
    );

    // 2. Converged: zero writes on the live targets.
    let writes = peers.writes();
    let run = run_once(false, true);
    let (_, listed) = json_statuses(&run);
    assert_eq!(
        listed,
        statuses(&[
            ("generic", "ok", 0),
            ("base44", "ok", 0),
            ("scimmy", "ok", 0),
            ("offline", "failed", 1)
        ])
    );
    assert_eq!(peers.writes(), writes, "a converged run writes nothing");

    // 3. Six users leave the directory: 6 of the generic target's 8 is over its tight guard.
    let deletions: String = LEAVING
        .iter()
        .map(|uid| format!("dn: uid={uid},{PEOPLE}\nchangetype: delete\n\n"))
        .collect();
    ldap.modify(&deletions);
    let generic_state = state_of(&project, "generic");
    let run = run_once(true, false);
    assert_eq!(
        mapped_lines(&run.stderr, DIRECTORY_USERS - LEAVING.len()),
        3,
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .ends_with("error: 2 of 4 targets did not sync: generic, offline\n"),
        "{}",
        run.stderr
    );
    // Removals are listed in the order of the state's source ids, which are the entryUUIDs
    // slapd chose: the lines are checked as a set, then the report as a whole.
    let text = without_uuids(&run.stdout);
    let removals = |name: &str, domain: &str| -> Vec<String> {
        let listed: Vec<String> = text
            .split(&format!("── target {name}: ok ──\n"))
            .nth(1)
            .unwrap_or_default()
            .lines()
            .take_while(|l| !l.starts_with("Plan: "))
            .filter(|l| l.starts_with("- deactivate "))
            .map(str::to_owned)
            .collect();
        let mut sorted = listed.clone();
        sorted.sort();
        let expected: Vec<String> = LEAVING
            .iter()
            .map(|uid| format!("- deactivate {uid}{domain}"))
            .collect();
        assert_eq!(sorted, expected, "{name}");
        listed
    };
    let base44_removals = removals("base44", "@example.com");
    let scimmy_removals = removals("scimmy", "");
    assert_eq!(
        text,
        format!(
            "{}{}{}{}Total: 4 targets, 2 ok, 2 failed; 0 created, 0 updated, 0 reactivated, 12 deactivated; 0 write(s) failed; 6 unchanged, 4 skipped.\n",
            refused_section("generic", 6, 8, 75),
            section(
                "base44",
                &with_skips(std::slice::from_ref(&base44_skip), base44_removals),
                "0 to create, 0 to update, 0 to reactivate, 6 to deactivate; 4 unchanged, 1 skipped",
                "0 created, 0 updated, 0 reactivated, 6 deactivated",
            ),
            section(
                "scimmy",
                &with_skips(&generic_skips, scimmy_removals),
                "0 to create, 0 to update, 0 to reactivate, 6 to deactivate; 2 unchanged, 3 skipped",
                "0 created, 0 updated, 0 reactivated, 6 deactivated",
            ),
            down_section("offline", &peers.down)
        )
    );
    assert_eq!(
        contents_without_entry_uuid(&peers.first),
        directory_expected(&entries, generic_user, &[]),
        "the refused target is untouched"
    );
    assert_eq!(
        state_of(&project, "generic"),
        generic_state,
        "a refused run does not rewrite its target's state"
    );
    assert_eq!(
        contents(&peers.second),
        directory_expected(&entries, base44_user, &LEAVING)
    );
    assert_eq!(
        contents_without_entry_uuid(&peers.scimmy),
        directory_expected(&entries, generic_user, &LEAVING)
    );
    assert_eq!(
        audit_counts(&project),
        counts(&[
            ("base44", "create", 10),
            ("base44", "deactivate", 6),
            ("generic", "create", 8),
            ("scimmy", "create", 8),
            ("scimmy", "deactivate", 6)
        ])
    );

    // 4. Nothing more to write; the guard still refuses.
    let writes = peers.writes();
    let run = run_once(false, true);
    let (_, listed) = json_statuses(&run);
    assert_eq!(
        listed,
        statuses(&[
            ("generic", "refused", 1),
            ("base44", "ok", 0),
            ("scimmy", "ok", 0),
            ("offline", "failed", 1)
        ])
    );
    assert_eq!(peers.writes(), writes, "a converged run writes nothing");
    std::thread::scope(|scope| {
        scope.spawn(move || drop(ldap));
        peers.stop();
    });
}
