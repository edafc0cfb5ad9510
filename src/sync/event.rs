//! The one reporting point of a run: every write scimsync sends, plans (dry run) or holds back
//! becomes one [`WriteEvent`], handed to the run's [`WriteObserver`] as it happens. An audit
//! log, metrics or a progress display hook in here and nowhere else.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::scim::client::{ClientError, ResourceType};

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
}

impl WriteFailure {
    pub fn from_error(error: &ClientError) -> WriteFailure {
        WriteFailure {
            error: error.to_string(),
            scim_type: error.scim_type().map(str::to_owned),
            detail: error.detail().map(str::to_owned),
            permanent: error.is_permanent(),
        }
    }
}

/// One write, planned or sent.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WriteEvent {
    pub time: DateTime<Utc>,
    pub run_id: String,
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
}

/// Receives every [`WriteEvent`] of a run, in the order writes complete.
pub trait WriteObserver: Send + Sync {
    fn record(&self, event: &WriteEvent);
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
