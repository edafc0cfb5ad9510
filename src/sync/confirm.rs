//! Before the diff: what a listing of the target cannot be trusted to show.
//!
//! A listing can leave users out (eventual consistency, a page that shrank while it was read,
//! a server that caps what it lists), and a create whose answer was lost may exist or not.
//! Acting on a listing alone would create those users a second time, and a target that does
//! not enforce uniqueness would keep both. So before anything is compared:
//!
//! - every managed user missing from the listing is asked for by id (`GET /Users/{id}`): only
//!   a 404 means it is gone; one that is there is added to the listing;
//! - every pending create (see [`crate::state::PendingCreate`]) is looked for in the listing
//!   and then by its match value (`filter=attr eq "value"`): one that is there becomes a
//!   managed user (scimsync made it), one that is not is created again by the diff.
//!
//! Reads only, so dry runs do the same.

use std::collections::HashSet;

use futures::StreamExt as _;
use serde_json::Value as Json;

use super::desired::match_key;
use crate::state::{ManagedUser, PendingCreate, State};
use scimsync_lang::scim::path::AttrPath;
use scimsync_lang::scim::resource::id;
use scimsync_scim::client::{ClientError, ResourceType, ScimClient};

/// What the checks found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Confirmed {
    /// Managed users the listing left out that the target still has.
    pub unlisted: usize,
    /// Managed users the target answered 404 for.
    pub gone: usize,
    /// Pending creates found on the target (now managed).
    pub pending_found: usize,
    /// Pending creates not on the target (the diff creates them).
    pub pending_absent: usize,
}

/// Completes `target_users` with the managed users it left out and the pending creates that
/// took effect, and settles every pending create in `state`.
pub async fn complete_listing(
    client: &ScimClient,
    state: &mut State,
    match_path: &AttrPath,
    target_users: &mut Vec<Json>,
    concurrency: usize,
) -> Result<Confirmed, ClientError> {
    let mut confirmed = Confirmed::default();
    let listed: HashSet<&str> = target_users.iter().filter_map(|u| id(u)).collect();
    let unlisted: Vec<String> = state
        .users
        .values()
        .map(|m| m.id.clone())
        .filter(|managed| !listed.contains(managed.as_str()))
        .collect();
    for found in get_each(client, &unlisted, concurrency).await? {
        match found {
            Some(user) => {
                confirmed.unlisted += 1;
                target_users.push(user);
            }
            None => confirmed.gone += 1,
        }
    }
    if confirmed.unlisted > 0 {
        tracing::warn!(
            users = confirmed.unlisted,
            "the target's listing left out managed users that it still has (GET by id found them); they are kept, not created again"
        );
    }
    let (found, absent) = settle_pending(client, state, match_path, target_users).await?;
    confirmed.pending_found = found;
    confirmed.pending_absent = absent;
    Ok(confirmed)
}

/// Looks for every pending create in `target_users`, then by its match value: one that took
/// effect becomes a managed user (and joins `target_users`), one that did not is left for
/// the diff to create again. Returns how many were found and how many were not.
pub async fn settle_pending(
    client: &ScimClient,
    state: &mut State,
    match_path: &AttrPath,
    target_users: &mut Vec<Json>,
) -> Result<(usize, usize), ClientError> {
    let mut confirmed = Confirmed::default();
    let pending = std::mem::take(&mut state.pending);
    for (source_id, create) in pending {
        match find_pending(client, &create, match_path, target_users).await? {
            Some(user) => {
                confirmed.pending_found += 1;
                tracing::info!(user = %create.user_name, "a pending create took effect; the user is managed now");
                if let Some(target_id) = id(&user) {
                    let active = user.get("active").and_then(Json::as_bool).unwrap_or(true);
                    state.users.insert(
                        source_id,
                        ManagedUser::new(target_id, create.user_name.clone(), active),
                    );
                }
                if !target_users.iter().any(|u| id(u) == id(&user)) {
                    target_users.push(user);
                }
            }
            None => {
                confirmed.pending_absent += 1;
                tracing::info!(user = %create.user_name, "a pending create did not take effect; the user is created again");
            }
        }
    }
    Ok((confirmed.pending_found, confirmed.pending_absent))
}

/// `GET /Users/{id}` for each id, `concurrency` at a time; `None` for a 404.
async fn get_each(
    client: &ScimClient,
    ids: &[String],
    concurrency: usize,
) -> Result<Vec<Option<Json>>, ClientError> {
    let mut pending = ids.iter();
    let mut in_flight = futures::stream::FuturesUnordered::new();
    let mut found = Vec::with_capacity(ids.len());
    loop {
        while in_flight.len() < concurrency.max(1) {
            let Some(target_id) = pending.next() else {
                break;
            };
            in_flight.push(client.get(ResourceType::User, target_id));
        }
        match in_flight.next().await {
            Some(answer) => found.push(answer?),
            None => return Ok(found),
        }
    }
}

/// The target user a pending create made, from the listing or by a filtered lookup.
async fn find_pending(
    client: &ScimClient,
    create: &PendingCreate,
    match_path: &AttrPath,
    target_users: &[Json],
) -> Result<Option<Json>, ClientError> {
    let same_path = create.match_attribute == match_path.to_string();
    let key = match_key(match_path, &create.match_value);
    let matches = |user: &Json| {
        !same_path
            || match_path
                .get(user)
                .and_then(Json::as_str)
                .is_some_and(|v| match_key(match_path, v) == key)
    };
    if same_path && let Some(user) = target_users.iter().find(|u| matches(u)) {
        return Ok(Some(user.clone()));
    }
    let found = client
        .find(
            ResourceType::User,
            &create.match_attribute,
            &create.match_value,
        )
        .await?;
    Ok(found.into_iter().find(|u| matches(u) && id(u).is_some()))
}
