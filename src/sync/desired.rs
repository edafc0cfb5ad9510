//! The desired state: every source record run through the plan. Pure: no I/O.
//!
//! A user whose rules fail is skipped with the reason and is neither created nor
//! deactivated; out-of-scope users are listed so managed ones can be deactivated.

use chrono::{DateTime, Utc};
use serde_json::Value as Json;

use super::unique::TakenValues;

use crate::mapping::{Env, MappedUser, Outcome, Plan};
use crate::record::Record;
use crate::scim::path::AttrPath;
use crate::value::Value;

/// A user as it should be on the target.
#[derive(Clone, Debug, PartialEq)]
pub struct DesiredUser {
    pub source_id: String,
    pub user_name: String,
    /// The match attribute's value, normalised for lookups.
    pub match_key: String,
    pub mapped: MappedUser,
    pub active: bool,
    /// Fingerprint of everything scimsync would write for this user (see [`fingerprint`]).
    pub fingerprint: String,
}

/// A user left out of this run, and why.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Skip {
    pub source_id: String,
    /// How messages name the user (source id and login).
    pub user: String,
    pub reason: String,
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
    for record in records {
        desired.add(record, mapper.map(record));
    }
    desired
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
/// match keys seen so far: a second user with the same key is skipped, not merged.
pub struct Mapper<'p> {
    plan: &'p Plan,
    now: DateTime<Utc>,
    /// What `SelectUniqueValue` must avoid.
    taken: TakenValues<'p>,
    /// Match key → source id of the user that has it.
    keys: std::collections::HashMap<String, String>,
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
            keys: std::collections::HashMap::new(),
            user_name_path: AttrPath::core("userName"),
            active_path: AttrPath::core("active"),
        }
    }

    pub fn map(&mut self, record: &Record) -> Desire {
        let plan = self.plan;
        let env = Env {
            unique: Some(&self.taken),
            ..Env::at(record, self.now)
        };
        self.taken.begin(&env);
        let skip = |reason: String| {
            Desire::Skipped(Skip {
                source_id: record.id.clone(),
                user: record.label(),
                reason,
            })
        };
        let mapped = match plan.evaluate(record, &env) {
            Ok(Outcome::Mapped(mapped)) => mapped,
            Ok(Outcome::OutOfScope) => return Desire::OutOfScope,
            Err(failure) => return skip(failure.to_string()),
        };
        let Some(user_name) = mapped.get(&self.user_name_path).and_then(text) else {
            return skip("no value for `userName`".into());
        };
        let Some(match_value) = mapped.get(&plan.match_path).and_then(text) else {
            return skip(format!(
                "no value for the match attribute `{}`",
                plan.match_path
            ));
        };
        let key = match_key(&plan.match_path, &match_value);
        if let Some(other) = self.keys.get(&key) {
            return skip(format!(
                "`{}` is \"{match_value}\", the same as source user {other}",
                plan.match_path
            ));
        }
        self.keys.insert(key.clone(), record.id.clone());
        self.taken.claim(&mapped);
        let active = match mapped.get(&self.active_path) {
            Some(Value::Bool(b)) => *b,
            _ => record.active,
        };
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
pub fn fingerprint(mapped: &MappedUser, active: bool) -> String {
    let mut canonical = String::new();
    for value in &mapped.values {
        canonical.push_str(&value.path.to_string());
        canonical.push('\u{1f}');
        canonical.push_str(&value.value.to_json().to_string());
        canonical.push('\u{1f}');
        canonical.push_str(match value.flow {
            crate::mapping::plan::Flow::Always => "always",
            crate::mapping::plan::Flow::OnCreate => "create",
        });
        canonical.push('\u{1e}');
    }
    canonical.push_str(if active { "active" } else { "inactive" });
    fnv1a(canonical.as_bytes())
}

/// The fingerprint recorded for a user that is no longer in the source.
pub const ABSENT_FINGERPRINT: &str = "absent";

fn fnv1a(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// A value as match or unique-value text: non-empty strings and integers.
pub(super) fn text(value: &Value) -> Option<String> {
    match value {
        Value::Str(s) if !s.is_empty() => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}
