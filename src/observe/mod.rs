//! Observability of sync runs: what happens during a run is reported as events to an
//! [`Observer`]; the audit log, the metrics, the progress display and the daemon's
//! cancellation each implement it. The sync pipeline knows only this trait.
//!
//! ```text
//! sync::run_with ─(mapped, listed, planned, write)─▶ Observer ─▶ audit.rs   (JSON Lines file)
//!                                                             ├▶ metrics.rs (Prometheus registry)
//!                                                             └▶ progress.rs (indicatif / plain lines)
//! ```

pub mod audit;
pub mod logging;
pub mod metrics;
pub mod progress;
pub mod summary;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::scim::client::ClientError;
use crate::sync::diff::{Action, Change};

/// How the source mapped, before anything is compared with the target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mapped {
    /// Users read from the source.
    pub source: usize,
    /// Users the mapping provisions (in scope, not skipped).
    pub in_scope: usize,
    pub skipped: usize,
}

/// One write to the target and how it went. Carries attribute *names* only, never values.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteEvent {
    pub time: DateTime<Utc>,
    pub operation: Action,
    pub resource_type: &'static str,
    /// The target's id; `None` for a create that failed.
    pub id: Option<String>,
    pub user_name: String,
    /// The attributes written (SCIM paths).
    pub attributes: Vec<String>,
    pub outcome: WriteOutcome,
    pub latency: Duration,
}

#[derive(Clone, Debug, PartialEq)]
pub enum WriteOutcome {
    Succeeded,
    Failed {
        /// The HTTP status, when the server answered.
        status: Option<u16>,
        /// SCIM `scimType`, when the server sent one.
        scim_type: Option<String>,
        /// SCIM `detail`, or what went wrong on the way (never the token).
        detail: String,
    },
}

impl WriteEvent {
    /// The event for `change`, written or failed after `latency`.
    pub fn new(
        change: &Change,
        result: Result<&str, &ClientError>,
        latency: Duration,
    ) -> WriteEvent {
        let outcome = match result {
            Ok(_) => WriteOutcome::Succeeded,
            Err(ClientError::Status {
                status,
                scim_type,
                detail,
                ..
            }) => WriteOutcome::Failed {
                status: Some(*status),
                scim_type: scim_type.clone(),
                detail: detail
                    .clone()
                    .unwrap_or_else(|| format!("HTTP {status} without a SCIM detail")),
            },
            Err(other) => WriteOutcome::Failed {
                status: None,
                scim_type: None,
                detail: other.to_string(),
            },
        };
        let id = match result {
            Ok(id) if !id.is_empty() => Some(id.to_owned()),
            _ => change.id.clone(),
        };
        WriteEvent {
            time: Utc::now(),
            operation: change.action,
            resource_type: "User",
            id,
            user_name: change.user_name.clone(),
            attributes: change.attributes.iter().map(|a| a.path.clone()).collect(),
            outcome,
            latency,
        }
    }

    pub fn succeeded(&self) -> bool {
        self.outcome == WriteOutcome::Succeeded
    }
}

/// Receives the events of one run. Every method has a do-nothing default.
pub trait Observer: Send + Sync {
    /// The source was read and mapped.
    fn mapped(&self, _mapped: &Mapped) {}
    /// The target's users were listed (`users` of them, in `latency`).
    fn listed(&self, _users: usize, _latency: Duration) {}
    /// The run is about to send `writes` writes.
    fn planned(&self, _writes: usize) {}
    /// One write finished.
    fn write(&self, _event: &WriteEvent) {}
    /// Whether the run should start no further writes (shutdown was asked for). Writes already
    /// in flight finish, and the state is saved.
    fn cancelled(&self) -> bool {
        false
    }
}

/// The observer that does nothing.
pub struct Quiet;

impl Observer for Quiet {}

/// Hands every event to each of several observers; cancelled when any of them is.
#[derive(Default)]
pub struct Fanout(pub Vec<Arc<dyn Observer>>);

impl Observer for Fanout {
    fn mapped(&self, mapped: &Mapped) {
        self.0.iter().for_each(|o| o.mapped(mapped));
    }
    fn listed(&self, users: usize, latency: Duration) {
        self.0.iter().for_each(|o| o.listed(users, latency));
    }
    fn planned(&self, writes: usize) {
        self.0.iter().for_each(|o| o.planned(writes));
    }
    fn write(&self, event: &WriteEvent) {
        self.0.iter().for_each(|o| o.write(event));
    }
    fn cancelled(&self) -> bool {
        self.0.iter().any(|o| o.cancelled())
    }
}

/// A flag set on shutdown; as an observer it cancels the run it is given to.
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl Observer for Cancel {
    fn cancelled(&self) -> bool {
        self.is_cancelled()
    }
}
