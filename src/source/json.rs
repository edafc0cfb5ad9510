//! JSON exports: Okta's List Users shape and plain arrays of flat objects.
//!
//! A malformed file is an error that names the file, the record and what is wrong, and the
//! run stops before anything is written.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value as Json;

use crate::config::JsonFormat;
use crate::record::{Record, flatten_into, group_names};
use crate::value::Value;

#[derive(Debug, thiserror::Error)]
pub enum JsonSourceError {
    #[error("cannot read export {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("export {path} is not valid JSON (line {line}, column {column}): {message}")]
    Syntax {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("export {path}: {message}")]
    Shape { path: String, message: String },
    #[error("export {path}, record {index}: {message}")]
    Record {
        path: String,
        index: usize,
        message: String,
    },
}

/// Okta statuses in which Okta keeps a user's app assignments active.
const OKTA_ACTIVE_STATUSES: &[&str] = &[
    "ACTIVE",
    "PROVISIONED",
    "RECOVERY",
    "PASSWORD_EXPIRED",
    "LOCKED_OUT",
];

pub fn load(
    path: &Path,
    format: JsonFormat,
    id_field: &str,
) -> Result<Vec<Record>, JsonSourceError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| JsonSourceError::Read {
        path: shown.clone(),
        reason: e.kind().to_string(),
    })?;
    parse(&text, &shown, format, id_field)
}

/// Parses an export already in memory; `path` is only for messages.
pub fn parse(
    text: &str,
    path: &str,
    format: JsonFormat,
    id_field: &str,
) -> Result<Vec<Record>, JsonSourceError> {
    let json: Json = serde_json::from_str(text).map_err(|e| JsonSourceError::Syntax {
        path: path.to_owned(),
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    })?;
    let Json::Array(items) = json else {
        return Err(JsonSourceError::Shape {
            path: path.to_owned(),
            message: format!("expected a JSON array of users, found {}", json_kind(&json)),
        });
    };
    let format = match format {
        JsonFormat::Auto
            if items
                .first()
                .is_some_and(|u| u.get("profile").is_some_and(Json::is_object)) =>
        {
            JsonFormat::Okta
        }
        JsonFormat::Auto => JsonFormat::Plain,
        other => other,
    };
    let mut records = Vec::with_capacity(items.len());
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let record_error = |message: String| JsonSourceError::Record {
            path: path.to_owned(),
            index,
            message,
        };
        let Json::Object(object) = item else {
            return Err(record_error(format!(
                "expected an object, found {}",
                json_kind(item)
            )));
        };
        let record = match format {
            JsonFormat::Okta => okta_record(object).map_err(record_error)?,
            _ => plain_record(object, id_field).map_err(record_error)?,
        };
        if let Some(first) = seen.insert(record.id.clone(), index) {
            return Err(record_error(format!(
                "duplicate id `{}` (also record {first})",
                record.id
            )));
        }
        records.push(record);
    }
    Ok(records)
}

/// The top-level timestamps of an Okta user kept beside the profile.
const OKTA_USER_TIMESTAMPS: &[&str] = &["created", "lastUpdated", "passwordChanged", "lastLogin"];
/// One exported user (an element of the array, or one line of JSON Lines) as a record, for
/// readers that stream (`source::stream`). `Auto` reads Okta's shape when the object has a
/// `profile` object, else the plain shape. The error says what is wrong with this user.
pub fn record_from_json(item: &Json, format: JsonFormat, id_field: &str) -> Result<Record, String> {
    let Json::Object(object) = item else {
        return Err(format!("expected an object, found {}", json_kind(item)));
    };
    match format {
        JsonFormat::Okta => okta_record(object),
        JsonFormat::Auto if object.get("profile").is_some_and(Json::is_object) => {
            okta_record(object)
        }
        // Exhaustive on purpose: a new format must say how it streams.
        JsonFormat::Auto | JsonFormat::Plain => plain_record(object, id_field),
    }
}

/// A user in the shape of Okta's List Users API.
fn okta_record(object: &serde_json::Map<String, Json>) -> Result<Record, String> {
    let id = identity(object.get("id")).ok_or("missing `id` (Okta user id)")?;
    let profile = match object.get("profile") {
        Some(Json::Object(profile)) => profile,
        Some(other) => {
            return Err(format!(
                "`profile` must be an object, found {}",
                json_kind(other)
            ));
        }
        None => return Err("missing `profile`".into()),
    };
    let status = match object.get("status") {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => Some(s.as_str()),
        Some(other) => {
            return Err(format!(
                "`status` must be a string, found {}",
                json_kind(other)
            ));
        }
    };
    let mut record = Record {
        id,
        active: status.is_none_or(|s| OKTA_ACTIVE_STATUSES.contains(&s)),
        ..Record::default()
    };
    if let Some(status) = status {
        record.attrs.insert("status".into(), Value::from(status));
    }
    for (key, value) in profile {
        flatten_into(&mut record.attrs, key, value);
    }
    // Okta's top-level timestamps, which Identity Engine expressions read as `user.created`...;
    // a profile attribute of the same name wins.
    for key in OKTA_USER_TIMESTAMPS {
        if let Some(Json::String(time)) = object.get(*key) {
            record
                .attrs
                .entry((*key).to_owned())
                .or_insert_with(|| Value::from(time.as_str()));
        }
    }
    if let Some(groups) = object.get("groups") {
        record.groups = okta_group_names(groups);
        record.group_ids = crate::record::group_ids(groups);
    }
    Ok(record)
}

/// Group names from `["Eng", ...]`, `[{"name": ...}]` or Okta group objects `[{"profile": {"name": ...}}]`.
fn okta_group_names(groups: &Json) -> Vec<String> {
    match groups {
        Json::Array(items) => items
            .iter()
            .flat_map(|g| match g.get("profile") {
                Some(profile) => group_names(profile),
                None => group_names(g),
            })
            .collect(),
        other => group_names(other),
    }
}

/// A flat object; `id_field` names its identity.
fn plain_record(object: &serde_json::Map<String, Json>, id_field: &str) -> Result<Record, String> {
    let id = identity(object.get(id_field))
        .ok_or_else(|| format!("missing `{id_field}` (the user's identity)"))?;
    let mut record = Record::from_flat_json(id, object);
    record.active = match object.get("active") {
        None | Some(Json::Null) => true,
        Some(Json::Bool(b)) => *b,
        Some(Json::String(s)) if s.eq_ignore_ascii_case("true") => true,
        Some(Json::String(s)) if s.eq_ignore_ascii_case("false") => false,
        Some(other) => return Err(format!("`active` must be true or false, found {other}")),
    };
    Ok(record)
}

/// A non-empty string or number identity.
fn identity(value: Option<&Json>) -> Option<String> {
    match value? {
        Json::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn json_kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// serde_json appends " at line L column C", which the error reports on its own.
pub(crate) fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn okta(text: &str) -> Result<Vec<Record>, JsonSourceError> {
        parse(text, "users.json", JsonFormat::Auto, "id")
    }

    #[test]
    fn okta_users_become_records() {
        let users = okta(
            r#"[{"id":"00u1","status":"ACTIVE","profile":{"login":"a@x","email":"a@x","firstName":"Zoë"},"groups":["Eng",{"profile":{"name":"Ops"}}]},
                {"id":"00u2","status":"DEPROVISIONED","profile":{"login":"b@x"}}]"#,
        )
        .unwrap();
        assert_eq!(users[0].id, "00u1");
        assert!(users[0].active);
        assert_eq!(users[0].get("firstName"), &Value::from("Zoë"));
        assert_eq!(users[0].get("status"), &Value::from("ACTIVE"));
        assert_eq!(users[0].groups, vec!["Eng", "Ops"]);
        assert!(!users[1].active);
    }

    #[test]
    fn okta_users_keep_group_ids_and_top_level_timestamps() {
        let users = okta(
            r#"[{"id":"00u1","created":"2015-07-30T23:58:32.000Z","profile":{"login":"a@x","lastLogin":"mine"},
                 "lastLogin":"2016-01-01T00:00:00.000Z","groups":[{"id":"00g1","profile":{"name":"Eng"}}]}]"#,
        )
        .unwrap();
        assert_eq!(
            users[0].get("created"),
            &Value::from("2015-07-30T23:58:32.000Z")
        );
        assert_eq!(
            users[0].get("lastLogin"),
            &Value::from("mine"),
            "the profile wins"
        );
        assert_eq!(users[0].groups, vec!["Eng"]);
        assert_eq!(users[0].group_ids, vec!["00g1"]);
    }

    #[test]
    fn plain_objects_use_the_id_field() {
        let users = parse(
            r#"[{"mail":"a@x","active":false}]"#,
            "u.json",
            JsonFormat::Plain,
            "mail",
        )
        .unwrap();
        assert_eq!(users[0].id, "a@x");
        assert!(!users[0].active);
    }

    #[test]
    fn malformed_input_names_file_record_and_problem() {
        let err = okta("[{\"id\":1,}]").unwrap_err();
        assert_eq!(
            err.to_string(),
            "export users.json is not valid JSON (line 1, column 10): trailing comma"
        );
        let err = okta(r#"[{"id":"1","profile":{}},{"profile":{}}]"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "export users.json, record 1: missing `id` (Okta user id)"
        );
        let err = okta(r#"{"users":[]}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "export users.json: expected a JSON array of users, found an object"
        );
        let err = okta(r#"[{"id":"1","profile":{}},{"id":"1","profile":{}}]"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "export users.json, record 1: duplicate id `1` (also record 0)"
        );
    }
}
