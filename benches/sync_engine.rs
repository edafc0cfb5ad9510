//! Sync engine benchmarks, measured side by side in one run (figures in BENCHMARKS.md):
//!
//! 1. Creating N users in a fresh scim2-server: a bare load generator (reqwest, POSTing the
//!    exact bodies scimsync would send at the same concurrency) against `run_sync`.
//! 2. A no-op re-sync of those users (zero writes) against listing all users once with the
//!    same page size.
//! 3. A target limited to R requests/second (the in-process fault server answers 429 above
//!    it): scimsync's throughput with `requests_per_second = R`, and the 429s it got.
//!
//! `cargo bench --bench sync_engine -- [--users N] [--concurrency C] [--rate R] [--rate-users M] [--rounds K]`
//! Needs scim2-server (`tests/peers/scim-server.sh install`, done by tests/run.sh). Loopback only.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark stops at the first broken assumption"
)]

#[path = "../tests/support/fault.rs"]
mod fault;
mod scim_bench;

use std::time::{Duration, Instant};

use futures::StreamExt as _;
use scim_bench::{Server, arg, bare_posts, bodies, median, only, post, project};
use scimsync::sync::{RunOptions, run_sync};
use serde_json::Value as Json;

struct Options {
    users: usize,
    concurrency: usize,
    rate: u32,
    rate_users: usize,
    rounds: usize,
}

fn options() -> Options {
    let mut o = Options {
        users: 2000,
        concurrency: 4,
        rate: 50,
        rate_users: 200,
        rounds: 2,
    };
    o.users = arg("--users").unwrap_or(o.users);
    o.concurrency = arg("--concurrency").unwrap_or(o.concurrency);
    o.rate = arg("--rate").map_or(o.rate, |r| r as u32);
    o.rate_users = arg("--rate-users").unwrap_or(o.rate_users);
    o.rounds = arg("--rounds").unwrap_or(o.rounds);
    o
}

/// A bare generator that POSTs at `rate` per second (a ticking interval that catches up when
/// late), `concurrency` at a time: what any client can get from the limited target here.
async fn bare_paced_post(
    url: &str,
    bodies: &[Json],
    rate: u32,
    concurrency: usize,
) -> (Duration, usize) {
    let http = reqwest::Client::new();
    let interval = std::sync::Arc::new(tokio::sync::Mutex::new(tokio::time::interval(
        Duration::from_secs_f64(1.0 / f64::from(rate)),
    )));
    let start = Instant::now();
    let statuses: Vec<u16> = futures::stream::iter(bodies)
        .map(|body| {
            let (http, interval) = (http.clone(), interval.clone());
            async move {
                interval.lock().await.tick().await;
                post(&http, url, "Users", "t", body).await
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    (
        start.elapsed(),
        statuses.iter().filter(|s| **s == 429).count(),
    )
}

async fn bare_list(url: &str, token: &str, page: usize) -> (Duration, usize) {
    let http = reqwest::Client::new();
    let start = Instant::now();
    let mut seen = 0;
    let mut index = 1;
    loop {
        let body: Json = http
            .get(format!("{url}/Users?startIndex={index}&count={page}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let got = body["Resources"].as_array().map_or(0, Vec::len);
        seen += got;
        index += got;
        if got == 0 || seen >= body["totalResults"].as_u64().unwrap_or(0) as usize {
            break;
        }
    }
    (start.elapsed(), seen)
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn main() {
    let o = options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (mut bare, mut sync, mut noop, mut list) = (vec![], vec![], vec![], vec![]);
        for round in 1..=o.rounds {
            // Bare load generator into a fresh server.
            let server = Server::start();
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("token"), &server.token).unwrap();
            let extra = format!("concurrency = {}", o.concurrency);
            let config = project(dir.path(), &server.url, o.users, &extra);
            let bodies = bodies(&config).await;
            assert_eq!(bodies.len(), o.users);
            let t = bare_posts(&server.url, "Users", &server.token, &bodies, o.concurrency, 201).await;
            println!("round {round}: bare POST x{}: {:.2}s", o.users, secs(t));
            bare.push(secs(t));
            drop(server);

            // scimsync into a fresh server, then a no-op re-sync and a bare listing.
            let server = Server::start();
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("token"), &server.token).unwrap();
            let config = project(dir.path(), &server.url, o.users, &extra);
            let start = Instant::now();
            let report = only(run_sync(&config, &RunOptions::new(false)).await);
            let t = start.elapsed();
            assert_eq!(report.applied.as_ref().unwrap().created, o.users);
            println!("round {round}: scimsync create x{}: {:.2}s ({} requests)", o.users, secs(t), report.requests.requests);
            sync.push(secs(t));
            // A full run (it lists): what this row compares with one listing. An incremental no-op
            // run sends no request at all (benches/incremental.rs).
            let mut full = RunOptions::new(false);
            full.full = true;
            let start = Instant::now();
            let report = only(run_sync(&config, &full).await);
            let t = start.elapsed();
            assert_eq!(report.requests.writes, 0, "a no-op re-sync writes nothing");
            println!("round {round}: scimsync no-op re-sync: {:.2}s ({} requests, 0 writes)", secs(t), report.requests.requests);
            noop.push(secs(t));
            let (t, seen) = bare_list(&server.url, &server.token, config.targets[0].scim.page_size).await;
            assert_eq!(seen, o.users);
            println!("round {round}: bare list of {seen} users (count={}): {:.2}s", config.targets[0].scim.page_size, secs(t));
            list.push(secs(t));
        }

        // A rate-limited target: a bare paced generator, then scimsync, each on a fresh server.
        let server = fault::FaultServer::start().await;
        server.rate_limit(o.rate);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), "t").unwrap();
        let config = project(dir.path(), &server.url, o.rate_users, "");
        let bodies = bodies(&config).await;
        let (bare_time, bare_throttled) = bare_paced_post(&server.url, &bodies, o.rate, 8).await;
        let bare_throughput = (server.log().len() - 1) as f64 / secs(bare_time);
        println!("bare paced POST x{} at {}/s: {:.2}s = {bare_throughput:.1} req/s, {bare_throttled} answered 429", o.rate_users, o.rate, secs(bare_time));
        drop(server);
        let server = fault::FaultServer::start().await;
        server.rate_limit(o.rate);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), "t").unwrap();
        let extra = format!("concurrency = 8\nrequests_per_second = {}", o.rate);
        let config = project(dir.path(), &server.url, o.rate_users, &extra);
        let start = Instant::now();
        let report = only(run_sync(&config, &RunOptions::new(false)).await);
        let t = start.elapsed();
        let requests = server.log().len();
        let throttled = server.log().iter().filter(|l| l.status == 429).count();
        assert_eq!(report.applied.as_ref().unwrap().created, o.rate_users);
        let throughput = requests as f64 / secs(t);

        let (b, s, n, l) = (median(bare), median(sync), median(noop), median(list));
        println!();
        println!("| measurement | result |");
        println!("| --- | --- |");
        println!("| create {} users, concurrency {}: bare load generator (median of {}) | {b:.2} s ({:.0} users/s) |", o.users, o.concurrency, o.rounds, o.users as f64 / b);
        println!("| create {} users, concurrency {}: scimsync sync (median of {}) | {s:.2} s ({:.0} users/s), **{:.3}x** the bare time |", o.users, o.concurrency, o.rounds, o.users as f64 / s, s / b);
        println!("| no-op re-sync of {} users: writes | 0 |", o.users);
        println!("| no-op re-sync: scimsync (median) vs listing all users once (median) | {n:.2} s vs {l:.2} s, **{:.3}x** |", n / l);
        println!("| target limited to {} req/s, {} users: bare generator paced at {}/s | {:.2} s = {bare_throughput:.1} req/s ({:.1}% of the limit), {bare_throttled} answered 429 |", o.rate, o.rate_users, o.rate, secs(bare_time), bare_throughput * 100.0 / f64::from(o.rate));
        println!("| target limited to {} req/s, {} users: scimsync with requests_per_second = {} | {requests} requests in {:.2} s = **{throughput:.1} req/s** ({:.1}% of the limit), {throttled} answered 429 |", o.rate, o.rate_users, o.rate, secs(t), throughput * 100.0 / f64::from(o.rate));
    });
}
