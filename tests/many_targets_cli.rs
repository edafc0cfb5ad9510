//! The command line over a config with several `[[target]]` sections, end to end: the real
//! binary against in-process SCIM servers (`support/fault.rs`), one per target, and a closed
//! port for a target that is down. `sync` (text, JSON, `--target`, a target down, progress),
//! `state show|forget`, `check` (a rejected target; `--online` with scim2-server) and
//! `explain`; each asserts the whole output and what each server received.

use crate::support::{self, fault, fault::FaultServer};

use std::path::PathBuf;

use serde_json::{Value as Json, json};

const USERS: &str = r#"[
  {"id": "s1", "email": "ada@example.com", "last": "Lovelace", "dept": "Eng"},
  {"id": "s2", "email": "bob@example.com", "last": "Builder", "dept": "Sales"}
]"#;

/// Every user, with their family name.
const BASE44_MAP: &str = "userName <- user.email\nname.familyName <- user.last\n";
/// Sales only.
const APPSPACE_MAP: &str = "scope user.dept == \"Sales\"\nuserName <- user.email\n";
/// Every user, userName only.
const CRM_MAP: &str = "userName <- user.email\n";

/// A scratch project: `users.json`, one mapping per target, a token file, and a config with
/// a `[[target]]` per `(name, url)`.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(targets: &[(&str, &str)]) -> Project {
        let dir = tempfile::Builder::new()
            .prefix("scimsync-many-")
            .tempdir()
            .unwrap();
        let project = Project { dir };
        project.write("users.json", USERS);
        project.write("base44.map", BASE44_MAP);
        project.write("appspace.map", APPSPACE_MAP);
        project.write("crm.map", CRM_MAP);
        project.write("token", "secret-token\n");
        std::fs::set_permissions(
            project.path("token"),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        let mut config = String::from(
            "[source]\nkind = \"json\"\npath = \"users.json\"\nformat = \"plain\"\n\n\
             [defaults]\ntoken_file = \"token\"\ntimeout_seconds = 1\nmax_backoff_seconds = 2\n",
        );
        for (name, url) in targets {
            config.push_str(&format!(
                "\n[[target]]\nname = \"{name}\"\nmapping = \"{name}.map\"\nurl = \"{url}\"\n"
            ));
        }
        project.write("scimsync.toml", &config);
        project
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path(name), text).unwrap();
    }

    /// Whether `target` has a state in the config's database.
    fn has_state(&self, target: &str) -> bool {
        support::state_json(&self.path("state"), Some(target)).is_some()
    }

    /// `scimsync ARGS` run in the project's directory (so paths print relative), off the
    /// runtime's threads: the servers answer meanwhile.
    async fn scimsync(&self, args: &[&str]) -> support::Run {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let dir = self.dir.path().to_owned();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            support::scimsync_in(&args, None, Some(&dir))
        })
        .await
        .unwrap()
    }
}

/// A URL on which nothing listens: a port that was free a moment ago.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/v2")
}

/// `(userName, active)` of every user on `server`, sorted.
fn users_on(server: &FaultServer) -> Vec<(String, bool)> {
    server
        .users()
        .iter()
        .map(|u| {
            (
                u["userName"].as_str().unwrap().to_owned(),
                u["active"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn names(users: &[(&str, bool)]) -> Vec<(String, bool)> {
    users.iter().map(|(n, a)| ((*n).to_owned(), *a)).collect()
}

/// Three servers and the project that syncs into them.
async fn three_targets() -> (Project, [FaultServer; 3]) {
    let servers = [
        FaultServer::start().await,
        FaultServer::start().await,
        FaultServer::start().await,
    ];
    let project = Project::new(&[
        ("base44", &servers[0].url),
        ("appspace", &servers[1].url),
        ("crm", &servers[2].url),
    ]);
    (project, servers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_text_shows_each_target_then_the_total() {
    let (project, servers) = three_targets().await;
    let run = project
        .scimsync(&["sync", "--config", "scimsync.toml", "--dry-run"])
        .await;
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(run.stderr, "");
    assert_eq!(
        run.stdout,
        "── target base44: ok ──\n\
         Run: full: first run\n\
         + create ada@example.com\n\
         \x20   userName: \"ada@example.com\"\n\
         \x20   name.familyName: \"Lovelace\"\n\
         + create bob@example.com\n\
         \x20   userName: \"bob@example.com\"\n\
         \x20   name.familyName: \"Builder\"\n\
         Plan: 2 to create, 0 to update, 0 to reactivate, 0 to deactivate; 0 unchanged, 0 skipped.\n\
         \n\
         ── target appspace: ok ──\n\
         Run: full: first run\n\
         + create bob@example.com\n\
         \x20   userName: \"bob@example.com\"\n\
         Plan: 1 to create, 0 to update, 0 to reactivate, 0 to deactivate; 0 unchanged, 0 skipped.\n\
         \n\
         ── target crm: ok ──\n\
         Run: full: first run\n\
         + create ada@example.com\n\
         \x20   userName: \"ada@example.com\"\n\
         + create bob@example.com\n\
         \x20   userName: \"bob@example.com\"\n\
         Plan: 2 to create, 0 to update, 0 to reactivate, 0 to deactivate; 0 unchanged, 0 skipped.\n\
         \n\
         Total: 3 targets, 3 ok, 0 failed; 5 to create, 0 to update, 0 to reactivate, 0 to deactivate; 0 unchanged, 0 skipped.\n"
    );
    for server in &servers {
        assert_eq!(server.writes(), 0, "a dry run writes nothing");
        assert!(server.received("GET") > 0, "each target was listed");
    }
    assert!(!project.path("state").exists(), "a dry run saves no state");

    // The same plan as JSON: each target's changes, nothing applied, the planned total.
    let run = project
        .scimsync(&[
            "sync",
            "--config",
            "scimsync.toml",
            "--dry-run",
            "--output",
            "json",
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.all_output());
    let document: Json = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(document["dry_run"], true);
    let planned: Vec<Json> = document["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let changes: Vec<Json> = t["changes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| json!([c["action"], c["userName"]]))
                .collect();
            json!([t["name"], t["status"], t.get("applied"), changes])
        })
        .collect();
    assert_eq!(
        planned,
        [
            json!([
                "base44",
                "ok",
                null,
                [["create", "ada@example.com"], ["create", "bob@example.com"]]
            ]),
            json!(["appspace", "ok", null, [["create", "bob@example.com"]]]),
            json!([
                "crm",
                "ok",
                null,
                [["create", "ada@example.com"], ["create", "bob@example.com"]]
            ]),
        ]
    );
    assert_eq!(document["total"]["create"], 5);
    for server in &servers {
        assert_eq!(server.writes(), 0);
    }
}

/// A state document with what changes from run to run (fingerprints, times) replaced.
fn redacted(mut document: Json) -> Json {
    for state in document["targets"].as_object_mut().unwrap().values_mut() {
        for user in state["users"].as_object_mut().unwrap().values_mut() {
            if user.get("fingerprint").is_some() {
                user["fingerprint"] = json!("<fingerprint>");
            }
        }
        if let Some(counts) = state.get_mut("activeCounts").and_then(Json::as_array_mut) {
            for count in counts {
                count["at"] = json!("<time>");
            }
        }
        if let Some(last_full) = state.pointer_mut("/reconcile/lastFull") {
            *last_full = json!("<time>");
        }
    }
    document
}

/// What a target's JSON entry says of itself and what it applied.
fn entry(target: &Json) -> Json {
    json!({
        "name": target["name"],
        "status": target["status"],
        "exit_code": target["exit_code"],
        "error": target.get("error"),
        "summary": target.get("summary"),
        "created": target.pointer("/applied/created"),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_lists_every_target_with_its_report_and_the_total() {
    let (project, servers) = three_targets().await;
    let run = project
        .scimsync(&["sync", "--config", "scimsync.toml", "--output", "json"])
        .await;
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(run.stderr, "");
    let document: Json = serde_json::from_str(&run.stdout).unwrap();
    let keys: Vec<&String> = document.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["dry_run", "run_id", "targets", "total"]);
    assert_eq!(document["dry_run"], false);
    let run_id = document["run_id"].as_str().unwrap();
    let summary = |create: usize| {
        json!({"create": create, "update": 0, "reactivate": 0, "deactivate": 0, "delete": 0,
               "unchanged": 0, "skipped": 0})
    };
    let entries: Vec<Json> = document["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(entry)
        .collect();
    assert_eq!(
        entries,
        [
            json!({"name": "base44", "status": "ok", "exit_code": 0, "error": null,
                   "summary": summary(2), "created": 2}),
            json!({"name": "appspace", "status": "ok", "exit_code": 0, "error": null,
                   "summary": summary(1), "created": 1}),
            json!({"name": "crm", "status": "ok", "exit_code": 0, "error": null,
                   "summary": summary(2), "created": 2}),
        ]
    );
    for target in document["targets"].as_array().unwrap() {
        assert_eq!(target["run_id"], run_id, "one run id for every target");
    }
    assert_eq!(
        document["total"],
        json!({"targets": 3, "ok": 3, "failed": 0, "create": 5, "update": 0, "reactivate": 0,
               "deactivate": 0, "delete": 0, "unchanged": 0, "skipped": 0, "failed_writes": 0})
    );
    let everyone = names(&[("ada@example.com", true), ("bob@example.com", true)]);
    assert_eq!(users_on(&servers[0]), everyone);
    assert_eq!(users_on(&servers[1]), names(&[("bob@example.com", true)]));
    assert_eq!(users_on(&servers[2]), everyone);
    assert_eq!(
        servers[0].users()[0]["name"],
        json!({"familyName": "Lovelace"})
    );
}

/// The single-target form's JSON keeps every field it had and gains `targets`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_form_json_keeps_its_fields_and_gains_a_targets_status() {
    let server = FaultServer::start().await;
    let project = Project::new(&[]);
    project.write(
        "scimsync.toml",
        &format!(
            "mapping = \"base44.map\"\n\n[source]\nkind = \"json\"\npath = \"users.json\"\nformat = \"plain\"\n\n\
             [target]\nname = \"base44\"\nurl = \"{}\"\ntoken_file = \"token\"\n\n[state]\npath = \"state\"\n",
            server.url
        ),
    );
    let run = project
        .scimsync(&["sync", "--config", "scimsync.toml", "--output", "json"])
        .await;
    assert_eq!(run.code, 0, "{}", run.all_output());
    let document: Json = serde_json::from_str(&run.stdout).unwrap();
    let keys: Vec<&String> = document.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "dry_run", "summary", "changes", "skipped", "applied", "run_id", "groups", "safety",
            "requests", "run", "targets"
        ]
    );
    assert_eq!(
        document["targets"],
        json!([{"name": "base44", "status": "ok", "exit_code": 0}])
    );
    assert_eq!(document["applied"]["created"], 2);
    assert!(project.has_state("base44"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_is_down_fails_alone_and_the_others_are_applied() {
    let servers = [FaultServer::start().await, FaultServer::start().await];
    let down = closed_port_url();
    let project = Project::new(&[
        ("base44", &servers[0].url),
        ("crm", &down),
        ("appspace", &servers[1].url),
    ]);
    let run = project
        .scimsync(&["sync", "--config", "scimsync.toml"])
        .await;
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(run.stderr, "error: 1 of 3 targets did not sync: crm\n");
    assert_eq!(
        run.stdout,
        format!(
            "── target base44: ok ──\n\
             + create ada@example.com\n\
             + create bob@example.com\n\
             Plan: 2 to create, 0 to update, 0 to reactivate, 0 to deactivate; 0 unchanged, 0 skipped.\n\
             Applied: 2 created, 0 updated, 0 reactivated, 0 deactivated; 0 failed.\n\
             \n\
             ── target crm: failed ──\n\
             error: cannot list the target's users: cannot reach {down}/Users?startIndex=1&count=200: Connection refused (os error 111)\n\
             \n\
             ── target appspace: ok ──\n\
             + create bob@example.com\n\
             Plan: 1 to create, 0 to update, 0 to reactivate, 0 to deactivate; 0 unchanged, 0 skipped.\n\
             Applied: 1 created, 0 updated, 0 reactivated, 0 deactivated; 0 failed.\n\
             \n\
             Total: 3 targets, 2 ok, 1 failed; 3 created, 0 updated, 0 reactivated, 0 deactivated; 0 write(s) failed; 0 unchanged, 0 skipped.\n"
        )
    );
    assert_eq!(
        users_on(&servers[0]),
        names(&[("ada@example.com", true), ("bob@example.com", true)])
    );
    assert_eq!(users_on(&servers[1]), names(&[("bob@example.com", true)]));
    assert!(project.has_state("base44"));
    assert!(project.has_state("appspace"));
    assert!(
        !project.has_state("crm"),
        "a target never reached saves no state"
    );

    // The JSON says the same: crm failed with its error, exit code 1; the others are ok.
    let run = project
        .scimsync(&["sync", "--config", "scimsync.toml", "--output", "json"])
        .await;
    assert_eq!(run.code, 1, "{}", run.all_output());
    let document: Json = serde_json::from_str(&run.stdout).unwrap();
    let statuses: Vec<Json> = document["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            json!([
                t["name"],
                t["status"],
                t["exit_code"],
                t.get("error").is_some()
            ])
        })
        .collect();
    assert_eq!(
        statuses,
        [
            json!(["base44", "ok", 0, false]),
            json!(["crm", "failed", 1, true]),
            json!(["appspace", "ok", 0, false]),
        ]
    );
    assert_eq!(document["total"]["failed"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_flag_restricts_the_run_and_an_unknown_name_lists_the_known_ones() {
    let (project, servers) = three_targets().await;
    let run = project
        .scimsync(&["sync", "--config", "scimsync.toml", "--target", "appspace"])
        .await;
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(
        run.stdout,
        "── target appspace: ok ──\n\
         + create bob@example.com\n\
         Plan: 1 to create, 0 to update, 0 to reactivate, 0 to deactivate; 0 unchanged, 0 skipped.\n\
         Applied: 1 created, 0 updated, 0 reactivated, 0 deactivated; 0 failed.\n\
         \n\
         Total: 1 target, 1 ok, 0 failed; 1 created, 0 updated, 0 reactivated, 0 deactivated; 0 write(s) failed; 0 unchanged, 0 skipped.\n"
    );
    assert_eq!(users_on(&servers[1]), names(&[("bob@example.com", true)]));
    for untouched in [&servers[0], &servers[2]] {
        assert_eq!(untouched.log(), [], "a target left out gets no request");
    }
    assert!(project.has_state("appspace"));
    assert!(!project.has_state("base44"));
    assert!(!project.has_state("crm"));
    assert!(!project.path("state/base44.json.lock").exists());
    // Forgetting in a target never synced makes no lock or state file for it.
    let run = project
        .scimsync(&[
            "state",
            "forget",
            "--config",
            "scimsync.toml",
            "--target",
            "base44",
            "s2",
        ])
        .await;
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr, "error: not in the state: s2\n");
    assert!(!project.path("state/base44.json.lock").exists());
    assert!(!project.has_state("base44"));

    let run = project
        .scimsync(&["sync", "--config", "scimsync.toml", "--target", "nope"])
        .await;
    assert_eq!(run.code, 1, "our error, not a usage error: {}", run.stderr);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "error: config scimsync.toml: no target is named `nope`; the targets are base44, appspace, crm\n"
    );
    assert_eq!(servers[0].log(), []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_show_and_forget_across_targets_and_with_target() {
    let (project, servers) = three_targets().await;
    let run = project
        .scimsync(&["sync", "--config", "scimsync.toml"])
        .await;
    assert_eq!(run.code, 0, "{}", run.all_output());
    let ids = |server: &FaultServer| -> Vec<String> {
        server
            .users()
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (b, a, c) = (ids(&servers[0]), ids(&servers[1]), ids(&servers[2]));
    // Each target's last full run and filtering, after its summary line.
    let full_runs = |name: &str| {
        crate::support::shown_full_runs(
            &crate::support::state_json(&project.path("state"), Some(name)).unwrap(),
        )
    };
    let (b_full, a_full, c_full) = (full_runs("base44"), full_runs("appspace"), full_runs("crm"));

    let run = project
        .scimsync(&["state", "show", "--config", "scimsync.toml"])
        .await;
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(
        run.stdout,
        format!(
            "── target base44 (state/base44.json) ──\n\
             target {}\n\
             user  s1  {}  ada@example.com  active\n\
             user  s2  {}  bob@example.com  active\n\
             2 user(s), 0 group(s) managed; 0 held.\n\
             {b_full}\
             ── target appspace (state/appspace.json) ──\n\
             target {}\n\
             user  s2  {}  bob@example.com  active\n\
             1 user(s), 0 group(s) managed; 0 held.\n\
             {a_full}\
             ── target crm (state/crm.json) ──\n\
             target {}\n\
             user  s1  {}  ada@example.com  active\n\
             user  s2  {}  bob@example.com  active\n\
             2 user(s), 0 group(s) managed; 0 held.\n\
             {c_full}",
            servers[0].url, b[0], b[1], servers[1].url, a[0], servers[2].url, c[0], c[1]
        )
    );

    let run = project
        .scimsync(&[
            "state",
            "show",
            "--config",
            "scimsync.toml",
            "--target",
            "appspace",
            "--output",
            "json",
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.all_output());
    let document: Json = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        redacted(document),
        json!({"targets": {"appspace": {
            "version": 2,
            "target": servers[1].url,
            "users": {"s2": {"id": a[0], "userName": "bob@example.com", "active": true,
                             "fingerprint": "<fingerprint>",
                             // What the last write left: an incremental run diffs against it.
                             "written": {"values": {"userName": "bob@example.com"}}}},
            // Active users at the run's start and end.
            "activeCounts": [{"at": "<time>", "active": 0}, {"at": "<time>", "active": 1}],
            // When the last full run completed: later runs are incremental until the next.
            "reconcile": {"lastFull": "<time>"},
        }}})
    );
    // Every target, in the file's order.
    let run = project
        .scimsync(&[
            "state",
            "show",
            "--config",
            "scimsync.toml",
            "--output",
            "json",
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.all_output());
    let document: Json = serde_json::from_str(&run.stdout).unwrap();
    let keys: Vec<&String> = document["targets"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["base44", "appspace", "crm"]);
    assert_eq!(
        document["targets"]["crm"]["users"]["s1"]["id"],
        c[0].as_str()
    );

    // Forget bob everywhere but in crm, then ada in every target.
    let run = project
        .scimsync(&[
            "state",
            "forget",
            "--config",
            "scimsync.toml",
            "--target",
            "base44",
            "--target",
            "appspace",
            "bob@example.com",
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(run.stdout, "base44: forgot s2\nappspace: forgot s2\n");
    let run = project
        .scimsync(&["state", "forget", "--config", "scimsync.toml", "s1"])
        .await;
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(run.stdout, "base44: forgot s1\ncrm: forgot s1\n");
    let run = project
        .scimsync(&["state", "show", "--config", "scimsync.toml"])
        .await;
    assert_eq!(
        run.stdout,
        format!(
            "── target base44 (state/base44.json) ──\n\
             target {}\n\
             0 user(s), 0 group(s) managed; 0 held.\n\
             {b_full}\
             ── target appspace (state/appspace.json) ──\n\
             target {}\n\
             0 user(s), 0 group(s) managed; 0 held.\n\
             {a_full}\
             ── target crm (state/crm.json) ──\n\
             target {}\n\
             user  s2  {}  bob@example.com  active\n\
             1 user(s), 0 group(s) managed; 0 held.\n\
             {c_full}",
            servers[0].url, servers[1].url, servers[2].url, c[1]
        )
    );

    // A key no selected target knows is an error; the servers were never asked.
    let run = project
        .scimsync(&[
            "state",
            "forget",
            "--config",
            "scimsync.toml",
            "--target",
            "crm",
            "ghost",
        ])
        .await;
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, "error: not in the state: ghost\n");
    for server in &servers {
        assert_eq!(server.writes(), server.users().len(), "only the sync wrote");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_names_a_rejected_target_and_still_checks_the_others() {
    let project = Project::new(&[
        ("base44", "https://base44.example.com/v2"),
        ("crm", "https://crm.example.com/v2"),
    ]);
    let config = std::fs::read_to_string(project.path("scimsync.toml")).unwrap();
    project.write(
        "scimsync.toml",
        &config.replace("name = \"crm\"\n", "name = \"crm\"\npage_sise = 100\n"),
    );
    let run = project
        .scimsync(&["check", "--config", "scimsync.toml"])
        .await;
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(run.stdout, "base44.map: ok (2 rules)\n");
    assert_eq!(
        run.stderr,
        "error: config scimsync.toml: target `crm`: [[target]] unknown field `page_sise`, expected one of \
         `name`, `url`, `token_env`, `token_file`, `token_credential`, `page_size`, `concurrency`, \
         `timeout_seconds`, `auth`, `username`, `token_url`, `client_id`, `scope`, `update_mode`, \
         `bulk`, `patch_op_case`, `requests_per_second`, `max_retries`, `max_backoff_seconds`, `ca_file`\n"
    );
}

/// `check --online` asks each target for itself: one that is down gets its error, named; the
/// other's report is printed; the source is probed once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_online_reports_each_target_and_names_the_one_that_is_down() {
    let server = tokio::task::spawn_blocking(support::ScimServer::start)
        .await
        .unwrap();
    let down = closed_port_url();
    let project = Project::new(&[("base44", &server.url), ("crm", &down)]);
    project.write("token", &format!("{}\n", server.token));
    let run = project
        .scimsync(&["check", "--config", "scimsync.toml", "--online"])
        .await;
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(
        run.stdout,
        format!(
            "base44.map: ok (2 rules)\n\
             crm.map: ok (1 rules)\n\
             target base44 {}\n\
             \x20 features: patch yes, filter yes (maxResults 1000), bulk yes (maxOperations 1000), etag yes, sort yes, changePassword yes\n\
             \x20 authentication: oauthbearertoken\n\
             \x20 3 of 3 mapped paths exist on the target with a matching type and are writable\n\
             source users.json: readable, first user s1\n",
            server.url
        )
    );
    assert_eq!(
        run.stderr,
        format!(
            "error: target crm: cannot reach {down}/ServiceProviderConfig: Connection refused (os error 111)\n"
        )
    );

    // --target leaves the other out: its mapping is not checked, its URL not contacted.
    let run = project
        .scimsync(&[
            "check",
            "--config",
            "scimsync.toml",
            "--online",
            "--target",
            "base44",
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(run.stderr, "");
    assert!(
        run.stdout
            .starts_with("base44.map: ok (2 rules)\ntarget base44 "),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("crm"), "{}", run.stdout);
}

/// The full explanation `explain` prints for ada under base44.map.
fn ada_under_base44() -> String {
    "user s1 (ada@example.com): active in the source\n\
     mapping base44.map\n\
     \n\
     userName (line 1)\n\
     \x20 userName <- user.email\n\
     \x20 reads   email = \"ada@example.com\"\n\
     \x20 result  \"ada@example.com\"\n\
     \n\
     name.familyName (line 2)\n\
     \x20 name.familyName <- user.last\n\
     \x20 reads   last = \"Lovelace\"\n\
     \x20 result  \"Lovelace\"\n\
     \n\
     SCIM resource (as created):\n\
     {\n\
     \x20 \"schemas\": [\n\
     \x20   \"urn:ietf:params:scim:schemas:core:2.0:User\"\n\
     \x20 ],\n\
     \x20 \"userName\": \"ada@example.com\",\n\
     \x20 \"name\": {\n\
     \x20   \"familyName\": \"Lovelace\"\n\
     \x20 },\n\
     \x20 \"active\": true\n\
     }\n"
    .to_owned()
}

const OUT_OF_SCOPE: &str =
    "out of scope: `scope user.dept == \"Sales\"` (line 1) gives false, reading dept = \"Eng\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_shows_each_target_and_which_ones_the_user_reaches() {
    let project = Project::new(&[
        ("base44", "https://base44.example.com/v2"),
        ("appspace", "https://appspace.example.com/v2"),
        ("crm", "https://crm.example.com/v2"),
    ]);
    let explain = |extra: &[&str]| {
        let mut args = vec![
            "explain",
            "--config",
            "scimsync.toml",
            "--now",
            "2026-03-01T00:00:00Z",
        ];
        args.extend_from_slice(extra);
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let project = &project;
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            project.scimsync(&args).await
        }
    };
    // Found by the userName a mapping gives it, the source read once.
    let run = explain(&["--user", "ADA@example.com"]).await;
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(run.stderr, "");
    let crm = ada_under_base44()
        .replace("mapping base44.map", "mapping crm.map")
        .replace(
            "\nname.familyName (line 2)\n  name.familyName <- user.last\n  reads   last = \"Lovelace\"\n  result  \"Lovelace\"\n",
            "",
        )
        .replace(
            "  \"name\": {\n    \"familyName\": \"Lovelace\"\n  },\n",
            "",
        );
    assert_eq!(
        run.stdout,
        format!(
            "── target base44 ──\n{}\n── target appspace ──\n{OUT_OF_SCOPE}\n── target crm ──\n{crm}\n\
             s1 (ada@example.com) reaches 2 of 3 targets: base44, crm\n",
            ada_under_base44()
        )
    );

    let run = explain(&["--user", "s1", "--target", "appspace"]).await;
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(
        run.stdout,
        format!(
            "── target appspace ──\n{OUT_OF_SCOPE}\ns1 (ada@example.com) reaches 0 of 1 target\n"
        )
    );

    // A mapping that does not compile: its error in its section, the others shown, exit 1.
    project.write("crm.map", "userName <- user.email +\n");
    let run = explain(&["--user", "s1", "--target", "crm", "--target", "base44"]).await;
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(
        run.stdout,
        format!(
            "── target base44 ──\n{}\n── target crm ──\n\
             crm.map:1:25: error[E0001]: expected an expression, found the end of the statement\n\
             \x20  |\n\
             \x201 | userName <- user.email +\n\
             \x20  |                         ^ unexpected here\n\
             \n\
             s1 (ada@example.com) reaches 1 of 2 targets: base44\n",
            ada_under_base44()
        )
    );
    assert_eq!(
        run.stderr,
        "error: 1 of 2 targets could not be explained: crm\n"
    );
}

/// Each target with enough writes shows its own progress, its lines named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_lines_name_their_target() {
    let servers = [FaultServer::start().await, FaultServer::start().await];
    let project = Project::new(&[("base44", &servers[0].url), ("crm", &servers[1].url)]);
    let users: Vec<Json> = (0..60)
        .map(|i| json!({"id": format!("s{i}"), "email": format!("p{i:02}@example.com"), "last": "P"}))
        .collect();
    project.write("users.json", &Json::Array(users).to_string());
    let run = project
        .scimsync(&["sync", "--config", "scimsync.toml"])
        .await;
    assert_eq!(run.code, 0, "{}", run.all_output());
    for name in ["base44", "crm"] {
        let prefix = format!("progress {name}: ");
        let lines: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| l.starts_with(&prefix))
            .collect();
        assert_eq!(lines.len(), 10, "{}", run.stderr);
        assert_eq!(
            lines[0],
            format!("progress {name}: 6/60 writes (10%), 0 failed")
        );
        assert_eq!(
            lines[9],
            format!("progress {name}: 60/60 writes (100%), 0 failed")
        );
    }
    assert!(!run.stderr.contains("progress: "), "{}", run.stderr);
    assert_eq!(servers[0].users().len(), 60);
    assert_eq!(servers[1].users().len(), 60);

    // On a terminal (a pty from util-linux `script`): one bar per target, each named. New
    // e-mail addresses change every user in both targets; a few slow answers keep the bars up
    // long enough to be drawn.
    let users: Vec<Json> = (0..60)
        .map(|i| json!({"id": format!("s{i}"), "email": format!("q{i:02}@example.com"), "last": "Q"}))
        .collect();
    project.write("users.json", &Json::Array(users).to_string());
    for server in &servers {
        server.fault(
            "PATCH",
            "/Users",
            None,
            fault::Fault::SlowThenApply(std::time::Duration::from_millis(300)),
            3,
        );
    }
    let command = format!(
        "{} sync --config scimsync.toml",
        env!("CARGO_BIN_EXE_scimsync")
    );
    let dir = project.dir.path().to_owned();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .current_dir(dir)
            .env_remove("RUST_LOG")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let terminal = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{terminal}");
    for name in ["base44", "crm"] {
        assert!(
            terminal.contains(&format!(
                "{name}: read 60 users: 60 in scope, 0 skipped; comparing with the target…"
            )),
            "{terminal}"
        );
        let bar = regex::Regex::new(&format!(r"writing {name} \[[=> ]{{40}}\] \d+/60")).unwrap();
        assert!(bar.is_match(&terminal), "{terminal}");
    }
    assert!(!terminal.contains("progress"), "{terminal}");
    assert!(
        terminal.contains("Applied: 0 created, 60 updated"),
        "{terminal}"
    );
}

/// A target whose settings are wrong fails alone, in its place in the file's order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_target_fails_alone_in_its_place() {
    let servers = [FaultServer::start().await, FaultServer::start().await];
    let project = Project::new(&[
        ("base44", &servers[0].url),
        ("crm", "https://crm.example.com/v2"),
        ("appspace", &servers[1].url),
    ]);
    let config = std::fs::read_to_string(project.path("scimsync.toml")).unwrap();
    project.write(
        "scimsync.toml",
        &config.replace(
            "name = \"crm\"\n",
            "name = \"crm\"\nconcurrency = \"many\"\n",
        ),
    );
    let run = project
        .scimsync(&["sync", "--config", "scimsync.toml", "--dry-run"])
        .await;
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(run.stderr, "error: 1 of 3 targets did not sync: crm\n");
    let headers: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("── ") || l.starts_with("error: ") || l.starts_with("Total"))
        .collect();
    assert_eq!(
        headers,
        [
            "── target base44: ok ──",
            "── target crm: failed ──",
            "error: [[target]] invalid type: string \"many\", expected usize",
            "── target appspace: ok ──",
            "Total: 3 targets, 2 ok, 1 failed; 3 to create, 0 to update, 0 to reactivate, 0 to deactivate; 0 unchanged, 0 skipped.",
        ]
    );

    // Its state cannot be shown either: named on stderr, the others shown, exit 1. Neither
    // has had a full run (the run above was a dry run).
    let run = project
        .scimsync(&["state", "show", "--config", "scimsync.toml"])
        .await;
    assert_eq!(run.code, 1, "{}", run.all_output());
    let never_full = "no full run has completed yet: the next run is full.\n\
                      filtering not checked yet: the first incremental run that must look a user up asks the target.\n";
    assert_eq!(
        run.stdout,
        format!(
            "── target base44 (state/base44.json) ──\n\
             target {}\n\
             0 user(s), 0 group(s) managed; 0 held.\n\
             {never_full}\
             ── target appspace (state/appspace.json) ──\n\
             target {}\n\
             0 user(s), 0 group(s) managed; 0 held.\n\
             {never_full}",
            servers[0].url, servers[1].url
        )
    );
    assert_eq!(
        run.stderr,
        "error: config scimsync.toml: target `crm`: [[target]] invalid type: string \"many\", expected usize\n"
    );
}

/// A target whose safety guard refuses the run's removals writes nothing; the other target
/// deactivates as its own settings allow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_safety_guard_stops_its_own_target_only() {
    let servers = [FaultServer::start().await, FaultServer::start().await];
    let project = Project::new(&[("base44", &servers[0].url), ("crm", &servers[1].url)]);
    let run = project
        .scimsync(&["sync", "--config", "scimsync.toml"])
        .await;
    assert_eq!(run.code, 0, "{}", run.all_output());
    // base44 allows no removal at all; crm keeps the defaults (5 always allowed).
    let config = std::fs::read_to_string(project.path("scimsync.toml")).unwrap();
    project.write(
        "scimsync.toml",
        &config.replace(
                "name = \"base44\"\n",
                "name = \"base44\"\nsync = { safety = { always_allowed = 0, max_deactivations = 0 } }\n",
            ),
    );
    project.write(
        "users.json",
        r#"[{"id": "s1", "email": "ada@example.com", "last": "Lovelace", "dept": "Eng"}]"#,
    );
    let run = project
        .scimsync(&["sync", "--config", "scimsync.toml"])
        .await;
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(
        run.stderr, "error: 1 of 2 targets did not sync: base44\n",
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stdout,
        "── target base44: refused by the safety guard ──\n\
         error: refusing to sync: this run would deactivate or delete 1 of 2 managed users (50%), \
         above the threshold (0 users or 20%); nothing was written. If this is intended, run once \
         with --allow-mass-deactivation, or raise max_deactivations in [target.sync.safety] of \
         target \"base44\" / max_deactivation_percent in [sync.safety]\n\
         \n\
         ── target crm: ok ──\n\
         - deactivate bob@example.com\n\
         Plan: 0 to create, 0 to update, 0 to reactivate, 1 to deactivate; 1 unchanged, 0 skipped.\n\
         Applied: 0 created, 0 updated, 0 reactivated, 1 deactivated; 0 failed.\n\
         \n\
         Total: 2 targets, 1 ok, 1 failed; 0 created, 0 updated, 0 reactivated, 1 deactivated; 0 write(s) failed; 1 unchanged, 0 skipped.\n"
    );
    assert_eq!(
        users_on(&servers[0]),
        names(&[("ada@example.com", true), ("bob@example.com", true)])
    );
    assert_eq!(
        users_on(&servers[1]),
        names(&[("ada@example.com", true), ("bob@example.com", false)])
    );
}
