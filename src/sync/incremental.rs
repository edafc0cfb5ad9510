//! An incremental run's view of the target: instead of listing every user, fetch only those
//! the run may have to write, and trust the state for the rest.
//!
//! | desired user                                        | requests                        |
//! |-----------------------------------------------------|---------------------------------|
//! | fingerprint and `active` equal the state's          | none (counted unchanged)        |
//! | in the state, changed, what was last written known  | none: diffed against that       |
//! | in the state, changed, nothing written known (or a  | `GET /Users/{id}`; 404 → lookup |
//! | refusal is held)                                    |                                 |
//! | new and active (or a pending create)                | `filter=<match> eq "…"`         |
//! | new and inactive                                    | none (full runs adopt them)     |
//! | managed, left the source or out of scope            | none: built from the state      |
//!
//! What comes out is fed to the same diff as a full run's listing
//! ([`super::diff::diff_partial`]), so the writes, adoptions and the safety guard's count of
//! removals are decided by the same code. What an incremental run cannot see — changes made
//! on the target by hand, users deleted there — waits for the next full run.
//!
//! Lookups need filtering: the first time one is needed the target's
//! `/ServiceProviderConfig` is read, and a filter answer that holds users the filter does not
//! select marks the target unreliable. Either verdict sends the run back to a full listing,
//! and is recorded so later runs stay full (see [`super::kind`]).

use std::collections::HashSet;

use futures::StreamExt as _;
use serde_json::{Value as Json, json};

use super::confirm;
use super::desired::{Desired, DesiredUser, match_key};
use super::kind::FullReason;
use super::written::LastWritten;
use crate::state::State;
use crate::state::reconcile::Filtering;
use scimsync_lang::scim::path::{AttrPath, get_ci};
use scimsync_lang::scim::resource::id;
use scimsync_scim::client::{ClientError, ResourceType, ScimClient};

/// What an incremental run fetched, and which desired users it trusts the state for.
#[derive(Clone, Debug, Default)]
pub struct Partial {
    /// The target users fetched (by id, by filter), and departed managed users as the state
    /// knows them.
    pub users: Vec<Json>,
    /// Source ids whose fingerprint and `active` equal the state's: not fetched.
    pub unchanged: HashSet<String>,
    /// What it cost, for the log.
    pub counts: Counts,
}

/// Requests an incremental run made, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub unchanged: usize,
    /// Changed users diffed against what scimsync last wrote to them: no read.
    pub trusted: usize,
    pub fetched_by_id: usize,
    /// `GET /Users/{id}` answered 404: looked up by match value.
    pub gone: usize,
    pub looked_up: usize,
    /// Departed managed users built from the state (no request).
    pub departed: usize,
}

/// An incremental view, or the reason this run must list the target after all.
#[derive(Debug)]
pub enum Gathered {
    Partial(Partial),
    Full(FullReason),
}

/// Fetches what `desired` may change on the target (see the module docs). `concurrency`
/// bounds the requests in flight.
pub async fn gather(
    client: &ScimClient,
    state: &mut State,
    desired: &Desired,
    match_path: &AttrPath,
    concurrency: usize,
) -> Result<Gathered, ClientError> {
    let split = Split::of(desired, state);
    let mut partial = Partial {
        unchanged: split.unchanged,
        ..Partial::default()
    };
    partial.counts.unchanged = partial.unchanged.len();
    if (!split.new.is_empty() || !state.pending.is_empty())
        && let Some(reason) = filtering_ruled_out(client, state).await
    {
        return Ok(Gathered::Full(reason));
    }
    confirm::settle_pending(client, state, match_path, &mut partial.users).await?;
    let mut lookups = split.new;
    let fetched: HashSet<String> = partial
        .users
        .iter()
        .filter_map(id)
        .map(str::to_owned)
        .collect();
    let checks_versions = !split.changed.is_empty() && checks_versions(client).await;
    let mut by_id: Vec<(&DesiredUser, String)> = Vec::new();
    for user in split.changed {
        let Some(managed) = state.users.get(&user.source_id) else {
            continue;
        };
        if fetched.contains(&managed.id) {
            continue;
        }
        // A held refusal is settled by what the target holds now: read it.
        let written = (!state.rejected.contains_key(&user.source_id))
            .then(|| as_last_written(managed, user, checks_versions))
            .flatten();
        match written {
            Some(resource) => {
                partial.counts.trusted += 1;
                partial.users.push(resource);
            }
            None => by_id.push((user, managed.id.clone())),
        }
    }
    partial.counts.fetched_by_id = by_id.len();
    for ((user, _), found) in bounded(by_id, concurrency, |(_, target_id)| async move {
        client.get(ResourceType::User, &target_id).await
    })
    .await
    {
        match found? {
            Some(resource) => partial.users.push(resource),
            None => {
                partial.counts.gone += 1;
                if user.active {
                    lookups.push(user);
                }
            }
        }
    }
    if !lookups.is_empty()
        && let Some(reason) = filtering_ruled_out(client, state).await
    {
        return Ok(Gathered::Full(reason));
    }
    partial.counts.looked_up = lookups.len();
    match look_up_each(client, match_path, lookups, concurrency, state).await? {
        Ok(found) => add_new(&mut partial.users, found),
        Err(reason) => return Ok(Gathered::Full(reason)),
    }
    partial.counts.departed = add_departed(&mut partial.users, desired, state);
    Ok(Gathered::Partial(partial))
}

/// Looks each of `users` up by its match value, `concurrency` at a time: the target users the
/// filters select, or (recorded in `state`, so later runs stay full) why lookups cannot be
/// trusted: an answer held users its filter does not select.
pub(super) async fn look_up_each(
    client: &ScimClient,
    match_path: &AttrPath,
    users: Vec<&DesiredUser>,
    concurrency: usize,
    state: &mut State,
) -> Result<Result<Vec<Json>, FullReason>, ClientError> {
    let mut found = Vec::new();
    for (user, answer) in bounded(users, concurrency, |user| lookup(client, match_path, user)).await
    {
        let Some(value) = match_value(user, match_path) else {
            continue;
        };
        match selected(answer?, match_path, &value) {
            Ok(selected) => add_new(&mut found, selected),
            Err(detail) => {
                tracing::warn!(%detail, "the target's filter answered with users it does not select: this run and the next ones list the whole target until a full run finds filtering works");
                state.reconcile.filter = Some(Filtering::Unreliable {
                    detail: detail.clone(),
                });
                return Ok(Err(FullReason::FilterUnreliable { detail }));
            }
        }
    }
    Ok(Ok(found))
}

/// The desired users by what an incremental run must do to learn their target state.
struct Split<'d> {
    unchanged: HashSet<String>,
    changed: Vec<&'d DesiredUser>,
    new: Vec<&'d DesiredUser>,
}

impl<'d> Split<'d> {
    fn of(desired: &'d Desired, state: &State) -> Split<'d> {
        let mut split = Split {
            unchanged: HashSet::new(),
            changed: Vec::new(),
            new: Vec::new(),
        };
        for user in &desired.users {
            if state.pending.contains_key(&user.source_id) {
                // Settled by `confirm::settle_pending`, which looks it up.
                continue;
            }
            match state.users.get(&user.source_id) {
                Some(managed) if is_unchanged(user, managed, state) => {
                    split.unchanged.insert(user.source_id.clone());
                }
                Some(_) => split.changed.push(user),
                // An inactive user scimsync does not manage is only adopted (and
                // deactivated) by a full run: looking each one up would cost a request per
                // disabled account on every run.
                None if user.active => split.new.push(user),
                None => {}
            }
        }
        split
    }
}

/// Whether the state says the target already holds what `user` wants: the same fingerprint
/// and `active`, with no held refusal the target's answer must settle. Values a write sent
/// but whose answer did not show them (a 204: see `super::kept`) are not read back here:
/// the next full run's listing checks them, so a run after writes stays free of requests.
fn is_unchanged(user: &DesiredUser, managed: &crate::state::ManagedUser, state: &State) -> bool {
    managed.active == user.active
        && managed
            .fingerprint
            .as_deref()
            .is_some_and(|f| f == user.fingerprint.to_string())
        && !state.rejected.contains_key(&user.source_id)
}

/// The target user as scimsync last left it (see [`super::written`]), when the state knows
/// that: the diff then writes the changed values by id without reading the user first. On a
/// target that checks versions, only when the version is known too: an update must carry
/// one in `If-Match`, else it would overwrite a change made meanwhile unseen.
fn as_last_written(
    managed: &crate::state::ManagedUser,
    user: &DesiredUser,
    checks_versions: bool,
) -> Option<Json> {
    let written = LastWritten::decode(managed.written.as_deref()?)?;
    if checks_versions && written.version.is_none() {
        return None;
    }
    Some(written.resource(&managed.id, managed.active, user))
}

/// Whether the target checks `If-Match` (`etag.supported` in `/ServiceProviderConfig`, read
/// once per run: the writes that follow need it anyway).
async fn checks_versions(client: &ScimClient) -> bool {
    client
        .service_provider_config()
        .await
        .is_some_and(|config| scimsync_scim::discovery::features(config).etag)
}

/// The reason lookups cannot be trusted on this target, once `/ServiceProviderConfig` has
/// been read (the first time a lookup is needed) or an answer proved them unreliable.
pub(super) async fn filtering_ruled_out(
    client: &ScimClient,
    state: &mut State,
) -> Option<FullReason> {
    if state.reconcile.filter.is_none() {
        state.reconcile.filter = Some(filtering_of(client).await);
    }
    match state.reconcile.filter.as_ref()? {
        Filtering::Works => None,
        Filtering::Unsupported => Some(FullReason::FilterUnsupported),
        Filtering::Unreliable { detail } => Some(FullReason::FilterUnreliable {
            detail: detail.clone(),
        }),
    }
}

/// What `/ServiceProviderConfig` says of filtering: only an explicit `filter.supported =
/// false` rules lookups out. A target that does not publish it, or leaves `filter` out, is
/// tried, and each answer is checked.
async fn filtering_of(client: &ScimClient) -> Filtering {
    let denied = |config: &Json| {
        get_ci(config, "filter")
            .and_then(|f| get_ci(f, "supported"))
            .and_then(Json::as_bool)
            == Some(false)
    };
    match client.service_provider_config().await {
        Some(config) if denied(config) => {
            tracing::warn!(
                "the target's /ServiceProviderConfig says filter.supported = false: this target gets full runs (listing every user)"
            );
            Filtering::Unsupported
        }
        // Without one, lookups by filter are tried, and their answers checked.
        _ => Filtering::Works,
    }
}

/// The match attribute's value a desired user carries, as it is sent in a filter.
pub(super) fn match_value(user: &DesiredUser, match_path: &AttrPath) -> Option<String> {
    user.mapped.get(match_path).map(|v| match v {
        scimsync_lang::value::Value::Str(s) => s.clone(),
        other => other.to_json().to_string(),
    })
}

/// `filter=<match> eq "value"` for one desired user.
pub(super) async fn lookup(
    client: &ScimClient,
    match_path: &AttrPath,
    user: &DesiredUser,
) -> Result<Vec<Json>, ClientError> {
    match match_value(user, match_path) {
        Some(value) => {
            client
                .find(ResourceType::User, &match_path.to_string(), &value)
                .await
        }
        None => Ok(Vec::new()),
    }
}

/// The users of a filter answer that the filter selects; an answer with a user whose value
/// differs is an unreliable filter (`Err` says what it answered).
pub(super) fn selected(
    answer: Vec<Json>,
    match_path: &AttrPath,
    value: &str,
) -> Result<Vec<Json>, String> {
    let key = match_key(match_path, value);
    let mut found = Vec::new();
    for user in answer {
        match match_path.get(&user).and_then(Json::as_str) {
            Some(held) if match_key(match_path, held) == key && id(&user).is_some() => {
                found.push(user);
            }
            Some(held) if match_key(match_path, held) == key => {}
            Some(held) => {
                return Err(format!(
                    "filter {match_path} eq \"{value}\" answered with {match_path} \"{held}\""
                ));
            }
            // Without the attribute it cannot be matched; it is not adopted.
            None => {}
        }
    }
    Ok(found)
}

/// Adds the users not fetched already (a pending create's lookup may have found one).
fn add_new(users: &mut Vec<Json>, found: Vec<Json>) {
    for user in found {
        if !users.iter().any(|u| id(u) == id(&user)) {
            users.push(user);
        }
    }
}

/// Managed users that are no longer desired, as the state knows them (`id` and `active`):
/// the diff deactivates (or deletes) them by id without a read. Returns how many.
fn add_departed(users: &mut Vec<Json>, desired: &Desired, state: &State) -> usize {
    let present = desired.present();
    let known: HashSet<String> = users.iter().filter_map(id).map(str::to_owned).collect();
    let mut departed = 0;
    for (source_id, managed) in &state.users {
        if present.contains(source_id.as_str()) || known.contains(&managed.id) {
            continue;
        }
        departed += 1;
        users.push(json!({ "id": managed.id, "active": managed.active }));
    }
    departed
}

/// Runs `call` on each item, `concurrency` at a time; the answers come back with their items,
/// in the order they complete.
async fn bounded<T, R, F, Fut>(items: Vec<T>, concurrency: usize, call: F) -> Vec<(T, R)>
where
    T: Clone,
    F: Fn(T) -> Fut,
    Fut: Future<Output = R>,
{
    let call = &call;
    futures::stream::iter(items)
        .map(|item| async move { (item.clone(), call(item).await) })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await
}
