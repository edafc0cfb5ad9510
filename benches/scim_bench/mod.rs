//! Shared by the benches that sync into a SCIM server (`sync_engine`, `bulk`, `incremental`):
//! the mapping and export they sync, their command-line numbers, a scim2-server started for
//! one measurement, and the bare load generator scimsync is compared with.

#![allow(dead_code, reason = "each bench uses its own part")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use scimsync::config::Config;
use scimsync::sync::{RunOptions, RunReport, SyncError, TargetRun, run_sync};
use serde_json::{Value as Json, json};

/// The mapping every SCIM bench syncs with: 8 attributes.
pub const MAPPING: &str = r#"userName <- user.email
externalId <- user.getInternalProperty("id")
name.givenName <- user.first
name.familyName <- user.last
displayName <- user.first + " " + user.last
title <- user.title
emails[type eq "work"].value <- user.email
enterprise:department <- user.department
"#;

/// The number after `--name` on the command line, if there is one.
pub fn arg(name: &str) -> Option<usize> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse::<usize>().ok())
}

pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh scim2-server; stopped on drop.
pub struct Server {
    pub url: String,
    pub token: String,
    state: tempfile::TempDir,
}

impl Server {
    pub fn start() -> Server {
        let state = tempfile::tempdir().expect("temp dir");
        let token = format!("bench-{}", fastrand::u64(..));
        let out = Command::new(repo().join("tests/peers/scim-server.sh"))
            .args(["start", "0", "env"])
            .arg(state.path())
            .env("SCIM_PEER_TOKEN", &token)
            .output()
            .expect("start scim2-server");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Server {
            url: String::from_utf8_lossy(&out.stdout).trim().to_owned(),
            token,
            state,
        }
    }

    /// `POST /Bulk` requests and other writes the server logged.
    pub fn writes(&self) -> (usize, usize) {
        let log = std::fs::read_to_string(self.state.path().join("server.log")).unwrap_or_default();
        let bulk = log.matches("\"POST /v2/Bulk ").count();
        let users = log.matches("\"POST /v2/Users ").count();
        (bulk, users)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("tests/peers/scim-server.sh"))
            .arg("stop")
            .arg(self.state.path())
            .output();
    }
}

/// N users as a plain JSON export.
pub fn export(n: usize) -> Json {
    Json::Array(
        (0..n)
            .map(|i| {
                json!({"id": format!("00u{i:06}"), "email": format!("user{i:06}@example.com"),
                       "first": format!("Given{i}"), "last": format!("Family{i}"),
                       "title": "Engineer", "department": format!("dept{}", i % 20)})
            })
            .collect(),
    )
}

/// A project directory: mapping, export and config (the token is read from `token` in it);
/// `extra` goes into `[target]`.
pub fn project(dir: &Path, url: &str, users: usize, extra: &str) -> Config {
    std::fs::write(dir.join("m.map"), MAPPING).unwrap();
    std::fs::write(dir.join("users.json"), export(users).to_string()).unwrap();
    std::fs::write(
        dir.join("scimsync.toml"),
        format!(
            "mapping = \"m.map\"\n[source]\nkind = \"json\"\npath = \"users.json\"\nformat = \"plain\"\n\
             [target]\nurl = \"{url}\"\ntoken_file = \"token\"\n{extra}\n[state]\npath = \"state\"\n"
        ),
    )
    .unwrap();
    Config::load(&dir.join("scimsync.toml")).unwrap()
}

/// The report of a single-target config's one target.
pub fn only(runs: Result<Vec<TargetRun>, SyncError>) -> RunReport {
    runs.unwrap().remove(0).report.unwrap()
}

/// The create bodies scimsync sends for this export (from a dry run's plan).
pub async fn bodies(config: &Config) -> Vec<Json> {
    let report = only(run_sync(config, &RunOptions::new(true)).await);
    report
        .changes
        .changes
        .iter()
        .filter_map(|c| c.body())
        .collect()
}

/// One `POST {url}/{endpoint}`; its status (0 when the request failed).
pub async fn post(
    http: &reqwest::Client,
    url: &str,
    endpoint: &str,
    token: &str,
    body: &Json,
) -> u16 {
    http.post(format!("{url}/{endpoint}"))
        .bearer_auth(token)
        .header("Content-Type", "application/scim+json")
        .body(body.to_string())
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// The bare load generator: every body POSTed to `endpoint`, `concurrency` at a time; each
/// must be answered `status`.
pub async fn bare_posts(
    url: &str,
    endpoint: &str,
    token: &str,
    bodies: &[Json],
    concurrency: usize,
    status: u16,
) -> Duration {
    let http = reqwest::Client::new();
    let start = Instant::now();
    let statuses: Vec<u16> = futures::stream::iter(bodies)
        .map(|body| {
            let http = http.clone();
            async move { post(&http, url, endpoint, token, body).await }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = start.elapsed();
    assert!(
        statuses.iter().all(|s| *s == status),
        "bare POST /{endpoint} requests failed"
    );
    elapsed
}
