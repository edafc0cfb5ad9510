//! Writes a target accepts but does not keep. Some targets answer 200 to a PUT or PATCH and
//! silently drop attributes they do not store (while listing them in `/Schemas`); scimsync
//! would then "update" the user on every run. A dropped value is noticed in the resource the
//! target returns (an attribute sent but absent from it) or, when it returns none (a 204), in
//! the next listing: the values of such a write are kept in the state as unverified until a
//! listing shows them, or shows them missing. It is reported once per attribute and recorded in the state
//! (`notKept`), and not sent again while the desired value stays the same.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value as Json;

use super::desired::value_fingerprint;
use super::diff::{AttrChange, Change};
use super::render::{Aliases, short_path};
use crate::state::State;
use scimsync_lang::value::Value;

/// A value the target accepted and did not keep.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NotKept {
    pub source_id: String,
    /// The user's userName, for messages.
    pub user: String,
    pub path: String,
    /// Fingerprint of the value (see [`fingerprint_of`]).
    #[serde(skip)]
    pub value: String,
}

/// The fingerprint the state keeps of a value the target did not keep.
pub fn fingerprint_of(value: &Json) -> String {
    value_fingerprint(&Value::from_json(value)).to_string()
}

/// Whether the target already refused to keep this very value of `path` for `source_id`.
pub fn refused_before(state: &State, source_id: &str, path: &str, value: &Json) -> bool {
    holds(&state.not_kept, source_id, path, value)
}

/// Whether this very value of `path` was sent to `source_id`'s user in a write whose answer
/// did not show the resource (so a listing that lacks it shows it was not kept).
pub fn sent_unverified(state: &State, source_id: &str, path: &str, value: &Json) -> bool {
    holds(&state.unverified, source_id, path, value)
}

fn holds(
    map: &BTreeMap<String, BTreeMap<String, String>>,
    source_id: &str,
    path: &str,
    value: &Json,
) -> bool {
    map.get(source_id)
        .and_then(|paths| paths.get(path))
        .is_some_and(|kept| *kept == fingerprint_of(value))
}

/// The attributes of `change` that the resource the target returned lacks although they were
/// sent with a value. Only a whole resource (one with its `userName`) is judged: some targets
/// answer a write with a stub.
pub fn dropped(change: &Change, returned: &Json) -> Vec<NotKept> {
    if scimsync_lang::scim::path::get_ci(returned, "userName").is_none() {
        return Vec::new();
    }
    tracked(change)
        .filter(|a| a.attr.get(returned).is_none_or(Json::is_null))
        .map(|a| not_kept(change, a))
        .collect()
}

/// The values of a write whose keeping is checked: not `active` (compared on its own), not
/// `password` (write-only: never returned), not a removal.
fn tracked(change: &Change) -> impl Iterator<Item = &AttrChange> {
    change
        .attributes
        .iter()
        .filter(|a| !a.new.is_null() && !a.attr.is_core("active") && !a.attr.is_core("password"))
}

fn not_kept(change: &Change, attribute: &AttrChange) -> NotKept {
    NotKept {
        source_id: change.source_id.clone().unwrap_or_default(),
        user: change.user_name.clone(),
        path: attribute.path(),
        value: fingerprint_of(&attribute.new),
    }
}

/// Records a successful write in the state. `returned` is the resource the target answered
/// with: the values sent and missing from it are recorded as not kept (and returned), the
/// others are kept. Without one, the values sent wait, unverified, for the next listing.
pub fn record(state: &mut State, change: &Change, returned: Option<&Json>) -> Vec<NotKept> {
    let Some(source_id) = &change.source_id else {
        return Vec::new();
    };
    if let Some(paths) = state.not_kept.get_mut(source_id) {
        for attribute in &change.attributes {
            paths.remove(&attribute.path());
        }
    }
    let Some(returned) =
        returned.filter(|r| scimsync_lang::scim::path::get_ci(r, "userName").is_some())
    else {
        let sent = state.unverified.entry(source_id.clone()).or_default();
        for attribute in tracked(change) {
            sent.insert(attribute.path(), fingerprint_of(&attribute.new));
        }
        state.unverified.retain(|_, paths| !paths.is_empty());
        return Vec::new();
    };
    let dropped = dropped(change, returned);
    remember(state, &dropped);
    dropped
}

/// Adds `not_kept` to the state.
pub fn remember(state: &mut State, not_kept: &[NotKept]) {
    for entry in not_kept {
        state
            .not_kept
            .entry(entry.source_id.clone())
            .or_default()
            .insert(entry.path.clone(), entry.value.clone());
    }
    state.not_kept.retain(|_, paths| !paths.is_empty());
}

/// One line per attribute: `! the target accepted `title` but does not keep it (a@x, b@x) ...`.
pub fn lines(not_kept: &[NotKept], aliases: &Aliases) -> String {
    let mut users: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for entry in not_kept {
        users.entry(&entry.path).or_default().push(&entry.user);
    }
    let mut out = String::new();
    for (path, mut names) in users {
        // Writes complete in any order: the line is the same every time.
        names.sort_unstable();
        let _ = writeln!(
            out,
            "! the target accepted `{}` but does not keep it ({} user(s): {}); it is not sent again while the value stays the same",
            short_path(path, aliases),
            names.len(),
            names.join(", ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::diff::Action;
    use scimsync_lang::scim::path::AttrPath;
    use serde_json::json;
    use std::sync::Arc;

    fn update(attributes: &[(&str, Json)]) -> Change {
        Change {
            action: Action::Update,
            source_id: Some("s1".into()),
            id: Some("t1".into()),
            user_name: "a@x".into(),
            attributes: attributes
                .iter()
                .map(|(name, new)| AttrChange {
                    attr: Arc::new(AttrPath::core(name)),
                    old: None,
                    new: new.clone(),
                    redacted: false,
                })
                .collect(),
            adopted: false,
            takes_over: None,
            match_value: None,
            fingerprint: String::new(),
            written: None,
        }
    }

    #[test]
    fn an_attribute_missing_from_the_returned_resource_was_not_kept() {
        let change = update(&[("title", json!("Boss")), ("displayName", json!("A"))]);
        let returned = json!({"id": "t1", "userName": "a@x", "displayName": "A"});
        let dropped = dropped(&change, &returned);
        assert_eq!(
            dropped.iter().map(|d| d.path.as_str()).collect::<Vec<_>>(),
            ["title"]
        );
        assert!(super::dropped(&change, &json!({"id": "t1"})).is_empty());
        let mut state = State::new("http://t");
        assert_eq!(record(&mut state, &change, Some(&returned)), dropped);
        assert!(refused_before(&state, "s1", "title", &json!("Boss")));
        assert!(!refused_before(&state, "s1", "title", &json!("Chief")));
        // Sent again with another value, and kept: the entry goes.
        let kept = json!({"id": "t1", "userName": "a@x", "title": "Chief"});
        record(
            &mut state,
            &update(&[("title", json!("Chief"))]),
            Some(&kept),
        );
        assert!(state.not_kept.is_empty());
        // A 204: the values wait for the next listing.
        record(&mut state, &update(&[("title", json!("Chief"))]), None);
        assert!(sent_unverified(&state, "s1", "title", &json!("Chief")));
        assert_eq!(
            lines(&dropped, &[]),
            "! the target accepted `title` but does not keep it (1 user(s): a@x); it is not sent again while the value stays the same\n"
        );
    }
}
