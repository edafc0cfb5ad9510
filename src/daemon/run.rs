//! One sync run with its observability: a run id, the audit log (when configured), the
//! caller's observers, and the run's summary. `scimsync sync` and every daemon tick go
//! through [`run_once`], so both write the same audit lines and summary.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use chrono::Utc;
use tracing::Instrument as _;

use crate::config::Config;
use crate::mapping::Plan;
use crate::observe::audit::{AuditError, AuditLog};
use crate::observe::summary::RunSummary;
use crate::observe::{Fanout, Observer};
use crate::sync::{self, RunOptions, RunReport, SyncError};

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

/// A run id unique within this host: start time, process id and a sequence number.
pub fn new_run_id() -> String {
    static SEQUENCE: AtomicU64 = AtomicU64::new(1);
    format!(
        "{}-{}-{}",
        Utc::now().format("%Y%m%dT%H%M%SZ"),
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs one sync with `plan`, reporting to `observers` and (unless this is a dry run) to the
/// configured audit log. An audit log that cannot be opened stops the run before any write:
/// writes that could not be audited are not made.
pub async fn run_once(
    run_id: &str,
    config: &Config,
    plan: &Plan,
    options: &RunOptions,
    mut observers: Vec<Arc<dyn Observer>>,
) -> RunOutcome {
    let started = Utc::now();
    let clock = Instant::now();
    let span = tracing::info_span!("run", run_id = %run_id);
    let report = async {
        if let (Some(audit), false) = (&config.audit, options.dry_run) {
            observers.push(Arc::new(AuditLog::open(&audit.path, run_id)?));
        }
        tracing::debug!("run started");
        Ok(sync::run_with(config, plan, options, &Fanout(observers)).await?)
    }
    .instrument(span)
    .await;
    let summary = RunSummary::new(
        run_id,
        started,
        clock.elapsed(),
        report.as_ref().map_err(|e: &RunError| e.to_string()),
    );
    RunOutcome { report, summary }
}
