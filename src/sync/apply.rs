//! Carries out a list of changes against the target, a bounded number at a time, and
//! records in the state what was done. A failed write is reported with its user and the
//! server's answer; the other writes go on.

use std::time::Instant;

use futures::StreamExt as _;
use serde::Serialize;

use super::diff::{Action, Change, Changes};
use crate::observe::{Observer, WriteEvent};
use crate::scim::client::{ClientError, ScimClient};
use crate::scim::resource::id;
use crate::state::{ManagedUser, State};

/// A write that did not succeed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Failure {
    pub action: Action,
    #[serde(rename = "userName")]
    pub user_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub error: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Applied {
    pub created: usize,
    pub updated: usize,
    pub reactivated: usize,
    pub deactivated: usize,
    pub failures: Vec<Failure>,
    /// Write requests sent.
    pub writes: usize,
}

/// Applies `changes` with at most `concurrency` requests in flight, updating `state`.
/// Every finished write is reported to `observer`; once it says the run is cancelled, no
/// further write is started (those in flight finish, so the state stays true).
pub async fn apply(
    client: &ScimClient,
    changes: &Changes,
    state: &mut State,
    concurrency: usize,
    observer: &dyn Observer,
) -> Applied {
    let mut applied = Applied::default();
    for (source_id, managed) in &changes.remember {
        state.users.insert(source_id.clone(), managed.clone());
    }
    for source_id in &changes.forget {
        state.users.remove(source_id);
    }
    // Keep up to `concurrency` writes in flight; stop starting new ones once cancelled.
    let mut pending = changes.changes.iter();
    let mut in_flight = futures::stream::FuturesUnordered::new();
    loop {
        while in_flight.len() < concurrency.max(1) && !observer.cancelled() {
            let Some(change) = pending.next() else {
                break;
            };
            in_flight.push(timed_write(client, change));
        }
        let Some((change, result, latency)) = in_flight.next().await else {
            break;
        };
        applied.writes += 1;
        observer.write(&WriteEvent::new(
            change,
            result.as_ref().map(String::as_str),
            latency,
        ));
        match result {
            Ok(target_id) => {
                record(state, change, target_id);
                match change.action {
                    Action::Create => applied.created += 1,
                    Action::Update => applied.updated += 1,
                    Action::Reactivate => applied.reactivated += 1,
                    Action::Deactivate => applied.deactivated += 1,
                }
            }
            Err(error) => {
                tracing::warn!(action = change.action.verb(), user = %change.user_name, %error, "write failed");
                applied.failures.push(Failure {
                    action: change.action,
                    user_name: change.user_name.clone(),
                    status: error.status(),
                    error: error.to_string(),
                });
            }
        }
    }
    applied
}

async fn timed_write<'a>(
    client: &ScimClient,
    change: &'a Change,
) -> (&'a Change, Result<String, ClientError>, std::time::Duration) {
    let started = Instant::now();
    let result = write(client, change).await;
    (change, result, started.elapsed())
}

/// Sends one change; returns the target id of the user it wrote.
async fn write(client: &ScimClient, change: &Change) -> Result<String, ClientError> {
    match (change.action, &change.resource, &change.id) {
        (Action::Create, Some(resource), _) => {
            let created = client.create_user(resource).await?;
            Ok(id(&created).unwrap_or_default().to_owned())
        }
        (_, _, Some(target_id)) => {
            client.patch_user(target_id, &change.operations()).await?;
            Ok(target_id.clone())
        }
        _ => Ok(String::new()),
    }
}

fn record(state: &mut State, change: &Change, target_id: String) {
    let Some(source_id) = &change.source_id else {
        return;
    };
    state.users.insert(
        source_id.clone(),
        ManagedUser {
            id: target_id,
            user_name: change.user_name.clone(),
            active: change.action != Action::Deactivate,
        },
    );
}
