//! JSON exports from the fixture files in tests/fixtures/exports: Okta (with a groups export
//! and app users), Microsoft Graph (wrapped and bare, role values from the service
//! principal), JSON Lines, and malformed files whose errors name the file, record and line.

use crate::support;

use scimsync_lang::value::Value;
use scimsync_source::SourceConfig;
use scimsync_source::{Directory, Projection};

fn fixture(name: &str) -> String {
    support::repo()
        .join("tests/fixtures/exports")
        .join(name)
        .display()
        .to_string()
}

fn config(keys: &str) -> SourceConfig {
    #[derive(serde::Deserialize)]
    struct Wrapper {
        source: SourceConfig,
    }
    toml::from_str::<Wrapper>(&format!("[source]\nkind = \"json\"\n{keys}\n"))
        .expect("valid [source]")
        .source
}

fn read(keys: &str) -> Result<Directory, String> {
    scimsync_source::load_directory(&config(keys), &Projection::everything(), chrono::Utc::now())
        .map_err(|e| e.to_string())
}

#[test]
fn okta_users_with_a_groups_export() {
    let d = read(&format!(
        "path = \"{}\"\ngroups_path = \"{}\"",
        fixture("okta-users.json"),
        fixture("okta-groups.json")
    ))
    .unwrap();
    let summary: Vec<(&str, bool, Vec<String>)> = d
        .users
        .iter()
        .map(|u| (u.id.as_str(), u.active, u.groups.clone()))
        .collect();
    assert_eq!(
        summary,
        [
            (
                "00u1",
                true,
                vec!["Base44 Admins".to_owned(), "Engineering".to_owned()]
            ),
            ("00u2", false, vec![]),
            (
                "00u3",
                true,
                vec!["Contractors".to_owned(), "Engineering".to_owned()]
            ),
        ]
    );
    assert_eq!(d.users[0].get("firstName"), &Value::from("Zoë"));
    let groups: Vec<(&str, &str, Vec<String>)> = d
        .groups
        .iter()
        .map(|g| (g.id.as_str(), g.name.as_str(), g.members.clone()))
        .collect();
    assert_eq!(
        groups,
        [
            (
                "00g1",
                "Engineering",
                vec!["00u1".to_owned(), "00u3".to_owned()]
            ),
            ("00g2", "Base44 Admins", vec!["00u1".to_owned()]),
        ]
    );
    assert_eq!(
        d.groups[0].attrs.get("description"),
        Some(&Value::from("Everyone who ships"))
    );
}

#[test]
fn okta_app_users_carry_their_app_profile() {
    let d = read(&format!("path = \"{}\"", fixture("okta-app-users.json"))).unwrap();
    assert_eq!(d.users[0].id, "00u1");
    assert_eq!(d.users[0].get("login"), &Value::from("zoe@example.com"));
    assert_eq!(d.users[0].get("appuser.role"), &Value::from("admin"));
}

#[test]
fn graph_users_wrapped_and_bare() {
    let d = read(&format!(
        "path = \"{}\"\nformat = \"graph\"\nservice_principal_path = \"{}\"",
        fixture("graph-users.json"),
        fixture("graph-service-principal.json")
    ))
    .unwrap();
    let zoe = &d.users[0];
    assert_eq!(zoe.id, "5a8c4f0e-1d2b-4c3a-9e8f-000000000001");
    assert!(zoe.active);
    assert_eq!(
        zoe.get("userPrincipalName"),
        &Value::from("zoe@contoso.onmicrosoft.com")
    );
    assert_eq!(zoe.get("extensionAttribute1"), &Value::from("E-1001"));
    assert_eq!(
        zoe.get("extensionAttribute15"),
        &Value::from("cost-center-7")
    );
    assert_eq!(zoe.groups, ["Engineering"]);
    assert_eq!(
        zoe.get("appRoleAssignments"),
        &Value::List(vec![Value::from("admin")])
    );
    assert!(!d.users[1].active);
    assert_eq!(d.users[1].get("appRoleAssignments"), &Value::List(vec![]));
    assert_eq!(d.groups.len(), 1);
    assert_eq!(
        (d.groups[0].id.as_str(), d.groups[0].name.as_str()),
        ("g-eng", "Engineering")
    );

    // Auto-detected from userPrincipalName, bare array.
    let bare = read(&format!("path = \"{}\"", fixture("graph-users-bare.json"))).unwrap();
    assert_eq!(
        bare.users[0].get("userPrincipalName"),
        &Value::from("sam@contoso.onmicrosoft.com")
    );
}

#[test]
fn role_values_feed_single_app_role_assignment() {
    let d = read(&format!(
        "path = \"{}\"\nservice_principal_path = \"{}\"",
        fixture("graph-users.json"),
        fixture("graph-service-principal.json")
    ))
    .unwrap();
    let plan = scimsync_lang::mapping::compile(&scimsync_lang::mapping::SourceFile::new(
        "t.map",
        "dialect entra\nextension b44 = \"urn:b:2.0\"\nuserName <- [userPrincipalName]\nb44:role <- SingleAppRoleAssignment([appRoleAssignments])\n",
    ))
    .expect("compiles");
    let env = scimsync_lang::mapping::Env::new(&d.users[0]);
    let scimsync_lang::mapping::Outcome::Mapped(mapped) = plan.evaluate(&d.users[0], &env).unwrap()
    else {
        panic!("in scope")
    };
    assert_eq!(mapped.values[1].value, Value::from("admin"));
}

#[test]
fn json_lines_stream_with_line_numbers() {
    let keys = format!("path = \"{}\"", fixture("users.jsonl"));
    let stream = scimsync_source::stream(&config(&keys)).unwrap();
    let users: Vec<_> = stream.collect::<Result<_, _>>().unwrap();
    assert_eq!(users.len(), 3);
    assert_eq!(users[0].groups, ["Engineering"]);
    assert!(!users[1].active);
    assert_eq!(users[2].get("address.city"), &Value::from("Zürich"));

    let bad = format!("path = \"{}\"", fixture("bad.jsonl"));
    let results: Vec<_> = scimsync_source::stream(&config(&bad)).unwrap().collect();
    assert_eq!(
        results.len(),
        3,
        "two records, then the error, then nothing"
    );
    let err = results[2].as_ref().unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "export {} is not valid JSON (line 3, column 40): record 2: key must be a string",
            fixture("bad.jsonl")
        )
    );
}

#[test]
fn malformed_exports_name_file_record_and_line() {
    let cases = [
        (
            "okta-missing-id.json",
            "export {}, record 1 (line 3): missing `id` (Okta user id)".to_owned(),
        ),
        (
            "okta-truncated.json",
            "export {} is not valid JSON (line 3): record 1: the file ends inside a string".to_owned(),
        ),
        (
            "okta-unknown-status.json",
            "export {}, record 1 (line 3): `status` \"WHATEVER\" is not an Okta user status (one of ACTIVE, STAGED, PROVISIONED, RECOVERY, PASSWORD_EXPIRED, LOCKED_OUT, SUSPENDED, DEPROVISIONED)".to_owned(),
        ),
        (
            "okta-duplicate-key.json",
            "export {}, record 1 (line 3): duplicate key `profile.email`".to_owned(),
        ),
        (
            "graph-one-page.json",
            "export {}: this is one page of a longer Graph list (`@odata.nextLink` is https://graph.microsoft.com/v1.0/users?$skiptoken=X); export every page into one file".to_owned(),
        ),
    ];
    for (file, expected) in cases {
        let err = read(&format!("path = \"{}\"", fixture(file))).unwrap_err();
        assert_eq!(err, expected.replace("{}", &fixture(file)), "{file}");
    }
    // A groups export is held to the same rule as the users it names.
    let err = read(&format!(
        "path = \"{}\"\ngroups_path = \"{}\"",
        fixture("okta-users.json"),
        fixture("groups-duplicate-key.json")
    ))
    .unwrap_err();
    assert_eq!(
        err,
        format!(
            "export {}, record 0 (line 2): duplicate key `members`",
            fixture("groups-duplicate-key.json")
        )
    );
    let err = read(&format!(
        "path = \"{}\"\nformat = \"graph\"",
        fixture("graph-users.json")
    ))
    .unwrap_err();
    assert!(
        err.contains("record 0 (line 4): appRoleAssignments[0] names role 1b4f816e-5eaf-48b9-8613-7923830595ad but not its value; set `service_principal_path`"),
        "{err}"
    );
}
