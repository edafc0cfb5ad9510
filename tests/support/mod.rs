//! Test harness: real peers on loopback (scim2-server, started through
//! `tests/peers/scim-server.sh`), scratch projects, and the scimsync binary.
//!
//! Every server is started on a free 127.0.0.1 port with its own state directory and is
//! stopped when its handle drops. Nothing here talks to anything but loopback.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value as Json;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A token nobody could guess, different for every server.
pub fn fresh_token() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("tok-{}-{nanos:x}", std::process::id())
}

/// A running SCIM peer: scim2-server (PyPI) or SCIMMY (npm).
pub struct ScimServer {
    pub url: String,
    pub token: String,
    state: tempfile::TempDir,
    /// The harness script that started it (and stops it).
    script: &'static str,
}

/// One request as the server logged it.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub status: u16,
}

impl ScimServer {
    /// scim2-server, through `tests/peers/scim-server.sh`.
    pub fn start() -> ScimServer {
        ScimServer::start_with("tests/peers/scim-server.sh", &["start", "0", "env"])
    }

    /// SCIMMY + scimmy-routers, through `tests/peers/scimmy-server.sh`.
    pub fn start_scimmy() -> ScimServer {
        ScimServer::start_with("tests/peers/scimmy-server.sh", &["start", "env"])
    }

    fn start_with(script: &'static str, args: &[&str]) -> ScimServer {
        let state = tempfile::Builder::new()
            .prefix("scimsync-scim-")
            .tempdir()
            .expect("temp dir");
        let token = fresh_token();
        let output = Command::new(repo().join(script))
            .args(args)
            .arg(state.path())
            .env("SCIM_PEER_TOKEN", &token)
            .output()
            .expect("run tests/peers/scim-server.sh");
        assert!(
            output.status.success(),
            "{script} did not start:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let url = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        assert!(url.starts_with("http://127.0.0.1:"), "unexpected URL {url}");
        ScimServer {
            url,
            token,
            state,
            script,
        }
    }

    fn http(&self) -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("client")
    }

    /// Every user on the server, sorted by userName.
    pub fn users(&self) -> Vec<Json> {
        let body: Json = self
            .http()
            .get(format!("{}/Users?count=1000", self.url))
            .bearer_auth(&self.token)
            .send()
            .expect("list users")
            .json()
            .expect("list JSON");
        let mut users = body["Resources"].as_array().cloned().unwrap_or_default();
        users.sort_by_key(|u| u["userName"].as_str().unwrap_or_default().to_owned());
        users
    }

    /// Every group, by displayName, with its member ids sorted.
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let body: Json = self
            .http()
            .get(format!("{}/Groups?count=1000", self.url))
            .bearer_auth(&self.token)
            .send()
            .expect("list groups")
            .json()
            .expect("list JSON");
        let mut groups: Vec<(String, Vec<String>)> = body["Resources"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|g| {
                let mut members: Vec<String> = g["members"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|m| m["value"].as_str().map(str::to_owned))
                    .collect();
                members.sort();
                (
                    g["displayName"].as_str().unwrap_or_default().to_owned(),
                    members,
                )
            })
            .collect();
        groups.sort();
        groups
    }

    /// Every user on the server, page by page ([`ScimServer::users`] reads one page of 1,000).
    pub fn all_users(&self) -> Vec<Json> {
        let mut users = Vec::new();
        // Bounded: 100 pages of 1,000 are more than any test holds.
        for page in 0..100 {
            let body: Json = self
                .http()
                .get(format!(
                    "{}/Users?count=1000&startIndex={}",
                    self.url,
                    page * 1000 + 1
                ))
                .bearer_auth(&self.token)
                .send()
                .expect("list users")
                .json()
                .expect("list JSON");
            let resources = body["Resources"].as_array().cloned().unwrap_or_default();
            if resources.is_empty() {
                break;
            }
            users.extend(resources);
        }
        users
    }

    /// Each group (by displayName) with its members' userNames, sorted.
    pub fn groups_by_user_name(&self) -> Vec<(String, Vec<String>)> {
        let names: std::collections::HashMap<String, String> = self
            .all_users()
            .iter()
            .map(|u| {
                (
                    u["id"].as_str().unwrap_or_default().to_owned(),
                    u["userName"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        self.groups()
            .into_iter()
            .map(|(name, ids)| {
                let mut members: Vec<String> = ids
                    .iter()
                    .map(|id| {
                        names
                            .get(id)
                            .cloned()
                            .unwrap_or_else(|| format!("unknown {id}"))
                    })
                    .collect();
                members.sort();
                (name, members)
            })
            .collect()
    }

    /// Users with server-assigned fields (`id`, `meta`) removed, for exact comparisons.
    pub fn user_contents(&self) -> Vec<Json> {
        self.users()
            .into_iter()
            .map(|mut u| {
                if let Some(o) = u.as_object_mut() {
                    o.remove("id");
                    o.remove("meta");
                }
                u
            })
            .collect()
    }

    /// Creates a user directly, as another tool would.
    pub fn create(&self, body: Json) -> Json {
        let response = self
            .http()
            .post(format!("{}/Users", self.url))
            .bearer_auth(&self.token)
            .header("Content-Type", "application/scim+json")
            .body(body.to_string())
            .send()
            .expect("create user");
        assert_eq!(response.status().as_u16(), 201, "seeding a user failed");
        response.json().expect("created JSON")
    }

    /// Every request the server has logged so far.
    pub fn requests(&self) -> Vec<Logged> {
        // Both peers log a request just after answering it: let the last line land.
        std::thread::sleep(std::time::Duration::from_millis(200));
        let log = std::fs::read_to_string(self.state.path().join("server.log")).unwrap_or_default();
        let line = regex::Regex::new(r#""([A-Z]+) (\S+) HTTP/[0-9.]+" (\d{3})"#).expect("regex");
        line.captures_iter(&log)
            .map(|c| Logged {
                method: c[1].to_owned(),
                path: c[2].to_owned(),
                status: c[3].parse().unwrap_or(0),
            })
            .collect()
    }

    /// How many write requests (POST, PUT, PATCH, DELETE) the server has received.
    pub fn writes(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| matches!(r.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE"))
            .count()
    }
}

impl Drop for ScimServer {
    fn drop(&mut self) {
        let _ = Command::new(repo().join(self.script))
            .arg("stop")
            .arg(self.state.path())
            .output();
    }
}

/// A scratch directory holding a config, a mapping and an export.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Project {
        Project {
            dir: tempfile::Builder::new()
                .prefix("scimsync-test-")
                .tempdir()
                .expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, contents).expect("write");
        path
    }

    /// Writes `scimsync.toml` for `url`, with the token read from `SCIMSYNC_TEST_TOKEN`.
    pub fn config(&self, url: &str) -> PathBuf {
        self.write(
            "scimsync.toml",
            &format!(
                "mapping = \"test.map\"\n\n[source]\nkind = \"json\"\npath = \"users.json\"\n\n[target]\nurl = \"{url}\"\ntoken_env = \"SCIMSYNC_TEST_TOKEN\"\n\n[state]\npath = \"state\"\n"
            ),
        )
    }
}

/// What a run of the binary printed and returned.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all_output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs `scimsync ARGS` with `SCIMSYNC_TEST_TOKEN` set to `token` (when given).
pub fn scimsync(args: &[&str], token: Option<&str>) -> Run {
    scimsync_in(args, token, None)
}

pub fn scimsync_in(args: &[&str], token: Option<&str>, dir: Option<&Path>) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_scimsync"));
    command
        .args(args)
        .env_remove("SCIMSYNC_TEST_TOKEN")
        .env_remove("RUST_LOG");
    if let Some(token) = token {
        command.env("SCIMSYNC_TEST_TOKEN", token);
    }
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let output = command.output().expect("run scimsync");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Every `.map` file under `dir` (recursively), sorted.
pub fn map_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "map") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

/// Where the test corpora live: here and beside the language core's own tests.
pub const TEST_DIRS: [&str; 2] = ["tests", "crates/scimsync-lang/tests"];

/// Every `.map` file the project ships or tests with: presets, examples, test corpora,
/// benchmarks.
pub fn project_map_files() -> Vec<PathBuf> {
    let [tests, lang_tests] = TEST_DIRS;
    ["mappings", "examples", tests, lang_tests, "benches"]
        .iter()
        .flat_map(|dir| map_files(&repo().join(dir)))
        .collect()
}

/// Whether `path` is in a test corpus, which holds files that are wrong on purpose.
pub fn in_test_corpus(path: &Path) -> bool {
    TEST_DIRS
        .iter()
        .any(|dir| path.starts_with(repo().join(dir)))
}
/// The state of target `target` (the only one when `None`) in the state database of directory
/// `state_dir` (`<dir>/scimsync.db`), as the JSON layout older versions kept in a state file
/// (what `state export --json` prints); `None` when the database has no such target.
pub fn state_json(state_dir: &Path, target: Option<&str>) -> Option<Json> {
    state_in(&state_dir.join("scimsync.db"), target)
}

/// [`state_json`] from the database file `database`.
pub fn state_in(database: &Path, target: Option<&str>) -> Option<Json> {
    use scimsync::state::store;
    let name = match target {
        Some(name) => name.to_owned(),
        None => {
            let names = store::target_names(database).expect("the state database is readable");
            match names.as_slice() {
                [] => return None,
                [only] => only.clone(),
                more => panic!("{} holds several targets: {more:?}", database.display()),
            }
        }
    };
    let state = store::read_named(database, &name).expect("the state database is readable")?;
    Some(serde_json::to_value(state).expect("a state serializes"))
}

/// The two lines `state show` prints after its summary for a target whose state is `state`
/// (as [`state_json`] gives it) under the default `full_reconcile` (daily), after a full run
/// that left the filtering unchecked.
pub fn shown_full_runs(state: &Json) -> String {
    let last: chrono::DateTime<chrono::Utc> = state["reconcile"]["lastFull"]
        .as_str()
        .expect("a full run is recorded")
        .parse()
        .expect("an RFC 3339 time");
    assert!(
        state["reconcile"].get("filter").is_none(),
        "filtering unchecked: {state}"
    );
    let when = |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%d %H:%M UTC").to_string();
    format!(
        "last full run {}; next due {}.\n\
         filtering not checked yet: the first incremental run that must look a user up asks the target.\n",
        when(last),
        when(last + chrono::Duration::hours(24))
    )
}

pub mod ad;
pub mod fault;
pub mod fault_project;
pub mod ldap;
/// `user` with its `schemas` sorted, so resources compare whatever order a server keeps.
pub fn sorted_schemas(mut user: Json) -> Json {
    if let Some(schemas) = user.get_mut("schemas").and_then(Json::as_array_mut) {
        schemas.sort_by_key(|s| s.as_str().unwrap_or_default().to_owned());
    }
    user
}
