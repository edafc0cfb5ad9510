//! The daemon's Prometheus metrics (rendered at `/metrics` in the text exposition format).
//! Every series but the reload counter carries the `target` it is about (the name of the
//! `[[target]]`; for the single-target form, `[target] name` or else the URL's host).
//!
//! | metric | type | labels |
//! | --- | --- | --- |
//! | `scimsync_runs_total` | counter | `target`; `result` = success, failure |
//! | `scimsync_ticks_skipped_total` | counter | `target` (its tick came while its previous run was still going) |
//! | `scimsync_operations_total` | counter | `target`; `operation` = create, update, reactivate, deactivate; `result` = success, failure |
//! | `scimsync_request_duration_seconds` | histogram | `target`; `kind` = list, write |
//! | `scimsync_last_success_timestamp_seconds` | gauge | `target` |
//! | `scimsync_last_run_duration_seconds` | gauge | `target` |
//! | `scimsync_consecutive_failures` | gauge | `target` |
//! | `scimsync_users_in_scope` | gauge | `target` (users its mapping provisions, last run) |
//! | `scimsync_source_users` | gauge | `target` (users read from the source, last run) |
//! | `scimsync_config_reloads_total` | counter | `result` = success, failure |
//! | `scimsync_target_reloads_rejected_total` | counter | `target` (reloads that kept its previous settings and mapping) |

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::observe::summary::RunSummary;
use crate::sync::event::{Mapped, WriteEvent, WriteObserver, WriteResult};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetLabel {
    target: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetResultLabels {
    target: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    target: String,
    operation: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    target: String,
    kind: &'static str,
}

fn latency_histogram() -> Histogram {
    // 5 ms .. ~20 s.
    Histogram::new(exponential_buckets(0.005, 2.0, 13))
}

fn target_label(target: &str) -> TargetLabel {
    TargetLabel {
        target: target.to_owned(),
    }
}

fn result_name(success: bool) -> &'static str {
    if success { "success" } else { "failure" }
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Every metric of the process, and the registry that renders them.
pub struct Metrics {
    registry: Registry,
    runs: Family<TargetResultLabels, Counter>,
    ticks_skipped: Family<TargetLabel, Counter>,
    operations: Family<OperationLabels, Counter>,
    request_duration: Family<KindLabels, Histogram>,
    last_success: Family<TargetLabel, Gauge<f64, AtomicU64>>,
    last_run_duration: Family<TargetLabel, Gauge<f64, AtomicU64>>,
    consecutive_failures: Family<TargetLabel, Gauge>,
    users_in_scope: Family<TargetLabel, Gauge>,
    source_users: Family<TargetLabel, Gauge>,
    reloads: Family<ResultLabel, Counter>,
    target_reloads_rejected: Family<TargetLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("scimsync");
        let metrics = Metrics {
            registry: Registry::default(),
            runs: Family::default(),
            ticks_skipped: Family::default(),
            operations: Family::default(),
            request_duration: Family::new_with_constructor(latency_histogram as fn() -> _),
            last_success: Family::default(),
            last_run_duration: Family::default(),
            consecutive_failures: Family::default(),
            users_in_scope: Family::default(),
            source_users: Family::default(),
            reloads: Family::default(),
            target_reloads_rejected: Family::default(),
        };
        metrics.register(&mut registry);
        Metrics {
            registry,
            ..metrics
        }
    }

    fn register(&self, registry: &mut Registry) {
        registry.register("runs", "Sync runs, by target and result", self.runs.clone());
        registry.register(
            "ticks_skipped",
            "Schedule ticks skipped because the target's previous run was still in progress",
            self.ticks_skipped.clone(),
        );
        registry.register(
            "operations",
            "Writes to a target, by operation and result",
            self.operations.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Duration of SCIM requests (list: the whole paged listing; write: one create or patch)",
            self.request_duration.clone(),
        );
        registry.register(
            "last_success_timestamp_seconds",
            "Unix time the target's last successful run finished",
            self.last_success.clone(),
        );
        registry.register(
            "last_run_duration_seconds",
            "Duration of the target's last run",
            self.last_run_duration.clone(),
        );
        registry.register(
            "consecutive_failures",
            "Failed runs of the target since its last successful one",
            self.consecutive_failures.clone(),
        );
        registry.register(
            "users_in_scope",
            "Users the target's mapping provisions, as of its last run",
            self.users_in_scope.clone(),
        );
        registry.register(
            "source_users",
            "Users read from the source, as of the target's last run",
            self.source_users.clone(),
        );
        registry.register(
            "config_reloads",
            "Configuration reloads (SIGHUP), by result",
            self.reloads.clone(),
        );
        registry.register(
            "target_reloads_rejected",
            "Reloads whose new settings or mapping of the target were rejected (it kept its previous ones)",
            self.target_reloads_rejected.clone(),
        );
    }

    /// Records a target's finished run, and its failure streak after it.
    pub fn run_finished(&self, summary: &RunSummary, consecutive_failures: u32) {
        let target = target_label(&summary.target);
        let success = summary.succeeded();
        self.runs
            .get_or_create(&TargetResultLabels {
                target: summary.target.clone(),
                result: result_name(success),
            })
            .inc();
        if success {
            self.last_success
                .get_or_create(&target)
                .set(summary.finished.timestamp_millis() as f64 / 1000.0);
        }
        self.last_run_duration
            .get_or_create(&target)
            .set(summary.duration.as_secs_f64());
        self.consecutive_failures
            .get_or_create(&target)
            .set(i64::from(consecutive_failures));
    }

    /// The target's tick came while its previous run was still going.
    pub fn tick_skipped(&self, target: &str) {
        self.ticks_skipped
            .get_or_create(&target_label(target))
            .inc();
    }

    pub fn reloaded(&self, success: bool) {
        self.reloads
            .get_or_create(&ResultLabel {
                result: result_name(success),
            })
            .inc();
    }

    /// A reload rejected the target's new settings or mapping.
    pub fn target_reload_rejected(&self, target: &str) {
        self.target_reloads_rejected
            .get_or_create(&target_label(target))
            .inc();
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            tracing::error!("cannot encode the metrics");
        }
        text
    }
}

impl WriteObserver for Metrics {
    fn mapped(&self, mapped: &Mapped) {
        let target = target_label(&mapped.target);
        self.users_in_scope
            .get_or_create(&target)
            .set(count(mapped.in_scope));
        self.source_users
            .get_or_create(&target)
            .set(count(mapped.source));
    }

    fn listed(&self, target: &str, _users: usize, latency: Duration) {
        self.request_duration
            .get_or_create(&KindLabels {
                target: target.to_owned(),
                kind: "list",
            })
            .observe(latency.as_secs_f64());
    }

    fn record(&self, event: &WriteEvent) {
        // Planned writes (dry runs) were not sent: they are neither operations nor requests.
        if event.result == WriteResult::Planned {
            return;
        }
        self.operations
            .get_or_create(&OperationLabels {
                target: event.target.clone(),
                operation: event.operation.name(),
                result: result_name(event.succeeded()),
            })
            .inc();
        self.request_duration
            .get_or_create(&KindLabels {
                target: event.target.clone(),
                kind: "write",
            })
            .observe(event.latency.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::event::Operation;
    use chrono::{DateTime, Utc};
    use scimsync_scim::client::ResourceType;

    #[test]
    fn renders_prometheus_text() {
        let metrics = Metrics::new();
        metrics.mapped(&Mapped {
            target: "app".into(),
            source: 12,
            in_scope: 10,
            skipped: 1,
        });
        let created = WriteEvent {
            time: Utc::now(),
            run_id: "r".into(),
            target: "app".into(),
            operation: Operation::Create,
            resource_type: ResourceType::User,
            id: Some("x".into()),
            name: "a".into(),
            attributes: vec![],
            status: Some(201),
            result: WriteResult::Applied,
            latency: Duration::from_millis(30),
        };
        metrics.record(&created);
        // A planned write counts for nothing.
        metrics.record(&WriteEvent {
            result: WriteResult::Planned,
            ..created
        });
        let started = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let report = crate::sync::RunReport {
            run_id: "r".into(),
            changes: Default::default(),
            groups: Default::default(),
            member_skips: Vec::new(),
            applied: Some(Default::default()),
            safety: None,
            requests: Default::default(),
            cancelled: false,
            held_off: None,
            aliases: Vec::new(),
            kind: crate::sync::kind::Decided::default(),
        };
        let summary = |target: &str, error: Option<&str>| {
            let mut summary = RunSummary::new(
                "r",
                target,
                started,
                Duration::from_millis(1500),
                false,
                Ok(&report),
            );
            summary.error = error.map(str::to_owned);
            summary
        };
        metrics.run_finished(&summary("app", None), 0);
        metrics.run_finished(&summary("crm", Some("down")), 2);
        metrics.tick_skipped("crm");
        metrics.listed("crm", 3, Duration::from_millis(20));
        metrics.reloaded(true);
        metrics.target_reload_rejected("crm");
        let text = metrics.render();
        for expected in [
            "scimsync_runs_total{target=\"app\",result=\"success\"} 1\n",
            "scimsync_runs_total{target=\"crm\",result=\"failure\"} 1\n",
            "scimsync_ticks_skipped_total{target=\"crm\"} 1\n",
            "scimsync_operations_total{target=\"app\",operation=\"create\",result=\"success\"} 1\n",
            "scimsync_request_duration_seconds_count{target=\"app\",kind=\"write\"} 1\n",
            "scimsync_request_duration_seconds_bucket{le=\"0.04\",target=\"app\",kind=\"write\"} 1\n",
            "scimsync_request_duration_seconds_count{target=\"crm\",kind=\"list\"} 1\n",
            "scimsync_last_success_timestamp_seconds{target=\"app\"} 1700000001.5\n",
            "scimsync_users_in_scope{target=\"app\"} 10\n",
            "scimsync_source_users{target=\"app\"} 12\n",
            "scimsync_last_run_duration_seconds{target=\"app\"} 1.5\n",
            "scimsync_consecutive_failures{target=\"crm\"} 2\n",
            "scimsync_config_reloads_total{result=\"success\"} 1\n",
            "scimsync_target_reloads_rejected_total{target=\"crm\"} 1\n",
            "# EOF\n",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} missing from:\n{text}"
            );
        }
        // A failed run does not move the last success.
        assert!(!text.contains("scimsync_last_success_timestamp_seconds{target=\"crm\"}"));
    }
}
