//! Okta exports: users in the List Users API shape (`{id, status, profile: {...}}`), app users
//! (`GET /apps/{id}/users?expand=user`: the Okta user under `_embedded.user`, the app user's
//! own profile, e.g. its role, beside it), and a groups export saying who is in which group.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde_json::Value as Json;

use super::{Context, JsonSourceError, RecordError, each_piece, identity, json_kind};
use crate::Group;
use scimsync_lang::record::{Attrs, Record, flatten_into, group_names};
use scimsync_lang::value::Value;

/// Every status an Okta user can have, and whether Okta keeps the user's app assignments
/// active in it. The set is closed: an unknown status is an error, never a guess.
const STATUSES: &[(&str, bool)] = &[
    ("ACTIVE", true),
    ("STAGED", false),
    ("PROVISIONED", true),
    ("RECOVERY", true),
    ("PASSWORD_EXPIRED", true),
    ("LOCKED_OUT", true),
    ("SUSPENDED", false),
    ("DEPROVISIONED", false),
];

/// A status as Okta spells it (matched case-insensitively), and whether it is active.
fn known_status(status: &str) -> Result<(&'static str, bool), RecordError> {
    STATUSES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(status))
        .copied()
        .ok_or_else(|| {
            let allowed: Vec<&str> = STATUSES.iter().map(|(name, _)| *name).collect();
            RecordError::UnknownStatus {
                status: status.to_owned(),
                allowed: allowed.join(", "),
            }
        })
}

use scimsync_lang::record::APP_USER_PREFIX;

/// A user in the shape of Okta's List Users API, or an app user with the user embedded.
pub fn record(
    mut object: serde_json::Map<String, Json>,
    context: &mut Context,
) -> Result<Record, RecordError> {
    let app_user = match object.get_mut("_embedded").and_then(|e| e.get_mut("user")) {
        Some(Json::Object(user)) => Some(std::mem::take(user)),
        Some(other) => {
            return Err(RecordError::WrongType {
                key: "_embedded.user",
                expected: "an object",
                found: json_kind(other),
            });
        }
        None => None,
    };
    let (user, app_profile) = match app_user {
        Some(user) => (user, object.remove("profile")),
        None => (object, None),
    };
    let mut record = user_record(&user, context)?;
    if let Some(profile) = app_profile {
        let Json::Object(profile) = profile else {
            return Err(RecordError::AppUserProfileNotAnObject);
        };
        for (key, value) in &profile {
            flatten_into(
                &mut record.attrs,
                &format!("{APP_USER_PREFIX}.{key}"),
                value,
            );
        }
    }
    Ok(record)
}

/// The top-level timestamps of an Okta user kept beside the profile.
const OKTA_USER_TIMESTAMPS: &[&str] = &["created", "lastUpdated", "passwordChanged", "lastLogin"];

fn user_record(
    object: &serde_json::Map<String, Json>,
    context: &mut Context,
) -> Result<Record, RecordError> {
    let id = identity(object.get("id")).ok_or(RecordError::Missing {
        what: "`id` (Okta user id)",
    })?;
    let profile = match object.get("profile") {
        Some(Json::Object(profile)) => profile,
        Some(other) => {
            return Err(RecordError::WrongType {
                key: "profile",
                expected: "an object",
                found: json_kind(other),
            });
        }
        None => return Err(RecordError::Missing { what: "`profile`" }),
    };
    let status = match object.get("status") {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => Some(known_status(s)?),
        Some(other) => {
            return Err(RecordError::WrongType {
                key: "status",
                expected: "a string",
                found: json_kind(other),
            });
        }
    };
    let mut record = Record {
        id,
        active: status.is_none_or(|(_, active)| active),
        ..Record::default()
    };
    if let Some((status, _)) = status {
        record.attrs.insert("status".into(), Value::from(status));
    }
    for (key, value) in profile {
        flatten_into(&mut record.attrs, key, value);
    }
    // Okta's top-level timestamps, which Identity Engine expressions read as `user.created`...;
    // a profile attribute of the same name wins.
    for key in OKTA_USER_TIMESTAMPS {
        if let Some(Json::String(time)) = object.get(*key)
            && !record.attrs.contains_key(key)
        {
            record
                .attrs
                .insert((*key).to_owned(), Value::from(time.as_str()));
        }
    }
    if let Some(groups) = object.get("groups") {
        record.groups = embedded_group_names(groups, &mut context.group_ids);
        record.group_ids = scimsync_lang::record::group_ids(groups);
    }
    if let Some(export) = &mut context.okta_groups
        && let Some(names) = export.names_of(&record.id)
    {
        record.groups.extend(names.iter().cloned());
        record.groups.sort();
        record.groups.dedup();
    }
    Ok(record)
}

/// Group names from `["Eng", ...]`, `[{"name": ...}]` or Okta group objects
/// `[{"id": ..., "profile": {"name": ...}}]` (whose ids are remembered).
fn embedded_group_names(groups: &Json, ids: &mut HashMap<String, String>) -> Vec<String> {
    match groups {
        Json::Array(items) => items
            .iter()
            .flat_map(|g| {
                let names = match g.get("profile") {
                    Some(profile) => group_names(profile),
                    None => group_names(g),
                };
                if let (Some(id), [name]) = (g.get("id").and_then(Json::as_str), names.as_slice()) {
                    ids.entry(name.clone()).or_insert_with(|| id.to_owned());
                }
                names
            })
            .collect(),
        other => group_names(other),
    }
}

/// An Okta groups export: `[{id, profile: {name, description}, members: [...]}]`, members
/// being user ids or user objects (`users` is accepted for `members`).
#[derive(Debug, Default)]
pub struct GroupsExport {
    pub groups: Vec<Group>,
    by_user: HashMap<String, Vec<String>>,
    /// User ids the export names that the users export has not (yet) shown.
    unseen: HashSet<String>,
    path: String,
}

impl GroupsExport {
    pub fn load(path: &Path) -> Result<GroupsExport, JsonSourceError> {
        let shown = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|e| JsonSourceError::Read {
            path: shown.clone(),
            reason: e.kind().to_string(),
        })?;
        GroupsExport::read(std::io::BufReader::new(file), &shown)
    }

    /// Reads a groups export (one JSON array) from `input`; `path` is for messages.
    pub fn read(input: impl std::io::BufRead, path: &str) -> Result<GroupsExport, JsonSourceError> {
        let mut export = GroupsExport {
            path: path.to_owned(),
            ..GroupsExport::default()
        };
        let mut pieces = each_piece(input, path);
        while let Some((index, line, json)) = pieces()? {
            let group = group(&json).map_err(|error| JsonSourceError::Record {
                path: path.to_owned(),
                index,
                line,
                message: error.to_string(),
            })?;
            for member in &group.members {
                export
                    .by_user
                    .entry(member.clone())
                    .or_default()
                    .push(group.name.clone());
                export.unseen.insert(member.clone());
            }
            export.groups.push(group);
        }
        Ok(export)
    }

    fn names_of(&mut self, user: &str) -> Option<&Vec<String>> {
        self.unseen.remove(user);
        self.by_user.get(user)
    }

    /// Members of groups that are not in the users export are logged: a groups export
    /// taken at another time than the users export is worth knowing about, not fatal.
    pub fn check_all_used(&self, users_path: &str) -> Result<(), JsonSourceError> {
        if !self.unseen.is_empty() {
            let mut sample: Vec<&String> = self.unseen.iter().collect();
            sample.sort();
            sample.truncate(5);
            tracing::warn!(
                groups = %self.path,
                users = users_path,
                count = self.unseen.len(),
                sample = ?sample,
                "group members that are not in the users export"
            );
        }
        Ok(())
    }
}

fn group(item: &Json) -> Result<Group, RecordError> {
    let Json::Object(object) = item else {
        return Err(RecordError::NotAGroupObject(json_kind(item)));
    };
    let id = identity(object.get("id")).ok_or(RecordError::Missing {
        what: "`id` (Okta group id)",
    })?;
    let profile = object.get("profile").and_then(Json::as_object);
    let name = profile
        .and_then(|p| p.get("name"))
        .or_else(|| object.get("name"))
        .and_then(Json::as_str)
        .ok_or(RecordError::Missing {
            what: "`profile.name` (the group's name)",
        })?
        .to_owned();
    let mut attrs = Attrs::new();
    if let Some(profile) = profile {
        for (key, value) in profile {
            flatten_into(&mut attrs, key, value);
        }
    }
    let members = match object.get("members").or_else(|| object.get("users")) {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, m)| match m {
                Json::String(id) => Ok(id.clone()),
                Json::Object(user) => {
                    identity(user.get("id")).ok_or(RecordError::MemberWithoutId(i))
                }
                other => Err(RecordError::NotAMember {
                    index: i,
                    found: json_kind(other),
                }),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(RecordError::WrongType {
                key: "members",
                expected: "an array",
                found: json_kind(other),
            });
        }
    };
    Ok(Group {
        id,
        name,
        attrs,
        members,
        member_groups: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn app_users_keep_their_app_profile_under_appuser() {
        let mut context = Context::default();
        let object = json!({"id": "00u1", "scope": "USER", "status": "PROVISIONED",
            "profile": {"role": "admin"},
            "_embedded": {"user": {"id": "00u1", "status": "ACTIVE", "profile": {"email": "a@x"}}}});
        let Json::Object(object) = object else {
            unreachable!()
        };
        let r = record(object, &mut context).unwrap();
        assert_eq!(r.id, "00u1");
        assert_eq!(r.get("email"), &Value::from("a@x"));
        assert_eq!(r.get("appuser.role"), &Value::from("admin"));
        assert!(r.active);
    }

    #[test]
    fn groups_export_assigns_members() {
        let text = r#"[{"id": "00g1", "profile": {"name": "Eng"}, "members": ["00u1", {"id": "00u2"}]},
                   {"id": "00g2", "profile": {"name": "Ops"}, "users": [{"id": "00u1"}]}]"#;
        let export = GroupsExport::read(text.as_bytes(), "groups.json").unwrap();
        let mut context = Context {
            okta_groups: Some(export),
            ..Context::default()
        };
        let Json::Object(user) = json!({"id": "00u1", "profile": {}}) else {
            unreachable!()
        };
        let r = record(user, &mut context).unwrap();
        assert_eq!(r.groups, ["Eng", "Ops"]);
        let err = GroupsExport::read(
            "[\n{\"id\": \"00g1\", \"profile\": {}}]".as_bytes(),
            "groups.json",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "export groups.json, record 0 (line 2): missing `profile.name` (the group's name)"
        );
    }
}
