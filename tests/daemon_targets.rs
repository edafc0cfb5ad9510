//! `scimsync daemon` with several `[[target]]`s, as a child process against real scim2-server
//! peers (one per target) and the in-process fault server for a slow target: each target runs
//! on its own schedule; a slow target skips its own overlapping ticks while another keeps its
//! own on time; SIGHUP with one target's mapping broken keeps that target on its previous plan
//! while the other takes its new one; `/healthz` overall and `/healthz/{name}`; a broken target
//! at start is reported and the others run; `--target` narrows what is served. Every wait is
//! bounded by time; everything listens on 127.0.0.1.

use std::time::Duration;

use serde_json::{Value as Json, json};

use crate::daemon::{
    BROKEN_MAPPING, Daemon, MAPPING, MAPPING_WITH_TITLE, free_port, get, parse_metrics, replace,
    server_users, triple, user, wait_for,
};
use crate::support::fault::{Fault, FaultServer};
use crate::support::{self, Project, ScimServer};

/// One `[[target]]`: its name, URL, the environment variable holding its token, and extra
/// lines (a `[target.schedule]` table goes last).
#[derive(Clone, Copy)]
struct TargetSpec<'a> {
    name: &'a str,
    url: &'a str,
    token_env: &'a str,
    extra: &'a str,
}

/// A many-target project: `users.json`, `<name>.map` (MAPPING) per target, a shared
/// `[schedule]` and the HTTP listener on `port`.
fn project(targets: &[TargetSpec<'_>], schedule: &str, port: u16) -> Project {
    let project = Project::new();
    project.write("users.json", "[]");
    for target in targets {
        project.write(&format!("{}.map", target.name), MAPPING);
    }
    write_config(&project, targets, schedule, port);
    project
}

/// Writes the project's `scimsync.toml` for `targets`.
fn write_config(project: &Project, targets: &[TargetSpec<'_>], schedule: &str, port: u16) {
    let mut config = format!(
        "[source]\nkind = \"json\"\npath = \"users.json\"\nformat = \"plain\"\n\n[state]\ndir = \"state\"\n\n[audit]\npath = \"log/audit.jsonl\"\n\n[defaults]\ntimeout_seconds = 10\n\n[schedule]\n{schedule}\n\n[http]\nlisten = \"127.0.0.1:{port}\"\nmax_success_age_seconds = 3600\n"
    );
    for target in targets {
        config.push_str(&format!(
            "\n[[target]]\nname = \"{}\"\nmapping = \"{}.map\"\nurl = \"{}\"\ntoken_env = \"{}\"\n{}\n",
            target.name, target.name, target.url, target.token_env, target.extra
        ));
    }
    replace(&project.path("scimsync.toml"), &config);
}

fn healthz(port: u16, path: &str) -> (u16, Json) {
    let (status, body) = get(&format!("http://127.0.0.1:{port}/healthz{path}"));
    let document = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    (status, document)
}

fn metrics(port: u16) -> std::collections::BTreeMap<String, f64> {
    parse_metrics(&get(&format!("http://127.0.0.1:{port}/metrics")).1)
}

/// The `target` field of every log line whose message starts with `prefix`.
fn targets_of(daemon: &Daemon, prefix: &str) -> Vec<String> {
    daemon
        .messages_starting(prefix)
        .iter()
        .map(|l| l["target"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The `targets` keys of a `/healthz` document.
fn target_names(document: &Json) -> Vec<&str> {
    document["targets"]
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn each_target_runs_on_its_own_schedule() {
    let hr = ScimServer::start();
    let wiki = ScimServer::start();
    let port = free_port();
    let project = project(
        &[
            TargetSpec {
                name: "hr",
                url: &hr.url,
                token_env: "HR_TOKEN",
                extra: "[target.schedule]\ncron = \"* * * * * *\"",
            },
            // The shared schedule: next on January 1st.
            TargetSpec {
                name: "wiki",
                url: &wiki.url,
                token_env: "WIKI_TOKEN",
                extra: "",
            },
        ],
        "cron = \"0 0 0 1 1 *\"\nshutdown_timeout_seconds = 5",
        port,
    );
    replace(
        &project.path("users.json"),
        &json!([
            user("1", "ada@example.com", "Ada", None),
            user("2", "bob@example.com", "Bob", None)
        ])
        .to_string(),
    );
    let env = [("HR_TOKEN", hr.token.as_str()), ("WIKI_TOKEN", &wiki.token)];
    let mut daemon = Daemon::start_args(&project, "unused", &env, &[]);

    daemon.wait_for_message("run finished", 3, Duration::from_secs(30));
    assert_eq!(
        server_users(&hr),
        [
            triple("ada@example.com", "Ada", None),
            triple("bob@example.com", "Bob", None)
        ]
    );
    assert_eq!(server_users(&wiki), [], "wiki is not due before January");
    assert!(
        targets_of(&daemon, "run finished")
            .iter()
            .all(|t| t == "hr")
    );
    let started = daemon.messages_starting("run started");
    assert!(started.iter().all(|l| l["targets"] == "hr"), "{started:?}");
    assert!(support::state_json(&project.path("state"), Some("hr")).is_some());
    assert!(support::state_json(&project.path("state"), Some("wiki")).is_none());

    // /healthz: hr ok, wiki still waiting for its first run; the worst status is the overall.
    let (status, doc) = healthz(port, "");
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["status"], "starting", "{doc}");
    assert_eq!(target_names(&doc), ["hr", "wiki"]);
    assert_eq!(doc["targets"]["hr"]["status"], "ok");
    assert_eq!(doc["targets"]["hr"]["last_run"]["result"], "success");
    assert_eq!(doc["targets"]["wiki"]["status"], "starting");
    assert_eq!(doc["targets"]["wiki"]["last_run"], Json::Null);
    let wiki_next = doc["targets"]["wiki"]["next_run"].as_str().unwrap();
    assert!(wiki_next.ends_with("-01-01T00:00:00+00:00"), "{wiki_next}");
    let (status, wiki_doc) = healthz(port, "/wiki");
    assert_eq!(status, 200);
    assert_eq!(wiki_doc["status"], "starting");
    assert_eq!(wiki_doc["next_run"], wiki_next);
    let (status, _) = healthz(port, "/nope");
    assert_eq!(status, 404);

    // Every series names its target; wiki has none (it never ran).
    let metrics = metrics(port);
    assert!(metrics["scimsync_runs_total{target=\"hr\",result=\"success\"}"] >= 3.0);
    assert_eq!(
        metrics["scimsync_operations_total{target=\"hr\",operation=\"create\",result=\"success\"}"],
        2.0
    );
    assert_eq!(metrics["scimsync_users_in_scope{target=\"hr\"}"], 2.0);
    assert!(
        !metrics.keys().any(|k| k.contains("wiki")),
        "{:?}",
        metrics.keys()
    );
    let audit = std::fs::read_to_string(project.path("log/audit.jsonl")).unwrap();
    assert!(
        audit
            .lines()
            .map(|l| serde_json::from_str::<Json>(l).unwrap())
            .all(|l| l["target"] == "hr"),
        "{audit}"
    );
    assert_eq!(daemon.terminate(Duration::from_secs(10)), 0);
}

#[test]
fn a_slow_target_skips_its_own_ticks_while_the_other_runs_on_time() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let slow = runtime.block_on(FaultServer::start());
    // Every listing of the slow target takes three seconds: its run outlasts its next tick.
    slow.fault(
        "GET",
        "/Users",
        None,
        Fault::SlowThenApply(Duration::from_secs(3)),
        usize::MAX,
    );
    let fast = ScimServer::start();
    let port = free_port();
    // Even seconds for fast, odd ones for slow: their ticks never fall in one run.
    let project = project(
        &[
            TargetSpec {
                name: "fast",
                url: &fast.url,
                token_env: "FAST_TOKEN",
                extra: "[target.schedule]\ncron = \"0/2 * * * * *\"",
            },
            TargetSpec {
                name: "slow",
                url: &slow.url,
                token_env: "SLOW_TOKEN",
                extra: "[target.schedule]\ncron = \"1/2 * * * * *\"",
            },
        ],
        "cron = \"0 0 0 1 1 *\"\nshutdown_timeout_seconds = 5",
        port,
    );
    replace(
        &project.path("users.json"),
        &json!([user("1", "ada@example.com", "Ada", None)]).to_string(),
    );
    let env = [
        ("FAST_TOKEN", fast.token.as_str()),
        ("SLOW_TOKEN", "tok-slow"),
    ];
    let mut daemon = Daemon::start_args(&project, "unused", &env, &[]);

    wait_for(
        Duration::from_secs(40),
        "two runs of the slow target",
        || {
            let finished = targets_of(&daemon, "run finished");
            (finished.iter().filter(|t| *t == "slow").count() >= 2).then_some(())
        },
    );
    let skipped = daemon.messages_starting("tick skipped");
    assert!(!skipped.is_empty(), "the slow target's ticks overlapped");
    for line in &skipped {
        assert_eq!(line["target"], "slow", "{line}");
        assert_eq!(line["level"], "WARN");
        assert_eq!(
            line["message"],
            "tick skipped: the previous run of slow is still in progress"
        );
    }
    // While the slow target's first run was going, the fast one started and finished runs.
    let lines = daemon.lines();
    let message = |l: &Json| l["message"].as_str().unwrap_or_default().to_owned();
    let slow_start = lines
        .iter()
        .position(|l| message(l) == "run started" && l["targets"] == "slow")
        .unwrap();
    let slow_end = lines
        .iter()
        .position(|l| message(l).starts_with("run finished") && l["target"] == "slow")
        .unwrap();
    let fast_during = lines[slow_start..slow_end]
        .iter()
        .filter(|l| message(l).starts_with("run finished") && l["target"] == "fast")
        .count();
    assert!(fast_during >= 1, "no fast run during the slow one");
    assert!(
        daemon
            .messages_starting("run started")
            .iter()
            .all(|l| l["targets"] == "fast" || l["targets"] == "slow")
    );
    assert_eq!(
        server_users(&fast),
        [triple("ada@example.com", "Ada", None)]
    );
    assert_eq!(slow.users().len(), 1, "the slow target got its user too");

    let metrics = metrics(port);
    let skipped_slow = metrics["scimsync_ticks_skipped_total{target=\"slow\"}"];
    assert_eq!(skipped_slow, skipped.len() as f64);
    assert!(!metrics.contains_key("scimsync_ticks_skipped_total{target=\"fast\"}"));
    assert!(metrics["scimsync_runs_total{target=\"fast\",result=\"success\"}"] >= 2.0);
    assert!(metrics["scimsync_request_duration_seconds_sum{target=\"slow\",kind=\"list\"}"] >= 3.0);
    assert_eq!(daemon.terminate(Duration::from_secs(10)), 0);
}

#[test]
fn hup_with_one_broken_mapping_keeps_that_target_on_its_previous_plan() {
    let hr = ScimServer::start();
    let crm = ScimServer::start();
    let wiki = ScimServer::start();
    let port = free_port();
    let every_second = "[target.schedule]\ncron = \"* * * * * *\"\nrun_at_start = true";
    let hr_spec = TargetSpec {
        name: "hr",
        url: &hr.url,
        token_env: "HR_TOKEN",
        extra: every_second,
    };
    let schedule = "cron = \"0 0 0 1 1 *\"\nshutdown_timeout_seconds = 5\nfailure_threshold = 2";
    // Full runs on crm: it goes down below, and only a run that sends requests notices (an
    // incremental run with nothing to change sends none).
    let crm_extra = format!("[target.sync]\nfull_reconcile = \"always\"\n{every_second}");
    let project = project(
        &[
            hr_spec,
            TargetSpec {
                name: "crm",
                url: &crm.url,
                token_env: "CRM_TOKEN",
                extra: &crm_extra,
            },
        ],
        schedule,
        port,
    );
    let users = project.path("users.json");
    replace(
        &users,
        &json!([user("1", "ada@example.com", "Ada", Some("Engineer"))]).to_string(),
    );
    let env = [
        ("HR_TOKEN", hr.token.as_str()),
        ("CRM_TOKEN", &crm.token),
        ("WIKI_TOKEN", &wiki.token),
    ];
    let mut daemon = Daemon::start_args(&project, "unused", &env, &[]);
    for server in [&hr, &crm] {
        wait_for(Duration::from_secs(30), "the first sync", || {
            (server_users(server) == [triple("ada@example.com", "Ada", None)]).then_some(())
        });
    }

    // hr gets a new mapping, crm a broken one: crm keeps its previous plan.
    replace(&project.path("hr.map"), MAPPING_WITH_TITLE);
    replace(&project.path("crm.map"), BROKEN_MAPPING);
    daemon.signal("HUP");
    let rejected = daemon.wait_for_message(
        "reload rejected for target crm, it keeps its previous configuration:",
        1,
        Duration::from_secs(10),
    );
    assert_eq!(rejected[0]["level"], "ERROR");
    assert_eq!(rejected[0]["target"], "crm");
    let text = rejected[0]["message"].as_str().unwrap();
    assert!(text.contains("crm.map:5:19: error[E0202]:"), "{text}");
    daemon.wait_for_message(
        "configuration and mapping reloaded",
        1,
        Duration::from_secs(10),
    );
    assert!(
        daemon
            .messages_starting("reload rejected, still")
            .is_empty()
    );
    replace(
        &users,
        &json!([
            user("1", "ada@example.com", "Ada", Some("Engineer")),
            user("2", "bob@example.com", "Bob", Some("Writer"))
        ])
        .to_string(),
    );
    wait_for(Duration::from_secs(20), "titles on hr", || {
        (server_users(&hr)
            == [
                triple("ada@example.com", "Ada", Some("Engineer")),
                triple("bob@example.com", "Bob", Some("Writer")),
            ])
        .then_some(())
    });
    wait_for(Duration::from_secs(20), "bob on crm, without title", || {
        (server_users(&crm)
            == [
                triple("ada@example.com", "Ada", None),
                triple("bob@example.com", "Bob", None),
            ])
        .then_some(())
    });
    let metrics = metrics(port);
    assert_eq!(
        metrics["scimsync_config_reloads_total{result=\"success\"}"],
        1.0
    );
    assert!(!metrics.contains_key("scimsync_config_reloads_total{result=\"failure\"}"));
    assert_eq!(
        metrics["scimsync_target_reloads_rejected_total{target=\"crm\"}"],
        1.0
    );
    let (status, doc) = healthz(port, "");
    assert_eq!((status, &doc["status"]), (200, &json!("ok")), "{doc}");

    // crm goes down: after two failed runs in a row it is unhealthy, and so is the whole.
    drop(crm);
    let (status, doc) = wait_for(Duration::from_secs(20), "an unhealthy crm", || {
        let (status, doc) = healthz(port, "");
        (status == 503).then_some((status, doc))
    });
    assert_eq!(status, 503);
    assert_eq!(doc["status"], "unhealthy");
    assert_eq!(doc["targets"]["crm"]["status"], "unhealthy");
    assert_eq!(doc["targets"]["crm"]["last_run"]["result"], "failure");
    assert_eq!(doc["targets"]["hr"]["status"], "ok");
    let reasons = doc["reasons"].as_array().unwrap();
    assert!(
        reasons
            .iter()
            .all(|r| r.as_str().unwrap().starts_with("target crm: ")
                && r.as_str().unwrap().ends_with(" runs in a row failed")),
        "{doc}"
    );
    let (status, hr_doc) = healthz(port, "/hr");
    assert_eq!((status, &hr_doc["status"]), (200, &json!("ok")));
    assert_eq!(hr_doc["consecutive_failures"], 0);
    let (status, crm_doc) = healthz(port, "/crm");
    assert_eq!(status, 503);
    assert!(crm_doc["consecutive_failures"].as_u64().unwrap() >= 2);
    assert!(crm_doc.get("targets").is_none());

    // crm removed, wiki added: wiki starts on its schedule, crm is no longer served.
    project.write("wiki.map", MAPPING);
    let wiki_spec = TargetSpec {
        name: "wiki",
        url: &wiki.url,
        token_env: "WIKI_TOKEN",
        extra: every_second,
    };
    write_config(&project, &[hr_spec, wiki_spec], schedule, port);
    daemon.signal("HUP");
    daemon.wait_for_message(
        "configuration and mapping reloaded",
        2,
        Duration::from_secs(10),
    );
    wait_for(Duration::from_secs(20), "wiki's first sync", || {
        (server_users(&wiki)
            == [
                triple("ada@example.com", "Ada", None),
                triple("bob@example.com", "Bob", None),
            ])
        .then_some(())
    });
    let (status, doc) = wait_for(Duration::from_secs(10), "a healthy whole", || {
        let (status, doc) = healthz(port, "");
        (status == 200 && doc["targets"]["wiki"]["status"] == "ok").then_some((status, doc))
    });
    assert_eq!((status, &doc["status"]), (200, &json!("ok")), "{doc}");
    assert_eq!(target_names(&doc), ["hr", "wiki"]);
    assert_eq!(healthz(port, "/crm").0, 404);
    let crm_runs = targets_of(&daemon, "run finished")
        .iter()
        .filter(|t| *t == "crm")
        .count();
    std::thread::sleep(Duration::from_millis(1500));
    let crm_runs_later = targets_of(&daemon, "run finished")
        .iter()
        .filter(|t| *t == "crm")
        .count();
    assert_eq!(crm_runs, crm_runs_later, "crm is no longer scheduled");
    assert_eq!(daemon.terminate(Duration::from_secs(10)), 0);
}

#[test]
fn a_broken_target_at_start_is_reported_and_the_others_run() {
    let hr = ScimServer::start();
    let port = free_port();
    let every_second = "[target.schedule]\ncron = \"* * * * * *\"\nrun_at_start = true";
    let project = project(
        &[
            TargetSpec {
                name: "hr",
                url: &hr.url,
                token_env: "HR_TOKEN",
                extra: every_second,
            },
            TargetSpec {
                name: "crm",
                url: "http://127.0.0.1:9/v2",
                token_env: "CRM_TOKEN",
                extra: every_second,
            },
            TargetSpec {
                name: "wiki",
                url: "http://127.0.0.1:9/v2",
                token_env: "WIKI_TOKEN",
                extra: "colour = \"red\"",
            },
        ],
        "cron = \"0 0 0 1 1 *\"\nshutdown_timeout_seconds = 5",
        port,
    );
    project.write("crm.map", BROKEN_MAPPING);
    replace(
        &project.path("users.json"),
        &json!([user("1", "ada@example.com", "Ada", None)]).to_string(),
    );
    let env = [("HR_TOKEN", hr.token.as_str())];
    let mut daemon = Daemon::start_args(&project, "unused", &env, &[]);
    daemon.wait_for_message("run finished", 2, Duration::from_secs(30));
    assert_eq!(server_users(&hr), [triple("ada@example.com", "Ada", None)]);
    assert!(
        targets_of(&daemon, "run finished")
            .iter()
            .all(|t| t == "hr")
    );

    let crm =
        daemon.messages_starting("target crm is not served, its settings or mapping are unusable:");
    assert_eq!(crm.len(), 1);
    assert_eq!(crm[0]["level"], "ERROR");
    let text = crm[0]["message"].as_str().unwrap();
    assert!(text.contains("crm.map:5:19: error[E0202]:"), "{text}");
    let wiki = daemon.messages_starting("target wiki is not served");
    assert_eq!(wiki.len(), 1);
    let text = wiki[0]["message"].as_str().unwrap();
    assert!(text.contains("error: target `wiki`:"), "{text}");
    assert!(text.contains("colour"), "{text}");

    let (status, doc) = healthz(port, "");
    assert_eq!(status, 503, "{doc}");
    assert_eq!(doc["status"], "unhealthy");
    assert_eq!(target_names(&doc), ["hr", "crm", "wiki"]);
    for broken in ["crm", "wiki"] {
        assert_eq!(doc["targets"][broken]["status"], "unhealthy");
        assert_eq!(
            doc["targets"][broken]["reasons"],
            json!(["its settings or mapping are unusable (the daemon log has the diagnostics)"])
        );
        assert_eq!(doc["targets"][broken]["next_run"], Json::Null);
        assert_eq!(healthz(port, &format!("/{broken}")).0, 503);
    }
    let (status, hr_doc) = healthz(port, "/hr");
    assert_eq!((status, &hr_doc["status"]), (200, &json!("ok")));
    assert_eq!(daemon.terminate(Duration::from_secs(10)), 0);

    // `--target hr` serves hr alone: the others are not even looked at.
    let port2 = free_port();
    let config = std::fs::read_to_string(project.path("scimsync.toml")).unwrap();
    project.write(
        "scimsync.toml",
        &config.replace(&format!(":{port}\""), &format!(":{port2}\"")),
    );
    std::fs::remove_file(project.path("daemon.log")).unwrap();
    let mut daemon = Daemon::start_args(&project, "unused", &env, &["--target", "hr"]);
    daemon.wait_for_message("run finished", 1, Duration::from_secs(30));
    let (status, doc) = healthz(port2, "");
    assert_eq!((status, &doc["status"]), (200, &json!("ok")), "{doc}");
    assert_eq!(target_names(&doc), ["hr"]);
    assert_eq!(
        doc["last_run"]["result"], "success",
        "one target: its document on top"
    );
    assert!(
        daemon
            .messages_starting("target crm is not served")
            .is_empty()
    );
    assert_eq!(daemon.terminate(Duration::from_secs(10)), 0);

    // No target usable: exit 1 with every target's diagnostics; an unknown name likewise.
    project.write("hr.map", BROKEN_MAPPING);
    let config = project.path("scimsync.toml");
    let run = support::scimsync(&["daemon", "--config", config.to_str().unwrap()], None);
    assert_eq!(run.code, 1, "{}", run.stderr);
    for expected in [
        "hr.map:5:19: error[E0202]:",
        "crm.map:5:19: error[E0202]:",
        "error: target `wiki`:",
    ] {
        assert!(
            run.stderr.contains(expected),
            "{expected} in {}",
            run.stderr
        );
    }
    let run = support::scimsync(
        &[
            "daemon",
            "--config",
            config.to_str().unwrap(),
            "--target",
            "nope",
        ],
        None,
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("no target is named `nope`; the targets are hr, crm, wiki"),
        "{}",
        run.stderr
    );
}
