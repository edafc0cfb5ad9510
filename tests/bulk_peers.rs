//! Bulk against the real peers: scim2-server and SCIMMY both advertise `bulk` (maxOperations
//! 1000, maxPayloadSize 1 MiB) and implement `POST /Bulk`. A sync of N users goes in the
//! expected number of `/Bulk` requests and no per-user writes; updates and deactivations
//! likewise; the servers' final state is exact; `bulk = "off"` sends no `/Bulk`. Groups and
//! their members go in `/Bulk` too: scim2-server resolves `/Groups/bulkId:…` paths, so new
//! groups and their members take one request; SCIMMY answers 404 to such a path (it resolves
//! bulkId references only in values), so the members follow by id in a second one.

use crate::support;

use serde_json::{Value as Json, json};
use support::{Project, ScimServer, scimsync};

const MAPPING: &str = "userName <- user.email\nname.familyName <- user.last\n";

fn people(n: usize, last: impl Fn(usize) -> String) -> Json {
    Json::Array(
        (1..=n)
            .map(|i| json!({"id": format!("s{i}"), "email": format!("u{i:03}@x"), "last": last(i)}))
            .collect(),
    )
}

/// (userName, familyName, active) of every user, sorted by userName.
fn contents(server: &ScimServer) -> Vec<(String, String, bool)> {
    server
        .all_users()
        .iter()
        .map(|u| {
            (
                u["userName"].as_str().unwrap().to_owned(),
                u["name"]["familyName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                u["active"].as_bool().unwrap_or(true),
            )
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn expected(
    n: usize,
    last: impl Fn(usize) -> String,
    inactive_from: usize,
) -> Vec<(String, String, bool)> {
    (1..=n)
        .map(|i| (format!("u{i:03}@x"), last(i), i < inactive_from))
        .collect()
}

/// The writes the server logged since `from`: (`/Bulk` requests, other writes).
fn writes_since(server: &ScimServer, from: usize) -> (usize, usize, usize) {
    let requests = server.requests();
    let new = &requests[from..];
    let bulk = new
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/Bulk"))
        .count();
    let other = new
        .iter()
        .filter(|r| r.method != "GET" && !r.path.ends_with("/Bulk"))
        .count();
    (bulk, other, requests.len())
}

fn project(server: &ScimServer, extra: &str) -> (Project, String) {
    let project = Project::new();
    project.write("test.map", MAPPING);
    let config = project.config(&server.url);
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(
            "path = \"users.json\"",
            "path = \"users.json\"\nformat = \"plain\"",
        )
        .replace("[state]", &format!("{extra}\n\n[state]"));
    std::fs::write(&config, text).unwrap();
    let config = config.to_str().unwrap().to_owned();
    (project, config)
}

fn sync(server: &ScimServer, config: &str) -> String {
    let run = scimsync(&["sync", "--config", config], Some(&server.token));
    assert_eq!(run.code, 0, "{}", run.all_output());
    run.stdout
}

fn converges_through_bulk(server: &ScimServer) {
    const N: usize = 60;
    let (project, config) = project(server, "");
    let before = server.requests().len();
    project.write("users.json", &people(N, |i| format!("L{i}")).to_string());
    sync(server, &config);
    let (bulk, other, seen) = writes_since(server, before);
    assert_eq!((bulk, other), (1, 0), "60 creates in one /Bulk request");
    assert_eq!(contents(server), expected(N, |i| format!("L{i}"), N + 1));

    // 10 updates and 5 deactivations: one more /Bulk request.
    let last = |i: usize| {
        if i <= 10 {
            format!("N{i}")
        } else {
            format!("L{i}")
        }
    };
    project.write("users.json", &people(N - 5, last).to_string());
    sync(server, &config);
    let (bulk, other, seen) = writes_since(server, seen);
    assert_eq!((bulk, other), (1, 0));
    assert_eq!(contents(server), expected(N, last, N - 4));

    // Converged: the next run writes nothing.
    sync(server, &config);
    let (bulk, other, _) = writes_since(server, seen);
    assert_eq!((bulk, other), (0, 0));

    // The state holds each user's id as the server assigned it.
    let state: Json = support::state_json(&project.path("state"), None).expect("a state");
    let ids: std::collections::HashMap<String, String> = server
        .all_users()
        .iter()
        .map(|u| {
            (
                u["userName"].as_str().unwrap().to_owned(),
                u["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for i in 1..=N {
        let user = &state["users"][format!("s{i}")];
        assert_eq!(
            user["id"].as_str(),
            Some(ids[&format!("u{i:03}@x")].as_str())
        );
    }
}

fn bulk_off_writes_one_by_one(server: &ScimServer) {
    let (project, config) = project(server, "bulk = \"off\"");
    let before = server.requests().len();
    project.write("users.json", &people(5, |i| format!("L{i}")).to_string());
    sync(server, &config);
    let (bulk, other, _) = writes_since(server, before);
    assert_eq!((bulk, other), (0, 5));
    assert_eq!(contents(server), expected(5, |i| format!("L{i}"), 6));
}

#[test]
fn a_sync_goes_through_bulk_against_scim2_server() {
    converges_through_bulk(&ScimServer::start());
}

#[test]
fn a_sync_goes_through_bulk_against_scimmy() {
    converges_through_bulk(&ScimServer::start_scimmy());
}

#[test]
fn bulk_off_sends_no_bulk_request_to_scim2_server_or_scimmy() {
    bulk_off_writes_one_by_one(&ScimServer::start());
    bulk_off_writes_one_by_one(&ScimServer::start_scimmy());
}

const GROUP_MAPPING: &str =
    "userName <- user.email\nname.familyName <- user.last\ngroups matching \"^team-\"\n";

/// Users `u001@x`… each in the groups `groups(i)` gives.
fn members_of(n: usize, groups: impl Fn(usize) -> Vec<&'static str>) -> Json {
    Json::Array(
        (1..=n)
            .map(|i| json!({"id": format!("s{i}"), "email": format!("u{i:03}@x"), "last": "L", "groups": groups(i)}))
            .collect(),
    )
}

fn group(name: &str, members: &[usize]) -> (String, Vec<String>) {
    (
        name.to_owned(),
        members.iter().map(|i| format!("u{i:03}@x")).collect(),
    )
}

/// New groups with their members, then member changes, through `/Bulk`; `group_requests`:
/// how many `/Bulk` requests the new groups take.
fn groups_converge_through_bulk(server: &ScimServer, group_requests: usize) {
    let (project, config) = project(server, "");
    project.write("test.map", GROUP_MAPPING);
    let before = server.requests().len();
    let first = |i: usize| match i {
        1 => vec!["team-a", "team-c"],
        2..=4 => vec!["team-a"],
        5 => vec!["team-b"],
        _ => vec!["team-a", "team-b"],
    };
    project.write("users.json", &members_of(6, first).to_string());
    let out = sync(server, &config);
    assert!(
        out.contains("Groups: 3 created, 0 updated, 0 deleted; 8 member(s) added, 0 removed."),
        "{out}"
    );
    let (bulk, other, seen) = writes_since(server, before);
    assert_eq!(
        (bulk, other),
        (1 + group_requests, 0),
        "users in one request, groups in {group_requests}"
    );
    assert_eq!(
        server.groups_by_user_name(),
        [
            group("team-a", &[1, 2, 3, 4, 6]),
            group("team-b", &[5, 6]),
            group("team-c", &[1]),
        ]
    );

    // u001 leaves team-a, u005 joins it, u002 joins team-c: one request, by id.
    let second = |i: usize| match i {
        1 => vec!["team-c"],
        2 => vec!["team-a", "team-c"],
        3 | 4 => vec!["team-a"],
        _ => vec!["team-a", "team-b"],
    };
    project.write("users.json", &members_of(6, second).to_string());
    let out = sync(server, &config);
    assert!(
        out.contains("Groups: 0 created, 0 updated, 0 deleted; 2 member(s) added, 1 removed."),
        "{out}"
    );
    let (bulk, other, seen) = writes_since(server, seen);
    assert_eq!((bulk, other), (1, 0));
    assert_eq!(
        server.groups_by_user_name(),
        [
            group("team-a", &[2, 3, 4, 5, 6]),
            group("team-b", &[5, 6]),
            group("team-c", &[1, 2]),
        ]
    );

    // Converged: the next run writes nothing.
    sync(server, &config);
    let (bulk, other, _) = writes_since(server, seen);
    assert_eq!((bulk, other), (0, 0));

    // The state holds each group's id as the server assigned it.
    let state: Json = support::state_json(&project.path("state"), None).expect("a state");
    let listed: Json = reqwest::blocking::Client::new()
        .get(format!("{}/Groups", server.url))
        .bearer_auth(&server.token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let resources = listed["Resources"].as_array().unwrap();
    assert_eq!(resources.len(), 3);
    for resource in resources {
        let name = resource["displayName"].as_str().unwrap();
        assert_eq!(state["groups"][name]["id"], resource["id"], "{name}");
    }
}

#[test]
fn groups_and_members_go_through_bulk_against_scim2_server() {
    // scim2-server resolves `/Groups/bulkId:…`: new groups and members in one request.
    groups_converge_through_bulk(&ScimServer::start(), 1);
}

#[test]
fn groups_and_members_go_through_bulk_against_scimmy() {
    // SCIMMY does not resolve references in paths: the members follow by id.
    groups_converge_through_bulk(&ScimServer::start_scimmy(), 2);
}
