//! User writes in `/Bulk` requests (RFC 7644 §3.7), when the target offers them: creates,
//! updates (PATCH, or PUT in put mode) and deactivations, split within the target's limits,
//! each operation's result settled exactly as the same write sent alone would be
//! ([`Applier::settle_write`]).
//!
//! What each result means for its user:
//! - 2xx: written (a create's id from its `location` or its response);
//! - 409 on a create, a 5xx on a create, a create left unanswered, or a whole bulk request that
//!   failed in a way that may have acted (5xx, timeout, reset): the user is looked up and
//!   adopted, else stays pending; a create is never sent twice;
//! - 412: the user changed on the target; re-read, re-planned, sent again alone;
//! - 429 (and a 5xx on an update): sent again in a later bulk request, after the backoff, at
//!   most `max_retries` times;
//! - any other 4xx: the target's refusal, recorded as the same request's would be.

use super::*;
use scimsync_scim::bulk::{Batch, BulkOperation, OperationResult, batches};

/// What became of one operation of a bulk round.
enum Outcome {
    /// Settled: written or failed for good.
    Done(Result<Written, NotWritten>),
    /// A create that conflicted or may have happened (whatever its error says): look it up
    /// before anything else.
    LookUp(ClientError),
    /// The user changed since it was read (412).
    Stale(ClientError),
    /// A passing failure: send it again in a later round.
    Again(ClientError),
}

impl Applier<'_> {
    /// The changes that go in bulk requests, and those sent one by one: bulk needs at least
    /// two writes to be worth it; creates that must be looked up first (an incomplete
    /// listing) go alone.
    pub(super) fn split_for_bulk<'c>(
        &self,
        changes: &'c [Change],
    ) -> (Vec<&'c Change>, Vec<&'c Change>) {
        if self.offers.bulk.is_none() {
            return (Vec::new(), changes.iter().collect());
        }
        let (in_bulk, singly): (Vec<&Change>, Vec<&Change>) = changes
            .iter()
            .partition(|c| !(c.action == Action::Create && self.look_before_create));
        if in_bulk.len() < 2 {
            return (Vec::new(), changes.iter().collect());
        }
        (in_bulk, singly)
    }

    /// Writes `changes` in bulk rounds: each round sends what is left, and what failed for a
    /// passing reason goes into the next, after the backoff, at most `max_retries` rounds
    /// after the first. Returns the changes to send alone (an operation too large for any
    /// bulk request).
    pub(super) async fn write_in_bulk<'c>(
        &self,
        changes: Vec<&'c Change>,
        state: &mut State,
        applied: &mut Applied,
    ) -> Vec<&'c Change> {
        let Some(limits) = self.offers.bulk else {
            return changes;
        };
        let mut alone = Vec::new();
        let mut todo = changes;
        let mut round = 0u32;
        while !todo.is_empty() {
            if self.stopped() {
                for change in &todo {
                    self.settle_write(
                        state,
                        applied,
                        change,
                        Err(self.not_sent().into()),
                        Duration::ZERO,
                    );
                }
                self.commit_users(state, &mut todo);
                break;
            }
            let mut sendable = Vec::new();
            let mut settled = Vec::new();
            for (change, operation) in todo.iter().zip(self.operations(&todo).await) {
                match operation {
                    Ok(operation) => sendable.push((*change, operation)),
                    // The current user could not be read for a PUT: as the request alone.
                    Err(error) => {
                        self.settle_write(
                            state,
                            applied,
                            change,
                            Err(error.into()),
                            Duration::ZERO,
                        );
                        settled.push(*change);
                    }
                }
            }
            self.commit_users(state, &mut settled);
            let (again, too_large) = self
                .bulk_round(&sendable, limits, round, state, applied)
                .await;
            alone.extend(too_large);
            if !again.is_empty() {
                let wait = self.client.backoff(round);
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = self.cancel.cancelled() => {}
                }
            }
            round += 1;
            todo = again;
        }
        alone
    }

    /// One round: `sendable` split into bulk requests, up to `concurrency` in flight, each
    /// result settled; then the creates to look up and the updates to re-plan, up to
    /// `concurrency` at once. Returns the changes for the next round and those too large for
    /// any bulk request.
    async fn bulk_round<'c>(
        &self,
        sendable: &[(&'c Change, BulkOperation)],
        limits: scimsync_scim::bulk::BulkLimits,
        round: u32,
        state: &mut State,
        applied: &mut Applied,
    ) -> (Vec<&'c Change>, Vec<&'c Change>) {
        let ops: Vec<BulkOperation> = sendable.iter().map(|(_, op)| op.clone()).collect();
        let (mut again, mut alone, mut follow_ups) = (Vec::new(), Vec::new(), Vec::new());
        let mut requests = Vec::new();
        for batch in batches(&ops, limits) {
            match batch {
                Batch::Alone(index) => alone.push(sendable[index].0),
                Batch::Bulk(indices) => requests.push(indices),
            }
        }
        let mut requests = requests.into_iter();
        let mut in_flight = futures::stream::FuturesUnordered::new();
        loop {
            while in_flight.len() < self.concurrency.max(1) && !self.stopped() {
                let Some(indices) = requests.next() else {
                    break;
                };
                in_flight.push(self.send_bulk(indices, &ops));
            }
            let Some((indices, outcomes, latency)) = in_flight.next().await else {
                break;
            };
            // One response's outcomes share one commit.
            let mut settled = Vec::new();
            for (index, outcome) in indices.into_iter().zip(outcomes) {
                let change = sendable[index].0;
                match outcome {
                    Outcome::Done(result) => {
                        self.settle_write(state, applied, change, result, latency);
                        settled.push(change);
                    }
                    Outcome::Again(error) if round < self.client.max_retries() => {
                        tracing::debug!(user = %change.user_name, %error, "bulk operation failed for a passing reason; sent again in the next bulk request");
                        again.push(change);
                    }
                    // Out of tries: failed as the request alone would have.
                    Outcome::Again(error) => {
                        self.settle_write(state, applied, change, Err(error.into()), latency);
                        settled.push(change);
                    }
                    follow_up => follow_ups.push((change, follow_up, latency)),
                }
            }
            self.commit_users(state, &mut settled);
        }
        // Requests never sent (the run was stopped): their changes were not attempted.
        let mut never_sent = Vec::new();
        for index in requests.flatten() {
            self.settle_write(
                state,
                applied,
                sendable[index].0,
                Err(self.not_sent().into()),
                Duration::ZERO,
            );
            never_sent.push(sendable[index].0);
        }
        self.commit_users(state, &mut never_sent);
        self.follow_up(follow_ups, state, applied).await;
        (again, alone)
    }

    /// Looks up the creates that conflicted or may have happened, and re-plans the updates
    /// that met a 412, up to `concurrency` at once; settles each.
    async fn follow_up(
        &self,
        follow_ups: Vec<(&Change, Outcome, Duration)>,
        state: &mut State,
        applied: &mut Applied,
    ) {
        let mut follow_ups = follow_ups.into_iter();
        let mut in_flight = futures::stream::FuturesUnordered::new();
        loop {
            while in_flight.len() < self.concurrency.max(1) {
                let Some((change, outcome, latency)) = follow_ups.next() else {
                    break;
                };
                in_flight.push(async move {
                    let started = Instant::now();
                    let result = match outcome {
                        Outcome::LookUp(error) => self.adopt_or_hold(change, error, true).await,
                        Outcome::Stale(error) => self.replan_after_412(change, error).await,
                        Outcome::Done(result) => result,
                        Outcome::Again(error) => Err(error.into()),
                    };
                    (change, result, latency + started.elapsed())
                });
            }
            let Some((change, result, latency)) = in_flight.next().await else {
                break;
            };
            self.settle_write(state, applied, change, result, latency);
            self.commit_users(state, &mut vec![change]);
        }
    }

    /// The error of a write not sent because the run was stopped.
    pub(super) fn not_sent(&self) -> ClientError {
        ClientError::Cancelled {
            method: reqwest::Method::POST,
            url: format!("{}/Bulk", self.client.base().trim_end_matches('/')),
        }
    }

    /// Sends one bulk request of `ops[indices]`; each operation's outcome, in order.
    async fn send_bulk(
        &self,
        indices: Vec<usize>,
        ops: &[BulkOperation],
    ) -> (Vec<usize>, Vec<Outcome>, Duration) {
        let started = Instant::now();
        let sent: Vec<&BulkOperation> = indices.iter().map(|i| &ops[*i]).collect();
        let outcomes = match self.client.bulk(&sent).await {
            Ok(results) => sent
                .iter()
                .zip(results)
                .map(|(op, result)| self.operation_outcome(op, result))
                .collect(),
            Err(error) => {
                tracing::warn!(%error, operations = sent.len(), "a bulk request failed");
                sent.iter()
                    .map(|op| whole_request_outcome(op, &error))
                    .collect()
            }
        };
        (indices, outcomes, started.elapsed())
    }

    /// What one operation's result means for its write.
    fn operation_outcome(&self, op: &BulkOperation, result: Option<OperationResult>) -> Outcome {
        let create = op.method == reqwest::Method::POST;
        let Some(result) = result else {
            let error = self.client.unanswered(op);
            return if create {
                Outcome::LookUp(error)
            } else {
                Outcome::Again(error)
            };
        };
        if result.succeeded() {
            let id = if create {
                result.id()
            } else {
                op.path.rsplit('/').next().map(str::to_owned)
            };
            let Some(id) = id else {
                // Created, but the answer does not say as what: found by lookup.
                return Outcome::LookUp(self.client.unanswered(op));
            };
            // The resource written, when the target sent it (not an empty or error body).
            let returned = result.response.filter(|r| r.get("id").is_some());
            let version = result.version.clone().or_else(|| {
                returned
                    .as_ref()
                    .and_then(super::super::offers::version)
                    .map(str::to_owned)
            });
            return Outcome::Done(Ok(Written {
                id,
                status: result.status,
                adopted: false,
                returned,
                version,
            }));
        }
        if op.method == reqwest::Method::DELETE && result.status == 404 {
            // Already gone: as a DELETE alone, success.
            return Outcome::Done(Ok(Written {
                id: op.path.rsplit('/').next().unwrap_or_default().to_owned(),
                status: 404,
                adopted: false,
                returned: None,
                version: None,
            }));
        }
        let error = self.client.operation_error(op, &result);
        match result.status {
            409 if create => Outcome::LookUp(error),
            412 => Outcome::Stale(error),
            429 => Outcome::Again(error),
            500..=599 if create => Outcome::LookUp(error),
            500..=599 => Outcome::Again(error),
            _ => Outcome::Done(Err(error.into())),
        }
    }

    /// The bulk operations for `changes`, in order; in put mode each user is read first (the
    /// PUT carries the whole resource), up to `concurrency` reads at once.
    async fn operations(&self, changes: &[&Change]) -> Vec<Result<BulkOperation, ClientError>> {
        let mut out: Vec<Option<Result<BulkOperation, ClientError>>> =
            std::iter::repeat_with(|| None)
                .take(changes.len())
                .collect();
        let mut reads = Vec::new();
        for (index, change) in changes.iter().enumerate() {
            if self.update_mode == UpdateMode::Put
                && matches!(
                    change.action,
                    Action::Update | Action::Reactivate | Action::Deactivate
                )
            {
                reads.push(index);
            } else {
                out[index] = Some(Ok(self.operation(change, None)));
            }
        }
        let mut reads = reads.into_iter();
        let mut in_flight = futures::stream::FuturesUnordered::new();
        loop {
            while in_flight.len() < self.concurrency.max(1) {
                let Some(index) = reads.next() else {
                    break;
                };
                let id = changes[index].id.clone().unwrap_or_default();
                in_flight.push(async move { (index, self.read_user(&id).await) });
            }
            let Some((index, current)) = in_flight.next().await else {
                break;
            };
            out[index] = Some(current.map(|current| self.operation(changes[index], Some(current))));
        }
        out.into_iter()
            .map(|op| {
                op.unwrap_or_else(|| {
                    Err(ClientError::Cancelled {
                        method: reqwest::Method::GET,
                        url: self.client.base().to_owned(),
                    })
                })
            })
            .collect()
    }

    /// One change as a bulk operation (`current`: the user as read, for a PUT).
    fn operation(&self, change: &Change, current: Option<Json>) -> BulkOperation {
        let target_id = change.id.clone().unwrap_or_default();
        let path = format!("/Users/{target_id}");
        match (change.action, current) {
            (Action::Create, _) => BulkOperation {
                method: reqwest::Method::POST,
                path: "/Users".into(),
                bulk_id: Some(bulk_id(change)),
                version: None,
                data: change.body(),
            },
            (Action::Delete, _) => BulkOperation {
                method: reqwest::Method::DELETE,
                path,
                bulk_id: None,
                version: self.offers.version_of(&target_id).map(str::to_owned),
                data: None,
            },
            (_, Some(current)) => BulkOperation {
                method: reqwest::Method::PUT,
                path,
                bulk_id: None,
                version: self
                    .offers
                    .etag
                    .then(|| super::super::offers::version(&current).map(str::to_owned))
                    .flatten(),
                data: Some(put_body(current, change)),
            },
            (_, None) => BulkOperation {
                method: reqwest::Method::PATCH,
                path,
                bulk_id: None,
                version: self.offers.version_of(&target_id).map(str::to_owned),
                data: Some(self.client.patch_body(&change.operations())),
            },
        }
    }
}

/// A create's `bulkId`: its source id, which is unique within a run (RFC 7644 asks only for
/// uniqueness within the request).
fn bulk_id(change: &Change) -> String {
    change
        .source_id
        .clone()
        .unwrap_or_else(|| change.user_name.clone())
}

/// What a whole bulk request's failure means for one of its operations: a create that may
/// have happened is looked up; an update that may have been applied is sent again (it is
/// idempotent); anything else failed as the request did. An answer that could not be read
/// (not a BulkResponse) came after the target acted: its operations may all have happened.
fn whole_request_outcome(op: &BulkOperation, error: &ClientError) -> Outcome {
    let create = op.method == reqwest::Method::POST;
    let copy = || clone_error(error);
    let unreadable = matches!(error, ClientError::Protocol { .. });
    if error.maybe_applied() || unreadable {
        if create {
            Outcome::LookUp(copy())
        } else {
            Outcome::Again(copy())
        }
    } else {
        Outcome::Done(Err(copy().into()))
    }
}

/// The request's error, for each of its operations.
pub(super) fn clone_error(error: &ClientError) -> ClientError {
    match error {
        ClientError::Transport {
            method,
            url,
            reason,
            timed_out,
            sent,
        } => ClientError::Transport {
            method: method.clone(),
            url: url.clone(),
            reason: reason.clone(),
            timed_out: *timed_out,
            sent: *sent,
        },
        ClientError::Status {
            method,
            url,
            status,
            scim_type,
            detail,
        } => ClientError::Status {
            method: method.clone(),
            url: url.clone(),
            status: *status,
            scim_type: scim_type.clone(),
            detail: detail.clone(),
        },
        ClientError::Cancelled { method, url } => ClientError::Cancelled {
            method: method.clone(),
            url: url.clone(),
        },
        ClientError::Throttled { method, url, held } => ClientError::Throttled {
            method: method.clone(),
            url: url.clone(),
            held: *held,
        },
        other => ClientError::Protocol {
            method: reqwest::Method::POST,
            url: String::new(),
            reason: other.to_string(),
        },
    }
}
