//! One read of the configured `[source]` planned for several targets: the read-and-plan half
//! of a `scimsync sync` over a many-target config (`sync::read_desired_for`, which
//! `run_targets` runs before it diffs each target). Prints one JSON line: users read, the
//! targets planned, desired users per target, seconds, CPU seconds and the peak resident memory
//! of the process. Driven by `benches/targets-vs-one.sh`, which runs each configuration in a
//! process of its own so the peak is per configuration.
//!
//! ```sh
//! cargo bench --bench targets_read -- scimsync.toml 3          # the first 3 targets
//! cargo bench --bench targets_read -- scimsync.toml appspace   # the targets named
//! ```

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark stops at the first broken assumption"
)]

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use scimsync::config::Config;
use scimsync::sync::plans::Plans;
use scimsync::sync::read_desired_for;
use scimsync_lang::mapping::Plan;

const USAGE: &str = "usage: targets_read CONFIG.toml (K | NAME...)";

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let (path, which) = args.split_first().ok_or(USAGE)?;
    let config = Config::load(&PathBuf::from(path)).map_err(|e| e.to_string())?;
    let config = chosen(&config, which)?;
    let plans = compiled(&config)?;
    let refs: Vec<Arc<Plan>> = plans.iter().map(|(_, plan)| Arc::clone(plan)).collect();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let (cpu_before, start) = (common::cpu_s(), Instant::now());
    let read = runtime
        .block_on(read_desired_for(&config.source, &refs, Utc::now()))
        .map_err(|e| e.to_string())?;
    let (total, cpu) = (start.elapsed(), common::cpu_s() - cpu_before);

    let users = read.first().map_or(0, |r| r.desired.source_count);
    let desired: Vec<String> = plans
        .iter()
        .zip(&read)
        .map(|((name, _), r)| {
            format!(
                "{{\"target\": \"{name}\", \"desired\": {}}}",
                r.desired.users.len()
            )
        })
        .collect();
    println!(
        "{{\"users\": {users}, \"targets\": {}, \"desired\": [{}], \"total_s\": {:.3}, \"cpu_s\": {cpu:.2}, \"peak_rss_mb\": {:.1}}}",
        plans.len(),
        desired.join(", "),
        total.as_secs_f64(),
        common::peak_rss_mb()
    );
    Ok(())
}

/// The first K usable targets when `which` is one number, else the targets it names.
fn chosen(config: &Config, which: &[String]) -> Result<Config, String> {
    if let [k] = which
        && let Ok(k) = k.parse::<usize>()
    {
        if k == 0 || k > config.targets.len() {
            return Err(format!("K must be 1 to {}", config.targets.len()));
        }
        let names: Vec<String> = config.targets[..k].iter().map(|t| t.name.clone()).collect();
        return config.select(&names).map_err(|e| e.to_string());
    }
    if which.is_empty() {
        return Err(USAGE.to_owned());
    }
    config.select(which).map_err(|e| e.to_string())
}

/// Each chosen target's compiled plan, in the config's order (`Plans`, as `sync` loads them).
fn compiled(config: &Config) -> Result<Vec<(String, Arc<Plan>)>, String> {
    let plans = Plans::load(config);
    config
        .targets
        .iter()
        .map(|target| match plans.get(&target.name) {
            Some(Ok(plan)) => Ok((target.name.clone(), Arc::clone(plan))),
            Some(Err(error)) => Err(format!("{}: {error}", target.name)),
            None => Err(format!("{}: no plan", target.name)),
        })
        .collect()
}
