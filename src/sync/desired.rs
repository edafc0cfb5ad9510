//! The desired state: every source record run through the plan. Pure: no I/O.
//!
//! A user whose rules fail is skipped with the reason and is neither created nor
//! deactivated; out-of-scope users are listed so managed ones can be deactivated.

use crate::sync::skip::SkipReason;
use std::hash::BuildHasher as _;

use chrono::{DateTime, Utc};
use serde_json::Value as Json;

use super::unique::TakenValues;

use scimsync_lang::mapping::{Env, MappedUser, Outcome, Plan};
use scimsync_lang::record::Record;
use scimsync_lang::scim::path::AttrPath;
use scimsync_lang::value::Value;

/// A user as it should be on the target. A run holds one per source user, so it holds no
/// copy it can do without: the match key is kept only where it differs from `user_name`,
/// and the fingerprint is a number, formatted when it is written to the state.
#[derive(Clone, Debug, PartialEq)]
pub struct DesiredUser {
    pub source_id: String,
    pub user_name: String,
    /// The match attribute's value, normalised for lookups, when it is not `user_name`
    /// itself (with `match userName` and a lower-case userName, it is).
    match_key: Option<String>,
    pub mapped: MappedUser,
    pub active: bool,
    /// Fingerprint of everything scimsync would write for this user (see [`fingerprint`]).
    pub fingerprint: Fingerprint,
}

impl DesiredUser {
    /// The match attribute's value, normalised for lookups (see [`match_key`]).
    pub fn match_key(&self) -> &str {
        self.match_key.as_deref().unwrap_or(&self.user_name)
    }
}

/// A digest of a user's desired state (see [`fingerprint`]); shown and stored as 16 hex
/// digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub u64);

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// A user left out of this run, and why.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Skip {
    pub source_id: String,
    /// How messages name the user (source id and login).
    pub user: String,
    pub reason: SkipReason,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Desired {
    pub users: Vec<DesiredUser>,
    pub skipped: Vec<Skip>,
    /// Source ids whose scope condition is false.
    pub out_of_scope: Vec<String>,
    /// How many records the source delivered.
    pub source_count: usize,
}

impl Desired {
    /// The source ids still in the source: desired users and users skipped for a failing rule
    /// (they are there, only their rules failed). Managed users outside it have departed.
    pub fn present(&self) -> std::collections::HashSet<&str> {
        self.users
            .iter()
            .map(|u| u.source_id.as_str())
            .chain(self.skipped.iter().map(|s| s.source_id.as_str()))
            .collect()
    }

    /// Adds what the plan made of `record`.
    pub fn add(&mut self, record: &Record, desire: Desire) {
        self.source_count += 1;
        match desire {
            Desire::User(user) => self.users.push(user),
            Desire::OutOfScope => self.out_of_scope.push(record.id.clone()),
            Desire::Skipped(skip) => self.skipped.push(skip),
        }
    }
}

/// The lookup key for a match value: `userName` is case-insensitive in SCIM (RFC 7643 §4.1.1),
/// other attributes are compared exactly.
pub fn match_key(match_path: &AttrPath, value: &str) -> String {
    if match_path.is_core("userName") {
        value.to_lowercase()
    } else {
        value.to_owned()
    }
}

/// The desired state with nothing taken on the target (no target listed).
pub fn compute(plan: &Plan, records: &[Record], now: DateTime<Utc>) -> Desired {
    compute_against(plan, records, now, &[])
}

/// The desired state, with `SelectUniqueValue` avoiding the values of `target_users` and of
/// users mapped earlier in the run.
pub fn compute_against(
    plan: &Plan,
    records: &[Record],
    now: DateTime<Utc>,
    target_users: &[Json],
) -> Desired {
    let mut desired = Desired::default();
    let mut mapper = Mapper::against(plan, now, target_users);
    let mut keys = KeyIndex::default();
    for record in records {
        let desire = mapper.map_held(record, &mut keys.over(&desired.users));
        desired.add(record, desire);
    }
    desired
}

/// Who holds each match key so far: a second user with a key is skipped (see [`Mapper`]).
pub trait KeyHolders {
    /// The source id of the user that holds `key`, and whether that user is active.
    fn holder(&self, key: &str) -> Option<(&str, bool)>;
    /// Gives `key` to the user being mapped (`source_id`), which the caller adds next.
    fn hold(&mut self, key: &str, source_id: &str, active: bool);
}

/// Holders with copies of each key and source id: for a mapper whose users are not kept
/// (`scimsync map`, `explain`).
#[derive(Default)]
struct KeyCopies(std::collections::HashMap<String, (String, bool)>);

impl KeyHolders for KeyCopies {
    fn holder(&self, key: &str) -> Option<(&str, bool)> {
        self.0.get(key).map(|(id, active)| (id.as_str(), *active))
    }

    fn hold(&mut self, key: &str, source_id: &str, active: bool) {
        self.0
            .insert(key.to_owned(), (source_id.to_owned(), active));
    }
}

/// The match keys of a desired state as it grows: each key's holder as its place among the
/// desired users, whose own key, source id and activity are read from there. A run keeps one
/// per target while it reads; holding no copy of the keys and ids, it costs a few bytes a
/// user instead of the key and the id again.
#[derive(Default)]
pub struct KeyIndex {
    places: hashbrown::HashTable<usize>,
    hasher: std::hash::RandomState,
}

impl KeyIndex {
    /// The index over `users`, the desired users added so far: each user the mapper gives
    /// must be added to them before the next is mapped.
    pub fn over<'a>(&'a mut self, users: &'a [DesiredUser]) -> IndexedKeys<'a> {
        IndexedKeys { index: self, users }
    }
}

/// A [`KeyIndex`] with the users it points into.
pub struct IndexedKeys<'a> {
    index: &'a mut KeyIndex,
    users: &'a [DesiredUser],
}

impl KeyHolders for IndexedKeys<'_> {
    fn holder(&self, key: &str) -> Option<(&str, bool)> {
        let users = self.users;
        let hash = self.index.hasher.hash_one(key);
        self.index
            .places
            .find(hash, |&place| users[place].match_key() == key)
            .map(|&place| (users[place].source_id.as_str(), users[place].active))
    }

    fn hold(&mut self, key: &str, _source_id: &str, _active: bool) {
        let (users, hasher) = (self.users, &self.index.hasher);
        // The user about to be added.
        let place = users.len();
        let hash = hasher.hash_one(key);
        match self.index.places.entry(
            hash,
            |&held| users[held].match_key() == key,
            |&held| hasher.hash_one(users[held].match_key()),
        ) {
            hashbrown::hash_table::Entry::Occupied(mut held) => *held.get_mut() = place,
            hashbrown::hash_table::Entry::Vacant(free) => {
                free.insert(place);
            }
        }
    }
}

/// What the plan makes of one source record.
#[derive(Clone, Debug, PartialEq)]
pub enum Desire {
    User(DesiredUser),
    /// The scope condition is false for this user.
    OutOfScope,
    Skipped(Skip),
}

/// Maps records one at a time (so a stream never needs them all in memory), remembering the
/// match keys seen so far: a second user with the same key is skipped, not merged, unless one
/// of the two is inactive and the other active (a person re-created in the source): the
/// active one is the person; an inactive one after it is left out, as if gone.
pub struct Mapper<'p> {
    plan: &'p Plan,
    now: DateTime<Utc>,
    /// What `SelectUniqueValue` must avoid.
    taken: TakenValues<'p>,
    /// The match keys of the users mapped by [`Mapper::map`], which keeps none of them.
    own_keys: KeyCopies,
    user_name_path: AttrPath,
    active_path: AttrPath,
}

impl<'p> Mapper<'p> {
    /// A mapper for a run with no target (`scimsync map`): nothing is taken yet.
    pub fn new(plan: &'p Plan, now: DateTime<Utc>) -> Mapper<'p> {
        Mapper::against(plan, now, &[])
    }

    /// A mapper whose `SelectUniqueValue` avoids the values `target_users` hold.
    pub fn against(plan: &'p Plan, now: DateTime<Utc>, target_users: &'p [Json]) -> Mapper<'p> {
        Mapper {
            plan,
            now,
            taken: TakenValues::new(plan, target_users),
            own_keys: KeyCopies::default(),
            user_name_path: AttrPath::core("userName"),
            active_path: AttrPath::core("active"),
        }
    }

    /// Maps `record`, remembering its match key here: for a caller that does not keep the
    /// users (`scimsync map`, `explain`).
    pub fn map(&mut self, record: &Record) -> Desire {
        let mut keys = std::mem::take(&mut self.own_keys);
        let desire = self.map_held(record, &mut keys);
        self.own_keys = keys;
        desire
    }

    /// Maps `record` against the match keys `keys` says are held; a user it gives holds its
    /// key there from now on, and must be added where `keys` looks for holders.
    pub fn map_held(&mut self, record: &Record, keys: &mut impl KeyHolders) -> Desire {
        let plan = self.plan;
        let env = Env {
            unique: Some(&self.taken),
            ..Env::at(record, self.now)
        };
        self.taken.begin(&env);
        let skip = |reason: SkipReason| {
            Desire::Skipped(Skip {
                source_id: record.id.clone(),
                user: record.label(),
                reason,
            })
        };
        let mapped = match plan.evaluate(record, &env) {
            Ok(Outcome::Mapped(mapped)) => mapped,
            Ok(Outcome::OutOfScope) => return Desire::OutOfScope,
            Err(failure) => return skip(SkipReason::RuleFailed(failure)),
        };
        let Some(user_name) = mapped.get(&self.user_name_path).and_then(text) else {
            return skip(SkipReason::NoUserName);
        };
        let match_value = if plan.match_path == self.user_name_path {
            Some(std::borrow::Cow::Borrowed(user_name.as_str()))
        } else {
            mapped
                .get(&plan.match_path)
                .and_then(text)
                .map(std::borrow::Cow::Owned)
        };
        let Some(match_value) = match_value else {
            return skip(SkipReason::NoMatchValue {
                match_path: plan.match_path.clone(),
            });
        };
        let key = match_key(&plan.match_path, &match_value);
        let active = match mapped.get(&self.active_path) {
            Some(Value::Bool(b)) => *b,
            _ => record.active,
        };
        match keys.holder(&key) {
            // An inactive former self of an active user: as if gone (see `takeover`).
            Some((_, true)) if !active => return Desire::OutOfScope,
            // The active successor of an inactive user takes the key.
            Some((_, false)) if active => {}
            Some((other, _)) => {
                return skip(SkipReason::SameMatchValue {
                    match_path: plan.match_path.clone(),
                    value: match_value.into_owned(),
                    other: other.to_owned(),
                });
            }
            None => {}
        }
        keys.hold(&key, &record.id, active);
        let key = (key != user_name).then_some(key);
        self.taken.claim(&mapped);
        let fingerprint = fingerprint(&mapped, active);
        Desire::User(DesiredUser {
            source_id: record.id.clone(),
            user_name,
            match_key: key,
            mapped,
            active,
            fingerprint,
        })
    }
}

/// A short, stable digest of a user's desired state: every mapped path, value and flow, and
/// `active`. Stored in the state so a permanently refused write is retried only once the
/// desired state changes. FNV-1a (64 bit) over a canonical rendering: stable across builds and
/// Rust versions, unlike `std`'s hasher; it need not resist attackers.
///
/// The rendering is `path \x1f json-value \x1f flow \x1e` per value, then `active` or
/// `inactive`; it is fed to the hash as it is written, never built as a string (a run
/// fingerprints every user).
pub fn fingerprint(mapped: &MappedUser, active: bool) -> Fingerprint {
    use std::fmt::Write as _;
    let mut hash = Fnv1a::new();
    for value in &mapped.values {
        // Writing into the hash cannot fail.
        let _ = write!(hash, "{}", value.path);
        hash.bytes(b"\x1f");
        write_json(&value.value, &mut hash);
        hash.bytes(b"\x1f");
        hash.bytes(match value.flow {
            scimsync_lang::mapping::plan::Flow::Always => b"always",
            scimsync_lang::mapping::plan::Flow::OnCreate => b"create",
        });
        hash.bytes(b"\x1e");
    }
    hash.bytes(if active { b"active" } else { b"inactive" });
    Fingerprint(hash.0)
}

/// A digest of one attribute value, over the same JSON rendering as [`fingerprint`]: what the
/// state keeps of a value the target did not keep.
pub fn value_fingerprint(value: &Value) -> Fingerprint {
    let mut hash = Fnv1a::new();
    write_json(value, &mut hash);
    Fingerprint(hash.0)
}

/// `value` as JSON text, exactly as `value.to_json().to_string()` renders it, without
/// building the JSON value.
fn write_json(value: &Value, hash: &mut Fnv1a) {
    match value {
        Value::Null => hash.bytes(b"null"),
        Value::Bool(b) => hash.bytes(if *b { b"true" } else { b"false" }),
        Value::Int(i) => {
            let _ = serde_json::to_writer(&mut *hash, i);
        }
        Value::Float(f) if f.is_finite() => {
            let _ = serde_json::to_writer(&mut *hash, f);
        }
        // Not representable in JSON: `to_json` makes it null.
        Value::Float(_) => hash.bytes(b"null"),
        Value::Str(s) => {
            let _ = serde_json::to_writer(&mut *hash, s);
        }
        Value::List(items) => {
            hash.bytes(b"[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    hash.bytes(b",");
                }
                write_json(item, hash);
            }
            hash.bytes(b"]");
        }
        // Rare (complex roles); a JSON object also merges repeated member names.
        Value::Object(_) => {
            let _ = serde_json::to_writer(&mut *hash, &value.to_json());
        }
    }
}

/// The fingerprint recorded for a user that is no longer in the source.
pub const ABSENT_FINGERPRINT: &str = "absent";

/// FNV-1a, 64 bit, fed through `fmt::Write` and `io::Write`.
struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Fnv1a {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

impl std::fmt::Write for Fnv1a {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.bytes(s.as_bytes());
        Ok(())
    }
}

impl std::io::Write for Fnv1a {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A value as match or unique-value text: non-empty strings and integers.
pub(super) fn text(value: &Value) -> Option<String> {
    match value {
        Value::Str(s) if !s.is_empty() => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scimsync_lang::mapping::plan::{Flow, MappedValue};
    use scimsync_lang::scim::path::{FilterValue, ValueFilter};

    /// The rendering the fingerprint was first defined over, built as a string: fingerprints
    /// already stored in state files must not change.
    fn reference(mapped: &MappedUser, active: bool) -> String {
        let mut canonical = String::new();
        for value in &mapped.values {
            canonical.push_str(&value.path.to_string());
            canonical.push('\u{1f}');
            canonical.push_str(&value.value.to_json().to_string());
            canonical.push('\u{1f}');
            canonical.push_str(match value.flow {
                Flow::Always => "always",
                Flow::OnCreate => "create",
            });
            canonical.push('\u{1e}');
        }
        canonical.push_str(if active { "active" } else { "inactive" });
        let mut hash = Fnv1a::new();
        hash.bytes(canonical.as_bytes());
        format!("{:016x}", hash.0)
    }

    /// Users `(id, email, active)` as records.
    fn records(users: &[(&str, &str, bool)]) -> Vec<Record> {
        users
            .iter()
            .map(|(id, email, active)| {
                let fields = serde_json::json!({ "email": email });
                let mut record = Record::from_flat_json((*id).into(), fields.as_object().unwrap());
                record.active = *active;
                record
            })
            .collect()
    }

    #[test]
    fn a_match_key_is_held_by_one_user_whether_the_keys_are_indexed_or_copied() {
        let plan =
            scimsync_lang::mapping::compile(&scimsync_lang::mapping::source::SourceFile::new(
                "t.map",
                "userName <- user.email\n".to_owned(),
            ))
            .unwrap();
        let records = records(&[
            ("a", "Ann@x", true),
            ("b", "ann@X", true), // a's key: skipped
            ("c", "cy@x", false), // inactive
            ("d", "Cy@x", true),  // the active successor of c takes the key
            ("e", "cy@x", false), // an inactive former self of d: as if gone
            ("f", "cy@X", true),  // d's key: skipped
            ("g", "gus@x", true),
        ]);
        let now = Utc::now();
        let indexed = compute(&plan, &records, now);
        let ids = |users: &[DesiredUser]| {
            users
                .iter()
                .map(|u| u.source_id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&indexed.users), ["a", "c", "d", "g"]);
        assert_eq!(
            indexed
                .users
                .iter()
                .map(DesiredUser::match_key)
                .collect::<Vec<_>>(),
            ["ann@x", "cy@x", "cy@x", "gus@x"]
        );
        assert_eq!(indexed.out_of_scope, ["e"]);
        let skipped: Vec<(&str, &SkipReason)> = indexed
            .skipped
            .iter()
            .map(|s| (s.source_id.as_str(), &s.reason))
            .collect();
        let same = |value: &str, other: &str| SkipReason::SameMatchValue {
            match_path: AttrPath::core("userName"),
            value: value.to_owned(),
            other: other.to_owned(),
        };
        assert_eq!(
            skipped,
            [("b", &same("ann@X", "a")), ("f", &same("cy@X", "d"))]
        );

        let mut mapper = Mapper::new(&plan, now);
        let mut copied = Desired::default();
        for record in &records {
            copied.add(record, mapper.map(record));
        }
        assert_eq!(copied, indexed);
    }

    #[test]
    fn fingerprints_are_the_stored_ones() {
        let values = [
            Value::from("Zoë \"Q\" \\ Nuñez\n"),
            Value::Int(-42),
            Value::Float(1.5e300),
            Value::Float(f64::NAN),
            Value::Float(3.0),
            Value::Bool(true),
            Value::Null,
            Value::List(vec![Value::from("a"), Value::Int(1), Value::List(vec![])]),
            Value::Object(vec![
                ("value".into(), Value::from("admin")),
                ("display".into(), Value::Null),
            ]),
        ];
        let mapped = MappedUser {
            values: values
                .into_iter()
                .enumerate()
                .map(|(i, value)| MappedValue {
                    path: std::sync::Arc::new(AttrPath {
                        schema: (i % 3 == 0)
                            .then(|| "urn:x:params:scim:schemas:extension:y:2.0".to_owned()),
                        name: format!("a{i}"),
                        filter: (i % 4 == 1).then(|| ValueFilter {
                            attr: "type".into(),
                            value: FilterValue::Str("work".into()),
                        }),
                        sub: (i % 4 == 1).then(|| "value".to_owned()),
                    }),
                    value,
                    flow: if i % 2 == 0 {
                        Flow::Always
                    } else {
                        Flow::OnCreate
                    },
                    redacted: i == 0,
                })
                .collect(),
        };
        for active in [true, false] {
            assert_eq!(
                fingerprint(&mapped, active).to_string(),
                reference(&mapped, active)
            );
        }
        assert_eq!(
            fingerprint(&MappedUser::default(), true).to_string(),
            reference(&MappedUser::default(), true)
        );
    }
}
