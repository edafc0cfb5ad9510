//! End to end against a real SCIM server (scim2-server on loopback): the exact resources after
//! a sync, zero writes on a second sync, and exactly the expected updates, deactivations and
//! reactivations when the export changes. Unmanaged users on the target are never touched.

use crate::support;

use serde_json::{Value as Json, json};
use support::{Project, ScimServer, scimsync};

const MAPPING: &str = r#"# e2e mapping
dialect okta
extension b44 = "urn:base44:params:scim:schemas:extension:user:2.0"
match userName

userName                     <- String.toLowerCase(user.email)
externalId                   <- user.getInternalProperty("id")
name.givenName               <- user.firstName
name.familyName              <- user.lastName
emails[type eq "work"].value <- String.toLowerCase(user.email)
enterprise:department        <- user.department
b44:role                     <- isMemberOfGroupName("admins") ? "admin" : "viewer"
                                one of "admin", "editor", "viewer"
b44:creditLimit              <- user.creditLimit
                                as integer, on create
"#;

const B44: &str = "urn:base44:params:scim:schemas:extension:user:2.0";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

fn okta_user(
    id: &str,
    status: &str,
    first: &str,
    last: &str,
    email: &str,
    dept: &str,
    groups: &[&str],
) -> Json {
    json!({"id": id, "status": status, "groups": groups,
           "profile": {"firstName": first, "lastName": last, "email": email, "login": email, "department": dept}})
}

fn export_v1() -> Json {
    let mut alice = okta_user(
        "00ua",
        "ACTIVE",
        "Alice",
        "Liddell",
        "Alice@Example.com",
        "Eng",
        &["admins"],
    );
    alice["profile"]["creditLimit"] = json!("100");
    json!([
        alice,
        okta_user(
            "00ub",
            "ACTIVE",
            "Bob",
            "Builder",
            "bob@example.com",
            "Ops",
            &[]
        ),
        okta_user(
            "00uc",
            "ACTIVE",
            "Zoë",
            "Çelik",
            "zoe@example.com",
            "Design",
            &[]
        ),
        okta_user(
            "00ud",
            "DEPROVISIONED",
            "Dave",
            "Gone",
            "dave@example.com",
            "Ops",
            &[]
        ),
    ])
}

/// A user exactly as scimsync writes it with MAPPING.
fn written(
    user_name: &str,
    external_id: &str,
    given: &str,
    family: &str,
    dept: &str,
    role: &str,
    credit: Option<i64>,
) -> Json {
    let mut b44 = json!({"role": role});
    if let Some(c) = credit {
        b44["creditLimit"] = json!(c);
    }
    json!({
        "schemas": [B44, CORE, ENTERPRISE], // sorted, as `contents` sorts them
        "userName": user_name,
        "externalId": external_id,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"type": "work", "value": user_name}],
        "active": true,
        ENTERPRISE: {"department": dept},
        B44: b44,
    })
}

/// Server state without server-assigned fields, `schemas` sorted, users sorted by userName.
fn contents(server: &ScimServer) -> Vec<Json> {
    server
        .user_contents()
        .into_iter()
        .map(support::sorted_schemas)
        .collect()
}

/// One planned change: action, userName, and (path, old, new) per attribute.
type PlannedChange = (String, String, Vec<(String, String, String)>);

/// The changes of a JSON plan, sorted.
fn plan_summary(plan: &Json) -> Vec<PlannedChange> {
    let mut out: Vec<_> = plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            let attributes = c["attributes"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|x| {
                            (
                                x["path"].as_str().unwrap().to_owned(),
                                x["old"].to_string(),
                                x["new"].to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            (
                c["action"].as_str().unwrap().to_owned(),
                c["userName"].as_str().unwrap().to_owned(),
                attributes,
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn sync_converges_and_touches_only_what_changed() {
    let server = ScimServer::start();
    let project = Project::new();
    project.write("test.map", MAPPING);
    let config = project.config(&server.url);
    let config = config.to_str().unwrap();
    let token = Some(server.token.as_str());

    // Another tool's user, and Bob, who already exists on the target.
    server.create(json!({"schemas": [CORE], "userName": "zed@example.com", "name": {"givenName": "Zed", "familyName": "Unmanaged"}}));
    server.create(json!({"schemas": [CORE], "userName": "bob@example.com", "name": {"givenName": "Bob", "familyName": "Old"}}));
    let zed_before = server
        .users()
        .into_iter()
        .find(|u| u["userName"] == "zed@example.com")
        .unwrap();
    let seeded = server.writes();
    assert_eq!(seeded, 2);

    // 1. Dry run: the plan, and nothing written.
    project.write("users.json", &export_v1().to_string());
    let dry = scimsync(&["sync", "--config", config, "--dry-run"], token);
    assert_eq!(dry.code, 0, "{}", dry.all_output());
    insta::assert_snapshot!("first_dry_run", dry.stdout);
    assert_eq!(server.writes(), seeded, "a dry run must not write");

    // 2. Apply: exactly these resources; Bob is adopted and brought in line.
    let run = scimsync(&["sync", "--config", config], token);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(
        run.stdout
            .ends_with("Applied: 2 created, 1 updated, 0 reactivated, 0 deactivated; 0 failed.\n"),
        "{}",
        run.stdout
    );
    let mut bob = written(
        "bob@example.com",
        "00ub",
        "Bob",
        "Builder",
        "Ops",
        "viewer",
        None,
    );
    bob.as_object_mut().unwrap().remove("active"); // adopted, never created: active was not sent
    assert_eq!(
        contents(&server),
        vec![
            written(
                "alice@example.com",
                "00ua",
                "Alice",
                "Liddell",
                "Eng",
                "admin",
                Some(100)
            ),
            bob,
            json!({"schemas": [CORE], "userName": "zed@example.com", "name": {"givenName": "Zed", "familyName": "Unmanaged"}}),
            written(
                "zoe@example.com",
                "00uc",
                "Zoë",
                "Çelik",
                "Design",
                "viewer",
                None
            ),
        ]
    );
    let after_first = server.writes();
    // scim2-server advertises bulk: the writes go together (bulk = "auto", the default).
    assert_eq!(
        after_first - seeded,
        1,
        "2 creates and 1 update, in one /Bulk request"
    );
    assert!(last_write_is_bulk(&server));

    // 3. A second sync sends zero writes.
    let again = scimsync(&["sync", "--config", config], token);
    assert_eq!(again.code, 0, "{}", again.all_output());
    assert_eq!(
        again.stdout,
        "No changes: the target is up to date.\nPlan: 0 to create, 0 to update, 0 to reactivate, 0 to deactivate; 3 unchanged, 0 skipped.\nApplied: 0 created, 0 updated, 0 reactivated, 0 deactivated; 0 failed.\n"
    );
    assert_eq!(server.writes(), after_first, "a no-op sync must not write");

    // 4. Bob renamed, Alice no longer admin, Zoë removed, Erin new.
    let mut v2 = export_v1();
    v2[0]["groups"] = json!([]);
    v2[1]["profile"]["lastName"] = json!("Baumeister");
    v2.as_array_mut().unwrap().remove(2);
    v2.as_array_mut().unwrap().push(okta_user(
        "00ue",
        "ACTIVE",
        "Erin",
        "Ng",
        "erin@example.com",
        "Eng",
        &[],
    ));
    project.write("users.json", &v2.to_string());
    let dry = scimsync(
        &["sync", "--config", config, "--dry-run", "--output", "json"],
        token,
    );
    assert_eq!(dry.code, 0, "{}", dry.all_output());
    let plan: Json = serde_json::from_str(&dry.stdout).expect("JSON plan");
    assert_eq!(
        plan["summary"],
        json!({"create": 1, "update": 2, "reactivate": 0, "deactivate": 1, "delete": 0, "unchanged": 0, "skipped": 0})
    );
    let s = |x: &str| x.to_owned();
    assert_eq!(
        plan_summary(&plan),
        vec![
            (
                s("create"),
                s("erin@example.com"),
                vec![
                    (s("userName"), s("null"), s("\"erin@example.com\"")),
                    (s("externalId"), s("null"), s("\"00ue\"")),
                    (s("name.givenName"), s("null"), s("\"Erin\"")),
                    (s("name.familyName"), s("null"), s("\"Ng\"")),
                    (
                        s("emails[type eq \"work\"].value"),
                        s("null"),
                        s("\"erin@example.com\"")
                    ),
                    (format!("{ENTERPRISE}:department"), s("null"), s("\"Eng\"")),
                    (format!("{B44}:role"), s("null"), s("\"viewer\"")),
                ]
            ),
            (
                s("deactivate"),
                s("zoe@example.com"),
                vec![(s("active"), s("true"), s("false"))]
            ),
            (
                s("update"),
                s("alice@example.com"),
                vec![(format!("{B44}:role"), s("\"admin\""), s("\"viewer\""))]
            ),
            (
                s("update"),
                s("bob@example.com"),
                vec![(s("name.familyName"), s("\"Builder\""), s("\"Baumeister\""))]
            ),
        ]
    );
    assert_eq!(server.writes(), after_first, "a dry run must not write");

    let run = scimsync(&["sync", "--config", config], token);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(
        server.writes(),
        after_first + 1,
        "the four changes, in one /Bulk request"
    );
    assert!(last_write_is_bulk(&server));
    let mut zoe = written(
        "zoe@example.com",
        "00uc",
        "Zoë",
        "Çelik",
        "Design",
        "viewer",
        None,
    );
    zoe["active"] = json!(false);
    let mut bob = written(
        "bob@example.com",
        "00ub",
        "Bob",
        "Baumeister",
        "Ops",
        "viewer",
        None,
    );
    bob.as_object_mut().unwrap().remove("active");
    let after = contents(&server);
    assert_eq!(
        after,
        vec![
            written(
                "alice@example.com",
                "00ua",
                "Alice",
                "Liddell",
                "Eng",
                "viewer",
                Some(100)
            ),
            bob,
            written(
                "erin@example.com",
                "00ue",
                "Erin",
                "Ng",
                "Eng",
                "viewer",
                None
            ),
            json!({"schemas": [CORE], "userName": "zed@example.com", "name": {"givenName": "Zed", "familyName": "Unmanaged"}}),
            zoe,
        ]
    );
    let zed_after = server
        .users()
        .into_iter()
        .find(|u| u["userName"] == "zed@example.com")
        .unwrap();
    assert_eq!(
        zed_after, zed_before,
        "the unmanaged user is untouched, meta included"
    );

    // 5. Zoë returns: the same target user is reactivated, not created again.
    let mut v3 = v2.clone();
    v3.as_array_mut().unwrap().push(export_v1()[2].clone());
    project.write("users.json", &v3.to_string());
    let run = scimsync(&["sync", "--config", config], token);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(
        run.stdout
            .starts_with("~ reactivate zoe@example.com: active\n"),
        "{}",
        run.stdout
    );
    let zoe_now: Vec<Json> = contents(&server)
        .into_iter()
        .filter(|u| u["userName"] == "zoe@example.com")
        .collect();
    assert_eq!(
        zoe_now,
        vec![written(
            "zoe@example.com",
            "00uc",
            "Zoë",
            "Çelik",
            "Design",
            "viewer",
            None
        )]
    );
}

/// Whether the server's latest write was a `POST /Bulk`.
fn last_write_is_bulk(server: &ScimServer) -> bool {
    server
        .requests()
        .iter()
        .rev()
        .find(|r| r.method != "GET")
        .is_some_and(|r| r.method == "POST" && r.path.ends_with("/Bulk"))
}
