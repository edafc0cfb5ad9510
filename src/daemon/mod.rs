//! `scimsync daemon`: syncs on a cron schedule, in the foreground, as a well-behaved systemd
//! service.
//!
//! ```text
//! schedule.rs ─tick─▶ loop (here) ─spawn─▶ sync::observed::run_once   ─▶ health.rs, metrics
//!                      ▲  signals: TERM/INT stop, HUP reload          ─▶ notify.rs (systemd)
//!                      └─ http.rs serves /healthz and /metrics from the shared state
//! ```
//!
//! - Runs never overlap: a tick that comes while a run is in progress is skipped and logged.
//! - A failed run is retried on the next tick (never sooner, so failures cannot hot-loop);
//!   `failure_threshold` failures in a row turn the log level to error and `/healthz` to 503.
//!   A run stopped by a target asking to wait longer than `max_backoff_seconds` is followed by
//!   the first tick after that wait, not before.
//! - SIGHUP reloads the config and mapping; if either is broken, the diagnostics are logged
//!   and the daemon keeps running with what it had.
//! - SIGTERM/SIGINT: no new write is started, writes in flight finish, the state is saved and
//!   the daemon exits 0, within `shutdown_timeout_seconds`. A run that has not started writing
//!   yet is dropped at once (it has written nothing). If the bound passes (or a second stop
//!   signal comes), the run is abandoned and the exit code is 1 (the next run adopts whatever
//!   was written, by the match attribute).

pub mod health;
pub mod http;
pub mod notify;
pub mod schedule;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, ConfigError};
use crate::observe::metrics::Metrics;
use crate::sync::RunOptions;
use crate::sync::SyncError;
use crate::sync::event::{WriteEvent, WriteObserver};
use crate::sync::observed::{self, RunOutcome};
use crate::sync::plans::Plans;
use health::Health;
use schedule::Schedule;

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

/// Why the daemon cannot start with (or reload) a config and its mapping.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(
        "config {}: `scimsync daemon` needs a [schedule] section with `cron = \"...\"`",
        .0.display()
    )]
    NoSchedule(PathBuf),
    #[error("config {}: {source}", .path.display())]
    Schedule {
        path: PathBuf,
        source: schedule::ScheduleError,
    },
    #[error(transparent)]
    Mapping(SyncError),
}

/// The daemon's words for a config it cannot use, at start-up (on stderr) and on a rejected
/// reload (in the log): a mapping's diagnostics compiler style before its headline, anything
/// else as `error: ...`.
pub fn render_load(error: &LoadError) -> String {
    match error {
        LoadError::Mapping(sync) => crate::sync::render::error_text(sync),
        other => format!("error: {other}"),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The config or mapping is unusable at start-up.
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

/// A config with everything derived from it, loaded and checked as a whole.
struct Loaded {
    config: Config,
    plans: Plans,
    schedule: Schedule,
}

impl Loaded {
    /// Loads the config and compiles its mapping.
    fn load(path: &Path) -> Result<Loaded, LoadError> {
        let config = Config::load(path)?;
        let Some(schedule_config) = &config.schedule else {
            return Err(LoadError::NoSchedule(path.to_owned()));
        };
        let schedule = Schedule::new(schedule_config).map_err(|source| LoadError::Schedule {
            path: path.to_owned(),
            source,
        })?;
        let plans = Plans::load(&config);
        Ok(Loaded {
            config,
            plans,
            schedule,
        })
    }

    fn shutdown_timeout(&self) -> u64 {
        self.config
            .schedule
            .as_ref()
            .map_or(30, |s| s.shutdown_timeout_seconds)
    }

    fn failure_threshold(&self) -> u32 {
        self.config
            .schedule
            .as_ref()
            .map_or(3, |s| s.failure_threshold)
    }

    fn expose_details(&self) -> bool {
        self.config.http.as_ref().is_some_and(|h| h.expose_details)
    }
}

/// Whether the run in progress has begun writing: before that it may be dropped at once.
#[derive(Default)]
struct WritePhase(AtomicBool);

impl WriteObserver for WritePhase {
    fn record(&self, _event: &WriteEvent) {}
    fn planned(&self, _target: &str, _writes: usize) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// The run in progress.
struct Running {
    cancel: CancellationToken,
    phase: Arc<WritePhase>,
    task: JoinHandle<()>,
}

/// The next tick: when it is due by the schedule, and when it fires (after jitter).
#[derive(Clone, Copy, Debug)]
struct Tick {
    due: DateTime<Utc>,
    fires: DateTime<Utc>,
}

fn next_tick(schedule: &Schedule, after: DateTime<Utc>) -> Option<Tick> {
    let due = schedule.next_after(after)?;
    let fires = due + chrono::Duration::from_std(schedule.jitter()).unwrap_or_default();
    if fires == due {
        tracing::info!(next_run = %due.to_rfc3339(), "next run scheduled");
    } else {
        tracing::info!(next_run = %fires.to_rfc3339(), due = %due.to_rfc3339(), "next run scheduled (with jitter)");
    }
    Some(Tick { due, fires })
}

/// The next tick once the target asked to be left alone until `until`: the ticks before then
/// are skipped, so the daemon does not knock again while the target asked it to wait.
fn after_hold_off(schedule: &Schedule, next: Option<Tick>, until: DateTime<Utc>) -> Option<Tick> {
    match next {
        Some(tick) if tick.fires < until => {
            tracing::warn!(until = %until.to_rfc3339(), "the target asked to be left alone until then: the ticks before are skipped");
            next_tick(schedule, until)
        }
        other => other,
    }
}

async fn sleep_until(tick: Option<Tick>) {
    match tick {
        Some(tick) => {
            let wait = (tick.fires - Utc::now()).to_std().unwrap_or(Duration::ZERO);
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

/// Runs the daemon until SIGTERM or SIGINT.
pub async fn serve(config_path: PathBuf) -> Result<(), DaemonError> {
    let mut loaded = Loaded::load(&config_path)?;
    let shared = Arc::new(Shared {
        metrics: Arc::new(Metrics::new()),
        health: Mutex::new(Health {
            expose_details: loaded.expose_details(),
            ..Health::new(Utc::now(), loaded.failure_threshold())
        }),
        max_success_age_seconds: AtomicU64::new(
            loaded
                .config
                .http
                .as_ref()
                .map_or(86_400, |h| h.max_success_age_seconds),
        ),
    });
    let signal_error = DaemonError::Signals;
    let mut terminate = signal(SignalKind::terminate()).map_err(signal_error)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(signal_error)?;
    let mut hangup = signal(SignalKind::hangup()).map_err(signal_error)?;
    if let Some(http) = &loaded.config.http {
        http::start(shared.clone(), http.listen).await?;
    }
    let mut watchdog = notify::watchdog_interval().map(tokio::time::interval);
    let (done_sender, mut done) = mpsc::channel::<RunOutcome>(1);
    let mut running: Option<Running> = None;

    tracing::info!(config = %config_path.display(), targets = loaded.config.targets.len(), "scimsync daemon started");
    let start_now = loaded
        .config
        .schedule
        .as_ref()
        .is_some_and(|s| s.run_at_start);
    let mut next = if start_now {
        let now = Utc::now();
        tracing::info!("running once at start");
        Some(Tick {
            due: now,
            fires: now,
        })
    } else {
        next_tick(&loaded.schedule, Utc::now())
    };
    if next.is_none() {
        tracing::warn!("the schedule never fires again; the daemon will only answer signals");
    }
    shared.health().next_run = next.map(|t| t.fires);
    notify::ready(&status_line(&shared));

    loop {
        tokio::select! {
            () = sleep_until(next) => {
                let due = next.map_or_else(Utc::now, |t| t.due);
                if running.is_some() {
                    let run_id = shared.health().running.clone().unwrap_or_default();
                    tracing::warn!(run_id = %run_id, due = %due.to_rfc3339(), "tick skipped: the previous run is still in progress");
                    shared.metrics.tick_skipped();
                } else {
                    running = Some(start_run(&loaded, &shared, done_sender.clone()));
                }
                // Ticks missed while the machine slept are not caught up: one run, then on.
                next = next_tick(&loaded.schedule, due.max(Utc::now()));
                shared.health().next_run = next.map(|t| t.fires);
            }
            Some(outcome) = done.recv() => {
                running = None;
                finish_run(&shared, &loaded, &outcome);
                if let Some(held) = outcome.targets.iter().filter_map(observed::TargetOutcome::held_off).max_by_key(|h| h.until) {
                    next = after_hold_off(&loaded.schedule, next, held.until);
                    shared.health().next_run = next.map(|t| t.fires);
                }
                notify::status(&status_line(&shared));
            }
            _ = hangup.recv() => {
                notify::reloading();
                if reload(&config_path, &mut loaded, &shared) {
                    next = next_tick(&loaded.schedule, Utc::now());
                    shared.health().next_run = next.map(|t| t.fires);
                }
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
    shutdown(running, &mut done, &shared, &loaded, second_signal).await
}

/// Re-reads the config and mapping (SIGHUP). A broken one is rejected with its diagnostics and
/// `loaded` stays as it was. Returns whether the schedule changed.
fn reload(config_path: &Path, loaded: &mut Loaded, shared: &Shared) -> bool {
    let new = match Loaded::load(config_path) {
        Ok(new) => new,
        Err(error) => {
            shared.metrics.reloaded(false);
            tracing::error!(
                "reload rejected, still running the previous configuration:\n{}",
                render_load(&error).trim_end()
            );
            return false;
        }
    };
    let listen = |l: &Loaded| l.config.http.as_ref().map(|h| h.listen);
    if listen(&new) != listen(loaded) {
        tracing::warn!("[http] listen changes take effect when the daemon restarts");
    }
    if let Some(http) = &new.config.http {
        shared
            .max_success_age_seconds
            .store(http.max_success_age_seconds, Ordering::Relaxed);
    }
    let schedule_changed = new.config.schedule != loaded.config.schedule;
    *loaded = new;
    {
        let mut health = shared.health();
        health.failure_threshold = loaded.failure_threshold();
        health.expose_details = loaded.expose_details();
    }
    shared.metrics.reloaded(true);
    tracing::info!(config = %config_path.display(), "configuration and mapping reloaded");
    schedule_changed
}

fn start_run(loaded: &Loaded, shared: &Arc<Shared>, done: mpsc::Sender<RunOutcome>) -> Running {
    let options = RunOptions::new(false);
    let cancel = options.cancel.clone();
    let phase = Arc::new(WritePhase::default());
    let observers: Vec<Arc<dyn WriteObserver>> = vec![shared.metrics.clone(), phase.clone()];
    let config = loaded.config.clone();
    let plans = loaded.plans.clone();
    let run_id = options.run_id.clone();
    shared.health().running = Some(run_id.clone());
    notify::status(&format!("run {run_id} in progress"));
    tracing::info!(run_id = %run_id, "run started");
    let task = tokio::spawn(async move {
        let outcome = observed::run_once(&config, &plans, &options, observers).await;
        let _ = done.send(outcome).await;
    });
    Running {
        cancel,
        phase,
        task,
    }
}

fn finish_run(shared: &Shared, loaded: &Loaded, outcome: &RunOutcome) {
    for target in &outcome.targets {
        finish_target(shared, loaded, target);
    }
}

fn finish_target(shared: &Shared, loaded: &Loaded, outcome: &observed::TargetOutcome) {
    let summary = &outcome.summary;
    let failures = shared.health().record(summary);
    shared.metrics.run_finished(
        summary.succeeded(),
        summary.finished,
        summary.duration,
        failures,
    );
    summary.log(
        summary.level(failures, loaded.failure_threshold()),
        failures,
    );
    if let Err(error) = &outcome.report {
        // The summary has the first line; mapping diagnostics and the like need all of theirs.
        let text = error.to_string();
        if text.trim().lines().count() > 1 {
            tracing::warn!(run_id = %summary.run_id, "{}", text.trim_end());
        }
    }
    if failures > 0 {
        tracing::info!(consecutive_failures = failures, "the next tick will retry");
    }
}

fn status_line(shared: &Shared) -> String {
    let health = shared.health();
    let next = health.next_run.map_or_else(
        || "none".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    );
    match &health.last_run {
        None => format!("waiting for the first run; next run {next}"),
        Some(run) => format!("last run {}: {run}; next run {next}", run.run_id),
    }
}

async fn shutdown(
    running: Option<Running>,
    done: &mut mpsc::Receiver<RunOutcome>,
    shared: &Shared,
    loaded: &Loaded,
    second_signal: impl std::future::Future<Output = ()>,
) -> Result<(), DaemonError> {
    let Some(running) = running else {
        notify::stopping("stopping");
        tracing::info!("stop signal received; no run in progress, exiting");
        return Ok(());
    };
    running.cancel.cancel();
    if !running.phase.0.load(Ordering::SeqCst) {
        running.task.abort();
        notify::stopping("stopping; the run in progress had written nothing and was dropped");
        tracing::info!(
            "stop signal received; the run in progress had not started writing and was dropped"
        );
        return Ok(());
    }
    let bound = loaded.shutdown_timeout();
    notify::stopping("stopping; finishing the writes in flight and saving the state");
    tracing::info!(
        timeout_seconds = bound,
        "stop signal received; finishing the writes in flight and saving the state"
    );
    tokio::select! {
        finished = tokio::time::timeout(Duration::from_secs(bound), done.recv()) => match finished {
            Ok(Some(outcome)) => {
                finish_run(shared, loaded, &outcome);
                tracing::info!("state saved; exiting");
                Ok(())
            }
            Ok(None) | Err(_) => {
                running.task.abort();
                Err(DaemonError::ShutdownTimedOut(bound))
            }
        },
        // A second SIGTERM/SIGINT (a second Ctrl-C) means: stop now.
        () = second_signal => {
            running.task.abort();
            Err(DaemonError::ShutdownForced)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CronExpressions, ScheduleConfig};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn ticks_within_a_targets_wait_are_skipped() {
        let schedule = Schedule::new(&ScheduleConfig {
            cron: CronExpressions::One("0 */15 * * * *".into()),
            run_at_start: false,
            jitter_seconds: 0,
            shutdown_timeout_seconds: 30,
            failure_threshold: 3,
        })
        .unwrap();
        let next = next_tick(&schedule, at("2026-01-01T10:00:00Z"));
        assert_eq!(next.map(|t| t.fires), Some(at("2026-01-01T10:15:00Z")));
        let deferred = after_hold_off(&schedule, next, at("2026-01-01T11:00:30Z"));
        assert_eq!(deferred.map(|t| t.fires), Some(at("2026-01-01T11:15:00Z")));
        let kept = after_hold_off(&schedule, next, at("2026-01-01T10:05:00Z"));
        assert_eq!(kept.map(|t| t.fires), Some(at("2026-01-01T10:15:00Z")));
    }
}
