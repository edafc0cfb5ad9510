//! The daemon's health, per target and overall: each target's last run, last success and
//! failure streak, and the verdict `/healthz` gives from them.
//!
//! | status | HTTP | when |
//! | --- | --- | --- |
//! | `ok` | 200 | the last run succeeded and the last success is recent enough |
//! | `starting` | 200 | no run has finished yet, and the daemon started recently enough |
//! | `degraded` | 200 | the last run failed, fewer times in a row than `failure_threshold` |
//! | `unhealthy` | 503 | `failure_threshold` failures in a row, or no success for longer than `max_success_age_seconds`, or the target's settings or mapping are unusable |
//!
//! `/healthz` is the overall verdict: the worst status of the targets (503 when any is
//! unhealthy), each target's own document under `targets`; with one target, the top level is
//! also that target's document, as it was before there could be several. `/healthz/{name}` is
//! one target's document alone, with its own verdict.
//!
//! `/healthz` answers anyone who can reach the listener, so it carries counts, results and ids
//! only: the last run's summary (which quotes what went wrong, server text included) is added
//! only with `[http] expose_details = true`.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value as Json, json};

use crate::observe::summary::RunSummary;

/// One target's health.
#[derive(Debug)]
pub struct TargetHealth {
    pub started: DateTime<Utc>,
    pub last_run: Option<RunSummary>,
    pub last_success: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    pub failure_threshold: u32,
    /// Whether `/healthz` shows the last run's summary text (`[http] expose_details`).
    pub expose_details: bool,
    /// The id of the run in progress.
    pub running: Option<String>,
    pub next_run: Option<DateTime<Utc>>,
    /// The target's settings or mapping cannot be used: it is not scheduled.
    pub unusable: bool,
}

fn age_seconds(now: DateTime<Utc>, then: DateTime<Utc>) -> i64 {
    (now - then).num_seconds().max(0)
}

/// How bad a status is: the overall status is the worst of the targets'.
fn severity(status: &str) -> u8 {
    match status {
        "unhealthy" => 3,
        "degraded" => 2,
        "starting" => 1,
        _ => 0,
    }
}

impl TargetHealth {
    pub fn new(started: DateTime<Utc>, failure_threshold: u32) -> TargetHealth {
        TargetHealth {
            started,
            last_run: None,
            last_success: None,
            consecutive_failures: 0,
            failure_threshold,
            expose_details: false,
            running: None,
            next_run: None,
            unusable: false,
        }
    }

    /// Records a finished run; returns the failure streak after it.
    pub fn record(&mut self, summary: &RunSummary) -> u32 {
        if summary.succeeded() {
            self.consecutive_failures = 0;
            self.last_success = Some(summary.finished);
        } else {
            self.consecutive_failures += 1;
        }
        self.last_run = Some(summary.clone());
        self.running = None;
        self.consecutive_failures
    }

    /// Whether the last run failed, or the target cannot run.
    pub fn failing(&self) -> bool {
        self.unusable || self.consecutive_failures > 0
    }

    /// Why the target is unhealthy at `now` (nothing when it is not).
    fn reasons(&self, now: DateTime<Utc>, max_age: i64) -> Vec<String> {
        let mut reasons = Vec::new();
        if self.unusable {
            reasons.push(
                "its settings or mapping are unusable (the daemon log has the diagnostics)"
                    .to_owned(),
            );
        }
        if self.consecutive_failures >= self.failure_threshold {
            reasons.push(format!(
                "{} runs in a row failed",
                self.consecutive_failures
            ));
        }
        let stale = match self.last_success {
            Some(success) => age_seconds(now, success) > max_age,
            None => age_seconds(now, self.started) > max_age,
        };
        if stale {
            reasons.push(format!("no successful run in the last {max_age}s"));
        }
        reasons
    }

    /// Whether the target is healthy at `now`, and its `/healthz` document.
    pub fn verdict(&self, now: DateTime<Utc>, max_success_age: Duration) -> (bool, Json) {
        let max_age = i64::try_from(max_success_age.as_secs()).unwrap_or(i64::MAX);
        let reasons = self.reasons(now, max_age);
        let status = if !reasons.is_empty() {
            "unhealthy"
        } else if self.consecutive_failures > 0 {
            "degraded"
        } else if self.last_run.is_none() {
            "starting"
        } else {
            "ok"
        };
        let last_run = self
            .last_run
            .as_ref()
            .map(|run| self.run_document(run, now));
        let document = json!({
            "status": status,
            "reasons": reasons,
            "last_run": last_run,
            "last_success": self.last_success.map(|t| t.to_rfc3339()),
            "last_success_age_seconds": self.last_success.map(|t| age_seconds(now, t)),
            "max_success_age_seconds": max_age,
            "consecutive_failures": self.consecutive_failures,
            "running": self.running,
            "next_run": self.next_run.map(|t| t.to_rfc3339()),
        });
        (status != "unhealthy", document)
    }

    /// The last run as `/healthz` shows it: counts and codes, and the summary text only when
    /// details are exposed.
    fn run_document(&self, run: &RunSummary, now: DateTime<Utc>) -> Json {
        let mut document = json!({
            "run_id": run.run_id,
            "result": if run.succeeded() { "success" } else { "failure" },
            "stopped": run.error.is_some(),
            "dry_run": run.dry_run,
            "finished": run.finished.to_rfc3339(),
            "age_seconds": age_seconds(now, run.finished),
            "counts": {
                "created": run.created,
                "updated": run.updated,
                "reactivated": run.reactivated,
                "deactivated": run.deactivated,
                "failed": run.failed,
                "unchanged": run.unchanged,
                "skipped": run.skipped,
            },
        });
        if self.expose_details {
            document["summary"] = json!(run.to_string());
        }
        document
    }
}

/// The health of every target the daemon serves, in config order.
#[derive(Debug, Default)]
pub struct Health {
    targets: Vec<(String, TargetHealth)>,
}

impl Health {
    /// The health of `name`, added (fresh, at the end) when it is new.
    pub fn target(&mut self, name: &str, now: DateTime<Utc>) -> &mut TargetHealth {
        let index = match self.targets.iter().position(|(n, _)| n == name) {
            Some(index) => index,
            None => {
                self.targets
                    .push((name.to_owned(), TargetHealth::new(now, 3)));
                self.targets.len() - 1
            }
        };
        &mut self.targets[index].1
    }

    /// The health of `name`, when the daemon serves it.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut TargetHealth> {
        self.targets
            .iter_mut()
            .find(|(n, _)| n == name)
            .map(|(_, health)| health)
    }

    /// Keeps the targets of `names`, in that order (a reload may add, remove and reorder).
    pub fn keep_only(&mut self, names: &[&str]) {
        let mut old = std::mem::take(&mut self.targets);
        for name in names {
            if let Some(index) = old.iter().position(|(n, _)| n == name) {
                self.targets.push(old.swap_remove(index));
            }
        }
    }

    /// Every target's health, in config order.
    pub fn targets(&self) -> impl Iterator<Item = (&str, &TargetHealth)> {
        self.targets
            .iter()
            .map(|(name, health)| (name.as_str(), health))
    }

    /// The verdict and `/healthz/{name}` document of one target; `None` for an unknown name.
    pub fn target_verdict(
        &self,
        name: &str,
        now: DateTime<Utc>,
        max_success_age: Duration,
    ) -> Option<(bool, Json)> {
        self.targets
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, health)| health.verdict(now, max_success_age))
    }

    /// Whether every target is healthy at `now`, and the `/healthz` document: the worst
    /// status, every unhealthy target's reasons (prefixed with its name), the earliest next
    /// run and each target's own document under `targets`. With one target the top level is
    /// that target's document.
    pub fn verdict(&self, now: DateTime<Utc>, max_success_age: Duration) -> (bool, Json) {
        let verdicts: Vec<(&str, bool, Json)> = self
            .targets
            .iter()
            .map(|(name, health)| {
                let (healthy, document) = health.verdict(now, max_success_age);
                (name.as_str(), healthy, document)
            })
            .collect();
        let healthy = verdicts.iter().all(|(_, healthy, _)| *healthy);
        let targets: serde_json::Map<String, Json> = verdicts
            .iter()
            .map(|(name, _, document)| ((*name).to_owned(), document.clone()))
            .collect();
        let mut document = match verdicts.as_slice() {
            [(_, _, only)] => only.clone(),
            _ => overall_document(&verdicts, &self.targets),
        };
        document["targets"] = Json::Object(targets);
        (healthy, document)
    }
}

impl Health {
    /// systemd's `STATUS=`: for one target its last run and next run, as it always was; for
    /// several, how many are ok, failing and waiting, and the next run of any.
    pub fn status_line(&self) -> String {
        let next = self.targets.iter().filter_map(|(_, h)| h.next_run).min();
        let next = next.map_or_else(
            || "none".to_owned(),
            |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        );
        if let [(_, only)] = self.targets.as_slice() {
            return match &only.last_run {
                None => format!("waiting for the first run; next run {next}"),
                Some(run) => format!("last run {}: {run}; next run {next}", run.run_id),
            };
        }
        let failing = self.targets.iter().filter(|(_, h)| h.failing()).count();
        let waiting = self
            .targets
            .iter()
            .filter(|(_, h)| !h.failing() && h.last_run.is_none())
            .count();
        let ok = self.targets.len() - failing - waiting;
        let mut line = format!("{} targets: {ok} ok, {failing} failing", self.targets.len());
        if waiting > 0 {
            line.push_str(&format!(", {waiting} waiting for their first run"));
        }
        format!("{line}; next run {next}")
    }
}

/// The top level of `/healthz` for several targets.
fn overall_document(verdicts: &[(&str, bool, Json)], targets: &[(String, TargetHealth)]) -> Json {
    let status = verdicts
        .iter()
        .filter_map(|(_, _, document)| document["status"].as_str())
        .max_by_key(|status| severity(status))
        .unwrap_or("starting");
    let reasons: Vec<String> = verdicts
        .iter()
        .flat_map(|(name, _, document)| {
            document["reasons"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Json::as_str)
                .map(move |reason| format!("target {name}: {reason}"))
        })
        .collect();
    let next_run = targets.iter().filter_map(|(_, h)| h.next_run).min();
    let running: BTreeMap<&str, &str> = targets
        .iter()
        .filter_map(|(name, h)| h.running.as_deref().map(|id| (name.as_str(), id)))
        .collect();
    json!({
        "status": status,
        "reasons": reasons,
        "running": running,
        "next_run": next_run.map(|t| t.to_rfc3339()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap()
    }

    fn run(finished_at: i64, error: Option<&str>) -> RunSummary {
        let mut summary = RunSummary::new(
            "r",
            "app",
            at(finished_at),
            Duration::ZERO,
            false,
            Err(&std::fmt::Error),
        );
        summary.error = error.map(str::to_owned);
        summary
    }

    #[test]
    fn statuses_follow_the_table() {
        let hour = Duration::from_secs(3600);
        let mut health = TargetHealth::new(at(0), 2);
        let (healthy, doc) = health.verdict(at(10), hour);
        assert!(healthy);
        assert_eq!(doc["status"], "starting");
        assert_eq!(health.record(&run(20, None)), 0);
        assert_eq!(health.verdict(at(30), hour).1["status"], "ok");
        assert_eq!(
            health.verdict(at(30), hour).1["last_success_age_seconds"],
            10
        );
        assert_eq!(health.record(&run(40, Some("boom"))), 1);
        let (healthy, doc) = health.verdict(at(50), hour);
        assert!(healthy);
        assert_eq!(doc["status"], "degraded");
        assert_eq!(doc["last_run"]["result"], "failure");
        assert_eq!(health.record(&run(60, Some("boom"))), 2);
        let (healthy, doc) = health.verdict(at(70), hour);
        assert!(!healthy);
        assert_eq!(doc["reasons"][0], "2 runs in a row failed");
        health.record(&run(80, None));
        let (healthy, doc) = health.verdict(at(80 + 3601), hour);
        assert!(!healthy, "{doc}");
        assert_eq!(doc["reasons"][0], "no successful run in the last 3600s");
    }

    #[test]
    fn the_last_run_shows_counts_and_its_text_only_when_details_are_exposed() {
        let hour = Duration::from_secs(3600);
        let mut health = TargetHealth::new(at(0), 3);
        let mut failed = run(20, Some("POST /Users failed with HTTP 401: echo: Bearer x"));
        failed.created = 2;
        failed.failed = 1;
        health.record(&failed);
        let (_, doc) = health.verdict(at(30), hour);
        assert_eq!(
            doc["last_run"],
            json!({
                "run_id": "r",
                "result": "failure",
                "stopped": true,
                "dry_run": false,
                "finished": at(20).to_rfc3339(),
                "age_seconds": 10,
                "counts": {"created": 2, "updated": 0, "reactivated": 0, "deactivated": 0,
                           "failed": 1, "unchanged": 0, "skipped": 0},
            })
        );
        assert!(!doc.to_string().contains("echo"), "{doc}");
        health.expose_details = true;
        let (_, doc) = health.verdict(at(30), hour);
        assert_eq!(
            doc["last_run"]["summary"],
            "failed after 0.0s: POST /Users failed with HTTP 401: echo: Bearer x"
        );
    }

    #[test]
    fn the_overall_verdict_is_the_worst_target_and_one_target_stays_on_top() {
        let hour = Duration::from_secs(3600);
        let mut health = Health::default();
        health.target("hr", at(0)).record(&run(20, None));
        let (healthy, doc) = health.verdict(at(30), hour);
        assert!(healthy);
        let (_, hr) = health.target_verdict("hr", at(30), hour).unwrap();
        let mut expected = hr.clone();
        expected["targets"] = json!({"hr": hr});
        assert_eq!(doc, expected, "one target: its document, plus `targets`");
        assert_eq!(
            health.status_line(),
            "last run r: ok in 0.0s: 0 created, 0 updated, 0 reactivated, 0 deactivated, 0 failed; 0 unchanged, 0 skipped; next run none"
        );

        let crm = health.target("crm", at(0));
        crm.failure_threshold = 2;
        crm.record(&run(20, Some("down")));
        crm.next_run = Some(at(40));
        health.target("wiki", at(0));
        let (healthy, doc) = health.verdict(at(30), hour);
        assert!(healthy, "{doc}");
        assert_eq!(doc["status"], "degraded");
        assert_eq!(doc["next_run"], at(40).to_rfc3339());
        assert_eq!(
            health.status_line(),
            format!(
                "3 targets: 1 ok, 1 failing, 1 waiting for their first run; next run {}",
                at(40).format("%Y-%m-%d %H:%M:%S UTC")
            )
        );
        health
            .get_mut("crm")
            .unwrap()
            .record(&run(25, Some("down")));
        health.get_mut("wiki").unwrap().unusable = true;
        let (healthy, doc) = health.verdict(at(30), hour);
        assert!(!healthy);
        assert_eq!(doc["status"], "unhealthy");
        assert_eq!(
            doc["reasons"],
            json!([
                "target crm: 2 runs in a row failed",
                "target wiki: its settings or mapping are unusable (the daemon log has the diagnostics)"
            ])
        );
        assert_eq!(doc["targets"]["hr"]["status"], "ok");
        assert!(health.target_verdict("hr", at(30), hour).unwrap().0);
        assert!(health.target_verdict("nope", at(30), hour).is_none());

        health.keep_only(&["wiki", "hr"]);
        let names: Vec<&str> = health.targets().map(|(n, _)| n).collect();
        assert_eq!(names, ["wiki", "hr"]);
    }
}
