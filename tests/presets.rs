//! The shipped presets (`mappings/*.map`) against their fixtures.
//!
//! Each preset has `tests/presets/<preset>/users.json`, an export of varied users (Okta's List
//! Users shape for the Okta presets, Entra/Graph-like flat records for Entra, inetOrgPerson
//! records for the generic LDAP preset), and `expected.json`: the source attributes the plan
//! reads, the SCIM paths it writes, and what every user becomes, in export order: the exact
//! SCIM resource a sync would POST, or the reason the user is skipped, or that it is inactive
//! (never created) or out of scope.
//!
//! The resources come from the sync's own functions (`source::json::parse`,
//! `sync::desired::compute`, `sync::diff::diff` against an empty target), so what is asserted
//! here is what `scimsync sync` would send. After a deliberate change, regenerate the files
//! with `SCIMSYNC_UPDATE_EXPECTED=1 cargo test --test integration presets` and review the diff.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde_json::{Value as Json, json};

use scimsync::state::State;
use scimsync::sync::{desired, diff};
use scimsync_lang::mapping::{self, Plan, SourceFile};
use scimsync_source::json as export;
use scimsync_source::json::settings::JsonFormat;

/// A preset and the shape of its fixture export.
struct Preset {
    name: &'static str,
    format: JsonFormat,
    /// For plain exports: the field holding the user's stable identity.
    id_field: &'static str,
}

const PRESETS: &[Preset] = &[
    Preset {
        name: "base44-okta",
        format: JsonFormat::Okta,
        id_field: "id",
    },
    Preset {
        name: "base44-entra",
        format: JsonFormat::Plain,
        id_field: "objectId",
    },
    Preset {
        name: "appspace-okta",
        format: JsonFormat::Okta,
        id_field: "id",
    },
    Preset {
        name: "activepieces-okta",
        format: JsonFormat::Okta,
        id_field: "id",
    },
    Preset {
        name: "generic",
        format: JsonFormat::Plain,
        id_field: "entryUUID",
    },
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

fn compile(path: &Path) -> Plan {
    let text = std::fs::read_to_string(path).expect("read preset");
    // Named as in the repository, so messages are the same on every machine.
    let shown = path.strip_prefix(repo()).unwrap_or(path);
    let file = SourceFile::new(shown.display().to_string(), text);
    mapping::compile(&file).unwrap_or_else(|diagnostics| {
        panic!(
            "{} does not compile:\n{}",
            path.display(),
            mapping::render_all(&diagnostics, &file)
        )
    })
}

/// What a preset makes of its fixture export, as `expected.json` holds it.
fn outcomes(preset: &Preset) -> Json {
    let plan = compile(&repo().join(format!("mappings/{}.map", preset.name)));
    let export_path = repo().join(format!("tests/presets/{}/users.json", preset.name));
    let text = std::fs::read_to_string(&export_path).expect("read fixture export");
    let records = export::parse(&text, "users.json", preset.format, preset.id_field)
        .unwrap_or_else(|e| panic!("{}: {e}", preset.name));

    let desired = desired::compute(&plan, &records, now());
    let policy = diff::Policy {
        now: now(),
        ..diff::Policy::default()
    };
    let changes = diff::diff(&desired, &[], &State::default(), &plan.match_path, &policy);
    let mut created: HashMap<&str, Json> = HashMap::new();
    for change in &changes.changes {
        assert_eq!(
            change.action,
            diff::Action::Create,
            "an empty target only gets creates"
        );
        let id = change
            .source_id
            .as_deref()
            .expect("a create names its source user");
        created.insert(id, change.body().expect("a create has a body"));
    }
    let skipped: HashMap<&str, String> = changes
        .skipped
        .iter()
        .map(|s| (s.source_id.as_str(), s.reason.to_string()))
        .collect();
    let inactive: Vec<&str> = desired
        .users
        .iter()
        .filter(|u| !u.active)
        .map(|u| u.source_id.as_str())
        .collect();

    let users: Vec<Json> = records
        .iter()
        .map(|record| {
            let id = record.id.as_str();
            if let Some(resource) = created.get(id) {
                json!({"id": id, "create": resource})
            } else if let Some(reason) = skipped.get(id) {
                json!({"id": id, "skip": reason})
            } else if inactive.contains(&id) {
                json!({"id": id, "inactive": "not created"})
            } else if desired.out_of_scope.iter().any(|o| o == id) {
                json!({"id": id, "out_of_scope": true})
            } else {
                panic!("{}: user {id} has no outcome", preset.name)
            }
        })
        .collect();
    json!({
        "reads": plan.facts.reads,
        "reads_groups": plan.facts.reads_groups,
        "writes": plan.facts.writes.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "users": users,
    })
}

fn check_preset(name: &str) {
    let preset = PRESETS
        .iter()
        .find(|p| p.name == name)
        .expect("preset listed in PRESETS");
    let actual = outcomes(preset);
    let expected_path = repo().join(format!("tests/presets/{name}/expected.json"));
    if std::env::var_os("SCIMSYNC_UPDATE_EXPECTED").is_some() {
        let text = serde_json::to_string_pretty(&actual).expect("JSON") + "\n";
        std::fs::write(&expected_path, text).expect("write expected.json");
        return;
    }
    let expected: Json =
        serde_json::from_str(&std::fs::read_to_string(&expected_path).expect("read expected.json"))
            .expect("expected.json is JSON");
    // Compare user by user first, so a failure names the user.
    let (actual_users, expected_users) = (&actual["users"], &expected["users"]);
    for (a, e) in actual_users
        .as_array()
        .expect("users")
        .iter()
        .zip(expected_users.as_array().expect("users"))
    {
        assert_eq!(
            serde_json::to_string_pretty(a).unwrap(),
            serde_json::to_string_pretty(e).unwrap(),
            "{name}: user {}",
            e["id"]
        );
    }
    assert_eq!(actual, expected, "{name}: facts or user count differ");
}

#[test]
fn base44_okta() {
    check_preset("base44-okta");
}

#[test]
fn base44_entra() {
    check_preset("base44-entra");
}

#[test]
fn appspace_okta() {
    check_preset("appspace-okta");
}

#[test]
fn activepieces_okta() {
    check_preset("activepieces-okta");
}

#[test]
fn generic_ldap() {
    check_preset("generic");
}

/// Every file in `mappings/` has fixtures and a test above, and states its seed and the
/// source attributes it reads in its header comment.
#[test]
fn every_preset_is_tested_and_documented() {
    let mut shipped: Vec<String> = std::fs::read_dir(repo().join("mappings"))
        .expect("mappings/")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            Some(name.strip_suffix(".map")?.to_owned())
        })
        .collect();
    shipped.sort();
    let mut tested: Vec<String> = PRESETS.iter().map(|p| p.name.to_owned()).collect();
    tested.sort();
    assert_eq!(shipped, tested);
    for name in shipped {
        let text = std::fs::read_to_string(repo().join(format!("mappings/{name}.map"))).unwrap();
        let header: String = text
            .lines()
            .take_while(|l| l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(header.contains("Seed:"), "{name}: header names no seed");
        assert!(
            header.contains("Source attributes") || header.contains("from which LDAP attribute"),
            "{name}: header lists no source attributes"
        );
    }
}

use crate::support;

/// base44-okta end to end: its fixture synced into a real scim2-server (whose schema config
/// declares the Base44 extension) leaves exactly the expected resources on the server, and a
/// second sync writes nothing.
#[test]
fn base44_okta_syncs_into_a_real_scim_server() {
    let server = support::ScimServer::start();
    let project = support::Project::new();
    let preset = std::fs::read_to_string(repo().join("mappings/base44-okta.map")).unwrap();
    project.write("test.map", &preset);
    let export = std::fs::read_to_string(repo().join("tests/presets/base44-okta/users.json"));
    project.write("users.json", &export.unwrap());
    let config = project.config(&server.url);
    let config = config.to_str().unwrap();
    let token = Some(server.token.as_str());

    let run = support::scimsync(&["sync", "--config", config], token);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(
        run.stdout
            .ends_with("Applied: 7 created, 0 updated, 0 reactivated, 0 deactivated; 0 failed.\n"),
        "{}",
        run.stdout
    );

    // What the server holds: exactly the resources expected.json says a sync creates.
    let expected: Json = serde_json::from_str(
        &std::fs::read_to_string(repo().join("tests/presets/base44-okta/expected.json")).unwrap(),
    )
    .unwrap();
    let mut want: Vec<Json> = expected["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u.get("create").cloned())
        .map(support::sorted_schemas)
        .collect();
    want.sort_by_key(|u| u["userName"].as_str().unwrap().to_owned());
    let have: Vec<Json> = server
        .user_contents()
        .into_iter()
        .map(support::sorted_schemas)
        .collect();
    // JSON objects compare regardless of key order (the server reorders them).
    assert_eq!(have, want);
    // One user spelled out (Zoë sorts first: capitals before lower case), so the expected file
    // cannot drift into nonsense unnoticed.
    assert_eq!(
        have[1],
        json!({
            "schemas": ["urn:base44:params:scim:schemas:extension:user:2.0", "urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "ada@example.com",
            "active": true,
            "urn:base44:params:scim:schemas:extension:user:2.0": {"role": "admin", "creditLimit": 500},
        })
    );

    let writes = server.writes();
    let again = support::scimsync(&["sync", "--config", config], token);
    assert_eq!(again.code, 0, "{}", again.all_output());
    assert_eq!(server.writes(), writes, "a second sync writes nothing");
}
