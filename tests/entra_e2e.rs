//! An Entra-dialect mapping end to end against a real SCIM server (scim2-server on loopback):
//! `SelectUniqueValue` avoids the values already on the target and those given to users
//! earlier in the same run, `IgnoreFlowIfNullOrEmpty` leaves an attribute (and its default)
//! out, `AssertiveAppRoleAssignmentsComplex` sends complex roles, and a second sync writes
//! nothing. (`AppRoleAssignmentsComplex` sends `displayName`, exactly as Entra does, which
//! RFC-strict scim2-server rejects; its payload is tested in `mapping::plan`.)

use crate::support;

use serde_json::json;
use support::{Project, ScimServer, scimsync};

const MAPPING: &str = r#"# Entra-style mapping: unique user names generated on create
dialect entra
match externalId

externalId      <- [objectId]
userName        <- SelectUniqueValue(
                     ToLower(Join("@", NormalizeDiacritics(StripSpaces(Join(".", [givenName], [surname]))), "contoso.com")),
                     ToLower(Join("@", NormalizeDiacritics(StripSpaces(Join(".", Mid([givenName], 1, 1), [surname]))), "contoso.com")),
                     ToLower(Join("@", NormalizeDiacritics(StripSpaces(Join(".", Mid([givenName], 1, 2), [surname]))), "contoso.com")))
                   on create
name.givenName  <- [givenName]
name.familyName <- PCase([surname])
title           <- IgnoreFlowIfNullOrEmpty([jobTitle])
                   default "Staff"
roles           <- AssertiveAppRoleAssignmentsComplex([appRoleAssignments])
"#;

const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

fn config(project: &Project, url: &str) -> String {
    let path = project.write(
        "scimsync.toml",
        &format!(
            "mapping = \"test.map\"\n\n[source]\nkind = \"json\"\npath = \"users.json\"\nformat = \"plain\"\nid_field = \"objectId\"\n\n[target]\nurl = \"{url}\"\ntoken_env = \"SCIMSYNC_TEST_TOKEN\"\n\n[state]\npath = \"state\"\n"
        ),
    );
    path.to_str().expect("utf-8 path").to_owned()
}

fn role(name: &str) -> serde_json::Value {
    json!({"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": name, "value": name})
}

#[test]
fn entra_mapping_generates_unique_names_and_converges() {
    let server = ScimServer::start();
    let project = Project::new();
    project.write("test.map", MAPPING);
    let config = config(&project, &server.url);
    let token = Some(server.token.as_str());

    // Another tool's user already holds the first candidate, in other letter case.
    server.create(json!({"schemas": [CORE], "userName": "Zoe.Smith@contoso.com"}));
    let seeded = server.writes();

    // Two Zoë Smiths: the first gets the second candidate, the second the third one,
    // because the first user's name counts as taken within the run.
    let export = json!([
        {"objectId": "o1", "givenName": "Zoë", "surname": "SMITH", "jobTitle": "", "appRoleAssignments": ["Admin", "User"]},
        {"objectId": "o2", "givenName": "Zoë", "surname": "Smith", "jobTitle": "Engineer"},
    ]);
    project.write("users.json", &export.to_string());
    let run = scimsync(&["sync", "--config", &config], token);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(
        run.stdout
            .ends_with("Applied: 2 created, 0 updated, 0 reactivated, 0 deactivated; 0 failed.\n"),
        "{}",
        run.stdout
    );

    let mut users = server.user_contents();
    users.sort_by_key(|u| u["userName"].as_str().unwrap_or_default().to_owned());
    let o1 = json!({
        "schemas": [CORE],
        "userName": "z.smith@contoso.com",
        "externalId": "o1",
        "name": {"givenName": "Zoë", "familyName": "Smith"},
        "roles": [role("Admin"), role("User")],
        "active": true,
    });
    let o2 = json!({
        "schemas": [CORE],
        "userName": "zo.smith@contoso.com",
        "externalId": "o2",
        "name": {"givenName": "Zoë", "familyName": "Smith"},
        "title": "Engineer",
        "active": true,
    });
    assert_eq!(
        users,
        vec![
            json!({"schemas": [CORE], "userName": "Zoe.Smith@contoso.com"}),
            o1,
            o2
        ],
        "o1's empty title does not flow, not even as the default"
    );

    // Nothing to do the second time: userName is create-only, so it is not re-chosen.
    let after_first = server.writes();
    // The 2 creates, in one /Bulk request (scim2-server advertises bulk).
    assert_eq!(after_first - seeded, 1);
    let again = scimsync(&["sync", "--config", &config], token);
    assert_eq!(again.code, 0, "{}", again.all_output());
    assert!(
        again
            .stdout
            .starts_with("No changes: the target is up to date.\n"),
        "{}",
        again.stdout
    );
    assert_eq!(server.writes(), after_first, "a no-op sync must not write");
}

/// `Redact` (Entra: "[Redact]" in the provisioning logs): the value reaches the target, but
/// no diff, JSON report, skip reason or explanation shows it.
#[test]
fn redacted_values_flow_but_never_show() {
    const REDACTING: &str = "dialect entra\nmatch externalId\n\nexternalId <- [objectId]\nuserName <- [userPrincipalName]\nenterprise:employeeNumber <- Redact([badgeSecret])\n";
    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let server = ScimServer::start();
    let project = Project::new();
    project.write("test.map", REDACTING);
    let config = config(&project, &server.url);
    let token = Some(server.token.as_str());
    let user = |secret: &str| json!([{"objectId": "o1", "userPrincipalName": "ada@contoso.com", "badgeSecret": secret}]);
    project.write("users.json", &user("s3cr3t-one").to_string());

    // Every run succeeds and never prints the secret, whatever it shows.
    let run = |args: &[&str]| {
        let run = scimsync(args, token);
        assert_eq!(run.code, 0, "{}", run.all_output());
        assert!(!run.all_output().contains("s3cr3t"), "{}", run.all_output());
        run
    };
    let dry_run = ["sync", "--config", &config, "--dry-run", "-v"];
    let dry = run(&dry_run);
    assert!(
        dry.stdout.starts_with(
            "Run: full: first run\n+ create ada@contoso.com\n    externalId: \"o1\"\n    userName: \"ada@contoso.com\"\n    enterprise:employeeNumber: \"[Redact]\"\n"
        ),
        "{}",
        dry.stdout
    );
    let json_report = run(&["sync", "--config", &config, "--dry-run", "--output", "json"]);
    let report: serde_json::Value = serde_json::from_str(&json_report.stdout).expect("JSON report");
    assert_eq!(
        report["changes"][0]["resource"][ENTERPRISE]["employeeNumber"],
        json!("[Redact]")
    );

    run(&["sync", "--config", &config]);
    let users = server.user_contents();
    assert_eq!(users.len(), 1);
    assert_eq!(
        users[0][ENTERPRISE]["employeeNumber"],
        json!("s3cr3t-one"),
        "the real value is sent"
    );

    // An update shows neither the old nor the new value.
    project.write("users.json", &user("s3cr3t-two").to_string());
    let dry = run(&dry_run);
    let (kind, plan) = dry.stdout.split_once('\n').unwrap();
    assert!(kind.starts_with("Run: incremental: "), "{kind}");
    assert!(
        plan.starts_with(
            "~ update ada@contoso.com\n    enterprise:employeeNumber: \"[Redact]\" -> \"[Redact]\"\n"
        ),
        "{}",
        dry.stdout
    );
    run(&["sync", "--config", &config]);
    assert_eq!(
        server.user_contents()[0][ENTERPRISE]["employeeNumber"],
        json!("s3cr3t-two")
    );
    // What scimsync last wrote is kept in the state for incremental runs: the redacted
    // value only as a digest, in the export and in the database's bytes.
    let export = run(&["state", "export", "--json", "--config", &config]);
    let export: serde_json::Value = serde_json::from_str(&export.stdout).expect("state JSON");
    let digest =
        &export["users"]["o1"]["written"]["redacted"][format!("{ENTERPRISE}:employeeNumber")];
    assert!(
        digest
            .as_str()
            .is_some_and(|d| d.len() == 16 && d.chars().all(|c| c.is_ascii_hexdigit())),
        "{export}"
    );
    let state_files: Vec<_> = std::fs::read_dir(project.path("state"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        state_files
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "db")),
        "{state_files:?}"
    );
    for path in state_files {
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(6).any(|w| w == b"s3cr3t"),
                "{} holds the secret",
                path.display()
            );
        }
    }
    // A change of another value sends that value alone, not the secret again.
    project.write(
        "users.json",
        &json!([{"objectId": "o1", "userPrincipalName": "ada.l@contoso.com", "badgeSecret": "s3cr3t-two"}])
            .to_string(),
    );
    let dry = run(&dry_run);
    assert!(
        dry.stdout.ends_with(
            "~ update ada@contoso.com\n    userName: \"ada@contoso.com\" -> \"ada.l@contoso.com\"\n"
        ) || dry.stdout.contains("~ update ada.l@contoso.com\n    userName: \"ada@contoso.com\" -> \"ada.l@contoso.com\"\n"),
        "{}",
        dry.stdout
    );
    assert!(!dry.stdout.contains("employeeNumber"), "{}", dry.stdout);
    run(&["sync", "--config", &config]);
    assert_eq!(
        server.user_contents()[0]["userName"],
        json!("ada.l@contoso.com")
    );
    project.write("users.json", &user("s3cr3t-two").to_string());

    // `explain` hides the rule's inputs and result, and the resource's value.
    let explained = run(&["explain", "--config", &config, "--user", "o1"]);
    assert!(
        explained
            .stdout
            .contains("  reads   badgeSecret = [Redact]\n"),
        "{}",
        explained.stdout
    );
}
