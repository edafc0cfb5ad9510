//! A person re-created in the source under a new id (HR re-hires, an Okta user deleted and
//! created again) finds their old account on the target by the match attribute, managed for
//! the old source id. When that old source user has left the source or is inactive, the new
//! one takes the account over in the same run: the account is updated (and reactivated) for
//! the new source id and the state entry re-keyed, rather than the old id deactivating it and
//! the new one being skipped forever. When both are in the source and active, nothing is
//! guessed: the skip names the other source id and the command that settles it.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::Value as Json;

use super::desired::Desired;
use crate::state::State;
use scimsync_lang::scim::resource::id;

/// A takeover that needs no write (the account is already as the new source user wants it):
/// only the state is re-keyed, and the run says so.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TakenOver {
    #[serde(rename = "userName")]
    pub user_name: String,
    pub from: String,
    pub to: String,
}

impl TakenOver {
    pub fn line(&self) -> String {
        format!(
            "= {}: taken over from source user {} by source user {} (re-created in the source); nothing else to write",
            self.user_name, self.from, self.to
        )
    }
}

/// Which new source ids take over which old ones' target users in this run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Takeovers {
    /// New source id → old source id.
    by_new: HashMap<String, String>,
    /// The old source ids taken over: neither diffed nor deactivated.
    old: HashSet<String>,
}

impl Takeovers {
    /// The takeovers of a run: each active desired user unknown to the state whose match value
    /// finds a target user managed for a source id that is no longer active in the source
    /// (gone, or inactive) and not skipped for a failing rule (that one is still there).
    /// `managed_by_id` maps the state's target ids to their source ids.
    pub fn find(
        desired: &Desired,
        state: &State,
        by_match: &HashMap<String, &Json>,
        managed_by_id: &HashMap<&str, &str>,
    ) -> Takeovers {
        let active: HashSet<&str> = desired
            .users
            .iter()
            .filter(|u| u.active)
            .map(|u| u.source_id.as_str())
            .chain(desired.skipped.iter().map(|s| s.source_id.as_str()))
            .collect();
        let mut takeovers = Takeovers::default();
        for user in desired.users.iter().filter(|u| u.active) {
            if state.users.contains_key(&user.source_id) {
                continue;
            }
            let Some(target_id) = by_match.get(user.match_key()).and_then(|t| id(t)) else {
                continue;
            };
            let Some(&old) = managed_by_id.get(target_id) else {
                continue;
            };
            if old != user.source_id && !active.contains(old) && !takeovers.old.contains(old) {
                takeovers.old.insert(old.to_owned());
                takeovers
                    .by_new
                    .insert(user.source_id.clone(), old.to_owned());
            }
        }
        takeovers
    }

    /// The old source id whose target user `source_id` takes over, if any.
    pub fn taken_from(&self, source_id: &str) -> Option<&str> {
        self.by_new.get(source_id).map(String::as_str)
    }

    /// Whether `source_id`'s target user is taken over by a new source id in this run.
    pub fn is_taken_over(&self, source_id: &str) -> bool {
        self.old.contains(source_id)
    }
}
