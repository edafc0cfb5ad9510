//! Group writes in `/Bulk` requests (RFC 7644 §3.7), when the target offers them: creates,
//! renames, member adds and removes, deletes, split within the target's limits, each
//! operation's result settled as the same write sent alone would be
//! ([`Applier::settle_group`]).
//!
//! A new group goes out as the sequential path sends it, a `POST /Groups` without members,
//! and its members as `PATCH` operations on `/Groups/bulkId:<id>` in the same request. Why not
//! `members` in the POST: some targets create the group and drop the members without saying
//! so (undetectable without reading it back), while an unresolved reference in a path shows
//! as a failed operation. A target that does not resolve references in paths (SCIMMY answers
//! 404) gets those member changes again by the group's id in a later request, and no more
//! references for the rest of the run.
//!
//! What each result means:
//! - 2xx: written (a create's id from its `location` or its response);
//! - 409, a 5xx or no result on a create: the group is looked up by displayName and adopted;
//! - 429, and a 5xx on a write that is safe to repeat (not a member add): sent again in a later
//!   request after the backoff, at most `max_retries` times;
//! - a failed write by reference whose create succeeded: the reference was not resolved; sent
//!   again by id;
//! - any other 4xx: the target's refusal, recorded as the same request's would be.

use std::collections::HashSet;

use super::*;
use crate::sync::apply::bulk::clone_error;
use scimsync_scim::bulk::{
    Batch, BulkLimits, BulkOperation, OperationResult, batches_keeping_references,
};

/// One group write on its way through the bulk rounds.
struct Item<'c> {
    /// Its position among the run's group changes: creates come before their members, and
    /// what goes alone goes in this order.
    order: usize,
    change: &'c GroupChange,
    /// Member adds: the members' target ids, and the members without one (skipped).
    ids: Vec<String>,
    skips: Vec<MemberSkip>,
    /// Passing failures (429, a 5xx on a safe write) so far.
    tries: u32,
}

/// What became of one operation of a bulk request.
enum Outcome {
    /// Settled: written or failed for good.
    Done(Result<Option<GroupWritten>, ClientError>),
    /// A create that conflicted or may have happened: look the group up.
    LookUp(ClientError),
    /// A passing failure: send it again in a later request.
    Again(ClientError),
    /// Sent by reference to a create that did not succeed, or that the target did not
    /// resolve: sent again once the group's id is known.
    Later,
}

/// Where a round puts a group write.
enum Placed {
    /// In a bulk request, as this operation.
    Sent(BulkOperation),
    /// In a later round (its group's create is in this one).
    Later,
    /// Sent alone, after the bulk rounds.
    Alone,
    /// Settled without a request.
    Settled(Result<Option<GroupWritten>, ClientError>),
    /// Its group's create failed: failed as alone, without a request.
    NotCreated,
}

/// What the rounds of one run have learned.
struct Rounds<'c> {
    limits: BulkLimits,
    /// Whether the target is believed to resolve `bulkId` references in paths.
    references: bool,
    /// Groups whose create failed for good, by key.
    not_created: HashSet<String>,
    /// To send alone after the rounds: too large for any request, or waiting for a create
    /// that goes alone.
    alone: Vec<Item<'c>>,
    /// For the next round.
    next: Vec<Item<'c>>,
    /// Whether one of `next` failed for a passing reason (the round waits out the backoff).
    passing: bool,
}

impl Applier<'_> {
    /// Writes the group `changes` in bulk rounds: each round sends what is left; what failed
    /// for a passing reason, and member changes that wait for their group's id, go into the
    /// next. Returns the changes to send alone, in order.
    pub(super) async fn write_groups_in_bulk<'c>(
        &self,
        changes: Vec<&'c GroupChange>,
        context: &mut GroupContext,
        state: &mut State,
        applied: &mut Applied,
    ) -> Vec<&'c GroupChange> {
        let Some(limits) = self.offers.bulk else {
            return changes;
        };
        let mut todo: Vec<Item<'c>> = changes
            .into_iter()
            .enumerate()
            .map(|(order, change)| {
                let (ids, skips) = resolve_members(change, &context.user_ids);
                Item {
                    order,
                    change,
                    ids,
                    skips,
                    tries: 0,
                }
            })
            .collect();
        let mut rounds = Rounds {
            limits,
            references: true,
            not_created: HashSet::new(),
            alone: Vec::new(),
            next: Vec::new(),
            passing: false,
        };
        // Bounded: every write either settles, or waits for a create that settles within
        // `max_retries` passing failures, or is sent again by id once.
        let last_round = self.client.max_retries() + 3;
        for round in 0..=last_round {
            if todo.is_empty() {
                break;
            }
            if self.stopped() {
                for item in todo.drain(..) {
                    let not_sent = Err(self.not_sent());
                    self.settle_item(&item, not_sent, Duration::ZERO, context, state, applied);
                }
                break;
            }
            self.group_round(todo, &mut rounds, context, state, applied)
                .await;
            todo = std::mem::take(&mut rounds.next);
            todo.sort_by_key(|item| item.order);
            if rounds.passing {
                rounds.passing = false;
                let wait = self.client.backoff(round);
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = self.cancel.cancelled() => {}
                }
            }
        }
        let mut alone = rounds.alone;
        alone.extend(todo);
        alone.sort_by_key(|item| item.order);
        alone.into_iter().map(|item| item.change).collect()
    }

    /// One round: each write placed, the bulk requests sent up to `concurrency` at once and
    /// each result settled (a response's creates first, so its other writes know their
    /// group's id); then the creates to look up.
    async fn group_round<'c>(
        &self,
        todo: Vec<Item<'c>>,
        rounds: &mut Rounds<'c>,
        context: &mut GroupContext,
        state: &mut State,
        applied: &mut Applied,
    ) {
        let (sendable, ops) = self.place(todo, rounds, context, state, applied);
        let (requests, too_large) = requests(&ops, rounds.limits);
        let mut sendable: Vec<Option<Item<'c>>> = sendable.into_iter().map(Some).collect();
        rounds
            .alone
            .extend(too_large.into_iter().filter_map(|i| sendable[i].take()));
        let mut requests = requests.into_iter();
        let mut in_flight = futures::stream::FuturesUnordered::new();
        let mut look_ups = Vec::new();
        loop {
            while in_flight.len() < self.concurrency.max(1) && !self.stopped() {
                let Some(indices) = requests.next() else {
                    break;
                };
                in_flight.push(self.send_group_bulk(indices, &ops));
            }
            let Some((indices, outcomes, latency, whole)) = in_flight.next().await else {
                break;
            };
            let mut settled: Vec<(Item<'c>, &BulkOperation, Outcome)> = indices
                .into_iter()
                .zip(outcomes)
                .filter_map(|(index, outcome)| {
                    Some((sendable[index].take()?, &ops[index], outcome))
                })
                .collect();
            // Creates first: the writes by reference are judged by their create's result.
            settled.sort_by_key(|(item, ..)| item.change.operation != Operation::GroupCreate);
            for (item, op, outcome) in settled {
                // A request that failed as a whole settles its writes as alone, references or not.
                let outcome = if whole {
                    outcome
                } else {
                    self.judge_reference(&item, op, outcome, rounds, context)
                };
                match outcome {
                    Outcome::Done(result) => {
                        self.settle_in_round(
                            &item, result, latency, rounds, context, state, applied,
                        );
                    }
                    Outcome::LookUp(error) => look_ups.push((item, error, latency)),
                    Outcome::Again(error) if item.tries < self.client.max_retries() => {
                        tracing::debug!(group = %item.change.display_name, %error, "bulk operation failed for a passing reason; sent again in the next bulk request");
                        rounds.passing = true;
                        rounds.next.push(Item {
                            tries: item.tries + 1,
                            ..item
                        });
                    }
                    Outcome::Again(error) => {
                        self.settle_in_round(
                            &item,
                            Err(error),
                            latency,
                            rounds,
                            context,
                            state,
                            applied,
                        );
                    }
                    Outcome::Later => rounds.next.push(item),
                }
            }
        }
        // Requests never sent (the run was stopped): their writes were not attempted.
        for item in requests
            .flatten()
            .filter_map(|index| sendable[index].take())
        {
            let not_sent = Err(self.not_sent());
            self.settle_in_round(
                &item,
                not_sent,
                Duration::ZERO,
                rounds,
                context,
                state,
                applied,
            );
        }
        // Left out by `requests` (a reference that could not go with its create): by id later.
        rounds.next.extend(sendable.into_iter().flatten());
        for (item, error, latency) in look_ups {
            let started = Instant::now();
            let result = self.adopt_group(item.change, error).await.map(Some);
            let latency = latency + started.elapsed();
            self.settle_in_round(&item, result, latency, rounds, context, state, applied);
        }
    }

    /// Places each write of a round: the ones to send, with their operations in order; the
    /// others into `rounds` or settled now.
    fn place<'c>(
        &self,
        todo: Vec<Item<'c>>,
        rounds: &mut Rounds<'c>,
        context: &mut GroupContext,
        state: &mut State,
        applied: &mut Applied,
    ) -> (Vec<Item<'c>>, Vec<BulkOperation>) {
        let creating: HashMap<&str, usize> = todo
            .iter()
            .filter(|item| item.change.operation == Operation::GroupCreate)
            .map(|item| (item.change.group.as_str(), item.order))
            .collect();
        let (mut sendable, mut ops) = (Vec::new(), Vec::new());
        for item in todo {
            match self.placed(&item, &creating, rounds, context) {
                Placed::Sent(op) => {
                    sendable.push(item);
                    ops.push(op);
                }
                Placed::Later => rounds.next.push(item),
                Placed::Alone => rounds.alone.push(item),
                Placed::Settled(result) => {
                    self.settle_item(&item, result, Duration::ZERO, context, state, applied);
                }
                Placed::NotCreated => {
                    let error = Err(self.group_not_created(item.change));
                    self.settle_group(item.change, error, Duration::ZERO, context, state, applied);
                }
            }
        }
        (sendable, ops)
    }

    /// Where one write goes this round. A write to a group created in this run goes by id
    /// once the create has settled; by reference next to a create in this round when the
    /// target resolves references; else after it.
    fn placed(
        &self,
        item: &Item<'_>,
        creating: &HashMap<&str, usize>,
        rounds: &Rounds<'_>,
        context: &GroupContext,
    ) -> Placed {
        let change = item.change;
        if change.operation == Operation::GroupCreate {
            return Placed::Sent(BulkOperation {
                method: reqwest::Method::POST,
                path: "/Groups".into(),
                bulk_id: Some(group_bulk_id(item.order)),
                version: None,
                data: change.resource.clone(),
            });
        }
        let known = change
            .id
            .clone()
            .or_else(|| context.created.get(&change.group).cloned());
        let path = match (known, creating.get(change.group.as_str())) {
            (Some(id), _) => format!("/Groups/{id}"),
            (None, _) if rounds.not_created.contains(&change.group) => return Placed::NotCreated,
            (None, Some(create)) if rounds.references => {
                scimsync_scim::bulk::reference_path("/Groups", &group_bulk_id(*create))
            }
            (None, Some(_)) => return Placed::Later,
            // Its create goes alone: so does it, after it.
            (None, None) => return Placed::Alone,
        };
        let patch = |operations: &[PatchOperation]| BulkOperation {
            method: reqwest::Method::PATCH,
            path: path.clone(),
            bulk_id: None,
            version: None,
            data: Some(self.client.patch_body(operations)),
        };
        match change.operation {
            Operation::GroupUpdate | Operation::GroupRemoveMembers => {
                Placed::Sent(patch(&change.operations))
            }
            Operation::GroupAddMembers if item.ids.is_empty() => Placed::Settled(Ok(None)),
            Operation::GroupAddMembers => {
                Placed::Sent(patch(&[PatchOperation::add_members(&item.ids)]))
            }
            Operation::GroupDelete => Placed::Sent(BulkOperation {
                method: reqwest::Method::DELETE,
                path,
                bulk_id: None,
                version: None,
                data: None,
            }),
            _ => Placed::Settled(Ok(None)),
        }
    }

    /// A write sent by reference whose result did not settle it: when its create succeeded
    /// and the write was refused (not throttled), the target did not resolve the reference:
    /// no more references this run, and the write goes again by id. When its create did not
    /// succeed, the write waits for the create's lookup.
    fn judge_reference(
        &self,
        item: &Item<'_>,
        op: &BulkOperation,
        outcome: Outcome,
        rounds: &mut Rounds<'_>,
        context: &GroupContext,
    ) -> Outcome {
        if op.referenced_bulk_id().is_none() {
            return outcome;
        }
        let created = context.created.contains_key(&item.change.group);
        match outcome {
            // Unanswered, and not safe to repeat: as alone.
            Outcome::Done(Err(error)) if error.status().is_none() => Outcome::Done(Err(error)),
            Outcome::Done(Ok(written)) => Outcome::Done(Ok(written.map(|w| GroupWritten {
                id: context
                    .created
                    .get(&item.change.group)
                    .cloned()
                    .unwrap_or(w.id),
                ..w
            }))),
            Outcome::Again(error) if error.status() == Some(429) => Outcome::Again(error),
            Outcome::Done(Err(error)) | Outcome::Again(error) | Outcome::LookUp(error)
                if created && error.status().is_some_and(|s| (400..500).contains(&s)) =>
            {
                if rounds.references {
                    tracing::info!(group = %item.change.display_name, %error, "the target did not resolve a bulkId reference in a path; member changes of new groups go by id in a later bulk request");
                }
                rounds.references = false;
                Outcome::Later
            }
            other if created => other,
            _ => Outcome::Later,
        }
    }

    /// Settles one item of a round; a create that did not succeed marks its group as not
    /// created, for the writes that wait for it.
    #[allow(clippy::too_many_arguments)]
    fn settle_in_round(
        &self,
        item: &Item<'_>,
        result: Result<Option<GroupWritten>, ClientError>,
        latency: Duration,
        rounds: &mut Rounds<'_>,
        context: &mut GroupContext,
        state: &mut State,
        applied: &mut Applied,
    ) {
        self.settle_item(item, result, latency, context, state, applied);
        if item.change.operation == Operation::GroupCreate
            && !context.created.contains_key(&item.change.group)
        {
            rounds.not_created.insert(item.change.group.clone());
        }
    }

    /// Settles one item, its skipped members recorded (as the write sent alone does).
    fn settle_item(
        &self,
        item: &Item<'_>,
        result: Result<Option<GroupWritten>, ClientError>,
        latency: Duration,
        context: &mut GroupContext,
        state: &mut State,
        applied: &mut Applied,
    ) {
        applied.member_skips.extend(item.skips.iter().cloned());
        self.settle_group(item.change, result, latency, context, state, applied);
    }

    /// Sends one bulk request of `ops[indices]`; each operation's outcome, in order, and
    /// whether the request failed as a whole (no BulkResponse).
    async fn send_group_bulk(
        &self,
        indices: Vec<usize>,
        ops: &[BulkOperation],
    ) -> (Vec<usize>, Vec<Outcome>, Duration, bool) {
        let started = Instant::now();
        let sent: Vec<&BulkOperation> = indices.iter().map(|i| &ops[*i]).collect();
        let (outcomes, whole) = match self.client.bulk(&sent).await {
            Ok(results) => (
                sent.iter()
                    .zip(results)
                    .map(|(op, result)| self.group_outcome(op, result))
                    .collect(),
                false,
            ),
            Err(error) => {
                tracing::warn!(%error, operations = sent.len(), "a bulk request of group writes failed");
                let outcomes = sent
                    .iter()
                    .map(|op| whole_request_outcome(op, &error))
                    .collect();
                (outcomes, true)
            }
        };
        (indices, outcomes, started.elapsed(), whole)
    }

    /// What one operation's result means for its write.
    fn group_outcome(&self, op: &BulkOperation, result: Option<OperationResult>) -> Outcome {
        let create = op.method == reqwest::Method::POST;
        let Some(result) = result else {
            let error = self.client.unanswered(op);
            return match (create, op.replayable()) {
                (true, _) => Outcome::LookUp(error),
                (false, true) => Outcome::Again(error),
                // A member add that may have happened is not sent again (as alone).
                (false, false) => Outcome::Done(Err(error)),
            };
        };
        let id_in_path = op
            .path
            .rsplit('/')
            .next()
            .filter(|_| !create)
            .map(str::to_owned);
        if result.succeeded() || (op.method == reqwest::Method::DELETE && result.status == 404) {
            let id = if create {
                result.id()
            } else {
                result
                    .id()
                    .filter(|_| op.referenced_bulk_id().is_some())
                    .or(id_in_path)
            };
            let Some(id) = id else {
                return Outcome::LookUp(self.client.unanswered(op));
            };
            return Outcome::Done(Ok(Some(GroupWritten {
                id,
                status: result.status,
                adopted: false,
                members: members_in(op),
            })));
        }
        let error = self.client.operation_error(op, &result);
        match result.status {
            409 if create => Outcome::LookUp(error),
            429 => Outcome::Again(error),
            500..=599 if create => Outcome::LookUp(error),
            500..=599 if op.replayable() => Outcome::Again(error),
            _ => Outcome::Done(Err(error)),
        }
    }
}

/// The `bulkId` of the create at `order` among the run's group changes.
fn group_bulk_id(order: usize) -> String {
    format!("group-{}", order + 1)
}

/// How many members a successful operation added or removed.
fn members_in(op: &BulkOperation) -> usize {
    let Some(operations) = op
        .data
        .as_ref()
        .and_then(|d| scimsync_lang::scim::path::get_ci(d, "Operations"))
        .and_then(Json::as_array)
    else {
        return 0;
    };
    operations
        .iter()
        .map(|o| {
            let path = scimsync_lang::scim::path::get_ci(o, "path").and_then(Json::as_str);
            match path {
                Some(p) if p.eq_ignore_ascii_case("members") => {
                    scimsync_lang::scim::path::get_ci(o, "value")
                        .and_then(Json::as_array)
                        .map_or(0, Vec::len)
                }
                Some(p) if p.to_ascii_lowercase().starts_with("members[") => 1,
                _ => 0,
            }
        })
        .sum()
}

/// The bulk requests of a round (`ops` split within `limits`) and the operations too large
/// for any, to send alone. A write by reference that cannot go in its create's request is in
/// neither: it goes by id in the next round.
fn requests(ops: &[BulkOperation], limits: BulkLimits) -> (Vec<Vec<usize>>, Vec<usize>) {
    let (mut out, mut alone) = (Vec::new(), Vec::new());
    for batch in batches_keeping_references(ops, limits).0 {
        match batch {
            Batch::Alone(index) => alone.push(index),
            Batch::Bulk(indices) => out.push(indices),
        }
    }
    (out, alone)
}

/// The members of a member add with a target id, and those without one (not created).
fn resolve_members(
    change: &GroupChange,
    user_ids: &HashMap<String, String>,
) -> (Vec<String>, Vec<MemberSkip>) {
    if change.operation != Operation::GroupAddMembers {
        return (Vec::new(), Vec::new());
    }
    let mut skipped = Applied::default();
    let ids = member_ids(change, user_ids, &mut skipped);
    (ids, skipped.member_skips)
}

/// What a whole bulk request's failure means for one of its operations: a create that may
/// have happened is looked up; a write safe to repeat is sent again; a member add that may
/// have happened is not (as alone); anything else failed as the request did.
fn whole_request_outcome(op: &BulkOperation, error: &ClientError) -> Outcome {
    let unreadable = matches!(error, ClientError::Protocol { .. });
    if !(error.maybe_applied() || unreadable) {
        return Outcome::Done(Err(clone_error(error)));
    }
    if op.method == reqwest::Method::POST {
        Outcome::LookUp(clone_error(error))
    } else if op.replayable() {
        Outcome::Again(clone_error(error))
    } else {
        Outcome::Done(Err(clone_error(error)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(method: reqwest::Method, path: &str, bulk_id: Option<&str>, data: Json) -> BulkOperation {
        BulkOperation {
            method,
            path: path.into(),
            bulk_id: bulk_id.map(str::to_owned),
            version: None,
            data: Some(data),
        }
    }

    #[test]
    fn a_reference_that_cannot_share_its_creates_request_is_left_for_the_next_round() {
        let create = |n: usize, padding: usize| {
            op(
                reqwest::Method::POST,
                "/Groups",
                Some(&group_bulk_id(n)),
                json!({"displayName": "x".repeat(padding)}),
            )
        };
        let members = |n: usize| {
            op(
                reqwest::Method::PATCH,
                &scimsync_scim::bulk::reference_path("/Groups", &group_bulk_id(n)),
                None,
                json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": "u1"}]}]}),
            )
        };
        let limits = |max_operations| BulkLimits {
            max_operations,
            max_payload_size: 1000,
        };
        // Two per request: the second chunk would land alone, without its create.
        let ops = [
            create(0, 1),
            members(0),
            members(0),
            create(3, 1),
            members(3),
        ];
        assert_eq!(
            requests(&ops, limits(2)),
            (vec![vec![0, 1], vec![3, 4]], vec![])
        );
        // A create too large for any request goes alone; its reference waits for its id.
        let ops = [create(0, 2000), members(0), create(2, 1), members(2)];
        assert_eq!(requests(&ops, limits(10)), (vec![vec![2, 3]], vec![0]));
    }

    #[test]
    fn the_members_an_operation_adds_or_removes_are_counted() {
        let patch = |operations: Json| {
            op(
                reqwest::Method::PATCH,
                "/Groups/g1",
                None,
                json!({"Operations": operations}),
            )
        };
        let adds = patch(
            json!([{"op": "add", "path": "members", "value": [{"value": "a"}, {"value": "b"}]}]),
        );
        let removes = patch(json!([
            {"op": "remove", "path": "members[value eq \"a\"]"},
            {"op": "remove", "path": "members[value eq \"b\"]"},
            {"op": "remove", "path": "members[value eq \"c\"]"}
        ]));
        let rename = patch(json!([{"op": "replace", "path": "displayName", "value": "y"}]));
        assert_eq!(
            (members_in(&adds), members_in(&removes), members_in(&rename)),
            (2, 3, 0)
        );
    }
}
