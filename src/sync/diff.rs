//! Desired state against target state: what to create, update, reactivate and deactivate.
//! Pure: the target's users and the state come in, a list of changes goes out.
//!
//! A desired user is found on the target by the SCIM id the state remembers, else by the
//! match attribute (and then adopted). Only users in the state are ever deactivated.

use crate::sync::skip::SkipReason;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value as Json;

use chrono::{DateTime, Utc};

use super::case::CaseRules;
use super::desired::{ABSENT_FINGERPRINT, Desired, DesiredUser, Skip, match_key};
use super::event::Operation;
use super::kept::{self, NotKept};
use super::offers::version;
use super::settings::ActionsConfig;
use super::takeover::{TakenOver, Takeovers};
use super::written::LastWritten;
use crate::state::{ManagedUser, State, UserOperation};
use scimsync_lang::mapping::plan::{Flow, REDACTED};
use scimsync_lang::scim::patch::PatchOperation;
use scimsync_lang::scim::path::AttrPath;
use scimsync_lang::scim::resource::{id, is_active, user_resource_from_json};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Reactivate,
    Deactivate,
    Delete,
}

impl Action {
    pub fn verb(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Reactivate => "reactivate",
            Action::Deactivate => "deactivate",
            Action::Delete => "delete",
        }
    }

    /// How the state records this action when the target refuses it.
    pub fn user_operation(self) -> UserOperation {
        match self {
            Action::Create => UserOperation::Create,
            Action::Update => UserOperation::Update,
            Action::Reactivate => UserOperation::Reactivate,
            Action::Deactivate => UserOperation::Deactivate,
            Action::Delete => UserOperation::Delete,
        }
    }

    pub fn operation(self) -> Operation {
        match self {
            Action::Create => Operation::Create,
            Action::Update => Operation::Update,
            Action::Reactivate => Operation::Reactivate,
            Action::Deactivate => Operation::Deactivate,
            Action::Delete => Operation::Delete,
        }
    }
}

/// One attribute brought to its desired value.
///
/// Kept lean, as a first sync plans one per attribute of every user: the path is shared with
/// the rule, and its text and the PATCH operation are derived when they are needed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AttrChange {
    #[serde(rename = "path", serialize_with = "path_text")]
    pub attr: Arc<AttrPath>,
    pub old: Option<Json>,
    pub new: Json,
    /// The rule uses `Redact`: the values are shown as `[Redact]` (see [`Change::shown`]).
    #[serde(skip)]
    pub redacted: bool,
}

/// One write to the target.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    /// The target's id; `None` for a create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "userName")]
    pub user_name: String,
    /// The attribute changes of an update or reactivation (and `active` of a deactivation).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<AttrChange>,
    /// Whether the user was found on the target by the match attribute and is taken over.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub adopted: bool,
    /// The source id whose target user this (re-created) source user takes over: its state
    /// entry is re-keyed when the write succeeds (see [`super::takeover`]).
    #[serde(rename = "takesOverFrom", skip_serializing_if = "Option::is_none")]
    pub takes_over: Option<String>,
    /// The match attribute's value, to look a user up after an uncertain create.
    #[serde(skip)]
    pub match_value: Option<String>,
    /// Fingerprint of the desired state this change brings about.
    #[serde(skip)]
    pub fingerprint: String,
    /// What an update or reactivation leaves on the target once it succeeds, every compared
    /// value included (encoded [`super::written::LastWritten`]); a create's is built from its
    /// attributes when it is recorded.
    #[serde(skip)]
    pub written: Option<String>,
}

impl Change {
    /// The change as scimsync shows it (dry-run diffs, JSON reports): values of rules that
    /// use `Redact` replaced by `[Redact]`, in the attribute list and in a create's body, as
    /// Entra's provisioning logs show them. What is sent is the change itself.
    pub fn shown(&self) -> Cow<'_, Change> {
        if !self.attributes.iter().any(|a| a.redacted) {
            return Cow::Borrowed(self);
        }
        let hidden = Json::String(REDACTED.to_owned());
        let mut shown = self.clone();
        for attribute in shown.attributes.iter_mut().filter(|a| a.redacted) {
            if attribute.old.is_some() {
                attribute.old = Some(hidden.clone());
            }
            attribute.new = hidden.clone();
        }
        Cow::Owned(shown)
    }

    /// The body of a create, built from its attributes when it is sent or shown rather than
    /// kept beside them: a first sync plans a create for every user. `active` is sent even
    /// when no rule sets it, so no target has to guess its default.
    pub fn body(&self) -> Option<Json> {
        if self.action != Action::Create {
            return None;
        }
        let active = AttrPath::core("active");
        let implied = (!self.attributes.iter().any(|a| *a.attr == active))
            .then(|| (&active, Json::Bool(true)));
        Some(user_resource_from_json(
            self.attributes
                .iter()
                .map(|a| (&*a.attr, a.new.clone()))
                .chain(implied),
        ))
    }

    pub fn operations(&self) -> Vec<PatchOperation> {
        self.attributes.iter().map(AttrChange::operation).collect()
    }
}

impl AttrChange {
    /// The path as SCIM writes it (`name.givenName`, `urn:…:User:department`).
    pub fn path(&self) -> String {
        self.attr.to_string()
    }

    /// The PATCH operation that makes the change.
    pub fn operation(&self) -> PatchOperation {
        PatchOperation::set(&self.attr, self.new.clone(), self.old.as_ref())
    }
}

fn path_text<S: serde::Serializer>(path: &Arc<AttrPath>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(path)
}

/// Which provisioning actions are on, the clock for `delete_after_days`, and which attributes
/// compare without regard to case.
#[derive(Clone, Debug)]
pub struct Policy {
    pub actions: ActionsConfig,
    pub now: DateTime<Utc>,
    pub case: CaseRules,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            actions: ActionsConfig::default(),
            now: Utc::now(),
            case: CaseRules::default(),
        }
    }
}

/// Everything a run would do.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Changes {
    pub changes: Vec<Change>,
    pub unchanged: usize,
    pub skipped: Vec<Skip>,
    /// State entries to record or refresh without writing to the target (unchanged users,
    /// including adopted ones).
    pub remember: Vec<(String, ManagedUser)>,
    /// Source ids whose target user no longer exists: dropped from the state.
    pub forget: Vec<String>,
    /// Compared values that differ from the target's only in case (written or not): the run
    /// then asks the target's `/Schemas` which of them matter.
    pub case_only: usize,
    /// Values the target accepted at the last write but does not hold: not sent, recorded
    /// (see [`super::kept`]).
    pub not_kept: Vec<NotKept>,
    /// Source ids whose unverified values (see [`super::kept`]) this listing settled.
    pub verified: Vec<String>,
    /// Takeovers that write nothing (see [`super::takeover`]).
    pub taken_over: Vec<TakenOver>,
}

impl Changes {
    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Deactivations and deletions: what the safety threshold counts.
    pub fn removals(&self) -> usize {
        self.count(Action::Deactivate) + self.count(Action::Delete)
    }
}

/// What a run would do to bring the target to `desired`: each desired user is created,
/// updated, deactivated or reactivated (or skipped, and why); managed users that left the
/// source are deactivated or deleted.
pub fn diff(
    desired: &Desired,
    target_users: &[Json],
    state: &State,
    match_path: &AttrPath,
    policy: &Policy,
) -> Changes {
    diff_partial(
        desired,
        target_users,
        &Coverage::default(),
        state,
        match_path,
        policy,
    )
}

/// What part of the target a run looked at: all of it (a full run, the default), the users
/// an incremental run fetched, or one user (`sync --user`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Desired users whose fingerprint and `active` equal the state's: not fetched, counted
    /// unchanged rather than missing.
    pub unchanged: HashSet<String>,
    /// The one source id this run is about: no other managed user is deactivated.
    pub only: Option<String>,
    /// The desired users given are some of the source's only (users an update found gone,
    /// planned again: see [`super::gone`]): no managed user is deactivated.
    pub some_users: bool,
}

/// [`diff`] against part of the target, as an incremental run or `sync --user` fetches it
/// (see [`Coverage`]). Everything else is decided exactly as in a full run, by the same code.
pub fn diff_partial(
    desired: &Desired,
    target_users: &[Json],
    coverage: &Coverage,
    state: &State,
    match_path: &AttrPath,
    policy: &Policy,
) -> Changes {
    let mut differ = Differ::new(desired, target_users, state, match_path, policy);
    // Inactive users whose match key an active one holds are that person's former selves.
    let active_keys: HashSet<&str> = desired
        .users
        .iter()
        .filter(|u| u.active)
        .map(DesiredUser::match_key)
        .collect();
    for user in &desired.users {
        if coverage.unchanged.contains(&user.source_id) {
            // As a full run remembers the users it found as desired (group members are
            // resolved from these entries). A run about one user leaves the others' entries
            // alone (their held refusals included).
            differ.changes.unchanged += 1;
            if coverage.only.is_none()
                && let Some(managed) = state.users.get(&user.source_id)
            {
                let entry = (user.source_id.clone(), managed.clone());
                differ.changes.remember.push(entry);
            }
            continue;
        }
        let superseded = !user.active && active_keys.contains(user.match_key());
        if differ.takeovers.is_taken_over(&user.source_id) || superseded {
            // Its target user goes to the source user that re-created it.
            continue;
        }
        differ.desired_user(user);
    }
    if !coverage.some_users {
        differ.departed_users(desired, coverage.only.as_deref());
    }
    differ.changes
}

/// The lookups one diff works from, and the changes it has found so far.
struct Differ<'a> {
    state: &'a State,
    match_path: &'a AttrPath,
    policy: &'a Policy,
    by_id: HashMap<&'a str, &'a Json>,
    by_match: HashMap<String, &'a Json>,
    /// Target id to the source id the state manages it for.
    managed_by_id: HashMap<&'a str, &'a str>,
    takeovers: Takeovers,
    /// Target ids claimed in this run, with the source id that claimed each.
    claimed: HashMap<&'a str, &'a str>,
    changes: Changes,
}

impl<'a> Differ<'a> {
    fn new(
        desired: &'a Desired,
        target_users: &'a [Json],
        state: &'a State,
        match_path: &'a AttrPath,
        policy: &'a Policy,
    ) -> Differ<'a> {
        let by_id: HashMap<&str, &Json> = target_users
            .iter()
            .filter_map(|u| Some((id(u)?, u)))
            .collect();
        let by_match: HashMap<String, &Json> = target_users
            .iter()
            .filter_map(|u| {
                let value = match_path.get(u)?.as_str()?;
                Some((match_key(match_path, value), u))
            })
            .collect();
        let managed_by_id: HashMap<&str, &str> = state
            .users
            .iter()
            .map(|(source, managed)| (managed.id.as_str(), source.as_str()))
            .collect();
        let takeovers = Takeovers::find(desired, state, &by_match, &managed_by_id);
        Differ {
            state,
            match_path,
            policy,
            by_id,
            by_match,
            managed_by_id,
            takeovers,
            claimed: HashMap::new(),
            changes: Changes {
                skipped: desired.skipped.clone(),
                ..Changes::default()
            },
        }
    }

    /// One desired user: found on the target (by the state's id, else by match key) or not.
    fn desired_user(&mut self, user: &'a DesiredUser) {
        let state = self.state;
        let known = state.users.get(&user.source_id);
        let by_state = known.and_then(|m| self.by_id.get(m.id.as_str()).copied());
        let found = by_state.or_else(|| self.by_match.get(user.match_key()).copied());
        match found {
            Some(target) => self.found_user(user, target, known, by_state.is_some()),
            None => self.missing_user(user, known.is_some()),
        }
    }

    /// A desired user the target does not hold: created when active.
    fn missing_user(&mut self, user: &DesiredUser, known: bool) {
        if known {
            self.changes.forget.push(user.source_id.clone());
        }
        if user.active {
            if self.policy.actions.create {
                self.push(create(user, self.match_path));
            } else {
                self.switched_off(user, Action::Create);
            }
        }
    }

    /// A desired user found on the target: claimed (unless another source user holds it),
    /// then deactivated, reactivated, updated or left as it is.
    fn found_user(
        &mut self,
        user: &'a DesiredUser,
        target: &'a Json,
        known: Option<&ManagedUser>,
        by_state: bool,
    ) {
        // Owned: the takeovers are read while `self` changes below.
        let taken_from = self
            .takeovers
            .taken_from(&user.source_id)
            .map(str::to_owned);
        let taken_from = taken_from.as_deref();
        let target_id = id(target).unwrap_or_default();
        if let Some(other) = self.claimant(user, target_id, taken_from) {
            let reason = SkipReason::HeldByOther {
                match_path: self.match_path.to_string(),
                value: user.match_key().to_owned(),
                other: other.to_owned(),
            };
            self.changes.skipped.push(Skip {
                source_id: user.source_id.clone(),
                user: user.user_name.clone(),
                reason,
            });
            return;
        }
        self.claimed.insert(target_id, &user.source_id);
        let found = Found {
            user,
            target_id,
            adopted: !by_state && taken_from.is_none(),
            taken_from,
        };
        if user.active {
            self.active_user(&found, target, known);
        } else if is_active(target) {
            if self.policy.actions.deactivate {
                self.push(found.change(Action::Deactivate, vec![active_change(true, false)]));
            } else {
                self.switched_off(user, Action::Deactivate);
            }
        } else {
            self.changes.unchanged += 1;
            let entry = remember(user, target_id, false, known, self.policy.now);
            self.changes.remember.push(entry);
        }
    }

    /// Another source user that claimed this target user (in this run, or by state, and is
    /// not taken over from): it is not touched twice.
    fn claimant(
        &self,
        user: &DesiredUser,
        target_id: &str,
        taken_from: Option<&str>,
    ) -> Option<&'a str> {
        self.claimed.get(target_id).copied().or_else(|| {
            self.managed_by_id
                .get(target_id)
                .copied()
                .filter(|s| *s != user.source_id && Some(*s) != taken_from)
        })
    }

    /// An active desired user found on the target: reactivated, updated, or unchanged (a
    /// takeover that writes nothing is recorded then).
    fn active_user(&mut self, found: &Found<'_>, target: &Json, known: Option<&ManagedUser>) {
        let user = found.user;
        let mut attributes = if self.policy.actions.update {
            attribute_changes(
                user,
                target,
                self.state,
                &self.policy.case,
                &mut self.changes,
            )
        } else {
            Vec::new()
        };
        if !is_active(target) {
            if self.policy.actions.reactivate {
                attributes.push(active_change(false, true));
                let change = if self.policy.actions.update {
                    found.write(Action::Reactivate, attributes)
                } else {
                    found.change(Action::Reactivate, attributes)
                };
                self.push(change);
            } else {
                self.switched_off(user, Action::Reactivate);
            }
        } else if !attributes.is_empty() {
            self.push(found.write(Action::Update, attributes));
        } else {
            self.changes.unchanged += 1;
            let mut entry = remember(user, found.target_id, true, known, self.policy.now);
            if self.policy.actions.update {
                // Every value compared equal: the target holds what is desired.
                entry.1.written = Some(LastWritten::of(user).versioned(version(target)).encode());
            }
            self.changes.remember.push(entry);
            if let Some(from) = found.taken_from {
                self.changes.forget.push(from.to_owned());
                self.changes.taken_over.push(TakenOver {
                    user_name: user.user_name.clone(),
                    from: from.to_owned(),
                    to: user.source_id.clone(),
                });
            }
        }
    }

    /// Managed users that are no longer desired: deactivated (or deleted when configured).
    /// Users skipped for a failing rule are still in the source and are left alone.
    fn departed_users(&mut self, desired: &Desired, only: Option<&str>) {
        let present = desired.present();
        let state = self.state;
        for (source_id, managed) in &state.users {
            if present.contains(source_id.as_str())
                || self.takeovers.is_taken_over(source_id)
                || only.is_some_and(|only| only != source_id)
            {
                continue;
            }
            match self.by_id.get(managed.id.as_str()).copied() {
                Some(target) => self.departed_user(source_id, managed, target),
                None => self.changes.forget.push(source_id.clone()),
            }
        }
    }

    /// A managed user that left the source, still on the target.
    fn departed_user(&mut self, source_id: &str, managed: &ManagedUser, target: &Json) {
        let user_name = self
            .match_path
            .get(target)
            .and_then(Json::as_str)
            .unwrap_or(&managed.user_name)
            .to_owned();
        let gone = |action: Action, attributes: Vec<AttrChange>| Change {
            action,
            source_id: Some(source_id.to_owned()),
            id: Some(managed.id.clone()),
            user_name: user_name.clone(),
            attributes,
            adopted: false,
            takes_over: None,
            match_value: None,
            fingerprint: ABSENT_FINGERPRINT.into(),
            written: None,
        };
        let active = is_active(target);
        if self.deletes_now(managed, active) {
            self.push(gone(Action::Delete, Vec::new()));
        } else if active {
            if self.policy.actions.deactivate {
                self.push(gone(Action::Deactivate, vec![active_change(true, false)]));
            } else {
                self.changes.skipped.push(Skip {
                    source_id: source_id.to_owned(),
                    user: user_name,
                    reason: SkipReason::LeftButDeactivateOff,
                });
            }
        } else if managed.deactivated_at.is_none() {
            // Inactive already (by someone else): start the `delete_after_days` clock now.
            let mut refreshed = managed.clone();
            refreshed.active = false;
            refreshed.deactivated_at = Some(self.policy.now);
            self.changes
                .remember
                .push((source_id.to_owned(), refreshed));
        }
    }

    /// Deletion is on, and (with `delete_after_days`) the user was deactivated long enough ago.
    fn deletes_now(&self, managed: &ManagedUser, active: bool) -> bool {
        let actions = &self.policy.actions;
        actions.delete
            && match actions.delete_after_days {
                None => true,
                Some(days) => {
                    !active
                        && managed.deactivated_at.is_some_and(|at| {
                            self.policy.now - at >= chrono::Duration::days(i64::from(days))
                        })
                }
            }
    }

    /// Adds a change, unless the target refused the same change for good: that one is held
    /// back while the desired state is the same.
    fn push(&mut self, change: Change) {
        let source_id = change.source_id.clone().unwrap_or_default();
        let Some(rejection) = self.state.rejected.get(&source_id).filter(|r| {
            r.operation == change.action.user_operation() && r.fingerprint == change.fingerprint
        }) else {
            self.changes.changes.push(change);
            return;
        };
        self.changes.skipped.push(Skip {
            source_id,
            user: change.user_name.clone(),
            reason: SkipReason::Refused {
                action: change.action,
                at: rejection.at,
                status: rejection.status,
                detail: rejection.detail.clone(),
            },
        });
    }

    fn switched_off(&mut self, user: &DesiredUser, action: Action) {
        self.changes.skipped.push(Skip {
            source_id: user.source_id.clone(),
            user: user.user_name.clone(),
            reason: SkipReason::ActionOff(action),
        });
    }
}

/// A desired user matched to a target user this run claimed.
struct Found<'u> {
    user: &'u DesiredUser,
    target_id: &'u str,
    /// Matched by its match key, not by the state: the run adopts it.
    adopted: bool,
    /// The source user that left and whose target user this one takes over.
    taken_from: Option<&'u str>,
}

impl Found<'_> {
    fn change(&self, action: Action, attributes: Vec<AttrChange>) -> Change {
        Change {
            action,
            source_id: Some(self.user.source_id.clone()),
            id: Some(self.target_id.to_owned()),
            user_name: self.user.user_name.clone(),
            attributes,
            adopted: self.adopted,
            takes_over: self.taken_from.map(str::to_owned),
            match_value: None,
            fingerprint: self.user.fingerprint.to_string(),
            written: None,
        }
    }

    /// An update or reactivation, which (values compared) leaves every value as desired.
    fn write(&self, action: Action, attributes: Vec<AttrChange>) -> Change {
        Change {
            written: Some(LastWritten::of(self.user).encode()),
            ..self.change(action, attributes)
        }
    }
}

fn create(user: &DesiredUser, match_path: &AttrPath) -> Change {
    let attributes = user
        .mapped
        .values
        .iter()
        .map(|v| {
            let new = v.value.to_json();
            AttrChange {
                attr: Arc::clone(&v.path),
                old: None,
                new,
                redacted: v.redacted,
            }
        })
        .collect();
    Change {
        action: Action::Create,
        source_id: Some(user.source_id.clone()),
        id: None,
        user_name: user.user_name.clone(),
        attributes,
        adopted: false,
        takes_over: None,
        match_value: user.mapped.get(match_path).map(|v| match v {
            scimsync_lang::value::Value::Str(s) => s.clone(),
            other => other.to_json().to_string(),
        }),
        fingerprint: user.fingerprint.to_string(),
        written: None,
    }
}

/// The rules applied on every sync whose value differs on the target (in case too, where the
/// attribute is case-exact). `active` is handled by the caller; create-only rules are not
/// compared. Values that differ only in case are counted in `changes.case_only`; values the
/// target did not keep are not sent again (see [`super::kept`]).
fn attribute_changes(
    user: &DesiredUser,
    target: &Json,
    state: &State,
    case: &CaseRules,
    changes: &mut Changes,
) -> Vec<AttrChange> {
    if state.unverified.contains_key(&user.source_id) {
        changes.verified.push(user.source_id.clone());
    }
    user.mapped
        .values
        .iter()
        .filter(|v| v.flow == Flow::Always && !v.path.is_core("active"))
        .filter_map(|v| {
            let current = v.path.get(target);
            let comparison = case.compare(&v.path, &v.value, current);
            changes.case_only += usize::from(comparison.case_only());
            if !comparison.needs_write() {
                return None;
            }
            let new = v.value.to_json();
            let path = v.path.to_string();
            if kept::refused_before(state, &user.source_id, &path, &new) {
                return None;
            }
            let missing = current.is_none_or(Json::is_null);
            if missing && kept::sent_unverified(state, &user.source_id, &path, &new) {
                changes.not_kept.push(NotKept {
                    source_id: user.source_id.clone(),
                    user: user.user_name.clone(),
                    path,
                    value: kept::fingerprint_of(&new),
                });
                return None;
            }
            Some(AttrChange {
                attr: Arc::clone(&v.path),
                old: current.cloned(),
                new,
                redacted: v.redacted,
            })
        })
        .collect()
}

fn active_change(old: bool, new: bool) -> AttrChange {
    AttrChange {
        attr: Arc::new(AttrPath::core("active")),
        old: Some(Json::Bool(old)),
        new: Json::Bool(new),
        redacted: false,
    }
}

/// The state entry of a user found as desired: fingerprint refreshed, what was last written
/// kept (the caller refreshes it when it compared the values), and the deactivation time
/// kept (or started) for inactive users.
fn remember(
    user: &DesiredUser,
    target_id: &str,
    active: bool,
    known: Option<&ManagedUser>,
    now: DateTime<Utc>,
) -> (String, ManagedUser) {
    let mut managed = ManagedUser::new(target_id, user.user_name.clone(), active);
    managed.fingerprint = Some(user.fingerprint.to_string());
    managed.written = known
        .filter(|k| k.id == target_id)
        .and_then(|k| k.written.clone());
    if !active {
        managed.deactivated_at = known.and_then(|k| k.deactivated_at).or(Some(now));
    }
    (user.source_id.clone(), managed)
}

#[cfg(test)]
mod tests;
