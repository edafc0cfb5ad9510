//! Golden tests for `scimsync explain`: one user at a time, rule by rule, then the resource.
//! Run from `examples/quickstart` so the paths in the output are the relative ones a user
//! types.

use crate::support;

use support::{repo, scimsync_in};

fn explain(args: &[&str]) -> String {
    let dir = repo().join("examples/quickstart");
    let mut all = vec!["explain", "--now", "2026-03-01T00:00:00Z"];
    all.extend_from_slice(args);
    let run = scimsync_in(&all, None, Some(&dir));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "");
    run.stdout
}

#[test]
fn explain_a_user_in_scope_with_a_create_only_rule() {
    insta::assert_snapshot!(explain(&["--config", "scimsync.toml", "--user", "00u1a"]));
}

#[test]
fn explain_finds_users_by_login_and_shows_why_out_of_scope() {
    insta::assert_snapshot!(explain(&[
        "--config",
        "scimsync.toml",
        "--user",
        "KWAME.MENSAH@example.com"
    ]));
}

#[test]
fn explain_a_skipped_user() {
    insta::assert_snapshot!(explain(&[
        "--mapping",
        "quickstart.map",
        "--input",
        "users.json",
        "--user",
        "00u1t"
    ]));
}

#[test]
fn explain_an_inactive_user() {
    insta::assert_snapshot!(explain(&["--config", "scimsync.toml", "--user", "00u1g"]));
}

#[test]
fn explain_a_record_whose_rule_fails() {
    insta::assert_snapshot!(explain(&[
        "--mapping",
        "quickstart.map",
        "--record",
        r#"{"id":"00u9","status":"ACTIVE","profile":{"email":"Lee@Example.com","firstName":"Lee","creditLimit":"lots"},"groups":["Base44 Builders"]}"#,
    ]));
}

#[test]
fn explain_an_entra_record_with_defaults_and_conversions() {
    let mapping = repo().join("tests/explain/entra.map");
    let run = scimsync_in(
        &[
            "explain",
            "--mapping",
            "entra.map",
            "--record",
            r#"{"objectId":"6f1c","userPrincipalName":"Ana@Contoso.com","givenName":"Ana","surname":"","accountEnabled":true,"appRoleAssignments":["Editor"]}"#,
        ],
        None,
        mapping.parent(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn explain_reports_a_missing_user_and_bad_arguments() {
    let dir = repo().join("examples/quickstart");
    let run = scimsync_in(
        &[
            "explain",
            "--config",
            "scimsync.toml",
            "--user",
            "nobody@example.com",
        ],
        None,
        Some(&dir),
    );
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (1, "error: no user `nobody@example.com` in scimsync.toml\n")
    );
    let run = scimsync_in(
        &["explain", "--mapping", "quickstart.map"],
        None,
        Some(&dir),
    );
    assert_eq!(
        run.code, 2,
        "--user or --record is required: {}",
        run.stderr
    );
    let run = scimsync_in(
        &["explain", "--mapping", "quickstart.map", "--user", "00u1a"],
        None,
        Some(&dir),
    );
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            1,
            "error: --user needs a source: give --config or --input\n"
        )
    );
    let run = scimsync_in(
        &["explain", "--mapping", "quickstart.map", "--record", "[1]"],
        None,
        Some(&dir),
    );
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (1, "error: --record must be a JSON object\n")
    );
}
