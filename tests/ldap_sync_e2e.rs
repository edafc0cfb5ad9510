//! `scimsync sync` from a real OpenLDAP slapd into a real SCIM server (scim2-server), both on
//! loopback: the exact users created, no writes on a second run, a disabled user never
//! created, and a rename (new DN, new mail) that is an update of the same SCIM user.

use crate::support;

use serde_json::Value as Json;
use support::ldap::{GROUPS, LdapServer};
use support::{Project, ScimServer, scimsync};

const MAPPING: &str = r#"# LDAP e2e mapping
dialect okta
extension b44 = "urn:base44:params:scim:schemas:extension:user:2.0"
match userName

userName        <- user.mail
externalId      <- user.getInternalProperty("id")
name.givenName  <- user.givenName
name.familyName <- user.sn
b44:role        <- isMemberOfGroupName("admins") ? "admin" : "viewer"
"#;

const B44: &str = "urn:base44:params:scim:schemas:extension:user:2.0";

fn write_config(project: &Project, ldap: &LdapServer, scim_url: &str) -> String {
    project.write("reader.password", "reader\n");
    project.write("test.map", MAPPING);
    project
        .write(
            "scimsync.toml",
            &format!(
                "mapping = \"test.map\"\n\n[source]\nkind = \"ldap\"\nurl = \"{}\"\nbind_dn = \"cn=reader,dc=example,dc=com\"\nbind_password_file = \"reader.password\"\nbase_dn = \"ou=people,dc=example,dc=com\"\nfilter = \"(objectClass=inetOrgPerson)\"\npage_size = 2\n\n[source.groups]\nbase_dn = \"{GROUPS}\"\n\n[target]\nurl = \"{scim_url}\"\ntoken_env = \"SCIMSYNC_TEST_TOKEN\"\n\n[state]\npath = \"state\"\n",
                ldap.url
            ),
        )
        .display()
        .to_string()
}

/// (userName, externalId, givenName, role, active) of every user on the server.
fn summary(server: &ScimServer) -> Vec<(String, String, String, String, bool)> {
    server
        .users()
        .iter()
        .map(|u| {
            (
                u["userName"].as_str().unwrap_or_default().to_owned(),
                u["externalId"].as_str().unwrap_or_default().to_owned(),
                u["name"]["givenName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                u[B44]["role"].as_str().unwrap_or_default().to_owned(),
                u["active"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

#[test]
fn ldap_users_sync_into_scim_and_a_rename_is_an_update() {
    let ldap = LdapServer::start(6, false);
    let scim = ScimServer::start();
    let project = Project::new();
    let config = write_config(&project, &ldap, &scim.url);
    let token = Some(scim.token.as_str());

    let run = scimsync(&["sync", "--config", &config], token);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(
        run.stdout
            .ends_with("Applied: 5 created, 0 updated, 0 reactivated, 0 deactivated; 0 failed.\n"),
        "{}",
        run.stdout
    );
    let users = summary(&scim);
    let names: Vec<&str> = users.iter().map(|u| u.0.as_str()).collect();
    // user0003 is disabled in the directory (shadowExpire): never created.
    assert_eq!(
        names,
        [
            "user0001@example.com",
            "user0002@example.com",
            "user0004@example.com",
            "user0005@example.com",
            "user0006@example.com"
        ]
    );
    assert_eq!(users[0].3, "admin", "user0001 is in the admins group");
    assert!(users.iter().all(|u| u.4));
    let ids: Vec<&str> = users.iter().map(|u| u.1.as_str()).collect();
    assert!(
        ids.iter().all(|id| id.len() == 36),
        "externalId is entryUUID: {ids:?}"
    );

    let writes = scim.writes();
    let again = scimsync(&["sync", "--config", &config], token);
    assert_eq!(again.code, 0, "{}", again.all_output());
    assert_eq!(
        scim.writes(),
        writes,
        "an unchanged directory writes nothing"
    );

    let before = scim
        .users()
        .into_iter()
        .find(|u| u["userName"] == "user0002@example.com")
        .expect("user0002");
    ldap.modify(
        "dn: uid=user0002,ou=people,dc=example,dc=com\nchangetype: modrdn\nnewrdn: uid=ada\ndeleteoldrdn: 1\n\ndn: uid=ada,ou=people,dc=example,dc=com\nchangetype: modify\nreplace: mail\nmail: ada@example.com\n",
    );
    let dry = scimsync(
        &["sync", "--config", &config, "--dry-run", "--output", "json"],
        token,
    );
    assert_eq!(dry.code, 0, "{}", dry.all_output());
    let plan: Json = serde_json::from_str(&dry.stdout).expect("JSON plan");
    let changes: Vec<(String, String)> = plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap_or_default().to_owned(),
                c["userName"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [("update".to_owned(), "ada@example.com".to_owned())]
    );

    let run = scimsync(&["sync", "--config", &config], token);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let after = scim
        .users()
        .into_iter()
        .find(|u| u["userName"] == "ada@example.com")
        .expect("renamed user");
    assert_eq!(after["id"], before["id"], "the same SCIM user, renamed");
    assert_eq!(after["externalId"], before["externalId"]);
    assert_eq!(scim.users().len(), 5);
}

/// `check --online` checks the source too: it binds and reads one page of users, so a wrong
/// bind password fails the check (it used to pass).
#[test]
fn check_online_binds_to_the_directory_and_reads_one_page() {
    let ldap = LdapServer::start(6, false);
    let scim = ScimServer::start();
    let project = Project::new();
    let config = write_config(&project, &ldap, &scim.url);
    let token = Some(scim.token.as_str());
    let check = || scimsync(&["check", "--config", &config, "--online"], token);

    let run = check();
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(
        run.stdout.ends_with(&format!(
            "source {}: bound as cn=reader,dc=example,dc=com, read 2 user(s) of the first page\n",
            ldap.url
        )),
        "{}",
        run.stdout
    );

    project.write("reader.password", "not-the-password\n");
    let run = check();
    assert_eq!(run.code, 1, "{}", run.all_output());
    let last = run.stdout.lines().last().unwrap_or_default().to_owned();
    assert!(
        last.starts_with(&format!(
            "source: error: LDAP bind as cn=reader,dc=example,dc=com at {} failed: ",
            ldap.url
        )) && last.contains("49"),
        "{}",
        run.stdout
    );
    assert!(!run.all_output().contains("not-the-password"));
}
