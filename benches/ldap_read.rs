//! Reads every user of the configured `[source]` (an LDAP directory, paged) and maps them
//! through the configured `.map` file, the way `scimsync sync` does before it compares with
//! the target: `sync::read_desired`, which maps each user as it is read. Prints one JSON line:
//! users, desired users, seconds in total, and the peak resident memory of the process.
//! Driven by `benches/ldap-vs-ldapsearch.sh`.
//!
//! ```sh
//! cargo bench --bench ldap_read -- path/to/scimsync.toml
//! ```

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark stops at the first broken assumption"
)]

mod common;

use std::time::Instant;

use chrono::Utc;
use scimsync::sync::read_desired;

fn main() -> Result<(), String> {
    let (config, plan) = common::config_and_plan("ldap_read")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let now = Utc::now();
    let start = Instant::now();
    // No target: nothing is taken for `SelectUniqueValue`, as in `desired::compute`.
    let read = runtime
        .block_on(read_desired(&config.source, &plan, now, &[]))
        .map_err(|e| e.to_string())?;
    let total = start.elapsed();
    let desired = &read.desired;
    println!(
        "{{\"users\": {}, \"desired\": {}, \"skipped\": {}, \"total_s\": {:.3}, \"peak_rss_mb\": {:.1}}}",
        desired.source_count,
        desired.users.len(),
        desired.skipped.len(),
        total.as_secs_f64(),
        common::peak_rss_mb()
    );
    Ok(())
}
