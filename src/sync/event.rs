//! The one reporting point of a run: every write scimsync sends, plans (dry run) or holds back
//! becomes one [`WriteEvent`], handed to the run's [`WriteObserver`] as it happens. An audit
//! log, metrics or a progress display hook in here and nowhere else. Besides the writes, the
//! observer hears three milestones of the run (source mapped, target listed, writes planned),
//! which metrics and the progress display need before the first write.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use scimsync_scim::client::{ClientError, ResourceType};

/// What a write does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Create,
    Update,
    Reactivate,
    Deactivate,
    Delete,
    GroupCreate,
    GroupUpdate,
    GroupAddMembers,
    GroupRemoveMembers,
    GroupDelete,
}

impl Operation {
    pub fn name(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Reactivate => "reactivate",
            Operation::Deactivate => "deactivate",
            Operation::Delete => "delete",
            Operation::GroupCreate => "group_create",
            Operation::GroupUpdate => "group_update",
            Operation::GroupAddMembers => "group_add_members",
            Operation::GroupRemoveMembers => "group_remove_members",
            Operation::GroupDelete => "group_delete",
        }
    }

    pub fn resource_type(self) -> ResourceType {
        match self {
            Operation::Create
            | Operation::Update
            | Operation::Reactivate
            | Operation::Deactivate
            | Operation::Delete => ResourceType::User,
            _ => ResourceType::Group,
        }
    }
}

/// How a write ended.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum WriteResult {
    /// Dry run: it would be sent.
    Planned,
    /// Sent and accepted.
    Applied,
    /// A create found the user already there (409 or a create that timed out) and took it over.
    Adopted,
    /// Sent and failed.
    Failed(WriteFailure),
}

/// Why a write failed, as the target said it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WriteFailure {
    pub error: String,
    #[serde(rename = "scimType", skip_serializing_if = "Option::is_none")]
    pub scim_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The target will refuse this write again: it is held until the desired state changes.
    pub permanent: bool,
    /// A create the target may have made although it did not say so (a timeout, a broken
    /// connection, a 5xx): pending, resolved by a lookup at the start of the next run.
    #[serde(rename = "outcomeUnknown", skip_serializing_if = "std::ops::Not::not")]
    pub outcome_unknown: bool,
}

impl WriteFailure {
    pub fn from_error(error: &ClientError) -> WriteFailure {
        WriteFailure {
            error: error.to_string(),
            scim_type: error.scim_type().map(str::to_owned),
            detail: error.detail().map(str::to_owned),
            permanent: error.is_permanent(),
            outcome_unknown: false,
        }
    }
}

/// One write, planned or sent.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WriteEvent {
    pub time: DateTime<Utc>,
    pub run_id: String,
    /// The target's name.
    pub target: String,
    pub operation: Operation,
    pub resource_type: ResourceType,
    /// The target's id (`None` for a create that did not succeed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The user's userName or the group's displayName.
    pub name: String,
    /// The attribute paths the write changes (for groups: `displayName`, `members`).
    pub attributes: Vec<String>,
    /// The HTTP status of the (last) answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(flatten)]
    pub result: WriteResult,
    /// How long the write took, retries included (zero when planned).
    #[serde(skip)]
    pub latency: Duration,
}

impl WriteEvent {
    /// Whether the target took the write (applied, or an existing user adopted).
    pub fn succeeded(&self) -> bool {
        matches!(self.result, WriteResult::Applied | WriteResult::Adopted)
    }
}

/// How the source mapped, before anything is compared with the target.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mapped {
    /// The target whose mapping this is.
    pub target: String,
    /// Users read from the source.
    pub source: usize,
    /// Users the mapping provisions (in scope, not skipped).
    pub in_scope: usize,
    pub skipped: usize,
}

/// Receives every [`WriteEvent`] of a run, in the order writes complete, and the run's
/// milestones before them (each with a do-nothing default).
pub trait WriteObserver: Send + Sync {
    fn record(&self, event: &WriteEvent);
    /// The source was read and mapped.
    fn mapped(&self, _mapped: &Mapped) {}
    /// A target's users were listed (`users` of them, in `latency`).
    fn listed(&self, _target: &str, _users: usize, _latency: Duration) {}
    /// The run is about to send `writes` writes to a target (not called for a dry run).
    fn planned(&self, _target: &str, _writes: usize) {}
}

/// Hands every event to each of several observers, in order.
#[derive(Default)]
pub struct Fanout(pub Vec<std::sync::Arc<dyn WriteObserver>>);

impl WriteObserver for Fanout {
    fn record(&self, event: &WriteEvent) {
        self.0.iter().for_each(|o| o.record(event));
    }
    fn mapped(&self, mapped: &Mapped) {
        self.0.iter().for_each(|o| o.mapped(mapped));
    }
    fn listed(&self, target: &str, users: usize, latency: Duration) {
        self.0.iter().for_each(|o| o.listed(target, users, latency));
    }
    fn planned(&self, target: &str, writes: usize) {
        self.0.iter().for_each(|o| o.planned(target, writes));
    }
}

/// An observer that keeps nothing.
#[derive(Debug, Default)]
pub struct Discard;

impl WriteObserver for Discard {
    fn record(&self, _event: &WriteEvent) {}
}

/// An observer that keeps every event (tests, and the CLI's JSON output).
#[derive(Debug, Default)]
pub struct Collect(pub std::sync::Mutex<Vec<WriteEvent>>);

impl WriteObserver for Collect {
    fn record(&self, event: &WriteEvent) {
        if let Ok(mut events) = self.0.lock() {
            events.push(event.clone());
        }
    }
}

impl Collect {
    pub fn events(&self) -> Vec<WriteEvent> {
        self.0.lock().map(|e| e.clone()).unwrap_or_default()
    }
}
