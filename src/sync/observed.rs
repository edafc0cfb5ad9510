//! One sync run with its observability: the audit log (when configured), the caller's
//! observers, and the run's summary, around the engine's [`super::run_plan`]. `scimsync sync`
//! and every daemon tick go through [`run_once`], so both write the same audit lines and
//! summary; the engine owns it, and the CLI and the daemon only call it.

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use tracing::Instrument as _;

use super::event::{Fanout, WriteObserver};
use super::{RunOptions, RunReport, SyncError};
use crate::config::Config;
use crate::observe::audit::{AuditError, AuditLog};
use crate::observe::summary::RunSummary;
use scimsync_lang::mapping::Plan;
use scimsync_scim::client::ClientError;
use scimsync_scim::throttle::HeldOff;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error("{0}; nothing was written")]
    Audit(#[from] AuditError),
}

/// What a run returns: the sync's report (or why it failed) and its summary.
#[derive(Debug)]
pub struct RunOutcome {
    pub report: Result<RunReport, RunError>,
    pub summary: RunSummary,
}

impl RunOutcome {
    /// The target's request to be left alone, when the run stopped for one: its writes
    /// (or its listing) were cut short by a `Retry-After` over `max_backoff_seconds`.
    pub fn held_off(&self) -> Option<HeldOff> {
        match &self.report {
            Ok(report) => report.held_off,
            Err(RunError::Sync(SyncError::Target(ClientError::Throttled { held, .. }))) => {
                Some(*held)
            }
            Err(_) => None,
        }
    }
}

/// Runs one sync with `plan` as `options` say (its run id, dry run, cancellation token),
/// reporting to `observers`, to the observer already in `options`, and (unless this is a dry
/// run) to the configured audit log. An audit log that cannot be opened stops the run before
/// any write: writes that could not be audited are not made.
pub async fn run_once(
    config: &Config,
    plan: &Plan,
    options: &RunOptions,
    mut observers: Vec<Arc<dyn WriteObserver>>,
) -> RunOutcome {
    let run_id = options.run_id.as_str();
    let started = Utc::now();
    let clock = Instant::now();
    let span = tracing::info_span!("run", run_id = %run_id);
    let report = async {
        if let (Some(audit), false) = (&config.audit, options.dry_run) {
            observers.push(Arc::new(AuditLog::open(&audit.path, run_id)?));
        }
        observers.push(options.observer.clone());
        let options = RunOptions {
            observer: Arc::new(Fanout(observers)),
            ..options.clone()
        };
        tracing::debug!("run started");
        Ok(super::run_plan(config, plan, &options).await?)
    }
    .instrument(span)
    .await;
    let summary = RunSummary::new(
        run_id,
        started,
        clock.elapsed(),
        options.dry_run,
        report
            .as_ref()
            .map_err(|e: &RunError| e as &dyn std::error::Error),
    );
    RunOutcome { report, summary }
}
