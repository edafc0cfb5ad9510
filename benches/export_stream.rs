//! Streams every user of the configured export (JSON Lines or a JSON document) through the
//! configured `.map` file one record at a time, keeping nothing but counts: the memory
//! profile of mapping an export without holding it. Prints one JSON line with the record
//! count, seconds, and peak resident memory. Driven by `benches/export-stream.sh`.
//!
//! ```sh
//! cargo bench --bench export_stream -- path/to/scimsync.toml
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
use scimsync_lang::mapping::Outcome;
use scimsync_lang::mapping::eval::Env;

fn main() -> Result<(), String> {
    let (config, plan) = common::config_and_plan("export_stream")?;
    let now = Utc::now();
    let start = Instant::now();
    let (mut records, mut mapped, mut out_of_scope, mut failed) = (0usize, 0usize, 0usize, 0usize);
    for record in scimsync_source::stream(&config.source).map_err(|e| e.to_string())? {
        let record = record.map_err(|e| e.to_string())?;
        records += 1;
        match plan.evaluate(&record, &Env::at(&record, now)) {
            Ok(Outcome::Mapped(_)) => mapped += 1,
            Ok(Outcome::OutOfScope) => out_of_scope += 1,
            Err(_) => failed += 1,
        }
    }
    println!(
        "{{\"records\": {records}, \"mapped\": {mapped}, \"out_of_scope\": {out_of_scope}, \"failed\": {failed}, \"seconds\": {:.3}, \"peak_rss_mb\": {:.1}}}",
        start.elapsed().as_secs_f64(),
        common::peak_rss_mb()
    );
    Ok(())
}
