//! What the state remembers about a target's full reconciliations: when the last one
//! completed, and whether the target's filtering can be trusted for incremental runs.
//!
//! Incremental runs trust the state instead of listing the target; they are only as good as
//! the last full run and the target's `filter=attr eq "value"` answers, so both are recorded
//! here (see `crate::sync::kind`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The target's full-run history and filtering verdict.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconcile {
    /// When the last full run (listing the whole target) completed.
    #[serde(default, rename = "lastFull", skip_serializing_if = "Option::is_none")]
    pub last_full: Option<DateTime<Utc>>,
    /// Whether lookups by filter work on this target; `None` until a run needed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filtering>,
}

impl Reconcile {
    pub fn is_empty(&self) -> bool {
        self.last_full.is_none() && self.filter.is_none()
    }
}

/// What scimsync learnt about the target's filtering.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "lowercase")]
pub enum Filtering {
    /// `/ServiceProviderConfig` says (or did not deny) it, and no answer contradicted it.
    Works,
    /// `/ServiceProviderConfig` says `filter.supported = false`.
    Unsupported,
    /// A filter answer held users the filter does not select (`detail` says which).
    Unreliable { detail: String },
}

impl Filtering {
    /// Incremental runs need filter lookups for new users: without them every run is full.
    pub fn usable(&self) -> bool {
        matches!(self, Filtering::Works)
    }
}
