//! `scimsync daemon`: syncs every target on its cron schedule, in the foreground, as a
//! well-behaved systemd service.
//!
//! ```text
//! ticks.rs ─due targets─▶ loop (here) ─▶ runs.rs ─▶ sync::observed::run_once ─▶ health.rs, metrics
//!  ▲ load.rs (start, SIGHUP)   ▲  signals: TERM/INT stop, HUP reload      ─▶ notify.rs (systemd)
//!                              └─ http.rs serves /healthz, /healthz/{name} and /metrics
//! ```
//!
//! - Each target runs on its own schedule (its `[target.schedule]` over the shared
//!   `[schedule]`), with its own `run_at_start`, jitter and `Retry-After` hold-off. The targets
//!   due at one instant go into one run, so the directory is read once for them.
//! - A target is never in two runs at once: its tick that comes while its previous run is in
//!   progress is skipped and logged, for that target only; other targets' runs go on. A target
//!   is free again when its run ends, so targets that share a run (the same tick) wait for the
//!   slowest of them: a target that is often slow is best given its own schedule.
//! - A failed run is retried on the target's next tick (never sooner, so failures cannot
//!   hot-loop); `failure_threshold` failures in a row turn the log level to error and the
//!   target (and so `/healthz`) to 503. A run stopped by a target asking to wait longer than
//!   `max_backoff_seconds` is followed, for that target, by the first tick after that wait.
//! - At start, a broken config is fatal, and so is one in which no target can run; a target
//!   whose settings or mapping are unusable is logged with its diagnostics, shown unhealthy in
//!   `/healthz`, and the others run.
//! - SIGHUP reloads everything. A config that fails as a whole (or in which no target can run)
//!   is rejected and the daemon keeps what it had; a target whose new settings or mapping are
//!   rejected keeps its previous ones; new targets start on their schedule, removed ones stop.
//! - SIGTERM/SIGINT: no new write is started in any run, writes in flight finish, the states
//!   are saved and the daemon exits 0, within `shutdown_timeout_seconds`. A run that has not
//!   started writing yet is dropped at once (it has written nothing). If the bound passes (or
//!   a second stop signal comes), the runs are abandoned and the exit code is 1 (the next run
//!   adopts whatever was written, by the match attribute).

pub mod health;
pub mod http;
pub mod load;
pub mod notify;
pub mod runs;
pub mod schedule;
pub mod ticks;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::observe::metrics::Metrics;
use crate::sync::event::WriteObserver;
use crate::sync::observed::{RunOutcome, TargetOutcome};
use health::{Health, TargetHealth};
pub use load::{LoadError, render_load};
use load::{Loaded, Unusable};
use runs::Runs;
use ticks::Ticks;

/// State shared between the loop and the HTTP listener.
pub struct Shared {
    pub metrics: Arc<Metrics>,
    health: Mutex<Health>,
    max_success_age_seconds: AtomicU64,
}

impl Shared {
    pub fn health(&self) -> MutexGuard<'_, Health> {
        match self.health.lock() {
            Ok(health) => health,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    pub fn max_success_age_seconds(&self) -> u64 {
        self.max_success_age_seconds.load(Ordering::Relaxed)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The config is unusable at start-up.
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("cannot listen for signals: {0}")]
    Signals(std::io::Error),
    #[error(transparent)]
    Listen(#[from] http::ListenError),
    #[error(
        "the run in progress did not finish within {0}s of the stop signal; it was abandoned and its state changes were not saved"
    )]
    ShutdownTimedOut(u64),
    #[error(
        "a second stop signal came while the run in progress was finishing; it was abandoned and its state changes were not saved"
    )]
    ShutdownForced,
}

async fn sleep_until(when: Option<DateTime<Utc>>) {
    match when {
        Some(when) => {
            let wait = (when - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            tokio::time::sleep(wait).await;
        }
        None => std::future::pending().await,
    }
}

async fn watchdog_tick(interval: &mut Option<tokio::time::Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Runs the daemon until SIGTERM or SIGINT, serving the targets of `selection` (every target
/// when empty).
pub async fn serve(config_path: PathBuf, selection: Vec<String>) -> Result<(), DaemonError> {
    let mut loaded = Loaded::load(&config_path, &selection)?;
    let shared = Arc::new(Shared {
        metrics: Arc::new(Metrics::new()),
        health: Mutex::new(Health::default()),
        max_success_age_seconds: AtomicU64::new(loaded.max_success_age_seconds()),
    });
    let signal_error = DaemonError::Signals;
    let mut terminate = signal(SignalKind::terminate()).map_err(signal_error)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(signal_error)?;
    let mut hangup = signal(SignalKind::hangup()).map_err(signal_error)?;
    if let Some(http) = &loaded.config.http {
        http::start(shared.clone(), http.listen).await?;
    }
    let mut watchdog = notify::watchdog_interval().map(tokio::time::interval);
    let (done_sender, mut done) = mpsc::unbounded_channel::<RunOutcome>();
    let mut runs = Runs::new(done_sender);

    tracing::info!(config = %config_path.display(), targets = loaded.config.targets.len() + loaded.config.rejected.len(), "scimsync daemon started");
    log_unusable(&loaded.unusable);
    let mut ticks = Ticks::default();
    for target in loaded.served() {
        let run_at_start = target.schedule.as_ref().is_some_and(|s| s.run_at_start);
        if let Some(schedule) = loaded.schedules.get(&target.name) {
            ticks.schedule(&target.name, schedule.clone(), run_at_start, Utc::now());
        }
    }
    if ticks.earliest().is_none() {
        tracing::warn!("no schedule fires again; the daemon will only answer signals");
    }
    refresh_health(&shared, &loaded, &ticks, &runs);
    notify::ready(&status_line(&shared));

    loop {
        tokio::select! {
            () = sleep_until(ticks.earliest()) => {
                let due = ticks.take_due(Utc::now());
                start_due(&due, &loaded, &mut runs, &shared);
                refresh_health(&shared, &loaded, &ticks, &runs);
            }
            Some(outcome) = done.recv() => {
                runs.finished(&outcome.run_id);
                finish_run(&shared, &outcome);
                for target in &outcome.targets {
                    if let Some(held) = target.held_off() {
                        ticks.hold_off(&target.name, held.until);
                    }
                }
                refresh_health(&shared, &loaded, &ticks, &runs);
                notify::status(&status_line(&shared));
            }
            _ = hangup.recv() => {
                notify::reloading();
                reload(&config_path, &selection, &mut loaded, &mut ticks, &shared);
                refresh_health(&shared, &loaded, &ticks, &runs);
                notify::ready(&status_line(&shared));
            }
            _ = watchdog_tick(&mut watchdog) => notify::watchdog(),
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
        }
    }
    let second_signal = async {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    };
    let bound = loaded.config.shutdown_timeout_seconds();
    runs.stop(&mut done, bound, second_signal, |outcome| {
        finish_run(&shared, outcome);
    })
    .await
}

/// Logs each target that cannot be served, with its diagnostics.
fn log_unusable(unusable: &[Unusable]) {
    for target in unusable {
        tracing::error!(
            target = %target.name(),
            "target {} is not served, its settings or mapping are unusable:\n{}",
            target.name(),
            target.render().trim_end()
        );
    }
}

/// Starts one run of the `due` targets whose previous run is done; the others' ticks are
/// skipped, each logged and counted for its target.
fn start_due(due: &[String], loaded: &Loaded, runs: &mut Runs, shared: &Shared) {
    let mut free = Vec::new();
    for target in due {
        match runs.run_of(target) {
            Some(run_id) => {
                tracing::warn!(target = %target, run_id = %run_id, "tick skipped: the previous run of {target} is still in progress");
                shared.metrics.tick_skipped(target);
            }
            None => free.push(target.clone()),
        }
    }
    if free.is_empty() {
        return;
    }
    let config = match loaded.config.select(&free) {
        Ok(config) => config,
        Err(error) => {
            tracing::error!("cannot start a run: {error}");
            return;
        }
    };
    let observers: Vec<Arc<dyn WriteObserver>> = vec![shared.metrics.clone()];
    let run_id = runs.start(config, loaded.plans.clone(), observers);
    if loaded.names().len() == 1 {
        notify::status(&format!("run {run_id} in progress"));
    } else {
        notify::status(&format!("run {run_id} in progress for {}", free.join(", ")));
    }
    tracing::info!(run_id = %run_id, targets = %free.join(", "), "run started");
}

/// Records each target's part of a finished run: health, metrics and its summary line.
fn finish_run(shared: &Shared, outcome: &RunOutcome) {
    for target in &outcome.targets {
        finish_target(shared, target);
    }
}

fn finish_target(shared: &Shared, outcome: &TargetOutcome) {
    let summary = &outcome.summary;
    let (failures, threshold) = {
        let mut health = shared.health();
        match health.get_mut(&outcome.name) {
            Some(target) => (target.record(summary), target.failure_threshold),
            // Removed by a reload while it ran.
            None => (u32::from(!summary.succeeded()), u32::MAX),
        }
    };
    shared.metrics.run_finished(summary, failures);
    summary.log(summary.level(failures, threshold), failures);
    if let Err(error) = &outcome.report {
        // The summary has the first line; mapping diagnostics and the like need all of theirs.
        let text = error.to_string();
        if text.trim().lines().count() > 1 {
            tracing::warn!(run_id = %summary.run_id, target = %outcome.name, "{}", text.trim_end());
        }
    }
    if failures > 0 {
        tracing::info!(target = %outcome.name, consecutive_failures = failures, "the next tick will retry");
    }
}

/// Brings the health records in line with what is served: one per target in config order,
/// its threshold, next run, run in progress, and whether it is unusable.
fn refresh_health(shared: &Shared, loaded: &Loaded, ticks: &Ticks, runs: &Runs) {
    let now = Utc::now();
    let mut health = shared.health();
    health.keep_only(&loaded.names());
    for name in loaded.names() {
        let target: &mut TargetHealth = health.target(name, now);
        target.failure_threshold = loaded.failure_threshold(name);
        target.expose_details = loaded.expose_details();
        target.unusable = !loaded.serves(name);
        target.next_run = ticks.next_run(name);
        target.running = runs.run_of(name).map(str::to_owned);
    }
}

/// Re-reads the config and mappings (SIGHUP), as [`load::reload`] says, and reschedules the
/// targets whose schedule changed, the new ones, and drops the removed ones.
fn reload(
    config_path: &Path,
    selection: &[String],
    loaded: &mut Loaded,
    ticks: &mut Ticks,
    shared: &Shared,
) {
    let reloaded = match load::reload(config_path, selection, loaded) {
        Ok(reloaded) => reloaded,
        Err(error) => {
            shared.metrics.reloaded(false);
            tracing::error!(
                "reload rejected, still running the previous configuration:\n{}",
                render_load(&error).trim_end()
            );
            return;
        }
    };
    for kept in &reloaded.kept {
        shared.metrics.target_reload_rejected(kept.name());
        tracing::error!(
            target = %kept.name(),
            "reload rejected for target {}, it keeps its previous configuration:\n{}",
            kept.name(),
            kept.render().trim_end()
        );
    }
    let new = reloaded.loaded;
    log_unusable(&new.unusable);
    let listen = |l: &Loaded| l.config.http.as_ref().map(|h| h.listen);
    if listen(&new) != listen(loaded) {
        tracing::warn!("[http] listen changes take effect when the daemon restarts");
    }
    shared
        .max_success_age_seconds
        .store(new.max_success_age_seconds(), Ordering::Relaxed);
    reschedule(ticks, loaded, &new);
    *loaded = new;
    shared.metrics.reloaded(true);
    tracing::info!(config = %config_path.display(), "configuration and mapping reloaded");
}

/// New targets, and those whose schedule changed, are scheduled afresh from now (without
/// `run_at_start`: that is for the daemon's start); the others keep their next tick.
fn reschedule(ticks: &mut Ticks, old: &Loaded, new: &Loaded) {
    ticks.retain(|name| new.serves(name));
    for target in new.served() {
        let before = old
            .config
            .target(&target.name)
            .filter(|_| old.serves(&target.name));
        let unchanged = before.is_some_and(|b| b.schedule == target.schedule);
        if unchanged && ticks.contains(&target.name) {
            continue;
        }
        if let Some(schedule) = new.schedules.get(&target.name) {
            ticks.schedule(&target.name, schedule.clone(), false, Utc::now());
        }
    }
}

fn status_line(shared: &Shared) -> String {
    shared.health().status_line()
}
