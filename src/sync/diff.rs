//! Desired state against target state: what to create, update, reactivate and deactivate.
//! Pure: the target's users and the state come in, a list of changes goes out.
//!
//! A desired user is found on the target by the SCIM id the state remembers, else by the
//! match attribute (and then adopted). Only users in the state are ever deactivated.

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
use super::takeover::{TakenOver, Takeovers, held_by_other};
use crate::config::ActionsConfig;
use crate::state::{ManagedUser, State};
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

pub fn diff(
    desired: &Desired,
    target_users: &[Json],
    state: &State,
    match_path: &AttrPath,
    policy: &Policy,
) -> Changes {
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
    let mut changes = Changes {
        skipped: desired.skipped.clone(),
        ..Changes::default()
    };
    let actions = &policy.actions;
    let managed_by_id: HashMap<&str, &str> = state
        .users
        .iter()
        .map(|(source, managed)| (managed.id.as_str(), source.as_str()))
        .collect();
    let takeovers = Takeovers::find(desired, state, &by_match, &managed_by_id);
    // Target ids claimed in this run, with the source id that claimed each.
    let mut claimed: HashMap<&str, &str> = HashMap::new();
    // A change the target refused for good is held back while the desired state is the same.
    let held = |source_id: &str, action: Action, fingerprint: &str| {
        state
            .rejected
            .get(source_id)
            .filter(|r| r.operation == action.verb() && r.fingerprint == fingerprint)
    };
    let push = |changes: &mut Changes, change: Change| {
        let source_id = change.source_id.clone().unwrap_or_default();
        if let Some(rejection) = held(&source_id, change.action, &change.fingerprint) {
            let status = rejection
                .status
                .map_or_else(String::new, |s| format!("HTTP {s}: "));
            changes.skipped.push(Skip {
                source_id,
                user: change.user_name.clone(),
                reason: format!(
                    "not retried: the target refused to {} this user on {} ({status}{}); it is tried again when the user's mapped values change, or after `scimsync state forget`",
                    change.action.verb(),
                    rejection.at.format("%Y-%m-%d %H:%M UTC"),
                    rejection.detail
                ),
            });
        } else {
            changes.changes.push(change);
        }
    };
    let switched_off = |changes: &mut Changes, user: &DesiredUser, action: &str| {
        changes.skipped.push(Skip {
            source_id: user.source_id.clone(),
            user: user.user_name.clone(),
            reason: format!("would {action}, but `{action}` is off in [sync.actions]"),
        });
    };

    // Inactive users whose match key an active one holds are that person's former selves.
    let active_keys: HashSet<&str> = desired
        .users
        .iter()
        .filter(|u| u.active)
        .map(DesiredUser::match_key)
        .collect();
    for user in &desired.users {
        let superseded = !user.active && active_keys.contains(user.match_key());
        if takeovers.is_taken_over(&user.source_id) || superseded {
            // Its target user goes to the source user that re-created it (below).
            continue;
        }
        let taken_from = takeovers.taken_from(&user.source_id);
        let known = state.users.get(&user.source_id);
        let by_state = known.and_then(|m| by_id.get(m.id.as_str()).copied());
        let found = by_state.or_else(|| by_match.get(user.match_key()).copied());
        let Some(target) = found else {
            if known.is_some() {
                changes.forget.push(user.source_id.clone());
            }
            if user.active {
                if actions.create {
                    push(&mut changes, create(user, match_path));
                } else {
                    switched_off(&mut changes, user, "create");
                }
            }
            continue;
        };
        let target_id = id(target).unwrap_or_default();
        // Another source user claimed this target user (in this run, or by state, and is not
        // taken over from): do not touch it twice.
        let other = claimed.get(target_id).copied().or_else(|| {
            managed_by_id
                .get(target_id)
                .copied()
                .filter(|s| *s != user.source_id && Some(*s) != taken_from)
        });
        if let Some(other) = other {
            changes.skipped.push(Skip {
                source_id: user.source_id.clone(),
                user: user.user_name.clone(),
                reason: held_by_other(&match_path.to_string(), user.match_key(), other),
            });
            continue;
        }
        claimed.insert(target_id, &user.source_id);
        let adopted = by_state.is_none() && taken_from.is_none();
        let currently_active = is_active(target);
        let base = |action: Action, attributes: Vec<AttrChange>| Change {
            action,
            source_id: Some(user.source_id.clone()),
            id: Some(target_id.to_owned()),
            user_name: user.user_name.clone(),
            attributes,
            adopted,
            takes_over: taken_from.map(str::to_owned),
            match_value: None,
            fingerprint: user.fingerprint.to_string(),
        };
        if !user.active {
            if currently_active {
                if actions.deactivate {
                    push(
                        &mut changes,
                        base(Action::Deactivate, vec![active_change(true, false)]),
                    );
                } else {
                    switched_off(&mut changes, user, "deactivate");
                }
            } else {
                changes.unchanged += 1;
                changes
                    .remember
                    .push(remember(user, target_id, false, known, policy.now));
            }
            continue;
        }
        let mut attributes = if actions.update {
            attribute_changes(user, target, state, &policy.case, &mut changes)
        } else {
            Vec::new()
        };
        if !currently_active {
            if actions.reactivate {
                attributes.push(active_change(false, true));
                push(&mut changes, base(Action::Reactivate, attributes));
            } else {
                switched_off(&mut changes, user, "reactivate");
            }
        } else if !attributes.is_empty() {
            push(&mut changes, base(Action::Update, attributes));
        } else {
            changes.unchanged += 1;
            changes
                .remember
                .push(remember(user, target_id, true, known, policy.now));
            if let Some(from) = taken_from {
                changes.forget.push(from.to_owned());
                changes.taken_over.push(TakenOver {
                    user_name: user.user_name.clone(),
                    from: from.to_owned(),
                    to: user.source_id.clone(),
                });
            }
        }
    }

    // Managed users that are no longer desired: deactivated (or deleted when configured).
    // Users skipped for a failing rule are still in the source and are left alone.
    let present: HashSet<&str> = desired
        .users
        .iter()
        .map(|u| u.source_id.as_str())
        .chain(desired.skipped.iter().map(|s| s.source_id.as_str()))
        .collect();
    for (source_id, managed) in &state.users {
        if present.contains(source_id.as_str()) || takeovers.is_taken_over(source_id) {
            continue;
        }
        let Some(target) = by_id.get(managed.id.as_str()) else {
            changes.forget.push(source_id.clone());
            continue;
        };
        let user_name = match_path
            .get(target)
            .and_then(Json::as_str)
            .unwrap_or(&managed.user_name)
            .to_owned();
        let gone = |action: Action, attributes: Vec<AttrChange>| Change {
            action,
            source_id: Some(source_id.clone()),
            id: Some(managed.id.clone()),
            user_name: user_name.clone(),
            attributes,
            adopted: false,
            takes_over: None,
            match_value: None,
            fingerprint: ABSENT_FINGERPRINT.into(),
        };
        let active = is_active(target);
        let delete_now = actions.delete
            && match actions.delete_after_days {
                None => true,
                Some(days) => {
                    !active
                        && managed.deactivated_at.is_some_and(|at| {
                            policy.now - at >= chrono::Duration::days(i64::from(days))
                        })
                }
            };
        if delete_now {
            push(&mut changes, gone(Action::Delete, Vec::new()));
        } else if active {
            if actions.deactivate {
                push(
                    &mut changes,
                    gone(Action::Deactivate, vec![active_change(true, false)]),
                );
            } else {
                changes.skipped.push(Skip {
                    source_id: source_id.clone(),
                    user: user_name,
                    reason: "left the source; would deactivate, but `deactivate` is off in [sync.actions]".into(),
                });
            }
        } else if managed.deactivated_at.is_none() {
            // Inactive already (by someone else): start the `delete_after_days` clock now.
            let mut refreshed = managed.clone();
            refreshed.active = false;
            refreshed.deactivated_at = Some(policy.now);
            changes.remember.push((source_id.clone(), refreshed));
        }
    }
    changes
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

/// The state entry of a user found as desired: fingerprint refreshed, and the deactivation
/// time kept (or started) for inactive users.
fn remember(
    user: &DesiredUser,
    target_id: &str,
    active: bool,
    known: Option<&ManagedUser>,
    now: DateTime<Utc>,
) -> (String, ManagedUser) {
    let mut managed = ManagedUser::new(target_id, user.user_name.clone(), active);
    managed.fingerprint = Some(user.fingerprint.to_string());
    if !active {
        managed.deactivated_at = known.and_then(|k| k.deactivated_at).or(Some(now));
    }
    (user.source_id.clone(), managed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::desired::compute;
    use scimsync_lang::mapping::{SourceFile, compile};
    use scimsync_lang::record::Record;
    use serde_json::json;

    const MAP: &str =
        "userName <- user.email\nname.familyName <- user.last\ntitle <- user.title on create\n";

    /// The diff most tests want: matched on userName, default actions.
    fn diff_on_user_name(desired: &Desired, target: &[Json], state: &State) -> Changes {
        diff(
            desired,
            target,
            state,
            &AttrPath::core("userName"),
            &Policy::default(),
        )
    }

    fn desired(users: serde_json::Value) -> Desired {
        let plan = compile(&SourceFile::new("t.map", MAP)).unwrap();
        let records: Vec<Record> = users
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                let mut r = Record::from_flat_json(
                    u["id"].as_str().unwrap().into(),
                    u.as_object().unwrap(),
                );
                r.active = u.get("active").and_then(|a| a.as_bool()).unwrap_or(true);
                r
            })
            .collect();
        compute(&plan, &records, chrono::Utc::now())
    }

    fn state(entries: &[(&str, &str, bool)]) -> State {
        let mut s = State::new("http://t");
        for (source, id, active) in entries {
            s.users
                .insert(source.to_string(), ManagedUser::new(*id, "", *active));
        }
        s
    }

    fn actions(c: &Changes) -> Vec<(Action, String, Vec<String>)> {
        c.changes
            .iter()
            .map(|c| {
                (
                    c.action,
                    c.user_name.clone(),
                    c.attributes.iter().map(AttrChange::path).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn every_kind_of_change() {
        let d = desired(json!([
            {"id": "1", "email": "new@x", "last": "N"},
            {"id": "2", "email": "same@x", "last": "S", "title": "ignored on update"},
            {"id": "3", "email": "changed@x", "last": "After"},
            {"id": "4", "email": "back@x", "last": "B"},
            {"id": "5", "email": "Adopt@X", "last": "A"},
            {"id": "6", "email": "off@x", "last": "O", "active": false},
        ]));
        let target = vec![
            json!({"id": "t2", "userName": "same@x", "name": {"familyName": "S"}}),
            json!({"id": "t3", "userName": "changed@x", "name": {"familyName": "Before"}}),
            json!({"id": "t4", "userName": "back@x", "name": {"familyName": "B"}, "active": false}),
            json!({"id": "t5", "userName": "adopt@x", "name": {"familyName": "A"}}),
            json!({"id": "t6", "userName": "off@x", "name": {"familyName": "O"}}),
            json!({"id": "t7", "userName": "gone@x"}),
            json!({"id": "t8", "userName": "stranger@x"}),
        ];
        let s = state(&[
            ("2", "t2", true),
            ("3", "t3", true),
            ("4", "t4", false),
            ("6", "t6", true),
            ("7", "t7", true),
            ("9", "t9", true),
        ]);
        let c = diff_on_user_name(&d, &target, &s);
        assert_eq!(
            actions(&c),
            vec![
                (
                    Action::Create,
                    "new@x".into(),
                    vec!["userName".into(), "name.familyName".into()]
                ),
                (
                    Action::Update,
                    "changed@x".into(),
                    vec!["name.familyName".into()]
                ),
                (Action::Reactivate, "back@x".into(), vec!["active".into()]),
                // Adopt@X is matched case-insensitively and adopted; userName is not
                // case-exact (RFC 7643), so the new spelling is not sent.
                (Action::Deactivate, "off@x".into(), vec!["active".into()]),
                (Action::Deactivate, "gone@x".into(), vec!["active".into()]),
            ]
        );
        assert_eq!(c.unchanged, 2);
        assert_eq!(
            c.remember
                .iter()
                .map(|(s, m)| (s.as_str(), m.id.as_str()))
                .collect::<Vec<_>>(),
            [("2", "t2"), ("5", "t5")]
        );
        assert_eq!(c.case_only, 1, "the re-spelt userName is counted");
        assert_eq!(
            c.forget,
            ["9"],
            "a managed user deleted on the target is forgotten"
        );
        assert!(
            !c.changes.iter().any(|c| c.user_name == "stranger@x"),
            "unmanaged users are never touched"
        );
        let create = &c.changes[0];
        assert_eq!(
            create.body(),
            Some(
                json!({"schemas": [scimsync_lang::scim::schema::CORE_USER], "userName": "new@x", "name": {"familyName": "N"}, "active": true})
            )
        );
    }

    #[test]
    fn switched_off_actions_and_deletion() {
        let d = desired(json!([
            {"id": "1", "email": "new@x", "last": "N"},
            {"id": "3", "email": "changed@x", "last": "After"},
            {"id": "4", "email": "back@x", "last": "B"},
        ]));
        let target = vec![
            json!({"id": "t3", "userName": "changed@x", "name": {"familyName": "Before"}}),
            json!({"id": "t4", "userName": "back@x", "name": {"familyName": "B"}, "active": false}),
            json!({"id": "t7", "userName": "gone@x"}),
            json!({"id": "t8", "userName": "long-gone@x", "active": false}),
        ];
        let mut s = state(&[
            ("3", "t3", true),
            ("4", "t4", false),
            ("7", "t7", true),
            ("8", "t8", false),
        ]);
        let now = chrono::Utc::now();
        s.users.get_mut("8").unwrap().deactivated_at = Some(now - chrono::Duration::days(31));
        let off = Policy {
            actions: ActionsConfig {
                create: false,
                update: false,
                reactivate: false,
                deactivate: false,
                ..ActionsConfig::default()
            },
            now,
            ..Policy::default()
        };
        let c = diff(&d, &target, &s, &AttrPath::core("userName"), &off);
        assert!(c.changes.is_empty(), "{:?}", actions(&c));
        assert_eq!(
            c.skipped
                .iter()
                .map(|s| s.reason.as_str())
                .collect::<Vec<_>>(),
            [
                "would create, but `create` is off in [sync.actions]",
                "would reactivate, but `reactivate` is off in [sync.actions]",
                "left the source; would deactivate, but `deactivate` is off in [sync.actions]",
            ]
        );

        // Delete after 30 days: the user deactivated 31 days ago goes, the other is deactivated.
        let deleting = Policy {
            actions: ActionsConfig {
                delete: true,
                delete_after_days: Some(30),
                ..ActionsConfig::default()
            },
            now,
            ..Policy::default()
        };
        let c = diff(&d, &target, &s, &AttrPath::core("userName"), &deleting);
        let gone: Vec<(Action, String)> = c
            .changes
            .iter()
            .filter(|c| matches!(c.action, Action::Deactivate | Action::Delete))
            .map(|c| (c.action, c.user_name.clone()))
            .collect();
        assert_eq!(
            gone,
            [
                (Action::Deactivate, "gone@x".to_owned()),
                (Action::Delete, "long-gone@x".to_owned())
            ]
        );
        assert_eq!(c.removals(), 2);
    }

    #[test]
    fn a_refused_change_is_held_until_the_desired_state_changes() {
        let d = desired(json!([{"id": "3", "email": "changed@x", "last": "After"}]));
        let target =
            vec![json!({"id": "t3", "userName": "changed@x", "name": {"familyName": "Before"}})];
        let mut s = state(&[("3", "t3", true)]);
        s.rejected.insert(
            "3".into(),
            crate::state::Rejection {
                operation: "update".into(),
                status: Some(403),
                detail: "owners cannot be updated".into(),
                fingerprint: d.users[0].fingerprint.to_string(),
                at: chrono::Utc::now(),
            },
        );
        let c = diff_on_user_name(&d, &target, &s);
        assert!(c.changes.is_empty());
        assert!(
            c.skipped[0]
                .reason
                .starts_with("not retried: the target refused to update this user on "),
            "{}",
            c.skipped[0].reason
        );
        assert!(
            c.skipped[0]
                .reason
                .contains("(HTTP 403: owners cannot be updated)")
        );
        let changed = desired(json!([{"id": "3", "email": "changed@x", "last": "Again"}]));
        let c = diff_on_user_name(&changed, &target, &s);
        assert_eq!(
            c.count(Action::Update),
            1,
            "a new desired state is tried again"
        );
    }

    #[test]
    fn a_re_created_source_user_takes_over_the_account_of_one_that_left() {
        // Source user 1 left and was deactivated; 2 has the same e-mail.
        let d = desired(json!([{"id": "2", "email": "ada@x", "last": "New"}]));
        let target = vec![
            json!({"id": "t1", "userName": "ada@x", "name": {"familyName": "Old"}, "active": false}),
        ];
        let s = state(&[("1", "t1", false)]);
        let c = diff_on_user_name(&d, &target, &s);
        assert_eq!(
            actions(&c),
            [(
                Action::Reactivate,
                "ada@x".into(),
                vec!["name.familyName".into(), "active".into()]
            )]
        );
        assert_eq!(c.changes[0].takes_over.as_deref(), Some("1"));
        assert!(!c.changes[0].adopted && c.skipped.is_empty());

        // 1 is still in the source but inactive: 2 takes over, 1 deactivates nothing.
        let d = desired(json!([
            {"id": "1", "email": "ada@x", "last": "Old", "active": false},
            {"id": "2", "email": "ada@x", "last": "Old"},
        ]));
        let target = vec![json!({"id": "t1", "userName": "ada@x", "name": {"familyName": "Old"}})];
        let c = diff_on_user_name(&d, &target, &state(&[("1", "t1", true)]));
        assert!(c.changes.is_empty(), "{:?}", actions(&c));
        assert_eq!(c.forget, ["1"]);
        assert_eq!(c.remember[0].0, "2");
        assert_eq!(
            c.taken_over[0].line(),
            "= ada@x: taken over from source user 1 by source user 2 (re-created in the source); nothing else to write"
        );

        // Both active in the source: nothing is guessed. (1 now has another e-mail; the
        // account still has the old one, which 2 has.)
        let d = desired(json!([
            {"id": "1", "email": "ada.old@x", "last": "Old"},
            {"id": "2", "email": "ada@x", "last": "Old"},
        ]));
        let c = diff_on_user_name(&d, &target, &state(&[("1", "t1", true)]));
        assert_eq!(
            actions(&c),
            [(Action::Update, "ada.old@x".into(), vec!["userName".into()])]
        );
        assert_eq!(
            c.skipped
                .iter()
                .map(|s| s.reason.as_str())
                .collect::<Vec<_>>(),
            [
                "the target user with `userName` \"ada@x\" is managed for source user 1, which is still active in the source; if both are one person, run `scimsync state forget --config <file> 1` and this user takes the account over on the next run"
            ]
        );
    }

    #[test]
    fn a_failing_rule_never_deactivates() {
        let plan = compile(&SourceFile::new(
            "t.map",
            "userName <- user.email\nexternalId <- Convert.toInt(user.n) + \"\"\n",
        ))
        .unwrap();
        let record = Record::from_flat_json(
            "1".into(),
            json!({"email": "a@x", "n": "bad"}).as_object().unwrap(),
        );
        let d = compute(&plan, &[record], chrono::Utc::now());
        assert_eq!(d.skipped.len(), 1);
        let c = diff(
            &d,
            &[json!({"id": "t1", "userName": "a@x"})],
            &state(&[("1", "t1", true)]),
            &AttrPath::core("userName"),
            &Policy::default(),
        );
        assert!(c.changes.is_empty(), "{:?}", c.changes);
    }
}
