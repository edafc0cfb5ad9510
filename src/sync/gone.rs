//! Users an update found gone: the target answered 404 to the write by stored id, because the
//! user was deleted there since scimsync last wrote it (an incremental run, which trusts the
//! state rather than reading users first, learns it this way). The write forgot the user's
//! state entry (see `Applier::settle_write`); here the same run looks each one up by its
//! match attribute, as an incremental run does for a new user, and the same diff creates it,
//! or adopts a user of that value someone made meanwhile.
//!
//! A create is never blind: when lookups cannot be trusted on this target, or the run was
//! stopped, nothing is sent and the next run (which sees these users as new) does it.

use super::apply::{Applied, Applier, pending_creates};
use super::desired::Desired;
use super::diff::{Coverage, Policy, diff_partial};
use super::incremental::{filtering_ruled_out, look_up_each};
use super::settings::ActionsConfig;
use crate::state::State;

/// Looks up the desired users of `gone` and creates or adopts them; what was done, or `None`
/// when nothing could be (the next run will).
pub async fn recreate(
    applier: &Applier<'_>,
    actions: &ActionsConfig,
    desired: &Desired,
    gone: &[String],
    state: &mut State,
) -> Option<Applied> {
    let users: Vec<_> = desired
        .users
        .iter()
        .filter(|u| gone.contains(&u.source_id))
        .cloned()
        .collect();
    if users.is_empty() || applier.stopped() {
        return None;
    }
    if let Some(reason) = filtering_ruled_out(applier.client, state).await {
        tracing::warn!(
            count = users.len(),
            ?reason,
            "users deleted on the target are not looked up (lookups cannot be trusted here): the next full run creates them"
        );
        return None;
    }
    let lookups = users.iter().collect();
    let match_path = applier.match_path;
    let found = match look_up_each(
        applier.client,
        match_path,
        lookups,
        applier.concurrency,
        state,
    )
    .await
    {
        Ok(Ok(found)) => found,
        // Recorded in the state: this run and the next ones list the target.
        Ok(Err(_unreliable)) => return None,
        Err(error) => {
            tracing::warn!(%error, "looking up users deleted on the target failed: the next run does it");
            return None;
        }
    };
    let some = Desired {
        users,
        source_count: desired.source_count,
        ..Desired::default()
    };
    let policy = Policy {
        actions: actions.clone(),
        now: applier.now,
        case: super::case::CaseRules::rfc_defaults(),
    };
    let coverage = Coverage {
        some_users: true,
        ..Coverage::default()
    };
    let changes = diff_partial(&some, &found, &coverage, state, applier.match_path, &policy);
    // As every create: pending on disk before it is sent.
    let pending = pending_creates(&changes, applier.match_path, applier.now);
    state.pending.extend(pending);
    if applier.store.record_rest(state).is_err() {
        return None;
    }
    let mut applied = Applied::default();
    applier.apply_users(&changes, state, &mut applied).await;
    Some(applied)
}
