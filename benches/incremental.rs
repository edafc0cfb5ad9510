//! Incremental runs, measured side by side in one run (figures in BENCHMARKS.md), against the
//! in-process fault server (`tests/support/fault.rs`), which counts every request it
//! receives:
//!
//! 1. a no-op incremental run over N managed users: requests at the server (must be 0);
//! 2. the same run in full mode (`--full`) against one bare listing of all users with the
//!    same page size (target: <= 1.2x);
//! 3. C changed users out of N: requests at the server (target: C writes plus the reads by
//!    id they need), incremental against full.
//!
//! `cargo bench --bench incremental -- [--users N] [--changed C] [--rounds K]`. Loopback only.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark stops at the first broken assumption"
)]

#[path = "../tests/support/fault.rs"]
mod fault;
mod scim_bench;

use std::path::Path;
use std::time::{Duration, Instant};

use scim_bench::{MAPPING, arg, median};
use scimsync::config::Config;
use scimsync::sync::kind::RunKind;
use scimsync::sync::{RunOptions, RunReport, run_sync};
use serde_json::{Value as Json, json};

struct Options {
    users: usize,
    changed: usize,
    rounds: usize,
}

fn options() -> Options {
    Options {
        users: arg("--users").unwrap_or(10_000),
        changed: arg("--changed").unwrap_or(100),
        rounds: arg("--rounds").unwrap_or(3),
    }
}

/// The export, with the first `changed` users' titles changed in round `round` (0: none).
fn export(n: usize, changed: usize, round: usize) -> Json {
    Json::Array(
        (0..n)
            .map(|i| {
                let title = if i < changed && round > 0 {
                    format!("Engineer {round}")
                } else {
                    "Engineer".to_owned()
                };
                json!({"id": format!("00u{i:06}"), "email": format!("user{i:06}@example.com"),
                       "first": format!("Given{i}"), "last": format!("Family{i}"),
                       "title": title, "department": format!("dept{}", i % 20)})
            })
            .collect(),
    )
}

fn project(dir: &Path, url: &str, users: &Json) -> Config {
    std::fs::write(dir.join("m.map"), MAPPING).unwrap();
    std::fs::write(dir.join("token"), "t").unwrap();
    std::fs::write(dir.join("users.json"), users.to_string()).unwrap();
    std::fs::write(
        dir.join("scimsync.toml"),
        format!(
            "mapping = \"m.map\"\n[source]\nkind = \"json\"\npath = \"users.json\"\nformat = \"plain\"\n\
             [target]\nurl = \"{url}\"\ntoken_file = \"token\"\n[state]\npath = \"state\"\n"
        ),
    )
    .unwrap();
    Config::load(&dir.join("scimsync.toml")).unwrap()
}

/// One run; its report, wall time, and the requests and writes the server received.
async fn run(
    config: &Config,
    server: &fault::FaultServer,
    full: bool,
) -> (RunReport, Duration, usize, usize) {
    server.clear_log();
    let mut options = RunOptions::new(false);
    options.full = full;
    let start = Instant::now();
    let report = run_sync(config, &options)
        .await
        .unwrap()
        .remove(0)
        .report
        .unwrap();
    let elapsed = start.elapsed();
    (report, elapsed, server.log().len(), server.writes())
}

/// Every user, page by page, as a bare client does it.
async fn bare_list(url: &str, page: usize) -> (Duration, usize, usize) {
    let http = reqwest::Client::new();
    let start = Instant::now();
    let (mut seen, mut index, mut requests) = (0, 1, 0);
    loop {
        let body: Json = http
            .get(format!("{url}/Users?startIndex={index}&count={page}"))
            .bearer_auth("t")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        requests += 1;
        let got = body["Resources"].as_array().map_or(0, Vec::len);
        seen += got;
        index += got;
        if got == 0 || seen >= body["totalResults"].as_u64().unwrap_or(0) as usize {
            break;
        }
    }
    (start.elapsed(), seen, requests)
}

fn main() {
    let o = options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = fault::FaultServer::start().await;
        let dir = tempfile::tempdir().unwrap();
        let config = project(dir.path(), &server.url, &export(o.users, o.changed, 0));
        let page = config.targets[0].scim.page_size;
        let (first, t, requests, _) = run(&config, &server, false).await;
        assert_eq!(first.applied.as_ref().unwrap().created, o.users);
        println!("first (full) run: {} users created in {:.2}s, {requests} requests", o.users, t.as_secs_f64());

        let (mut noop, mut full, mut list) = (vec![], vec![], vec![]);
        let (mut noop_requests, mut full_requests, mut list_requests) = (0, 0, 0);
        let (mut changed_incremental, mut changed_full) = (vec![], vec![]);
        let (mut incremental_counts, mut full_counts) = ((0, 0), (0, 0));
        for round in 1..=o.rounds {
            let (report, t, requests, writes) = run(&config, &server, false).await;
            assert!(matches!(report.kind.kind, RunKind::Incremental { .. }));
            assert_eq!((requests, writes), (0, 0), "a no-op incremental run sends nothing");
            println!("round {round}: no-op incremental: {:.3}s, {requests} requests", t.as_secs_f64());
            noop.push(t.as_secs_f64());
            noop_requests = requests;

            let (report, t, requests, writes) = run(&config, &server, true).await;
            assert!(report.kind.kind.is_full());
            assert_eq!(writes, 0);
            println!("round {round}: no-op full: {:.3}s, {requests} requests", t.as_secs_f64());
            full.push(t.as_secs_f64());
            full_requests = requests;

            server.clear_log();
            let (t, seen, requests) = bare_list(&server.url, page).await;
            assert_eq!(seen, o.users);
            println!("round {round}: bare listing (count={page}): {:.3}s, {requests} requests", t.as_secs_f64());
            list.push(t.as_secs_f64());
            list_requests = requests;

            // C users change: incremental, then (changed again) full.
            std::fs::write(dir.path().join("users.json"), export(o.users, o.changed, 2 * round - 1).to_string()).unwrap();
            let (report, t, requests, writes) = run(&config, &server, false).await;
            assert!(matches!(report.kind.kind, RunKind::Incremental { .. }));
            assert_eq!(report.applied.as_ref().unwrap().updated, o.changed);
            // The writes, and the one read of /ServiceProviderConfig they need: no read by id.
            assert!(requests <= o.changed + 1, "{requests} requests for {} changed users", o.changed);
            println!("round {round}: {} changed, incremental: {:.3}s, {requests} requests, {writes} writes", o.changed, t.as_secs_f64());
            changed_incremental.push(t.as_secs_f64());
            incremental_counts = (requests, writes);
            std::fs::write(dir.path().join("users.json"), export(o.users, o.changed, 2 * round).to_string()).unwrap();
            let (report, t, requests, writes) = run(&config, &server, true).await;
            assert_eq!(report.applied.as_ref().unwrap().updated, o.changed);
            println!("round {round}: {} changed, full: {:.3}s, {requests} requests, {writes} writes", o.changed, t.as_secs_f64());
            changed_full.push(t.as_secs_f64());
            full_counts = (requests, writes);
        }
        let (n, f, l) = (median(noop), median(full), median(list));
        let (ci, cf) = (median(changed_incremental), median(changed_full));
        println!();
        println!("| measurement ({} managed users, median of {} rounds) | requests at the server | writes | wall time |", o.users, o.rounds);
        println!("| --- | ---: | ---: | ---: |");
        println!("| no-op run, incremental | **{noop_requests}** | 0 | {n:.3} s |");
        println!("| no-op run, full (`--full`) | {full_requests} | 0 | {f:.3} s |");
        println!("| one bare listing (count={page}) | {list_requests} | 0 | {l:.3} s |");
        println!("| full no-op / one listing | | | **{:.2}x** |", f / l);
        println!("| {} changed users, incremental | **{}** | **{}** | {ci:.3} s |", o.changed, incremental_counts.0, incremental_counts.1);
        println!("| {} changed users, full | {} | {} | {cf:.3} s |", o.changed, full_counts.0, full_counts.1);
    });
}
