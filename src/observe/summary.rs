//! The one log line each run ends with: its id, how long it took, and counts per operation
//! and result, or why it failed. Also what systemd's `STATUS=` and `/healthz` show.

use std::fmt;
use std::time::Duration;

use crate::sync::RunReport;
use crate::sync::diff::Action;
use chrono::{DateTime, Utc};

/// How one run went.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSummary {
    pub run_id: String,
    /// The target this summary is of.
    pub target: String,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    pub duration: Duration,
    pub dry_run: bool,
    pub created: usize,
    pub updated: usize,
    pub reactivated: usize,
    pub deactivated: usize,
    /// Writes that failed.
    pub failed: usize,
    pub unchanged: usize,
    pub skipped: usize,
    /// Why the run stopped before or during its writes; `None` when it completed.
    pub error: Option<String>,
}

impl RunSummary {
    /// `dry_run` is the run's own setting: a run that failed has no report to tell it.
    pub fn new(
        run_id: &str,
        target: &str,
        started: DateTime<Utc>,
        duration: Duration,
        dry_run: bool,
        report: Result<&RunReport, &dyn std::error::Error>,
    ) -> RunSummary {
        let finished = started
            + chrono::Duration::from_std(duration).unwrap_or_else(|_| chrono::Duration::zero());
        let mut summary = RunSummary {
            run_id: run_id.to_owned(),
            target: target.to_owned(),
            started,
            finished,
            duration,
            dry_run,
            created: 0,
            updated: 0,
            reactivated: 0,
            deactivated: 0,
            failed: 0,
            unchanged: 0,
            skipped: 0,
            error: None,
        };
        match report {
            Err(error) => summary.error = Some(error.to_string()),
            Ok(report) => {
                // A target that asked for a long pause stopped the writes: not a completed run.
                summary.error = report.held_off.map(|held| held.to_string());
                summary.unchanged = report.changes.unchanged;
                summary.skipped = report.changes.skipped.len();
                match &report.applied {
                    None => {
                        summary.created = report.changes.count(Action::Create);
                        summary.updated = report.changes.count(Action::Update);
                        summary.reactivated = report.changes.count(Action::Reactivate);
                        summary.deactivated = report.changes.count(Action::Deactivate);
                    }
                    Some(applied) => {
                        summary.created = applied.created;
                        summary.updated = applied.updated;
                        summary.reactivated = applied.reactivated;
                        summary.deactivated = applied.deactivated;
                        summary.failed = applied.failures.len();
                    }
                }
            }
        }
        summary
    }

    /// Whether the run completed with every write accepted.
    pub fn succeeded(&self) -> bool {
        self.error.is_none() && self.failed == 0
    }

    /// The level of the daemon's summary line: info for a clean run, warn for a failed one,
    /// error once failures have repeated `escalate` times or more in a row.
    pub fn level(&self, consecutive_failures: u32, escalate: u32) -> tracing::Level {
        if self.succeeded() {
            tracing::Level::INFO
        } else if consecutive_failures >= escalate {
            tracing::Level::ERROR
        } else {
            tracing::Level::WARN
        }
    }

    /// Logs the summary line at `level`.
    pub fn log(&self, level: tracing::Level, consecutive_failures: u32) {
        let error = self.error.as_deref().unwrap_or("");
        macro_rules! line {
            ($level:ident) => {
                tracing::$level!(
                    run_id = %self.run_id,
                    target = %self.target,
                    duration_ms = u64::try_from(self.duration.as_millis()).unwrap_or(u64::MAX),
                    dry_run = self.dry_run,
                    created = self.created,
                    updated = self.updated,
                    reactivated = self.reactivated,
                    deactivated = self.deactivated,
                    failed = self.failed,
                    unchanged = self.unchanged,
                    skipped = self.skipped,
                    consecutive_failures,
                    error,
                    "run finished: {self}"
                )
            };
        }
        match level {
            tracing::Level::ERROR => line!(error),
            tracing::Level::WARN => line!(warn),
            tracing::Level::INFO => line!(info),
            tracing::Level::DEBUG => line!(debug),
            tracing::Level::TRACE => line!(trace),
        }
    }
}

impl fmt::Display for RunSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let outcome = if let Some(error) = &self.error {
            // Only the first line: mapping errors carry their rendered diagnostics.
            let first = error.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            return write!(
                f,
                "failed after {:.1}s: {first}",
                self.duration.as_secs_f64()
            );
        } else if self.failed > 0 {
            "completed with failures"
        } else {
            "ok"
        };
        write!(
            f,
            "{outcome} in {:.1}s: {} created, {} updated, {} reactivated, {} deactivated, {} failed; {} unchanged, {} skipped",
            self.duration.as_secs_f64(),
            self.created,
            self.updated,
            self.reactivated,
            self.deactivated,
            self.failed,
            self.unchanged,
            self.skipped
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_run_shows_the_first_line_of_its_error() {
        let started = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let summary = RunSummary::new(
            "r1",
            "app",
            started,
            Duration::from_millis(2500),
            false,
            Err(&std::io::Error::other("\nmapping x.map: 1 error(s)\nmore")),
        );
        assert!(!summary.succeeded());
        assert_eq!(
            summary.to_string(),
            "failed after 2.5s: mapping x.map: 1 error(s)"
        );
        assert_eq!(summary.finished.timestamp(), 1_700_000_002);
    }

    #[test]
    fn a_run_stopped_by_a_long_retry_after_is_not_a_success() {
        let started = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let held = scimsync_scim::throttle::HeldOff::new(
            Duration::from_secs(3600),
            Duration::from_secs(60),
            started,
        );
        let report = RunReport {
            run_id: "r2".into(),
            changes: Default::default(),
            groups: Default::default(),
            member_skips: Vec::new(),
            applied: Some(crate::sync::apply::Applied {
                created: 2,
                not_started: 3,
                ..Default::default()
            }),
            safety: None,
            requests: Default::default(),
            cancelled: false,
            held_off: Some(held),
            aliases: Vec::new(),
            kind: crate::sync::kind::Decided::default(),
        };
        let summary = RunSummary::new(
            "r2",
            "app",
            started,
            Duration::from_secs(1),
            false,
            Ok(&report),
        );
        assert!(!summary.succeeded());
        assert_eq!(summary.created, 2);
        assert_eq!(
            summary.to_string(),
            "failed after 1.0s: the target asks to wait 3600 s, more than max_backoff_seconds (60 s); nothing more was sent to it"
        );
    }
}
