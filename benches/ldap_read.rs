//! Reads every user of the configured `[source]` (an LDAP directory, paged) and maps them
//! through the configured `.map` file, the way `scimsync sync` does before it talks to the
//! target. Prints one JSON line: users, seconds to read, to map, in total, and the peak
//! resident memory of the process. Driven by `benches/ldap-vs-ldapsearch.sh`.
//!
//! ```sh
//! cargo bench --bench ldap_read -- path/to/scimsync.toml
//! ```

mod common;

use std::time::Instant;

use chrono::Utc;
use scimsync::sync::{desired, source_projection};

fn main() -> Result<(), String> {
    let (config, plan) = common::config_and_plan("ldap_read")?;
    let projection = source_projection(&plan);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let now = Utc::now();
    let start = Instant::now();
    let directory = runtime
        .block_on(scimsync::source::read(&config.source, &projection, now))
        .map_err(|e| e.to_string())?;
    let read = start.elapsed();
    let rss_after_read = common::rss_mb();
    let desired = desired::compute(&plan, &directory.users, now);
    let total = start.elapsed();
    println!(
        "{{\"users\": {}, \"desired\": {}, \"skipped\": {}, \"read_s\": {:.3}, \"map_s\": {:.3}, \"total_s\": {:.3}, \"rss_after_read_mb\": {:.1}, \"peak_rss_mb\": {:.1}}}",
        directory.users.len(),
        desired.users.len(),
        desired.skipped.len(),
        read.as_secs_f64(),
        (total - read).as_secs_f64(),
        total.as_secs_f64(),
        rss_after_read,
        common::peak_rss_mb()
    );
    Ok(())
}
