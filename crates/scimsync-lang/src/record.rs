//! A directory record: one user (or group) as a source delivers it, before any mapping.
//!
//! This is the contract between sources (LDAP, exports) and the mapping language: sources know
//! how to build records and nothing about `.map` files; the language reads records and knows
//! nothing about where they came from.

use crate::value::Value;

/// One directory user.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record {
    /// Stable source identity (Okta user id, entryUUID, objectId...). Never reused for
    /// another person, and unchanged by renames.
    pub id: String,
    /// Attributes by name. Names are case-sensitive, as in Okta and Entra.
    pub attrs: Attrs,
    /// Names of the groups the user is a member of.
    pub groups: Vec<String>,
    /// Ids of those groups, when the source has them (Okta exports list group objects with
    /// an `id`); empty otherwise. Okta's `isMemberOfGroup("00g...")` reads these.
    pub group_ids: Vec<String>,
    /// Whether the source considers the account enabled (Okta `status`, Entra
    /// `accountEnabled`, LDAP lock attributes).
    pub active: bool,
}

/// A record's attributes by name, kept sorted in one vector, each with a hash of its name.
///
/// Records are built once and read many times (every rule of every run reads them), and a
/// user has a few dozen attributes at most. A lookup hashes the name and scans the hashes,
/// comparing one string at the end: a tenth of the work of a `BTreeMap`, whose nodes are
/// scanned with a string comparison per key (issue 3's throughput target lives here). One
/// vector holds no node slack, which matters with 100,000 records in memory. Names are
/// listed in order, as a `BTreeMap`'s are.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attrs {
    entries: Vec<Entry>,
}

/// One attribute of [`Attrs`], with the hash of its name.
#[derive(Clone, Debug, PartialEq)]
struct Entry {
    hash: u64,
    name: String,
    value: Value,
}

/// A fixed-seed hash: attribute names come from the admin's own directory, and a stable
/// hash keeps runs reproducible.
fn name_hash(name: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x5c1a_5e7c).hash_one(name)
}

/// An attribute name with its hash computed once, for names looked up over and over (the
/// attributes a compiled plan reads from every record).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttrName {
    name: String,
    hash: u64,
}

impl AttrName {
    pub fn new(name: impl Into<String>) -> AttrName {
        let name = name.into();
        AttrName {
            hash: name_hash(&name),
            name,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }
}

impl std::fmt::Display for AttrName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

impl Attrs {
    pub fn new() -> Attrs {
        Attrs::default()
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.find_hashed(name_hash(name), name)
    }

    fn find_hashed(&self, hash: u64, name: &str) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.hash == hash && e.name == name)
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.find(name).map(|i| &self.entries[i].value)
    }

    /// [`Attrs::get`] without hashing the name again.
    pub fn get_named(&self, name: &AttrName) -> Option<&Value> {
        self.find_hashed(name.hash, &name.name)
            .map(|i| &self.entries[i].value)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// Sets `name` to `value`, returning the value it replaces.
    pub fn insert(&mut self, name: String, value: Value) -> Option<Value> {
        match self
            .entries
            .binary_search_by(|e| e.name.as_str().cmp(&name))
        {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].value, value)),
            Err(i) => {
                let hash = name_hash(&name);
                self.entries.insert(i, Entry { hash, name, value });
                None
            }
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Attribute names, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.entries.iter().map(|e| &e.name)
    }
}

impl<K: Into<String>> FromIterator<(K, Value)> for Attrs {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(items: I) -> Attrs {
        let mut attrs = Attrs::new();
        attrs.extend(items);
        attrs
    }
}

impl<K: Into<String>> Extend<(K, Value)> for Attrs {
    fn extend<I: IntoIterator<Item = (K, Value)>>(&mut self, items: I) {
        for (key, value) in items {
            self.insert(key.into(), value);
        }
    }
}

impl<K: Into<String>, const N: usize> From<[(K, Value); N]> for Attrs {
    fn from(items: [(K, Value); N]) -> Attrs {
        items.into_iter().collect()
    }
}

/// App-user profile attributes (an Okta app-user export's `profile`) are recorded as
/// `appuser.<name>`, which is how Okta expressions read them.
pub const APP_USER_PREFIX: &str = "appuser";

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

/// Attributes a person may name a user by when looking one up (`explain --user`): the
/// sources' login attributes, Active Directory's `sAMAccountName` among them.
const LOGIN_ATTRIBUTES: &[&str] = &[
    "login",
    "userPrincipalName",
    "sAMAccountName",
    "userName",
    "email",
    "mail",
    "uid",
    "cn",
];

/// Whether two names a person types are the same name: Unicode's full case folding
/// (`ZOË0001` is `zoë0001`, `STRASSE` is `straße`), as directories compare logins.
pub fn same_name(a: &str, b: &str) -> bool {
    unicase::eq(a, b)
}

impl Record {
    /// Whether `wanted` names this user: its source id, or any value of a login attribute
    /// ([`same_name`]).
    pub fn is_named(&self, wanted: &str) -> bool {
        self.id == wanted
            || LOGIN_ATTRIBUTES.iter().any(|name| match self.get(name) {
                Value::Str(value) => same_name(value, wanted),
                Value::List(values) => values
                    .iter()
                    .any(|v| v.as_str().is_some_and(|value| same_name(value, wanted))),
                _ => false,
            })
    }

    pub fn get(&self, name: &str) -> &Value {
        self.attrs.get(name).unwrap_or(&Value::Null)
    }

    /// [`Record::get`] for a name a plan resolved ahead.
    pub fn get_named(&self, name: &AttrName) -> &Value {
        self.attrs.get_named(name).unwrap_or(&Value::Null)
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
pub fn flatten_into(attrs: &mut Attrs, key: &str, value: &serde_json::Value) {
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

    #[test]
    fn a_user_is_found_by_any_login_attribute_with_unicode_case_folding() {
        let j = json!({
            "sAMAccountName": "zoë0001",
            "userPrincipalName": "zoë0001@corp.example.test",
            "mail": ["straße@corp.example.test", "z@corp.example.test"]
        });
        let r = Record::from_flat_json("guid-1".into(), j.as_object().unwrap());
        for wanted in [
            "guid-1",
            "ZOË0001",
            "ZOË0001@CORP.EXAMPLE.TEST",
            "STRASSE@corp.example.test",
            "Z@corp.example.test",
        ] {
            assert!(r.is_named(wanted), "{wanted}");
        }
        for wanted in ["GUID-1", "zoe0001", "zoë0002", "corp.example.test"] {
            assert!(!r.is_named(wanted), "{wanted}");
        }
    }

    #[test]
    fn attrs_stay_sorted_and_replace_in_place() {
        let mut attrs = Attrs::new();
        for name in ["mail", "cn", "uid", "cn", "displayName"] {
            attrs.insert(name.to_owned(), Value::from(name));
        }
        assert_eq!(
            attrs.keys().map(String::as_str).collect::<Vec<_>>(),
            ["cn", "displayName", "mail", "uid"]
        );
        assert_eq!(
            attrs.insert("uid".into(), Value::Int(1)),
            Some(Value::from("uid"))
        );
        assert_eq!(attrs.get("uid"), Some(&Value::Int(1)));
        assert!(attrs.contains_key("cn"));
        assert_eq!(attrs.get("zz"), None);
        assert_eq!(attrs.len(), 4);
    }
}
