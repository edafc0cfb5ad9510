//! Desired state against target state: what to create, update, reactivate and deactivate.
//! Pure: the target's users and the state come in, a list of changes goes out.
//!
//! A desired user is found on the target by the SCIM id the state remembers, else by the
//! match attribute (and then adopted). Only users in the state are ever deactivated.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::Value as Json;

use super::desired::{Desired, DesiredUser, Skip, match_key};
use crate::mapping::plan::Flow;
use crate::scim::patch::PatchOperation;
use crate::scim::path::AttrPath;
use crate::scim::resource::{id, is_active, same_value, user_resource};
use crate::state::{ManagedUser, State};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Reactivate,
    Deactivate,
}

impl Action {
    pub fn verb(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Reactivate => "reactivate",
            Action::Deactivate => "deactivate",
        }
    }
}

/// One attribute brought to its desired value.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AttrChange {
    pub path: String,
    pub old: Option<Json>,
    pub new: Json,
    #[serde(skip)]
    pub operation: PatchOperation,
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
    /// The body of a create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<Json>,
    /// The attribute changes of an update or reactivation (and `active` of a deactivation).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<AttrChange>,
    /// Whether the user was found on the target by the match attribute and is taken over.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub adopted: bool,
}

impl Change {
    pub fn operations(&self) -> Vec<PatchOperation> {
        self.attributes
            .iter()
            .map(|a| a.operation.clone())
            .collect()
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
}

impl Changes {
    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

pub fn diff(
    desired: &Desired,
    target_users: &[Json],
    state: &State,
    match_path: &AttrPath,
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
    let mut claimed: HashSet<&str> = HashSet::new();
    let managed_by_id: HashMap<&str, &str> = state
        .users
        .iter()
        .map(|(source, managed)| (managed.id.as_str(), source.as_str()))
        .collect();

    for user in &desired.users {
        let known = state.users.get(&user.source_id);
        let by_state = known.and_then(|m| by_id.get(m.id.as_str()).copied());
        let found = by_state.or_else(|| by_match.get(&user.match_key).copied());
        let Some(target) = found else {
            if known.is_some() {
                changes.forget.push(user.source_id.clone());
            }
            if user.active {
                changes.changes.push(create(user));
            }
            continue;
        };
        let target_id = id(target).unwrap_or_default();
        // Another source user already claimed this target user (by state): do not touch it twice.
        let managed_for_other = managed_by_id
            .get(target_id)
            .is_some_and(|s| *s != user.source_id);
        if !claimed.insert(target_id) || managed_for_other {
            changes.skipped.push(Skip {
                source_id: user.source_id.clone(),
                user: user.user_name.clone(),
                reason: format!(
                    "the target user with `{match_path}` \"{}\" is managed for another source user",
                    user.match_key
                ),
            });
            continue;
        }
        let adopted = by_state.is_none();
        let currently_active = is_active(target);
        let base = |action: Action, attributes: Vec<AttrChange>| Change {
            action,
            source_id: Some(user.source_id.clone()),
            id: Some(target_id.to_owned()),
            user_name: user.user_name.clone(),
            resource: None,
            attributes,
            adopted,
        };
        if !user.active {
            if currently_active {
                changes
                    .changes
                    .push(base(Action::Deactivate, vec![active_change(true, false)]));
            } else {
                changes.unchanged += 1;
                changes.remember.push(remember(user, target_id, false));
            }
            continue;
        }
        let mut attributes = attribute_changes(user, target);
        if !currently_active {
            attributes.push(active_change(false, true));
            changes.changes.push(base(Action::Reactivate, attributes));
        } else if !attributes.is_empty() {
            changes.changes.push(base(Action::Update, attributes));
        } else {
            changes.unchanged += 1;
            changes.remember.push(remember(user, target_id, true));
        }
    }

    // Managed users that are no longer desired: deactivated, never deleted. Users skipped for
    // a failing rule are still in the source and are left alone.
    let present: HashSet<&str> = desired
        .users
        .iter()
        .map(|u| u.source_id.as_str())
        .chain(desired.skipped.iter().map(|s| s.source_id.as_str()))
        .collect();
    for (source_id, managed) in &state.users {
        if present.contains(source_id.as_str()) {
            continue;
        }
        match by_id.get(managed.id.as_str()) {
            Some(target) if is_active(target) => changes.changes.push(Change {
                action: Action::Deactivate,
                source_id: Some(source_id.clone()),
                id: Some(managed.id.clone()),
                user_name: match_path
                    .get(target)
                    .and_then(Json::as_str)
                    .unwrap_or(&managed.user_name)
                    .to_owned(),
                resource: None,
                attributes: vec![active_change(true, false)],
                adopted: false,
            }),
            Some(_) => {}
            None => changes.forget.push(source_id.clone()),
        }
    }
    changes
}

fn create(user: &DesiredUser) -> Change {
    // `active` is always sent, so no target has to guess its default.
    let active_path = AttrPath::core("active");
    let active = crate::value::Value::Bool(true);
    let explicit_active = user.mapped.values.iter().any(|v| v.path == active_path);
    let implied = (!explicit_active).then_some((&active_path, &active));
    let resource = user_resource(
        user.mapped
            .values
            .iter()
            .map(|v| (&v.path, &v.value))
            .chain(implied),
    );
    let attributes = user
        .mapped
        .values
        .iter()
        .map(|v| {
            let new = v.value.to_json();
            AttrChange {
                path: v.path.to_string(),
                old: None,
                operation: PatchOperation::set(&v.path, new.clone(), None),
                new,
            }
        })
        .collect();
    Change {
        action: Action::Create,
        source_id: Some(user.source_id.clone()),
        id: None,
        user_name: user.user_name.clone(),
        resource: Some(resource),
        attributes,
        adopted: false,
    }
}

/// The rules applied on every sync whose value differs on the target. `active` is handled by
/// the caller; create-only rules are not compared.
fn attribute_changes(user: &DesiredUser, target: &Json) -> Vec<AttrChange> {
    user.mapped
        .values
        .iter()
        .filter(|v| v.flow == Flow::Always && !v.path.is_core("active"))
        .filter_map(|v| {
            let current = v.path.get(target);
            if same_value(&v.value, current) {
                return None;
            }
            let new = v.value.to_json();
            Some(AttrChange {
                path: v.path.to_string(),
                old: current.cloned(),
                operation: PatchOperation::set(&v.path, new.clone(), current),
                new,
            })
        })
        .collect()
}

fn active_change(old: bool, new: bool) -> AttrChange {
    AttrChange {
        path: "active".into(),
        old: Some(Json::Bool(old)),
        new: Json::Bool(new),
        operation: PatchOperation::set(
            &AttrPath::core("active"),
            Json::Bool(new),
            Some(&Json::Bool(old)),
        ),
    }
}

fn remember(user: &DesiredUser, target_id: &str, active: bool) -> (String, ManagedUser) {
    (
        user.source_id.clone(),
        ManagedUser {
            id: target_id.to_owned(),
            user_name: user.user_name.clone(),
            active,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::{SourceFile, compile};
    use crate::record::Record;
    use crate::sync::desired::compute;
    use serde_json::json;

    const MAP: &str =
        "userName <- user.email\nname.familyName <- user.last\ntitle <- user.title on create\n";

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
            s.users.insert(
                source.to_string(),
                ManagedUser {
                    id: id.to_string(),
                    user_name: String::new(),
                    active: *active,
                },
            );
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
                    c.attributes.iter().map(|a| a.path.clone()).collect(),
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
        let c = diff(&d, &target, &s, &AttrPath::core("userName"));
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
                // Matched case-insensitively, adopted, and the new spelling is sent.
                (Action::Update, "Adopt@X".into(), vec!["userName".into()]),
                (Action::Deactivate, "off@x".into(), vec!["active".into()]),
                (Action::Deactivate, "gone@x".into(), vec!["active".into()]),
            ]
        );
        assert!(c.changes[3].adopted);
        assert_eq!(c.unchanged, 1);
        assert_eq!(
            c.remember
                .iter()
                .map(|(s, m)| (s.as_str(), m.id.as_str()))
                .collect::<Vec<_>>(),
            [("2", "t2")]
        );
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
            create.resource,
            Some(
                json!({"schemas": [crate::scim::schema::CORE_USER], "userName": "new@x", "name": {"familyName": "N"}, "active": true})
            )
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
        );
        assert!(c.changes.is_empty(), "{:?}", c.changes);
    }
}
