//! What scimsync last wrote to a user, kept in the state beside its fingerprint, so an
//! incremental run can PATCH a changed user by its stored id without reading it first: the
//! diff compares the desired values with these, as a full run compares them with the
//! target's, and sends only what changed ("trust what was last written", as Okta's pushes and
//! Entra's incremental cycles do).
//!
//! Kept: the value of each rule applied on every sync (create-only rules are never compared,
//! `active` is the state's own flag), by attribute path, and the resource version
//! (`meta.version`) the target answered the last write with, for `If-Match`. A rule that uses
//! `Redact` (a password) keeps only a digest of its value, never the value: the state holds no
//! secret. Recorded only when a write brought every such value to the desired one (a create,
//! an update, a reactivation, or a user found already as desired); a deactivation keeps what
//! was there.
//!
//! Drift made on the target by hand is not in here: a full run (or a 412 when the target
//! checks versions) sees it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::desired::DesiredUser;
use super::diff::Change;
use super::kept::fingerprint_of;
use scimsync_lang::mapping::plan::{Flow, MappedValue};
use scimsync_lang::scim::resource::user_resource_from_json;

/// The values a write left on the target, as the state keeps them (compact JSON).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastWritten {
    /// Each compared rule's value, by attribute path.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, Json>,
    /// Rules that use `Redact`: a digest of the value, by attribute path.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub redacted: BTreeMap<String, String>,
    /// The `meta.version` the target answered the write with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl LastWritten {
    /// What writing `user` in full leaves on the target (its version not known yet).
    pub fn of(user: &DesiredUser) -> LastWritten {
        LastWritten::from_values(
            compared(user).map(|v| (v.path.to_string(), v.value.to_json(), v.redacted)),
        )
    }

    /// What a create left: its attributes (`active` aside: the state keeps it). A create
    /// also carries create-only rules; kept, they are never compared.
    pub fn of_create(change: &Change) -> LastWritten {
        LastWritten::from_values(
            change
                .attributes
                .iter()
                .filter(|a| !a.attr.is_core("active"))
                .map(|a| (a.path(), a.new.clone(), a.redacted)),
        )
    }

    /// Values by path; a redacted one as its digest.
    fn from_values(values: impl Iterator<Item = (String, Json, bool)>) -> LastWritten {
        let mut written = LastWritten::default();
        for (path, value, redacted) in values {
            if redacted {
                written.redacted.insert(path, fingerprint_of(&value));
            } else {
                written.values.insert(path, value);
            }
        }
        written
    }

    /// The text the state keeps.
    pub fn encode(&self) -> String {
        // A map of JSON values always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads what the state keeps; `None` when it is not in this shape (then the user is read
    /// from the target, as before this was kept).
    pub fn decode(text: &str) -> Option<LastWritten> {
        serde_json::from_str(text).ok()
    }

    /// `self` with the version the target gave the user with its answer (`None` when it gave
    /// none: the version from before the write is stale).
    pub fn versioned(mut self, version: Option<&str>) -> LastWritten {
        self.version = version.map(str::to_owned);
        self
    }

    /// The target user as scimsync last left it, for the diff: `id`, `active`, the version,
    /// and each value kept for a rule of `user`'s mapping. A redacted rule's value appears as
    /// the desired one when its digest matches, else as a value no desired one equals; a rule
    /// with nothing kept is absent, so the diff writes it.
    pub fn resource(&self, id: &str, active: bool, user: &DesiredUser) -> Json {
        let kept = compared(user).filter_map(|value| {
            let path = value.path.to_string();
            let held = if value.redacted {
                let digest = self.redacted.get(&path)?;
                let desired = value.value.to_json();
                if *digest == fingerprint_of(&desired) {
                    desired
                } else {
                    // Some other value, which no desired value equals: written, and shown as
                    // `[Redact]` -> `[Redact]`.
                    serde_json::json!({ "redacted": digest })
                }
            } else {
                self.values.get(&path)?.clone()
            };
            Some((&*value.path, held))
        });
        let mut resource = user_resource_from_json(kept);
        if let Some(object) = resource.as_object_mut() {
            object.insert("id".into(), Json::String(id.to_owned()));
            object.insert("active".into(), Json::Bool(active));
            if let Some(version) = &self.version {
                object.insert("meta".into(), serde_json::json!({ "version": version }));
            }
        }
        resource
    }
}

/// The values the diff compares on every sync: rules applied always, `active` aside.
fn compared(user: &DesiredUser) -> impl Iterator<Item = &MappedValue> {
    user.mapped
        .values
        .iter()
        .filter(|v| v.flow == Flow::Always && !v.path.is_core("active"))
}

#[cfg(test)]
mod tests;
