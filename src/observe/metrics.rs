//! The daemon's Prometheus metrics (rendered at `/metrics` in the text exposition format):
//!
//! | metric | type | labels |
//! | --- | --- | --- |
//! | `scimsync_runs_total` | counter | `result` = success, failure |
//! | `scimsync_ticks_skipped_total` | counter | (a tick came while a run was still going) |
//! | `scimsync_operations_total` | counter | `operation` = create, update, reactivate, deactivate; `result` = success, failure |
//! | `scimsync_request_duration_seconds` | histogram | `kind` = list, write |
//! | `scimsync_last_success_timestamp_seconds` | gauge | |
//! | `scimsync_last_run_duration_seconds` | gauge | |
//! | `scimsync_consecutive_failures` | gauge | |
//! | `scimsync_users_in_scope` | gauge | (users the mapping provisions, last run) |
//! | `scimsync_source_users` | gauge | (users read from the source, last run) |
//! | `scimsync_config_reloads_total` | counter | `result` = success, failure |

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use chrono::{DateTime, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::sync::event::{Mapped, WriteEvent, WriteObserver, WriteResult};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

fn latency_histogram() -> Histogram {
    // 5 ms .. ~20 s.
    Histogram::new(exponential_buckets(0.005, 2.0, 13))
}

/// Every metric of the process, and the registry that renders them.
pub struct Metrics {
    registry: Registry,
    runs: Family<ResultLabel, Counter>,
    ticks_skipped: Counter,
    operations: Family<OperationLabels, Counter>,
    request_duration: Family<KindLabel, Histogram>,
    last_success: Gauge<f64, AtomicU64>,
    last_run_duration: Gauge<f64, AtomicU64>,
    consecutive_failures: Gauge,
    users_in_scope: Gauge,
    source_users: Gauge,
    reloads: Family<ResultLabel, Counter>,
}

fn result_label(success: bool) -> ResultLabel {
    ResultLabel {
        result: if success { "success" } else { "failure" },
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("scimsync");
        let runs = Family::<ResultLabel, Counter>::default();
        let ticks_skipped = Counter::default();
        let operations = Family::<OperationLabels, Counter>::default();
        let request_duration =
            Family::<KindLabel, Histogram>::new_with_constructor(latency_histogram as fn() -> _);
        let last_success = Gauge::<f64, AtomicU64>::default();
        let last_run_duration = Gauge::<f64, AtomicU64>::default();
        let consecutive_failures = Gauge::default();
        let users_in_scope = Gauge::default();
        let source_users = Gauge::default();
        let reloads = Family::<ResultLabel, Counter>::default();
        registry.register("runs", "Sync runs, by result", runs.clone());
        registry.register(
            "ticks_skipped",
            "Schedule ticks skipped because a run was still in progress",
            ticks_skipped.clone(),
        );
        registry.register(
            "operations",
            "Writes to the target, by operation and result",
            operations.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Duration of SCIM requests (list: the whole paged listing; write: one create or patch)",
            request_duration.clone(),
        );
        registry.register(
            "last_success_timestamp_seconds",
            "Unix time the last successful run finished (0: none yet)",
            last_success.clone(),
        );
        registry.register(
            "last_run_duration_seconds",
            "Duration of the last run",
            last_run_duration.clone(),
        );
        registry.register(
            "consecutive_failures",
            "Failed runs since the last successful one",
            consecutive_failures.clone(),
        );
        registry.register(
            "users_in_scope",
            "Users the mapping provisions, as of the last run",
            users_in_scope.clone(),
        );
        registry.register(
            "source_users",
            "Users read from the source, as of the last run",
            source_users.clone(),
        );
        registry.register(
            "config_reloads",
            "Configuration reloads (SIGHUP), by result",
            reloads.clone(),
        );
        Metrics {
            registry,
            runs,
            ticks_skipped,
            operations,
            request_duration,
            last_success,
            last_run_duration,
            consecutive_failures,
            users_in_scope,
            source_users,
            reloads,
        }
    }

    /// Records a finished run.
    pub fn run_finished(
        &self,
        success: bool,
        finished: DateTime<Utc>,
        duration: Duration,
        consecutive_failures: u32,
    ) {
        self.runs.get_or_create(&result_label(success)).inc();
        if success {
            self.last_success
                .set(finished.timestamp_millis() as f64 / 1000.0);
        }
        self.last_run_duration.set(duration.as_secs_f64());
        self.consecutive_failures
            .set(i64::from(consecutive_failures));
    }

    pub fn tick_skipped(&self) {
        self.ticks_skipped.inc();
    }

    pub fn reloaded(&self, success: bool) {
        self.reloads.get_or_create(&result_label(success)).inc();
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
        self.users_in_scope
            .set(i64::try_from(mapped.in_scope).unwrap_or(i64::MAX));
        self.source_users
            .set(i64::try_from(mapped.source).unwrap_or(i64::MAX));
    }

    fn listed(&self, _target: &str, _users: usize, latency: Duration) {
        self.request_duration
            .get_or_create(&KindLabel { kind: "list" })
            .observe(latency.as_secs_f64());
    }

    fn record(&self, event: &WriteEvent) {
        // Planned writes (dry runs) were not sent: they are neither operations nor requests.
        if event.result == WriteResult::Planned {
            return;
        }
        self.operations
            .get_or_create(&OperationLabels {
                operation: event.operation.name(),
                result: result_label(event.succeeded()).result,
            })
            .inc();
        self.request_duration
            .get_or_create(&KindLabel { kind: "write" })
            .observe(event.latency.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::event::Operation;
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
        metrics.run_finished(
            true,
            DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            Duration::from_millis(1500),
            0,
        );
        let text = metrics.render();
        for expected in [
            "scimsync_runs_total{result=\"success\"} 1\n",
            "scimsync_operations_total{operation=\"create\",result=\"success\"} 1\n",
            "scimsync_request_duration_seconds_count{kind=\"write\"} 1\n",
            "scimsync_request_duration_seconds_bucket{le=\"0.04\",kind=\"write\"} 1\n",
            "scimsync_last_success_timestamp_seconds 1700000000.0\n",
            "scimsync_users_in_scope 10\n",
            "scimsync_last_run_duration_seconds 1.5\n",
            "# EOF\n",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} missing from:\n{text}"
            );
        }
    }
}
