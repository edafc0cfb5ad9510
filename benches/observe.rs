//! What observing a run costs per write: the audit log line (serialised, written and flushed
//! to a file) and the metrics updates, against nothing. A plain bench binary (no criterion):
//! `cargo bench --bench observe`; figures in BENCHMARKS.md.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark stops at the first broken assumption"
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use scimsync::observe::audit::AuditLog;
use scimsync::observe::metrics::Metrics;
use scimsync::sync::event::{
    Discard, Fanout, Operation, WriteEvent, WriteFailure, WriteObserver, WriteResult,
};
use scimsync_scim::client::ResourceType;

const WRITES: u32 = 100_000;

fn event(i: u32) -> WriteEvent {
    let failed = i.is_multiple_of(50);
    WriteEvent {
        time: Utc::now(),
        run_id: "bench".into(),
        target: "app".into(),
        operation: if i.is_multiple_of(3) {
            Operation::Create
        } else {
            Operation::Update
        },
        resource_type: ResourceType::User,
        id: Some(format!("2819c223-7f76-453a-919d-{i:012}")),
        name: format!("user{i}@example.com"),
        attributes: vec![
            "name.givenName".into(),
            "title".into(),
            "emails[type eq \"work\"].value".into(),
        ],
        status: Some(if failed { 409 } else { 200 }),
        result: if failed {
            WriteResult::Failed(WriteFailure {
                error: "HTTP 409".into(),
                scim_type: Some("uniqueness".into()),
                detail: Some("userName is already taken".into()),
                permanent: true,
                outcome_unknown: false,
            })
        } else {
            WriteResult::Applied
        },
        latency: Duration::from_millis(u64::from(i % 400)),
    }
}

fn per_write(name: &str, observer: &dyn WriteObserver) {
    let events: Vec<WriteEvent> = (0..WRITES).map(event).collect();
    let started = Instant::now();
    for e in &events {
        observer.record(black_box(e));
    }
    let elapsed = started.elapsed();
    println!(
        "{name:<28} {:>8.2} µs/write  ({WRITES} writes in {:.3} s)",
        elapsed.as_secs_f64() * 1e6 / f64::from(WRITES),
        elapsed.as_secs_f64()
    );
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let audit = Arc::new(AuditLog::open(&dir.path().join("audit.jsonl"), "bench").expect("audit"));
    let metrics = Arc::new(Metrics::new());
    per_write("nothing (Discard)", &Discard);
    per_write("metrics", metrics.as_ref());
    per_write("audit log", audit.as_ref());
    per_write(
        "audit log + metrics",
        &Fanout(vec![audit.clone(), metrics.clone()]),
    );
    let rendered = Instant::now();
    let text = metrics.render();
    println!(
        "render /metrics              {:>8.2} µs ({} bytes)",
        rendered.elapsed().as_secs_f64() * 1e6,
        text.len()
    );
}
