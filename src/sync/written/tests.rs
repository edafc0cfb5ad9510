//! What is kept of a write, and the resource an incremental run diffs a changed user against.

use super::*;
use crate::state::State;
use crate::sync::desired::{Desired, compute};
use crate::sync::diff::{Action, Policy, diff_partial};
use scimsync_lang::mapping::{SourceFile, compile};
use scimsync_lang::record::Record;
use scimsync_lang::scim::path::AttrPath;
use serde_json::json;

const MAP: &str = "dialect entra\nuserName <- [email]\nname.familyName <- [last]\n\
                   title <- [title] on create\npassword <- Redact([pw])\n";

fn desired(user: Json) -> Desired {
    let plan = compile(&SourceFile::new("t.map", MAP)).unwrap();
    let record = Record::from_flat_json("s1".into(), user.as_object().unwrap());
    compute(&plan, &[record], chrono::Utc::now())
}

fn ada(last: &str, pw: &str) -> Desired {
    desired(json!({"email": "ada@x", "last": last, "title": "Dev", "pw": pw}))
}

#[test]
fn only_compared_values_are_kept_and_a_redacted_one_as_its_digest() {
    let written = LastWritten::of(&ada("Lovelace", "hunter2").users[0]);
    assert_eq!(
        written.values,
        BTreeMap::from([
            ("name.familyName".to_owned(), json!("Lovelace")),
            ("userName".to_owned(), json!("ada@x")),
        ])
    );
    assert_eq!(
        written.redacted,
        BTreeMap::from([("password".to_owned(), fingerprint_of(&json!("hunter2")))])
    );
    let text = written.encode();
    assert!(!text.contains("hunter2"), "{text}");
    assert_eq!(LastWritten::decode(&text), Some(written));
    assert_eq!(LastWritten::decode("not json"), None);
}

#[test]
fn the_resource_holds_what_was_written_with_id_active_and_version() {
    let written = LastWritten::of(&ada("Lovelace", "hunter2").users[0]).versioned(Some("W/\"4\""));
    let now = ada("Lovelace", "hunter2");
    assert_eq!(
        written.resource("t1", true, &now.users[0]),
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
               "userName": "ada@x", "name": {"familyName": "Lovelace"}, "password": "hunter2",
               "id": "t1", "active": true, "meta": {"version": "W/\"4\""}})
    );
    // A changed secret is held as a value no desired one equals.
    let changed = ada("Lovelace", "hunter3");
    let resource = written.resource("t1", true, &changed.users[0]);
    assert_eq!(
        resource["password"],
        json!({"redacted": fingerprint_of(&json!("hunter2"))})
    );
}

/// The diff against what was last written asks for exactly the values that changed.
fn planned(last_written: &Desired, now: &Desired) -> Vec<(Action, Vec<String>)> {
    let resource = LastWritten::of(&last_written.users[0]).resource("t1", true, &now.users[0]);
    let mut state = State::new("http://t");
    state.users.insert(
        "s1".into(),
        crate::state::ManagedUser::new("t1", "ada@x", true),
    );
    let changes = diff_partial(
        now,
        &[resource],
        &Default::default(),
        &state,
        &AttrPath::core("userName"),
        &Policy::default(),
    );
    changes
        .changes
        .iter()
        .map(|c| (c.action, c.attributes.iter().map(|a| a.path()).collect()))
        .collect()
}

#[test]
fn a_diff_against_what_was_written_sends_only_what_changed() {
    let before = ada("Lovelace", "hunter2");
    assert_eq!(planned(&before, &ada("Lovelace", "hunter2")), []);
    assert_eq!(
        planned(&before, &ada("King", "hunter2")),
        [(Action::Update, vec!["name.familyName".to_owned()])]
    );
    assert_eq!(
        planned(&before, &ada("Lovelace", "hunter3")),
        [(Action::Update, vec!["password".to_owned()])]
    );
    // A create-only rule is never compared, whatever it was.
    let retitled =
        desired(json!({"email": "ada@x", "last": "Lovelace", "title": "CEO", "pw": "hunter2"}));
    assert_eq!(planned(&before, &retitled), []);
}

#[test]
fn an_update_carries_what_it_leaves_and_the_found_user_is_kept_as_desired() {
    let now = ada("King", "hunter2");
    let target = json!({"id": "t1", "userName": "ada@x", "name": {"familyName": "Lovelace"},
                        "active": true, "meta": {"version": "W/\"9\""}});
    let mut state = State::new("http://t");
    state.users.insert(
        "s1".into(),
        crate::state::ManagedUser::new("t1", "ada@x", true),
    );
    let changes = diff_partial(
        &now,
        std::slice::from_ref(&target),
        &Default::default(),
        &state,
        &AttrPath::core("userName"),
        &Policy::default(),
    );
    let written = changes.changes[0]
        .written
        .as_deref()
        .map(LastWritten::decode);
    assert_eq!(written, Some(Some(LastWritten::of(&now.users[0]))));
    // Found as desired: remembered with what it holds, and the version the listing showed.
    let same = ada("Lovelace", "hunter2");
    let mut listed = target;
    listed["password"] = json!("hunter2");
    let changes = diff_partial(
        &same,
        &[listed],
        &Default::default(),
        &state,
        &AttrPath::core("userName"),
        &Policy::default(),
    );
    let kept = changes.remember[0]
        .1
        .written
        .as_deref()
        .and_then(LastWritten::decode);
    assert_eq!(
        kept,
        Some(LastWritten::of(&same.users[0]).versioned(Some("W/\"9\"")))
    );
}
