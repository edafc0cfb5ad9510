//! End to end against two independent real SCIM servers on loopback, scim2-server (PyPI) and
//! SCIMMY (npm): users created, adopted, updated, deactivated and reactivated; groups created
//! with their members, members removed and added back; unmanaged users and members left alone;
//! no-op runs send zero writes. The servers' final state is asserted exactly (users projected
//! onto the attributes the mapping writes, groups by displayName with their member userNames).

use crate::support;

use serde_json::{Value as Json, json};
use support::{Project, ScimServer, scimsync};

const MAPPING: &str = r#"# peers e2e
userName        <- user.email
externalId      <- user.getInternalProperty("id")
name.givenName  <- user.first
name.familyName <- user.last
displayName     <- user.first + " " + user.last

group "eng" as "Engineering"
groups matching "^adm"
"#;

fn person(id: &str, first: &str, last: &str, active: bool, groups: &[&str]) -> Json {
    json!({"id": id, "email": format!("{}@example.com", first.to_lowercase()), "first": first,
           "last": last, "active": active, "groups": groups})
}

/// Each user as `(userName, externalId, givenName, familyName, displayName, active)`.
fn users(server: &ScimServer) -> Vec<(String, String, String, String, String, bool)> {
    server
        .users()
        .iter()
        .map(|u| {
            let s = |v: &Json| v.as_str().unwrap_or("-").to_owned();
            (
                s(&u["userName"]),
                s(&u["externalId"]),
                s(&u["name"]["givenName"]),
                s(&u["name"]["familyName"]),
                s(&u["displayName"]),
                u["active"].as_bool().unwrap_or(true),
            )
        })
        .collect()
}

fn row(
    u: &str,
    x: &str,
    g: &str,
    f: &str,
    active: bool,
) -> (String, String, String, String, String, bool) {
    (
        format!("{u}@example.com"),
        x.into(),
        g.into(),
        f.into(),
        if x == "-" {
            "-".into()
        } else {
            format!("{g} {f}")
        },
        active,
    )
}

fn members(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| format!("{n}@example.com")).collect()
}

fn lifecycle(server: &ScimServer) {
    let project = Project::new();
    project.write("test.map", MAPPING);
    let config = project.config(&server.url);
    std::fs::write(
        &config,
        std::fs::read_to_string(&config).unwrap().replace(
            "path = \"users.json\"",
            "path = \"users.json\"\nformat = \"plain\"",
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap().to_owned();
    // Already on the target: carol (adopted by userName) and a stranger (never touched).
    server.create(
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "carol@example.com", "name": {"givenName": "Carol", "familyName": "Old"}}),
    );
    server.create(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "stranger@example.com"}));
    let write = |people: Json| project.write("users.json", &people.to_string());
    let sync = |dry: bool| {
        let mut args = vec!["sync", "--config", config.as_str()];
        if dry {
            args.push("--dry-run");
        }
        let run = scimsync(&args, Some(&server.token));
        assert_eq!(run.code, 0, "{}", run.all_output());
        run.stdout
    };

    write(json!([
        person("s1", "Alice", "Liddell", true, &["eng", "admins"]),
        person("s2", "Bob", "Builder", true, &["eng"]),
        person("s3", "Carol", "Danvers", true, &["eng"]),
        person("s4", "Dave", "Gone", false, &["eng"]),
    ]));
    let plan = sync(true);
    assert!(
        plan.contains("~ update carol@example.com (existing user, adopted)"),
        "{plan}"
    );
    assert!(plan.contains("+ create group Engineering"), "{plan}");
    assert!(
        plan.contains(
            "! skip member s4 (dave@example.com) of group Engineering: the user is inactive"
        ),
        "{plan}"
    );
    let out = sync(false);
    assert!(
        out.contains("Groups: 2 created, 0 updated, 0 deleted; 4 member(s) added, 0 removed."),
        "{out}"
    );
    assert_eq!(
        users(server),
        [
            row("alice", "s1", "Alice", "Liddell", true),
            row("bob", "s2", "Bob", "Builder", true),
            row("carol", "s3", "Carol", "Danvers", true),
            (
                "stranger@example.com".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                true
            ),
        ]
    );
    assert_eq!(
        server.groups_by_user_name(),
        [
            (
                "Engineering".to_owned(),
                members(&["alice", "bob", "carol"])
            ),
            ("admins".to_owned(), members(&["alice"])),
        ]
    );

    // Nothing changed: nothing is written.
    let writes = server.writes();
    let out = sync(false);
    assert!(out.contains("No changes"), "{out}");
    assert_eq!(server.writes(), writes);

    // Bob leaves, Alice is renamed, Carol leaves eng, Dave becomes active.
    write(json!([
        person("s1", "Alice", "Kingsleigh", true, &["eng", "admins"]),
        person("s3", "Carol", "Danvers", true, &[]),
        person("s4", "Dave", "Gone", true, &["eng"]),
    ]));
    sync(false);
    assert_eq!(
        users(server),
        [
            row("alice", "s1", "Alice", "Kingsleigh", true),
            row("bob", "s2", "Bob", "Builder", false),
            row("carol", "s3", "Carol", "Danvers", true),
            row("dave", "s4", "Dave", "Gone", true),
            (
                "stranger@example.com".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                true
            ),
        ]
    );
    assert_eq!(
        server.groups_by_user_name(),
        [
            ("Engineering".to_owned(), members(&["alice", "dave"])),
            ("admins".to_owned(), members(&["alice"])),
        ]
    );

    // Bob comes back: reactivated with the same id, and back in the group.
    let bob_id = server.users()[1]["id"].clone();
    write(json!([
        person("s1", "Alice", "Kingsleigh", true, &["eng", "admins"]),
        person("s2", "Bob", "Builder", true, &["eng"]),
        person("s3", "Carol", "Danvers", true, &[]),
        person("s4", "Dave", "Gone", true, &["eng"]),
    ]));
    let out = sync(false);
    assert!(out.contains("~ reactivate bob@example.com"), "{out}");
    assert_eq!(server.users()[1]["id"], bob_id);
    assert_eq!(server.users()[1]["active"], true);
    assert_eq!(
        server.groups_by_user_name(),
        [
            ("Engineering".to_owned(), members(&["alice", "bob", "dave"])),
            ("admins".to_owned(), members(&["alice"])),
        ]
    );
    let writes = server.writes();
    assert!(sync(false).contains("No changes"));
    assert_eq!(server.writes(), writes, "converged");
}

#[test]
fn lifecycle_against_scim2_server() {
    lifecycle(&ScimServer::start());
}

#[test]
fn lifecycle_against_scimmy() {
    lifecycle(&ScimServer::start_scimmy());
}

const DISCOVERY_MAP: &str = r#"extension b44 = "urn:base44:params:scim:schemas:extension:user:2.0"
extension other = "urn:example:params:scim:schemas:extension:other:2.0"
userName        <- user.email
externalId      <- user.id
name.familyName <- user.last
b44:role        <- "viewer"
b44:creditLimit <- user.limit as string
b44:nickname    <- user.nick
other:level     <- user.level
"#;

/// `check --online` reads the real server's discovery endpoints and names every problem;
/// `externalId`, a common attribute (RFC 7643 §3.1) servers do not list in `/Schemas`, is not
/// one. It also reads the source.
fn discovery(server: &ScimServer, features: &str, authentication: &str) {
    let project = Project::new();
    project.write("test.map", DISCOVERY_MAP);
    project.write(
        "users.json",
        r#"[{"id": "s1", "email": "a@x", "last": "A"}]"#,
    );
    let config = project.config(&server.url);
    let run = scimsync(
        &["check", "--config", config.to_str().unwrap(), "--online"],
        Some(&server.token),
    );
    assert_eq!(run.code, 1, "{}", run.all_output());
    let b44 = "urn:base44:params:scim:schemas:extension:user:2.0";
    assert_eq!(
        run.stdout,
        format!(
            "{}: ok (7 rules)\ntarget {}\n  features: {features}\n{}  error: {b44}:creditLimit: the mapping writes string, the target declares integer\n  error: {b44}:nickname: the target's schema {b44} has no such attribute\n  error: urn:example:params:scim:schemas:extension:other:2.0:level: the target's User resource type does not offer the extension urn:example:params:scim:schemas:extension:other:2.0\n  5 of 8 mapped paths exist on the target with a matching type and are writable\nsource {}: readable, first user s1\n",
            project.path("test.map").display(),
            server.url,
            authentication,
            project.path("users.json").display(),
        )
    );
}

#[test]
fn check_online_against_scim2_server() {
    discovery(
        &ScimServer::start(),
        "patch yes, filter yes (maxResults 1000), bulk yes (maxOperations 1000), etag yes, sort yes, changePassword yes",
        "  authentication: oauthbearertoken\n",
    );
}

#[test]
fn check_online_against_scimmy() {
    discovery(
        &ScimServer::start_scimmy(),
        "patch yes, filter yes (maxResults 1000), bulk yes (maxOperations 1000), etag no, sort yes, changePassword no",
        "  authentication: oauthbearertoken\n",
    );
}

/// A user whose e-mail the source spells `Ada.Lovelace@Example.COM` and the target holds in
/// lower case is adopted and left alone: `userName` and `emails.value` are not case-exact
/// (the peer's own `/Schemas` is read to say so), so nothing is written, now or later.
fn case_insensitive_values(server: &ScimServer) {
    let project = Project::new();
    project.write(
        "test.map",
        "userName <- user.email\nemails[type eq \"work\"].value <- user.email\n",
    );
    project.write(
        "users.json",
        r#"[{"id": "s1", "email": "Ada.Lovelace@Example.COM"}]"#,
    );
    let config = project.config(&server.url);
    server.create(
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "ada.lovelace@example.com",
        "emails": [{"type": "work", "value": "ada.lovelace@example.com"}]}),
    );
    let writes = server.writes();
    for _ in 0..2 {
        let run = scimsync(
            &["sync", "--config", config.to_str().unwrap()],
            Some(&server.token),
        );
        assert_eq!(run.code, 0, "{}", run.all_output());
        assert!(
            run.stdout
                .starts_with("No changes: the target is up to date.\nPlan: 0 to create, 0 to update, 0 to reactivate, 0 to deactivate; 1 unchanged, 0 skipped.\n"),
            "{}",
            run.stdout
        );
    }
    assert_eq!(server.writes(), writes, "nothing written");
}

#[test]
fn case_insensitive_values_against_scim2_server() {
    case_insensitive_values(&ScimServer::start());
}

#[test]
fn case_insensitive_values_against_scimmy() {
    case_insensitive_values(&ScimServer::start_scimmy());
}

/// A change to a filtered path (`emails[type eq "work"].value`) is one PATCH the peer
/// implements: the element is replaced in place, the other element is left alone, and the
/// next run writes nothing. (The in-process fault server covers targets that answer 501.)
fn filtered_path_update(server: &ScimServer) {
    let project = Project::new();
    project.write(
        "test.map",
        "userName <- user.email\nemails[type eq \"work\"].value <- user.work\n",
    );
    let config = project.config(&server.url);
    let config = config.to_str().unwrap();
    server.create(
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "ada@example.com",
        "emails": [{"type": "work", "value": "old@example.com"},
                   {"type": "home", "value": "home@example.com"}]}),
    );
    project.write(
        "users.json",
        r#"[{"id": "s1", "email": "ada@example.com", "work": "new@example.com"}]"#,
    );
    let sync = || scimsync(&["sync", "--config", config], Some(&server.token));
    let run = sync();
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(
        run.stdout.starts_with(
            "~ update ada@example.com (existing user, adopted): emails[type eq \"work\"].value\n"
        ),
        "{}",
        run.stdout
    );
    let mut emails: Vec<(String, String)> = server.users()[0]["emails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    emails.sort();
    assert_eq!(
        emails,
        [
            ("home".to_owned(), "home@example.com".to_owned()),
            ("work".to_owned(), "new@example.com".to_owned())
        ]
    );
    let writes = server.writes();
    let again = sync();
    assert!(again.stdout.starts_with("No changes"), "{}", again.stdout);
    assert_eq!(server.writes(), writes);
}

#[test]
fn filtered_path_update_against_scim2_server() {
    filtered_path_update(&ScimServer::start());
}

#[test]
fn filtered_path_update_against_scimmy() {
    filtered_path_update(&ScimServer::start_scimmy());
}
