//! A directory record: one user (or group) as a source delivers it, before any mapping.
//!
//! This is the contract between sources (LDAP, exports) and the mapping language: sources know
//! how to build records and nothing about `.map` files; the language reads records and knows
//! nothing about where they came from.

use std::collections::BTreeMap;

use crate::value::Value;

/// One directory user.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record {
    /// Stable source identity (Okta user id, entryUUID, objectId...). Never reused for
    /// another person, and unchanged by renames.
    pub id: String,
    /// Attributes by name. Names are case-sensitive, as in Okta and Entra.
    pub attrs: BTreeMap<String, Value>,
    /// Names of the groups the user is a member of.
    pub groups: Vec<String>,
    /// Ids of those groups, when the source has them (Okta exports list group objects with
    /// an `id`); empty otherwise. Okta's `isMemberOfGroup("00g...")` reads these.
    pub group_ids: Vec<String>,
    /// Whether the source considers the account enabled (Okta `status`, Entra
    /// `accountEnabled`, LDAP lock attributes).
    pub active: bool,
}

/// The record key that holds group names in `--record` JSON and plain exports.
pub const GROUPS_KEY: &str = "groups";

/// Attributes that name a user to a person, in order of preference.
const LABEL_ATTRIBUTES: &[&str] = &[
    "login",
    "userPrincipalName",
    "userName",
    "email",
    "mail",
    "uid",
    "cn",
];

impl Record {
    pub fn get(&self, name: &str) -> &Value {
        self.attrs.get(name).unwrap_or(&Value::Null)
    }

    /// How messages name this user: the source id, and a login or e-mail when there is one.
    pub fn label(&self) -> String {
        let named = LABEL_ATTRIBUTES
            .iter()
            .find_map(|a| self.get(a).as_str().filter(|s| !s.is_empty()));
        match named {
            Some(name) => format!("{} ({name})", self.id),
            None => self.id.clone(),
        }
    }

    /// Builds a record from a flat JSON object, the shape `scimsync eval --record` takes:
    /// every key is an attribute, `groups` lists group names, nested objects are flattened
    /// into dotted names (`address.city`).
    pub fn from_flat_json(
        id: String,
        object: &serde_json::Map<String, serde_json::Value>,
    ) -> Record {
        let mut record = Record {
            id,
            active: true,
            ..Record::default()
        };
        for (key, value) in object {
            if key == GROUPS_KEY {
                record.groups = group_names(value);
                record.group_ids = group_ids(value);
            } else {
                flatten_into(&mut record.attrs, key, value);
            }
        }
        record
    }
}

/// Group names from a JSON value: a list of strings, or of objects with a `name`/
/// `displayName`, or a single string.
pub fn group_names(value: &serde_json::Value) -> Vec<String> {
    let one = |v: &serde_json::Value| -> Option<String> {
        match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Object(o) => ["name", "displayName"]
                .iter()
                .find_map(|k| o.get(*k).and_then(|n| n.as_str()).map(str::to_owned)),
            _ => None,
        }
    };
    match value {
        serde_json::Value::Array(items) => items.iter().filter_map(one).collect(),
        other => one(other).into_iter().collect(),
    }
}

/// Group ids from a JSON list of group objects (`[{"id": "00g1", "name": "Eng"}]`); plain
/// names carry none.
pub fn group_ids(value: &serde_json::Value) -> Vec<String> {
    let items = match value {
        serde_json::Value::Array(items) => items.as_slice(),
        other => std::slice::from_ref(other),
    };
    items
        .iter()
        .filter_map(|g| g.get("id").and_then(|id| id.as_str()).map(str::to_owned))
        .collect()
}

/// Inserts `value` under `key`, flattening nested objects into dotted keys.
pub fn flatten_into(attrs: &mut BTreeMap<String, Value>, key: &str, value: &serde_json::Value) {
    match value {
        serde_json::Value::Object(inner) => {
            for (k, v) in inner {
                flatten_into(attrs, &format!("{key}.{k}"), v);
            }
        }
        other => {
            attrs.insert(key.to_owned(), Value::from_json(other));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flat_json_reads_groups_and_flattens_objects() {
        let j = json!({"email": "a@x", "groups": ["Eng", {"name": "Ops"}], "address": {"city": "Oslo"}});
        let r = Record::from_flat_json("1".into(), j.as_object().unwrap());
        assert_eq!(r.get("email"), &Value::from("a@x"));
        assert_eq!(r.get("address.city"), &Value::from("Oslo"));
        assert_eq!(r.groups, vec!["Eng".to_string(), "Ops".to_string()]);
        assert!(r.group_ids.is_empty());
        let j = json!({"groups": [{"id": "00g1", "name": "Eng"}]});
        let r = Record::from_flat_json("1".into(), j.as_object().unwrap());
        assert_eq!(r.group_ids, vec!["00g1".to_string()]);
        assert_eq!(r.get("missing"), &Value::Null);
    }
}
