//! A run over several targets for people and for programs: each target's plan (and what was
//! applied) under its name, with its status, then the totals.
//!
//! The text is stable (scripts and the tests read it): one section per target in config order,
//! headed `── target NAME: STATUS ──` ([`TargetStatus::name`]), holding what a single-target
//! run prints (the plan, then after a real run the `Applied:` lines) or the target's error;
//! a blank line after each section; then one `Total:` line. `, N to delete` (`N deleted`)
//! appears only when something is deleted, as on a `Plan:` line.
//!
//! ```text
//! ── target base44: ok ──
//! + create ada@example.com
//!     userName: "ada@example.com"
//! Plan: 1 to create, 0 to update, 0 to reactivate, 0 to deactivate; 17 unchanged, 0 skipped.
//!
//! ── target appspace: failed ──
//! error: cannot list the target's users: ...
//!
//! Total: 2 targets, 1 ok, 1 failed; 1 to create, 0 to update, 0 to reactivate, 0 to deactivate; 17 unchanged, 0 skipped.
//! ```
//!
//! After a real run the total counts what was applied:
//! `Total: 2 targets, 2 ok, 0 failed; 1 created, 0 updated, 0 reactivated, 0 deactivated; 0 write(s) failed; 17 unchanged, 0 skipped.`
//!
//! The JSON document is `{dry_run, run_id, targets: [{name, status, exit_code, error?, ...the
//! single-target report}], total}` ([`json`]).

use std::fmt::Write as _;

use serde::Serialize;

use super::{JsonReport, applied_text_listing, report_json, report_text_listing};
use crate::sync::diff::Action;
use crate::sync::observed::{RunError, RunOutcome, TargetOutcome};
use crate::sync::{RunReport, SyncError};

/// How one target's part of a run ended, as the report and `/healthz` name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetStatus {
    /// Planned (dry run) or applied, every write accepted.
    Ok,
    /// Applied, but some writes failed.
    WritesFailed,
    /// The safety guard refused the run's removals: nothing was written.
    Refused,
    /// The target asked to be left alone longer than allowed: the writes after that wait.
    HeldOff,
    /// Stopped by a signal; the writes made are saved.
    Interrupted,
    /// Failed before any write (unreachable, misconfigured, a broken mapping, the source).
    Failed,
}

impl TargetStatus {
    pub fn of(outcome: &TargetOutcome) -> TargetStatus {
        match &outcome.report {
            Ok(report) => TargetStatus::of_report(report),
            Err(error) => match error.sync() {
                Some(SyncError::Safety(_)) => TargetStatus::Refused,
                _ if outcome.held_off().is_some() => TargetStatus::HeldOff,
                _ => TargetStatus::Failed,
            },
        }
    }

    fn of_report(report: &RunReport) -> TargetStatus {
        if report.held_off.is_some() {
            TargetStatus::HeldOff
        } else if report.cancelled {
            TargetStatus::Interrupted
        } else if report.failed() {
            TargetStatus::WritesFailed
        } else {
            TargetStatus::Ok
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TargetStatus::Ok => "ok",
            TargetStatus::WritesFailed => "writes failed",
            TargetStatus::Refused => "refused by the safety guard",
            TargetStatus::HeldOff => "held off by the target",
            TargetStatus::Interrupted => "interrupted",
            TargetStatus::Failed => "failed",
        }
    }

    /// The exit status a run of this target alone would have.
    pub fn exit_code(self) -> u8 {
        u8::from(self != TargetStatus::Ok)
    }
}

/// Every target's section, then the totals line.
pub fn text(outcome: &RunOutcome, dry_run: bool, verbose: bool) -> String {
    let mut out = String::new();
    for target in &outcome.targets {
        let status = TargetStatus::of(target);
        let _ = writeln!(out, "── target {}: {} ──", target.name, status.name());
        match &target.report {
            Ok(report) => {
                out.push_str(&report_text_listing(report, dry_run, verbose));
                if let Some(applied) = &report.applied {
                    out.push_str(&applied_text_listing(applied, verbose));
                }
            }
            Err(error) => {
                out.push_str(&error_text(error));
                out.push('\n');
            }
        }
        out.push('\n');
    }
    out.push_str(&totals_line(outcome, dry_run));
    out.push('\n');
    out
}

/// A target's error the way the CLI prints errors (a mapping's diagnostics in full).
pub fn error_text(error: &RunError) -> String {
    match error.sync() {
        Some(sync) => super::error_text(sync).trim_end().to_owned(),
        None => format!("error: {error}"),
    }
}

/// Counts of one action over every target: planned for a dry run, applied otherwise.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Totals {
    pub targets: usize,
    pub ok: usize,
    pub failed: usize,
    pub create: usize,
    pub update: usize,
    pub reactivate: usize,
    pub deactivate: usize,
    pub delete: usize,
    pub unchanged: usize,
    pub skipped: usize,
    /// Writes sent and refused (after a real run).
    pub failed_writes: usize,
}

impl Totals {
    pub fn of(outcome: &RunOutcome) -> Totals {
        let mut totals = Totals {
            targets: outcome.targets.len(),
            ..Totals::default()
        };
        for target in &outcome.targets {
            if TargetStatus::of(target) == TargetStatus::Ok {
                totals.ok += 1;
            } else {
                totals.failed += 1;
            }
            if let Ok(report) = &target.report {
                totals.add(report);
            }
        }
        totals
    }

    fn add(&mut self, report: &RunReport) {
        let changes = &report.changes;
        self.unchanged += changes.unchanged;
        self.skipped += changes.skipped.len();
        match &report.applied {
            None => {
                self.create += changes.count(Action::Create);
                self.update += changes.count(Action::Update);
                self.reactivate += changes.count(Action::Reactivate);
                self.deactivate += changes.count(Action::Deactivate);
                self.delete += changes.count(Action::Delete);
            }
            Some(applied) => {
                self.create += applied.created;
                self.update += applied.updated;
                self.reactivate += applied.reactivated;
                self.deactivate += applied.deactivated;
                self.delete += applied.deleted;
                self.failed_writes += applied.failures.len();
            }
        }
    }
}

/// `Total: 3 targets, 2 ok, 1 failed; 4 to create, ...` (planned) or `...; 4 created, ...`.
pub fn totals_line(outcome: &RunOutcome, dry_run: bool) -> String {
    let t = Totals::of(outcome);
    let noun = if t.targets == 1 { "target" } else { "targets" };
    let head = format!(
        "Total: {} {noun}, {} ok, {} failed",
        t.targets, t.ok, t.failed
    );
    if dry_run {
        let delete = match t.delete {
            0 => String::new(),
            n => format!(", {n} to delete"),
        };
        format!(
            "{head}; {} to create, {} to update, {} to reactivate, {} to deactivate{delete}; {} unchanged, {} skipped.",
            t.create, t.update, t.reactivate, t.deactivate, t.unchanged, t.skipped
        )
    } else {
        let deleted = match t.delete {
            0 => String::new(),
            n => format!(", {n} deleted"),
        };
        format!(
            "{head}; {} created, {} updated, {} reactivated, {} deactivated{deleted}; {} write(s) failed; {} unchanged, {} skipped.",
            t.create, t.update, t.reactivate, t.deactivate, t.failed_writes, t.unchanged, t.skipped
        )
    }
}

/// One target in the JSON document: its name, status and exit code, then its report (or its
/// error).
#[derive(Serialize)]
pub struct JsonTarget<'a> {
    name: &'a str,
    status: TargetStatus,
    exit_code: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    report: Option<JsonReport<'a>>,
}

/// The whole run as one JSON document: `targets` (each with its report) and `total`.
#[derive(Serialize)]
pub struct JsonRun<'a> {
    dry_run: bool,
    run_id: &'a str,
    targets: Vec<JsonTarget<'a>>,
    total: Totals,
}

pub fn json(outcome: &RunOutcome, dry_run: bool) -> JsonRun<'_> {
    JsonRun {
        dry_run,
        run_id: &outcome.run_id,
        targets: outcome
            .targets
            .iter()
            .map(|t| json_target(t, dry_run))
            .collect(),
        total: Totals::of(outcome),
    }
}

pub fn json_target(target: &TargetOutcome, dry_run: bool) -> JsonTarget<'_> {
    let status = TargetStatus::of(target);
    JsonTarget {
        name: &target.name,
        status,
        exit_code: status.exit_code(),
        error: target.report.as_ref().err().map(ToString::to_string),
        report: target.report.as_ref().ok().map(|r| report_json(r, dry_run)),
    }
}

/// The `targets` entry a single-target report carries: its name, status and exit code.
#[derive(Serialize)]
pub struct JsonTargetStatus<'a> {
    name: &'a str,
    status: TargetStatus,
    exit_code: u8,
}

impl<'a> JsonTargetStatus<'a> {
    pub fn new(name: &'a str, status: TargetStatus) -> JsonTargetStatus<'a> {
        JsonTargetStatus {
            name,
            status,
            exit_code: status.exit_code(),
        }
    }
}
