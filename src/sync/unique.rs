//! Entra's `SelectUniqueValue` against the target: which values are already taken.
//!
//! The language core does no I/O; it asks a [`UniquenessOracle`]. This one answers from the
//! target users the run has already listed, plus the values given to users mapped earlier in
//! the same run, so two new users never get the same unique value. The record's own target
//! user (found by the match attribute) does not count: a user that already exists keeps the
//! value it has, as Entra never re-chooses a create-only value for a matched user.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};

use serde_json::Value as Json;

use super::desired::{match_key, text};
use scimsync_lang::mapping::eval::UniquenessOracle;
use scimsync_lang::mapping::plan::Node;
use scimsync_lang::mapping::{Env, MappedUser, Plan};
use scimsync_lang::scim::path::AttrPath;

/// Values already used on the target, or by users mapped earlier in this run: what Entra's
/// `SelectUniqueValue` must avoid. `userName` compares case-insensitively (RFC 7643 §4.1.1).
#[derive(Debug)]
pub struct TakenValues<'t> {
    plan: &'t Plan,
    /// Whether a rule of the plan is a `SelectUniqueValue`; if not, this does nothing.
    uses_unique: bool,
    target_users: &'t [Json],
    /// Target users by match key, to find the record's own target user.
    by_match: HashMap<String, &'t Json>,
    /// Per path, built from the target on first use, then grown as users are mapped.
    by_path: RefCell<HashMap<AttrPath, HashSet<String>>>,
    /// The target user that is the record being mapped, when it already exists: its own
    /// values are not taken (Entra does not re-choose a create-only value for a user it
    /// has matched; here the choice falls on the value the user already holds).
    own: Cell<Option<&'t Json>>,
}

/// Whether `plan` picks values by what its target already holds (`SelectUniqueValue`): its
/// users can be mapped only once the target is listed.
pub fn asks_target(plan: &Plan) -> bool {
    plan.rules
        .iter()
        .any(|r| matches!(&r.expr, Node::Call { function, .. } if function.asks_target()))
}

impl<'t> TakenValues<'t> {
    pub fn new(plan: &'t Plan, target_users: &'t [Json]) -> TakenValues<'t> {
        let uses_unique = asks_target(plan);
        let by_match = if uses_unique {
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
        TakenValues {
            plan,
            uses_unique,
            target_users,
            by_match,
            by_path: RefCell::new(HashMap::new()),
            own: Cell::new(None),
        }
    }

    /// Call before mapping each record: finds the target user the record already is (by its
    /// match attribute), whose own values are then not taken. Nothing to do for a plan
    /// without `SelectUniqueValue`.
    pub fn begin(&self, env: &Env<'_>) {
        if !self.uses_unique {
            return;
        }
        let match_path = &self.plan.match_path;
        let own = self
            .plan
            .rules
            .iter()
            .find(|r| *r.path == *match_path)
            .and_then(|rule| rule.apply(env).ok())
            .and_then(|value| text(&value))
            .and_then(|v| self.by_match.get(&match_key(match_path, &v)).copied());
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
    pub fn claim(&self, mapped: &MappedUser) {
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

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use crate::sync::desired::{Desired, compute, compute_against};
    use scimsync_lang::mapping::{SourceFile, compile};
    use scimsync_lang::record::Record;

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
            desired.skipped[0].reason.to_string().contains(
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
