//! The user diff, case by case: every kind of change, switched-off actions, refusals held
//! back, takeovers, and failing rules.

use super::*;
use crate::sync::desired::compute;
use scimsync_lang::mapping::{SourceFile, compile};
use scimsync_lang::record::Record;
use serde_json::json;

const MAP: &str =
    "userName <- user.email\nname.familyName <- user.last\ntitle <- user.title on create\n";

/// The diff most tests want: matched on userName, default actions.
fn diff_on_user_name(desired: &Desired, target: &[Json], state: &State) -> Changes {
    diff(
        desired,
        target,
        state,
        &AttrPath::core("userName"),
        &Policy::default(),
    )
}

fn desired(users: serde_json::Value) -> Desired {
    let plan = compile(&SourceFile::new("t.map", MAP)).unwrap();
    let records: Vec<Record> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            let mut r =
                Record::from_flat_json(u["id"].as_str().unwrap().into(), u.as_object().unwrap());
            r.active = u.get("active").and_then(|a| a.as_bool()).unwrap_or(true);
            r
        })
        .collect();
    compute(&plan, &records, chrono::Utc::now())
}

fn state(entries: &[(&str, &str, bool)]) -> State {
    let mut s = State::new("http://t");
    for (source, id, active) in entries {
        s.users
            .insert(source.to_string(), ManagedUser::new(*id, "", *active));
    }
    s
}

fn actions(c: &Changes) -> Vec<(Action, String, Vec<String>)> {
    c.changes
        .iter()
        .map(|c| {
            (
                c.action,
                c.user_name.clone(),
                c.attributes.iter().map(AttrChange::path).collect(),
            )
        })
        .collect()
}

#[test]
fn every_kind_of_change() {
    let d = desired(json!([
        {"id": "1", "email": "new@x", "last": "N"},
        {"id": "2", "email": "same@x", "last": "S", "title": "ignored on update"},
        {"id": "3", "email": "changed@x", "last": "After"},
        {"id": "4", "email": "back@x", "last": "B"},
        {"id": "5", "email": "Adopt@X", "last": "A"},
        {"id": "6", "email": "off@x", "last": "O", "active": false},
    ]));
    let target = vec![
        json!({"id": "t2", "userName": "same@x", "name": {"familyName": "S"}}),
        json!({"id": "t3", "userName": "changed@x", "name": {"familyName": "Before"}}),
        json!({"id": "t4", "userName": "back@x", "name": {"familyName": "B"}, "active": false}),
        json!({"id": "t5", "userName": "adopt@x", "name": {"familyName": "A"}}),
        json!({"id": "t6", "userName": "off@x", "name": {"familyName": "O"}}),
        json!({"id": "t7", "userName": "gone@x"}),
        json!({"id": "t8", "userName": "stranger@x"}),
    ];
    let s = state(&[
        ("2", "t2", true),
        ("3", "t3", true),
        ("4", "t4", false),
        ("6", "t6", true),
        ("7", "t7", true),
        ("9", "t9", true),
    ]);
    let c = diff_on_user_name(&d, &target, &s);
    assert_eq!(
        actions(&c),
        vec![
            (
                Action::Create,
                "new@x".into(),
                vec!["userName".into(), "name.familyName".into()]
            ),
            (
                Action::Update,
                "changed@x".into(),
                vec!["name.familyName".into()]
            ),
            (Action::Reactivate, "back@x".into(), vec!["active".into()]),
            // Adopt@X is matched case-insensitively and adopted; userName is not
            // case-exact (RFC 7643), so the new spelling is not sent.
            (Action::Deactivate, "off@x".into(), vec!["active".into()]),
            (Action::Deactivate, "gone@x".into(), vec!["active".into()]),
        ]
    );
    assert_eq!(c.unchanged, 2);
    assert_eq!(
        c.remember
            .iter()
            .map(|(s, m)| (s.as_str(), m.id.as_str()))
            .collect::<Vec<_>>(),
        [("2", "t2"), ("5", "t5")]
    );
    assert_eq!(c.case_only, 1, "the re-spelt userName is counted");
    assert_eq!(
        c.forget,
        ["9"],
        "a managed user deleted on the target is forgotten"
    );
    assert!(
        !c.changes.iter().any(|c| c.user_name == "stranger@x"),
        "unmanaged users are never touched"
    );
    let create = &c.changes[0];
    assert_eq!(
        create.body(),
        Some(
            json!({"schemas": [scimsync_lang::scim::schema::CORE_USER], "userName": "new@x", "name": {"familyName": "N"}, "active": true})
        )
    );
}

#[test]
fn switched_off_actions_and_deletion() {
    let d = desired(json!([
        {"id": "1", "email": "new@x", "last": "N"},
        {"id": "3", "email": "changed@x", "last": "After"},
        {"id": "4", "email": "back@x", "last": "B"},
    ]));
    let target = vec![
        json!({"id": "t3", "userName": "changed@x", "name": {"familyName": "Before"}}),
        json!({"id": "t4", "userName": "back@x", "name": {"familyName": "B"}, "active": false}),
        json!({"id": "t7", "userName": "gone@x"}),
        json!({"id": "t8", "userName": "long-gone@x", "active": false}),
    ];
    let mut s = state(&[
        ("3", "t3", true),
        ("4", "t4", false),
        ("7", "t7", true),
        ("8", "t8", false),
    ]);
    let now = chrono::Utc::now();
    s.users.get_mut("8").unwrap().deactivated_at = Some(now - chrono::Duration::days(31));
    let off = Policy {
        actions: ActionsConfig {
            create: false,
            update: false,
            reactivate: false,
            deactivate: false,
            ..ActionsConfig::default()
        },
        now,
        ..Policy::default()
    };
    let c = diff(&d, &target, &s, &AttrPath::core("userName"), &off);
    assert!(c.changes.is_empty(), "{:?}", actions(&c));
    assert_eq!(
        c.skipped
            .iter()
            .map(|s| s.reason.to_string())
            .collect::<Vec<_>>(),
        [
            "would create, but `create` is off in [sync.actions]",
            "would reactivate, but `reactivate` is off in [sync.actions]",
            "left the source; would deactivate, but `deactivate` is off in [sync.actions]",
        ]
    );

    // Delete after 30 days: the user deactivated 31 days ago goes, the other is deactivated.
    let deleting = Policy {
        actions: ActionsConfig {
            delete: true,
            delete_after_days: Some(30),
            ..ActionsConfig::default()
        },
        now,
        ..Policy::default()
    };
    let c = diff(&d, &target, &s, &AttrPath::core("userName"), &deleting);
    let gone: Vec<(Action, String)> = c
        .changes
        .iter()
        .filter(|c| matches!(c.action, Action::Deactivate | Action::Delete))
        .map(|c| (c.action, c.user_name.clone()))
        .collect();
    assert_eq!(
        gone,
        [
            (Action::Deactivate, "gone@x".to_owned()),
            (Action::Delete, "long-gone@x".to_owned())
        ]
    );
    assert_eq!(c.removals(), 2);
}

#[test]
fn a_refused_change_is_held_until_the_desired_state_changes() {
    let d = desired(json!([{"id": "3", "email": "changed@x", "last": "After"}]));
    let target =
        vec![json!({"id": "t3", "userName": "changed@x", "name": {"familyName": "Before"}})];
    let mut s = state(&[("3", "t3", true)]);
    s.rejected.insert(
        "3".into(),
        crate::state::Rejection {
            operation: crate::state::UserOperation::Update,
            status: Some(403),
            detail: "owners cannot be updated".into(),
            fingerprint: d.users[0].fingerprint.to_string(),
            at: chrono::Utc::now(),
        },
    );
    let c = diff_on_user_name(&d, &target, &s);
    assert!(c.changes.is_empty());
    assert!(
        c.skipped[0]
            .reason
            .to_string()
            .starts_with("not retried: the target refused to update this user on "),
        "{}",
        c.skipped[0].reason
    );
    assert!(
        c.skipped[0]
            .reason
            .to_string()
            .contains("(HTTP 403: owners cannot be updated)")
    );
    let changed = desired(json!([{"id": "3", "email": "changed@x", "last": "Again"}]));
    let c = diff_on_user_name(&changed, &target, &s);
    assert_eq!(
        c.count(Action::Update),
        1,
        "a new desired state is tried again"
    );
}

#[test]
fn a_re_created_source_user_takes_over_the_account_of_one_that_left() {
    // Source user 1 left and was deactivated; 2 has the same e-mail.
    let d = desired(json!([{"id": "2", "email": "ada@x", "last": "New"}]));
    let target = vec![
        json!({"id": "t1", "userName": "ada@x", "name": {"familyName": "Old"}, "active": false}),
    ];
    let s = state(&[("1", "t1", false)]);
    let c = diff_on_user_name(&d, &target, &s);
    assert_eq!(
        actions(&c),
        [(
            Action::Reactivate,
            "ada@x".into(),
            vec!["name.familyName".into(), "active".into()]
        )]
    );
    assert_eq!(c.changes[0].takes_over.as_deref(), Some("1"));
    assert!(!c.changes[0].adopted && c.skipped.is_empty());

    // 1 is still in the source but inactive: 2 takes over, 1 deactivates nothing.
    let d = desired(json!([
        {"id": "1", "email": "ada@x", "last": "Old", "active": false},
        {"id": "2", "email": "ada@x", "last": "Old"},
    ]));
    let target = vec![json!({"id": "t1", "userName": "ada@x", "name": {"familyName": "Old"}})];
    let c = diff_on_user_name(&d, &target, &state(&[("1", "t1", true)]));
    assert!(c.changes.is_empty(), "{:?}", actions(&c));
    assert_eq!(c.forget, ["1"]);
    assert_eq!(c.remember[0].0, "2");
    assert_eq!(
        c.taken_over[0].line(),
        "= ada@x: taken over from source user 1 by source user 2 (re-created in the source); nothing else to write"
    );

    // Both active in the source: nothing is guessed. (1 now has another e-mail; the
    // account still has the old one, which 2 has.)
    let d = desired(json!([
        {"id": "1", "email": "ada.old@x", "last": "Old"},
        {"id": "2", "email": "ada@x", "last": "Old"},
    ]));
    let c = diff_on_user_name(&d, &target, &state(&[("1", "t1", true)]));
    assert_eq!(
        actions(&c),
        [(Action::Update, "ada.old@x".into(), vec!["userName".into()])]
    );
    assert_eq!(
        c.skipped
            .iter()
            .map(|s| s.reason.to_string())
            .collect::<Vec<_>>(),
        [
            "the target user with `userName` \"ada@x\" is managed for source user 1, which is still active in the source; if both are one person, run `scimsync state forget --config <file> 1` and this user takes the account over on the next run"
        ]
    );
}

#[test]
fn a_failing_rule_never_deactivates() {
    let plan = compile(&SourceFile::new(
        "t.map",
        "userName <- user.email\nexternalId <- Convert.toInt(user.n) + \"\"\n",
    ))
    .unwrap();
    let record = Record::from_flat_json(
        "1".into(),
        json!({"email": "a@x", "n": "bad"}).as_object().unwrap(),
    );
    let d = compute(&plan, &[record], chrono::Utc::now());
    assert_eq!(d.skipped.len(), 1);
    let c = diff(
        &d,
        &[json!({"id": "t1", "userName": "a@x"})],
        &state(&[("1", "t1", true)]),
        &AttrPath::core("userName"),
        &Policy::default(),
    );
    assert!(c.changes.is_empty(), "{:?}", c.changes);
}
