//! Carries out a plan against the target, a bounded number of writes at a time, and records
//! in the state what was done. Every write ends as one [`WriteEvent`] handed to the run's
//! observer (the single reporting point); a failed write is recorded with its user, the HTTP
//! status and the target's SCIM `detail`, and the other writes go on.
//!
//! A create is never sent twice for one person, also on targets that do not enforce
//! uniqueness: every create is recorded in the state as pending before it is sent (see
//! [`pending_creates`]). When it fails in a way that may have created the user anyway (a
//! timeout, a reset, a 5xx) or conflicts (409), the user is looked up by the match attribute
//! and adopted if it is there; if the lookup finds nothing, the create stays pending and is not
//! sent again in this run (the target may still be working on it): the next run resolves it by
//! lookup before it may create the user. When the run is cancelled, or the target asks for a
//! longer pause than `max_backoff_seconds`, no new write starts; the ones in flight finish and
//! are recorded, so the state saved afterwards is true.
//!
//! Each write's outcome is committed to the [`Store`] as soon as it is known, not at the end of
//! the run: a crash loses no completed write. Outcomes that arrive together are committed
//! together (one transaction, one fsync), before the loop waits for the next answer (see
//! [`Applier::commit_users`]).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::{FutureExt as _, StreamExt as _};
use serde::Serialize;
use serde_json::Value as Json;
use tokio_util::sync::CancellationToken;

use super::diff::{Action, AttrChange, Change, Changes};
use super::event::{Operation, WriteEvent, WriteFailure, WriteObserver, WriteResult};
use super::groups::{GroupChange, GroupChanges, MemberSkip};
use super::settings::UpdateMode;
use crate::state::store::Store;
use crate::state::{ManagedGroup, ManagedUser, PendingCreate, Rejection, State};

mod bulk;
mod groups;
use scimsync_lang::scim::patch::PatchOperation;
use scimsync_lang::scim::path::AttrPath;
use scimsync_lang::scim::resource::id;
use scimsync_scim::client::{ClientError, ResourceType, ScimClient};

/// A write that did not succeed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Failure {
    pub operation: Operation,
    /// The userName or the group's displayName.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The attribute paths the write carried (`members` for member changes).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<String>,
    /// What the admin can do about it, when scimsync knows (see [`super::failure::remedy`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    #[serde(flatten)]
    pub failure: WriteFailure,
}

impl Failure {
    /// The failure as one line (without the leading `! `).
    pub fn line(&self) -> String {
        super::failure::line(
            self.operation,
            &self.name,
            &self.attributes,
            &self.failure.error,
            self.status,
            self.hint.as_deref(),
        )
    }
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Applied {
    pub created: usize,
    pub adopted: usize,
    pub updated: usize,
    pub reactivated: usize,
    pub deactivated: usize,
    pub deleted: usize,
    pub groups_created: usize,
    pub groups_updated: usize,
    pub members_added: usize,
    pub members_removed: usize,
    pub groups_deleted: usize,
    pub failures: Vec<Failure>,
    /// Members that could not be added because their user is not on the target.
    pub member_skips: Vec<MemberSkip>,
    /// Writes not started because the run was cancelled.
    pub not_started: usize,
    /// Creates whose outcome is unknown (among the failures): pending until the next run.
    pub pending: usize,
    /// Values the target accepted in this run's writes but did not keep.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_kept: Vec<super::kept::NotKept>,
    /// Source ids whose update answered 404 (the user was deleted on the target): forgotten,
    /// to be looked up and created or adopted (see [`super::gone`]).
    #[serde(skip)]
    pub gone: Vec<String>,
    /// Keys of the groups a write to which failed or was not sent: what they hold is not
    /// known (see [`super::groups::settle_members`]).
    #[serde(skip)]
    pub groups_unsettled: std::collections::BTreeSet<String>,
}

impl Applied {
    /// Adds what a later pass over some of the users did (see [`super::gone`]).
    pub fn absorb(&mut self, later: Applied) {
        // Every field named: a new one must be added here too.
        let Applied {
            created,
            adopted,
            updated,
            reactivated,
            deactivated,
            deleted,
            groups_created,
            groups_updated,
            members_added,
            members_removed,
            groups_deleted,
            failures,
            member_skips,
            not_started,
            pending,
            not_kept,
            gone,
            groups_unsettled,
        } = later;
        self.created += created;
        self.adopted += adopted;
        self.updated += updated;
        self.reactivated += reactivated;
        self.deactivated += deactivated;
        self.deleted += deleted;
        self.groups_created += groups_created;
        self.groups_updated += groups_updated;
        self.members_added += members_added;
        self.members_removed += members_removed;
        self.groups_deleted += groups_deleted;
        self.not_started += not_started;
        self.pending += pending;
        self.failures.extend(failures);
        self.member_skips.extend(member_skips);
        self.not_kept.extend(not_kept);
        self.gone.extend(gone);
        self.groups_unsettled.extend(groups_unsettled);
    }
}

/// The state entries that record `changes`' creates as pending, to be saved before the first
/// create is sent: a crash or a lost answer then leaves a record for the next run to resolve.
pub fn pending_creates(
    changes: &Changes,
    match_path: &AttrPath,
    now: DateTime<Utc>,
) -> Vec<(String, PendingCreate)> {
    changes
        .changes
        .iter()
        .filter(|c| c.action == Action::Create)
        .filter_map(|c| {
            Some((
                c.source_id.clone()?,
                PendingCreate {
                    match_attribute: match_path.to_string(),
                    match_value: c.match_value.clone()?,
                    user_name: c.user_name.clone(),
                    at: now,
                },
            ))
        })
        .collect()
}

/// A user write that did not succeed, and whether it may have taken effect all the same.
struct NotWritten {
    error: ClientError,
    /// A create the target may have made: it stays pending, and is not sent again this run.
    outcome_unknown: bool,
    /// Why, when scimsync knows more than the status says (a conflict it could not adopt).
    hint: Option<String>,
}

impl From<ClientError> for NotWritten {
    fn from(error: ClientError) -> NotWritten {
        NotWritten {
            error,
            outcome_unknown: false,
            hint: None,
        }
    }
}

/// How writes are carried out.
pub struct Applier<'a> {
    pub client: &'a ScimClient,
    pub observer: &'a dyn WriteObserver,
    pub run_id: &'a str,
    /// The target's name, in every event.
    pub target: &'a str,
    pub update_mode: UpdateMode,
    pub match_path: &'a AttrPath,
    pub concurrency: usize,
    pub cancel: &'a CancellationToken,
    pub now: DateTime<Utc>,
    /// Look each user up by its match value before creating it (the listing was incomplete).
    pub look_before_create: bool,
    /// Where each write's outcome is committed as it completes.
    pub store: &'a dyn Store,
    /// Bulk requests and ETags, when the target offers them.
    pub offers: super::offers::Offers,
}

/// How often a write that met a 412 is re-planned and sent again.
const ETAG_RETRIES: u32 = 2;

/// What a write is about: its operation, the resource's id and name, the attributes it changes.
struct Subject<'s> {
    operation: Operation,
    id: Option<&'s str>,
    name: &'s str,
    attributes: Vec<String>,
}

/// A successful user write: the target id, the HTTP status, whether the user was adopted.
struct Written {
    id: String,
    status: u16,
    adopted: bool,
    /// The resource the target answered an update with, if it sent one.
    returned: Option<Json>,
    /// The user's version after the write (`meta.version`, the `ETag` header, a bulk
    /// operation's `version`), if the target said.
    version: Option<String>,
}

impl Applier<'_> {
    fn emit(
        &self,
        subject: Subject<'_>,
        status: Option<u16>,
        result: WriteResult,
        latency: Duration,
    ) {
        self.observer.record(&WriteEvent {
            time: Utc::now(),
            run_id: self.run_id.to_owned(),
            target: self.target.to_owned(),
            operation: subject.operation,
            resource_type: subject.operation.resource_type(),
            id: subject.id.map(str::to_owned),
            name: subject.name.to_owned(),
            attributes: subject.attributes,
            status,
            result,
            latency,
        });
    }

    fn fail(
        &self,
        applied: &mut Applied,
        subject: Subject<'_>,
        error: &ClientError,
        latency: Duration,
    ) {
        self.fail_with(
            applied,
            subject,
            WriteFailure::from_error(error),
            error,
            None,
            latency,
        );
    }

    /// Records a failed write; `hint` (else the remedy the status suggests) says what to do.
    fn fail_with(
        &self,
        applied: &mut Applied,
        subject: Subject<'_>,
        failure: WriteFailure,
        error: &ClientError,
        hint: Option<String>,
        latency: Duration,
    ) {
        let (operation, name, id) = (subject.operation, subject.name, subject.id);
        tracing::warn!(operation = operation.name(), name, %error, "write failed");
        let hint = hint.or_else(|| {
            super::failure::remedy(operation, error, &subject.attributes, self.update_mode)
        });
        applied.failures.push(Failure {
            operation,
            name: name.to_owned(),
            id: id.map(str::to_owned),
            status: error.status(),
            attributes: subject.attributes.clone(),
            hint,
            failure: failure.clone(),
        });
        self.emit(
            subject,
            error.status(),
            WriteResult::Failed(failure),
            latency,
        );
    }

    /// No new write starts once the run is cancelled or the target has asked for a pause
    /// longer than the run may wait.
    pub(super) fn stopped(&self) -> bool {
        self.cancel.is_cancelled() || self.client.held_off().is_some() || self.store.failed()
    }

    /// Commits the users of `changes` (each with the one it takes over) as `state` holds them
    /// now, in one transaction, and empties `changes`. A failure is logged and kept by the
    /// store: no new write starts, and the run ends with the error.
    fn commit_users(&self, state: &State, changes: &mut Vec<&Change>) {
        if changes.is_empty() {
            return;
        }
        let sources: Vec<&str> = changes
            .iter()
            .filter_map(|c| c.source_id.as_deref())
            .chain(changes.iter().filter_map(|c| c.takes_over.as_deref()))
            .collect();
        let _kept_by_the_store = self.store.record_users(state, &sources);
        changes.clear();
    }

    /// Applies the user changes, updating `state`.
    pub async fn apply_users(&self, changes: &Changes, state: &mut State, applied: &mut Applied) {
        for (source_id, managed) in &changes.remember {
            state.users.insert(source_id.clone(), managed.clone());
            state.rejected.remove(source_id);
        }
        for source_id in &changes.forget {
            state.users.remove(source_id);
        }
        for source_id in &changes.verified {
            state.unverified.remove(source_id);
        }
        super::kept::remember(state, &changes.not_kept);
        let (in_bulk, mut singly) = self.split_for_bulk(&changes.changes);
        if !in_bulk.is_empty() {
            singly.extend(self.write_in_bulk(in_bulk, state, applied).await);
        }
        self.write_one_by_one(singly, state, applied).await;
    }

    /// Sends each change in its own request, up to `concurrency` at once; once cancelled, no
    /// new one starts. (A loop over FuturesUnordered rather than stream combinators: their
    /// closures make the run's future too general for `tokio::spawn`, which the daemon needs.)
    async fn write_one_by_one(
        &self,
        changes: Vec<&Change>,
        state: &mut State,
        applied: &mut Applied,
    ) {
        let total = changes.len();
        let mut pending = changes.into_iter();
        let mut in_flight = futures::stream::FuturesUnordered::new();
        let mut done = 0;
        // Changes whose outcome is in `state` but not committed yet.
        let mut outcomes: Vec<&Change> = Vec::new();
        loop {
            while in_flight.len() < self.concurrency.max(1) && !self.stopped() {
                let Some(change) = pending.next() else {
                    break;
                };
                in_flight.push(self.timed_write_user(change));
            }
            // Another answer already here joins this commit; else commit, then wait.
            let next = match in_flight.next().now_or_never() {
                Some(next) => next,
                None => {
                    self.commit_users(state, &mut outcomes);
                    in_flight.next().await
                }
            };
            let Some((change, result, latency)) = next else {
                break;
            };
            done += 1;
            self.settle_write(state, applied, change, result, latency);
            outcomes.push(change);
        }
        // Creates that never started certainly did not happen: not pending.
        for change in pending {
            settle_pending(state, change);
            outcomes.push(change);
        }
        self.commit_users(state, &mut outcomes);
        applied.not_started += total - done;
    }

    /// Settles one user write's outcome, whichever way it was sent (alone or inside a bulk
    /// request): counts it, emits its event, and records it in the state (the created or
    /// adopted id and fingerprint, a create still pending, a refusal). The one place a user
    /// write's outcome reaches the state.
    fn settle_write(
        &self,
        state: &mut State,
        applied: &mut Applied,
        change: &Change,
        result: Result<Written, NotWritten>,
        latency: Duration,
    ) {
        let attributes: Vec<String> = change.attributes.iter().map(AttrChange::path).collect();
        let operation = change.action.operation();
        match result {
            Ok(written) => {
                let result = if written.adopted {
                    applied.adopted += 1;
                    WriteResult::Adopted
                } else {
                    match change.action {
                        Action::Create => applied.created += 1,
                        Action::Update => applied.updated += 1,
                        Action::Reactivate => applied.reactivated += 1,
                        Action::Deactivate => applied.deactivated += 1,
                        Action::Delete => applied.deleted += 1,
                    }
                    WriteResult::Applied
                };
                let subject = Subject {
                    operation,
                    id: Some(&written.id),
                    name: &change.user_name,
                    attributes,
                };
                self.emit(subject, Some(written.status), result, latency);
                let not_kept = self.record(state, change, written);
                applied.not_kept.extend(not_kept);
            }
            // Not sent, or refused unapplied by a target that asked to be left alone (429).
            Err(NotWritten {
                error: ClientError::Cancelled { .. } | ClientError::Throttled { .. },
                ..
            }) => {
                settle_pending(state, change);
                applied.not_started += 1;
            }
            Err(NotWritten {
                error,
                outcome_unknown: true,
                ..
            }) => {
                applied.pending += 1;
                let subject = Subject {
                    operation,
                    id: None,
                    name: &change.user_name,
                    attributes,
                };
                let failure = WriteFailure {
                    outcome_unknown: true,
                    ..WriteFailure::from_error(&error)
                };
                self.fail_with(applied, subject, failure, &error, None, latency);
            }
            // Gone already (deleted on the target since the last full run, which an
            // incremental run cannot see): what the write wanted holds. Forgotten, as a
            // full run forgets a departed user its listing does not show.
            Err(NotWritten { error, .. })
                if error.status() == Some(404)
                    && matches!(change.action, Action::Deactivate | Action::Delete) =>
            {
                tracing::info!(user = %change.user_name, "the user is no longer on the target (404); forgotten");
                if let Some(source_id) = &change.source_id {
                    state.users.remove(source_id);
                    state.rejected.remove(source_id);
                }
            }
            // Deleted on the target since scimsync last wrote it (which an incremental run,
            // trusting its state, cannot see): forgotten here, then looked up and created or
            // adopted by the same run (see `super::gone`).
            Err(NotWritten { error, .. })
                if error.status() == Some(404)
                    && matches!(change.action, Action::Update | Action::Reactivate) =>
            {
                tracing::info!(user = %change.user_name, "the user is no longer on the target (404): looking it up to create or adopt it");
                if let Some(source_id) = &change.source_id {
                    forget_user(state, source_id);
                    applied.gone.push(source_id.clone());
                }
            }
            Err(NotWritten { error, hint, .. }) => {
                settle_pending(state, change);
                if error.is_permanent()
                    && let Some(source_id) = &change.source_id
                {
                    state.rejected.insert(
                        source_id.clone(),
                        Rejection {
                            operation: change.action.user_operation(),
                            status: error.status(),
                            detail: error
                                .detail()
                                .map_or_else(|| error.to_string(), str::to_owned),
                            fingerprint: change.fingerprint.clone(),
                            at: self.now,
                        },
                    );
                }
                let subject = Subject {
                    operation,
                    id: change.id.as_deref(),
                    name: &change.user_name,
                    attributes,
                };
                let failure = WriteFailure::from_error(&error);
                self.fail_with(applied, subject, failure, &error, hint, latency);
            }
        }
    }

    async fn timed_write_user<'c>(
        &self,
        change: &'c Change,
    ) -> (&'c Change, Result<Written, NotWritten>, Duration) {
        let started = Instant::now();
        let result = self.write_user(change).await;
        (change, result, started.elapsed())
    }

    async fn write_user(&self, change: &Change) -> Result<Written, NotWritten> {
        let target_id = change.id.clone().unwrap_or_default();
        match change.action {
            Action::Create => self.create_user(change).await,
            Action::Delete => Ok(Written {
                id: target_id.clone(),
                status: self.client.delete(ResourceType::User, &target_id).await?,
                adopted: false,
                returned: None,
                version: None,
            }),
            _ => self.update_user(change).await,
        }
    }

    /// PATCH (or GET then PUT) the user, with `If-Match` when the target checks versions; a
    /// 412 (someone changed the user meanwhile) re-reads and re-plans it (see
    /// [`Self::replan_after_412`]).
    async fn update_user(&self, change: &Change) -> Result<Written, NotWritten> {
        let target_id = change.id.clone().unwrap_or_default();
        let version = self.offers.version_of(&target_id).map(str::to_owned);
        match self.send_update(change, None, version.as_deref()).await {
            Err(error) if error.status() == Some(412) => self.replan_after_412(change, error).await,
            other => other.map_err(NotWritten::from),
        }
    }

    /// One update; in put mode on `current` (read first when not given).
    async fn send_update(
        &self,
        change: &Change,
        current: Option<Json>,
        version: Option<&str>,
    ) -> Result<Written, ClientError> {
        let target_id = change.id.clone().unwrap_or_default();
        let answer = match self.update_mode {
            UpdateMode::Patch => {
                self.client
                    .patch_user_if_match(&target_id, &change.operations(), version)
                    .await?
            }
            UpdateMode::Put => {
                let current = match current {
                    Some(current) => current,
                    None => self.read_user(&target_id).await?,
                };
                // The version just read is the one this PUT is based on.
                let version = self
                    .offers
                    .etag
                    .then(|| super::offers::version(&current).map(str::to_owned))
                    .flatten();
                let body = put_body(current, change);
                self.client
                    .put_if_match(ResourceType::User, &target_id, &body, version.as_deref())
                    .await?
            }
        };
        Ok(Written {
            id: target_id,
            status: answer.status,
            adopted: false,
            version: super::offers::version_of_answer(&answer),
            returned: answer.body,
        })
    }

    /// The user as the target holds it now; a 404 is an error (it is gone).
    async fn read_user(&self, target_id: &str) -> Result<Json, ClientError> {
        self.client
            .get(ResourceType::User, target_id)
            .await?
            .ok_or_else(|| ClientError::Protocol {
                method: reqwest::Method::GET,
                url: format!("{}/Users/{target_id}", self.client.base()),
                reason: "the user is gone (404)".into(),
            })
    }

    /// After a 412: the user changed on the target since scimsync read it. Reads it again,
    /// keeps of the change only the values the user does not hold yet, and writes those with
    /// the new version; at most [`ETAG_RETRIES`] times, then the write fails with `first`'s
    /// status and a hint (not a refusal: the next run tries again).
    async fn replan_after_412(
        &self,
        change: &Change,
        first: ClientError,
    ) -> Result<Written, NotWritten> {
        let target_id = change.id.clone().unwrap_or_default();
        let mut last = first;
        for attempt in 1..=ETAG_RETRIES {
            tracing::info!(user = %change.user_name, attempt, "the user changed on the target (HTTP 412): reading it again");
            let current = self.read_user(&target_id).await?;
            let version = super::offers::version(&current).map(str::to_owned);
            let replanned = replan(change, &current);
            if replanned.attributes.is_empty() {
                return Ok(Written {
                    id: target_id,
                    status: 200,
                    adopted: false,
                    returned: Some(current),
                    version,
                });
            }
            match self
                .send_update(&replanned, Some(current), version.as_deref())
                .await
            {
                Err(error) if error.status() == Some(412) => last = error,
                other => return other.map_err(NotWritten::from),
            }
        }
        Err(NotWritten {
            hint: Some(format!(
                "The user changed on the target while scimsync wrote it, {} times in a row (HTTP 412 Precondition Failed); the next run reads it again and retries",
                ETAG_RETRIES + 1
            )),
            ..last.into()
        })
    }

    /// POST once; on an uncertain outcome or a conflict, look the user up and adopt it. A
    /// create whose outcome stays unknown is never sent again in this run.
    async fn create_user(&self, change: &Change) -> Result<Written, NotWritten> {
        if self.look_before_create
            && let Some(found) = self.look_up(change).await?
        {
            tracing::info!(user = %change.user_name, "create: the user is on the target although the listing left it out; adopting it");
            return Ok(Written {
                id: found,
                status: 200,
                adopted: true,
                returned: None,
                version: None,
            });
        }
        let resource = change.body().unwrap_or(Json::Null);
        let error = match self.client.create(ResourceType::User, &resource).await {
            Ok((created, status)) => {
                return Ok(Written {
                    id: id(&created).unwrap_or_default().to_owned(),
                    status,
                    adopted: false,
                    version: super::offers::version(&created).map(str::to_owned),
                    returned: Some(created),
                });
            }
            Err(error) => error,
        };
        let uncertain = error.maybe_applied();
        self.adopt_or_hold(change, error, uncertain).await
    }

    /// A create that failed: on a conflict (409) or an `uncertain` outcome (timeout, reset,
    /// 5xx, an unreadable bulk answer), looks the user up and adopts it; a conflict nobody
    /// holds is refused with a hint; an uncertain create not found stays pending (not sent
    /// again in this run).
    async fn adopt_or_hold(
        &self,
        change: &Change,
        error: ClientError,
        uncertain: bool,
    ) -> Result<Written, NotWritten> {
        let conflict = error.status() == Some(409);
        if !(conflict || uncertain) {
            return Err(error.into());
        }
        match self.look_up(change).await {
            Ok(Some(found)) => {
                tracing::info!(user = %change.user_name, "create: the user is on the target; adopting it");
                Ok(Written {
                    id: found,
                    status: 200,
                    adopted: true,
                    returned: None,
                    version: None,
                })
            }
            // A conflict the lookup cannot explain is the target's refusal, not an unknown.
            Ok(None) if conflict => Err(NotWritten {
                hint: self.unadopted_conflict(change).await,
                ..error.into()
            }),
            Ok(None) | Err(_) => Err(NotWritten {
                error,
                outcome_unknown: true,
                hint: None,
            }),
        }
    }

    /// Why a create conflicted although no user has the match value: users are matched on
    /// another attribute than `userName`, and a user with this userName holds another value
    /// (or none); or no user has the userName at all (the target keeps it reserved). `None`
    /// when the lookup fails.
    async fn unadopted_conflict(&self, change: &Change) -> Option<String> {
        if self.match_path.is_core("userName") {
            return Some(reserved_hint(&change.user_name));
        }
        let found = self
            .client
            .find(ResourceType::User, "userName", &change.user_name)
            .await
            .ok()?;
        let Some(holder) = found.first() else {
            return Some(reserved_hint(&change.user_name));
        };
        let attribute = self.match_path.to_string();
        let held = match self.match_path.get(holder).and_then(Json::as_str) {
            Some(value) => format!("another {attribute} (\"{value}\")"),
            None => format!("no {attribute}"),
        };
        let wanted = change.match_value.as_deref().unwrap_or_default();
        Some(format!(
            "A user with userName \"{}\" is on the target with {held}, and users are matched on `{attribute}`, so it was not adopted. To adopt it, set its {attribute} to \"{wanted}\" in the app (or `match userName` in the mapping)",
            change.user_name
        ))
    }

    /// The id of the target user whose match attribute has the change's value.
    ///
    /// Some targets answer filters on `externalId` or `emails` with nothing at all; when the
    /// match attribute's filter finds nothing, the user is also looked for by userName and
    /// its match value compared here.
    async fn look_up(&self, change: &Change) -> Result<Option<String>, ClientError> {
        let Some(value) = &change.match_value else {
            return Ok(None);
        };
        let key = super::desired::match_key(self.match_path, value);
        let holds_key = |user: &&Json| {
            self.match_path
                .get(user)
                .and_then(Json::as_str)
                .is_some_and(|v| super::desired::match_key(self.match_path, v) == key)
        };
        let found = self
            .client
            .find(ResourceType::User, &self.match_path.to_string(), value)
            .await?;
        let mut hit = found
            .iter()
            .find(holds_key)
            .and_then(|u| id(u))
            .map(str::to_owned);
        if hit.is_none() && !self.match_path.is_core("userName") {
            let by_name = self
                .client
                .find(ResourceType::User, "userName", &change.user_name)
                .await?;
            hit = by_name
                .iter()
                .find(holds_key)
                .and_then(|u| id(u))
                .map(str::to_owned);
        }
        Ok(hit)
    }

    /// Records a successful write in the state; returns the values the target did not keep.
    fn record(
        &self,
        state: &mut State,
        change: &Change,
        written: Written,
    ) -> Vec<super::kept::NotKept> {
        let Some(source_id) = &change.source_id else {
            return Vec::new();
        };
        state.rejected.remove(source_id);
        state.pending.remove(source_id);
        if matches!(change.action, Action::Deactivate | Action::Delete) {
            state.removals.push(crate::state::Removal {
                source: source_id.clone(),
                at: self.now,
            });
        }
        if change.action == Action::Delete {
            state.users.remove(source_id);
            state.not_kept.remove(source_id);
            state.unverified.remove(source_id);
            return Vec::new();
        }
        if let Some(old) = &change.takes_over {
            state.users.remove(old);
        }
        let active = change.action != Action::Deactivate;
        let previous = state.users.get(source_id);
        let mut managed = ManagedUser::new(written.id.clone(), change.user_name.clone(), active);
        // An adopted user may differ from the desired state: no fingerprint, so the next run
        // compares it in full.
        managed.fingerprint = (!written.adopted).then(|| change.fingerprint.clone());
        managed.written = left_by(change, &written, previous);
        if !active {
            managed.deactivated_at = previous.and_then(|p| p.deactivated_at).or(Some(self.now));
        }
        state.users.insert(source_id.clone(), managed);
        if written.adopted {
            return Vec::new();
        }
        super::kept::record(state, change, written.returned.as_ref())
    }
}

/// What `change` leaves on the target once `written` (see [`super::written`]): an adopted
/// user is read in full by the next run; a deactivation keeps what was there, with the
/// version it answered.
fn left_by(change: &Change, written: &Written, previous: Option<&ManagedUser>) -> Option<String> {
    if written.adopted {
        return None;
    }
    let left = match change.action {
        Action::Create => Some(super::written::LastWritten::of_create(change)),
        Action::Update | Action::Reactivate => change
            .written
            .as_deref()
            .and_then(super::written::LastWritten::decode),
        Action::Deactivate | Action::Delete => previous
            .filter(|p| Some(p.id.as_str()) == change.id.as_deref())
            .and_then(|p| p.written.as_deref())
            .and_then(super::written::LastWritten::decode),
    }?;
    Some(left.versioned(written.version.as_deref()).encode())
}

/// A 409 on create with no user of that userName on the target.
fn reserved_hint(user_name: &str) -> String {
    format!(
        "No user with userName \"{user_name}\" is on the target: it may keep the userName of a deleted user reserved. Restore the user in the app, or free the userName there"
    )
}

/// The change as it stands against `current` (the user re-read after a 412): only the values
/// `current` does not already hold, each compared as the diff compares them, with `old` the
/// value now on the target.
fn replan(change: &Change, current: &Json) -> Change {
    let rules = super::case::CaseRules::rfc_defaults();
    let attributes = change
        .attributes
        .iter()
        .filter_map(|attribute| {
            let now = attribute.attr.get(current);
            let desired = scimsync_lang::value::Value::from_json(&attribute.new);
            rules
                .compare(&attribute.attr, &desired, now)
                .needs_write()
                .then(|| AttrChange {
                    old: now.cloned(),
                    ..attribute.clone()
                })
        })
        .collect();
    Change {
        attributes,
        ..change.clone()
    }
}

/// Everything the state holds about `source_id`'s target user: it is gone.
fn forget_user(state: &mut State, source_id: &str) {
    state.users.remove(source_id);
    state.rejected.remove(source_id);
    state.not_kept.remove(source_id);
    state.unverified.remove(source_id);
}

/// A create that certainly did not happen (refused, or never sent) is no longer pending.
fn settle_pending(state: &mut State, change: &Change) {
    if let (Action::Create, Some(source_id)) = (change.action, &change.source_id) {
        state.pending.remove(source_id);
    }
}

/// The full resource for a PUT: what the target holds with the change's values written in,
/// `meta` dropped (read-only) and every extension in use listed in `schemas`.
fn put_body(mut current: Json, change: &Change) -> Json {
    if let Some(object) = current.as_object_mut() {
        object.remove("meta");
    }
    for attribute in &change.attributes {
        attribute.attr.set(&mut current, attribute.new.clone());
        if let Some(urn) = &attribute.attr.schema
            && let Some(Json::Array(schemas)) = current.get_mut("schemas")
            && !schemas.iter().any(|s| s.as_str() == Some(urn))
        {
            schemas.push(Json::String(urn.clone()));
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::diff::AttrChange;
    use serde_json::json;

    #[test]
    fn a_replan_keeps_only_the_values_the_user_does_not_hold_yet() {
        let change = |attributes: Vec<AttrChange>| Change {
            action: Action::Update,
            source_id: Some("1".into()),
            id: Some("t1".into()),
            user_name: "a@x".into(),
            attributes,
            adopted: false,
            takes_over: None,
            match_value: None,
            fingerprint: String::new(),
            written: None,
        };
        let set = |path: &str, old: Json, new: Json| AttrChange {
            attr: std::sync::Arc::new(match path.split_once('.') {
                Some((name, sub)) => AttrPath {
                    sub: Some(sub.into()),
                    ..AttrPath::core(name)
                },
                None => AttrPath::core(path),
            }),
            old: Some(old),
            new,
            redacted: false,
        };
        let planned = change(vec![
            set("title", json!("Dev"), json!("Lead")),
            set("name.familyName", json!("Old"), json!("New")),
            set("displayName", json!("x"), json!("Ada")),
        ]);
        // Someone set the title to what scimsync wanted, and changed displayName again.
        let current =
            json!({"id": "t1", "title": "Lead", "name": {"familyName": "Old"}, "displayName": "Y"});
        let replanned = replan(&planned, &current);
        assert_eq!(
            replanned.attributes,
            vec![
                set("name.familyName", json!("Old"), json!("New")),
                set("displayName", json!("Y"), json!("Ada")),
            ]
        );
    }

    #[test]
    fn put_body_writes_values_into_the_current_resource() {
        let role = AttrPath {
            schema: Some("urn:b44:2.0".into()),
            name: "role".into(),
            filter: None,
            sub: None,
        };
        let change = Change {
            action: Action::Update,
            source_id: Some("1".into()),
            id: Some("t1".into()),
            user_name: "a@x".into(),
            attributes: vec![AttrChange {
                attr: std::sync::Arc::new(role.clone()),
                old: None,
                new: json!("admin"),
                redacted: false,
            }],
            adopted: false,
            takes_over: None,
            match_value: None,
            fingerprint: String::new(),
            written: None,
        };
        let current = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "t1",
            "userName": "a@x", "meta": {"version": "W/\"1\""}, "title": "kept"});
        assert_eq!(
            put_body(current, &change),
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:b44:2.0"], "id": "t1",
                "userName": "a@x", "title": "kept", "urn:b44:2.0": {"role": "admin"}})
        );
    }
}
