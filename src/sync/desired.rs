//! The desired state: every source record run through the plan. Pure: no I/O.
//!
//! A user whose rules fail is skipped with the reason and is neither created nor
//! deactivated; out-of-scope users are listed so managed ones can be deactivated.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::Value as Json;

use crate::mapping::eval::UniquenessOracle;
use crate::mapping::plan::Node;
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

/// The lookup key for a match value: `userName` is case-insensitive in SCIM (RFC 7643 §4.1.1),
/// other attributes are compared exactly.
pub fn match_key(match_path: &AttrPath, value: &str) -> String {
    if match_path.is_core("userName") {
        value.to_lowercase()
    } else {
        value.to_owned()
    }
}

/// Values already used on the target, or by users mapped earlier in this run: what Entra's
/// `SelectUniqueValue` must avoid. `userName` compares case-insensitively (RFC 7643 §4.1.1).
#[derive(Debug)]
pub struct TakenValues<'t> {
    target_users: &'t [Json],
    /// Per path, built from the target on first use, then grown as users are mapped.
    by_path: RefCell<HashMap<AttrPath, HashSet<String>>>,
    /// The target user that is the record being mapped, when it already exists: its own
    /// values are not taken (Entra does not re-choose a create-only value for a user it
    /// has matched; here the choice falls on the value the user already holds).
    own: Cell<Option<&'t Json>>,
}

impl<'t> TakenValues<'t> {
    pub fn new(target_users: &'t [Json]) -> TakenValues<'t> {
        TakenValues {
            target_users,
            by_path: RefCell::new(HashMap::new()),
            own: Cell::new(None),
        }
    }

    /// Finds the target user a record already is, by its match attribute, for a plan with
    /// a `SelectUniqueValue` rule.
    fn set_own(&self, plan: &Plan, env: &Env<'_>, by_match: &HashMap<String, &'t Json>) {
        let own = plan
            .rules
            .iter()
            .find(|r| r.path == plan.match_path)
            .and_then(|rule| rule.apply(env).ok())
            .and_then(|value| text(&value))
            .and_then(|v| by_match.get(&match_key(&plan.match_path, &v)).copied());
        self.own.set(own);
    }

    fn with_path<R>(&self, path: &AttrPath, f: impl FnOnce(&mut HashSet<String>) -> R) -> R {
        let mut by_path = self.by_path.borrow_mut();
        let taken = by_path.entry(path.clone()).or_insert_with(|| {
            self.target_users
                .iter()
                .filter_map(|u| path.get(u)?.as_str())
                .map(|v| match_key(path, v))
                .collect()
        });
        f(taken)
    }

    /// Counts a mapped user's values as taken, so a later user in the same run cannot get
    /// the same unique value. Only paths that have been asked about are kept: a
    /// `SelectUniqueValue` rule asks before it produces any value, so nothing is missed, and
    /// mappings without one cost nothing.
    fn claim(&self, mapped: &MappedUser) {
        let mut by_path = self.by_path.borrow_mut();
        for value in &mapped.values {
            if let (Some(taken), Some(text)) = (by_path.get_mut(&value.path), text(&value.value)) {
                taken.insert(match_key(&value.path, &text));
            }
        }
    }
}

impl UniquenessOracle for TakenValues<'_> {
    fn is_taken(&self, path: &AttrPath, value: &str) -> bool {
        let key = match_key(path, value);
        let own_value = self
            .own
            .get()
            .and_then(|own| path.get(own)?.as_str())
            .is_some_and(|v| match_key(path, v) == key);
        !own_value && self.with_path(path, |taken| taken.contains(&key))
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
    let taken = TakenValues::new(target_users);
    let uses_unique = plan.rules.iter().any(
        |r| matches!(&r.expr, Node::Call { function, .. } if function.name == "SelectUniqueValue"),
    );
    let by_match: HashMap<String, &Json> = if uses_unique {
        target_users
            .iter()
            .filter_map(|u| {
                let value = plan.match_path.get(u)?.as_str()?;
                Some((match_key(&plan.match_path, value), u))
            })
            .collect()
    } else {
        HashMap::new()
    };
    let user_name_path = AttrPath::core("userName");
    let active_path = AttrPath::core("active");
    let mut desired = Desired {
        source_count: records.len(),
        ..Desired::default()
    };
    let mut keys: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for record in records {
        let env = Env {
            unique: Some(&taken),
            ..Env::at(record, now)
        };
        if uses_unique {
            taken.set_own(plan, &env, &by_match);
        }
        let skip = |reason: String| Skip {
            source_id: record.id.clone(),
            user: record.label(),
            reason,
        };
        let mapped = match plan.evaluate(record, &env) {
            Ok(Outcome::Mapped(mapped)) => mapped,
            Ok(Outcome::OutOfScope) => {
                desired.out_of_scope.push(record.id.clone());
                continue;
            }
            Err(failure) => {
                desired.skipped.push(skip(failure.to_string()));
                continue;
            }
        };
        let Some(user_name) = mapped.get(&user_name_path).and_then(text) else {
            desired.skipped.push(skip("no value for `userName`".into()));
            continue;
        };
        let Some(match_value) = mapped.get(&plan.match_path).and_then(text) else {
            desired.skipped.push(skip(format!(
                "no value for the match attribute `{}`",
                plan.match_path
            )));
            continue;
        };
        let key = match_key(&plan.match_path, &match_value);
        if let Some(other) = keys.get(&key) {
            desired.skipped.push(skip(format!(
                "`{}` is \"{match_value}\", the same as source user {other}",
                plan.match_path
            )));
            continue;
        }
        keys.insert(key.clone(), record.id.clone());
        taken.claim(&mapped);
        let active = match mapped.get(&active_path) {
            Some(Value::Bool(b)) => *b,
            _ => record.active,
        };
        desired.users.push(DesiredUser {
            source_id: record.id.clone(),
            user_name,
            match_key: key,
            mapped,
            active,
        });
    }
    desired
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::Str(s) if !s.is_empty() => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::{SourceFile, compile};

    const UNIQUE_MAP: &str = r#"dialect entra
match externalId
externalId <- [objectId]
userName <- SelectUniqueValue(
      Join("@", Join(".", [first], [last]), "contoso.com"),
      Join("@", Join(".", Mid([first], 1, 1), [last]), "contoso.com"),
      Join("@", Join(".", Mid([first], 1, 2), [last]), "contoso.com"))
    on create
"#;

    fn records(ids: &[&str]) -> Vec<Record> {
        ids.iter()
            .map(|id| {
                let json = serde_json::json!({"objectId": id, "first": "John", "last": "Smith"});
                Record::from_flat_json((*id).into(), json.as_object().unwrap())
            })
            .collect()
    }

    fn user_names(desired: &Desired) -> Vec<&str> {
        desired.users.iter().map(|u| u.user_name.as_str()).collect()
    }

    #[test]
    fn select_unique_value_avoids_target_values_and_earlier_users_of_the_run() {
        let plan = compile(&SourceFile::new("u.map", UNIQUE_MAP)).expect("compiles");
        // On the target already, in another case: userName compares case-insensitively.
        let target = [serde_json::json!({"id": "t1", "userName": "JOHN.SMITH@contoso.com"})];
        let desired = compute_against(&plan, &records(&["a", "b", "c"]), Utc::now(), &target);
        assert_eq!(
            user_names(&desired),
            ["J.Smith@contoso.com", "Jo.Smith@contoso.com"]
        );
        assert_eq!(desired.skipped.len(), 1);
        assert_eq!(desired.skipped[0].source_id, "c");
        assert!(
            desired.skipped[0].reason.contains(
                "every candidate is already taken on the target: \"John.Smith@contoso.com\", \"J.Smith@contoso.com\", \"Jo.Smith@contoso.com\""
            ),
            "{}",
            desired.skipped[0].reason
        );
    }

    #[test]
    fn a_user_already_on_the_target_keeps_its_own_value() {
        let plan = compile(&SourceFile::new("u.map", UNIQUE_MAP)).expect("compiles");
        // "a" was created earlier as J.Smith (John.Smith belonging to someone else); "b" is new.
        let target = [
            serde_json::json!({"id": "t1", "userName": "John.Smith@contoso.com"}),
            serde_json::json!({"id": "t2", "userName": "J.Smith@contoso.com", "externalId": "a"}),
        ];
        let desired = compute_against(&plan, &records(&["a", "b"]), Utc::now(), &target);
        assert_eq!(
            user_names(&desired),
            ["J.Smith@contoso.com", "Jo.Smith@contoso.com"]
        );
        assert!(desired.skipped.is_empty(), "{:?}", desired.skipped);
    }

    #[test]
    fn without_a_target_the_first_candidate_wins_then_run_order_decides() {
        let plan = compile(&SourceFile::new("u.map", UNIQUE_MAP)).expect("compiles");
        let desired = compute(&plan, &records(&["a", "b"]), Utc::now());
        assert_eq!(
            user_names(&desired),
            ["John.Smith@contoso.com", "J.Smith@contoso.com"]
        );
    }
}
