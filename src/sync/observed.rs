//! One sync run with its observability: the audit log (when configured), the caller's
//! observers, and a summary per target, around the engine's [`super::run_targets`].
//! `scimsync sync` and every daemon tick go through [`run_once`], so both write the same audit
//! lines and summaries; the engine owns it, and the CLI and the daemon only call it.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use tracing::Instrument as _;

use super::event::{Fanout, WriteObserver};
use super::plans::Plans;
use super::{RunOptions, RunReport, SyncError, TargetRun};
use crate::config::{Config, RejectedTarget};
use crate::observe::audit::{AuditError, AuditLog};
use crate::observe::summary::RunSummary;
use scimsync_scim::client::ClientError;
use scimsync_scim::throttle::HeldOff;

/// Why one target's part of a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Sync(#[from] SyncError),
    /// A failure several targets share: the source (every target of the run stops before any
    /// write), or a mapping file they all use.
    #[error(transparent)]
    Shared(Arc<SyncError>),
    #[error("{0}; nothing was written")]
    Audit(Arc<AuditError>),
    /// The target's own settings are wrong.
    #[error("{}", .0.problem)]
    Rejected(RejectedTarget),
}

impl RunError {
    /// The engine's error, when it is one.
    pub fn sync(&self) -> Option<&SyncError> {
        match self {
            RunError::Sync(error) => Some(error),
            RunError::Shared(error) => Some(error),
            RunError::Audit(_) | RunError::Rejected(_) => None,
        }
    }
}

/// How one target's part of a run went.
#[derive(Debug)]
pub struct TargetOutcome {
    pub name: String,
    pub report: Result<RunReport, RunError>,
    pub summary: RunSummary,
}

impl TargetOutcome {
    /// The target's request to be left alone, when it stopped the run for one: its writes
    /// (or its listing) were cut short by a `Retry-After` over `max_backoff_seconds`.
    pub fn held_off(&self) -> Option<HeldOff> {
        match &self.report {
            Ok(report) => report.held_off,
            Err(error) => match error.sync() {
                Some(SyncError::Target(ClientError::Throttled { held, .. })) => Some(*held),
                _ => None,
            },
        }
    }

    pub fn succeeded(&self) -> bool {
        self.summary.succeeded()
    }
}

/// What a run returns: each target's report (or why it failed) and summary, in config order.
#[derive(Debug)]
pub struct RunOutcome {
    pub run_id: String,
    pub started: DateTime<Utc>,
    pub targets: Vec<TargetOutcome>,
}

impl RunOutcome {
    /// Every target succeeded.
    pub fn succeeded(&self) -> bool {
        self.targets.iter().all(TargetOutcome::succeeded)
    }

    /// The outcome of the target named `name`.
    pub fn target(&self, name: &str) -> Option<&TargetOutcome> {
        self.targets.iter().find(|t| t.name == name)
    }
}

/// Runs one sync of `config`'s targets with their `plans`, as `options` say (its run id, dry
/// run, cancellation token), reporting to `observers`, to the observer already in `options`,
/// and (unless this is a dry run) to the configured audit log. An audit log that cannot be
/// opened stops the run before any write: writes that could not be audited are not made.
/// Rejected targets and targets whose mapping failed are reported as failed, and the others
/// run.
pub async fn run_once(
    config: &Config,
    plans: &Plans,
    options: &RunOptions,
    mut observers: Vec<Arc<dyn WriteObserver>>,
) -> RunOutcome {
    let run_id = options.run_id.as_str();
    let started = Utc::now();
    let clock = Instant::now();
    let span = tracing::info_span!("run", run_id = %run_id);
    let mut results: Vec<(String, Result<RunReport, RunError>)> = async {
        let audit = match (&config.audit, options.dry_run) {
            (Some(audit), false) => match AuditLog::open(&audit.path, run_id) {
                Ok(log) => Some(log),
                Err(error) => {
                    let error = Arc::new(error);
                    return every_job_fails(config, plans, || RunError::Audit(error.clone()));
                }
            },
            _ => None,
        };
        if let Some(log) = audit {
            observers.push(Arc::new(log));
        }
        observers.push(options.observer.clone());
        let options = RunOptions {
            observer: Arc::new(Fanout(observers)),
            ..options.clone()
        };
        tracing::debug!("run started");
        let jobs = plans.jobs(config);
        match super::run_targets(&config.source, jobs, &options).await {
            Ok(runs) => runs
                .into_iter()
                .map(|TargetRun { name, report }| (name, report.map_err(RunError::from)))
                .collect(),
            Err(error) => {
                let error = Arc::new(error);
                every_job_fails(config, plans, || RunError::Shared(error.clone()))
            }
        }
    }
    .instrument(span)
    .await;
    results.extend(unplanned(config, plans));
    let position = |name: &str| config.names().position(|n| n == name);
    results.sort_by_key(|(name, _)| position(name));
    let duration = clock.elapsed();
    let targets = results
        .into_iter()
        .map(|(name, report)| TargetOutcome {
            summary: RunSummary::new(
                run_id,
                &name,
                started,
                duration,
                options.dry_run,
                report
                    .as_ref()
                    .map_err(|e: &RunError| e as &dyn std::error::Error),
            ),
            name,
            report,
        })
        .collect();
    RunOutcome {
        run_id: run_id.to_owned(),
        started,
        targets,
    }
}

/// Every target that was to run fails with the same error (the audit log cannot be opened,
/// or the source failed): none of them is written to.
fn every_job_fails(
    config: &Config,
    plans: &Plans,
    error: impl Fn() -> RunError,
) -> Vec<(String, Result<RunReport, RunError>)> {
    plans
        .jobs(config)
        .into_iter()
        .map(|job| (job.target.name, Err(error())))
        .collect()
}

/// The targets that could not run: rejected settings, or a mapping that did not compile.
fn unplanned(config: &Config, plans: &Plans) -> Vec<(String, Result<RunReport, RunError>)> {
    let rejected = config
        .rejected
        .iter()
        .map(|r| (r.name.clone(), Err(RunError::Rejected(r.clone()))));
    let broken = config
        .targets
        .iter()
        .filter_map(|t| match plans.get(&t.name) {
            Some(Ok(_)) => None,
            Some(Err(error)) => Some((t.name.clone(), Err(RunError::Shared(error.clone())))),
            None => Some((t.name.clone(), Err(RunError::Sync(SyncError::NotRun)))),
        });
    rejected.chain(broken).collect()
}
