//! Shared by the bench binaries.

/// The allocator `scimsync` itself runs with (src/main.rs), so a bench measures what the
/// command does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// VmHWM from /proc/self/status: the peak resident set of this process, in MiB.
pub fn peak_rss_mb() -> f64 {
    status_mb("VmHWM:")
}

/// VmRSS: the resident set now, in MiB.
#[allow(dead_code)]
pub fn rss_mb() -> f64 {
    status_mb("VmRSS:")
}

/// User + system CPU time of the whole process so far, in seconds (from /proc/self/stat, in
/// clock ticks of 1/100 s, Linux's USER_HZ): steadier than wall time on a shared machine.
#[allow(dead_code)]
pub fn cpu_s() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name (which may hold spaces), closed by its last ')'.
            let rest = &s[s.rfind(')')? + 2..];
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
            Some((ticks(11)? + ticks(12)?) / 100.0)
        })
        .unwrap_or(f64::NAN)
}

fn status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The config named by the first argument, and its compiled mapping.
#[allow(dead_code)]
pub fn config_and_plan(
    usage: &str,
) -> Result<(scimsync::config::Config, scimsync_lang::mapping::Plan), String> {
    let path: std::path::PathBuf = std::env::args()
        .nth(1)
        .filter(|a| !a.starts_with('-'))
        .ok_or_else(|| format!("usage: {usage} CONFIG.toml"))?
        .into();
    let config = scimsync::config::Config::load(&path).map_err(|e| e.to_string())?;
    let target = config
        .targets
        .first()
        .ok_or("the config has no usable target")?;
    let plan = scimsync::sync::load_plan(&target.mapping).map_err(|e| e.to_string())?;
    Ok((config, plan))
}
