//! Group writes in `/Bulk` against the fault server (`support/fault.rs`): a new group and its
//! members in one request by `bulkId` reference, a target that does not resolve references in
//! paths (members sent again by id), a reference that cannot share its create's request,
//! partial failures inside one BulkResponse (409 adopted, 400 refused, 429 and a 503 on a
//! safe write sent again, a 503 on a member add not repeated), deletes, a whole request that
//! fails after the target acted, a cancelled run; exact request bodies and the exact final
//! groups.

use crate::support::fault;

use crate::support::fault_project::FaultProject;
use fault::{BulkServer, Fault, FaultServer};
use scimsync::config::Config;
use scimsync::sync::{RunOptions, run_sync};
use serde_json::{Value as Json, json};

const MAP: &str = "userName <- user.email\ngroups matching \"^team-\"\n";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The project of these tests: `MAP`, one write at a time, `extra` keys in `[target]`.
fn project(url: &str, extra: &str, users: &Json) -> FaultProject {
    FaultProject::new(url, MAP, &format!("concurrency = 1\n{extra}"), users)
}

/// A source user `u{i}@x` in `groups`.
fn person(i: usize, groups: &[&str]) -> Json {
    json!({"id": format!("s{i}"), "email": format!("u{i}@x"), "groups": groups})
}

fn bulk_server(max_operations: usize, resolve_references: bool) -> BulkServer {
    BulkServer {
        max_operations,
        max_payload_size: 1 << 20,
        resolve_references,
        ..BulkServer::default()
    }
}

fn create_group(bulk_id: &str, name: &str) -> Json {
    json!({"method": "POST", "path": "/Groups", "bulkId": bulk_id,
        "data": {"schemas": [GROUP], "displayName": name}})
}

fn patch_group(path: &str, operations: Json) -> Json {
    json!({"method": "PATCH", "path": path, "data": {"schemas": [PATCH_OP], "Operations": operations}})
}

fn add_members(path: &str, ids: &[String]) -> Json {
    let values: Vec<Json> = ids.iter().map(|id| json!({"value": id})).collect();
    patch_group(
        path,
        json!([{"op": "add", "path": "members", "value": values}]),
    )
}

fn bulk_body(operations: Vec<Json>) -> Json {
    json!({"schemas": [BULK_REQUEST], "Operations": operations})
}

/// The bodies of the bulk requests that carry group writes.
fn group_requests(server: &FaultServer) -> Vec<Json> {
    server
        .bulk_requests()
        .into_iter()
        .filter(|body| {
            body["Operations"]
                .as_array()
                .unwrap()
                .iter()
                .any(|op| op["path"].as_str().unwrap().starts_with("/Groups"))
        })
        .collect()
}

/// Each group on the server as (displayName, member userNames sorted), sorted.
fn groups(server: &FaultServer) -> Vec<(String, Vec<String>)> {
    let names: std::collections::HashMap<String, String> = server
        .users()
        .iter()
        .map(|u| {
            (
                u["id"].as_str().unwrap().to_owned(),
                u["userName"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut out: Vec<(String, Vec<String>)> = server
        .groups()
        .iter()
        .map(|g| {
            let mut members: Vec<String> = g["members"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|m| {
                    let id = m["value"].as_str().unwrap();
                    names.get(id).cloned().unwrap_or_else(|| format!("? {id}"))
                })
                .collect();
            members.sort();
            (g["displayName"].as_str().unwrap().to_owned(), members)
        })
        .collect();
    out.sort();
    out
}

fn group(name: &str, members: &[&str]) -> (String, Vec<String>) {
    (
        name.to_owned(),
        members.iter().map(|m| format!("{m}@x")).collect(),
    )
}

fn user_id(server: &FaultServer, user_name: &str) -> String {
    server
        .users()
        .iter()
        .find(|u| u["userName"] == user_name)
        .and_then(|u| u["id"].as_str())
        .unwrap()
        .to_owned()
}

fn group_id(server: &FaultServer, name: &str) -> String {
    server
        .groups()
        .iter()
        .find(|g| g["displayName"] == name)
        .and_then(|g| g["id"].as_str())
        .unwrap()
        .to_owned()
}

fn ids(server: &FaultServer, users: &[&str]) -> Vec<String> {
    users
        .iter()
        .map(|u| user_id(server, &format!("{u}@x")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_groups_and_their_members_go_in_one_bulk_request_by_reference() {
    let server = FaultServer::start().await;
    server.offer_bulk(bulk_server(100, true));
    let users = json!([
        person(1, &["team-a"]),
        person(2, &["team-a", "team-b"]),
        person(3, &[])
    ]);
    let setup = project(&server.url, "", &users);
    let report = setup.run().await.unwrap();
    let applied = report.applied.unwrap();
    assert_eq!(
        (
            applied.created,
            applied.groups_created,
            applied.members_added,
            applied.failures.len()
        ),
        (3, 2, 3, 0)
    );
    assert_eq!(
        server.trace(),
        [
            "GET /v2/Users 200",
            "GET /v2/Groups 200",
            "GET /v2/ServiceProviderConfig 200",
            "POST /v2/Bulk 200",
            "POST /v2/Bulk 200"
        ]
    );
    assert_eq!(
        group_requests(&server),
        [bulk_body(vec![
            create_group("group-1", "team-a"),
            add_members("/Groups/bulkId:group-1", &ids(&server, &["u1", "u2"])),
            create_group("group-3", "team-b"),
            add_members("/Groups/bulkId:group-3", &ids(&server, &["u2"])),
        ])]
    );
    assert_eq!(
        groups(&server),
        [group("team-a", &["u1", "u2"]), group("team-b", &["u2"])]
    );
    // Each group's id, from its create's location, is in the state.
    let state = setup.state();
    assert_eq!(state.groups["team-a"].id, group_id(&server, "team-a"));
    assert_eq!(state.groups["team-b"].id, group_id(&server, "team-b"));

    // Converged: the next run writes nothing.
    server.clear_log();
    let report = setup.run().await.unwrap();
    assert!(report.groups.changes.is_empty());
    assert_eq!(server.writes(), 0, "{:?}", server.trace());

    // u1 leaves team-a, u3 joins it, team-b is no longer pushed and deleted: one request of
    // a member add, a member remove and a delete, all by id.
    setup.config("concurrency = 1", "[sync.actions]\ngroup_delete = true");
    setup.users(&json!([
        person(1, &[]),
        person(2, &["team-a"]),
        person(3, &["team-a"])
    ]));
    server.clear_log();
    let (team_a, team_b) = (group_id(&server, "team-a"), group_id(&server, "team-b"));
    let report = setup.run().await.unwrap();
    let applied = report.applied.unwrap();
    assert_eq!(
        (
            applied.members_added,
            applied.members_removed,
            applied.groups_deleted,
            applied.failures.len()
        ),
        (1, 1, 1, 0)
    );
    let u1 = user_id(&server, "u1@x");
    assert_eq!(
        group_requests(&server),
        [bulk_body(vec![
            add_members(&format!("/Groups/{team_a}"), &ids(&server, &["u3"])),
            patch_group(
                &format!("/Groups/{team_a}"),
                json!([{"op": "remove", "path": format!("members[value eq \"{u1}\"]")}])
            ),
            json!({"method": "DELETE", "path": format!("/Groups/{team_b}")}),
        ])]
    );
    assert_eq!(groups(&server), [group("team-a", &["u2", "u3"])]);
    let state = setup.state();
    assert_eq!(
        state.groups.keys().map(String::as_str).collect::<Vec<_>>(),
        ["team-a"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_does_not_resolve_path_references_gets_the_members_by_id() {
    let server = FaultServer::start().await;
    // As SCIMMY: `/Groups/bulkId:…` finds nothing (404).
    server.offer_bulk(bulk_server(100, false));
    let users = json!([person(1, &["team-a"]), person(2, &["team-a", "team-b"])]);
    let setup = project(&server.url, "", &users);
    let report = setup.run().await.unwrap();
    let applied = report.applied.unwrap();
    assert_eq!(
        (
            applied.groups_created,
            applied.members_added,
            applied.failures.len()
        ),
        (2, 3, 0),
        "{:?}",
        applied.failures
    );
    let (team_a, team_b) = (group_id(&server, "team-a"), group_id(&server, "team-b"));
    assert_eq!(
        group_requests(&server),
        [
            bulk_body(vec![
                create_group("group-1", "team-a"),
                add_members("/Groups/bulkId:group-1", &ids(&server, &["u1", "u2"])),
                create_group("group-3", "team-b"),
                add_members("/Groups/bulkId:group-3", &ids(&server, &["u2"])),
            ]),
            // Again, by id.
            bulk_body(vec![
                add_members(&format!("/Groups/{team_a}"), &ids(&server, &["u1", "u2"])),
                add_members(&format!("/Groups/{team_b}"), &ids(&server, &["u2"])),
            ]),
        ]
    );
    let statuses: Vec<(String, u16)> = server
        .bulk_log()
        .iter()
        .filter(|l| l.path.starts_with("/Groups"))
        .map(|l| (format!("{} {}", l.method, l.path), l.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("POST /Groups".into(), 201),
            ("PATCH /Groups/bulkId:group-1".into(), 404),
            ("POST /Groups".into(), 201),
            ("PATCH /Groups/bulkId:group-3".into(), 404),
            (format!("PATCH /Groups/{team_a}"), 204),
            (format!("PATCH /Groups/{team_b}"), 204),
        ]
    );
    assert_eq!(
        groups(&server),
        [group("team-a", &["u1", "u2"]), group("team-b", &["u2"])]
    );
    assert!(setup.run().await.unwrap().groups.changes.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_chunk_that_cannot_share_its_groups_request_goes_by_id_in_the_next() {
    let server = FaultServer::start().await;
    // Two operations per request, one member per PATCH: the create and its first chunk fit
    // in the first request; the second chunk cannot name the group by reference.
    server.offer_bulk(bulk_server(2, true));
    let users = json!([person(1, &["team-a"]), person(2, &["team-a"])]);
    let setup = project(&server.url, "", &users);
    setup.config("concurrency = 1", "member_chunk = 1");
    let report = setup.run().await.unwrap();
    let applied = report.applied.unwrap();
    assert_eq!(
        (
            applied.groups_created,
            applied.members_added,
            applied.failures.len()
        ),
        (1, 2, 0)
    );
    let team_a = group_id(&server, "team-a");
    assert_eq!(
        group_requests(&server),
        [
            bulk_body(vec![
                create_group("group-1", "team-a"),
                add_members("/Groups/bulkId:group-1", &ids(&server, &["u1"])),
            ]),
            bulk_body(vec![add_members(
                &format!("/Groups/{team_a}"),
                &ids(&server, &["u2"])
            )]),
        ]
    );
    assert_eq!(groups(&server), [group("team-a", &["u1", "u2"])]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_failures_in_one_group_bulk_response_get_the_per_group_handling() {
    let server = FaultServer::start().await;
    server.offer_bulk(bulk_server(100, true));
    let users = json!([person(1, &["team-a", "team-b"]), person(2, &["team-a"])]);
    let setup = project(&server.url, "", &users);
    setup.run().await.unwrap();
    let (team_a, team_b) = (group_id(&server, "team-a"), group_id(&server, "team-b"));
    let (u1, u2) = (user_id(&server, "u1@x"), user_id(&server, "u2@x"));
    server.clear_log();

    // Next run: u2 leaves team-a (a remove: 503 once, safe, sent again), u1 leaves team-b
    // (a remove: 429 once, sent again), u2 joins team-b (a member add: 503, not repeated),
    // team-c is created by someone else meanwhile (409: adopted, its members by id next),
    // team-d is refused (400: its member add fails as "not created").
    server.fault(
        "PATCH",
        &team_a,
        Some("remove"),
        Fault::Status(503, None),
        1,
    );
    server.fault(
        "PATCH",
        &team_b,
        Some("remove"),
        Fault::Status(429, None),
        1,
    );
    server.fault("PATCH", &team_b, Some("add"), Fault::Status(503, None), 1);
    server.fault(
        "POST",
        "/Groups",
        Some("team-c"),
        Fault::StatusAfterApply(409),
        1,
    );
    server.fault(
        "POST",
        "/Groups",
        Some("team-d"),
        Fault::Refuse(400, "displayName is not allowed".into()),
        1,
    );
    setup.users(&json!([
        person(1, &["team-a", "team-c", "team-d"]),
        person(2, &["team-b"])
    ]));
    let report = setup.run().await.unwrap();
    let applied = report.applied.unwrap();
    assert_eq!(
        (
            applied.groups_created,
            applied.members_added,
            applied.members_removed
        ),
        (0, 1, 2)
    );
    let failures: Vec<(String, Option<u16>, String)> = applied
        .failures
        .iter()
        .map(|f| (f.name.clone(), f.status, f.line()))
        .collect();
    assert_eq!(failures.len(), 3, "{failures:?}");
    // In the order settled: team-d's create, team-b's member add, team-d's member add.
    assert_eq!(
        failures
            .iter()
            .map(|(name, status, _)| (name.as_str(), *status))
            .collect::<Vec<_>>(),
        [
            ("team-d", Some(400)),
            ("team-b", Some(503)),
            ("team-d", None)
        ],
        "{failures:?}"
    );
    assert!(
        failures[0].2.contains("displayName is not allowed"),
        "{failures:?}"
    );
    assert!(
        failures[2].2.contains("group \"team-d\" was not created"),
        "{failures:?}"
    );
    let team_c = group_id(&server, "team-c");
    let remove = |group: &str, user: &str| {
        patch_group(
            &format!("/Groups/{group}"),
            json!([{"op": "remove", "path": format!("members[value eq \"{user}\"]")}]),
        )
    };
    let bodies = group_requests(&server);
    assert_eq!(
        bodies,
        [
            bulk_body(vec![
                remove(&team_a, &u2),
                add_members(&format!("/Groups/{team_b}"), &ids(&server, &["u2"])),
                remove(&team_b, &u1),
                create_group("group-4", "team-c"),
                add_members("/Groups/bulkId:group-4", &ids(&server, &["u1"])),
                create_group("group-6", "team-d"),
                add_members("/Groups/bulkId:group-6", &ids(&server, &["u1"])),
            ]),
            // The removes that failed for a passing reason, and team-c's members by the id
            // it was adopted with.
            bulk_body(vec![
                remove(&team_a, &u2),
                remove(&team_b, &u1),
                add_members(&format!("/Groups/{team_c}"), &ids(&server, &["u1"])),
            ]),
        ]
    );
    // One lookup: team-c's, by displayName.
    let lookups: Vec<String> = server
        .log()
        .iter()
        .filter(|l| l.path.contains("filter="))
        .map(|l| l.path.clone())
        .collect();
    assert_eq!(lookups.len(), 1, "{lookups:?}");
    assert!(lookups[0].starts_with("/v2/Groups?"), "{lookups:?}");
    assert_eq!(
        groups(&server),
        [
            group("team-a", &["u1"]),
            group("team-b", &[]),
            group("team-c", &["u1"])
        ]
    );
    let state = setup.state();
    assert_eq!(state.groups["team-c"].id, team_c, "adopted");
    assert!(!state.groups.contains_key("team-d"));

    // The next run adds what failed: u2 to team-b, and team-d with u1.
    server.clear_log();
    let report = setup.run().await.unwrap();
    let applied = report.applied.unwrap();
    assert_eq!(
        (
            applied.groups_created,
            applied.members_added,
            applied.failures.len()
        ),
        (1, 2, 0)
    );
    assert_eq!(
        groups(&server),
        [
            group("team-a", &["u1"]),
            group("team-b", &["u2"]),
            group("team-c", &["u1"]),
            group("team-d", &["u1"])
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_off_writes_groups_one_request_at_a_time() {
    let server = FaultServer::start().await;
    server.offer_bulk(bulk_server(100, true));
    let users = json!([person(1, &["team-a"]), person(2, &["team-b"])]);
    let setup = project(&server.url, "bulk = \"off\"", &users);
    setup.run().await.unwrap();
    assert_eq!(server.bulk_requests().len(), 0);
    assert_eq!(
        server
            .trace()
            .iter()
            .filter(|l| l.contains("/Groups") && !l.starts_with("GET"))
            .count(),
        4,
        "two creates, two member adds: {:?}",
        server.trace()
    );
    assert_eq!(
        groups(&server),
        [group("team-a", &["u1"]), group("team-b", &["u2"])]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_group_bulk_request_adopts_the_groups_and_repeats_no_member_add() {
    let server = FaultServer::start().await;
    server.offer_bulk(bulk_server(100, true));
    // The users first, in no group.
    let setup = project(&server.url, "", &json!([person(1, &[]), person(2, &[])]));
    setup.run().await.unwrap();
    // The server acts on the whole group request, then answers 502: the groups and their
    // members are there, but scimsync cannot know it.
    server.fault("POST", "/Bulk", None, Fault::StatusAfterApply(502), 1);
    server.clear_log();
    setup.users(&json!([
        person(1, &["team-a"]),
        person(2, &["team-a", "team-b"])
    ]));
    let report = setup.run().await.unwrap();
    let applied = report.applied.unwrap();
    // The creates are looked up and adopted; the member adds may have happened, so they are
    // not sent again (as alone): failed for this run.
    assert_eq!(
        (applied.groups_created, applied.members_added),
        (0, 0),
        "{:?}",
        applied.failures
    );
    let failures: Vec<(String, Option<u16>)> = applied
        .failures
        .iter()
        .map(|f| (f.name.clone(), f.status))
        .collect();
    assert_eq!(
        failures,
        [("team-a".into(), Some(502)), ("team-b".into(), Some(502))]
    );
    assert_eq!(group_requests(&server).len(), 1, "not sent again");
    assert_eq!(
        groups(&server),
        [group("team-a", &["u1", "u2"]), group("team-b", &["u2"])],
        "no group and no member twice"
    );
    let state = setup.state();
    assert_eq!(state.groups["team-a"].id, group_id(&server, "team-a"));
    assert_eq!(state.groups["team-b"].id, group_id(&server, "team-b"));
    // The next run finds everything in place.
    server.clear_log();
    let report = setup.run().await.unwrap();
    assert!(report.groups.changes.is_empty());
    assert_eq!(server.writes(), 0, "{:?}", server.trace());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_run_finishes_the_group_request_in_flight_and_starts_no_other() {
    let server = FaultServer::start().await;
    // Two operations per request: each new group and its members take one.
    server.offer_bulk(bulk_server(2, true));
    let people = json!([person(1, &[]), person(2, &[]), person(3, &[])]);
    let setup = project(&server.url, "", &people);
    setup.run().await.unwrap();
    // The first group request takes 400 ms; the run is cancelled 150 ms into it.
    server.fault(
        "POST",
        "/Bulk",
        None,
        Fault::SlowThenApply(std::time::Duration::from_millis(400)),
        1,
    );
    setup.users(&json!([
        person(1, &["team-a"]),
        person(2, &["team-b"]),
        person(3, &["team-c"])
    ]));
    let config = Config::load(&setup.dir.path().join("scimsync.toml")).unwrap();
    let options = RunOptions::new(false);
    let cancel = options.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        cancel.cancel();
    });
    let mut runs = run_sync(&config, &options).await.unwrap();
    let report = runs.remove(0).report.unwrap();
    assert!(report.cancelled);
    let applied = report.applied.unwrap();
    assert_eq!(
        (
            applied.groups_created,
            applied.members_added,
            applied.not_started,
            applied.failures.len()
        ),
        (1, 1, 4, 0)
    );
    assert_eq!(group_requests(&server).len(), 1);
    assert_eq!(groups(&server), [group("team-a", &["u1"])]);
    let state = setup.state();
    assert_eq!(
        state.groups.keys().map(String::as_str).collect::<Vec<_>>(),
        ["team-a"]
    );
    // The next run writes the rest.
    let report = setup.run().await.unwrap();
    assert_eq!(report.applied.unwrap().groups_created, 2);
    assert_eq!(
        groups(&server),
        [
            group("team-a", &["u1"]),
            group("team-b", &["u2"]),
            group("team-c", &["u3"])
        ]
    );
}
