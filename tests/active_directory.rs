//! The LDAP source against a real Active Directory: Samba's AD DC on 127.0.0.1
//! (tests/peers/samba-ad.sh), provisioned once for this test binary and seeded by
//! tests/peers/gen-ad-ldif.py with 2,000 users (non-ASCII names, disabled and expired
//! accounts), a group over 1,500 members, nested groups with a cycle and a distribution group.
//!
//! Every user and group is compared with what the generator says a correct reader sees.
//! Samba keeps `ldap server require strong auth` at its default, as a hardened AD does: simple
//! binds only over TLS (ldaps:// or StartTLS with the test CA).
//!
//! Samba enforces neither AD's MaxValRange (1,500 values per read of an attribute) nor its
//! MaxPageSize (1,000), and its global catalog returns every attribute: ranged retrieval stays
//! tested by the stand-in server in tests/ldap_source.rs (`range_server`).
//!
//! Only the directory-change test writes to the directory, and only under OU=Day, which no
//! other test reads.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use chrono::Utc;
use serde_json::Value as Json;

use scimsync_lang::record::Record;
use scimsync_lang::value::Value;
use scimsync_source::{Directory, Projection};
use support::ad::{BASE_DN, DAY_DN, GROUPS_DN, STAFF_DN, SambaAd, USERS, dc};
use support::ldap::source_config as config;
use support::{Project, ScimServer, scimsync};

fn read(toml_text: &str, projection: &Projection) -> Result<Directory, String> {
    scimsync_source::load_directory(&config(toml_text), projection, Utc::now())
        .map_err(|e| e.to_string())
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

/// Each user by sAMAccountName.
fn by_sam(directory: &Directory) -> BTreeMap<String, &Record> {
    directory
        .users
        .iter()
        .map(|u| (text(u.get("sAMAccountName")).expect("sAMAccountName"), u))
        .collect()
}

fn sorted(names: &[String]) -> Vec<String> {
    let mut names = names.to_vec();
    names.sort();
    names
}

fn strings(value: &Json) -> Vec<String> {
    value
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v.as_str().expect("string").to_owned())
        .collect()
}

const GROUPS_DIRECT: &str = "[source.groups]\nmembership = \"member_of\"\nbase_dn = \"OU=Groups,OU=Corp,DC=corp,DC=example,DC=test\"\nnesting = \"direct\"";

/// `(GUID, SID)` of each entry under `base`, as Samba renders them in an extended DN
/// (`<GUID=…>;<SID=…>;CN=…`): AD's own string forms, to compare ours with.
fn extended_dns(ad: &SambaAd, base: &str) -> BTreeMap<String, (String, String)> {
    let ldif = ad.ldapsearch(&[
        // LDAP_SERVER_EXTENDED_DN_OID, critical, value SEQUENCE { INTEGER 1 }: string form.
        "-E",
        "!1.2.840.113556.1.4.529=::MAMCAQE=",
        "-b",
        base,
        support::ad::USER_FILTER,
        "1.1",
    ]);
    let engine = base64::engine::general_purpose::STANDARD;
    ldif.lines()
        .filter_map(|line| {
            if let Some(encoded) = line.strip_prefix("dn:: ") {
                Some(String::from_utf8(engine.decode(encoded).expect("base64")).expect("UTF-8"))
            } else {
                line.strip_prefix("dn: ").map(str::to_owned)
            }
        })
        .map(|extended| {
            let mut parts = extended.splitn(3, ';');
            let guid = parts.next().expect("GUID part");
            let sid = parts.next().expect("SID part");
            let dn = parts.next().expect("DN part");
            let inner = |part: &str, tag: &str| {
                part.strip_prefix(tag)
                    .and_then(|p| p.strip_suffix('>'))
                    .expect("extended DN component")
                    .to_owned()
            };
            (dn.to_owned(), (inner(guid, "<GUID="), inner(sid, "<SID=")))
        })
        .collect()
}

#[test]
fn every_user_is_read_exactly_with_guid_identity_sid_status_expiry_and_direct_groups() {
    let ad = dc();
    let expected = ad.expected();
    let toml = ad.source_toml(ad.ldaps_url(), STAFF_DN, GROUPS_DIRECT);
    let directory = read(&toml, &Projection::everything()).unwrap();
    let users = by_sam(&directory);
    let wanted = expected["users"].as_object().expect("users");
    assert_eq!(directory.users.len(), USERS);
    assert_eq!(
        users.keys().collect::<BTreeSet<_>>(),
        wanted.keys().collect::<BTreeSet<_>>()
    );
    let identities = extended_dns(ad, STAFF_DN);
    assert_eq!(identities.len(), USERS);
    for (sam, want) in wanted {
        let user = users[sam];
        let dn = want["dn"].as_str().expect("dn");
        assert_eq!(text(user.get("dn")).as_deref(), Some(dn), "{sam}");
        for (name, value) in want["attributes"].as_object().expect("attributes") {
            if name == "accountExpires" {
                continue;
            }
            assert_eq!(
                text(user.get(name)).as_deref(),
                value.as_str(),
                "{sam} {name}"
            );
        }
        if want["attributes"].get("mail").is_none() {
            assert_eq!(user.get("mail"), &Value::Null, "{sam} has no mail");
        }
        assert_eq!(user.active, want["active"].as_bool().unwrap(), "{sam}");
        assert_eq!(sorted(&user.groups), strings(&want["direct"]), "{sam}");
        // The identity is the objectGUID, and the SID is rendered, as AD renders them.
        let (guid, sid) = &identities[dn];
        assert_eq!(&user.id, guid, "{sam}");
        assert_eq!(text(user.get("objectGUID")).as_ref(), Some(guid), "{sam}");
        assert_eq!(text(user.get("objectSid")).as_ref(), Some(sid), "{sam}");
        assert!(sid.starts_with("S-1-5-21-"), "{sid}");
    }
    // accountExpires: a date for an expiry, null for never (0 or the largest FILETIME).
    let expires = |sam: &str| users[sam].get("accountExpires").clone();
    let sam_of = |i: u64| {
        wanted
            .iter()
            .find(|(_, u)| u["attributes"]["employeeID"] == format!("E{i:06}"))
            .map(|(sam, _)| sam.clone())
            .expect("user")
    };
    assert_eq!(expires(&sam_of(9)), Value::from("2020-01-01T00:00:00Z"));
    assert!(!users[sam_of(9).as_str()].active, "expired in 2020");
    assert_eq!(expires(&sam_of(10)), Value::from("2100-01-01T00:00:00Z"));
    assert!(users[sam_of(10).as_str()].active, "expires in 2100");
    assert_eq!(expires(&sam_of(11)), Value::Null);
    assert_eq!(expires(&sam_of(12)), Value::Null);
    // userAccountControl 66050 (disabled, password never expires) and 66048 (enabled).
    assert!(!users[sam_of(7).as_str()].active);
    assert!(users[sam_of(8).as_str()].active);
    let inactive = directory.users.iter().filter(|u| !u.active).count();
    let wanted_inactive = wanted.values().filter(|u| u["active"] == false).count();
    assert_eq!(inactive, wanted_inactive);
    assert_eq!(inactive, 42, "40 with 514, one 66050, one expired");

    // Every group, with its direct user members and the groups nested in it.
    let groups: BTreeMap<&str, &scimsync_source::Group> = directory
        .groups
        .iter()
        .map(|g| (g.name.as_str(), g))
        .collect();
    let wanted_groups = expected["groups"].as_object().expect("groups");
    assert_eq!(
        groups.keys().copied().collect::<BTreeSet<_>>(),
        wanted_groups.keys().map(String::as_str).collect()
    );
    for (name, want) in wanted_groups {
        assert_eq!(
            groups[name.as_str()].members.len() as u64,
            want["direct_users"].as_u64().unwrap(),
            "{name}"
        );
    }
    assert!(groups["All Staff"].members.len() > 1500);
    assert_eq!(groups["Engineering"].member_groups.len(), 3);
    assert_eq!(
        groups["Cycle A"].member_groups,
        [groups["Cycle B"].id.clone()]
    );
    assert_eq!(
        groups["Cycle B"].member_groups,
        [groups["Cycle A"].id.clone()]
    );
}

#[test]
fn flattened_groups_agree_through_member_of_and_through_search() {
    let ad = dc();
    let expected = ad.expected();
    let wanted = expected["users"].as_object().expect("users");
    for membership in ["member_of", "search"] {
        let toml = ad.source_toml(
            ad.ldaps_url(),
            STAFF_DN,
            &format!(
                "[source.groups]\nmembership = \"{membership}\"\nbase_dn = \"{GROUPS_DN}\"\nnesting = \"flatten\""
            ),
        );
        let directory = read(
            &toml,
            &Projection::only(["sAMAccountName".to_owned()], true),
        )
        .unwrap();
        let users = by_sam(&directory);
        assert_eq!(users.len(), USERS, "{membership}");
        for (sam, want) in wanted {
            assert_eq!(
                sorted(&users[sam].groups),
                strings(&want["flat"]),
                "{membership} {sam}"
            );
        }
        for group in &directory.groups {
            let want = &expected["groups"][&group.name];
            assert_eq!(
                group.members.len() as u64,
                want["flat_users"].as_u64().unwrap(),
                "{membership} {}",
                group.name
            );
        }
        let cycle: Vec<&scimsync_source::Group> = directory
            .groups
            .iter()
            .filter(|g| g.name.starts_with("Cycle"))
            .collect();
        assert_eq!(cycle.len(), 2);
        assert!(cycle.iter().all(|g| g.members.len() == 2), "{membership}");
    }
}

#[test]
fn pages_of_1000_and_of_500_deliver_every_user() {
    let ad = dc();
    let expected = ad.expected();
    let wanted: BTreeSet<&String> = expected["users"]
        .as_object()
        .expect("users")
        .keys()
        .collect();
    for page_size in [1000, 500] {
        let toml = ad.source_toml(
            ad.ldaps_url(),
            STAFF_DN,
            &format!("page_size = {page_size}"),
        );
        let directory = read(
            &toml,
            &Projection::only(["sAMAccountName".to_owned()], false),
        )
        .unwrap();
        assert_eq!(directory.users.len(), USERS, "page_size {page_size}");
        assert_eq!(
            by_sam(&directory).keys().collect::<BTreeSet<_>>(),
            wanted,
            "page_size {page_size}"
        );
        // The server really answered in pages of that size (scimsync logs the count at -vv).
        let project = offline_project(ad);
        let config = std::fs::read_to_string(project.path("scimsync.toml")).unwrap();
        project.write(
            "scimsync.toml",
            &config.replace("page_size = 1000", &format!("page_size = {page_size}")),
        );
        let config = project.path("scimsync.toml").display().to_string();
        let run = scimsync(
            &["-vv", "explain", "--config", &config, "--user", "zoë0001"],
            None,
        );
        assert_eq!(run.code, 0, "{}", run.all_output());
        // Full pages, then the empty one with which Samba ends a result that fills its last
        // page exactly.
        let pages = USERS / page_size + 1;
        assert!(
            run.stderr.contains(&format!(
                "search complete what=\"users\" entries={USERS} pages={pages}"
            )),
            "{}",
            run.stderr
        );
    }
}

/// The first nine users, found from the domain root, where AD refers the search on to its
/// Configuration and DNS partitions.
const FIRST_NINE: &str =
    "filter = \"(&(objectCategory=person)(objectClass=user)(employeeID=E00000*))\"";

#[test]
fn referrals_from_the_domain_root_fail_or_are_ignored_as_configured() {
    let ad = dc();
    let fail = ad.source_toml(ad.ldaps_url(), BASE_DN, "").replace(
        "filter = \"(&(objectCategory=person)(objectClass=user))\"",
        FIRST_NINE,
    );
    let error = read(&fail, &Projection::everything()).unwrap_err();
    assert!(
        error.starts_with(&format!(
            "LDAP search for users under {BASE_DN} failed: the server referred part of the search to ldaps://corp.example.test/"
        )),
        "{error}"
    );
    assert!(
        error.ends_with("point base_dn at the partition that holds the users, or set referrals = \"ignore\" if the referred partitions hold none"),
        "{error}"
    );
    let ignore = fail.replace("[source]\n", "[source]\nreferrals = \"ignore\"\n");
    let directory = read(&ignore, &Projection::everything()).unwrap();
    let mut ids: Vec<String> = directory
        .users
        .iter()
        .map(|u| text(u.get("employeeID")).expect("employeeID"))
        .collect();
    ids.sort();
    assert_eq!(ids, (1..=9).map(|i| format!("E{i:06}")).collect::<Vec<_>>());
}

#[test]
fn ldaps_and_starttls_verify_the_test_ca_and_a_plain_bind_is_refused_with_the_remedy() {
    let ad = dc();
    let first_nine = |toml: String| {
        toml.replace(
            "filter = \"(&(objectCategory=person)(objectClass=user))\"",
            FIRST_NINE,
        )
    };
    let projection = Projection::only(["employeeID".to_owned()], false);
    let ldaps = read(
        &first_nine(ad.source_toml(ad.ldaps_url(), STAFF_DN, "")),
        &projection,
    )
    .unwrap();
    assert_eq!(ldaps.users.len(), 9);
    let starttls = read(
        &first_nine(ad.source_toml(ad.ldap_url(), STAFF_DN, "starttls = true")),
        &projection,
    )
    .unwrap();
    assert_eq!(starttls.users, ldaps.users);

    let plain = read(
        &first_nine(ad.source_toml(ad.ldap_url(), STAFF_DN, "")),
        &projection,
    )
    .unwrap_err();
    assert_eq!(
        plain,
        format!(
            "LDAP bind as {} at ldap://127.0.0.1 failed: strongerAuthRequired (result code 8): BindSimple: Transport encryption required. The server accepts a password only over an encrypted connection: use an ldaps:// url or starttls = true",
            ad.bind_dn()
        )
    );

    // Without the test CA, the certificate is not trusted.
    let untrusted = ad
        .source_toml(ad.ldaps_url(), STAFF_DN, "")
        .replace(&format!("ca_file = \"{}\"\n", ad.ca_file().display()), "");
    let error = read(&untrusted, &projection).unwrap_err();
    assert!(
        error.starts_with("cannot connect to LDAP server ldaps://127.0.0.1: ")
            && error.contains("UnknownIssuer"),
        "{error}"
    );
}

const MAPPING: &str = r#"# Active Directory into SCIM
dialect okta
match userName

userName        <- user.userPrincipalName
externalId      <- user.getInternalProperty("id")
name.givenName  <- user.givenName
name.familyName <- user.sn
displayName     <- user.displayName

group "All Staff" as "All Staff"
group "Engineering" as "Engineering"
group "Day Crew" as "Day Crew"
"#;

/// A project syncing users under `base_dn` (groups under `groups_dn`, flattened) into `scim`.
fn project(ad: &SambaAd, url: &str, base_dn: &str, groups_dn: &str, scim_url: &str) -> Project {
    let project = Project::new();
    project.write("ad.map", MAPPING);
    let source = ad.source_toml(
        url,
        base_dn,
        &format!(
            "page_size = 1000\n\n[source.groups]\nmembership = \"member_of\"\nbase_dn = \"{groups_dn}\"\nnesting = \"flatten\""
        ),
    );
    project.write(
        "scimsync.toml",
        &format!(
            "mapping = \"ad.map\"\n\n{source}\n[target]\nurl = \"{scim_url}\"\ntoken_env = \"SCIMSYNC_TEST_TOKEN\"\n\n[state]\npath = \"state\"\n"
        ),
    );
    project
}

/// A project for commands that read the directory and never reach the target.
fn offline_project(ad: &SambaAd) -> Project {
    project(
        ad,
        ad.ldaps_url(),
        STAFF_DN,
        GROUPS_DN,
        "https://127.0.0.1:9/scim",
    )
}

fn sync(project: &Project, token: &str, extra: &[&str]) -> support::Run {
    let config = project.path("scimsync.toml").display().to_string();
    let mut args = vec!["sync", "--config", config.as_str()];
    args.extend_from_slice(extra);
    scimsync(&args, Some(token))
}

/// The userPrincipalNames of the expected users that `keep` keeps.
fn expected_upns(expected: &Json, keep: impl Fn(&Json) -> bool) -> BTreeSet<String> {
    expected["users"]
        .as_object()
        .expect("users")
        .values()
        .filter(|u| keep(u))
        .map(|u| {
            u["attributes"]["userPrincipalName"]
                .as_str()
                .expect("userPrincipalName")
                .to_owned()
        })
        .collect()
}

fn is_active(user: &Json) -> bool {
    user["active"] == true
}

/// Whether the expected user is in `group`, nested groups flattened.
fn in_group(user: &Json, group: &str) -> bool {
    strings(&user["flat"]).iter().any(|g| g == group)
}

#[test]
fn the_directory_syncs_into_scim2_server_with_flattened_groups_and_counted_member_skips() {
    let ad = dc();
    let expected = ad.expected();
    let scim = ScimServer::start();
    let project = project(ad, ad.ldaps_url(), STAFF_DN, GROUPS_DN, &scim.url);

    // Disabled members of a pushed group are counted per group; -v lists each.
    let inactive_staff =
        expected_upns(&expected, |u| !is_active(u) && in_group(u, "All Staff")).len();
    let inactive_engineers =
        expected_upns(&expected, |u| !is_active(u) && in_group(u, "Engineering")).len();
    let dry = sync(&project, &scim.token, &["--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.all_output());
    let skips: Vec<&str> = dry
        .stdout
        .lines()
        .filter(|l| l.starts_with("! skip"))
        .collect();
    assert_eq!(
        skips,
        [
            format!(
                "! skip {inactive_staff} members of group All Staff: the user is inactive (-v lists them)"
            ),
            format!(
                "! skip {inactive_engineers} members of group Engineering: the user is inactive (-v lists them)"
            )
        ]
    );
    let listed = sync(&project, &scim.token, &["--dry-run", "-v"]);
    let each = listed
        .stdout
        .lines()
        .filter(|l| {
            l.starts_with("! skip member ")
                && l.contains(" of group All Staff: the user is inactive")
        })
        .count();
    assert_eq!(each, inactive_staff);

    let run = sync(&project, &scim.token, &[]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let active = expected_upns(&expected, is_active);
    assert!(
        run.stdout.contains(&format!(
            "Applied: {} created, 0 updated, 0 reactivated, 0 deactivated; 0 failed.",
            active.len()
        )),
        "{}",
        run.stdout
    );
    let users = scim.all_users();
    let names: BTreeSet<String> = users
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, active);
    let zoe = users
        .iter()
        .find(|u| u["userName"] == "zoë0001@corp.example.test")
        .expect("zoë0001");
    assert_eq!(zoe["name"]["givenName"], "Zoë");
    assert_eq!(zoe["displayName"], "Zoë Björk");
    let groups = scim.groups_by_user_name();
    for (group, members) in &groups {
        let members: BTreeSet<String> = members.iter().cloned().collect();
        assert_eq!(
            members,
            expected_upns(&expected, |u| is_active(u) && in_group(u, group)),
            "{group}"
        );
    }
    assert_eq!(groups.len(), 2);

    let writes = scim.writes();
    let again = sync(&project, &scim.token, &[]);
    assert_eq!(again.code, 0, "{}", again.all_output());
    assert_eq!(
        scim.writes(),
        writes,
        "an unchanged directory writes nothing"
    );
}

/// A plan's lines grouped into blocks (a change and its indented attributes), each member
/// list sorted, the blocks sorted: users and members come in the directory's order.
fn plan_blocks(plan: &str) -> Vec<Vec<String>> {
    let mut blocks: Vec<Vec<String>> = Vec::new();
    for line in plan.lines() {
        let line = match line.split_once(" member(s): ") {
            Some((head, names)) => {
                let mut names: Vec<&str> = names.split(", ").collect();
                names.sort_unstable();
                format!("{head} member(s): {}", names.join(", "))
            }
            None => line.to_owned(),
        };
        match blocks.last_mut() {
            Some(block) if line.starts_with("    ") => block.push(line),
            _ => blocks.push(vec![line]),
        }
    }
    blocks.sort();
    blocks
}

#[test]
fn a_day_of_directory_changes_is_synced_as_it_happens() {
    let ad = dc();
    let scim = ScimServer::start();
    let project = project(ad, ad.ldaps_url(), DAY_DN, DAY_DN, &scim.url);
    let upn = |n: u32| format!("day{n:02}@corp.example.test");
    let state = |scim: &ScimServer| -> Vec<(String, String, bool)> {
        scim.users()
            .iter()
            .map(|u| {
                (
                    u["userName"].as_str().unwrap().to_owned(),
                    u["name"]["familyName"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    u["active"].as_bool().unwrap_or(false),
                )
            })
            .collect()
    };
    let crew = |scim: &ScimServer| -> Vec<String> {
        scim.groups_by_user_name()
            .into_iter()
            .find(|(name, _)| name == "Day Crew")
            .map(|(_, members)| members)
            .unwrap_or_default()
    };

    let first = sync(&project, &scim.token, &[]);
    assert_eq!(first.code, 0, "{}", first.all_output());
    let row = |n: u32, family: &str, active: bool| (upn(n), family.to_owned(), active);
    assert_eq!(
        state(&scim),
        [
            row(1, "User 01", true),
            row(2, "User 02", true),
            row(3, "User 03", true),
            row(4, "User 04", true),
            row(5, "User 05", true),
        ],
        "day06 is disabled: never created"
    );
    assert_eq!(crew(&scim), (1..=4).map(upn).collect::<Vec<_>>());
    let day04_id = scim.users()[3]["id"].clone();

    // The day: disable, expire, delete, rename, move to another OU, re-enable, nest a group.
    ad.modify(&format!(
        "dn: CN=Day User 01,OU=Team A,{DAY_DN}\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 514\n\n\
         dn: CN=Day User 02,OU=Team A,{DAY_DN}\nchangetype: modify\nreplace: accountExpires\naccountExpires: 131000000000000000\n\n\
         dn: CN=Day User 03,OU=Team A,{DAY_DN}\nchangetype: delete\n\n\
         dn: CN=Day User 04,OU=Team A,{DAY_DN}\nchangetype: modrdn\nnewrdn: CN=Dee Renamed\ndeleteoldrdn: 1\n\n\
         dn: CN=Dee Renamed,OU=Team A,{DAY_DN}\nchangetype: modify\nreplace: sn\nsn: Renamed\n\n\
         dn: CN=Day User 05,OU=Team A,{DAY_DN}\nchangetype: modrdn\nnewrdn: CN=Day User 05\ndeleteoldrdn: 1\nnewsuperior: OU=Team B,{DAY_DN}\n\n\
         dn: CN=Day User 06,OU=Team A,{DAY_DN}\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 512\n\n\
         dn: CN=Day Crew,{DAY_DN}\nchangetype: modify\nadd: member\nmember: CN=Day Leads,{DAY_DN}\n"
    ));
    let dry = sync(&project, &scim.token, &["--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.all_output());
    let day06 = &extended_dns(ad, DAY_DN)[&format!("CN=Day User 06,OU=Team A,{DAY_DN}")].0;
    // Day05 moved to Team B: nothing the mapping reads changed, so no write for it. The run
    // is incremental: the same plan as a full run, from reads of only these users.
    let (kind, plan) = dry.stdout.split_once('\n').unwrap();
    assert!(
        kind.starts_with("Run: incremental: last full run "),
        "{kind}"
    );
    assert_eq!(
        plan_blocks(plan),
        plan_blocks(&format!(
            "- deactivate day01@corp.example.test\n\
             - deactivate day02@corp.example.test\n\
             - deactivate day03@corp.example.test\n\
             ~ update day04@corp.example.test\n    name.familyName: \"User 04\" -> \"Renamed\"\n\
             + create day06@corp.example.test\n    userName: \"day06@corp.example.test\"\n    externalId: \"{day06}\"\n    name.givenName: \"Day\"\n    name.familyName: \"User 06\"\n\
             Plan: 1 to create, 1 to update, 0 to reactivate, 3 to deactivate; 1 unchanged, 0 skipped.\n\
             ~ group Day Crew: add 1 member(s): day05@corp.example.test\n\
             ~ group Day Crew: remove 3 member(s): day01@corp.example.test, day02@corp.example.test, day03@corp.example.test\n\
             ! skip 2 members of group Day Crew: the user is inactive (-v lists them)\n\
             Groups: 0 to create, 0 to update, 2 membership change(s), 0 to delete; 0 unchanged.\n"
        ))
    );

    let day = sync(&project, &scim.token, &[]);
    assert_eq!(day.code, 0, "{}", day.all_output());
    assert_eq!(
        state(&scim),
        [
            row(1, "User 01", false),
            row(2, "User 02", false),
            row(3, "User 03", false),
            row(4, "Renamed", true),
            row(5, "User 05", true),
            row(6, "User 06", true),
        ]
    );
    assert_eq!(scim.users()[3]["id"], day04_id, "a rename is an update");
    // Day Leads (day05) now nested in Day Crew; disabled, expired and deleted users left it.
    assert_eq!(crew(&scim), [upn(4), upn(5)]);

    let writes = scim.writes();
    let again = sync(&project, &scim.token, &[]);
    assert_eq!(again.code, 0, "{}", again.all_output());
    assert_eq!(
        scim.writes(),
        writes,
        "the day is synced: nothing more to write"
    );
}

#[test]
fn a_wrong_bind_password_fails_before_the_target_is_listed() {
    let ad = dc();
    let scim = ScimServer::start();
    let project = project(ad, ad.ldaps_url(), STAFF_DN, GROUPS_DN, &scim.url);
    let wrong = project.write("wrong.password", "not-the-password\n");
    let config = std::fs::read_to_string(project.path("scimsync.toml")).unwrap();
    project.write(
        "scimsync.toml",
        &config.replace(
            &ad.bind_password_file().display().to_string(),
            &wrong.display().to_string(),
        ),
    );
    let run = sync(&project, &scim.token, &[]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(
        run.stderr.ends_with(&format!(
            "error: LDAP bind as {} at ldaps://127.0.0.1 failed: invalidCredentials (result code 49): 80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 52e, v1db1\n",
            ad.bind_dn()
        )),
        "{}",
        run.stderr
    );
    // The harness's readiness probe aside, the target heard nothing: not even a listing.
    let requests: Vec<support::Logged> = scim
        .requests()
        .into_iter()
        .filter(|r| r.path != "/v2/ServiceProviderConfig")
        .collect();
    assert_eq!(requests, [], "the target is not even listed");
}

#[test]
fn explain_finds_ad_users_by_sam_account_name_and_upn_with_unicode_case_folding() {
    let ad = dc();
    let project = offline_project(ad);
    let config = project.path("scimsync.toml").display().to_string();
    let guid = extended_dns(ad, STAFF_DN)[&format!("CN=Zoë Björk 0001,OU=Engineering,{STAFF_DN}")]
        .0
        .clone();
    for wanted in [
        "ZOË0001",
        "ZOË0001@CORP.EXAMPLE.TEST",
        "zoë0001",
        guid.as_str(),
    ] {
        let run = scimsync(&["explain", "--config", &config, "--user", wanted], None);
        assert_eq!(run.code, 0, "{wanted}: {}", run.all_output());
        assert!(
            run.stdout
                .starts_with(&format!("user {guid} (zoë0001@corp.example.test): ")),
            "{wanted}: {}",
            run.stdout
        );
    }
    // The userName the mapping makes, though no source attribute holds it.
    project.write(
        "ad.map",
        &MAPPING.replace(
            "userName        <- user.userPrincipalName",
            "userName        <- user.employeeID + \"@hr.example.test\"",
        ),
    );
    let mapped = scimsync(
        &[
            "explain",
            "--config",
            &config,
            "--user",
            "e000001@HR.EXAMPLE.TEST",
        ],
        None,
    );
    assert_eq!(mapped.code, 0, "{}", mapped.all_output());
    assert!(
        mapped
            .stdout
            .starts_with(&format!("user {guid} (zoë0001@corp.example.test): ")),
        "{}",
        mapped.stdout
    );
    let missing = scimsync(&["explain", "--config", &config, "--user", "ZOE0001"], None);
    assert_eq!(missing.code, 1);
    assert_eq!(
        missing.stderr,
        format!("error: no user `ZOE0001` in {config}\n")
    );
}

#[test]
fn a_global_catalog_read_warns_about_the_attributes_it_does_not_hold() {
    let ad = dc();
    let scim = ScimServer::start();
    let project = project(ad, ad.gc_url(), STAFF_DN, GROUPS_DN, &scim.url);
    project.write("ad.map", &format!("{MAPPING}title <- user.title\n"));
    let run = sync(&project, &scim.token, &["--dry-run"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("global catalog"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    assert!(
        warnings[0].ends_with("ldaps://127.0.0.1:3269 is a global catalog: Active Directory does not replicate title, accountExpires to it, so they are absent there (without accountExpires an expired account looks active); read from the domain controller's port 636 (ldaps://) or 389 instead url=\"ldaps://127.0.0.1:3269\""),
        "{}",
        run.stderr
    );
    // Samba's global catalog holds every attribute (real AD's does not): the read is whole,
    // the expired account included.
    let active = expected_upns(&ad.expected(), is_active).len();
    assert!(
        run.stdout.contains(&format!(
            "Plan: {active} to create, 0 to update, 0 to reactivate, 0 to deactivate; 0 unchanged, 0 skipped."
        )),
        "{}",
        run.stdout
    );
}

#[test]
fn a_member_attribute_with_a_range_option_is_refused() {
    let ad = dc();
    let project = offline_project(ad);
    let config = std::fs::read_to_string(project.path("scimsync.toml")).unwrap();
    project.write(
        "scimsync.toml",
        &config.replace(
            "membership = \"member_of\"",
            "membership = \"search\"\nmember_attribute = \"member;range=0-1499\"",
        ),
    );
    let run = sync(&project, "token", &["--dry-run"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.ends_with("[source.groups] member_attribute `member;range=0-1499`: give the attribute name alone (`member`); options such as `;range=0-1499` are not allowed (scimsync asks for a large attribute's ranges itself)\n"),
        "{}",
        run.stderr
    );
}
