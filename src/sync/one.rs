//! `scimsync sync --user ID_OR_LOGIN`: the whole pipeline for one source user, like Entra's
//! "Provision on demand". The source is read as in any run (a pushed group's members come
//! from every user), the user is found by source id, login or mapped userName, looked up on
//! the target (by its stored id, else by the match attribute: no listing), and planned by
//! the same diff as every run, told that this run is about that user only
//! ([`super::diff::Coverage::only`]): no other user is written or deactivated, and only that
//! user's group memberships change. The safety rules apply as in any run.
//!
//! The report carries every HTTP request the run sent (method, path, status: never a header
//! or body) and the user's resource as the target returned it at the end.

use std::collections::BTreeSet;

use serde_json::Value as Json;

use super::apply::Applier;
use super::desired::Desired;
use super::diff::Coverage;
use super::event::Operation;
use super::groups::GroupChanges;
use super::kind::RunKind;
use super::run::Job;
use super::unique::asks_target;
use super::{
    Listed, RunOptions, RunReport, SourceDesired, SourcePlanner, SyncError, apply, incremental,
    plan_changes, source_projection,
};
use crate::state::State;
use scimsync_lang::record::same_name;
use scimsync_scim::client::{Exchange, RequestLog, ResourceType, ScimClient};
use scimsync_source::SourceConfig;

/// What `sync --user` did on one target.
#[derive(Debug)]
pub struct OneUser {
    pub target: String,
    pub source_id: String,
    /// The plan (and, unless a dry run, what was applied).
    pub report: RunReport,
    /// Every request sent, in order.
    pub requests: Vec<Exchange>,
    /// The user as the target holds it at the end (`None`: not on the target).
    pub resource: Option<Json>,
}

/// Why `sync --user` could not run for a target.
#[derive(Debug, thiserror::Error)]
pub enum OneUserError {
    #[error("no user {wanted} in the source, nor in the state of target {target}")]
    Unknown { wanted: String, target: String },
    #[error("{wanted} names {} source users ({}); give the source id", ids.len(), ids.join(", "))]
    Ambiguous { wanted: String, ids: Vec<String> },
    #[error(transparent)]
    Sync(#[from] SyncError),
}

/// Runs the pipeline for the one source user `wanted` names against `job`'s target.
pub async fn sync_user(
    source: &SourceConfig,
    job: &Job,
    wanted: &str,
    options: &RunOptions,
) -> Result<OneUser, OneUserError> {
    let target = &job.target;
    // The lock, the state and the client, as any run takes them.
    let super::run::Ready {
        store,
        mut state,
        client,
        ..
    } = super::run::prepare(job.clone(), options)?;
    let log = RequestLog::default();
    let client = client.with_request_log(log.clone());
    // `SelectUniqueValue` picks among the target's users: only then is the target listed.
    let taken = if asks_target(&job.plan) {
        client
            .list(ResourceType::User)
            .await
            .map_err(SyncError::from)?
    } else {
        Vec::new()
    };
    let (source, named) = read_naming(source, job, wanted, options, &taken).await?;
    let source_id = the_one(wanted, &named, &source.desired, &state, &target.name)?;
    let found = look_up(&client, &state, &source.desired, &source_id, job).await?;
    let listed = Listed {
        users: found.clone(),
        look_before_create: false,
        coverage: Coverage {
            unchanged: others(&source.desired, &source_id),
            only: Some(source_id.clone()),
            some_users: false,
        },
        kind: RunKind::OneUser {
            source_id: source_id.clone(),
        },
    };
    let others = listed.coverage.unchanged.len();
    let (mut report, _) = plan_changes(&client, job, options, &state, &listed, source).await?;
    keep_one(&mut report, &source_id, others);
    if let Some(store) = &store {
        // One user: no bulk request; ETags when the target offers them, with the version
        // the lookup saw.
        let offers = super::offers::Offers::discover(
            &client,
            super::settings::BulkMode::Off,
            report.changes.changes.len(),
            &found,
        )
        .await;
        let applier = Applier {
            client: &client,
            observer: options.observer.as_ref(),
            run_id: &options.run_id,
            target: &target.name,
            update_mode: target.scim.update_mode,
            match_path: &job.plan.match_path,
            concurrency: 1,
            cancel: &options.cancel,
            now: options.now,
            look_before_create: false,
            store: &**store,
            offers,
        };
        let applied = apply(&applier, &report, &mut state).await?;
        store.record_rest(&state).map_err(SyncError::from)?;
        report.held_off = client.held_off();
        report.applied = Some(applied);
    }
    let resource = match (options.dry_run, state.users.get(&source_id)) {
        (false, Some(managed)) => client
            .get(ResourceType::User, &managed.id)
            .await
            .map_err(SyncError::from)?,
        _ => found.into_iter().next(),
    };
    report.requests = client.totals();
    Ok(OneUser {
        target: target.name.clone(),
        source_id,
        report,
        requests: log.entries(),
        resource,
    })
}

/// Reads the source through the plan (every user: group members come from all of them) and
/// notes the records `wanted` names by source id or login attribute.
async fn read_naming(
    source: &SourceConfig,
    job: &Job,
    wanted: &str,
    options: &RunOptions,
    taken: &[Json],
) -> Result<(SourceDesired, BTreeSet<String>), SyncError> {
    let reading =
        scimsync_source::Reading::start(source, &source_projection(&job.plan), options.now)?;
    let mut planner = SourcePlanner::new(&job.plan, options.now, taken);
    let mut named = BTreeSet::new();
    reading
        .each(|record| {
            if record.is_named(wanted) {
                named.insert(record.id.clone());
            }
            planner.add(&record);
        })
        .await?;
    Ok((planner.finish(), named))
}

/// The one source id `wanted` names: a record's id or login, a mapped userName or match
/// value, or (a user who left the source) a managed user's source id, target id or userName.
fn the_one(
    wanted: &str,
    named: &BTreeSet<String>,
    desired: &Desired,
    state: &State,
    target: &str,
) -> Result<String, OneUserError> {
    let mut ids = named.clone();
    ids.extend(
        desired
            .users
            .iter()
            .filter(|u| same_name(&u.user_name, wanted) || same_name(u.match_key(), wanted))
            .map(|u| u.source_id.clone()),
    );
    if ids.is_empty() {
        ids.extend(
            state
                .users
                .iter()
                .filter(|(source, managed)| {
                    *source == wanted
                        || managed.id == wanted
                        || same_name(&managed.user_name, wanted)
                })
                .map(|(source, _)| source.clone()),
        );
    }
    let mut ids = ids.into_iter();
    match (ids.next(), ids.next()) {
        (Some(one), None) => Ok(one),
        (None, _) => Err(OneUserError::Unknown {
            wanted: wanted.to_owned(),
            target: target.to_owned(),
        }),
        (Some(first), Some(second)) => Err(OneUserError::Ambiguous {
            wanted: wanted.to_owned(),
            ids: [first, second].into_iter().chain(ids).collect(),
        }),
    }
}

/// The user on the target: by the id the state remembers, else (gone, or never managed) by
/// the match attribute when the source wants it active.
async fn look_up(
    client: &ScimClient,
    state: &State,
    desired: &Desired,
    source_id: &str,
    job: &Job,
) -> Result<Vec<Json>, SyncError> {
    if let Some(managed) = state.users.get(source_id)
        && let Some(found) = client.get(ResourceType::User, &managed.id).await?
    {
        return Ok(vec![found]);
    }
    let Some(user) = desired
        .users
        .iter()
        .find(|u| u.source_id == source_id && u.active)
    else {
        return Ok(Vec::new());
    };
    let match_path = &job.plan.match_path;
    let answer = incremental::lookup(client, match_path, user).await?;
    let Some(value) = incremental::match_value(user, match_path) else {
        return Ok(Vec::new());
    };
    let selected = incremental::selected(answer.clone(), match_path, &value).unwrap_or_else(|detail| {
        tracing::warn!(%detail, "the target's filter answered with other users; only the user it names is considered");
        answer
            .into_iter()
            .filter(|u| {
                match_path.get(u).and_then(Json::as_str).is_some_and(|held| {
                    super::desired::match_key(match_path, held)
                        == super::desired::match_key(match_path, &value)
                })
            })
            .collect()
    });
    Ok(selected)
}

/// Every desired user but the one: the diff counts them unchanged and leaves them alone.
fn others(desired: &Desired, source_id: &str) -> std::collections::HashSet<String> {
    desired
        .users
        .iter()
        .filter(|u| u.source_id != source_id)
        .map(|u| u.source_id.clone())
        .collect()
}

/// The report about the one user: the others' skips and counts left out.
fn keep_one(report: &mut RunReport, source_id: &str, others: usize) {
    let changes = &mut report.changes;
    changes.unchanged = changes.unchanged.saturating_sub(others);
    changes.skipped.retain(|s| s.source_id == source_id);
    changes.not_kept.retain(|n| n.source_id == source_id);
    changes.taken_over.retain(|t| t.to == source_id);
    // Labelled `id (login)` or `id`.
    report
        .member_skips
        .retain(|s| s.user == source_id || s.user.starts_with(&format!("{source_id} (")));
}

/// The group changes of a full group diff that concern the one user: the membership changes
/// naming it, with only it as member. A group that must be created or renamed first is left
/// to a whole run, and the plan says so.
pub(super) fn memberships_of(
    mut all: GroupChanges,
    source_id: &str,
    target_id: Option<&str>,
) -> GroupChanges {
    let is_the_user = |source: Option<&str>, id: Option<&str>| {
        source == Some(source_id) || (id.is_some() && id == target_id)
    };
    let mut notices = Vec::new();
    all.changes.retain_mut(|change| match change.operation {
        Operation::GroupAddMembers | Operation::GroupRemoveMembers => {
            change
                .members
                .retain(|m| is_the_user(m.source_id.as_deref(), m.id.as_deref()));
            if change.operation == Operation::GroupRemoveMembers {
                change.operations = change
                    .members
                    .iter()
                    .filter_map(|m| {
                        m.id.as_deref()
                            .map(scimsync_lang::scim::patch::PatchOperation::remove_member)
                    })
                    .collect();
            }
            !change.members.is_empty()
        }
        Operation::GroupCreate => {
            notices.push(format!(
                "group {} is not on the target yet: a whole run (scimsync sync) creates it with its members",
                change.display_name
            ));
            false
        }
        _ => false,
    });
    all.member_skips.clear();
    all.forget.clear();
    all.notices = notices;
    all
}
