//! Bulk benchmark, side by side in one run (figures in BENCHMARKS.md): creating N users in a
//! fresh scim2-server
//!
//! 1. by a bare load generator (reqwest, POSTing one by one the exact bodies scimsync would
//!    send, at concurrency C), and
//! 2. by `run_sync` with `bulk = "auto"` (scim2-server advertises bulk: maxOperations 1000,
//!    maxPayloadSize 1 MiB) at the same concurrency,
//!
//! each directly and through a loopback proxy that holds every request 50 ms before passing
//! it on (as a SaaS across the internet adds latency), medians of K rounds. A third,
//! diagnostic measurement sends the same creates as bare `POST /Bulk` requests: the floor the
//! server's own per-operation work sets.
//!
//! `cargo bench --bench bulk -- [--users N] [--concurrency C] [--rounds K] [--delay-ms D]`
//! Needs scim2-server (`tests/peers/scim-server.sh install`, done by tests/run.sh). Loopback only.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark stops at the first broken assumption"
)]

mod scim_bench;

use std::path::Path;
use std::time::{Duration, Instant};

use scim_bench::{Server, arg, bare_posts, bodies, median, only, project};
use scimsync::config::Config;
use scimsync::sync::{RunOptions, run_sync};
use serde_json::{Value as Json, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

struct Options {
    users: usize,
    concurrency: usize,
    rounds: usize,
    delay: Duration,
}

fn options() -> Options {
    Options {
        users: arg("--users").unwrap_or(2000),
        concurrency: arg("--concurrency").unwrap_or(4),
        rounds: arg("--rounds").unwrap_or(3),
        delay: Duration::from_millis(arg("--delay-ms").unwrap_or(50) as u64),
    }
}

/// The bench's project for `url`: `bulk = "auto"` at the bench's concurrency.
fn bulk_project(dir: &Path, url: &str, token: &str, o: &Options) -> Config {
    std::fs::write(dir.join("token"), token).unwrap();
    let extra = format!("concurrency = {}\nbulk = \"auto\"", o.concurrency);
    project(dir, url, o.users, &extra)
}

/// A loopback TCP forwarder to `upstream` that delivers every byte a client sends `delay`
/// after it arrived (the answer comes back at once): each request is held `delay`, and
/// requests in flight together are held together, as network latency does. Stops on drop.
struct DelayProxy {
    port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl DelayProxy {
    async fn start(upstream: std::net::SocketAddr, delay: Duration) -> DelayProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        forward(client, server, delay).await;
                    }
                });
            }
        });
        DelayProxy { port, task }
    }

    /// `url` with its host and port replaced by the proxy's.
    fn url(&self, url: &str) -> String {
        let mut url = url::Url::parse(url).unwrap();
        url.set_port(Some(self.port)).unwrap();
        url.to_string().trim_end_matches('/').to_owned()
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Client to server with the delay, server to client as is; until either side closes.
async fn forward(client: TcpStream, server: TcpStream, delay: Duration) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let (send, mut receive) =
        tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let reader = async move {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match client_read.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let due = tokio::time::Instant::now() + delay;
                    if send.send((due, buffer[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
    };
    let writer = async move {
        while let Some((due, bytes)) = receive.recv().await {
            tokio::time::sleep_until(due).await;
            if server_write.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = server_write.shutdown().await;
    };
    let back = async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    };
    tokio::join!(reader, writer, back);
}

/// The floor the server sets: the same creates as bare `POST /Bulk` requests of 1,000
/// operations (scim2-server's maxOperations), `concurrency` at a time, with no scimsync around
/// them (a diagnostic, not a target).
async fn bare_bulk(url: &str, token: &str, bodies: &[Json], concurrency: usize) -> Duration {
    let requests: Vec<Json> = bodies
        .chunks(1000)
        .map(|chunk| {
            let operations: Vec<Json> = chunk
                .iter()
                .enumerate()
                .map(|(i, body)| json!({"method": "POST", "path": "/Users", "bulkId": format!("b{i}"), "data": body}))
                .collect();
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": operations})
        })
        .collect();
    bare_posts(url, "Bulk", token, &requests, concurrency, 200).await
}

fn upstream(url: &str) -> std::net::SocketAddr {
    let url = url::Url::parse(url).unwrap();
    format!("127.0.0.1:{}", url.port().unwrap())
        .parse()
        .unwrap()
}

/// A fresh scim2-server with a delay proxy in front of it, and the URL to use: the proxy's
/// when `delayed`. Both stop on drop.
async fn fresh_server(o: &Options, delayed: bool) -> (Server, DelayProxy, String) {
    let server = Server::start();
    let proxy = DelayProxy::start(upstream(&server.url), o.delay).await;
    let url = if delayed {
        proxy.url(&server.url)
    } else {
        server.url.clone()
    };
    (server, proxy, url)
}

/// One measurement of each kind on fresh servers: (bare, bulk, bare bulk) seconds and the
/// writes scimsync's run made.
async fn round(o: &Options, delayed: bool, bodies: &[Json]) -> (f64, f64, f64, (usize, usize)) {
    let (server, _proxy, url) = fresh_server(o, delayed).await;
    let bare = bare_posts(&url, "Users", &server.token, bodies, o.concurrency, 201).await;
    drop(server);

    let (server, _proxy, url) = fresh_server(o, delayed).await;
    let dir = tempfile::tempdir().unwrap();
    let config = bulk_project(dir.path(), &url, &server.token, o);
    let start = Instant::now();
    let report = only(run_sync(&config, &RunOptions::new(false)).await);
    let bulk = start.elapsed();
    let applied = report.applied.unwrap();
    assert_eq!((applied.created, applied.failures.len()), (o.users, 0));
    let writes = server.writes();
    drop(server);

    let (server, _proxy, url) = fresh_server(o, delayed).await;
    let floor = bare_bulk(&url, &server.token, bodies, o.concurrency).await;
    (
        bare.as_secs_f64(),
        bulk.as_secs_f64(),
        floor.as_secs_f64(),
        writes,
    )
}

fn main() {
    let o = options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // The bodies, from a dry run against an empty server.
        let empty = Server::start();
        let dir = tempfile::tempdir().unwrap();
        let plan = bulk_project(dir.path(), &empty.url, &empty.token, &o);
        let bodies = bodies(&plan).await;
        drop(empty);
        assert_eq!(bodies.len(), o.users);
        println!(
            "{} creates, concurrency {}, {} rounds, proxy delay {} ms",
            o.users,
            o.concurrency,
            o.rounds,
            o.delay.as_millis()
        );
        for delayed in [false, true] {
            let label = if delayed { "through the delay proxy" } else { "direct" };
            let (mut bare, mut bulk, mut floor) = (Vec::new(), Vec::new(), Vec::new());
            for r in 1..=o.rounds {
                let (b, s, f, (bulk_requests, user_posts)) = round(&o, delayed, &bodies).await;
                println!(
                    "{label}, round {r}: bare per-user POST {b:.2} s, scimsync bulk {s:.2} s ({bulk_requests} POST /Bulk, {user_posts} POST /Users), {:.1}x; bare /Bulk requests {f:.2} s",
                    b / s
                );
                bare.push(b);
                bulk.push(s);
                floor.push(f);
            }
            let (b, s, f) = (median(bare), median(bulk), median(floor));
            println!(
                "{label}, median: bare per-user POST {b:.2} s ({:.0} users/s), scimsync bulk {s:.2} s ({:.0} users/s): {:.1}x; bare /Bulk requests {f:.2} s",
                o.users as f64 / b,
                o.users as f64 / s,
                b / s
            );
        }
    });
}
