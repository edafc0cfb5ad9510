//! Evaluation throughput: the compiled `mappings/base44-entra.map` plan over in-memory
//! records, one core. The target is at least 500,000 users per second (issue 3); figures are
//! recorded in BENCHMARKS.md.
//!
//! ```sh
//! cargo bench --bench eval
//! ```
//!
//! Each benchmark is measured twice: in wall-clock time (criterion's default), and in the
//! CPU time of the benchmarking thread (`cpu/...`, Linux only), which is what "users per
//! second on one core" means and stays meaningful on a machine shared with other work.
//!
//! The records are Entra users with every attribute the preset reads, in a realistic mix: most
//! are admins, editors or viewers with a credit limit, a few have no role, two roles, or a role
//! Base44 rejects (those users fail their role rule, as they would in a sync).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark stops at the first broken assumption"
)]

use std::hint::black_box;

use chrono::{DateTime, Utc};
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, Throughput, criterion_group};
use serde_json::json;

use scimsync::sync::desired;
use scimsync_lang::mapping::{self, Env, Plan, SourceFile};
use scimsync_lang::record::Record;

const USERS: usize = 10_000;

fn plan() -> Plan {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/mappings/base44-entra.map");
    let text = std::fs::read_to_string(path).expect("read base44-entra.map");
    mapping::compile(&SourceFile::new(path, text)).expect("base44-entra.map compiles")
}

fn records() -> Vec<Record> {
    const FIRST: &[&str] = &[
        "Ada",
        "Grace",
        "Zoë",
        "José",
        "芳",
        "Alan",
        "Katherine",
        "Linus",
    ];
    const LAST: &[&str] = &[
        "Lovelace", "Hopper", "Dvořák", "Álvarez", "王", "Turing", "Johnson",
    ];
    const DEPARTMENTS: &[&str] = &["Engineering", "Design", "Sales", "Finance", "Support"];
    (0..USERS)
        .map(|i| {
            let (first, last) = (FIRST[i % FIRST.len()], LAST[i % LAST.len()]);
            let roles = match i % 20 {
                0 => json!([]),
                1 => json!(["editor", "admin"]),
                2 => json!(["owner"]),
                n if n < 6 => json!(["admin"]),
                n if n < 13 => json!(["editor"]),
                _ => json!(["viewer"]),
            };
            let id = format!("6f1d2a10-0000-4000-8000-{i:012}");
            let user = json!({
                "objectId": id,
                "userPrincipalName": format!("user{i}@contoso.com"),
                "accountEnabled": i % 50 != 0,
                "displayName": format!("{first} {last}"),
                "givenName": first,
                "surname": last,
                "mail": format!("{}.{}{i}@contoso.com", first.to_lowercase(), last.to_lowercase()),
                "jobTitle": "Engineer",
                "department": DEPARTMENTS[i % DEPARTMENTS.len()],
                "employeeId": format!("E{i:06}"),
                "preferredLanguage": "en-GB",
                "telephoneNumber": format!("+44 20 7946 {:04}", i % 10_000),
                "mobile": if i % 3 == 0 { json!(null) } else { json!(format!("+44 7700 9{:05}", i % 100_000)) },
                "city": "London",
                "country": "GB",
                "postalCode": "EC1A 1AA",
                "appRoleAssignments": roles,
                "extensionAttribute1": if i % 4 == 0 { json!("") } else { json!((i % 7 * 100).to_string()) },
            });
            Record::from_flat_json(id, user.as_object().expect("object"))
        })
        .collect()
}

/// CPU time consumed by the current thread, from `/proc/thread-self/schedstat` (nanoseconds).
struct ThreadCpuTime;

fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("/proc/thread-self/schedstat (Linux) for CPU-time measurements")
}

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        // Nanoseconds, like wall time: the same units and throughput formatting.
        static WALL: WallTime = WallTime;
        WALL.formatter()
    }
}

fn evaluation<M: Measurement>(c: &mut Criterion<M>, name: &str) {
    let plan = plan();
    let records = records();
    let now: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .expect("RFC 3339")
        .with_timezone(&Utc);
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(USERS as u64));
    group.bench_function("plan.evaluate", |b| {
        b.iter(|| {
            for record in &records {
                let env = Env::at(record, now);
                let _ = black_box(plan.evaluate(black_box(record), &env));
            }
        })
    });
    // The whole desired-state step of a sync: evaluation plus the userName, match-key and
    // duplicate checks.
    group.bench_function("desired::compute", |b| {
        b.iter(|| black_box(desired::compute(&plan, black_box(&records), now)))
    });
    group.finish();
}

fn wall_clock(c: &mut Criterion) {
    evaluation(c, "base44-entra");
}

fn cpu_time(c: &mut Criterion<ThreadCpuTime>) {
    evaluation(c, "cpu/base44-entra");
}

criterion_group!(wall, wall_clock);
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = cpu_time
}
/// `EVAL_PASSES=N`: no criterion, just N passes of `plan.evaluate` over the records, for
/// `valgrind --tool=callgrind`, whose instruction counts do not move with the machine's load
/// (see BENCHMARKS.md: instructions per user = (count(N) - count(0)) / (N * USERS)).
fn passes(n: usize) {
    let plan = plan();
    let records = records();
    let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .expect("RFC 3339")
        .with_timezone(&Utc);
    for _ in 0..n {
        for record in &records {
            let env = Env::at(record, now);
            let _ = black_box(plan.evaluate(black_box(record), &env));
        }
    }
}

fn main() {
    if let Some(n) = std::env::var("EVAL_PASSES")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        return passes(n);
    }
    wall();
    cpu();
    Criterion::default().configure_from_args().final_summary();
}
