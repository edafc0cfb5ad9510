//! The state database: each write's outcome is committed as it completes (a kill -9 mid-run
//! loses none), `state export` and `state forget` on it, and the crash test: a sync killed
//! with SIGKILL at random points, rerun to completion each time, never duplicates a user,
//! never misses a write, and leaves the state equal to the target.
//!
//! The crash test's size comes from the environment: `SCIMSYNC_CRASH_USERS` (default 300,
//! so CI stays within its time; BENCHMARKS.md records a 2,000-user run), `SCIMSYNC_CRASH_KILLS`
//! (default 20) and `SCIMSYNC_CRASH_SEED` (default: from the clock; printed either way, so a
//! failure can be replayed).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

use crate::support::fault::{Fault, FaultServer};
use crate::support::{self, Project, ScimServer};

const MAP: &str = "userName <- user.email\nname.familyName <- user.last\ntitle <- user.title\n";

fn people(ids: impl Iterator<Item = usize>, title: &str) -> Json {
    Json::Array(
        ids.map(|i| {
            json!({"id": format!("s{i:05}"), "email": format!("u{i:05}@x"), "last": format!("L{i}"), "title": title})
        })
        .collect(),
    )
}

/// A single-form project for `url` with the token in a file.
fn project(url: &str, token: &str, extra: &str) -> Project {
    let project = Project::new();
    project.write("m.map", MAP);
    project.write("token", &format!("{token}\n"));
    std::fs::set_permissions(
        project.path("token"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    project.write(
        "scimsync.toml",
        &format!(
            "mapping = \"m.map\"\n[source]\nkind = \"json\"\npath = \"users.json\"\nformat = \"plain\"\n\
             [target]\nname = \"app\"\nurl = \"{url}\"\ntoken_file = \"token\"\ntimeout_seconds = 30\n{extra}\n\
             [sync.safety]\nmax_deactivations = 100000\nmax_deactivation_percent = 100.0\n\
             [state]\npath = \"state\"\n"
        ),
    );
    project
}

fn binary(project: &Project, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_scimsync"));
    command
        .args(args)
        .arg("--config")
        .arg(project.path("scimsync.toml"))
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    command
}

fn state_of(project: &Project) -> Json {
    support::state_json(&project.path("state"), Some("app")).expect("the target has a state")
}

/// Waits (at most `limit`) for `ready`.
async fn wait_for(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if ready() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ready()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_completed_write_is_in_the_database_while_the_run_goes_on_and_after_kill_9() {
    let server = FaultServer::start().await;
    server.allow_duplicates();
    // The fourth create hangs for 3 s, then takes effect: the run is mid-way.
    server.fault(
        "POST",
        "/Users",
        Some("u00004@x"),
        Fault::SlowThenApply(Duration::from_secs(3)),
        1,
    );
    let project = project(&server.url, "secret-token", "concurrency = 1");
    project.write("users.json", &people(1..=6, "t").to_string());
    let mut child = binary(&project, &["sync"]).spawn().unwrap();
    assert!(
        wait_for(Duration::from_secs(20), || server.received("POST") == 4).await,
        "three creates done, the fourth in flight"
    );
    // Read while the run holds the lock and waits for the fourth answer.
    let during = state_of(&project);
    child.kill().unwrap();
    child.wait().unwrap();
    let after = state_of(&project);
    assert_eq!(during, after, "the kill loses nothing recorded");

    let on_server: BTreeMap<String, String> = server
        .users()
        .iter()
        .map(|u| {
            (
                u["userName"].as_str().unwrap().to_owned(),
                u["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let managed: Vec<(&String, &Json)> = after["users"].as_object().unwrap().iter().collect();
    assert_eq!(
        managed
            .iter()
            .map(|(source, u)| (source.as_str(), u["userName"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        [
            ("s00001", "u00001@x"),
            ("s00002", "u00002@x"),
            ("s00003", "u00003@x")
        ],
        "{after}"
    );
    for (_, user) in &managed {
        assert_eq!(
            user["id"].as_str(),
            on_server
                .get(user["userName"].as_str().unwrap())
                .map(String::as_str)
        );
        assert_eq!(user["active"], true);
        assert!(user["fingerprint"].is_string(), "{user}");
    }
    // Every create not yet answered is pending: the next run looks each up first.
    assert_eq!(
        after["pending"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["s00004", "s00005", "s00006"]
    );
    assert_eq!(after["pending"]["s00004"]["matchValue"], "u00004@x");

    // The hung create lands; the next run adopts it and creates only the two never sent.
    assert!(wait_for(Duration::from_secs(10), || server.users().len() == 4).await);
    server.clear_faults();
    server.clear_log();
    let status = binary(&project, &["sync"]).status().unwrap();
    assert!(status.success());
    let posts = server.log().iter().filter(|l| l.method == "POST").count();
    assert_eq!(posts, 2, "{:?}", server.trace());
    let names: Vec<String> = server
        .users()
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "u00001@x", "u00002@x", "u00003@x", "u00004@x", "u00005@x", "u00006@x"
        ]
    );
    let state = state_of(&project);
    assert!(state.get("pending").is_none(), "{state}");
    assert_eq!(state["users"].as_object().unwrap().len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_prints_the_state_and_forget_drops_from_the_database() {
    let server = FaultServer::start().await;
    let project = project(&server.url, "secret-token", "");
    project.write("users.json", &people(1..=2, "t").to_string());
    assert!(binary(&project, &["sync"]).status().unwrap().success());
    let export = |extra: &[&str]| {
        let output = binary(&project, &[&["state", "export"], extra].concat())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    };
    let (code, stdout, _) = export(&["--json"]);
    assert_eq!(code, Some(0));
    let exported: Json = serde_json::from_str(&stdout).unwrap();
    assert_eq!(exported, state_of(&project));
    assert_eq!(
        stdout,
        serde_json::to_string_pretty(&exported).unwrap() + "\n"
    );
    assert_eq!(exported["version"], 2);
    assert_eq!(exported["target"], server.url.as_str());
    let ids: Vec<&str> = exported["users"]
        .as_object()
        .unwrap()
        .values()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    // --json is required: there is no other format yet.
    let (code, _, stderr) = export(&[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--json"), "{stderr}");

    let forget = binary(&project, &["state", "forget", "u00001@X"])
        .stdout(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&forget.stdout), "forgot s00001\n");
    let (_, stdout, _) = export(&["--json", "--target", "app"]);
    let after: Json = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        after["users"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["s00002"]
    );
    assert_eq!(after["users"]["s00002"], exported["users"]["s00002"]);
}

/// Every user on the server, following pages (the crash test holds more than one page).
fn all_users(server: &ScimServer) -> Vec<Json> {
    let client = reqwest::blocking::Client::new();
    let mut users = Vec::new();
    // Bounded: 100 pages of 1,000.
    for page in 0..100 {
        let body: Json = client
            .get(format!(
                "{}/Users?startIndex={}&count=1000",
                server.url,
                page * 1000 + 1
            ))
            .bearer_auth(&server.token)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let resources = body["Resources"].as_array().cloned().unwrap_or_default();
        let last = resources.len() < 1000;
        users.extend(resources);
        if last {
            break;
        }
    }
    users
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One round's source: a sliding window of users (each round, `step` join and `step` leave)
/// with every title changed, so a round creates, updates and deactivates.
fn round_source(round: usize, users: usize, step: usize) -> (Json, BTreeSet<usize>) {
    let ids: BTreeSet<usize> = (round * step + 1..=round * step + users).collect();
    (people(ids.iter().copied(), &format!("round {round}")), ids)
}

#[test]
fn killed_at_random_points_and_rerun_no_duplicates_no_missed_writes_state_equals_target() {
    let users = usize::try_from(env_number("SCIMSYNC_CRASH_USERS", 300)).unwrap();
    let kills = usize::try_from(env_number("SCIMSYNC_CRASH_KILLS", 20)).unwrap();
    let seed = env_number(
        "SCIMSYNC_CRASH_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    );
    eprintln!("crash test: {users} users, {kills} kills, SCIMSYNC_CRASH_SEED={seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let server = ScimServer::start();
    let project = project(&server.url, &server.token, "concurrency = 4");
    let step = (users / 20).max(1);
    let started = Instant::now();
    // How long a whole run took last time: the kill comes at a random point within it.
    let mut run_time = Duration::from_secs(2);
    let mut killed_mid_run = 0;
    for round in 0..kills {
        let (source, ids) = round_source(round, users, step);
        project.write("users.json", &source.to_string());
        let kill_after = run_time.mul_f64(rng.f64());
        let mut child = binary(&project, &["sync"]).spawn().unwrap();
        let begun = Instant::now();
        std::thread::sleep(kill_after);
        if child.try_wait().unwrap().is_none() {
            killed_mid_run += 1;
        }
        // SIGKILL: no cleanup, no final save.
        let _ = child.kill();
        child.wait().unwrap();
        let killed_at = begun.elapsed();

        let begun = Instant::now();
        let rerun = binary(&project, &["sync"])
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        run_time = begun.elapsed().max(Duration::from_millis(200));
        assert!(
            rerun.status.success(),
            "round {round} (seed {seed}, killed after {killed_at:?}): {}",
            String::from_utf8_lossy(&rerun.stderr)
        );
        check_round(&server, &project, round, &ids, seed);
    }
    eprintln!(
        "crash test: {kills} rounds ({killed_mid_run} killed mid-run) of {users} users in {:?}",
        started.elapsed()
    );
    assert!(
        killed_mid_run * 2 >= kills,
        "most kills land mid-run ({killed_mid_run} of {kills})"
    );
}

/// After a completed rerun: no userName twice, every desired user active with this round's
/// title, every user that left inactive, and the state naming exactly the server's users.
fn check_round(
    server: &ScimServer,
    project: &Project,
    round: usize,
    ids: &BTreeSet<usize>,
    seed: u64,
) {
    let context = format!("round {round}, SCIMSYNC_CRASH_SEED={seed}");
    let on_server = all_users(server);
    let mut by_name: BTreeMap<String, &Json> = BTreeMap::new();
    for user in &on_server {
        let name = user["userName"].as_str().unwrap().to_owned();
        assert!(
            by_name.insert(name.clone(), user).is_none(),
            "{context}: {name} twice on the server"
        );
    }
    let title = format!("round {round}");
    for (name, user) in &by_name {
        let index: usize = name[1..6].parse().unwrap();
        let desired = ids.contains(&index);
        assert_eq!(
            user["active"].as_bool().unwrap_or(true),
            desired,
            "{context}: {name}"
        );
        if desired {
            assert_eq!(user["title"], title.as_str(), "{context}: {name}");
        }
    }
    for index in ids {
        assert!(
            by_name.contains_key(&format!("u{index:05}@x")),
            "{context}: u{index:05}@x missing"
        );
    }
    let state = state_of(project);
    assert!(state.get("pending").is_none(), "{context}: {state}");
    let in_state: BTreeMap<String, (String, bool)> = state["users"]
        .as_object()
        .unwrap()
        .values()
        .map(|u| {
            (
                u["id"].as_str().unwrap().to_owned(),
                (
                    u["userName"].as_str().unwrap().to_owned(),
                    u["active"].as_bool().unwrap(),
                ),
            )
        })
        .collect();
    let target: BTreeMap<String, (String, bool)> = on_server
        .iter()
        .map(|u| {
            (
                u["id"].as_str().unwrap().to_owned(),
                (
                    u["userName"].as_str().unwrap().to_owned(),
                    u["active"].as_bool().unwrap_or(true),
                ),
            )
        })
        .collect();
    assert_eq!(in_state, target, "{context}: the state equals the target");
}

/// Two processes syncing two targets of one config write one database at once: both finish,
/// each target's state is its own. A third run of a target already running is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_targets_of_one_database_sync_at_once_from_two_processes() {
    let servers = [FaultServer::start().await, FaultServer::start().await];
    for server in &servers {
        // Every create takes 50 ms: the two runs overlap for their whole length.
        server.fault(
            "POST",
            "/Users",
            None,
            Fault::SlowThenApply(Duration::from_millis(50)),
            usize::MAX,
        );
    }
    let project = Project::new();
    project.write("m.map", MAP);
    project.write("token", "secret-token\n");
    std::fs::set_permissions(
        project.path("token"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    project.write("users.json", &people(1..=40, "t").to_string());
    project.write(
        "scimsync.toml",
        &format!(
            "[source]\nkind = \"json\"\npath = \"users.json\"\nformat = \"plain\"\n\
             [defaults]\ntoken_file = \"token\"\ntimeout_seconds = 30\nmapping = \"m.map\"\nconcurrency = 1\n\
             [[target]]\nname = \"a\"\nurl = \"{}\"\n[[target]]\nname = \"b\"\nurl = \"{}\"\n",
            servers[0].url, servers[1].url
        ),
    );
    let sync = |target: &str| {
        binary(&project, &["sync", "--target", target])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (sync("a"), sync("b"));
    assert!(
        wait_for(Duration::from_secs(20), || {
            servers[0].received("POST") >= 2 && servers[1].received("POST") >= 2
        })
        .await,
        "both runs are writing"
    );
    let refused = binary(&project, &["sync", "--target", "a"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&refused.stdout).into_owned()
        + &String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!(
            "error: state {} is in use by another scimsync run",
            project.path("state/a.json").display()
        )),
        "{said}"
    );
    for (name, child) in [("a", a), ("b", b)] {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    for (name, server) in [("a", &servers[0]), ("b", &servers[1])] {
        let state =
            support::state_json(&project.path("state"), Some(name)).expect("a state per target");
        let ids: BTreeSet<&str> = state["users"]
            .as_object()
            .unwrap()
            .values()
            .map(|u| u["id"].as_str().unwrap())
            .collect();
        let on_server: Vec<Json> = server.users();
        let server_ids: BTreeSet<&str> = on_server
            .iter()
            .map(|u| u["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 40, "{name}");
        assert_eq!(ids, server_ids, "{name}: the state is this target's");
    }
}
