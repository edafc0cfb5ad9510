//! Bulk requests and ETags against the fault server (`support/fault.rs`): the exact
//! BulkRequest bodies and how they are split within maxOperations and maxPayloadSize,
//! partial failures inside one BulkResponse (409 adopted, 400 refused, 503 pending, 429 sent
//! again), a whole bulk request that fails, results out of order, `bulk = "off"`, and
//! `If-Match` with the bounded re-read and re-plan after a 412.

use crate::support::fault;

use crate::support::fault_project::FaultProject;
use fault::{BulkServer, Fault, FaultServer};
use scimsync::config::Config;
use scimsync::sync::{RunOptions, run_sync};
use serde_json::{Value as Json, json};

const MAP: &str = "userName <- user.email\nname.familyName <- user.last\n";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The project of these tests: `MAP`, `extra` keys in `[target]`.
fn project(url: &str, extra: &str, users: &Json) -> FaultProject {
    FaultProject::new(url, MAP, extra, users)
}

fn person(i: usize, last: &str) -> Json {
    json!({"id": format!("s{i}"), "email": format!("u{i}@x"), "last": last})
}

fn people(n: usize) -> Json {
    Json::Array((1..=n).map(|i| person(i, &format!("L{i}"))).collect())
}

fn create_op(i: usize, last: &str) -> Json {
    json!({"method": "POST", "path": "/Users", "bulkId": format!("s{i}"),
        "data": {"schemas": [USER], "userName": format!("u{i}@x"), "name": {"familyName": last}, "active": true}})
}

fn patch_op(id: &str, operations: Json) -> Json {
    json!({"method": "PATCH", "path": format!("/Users/{id}"),
        "data": {"schemas": [PATCH_OP], "Operations": operations}})
}

fn bulk_body(operations: Vec<Json>) -> Json {
    json!({"schemas": [BULK_REQUEST], "Operations": operations})
}

/// Each user's userName and familyName, sorted.
fn names(server: &FaultServer) -> Vec<(String, String, bool)> {
    server
        .users()
        .iter()
        .map(|u| {
            (
                u["userName"].as_str().unwrap().to_owned(),
                u["name"]["familyName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                u["active"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn id_of(server: &FaultServer, user_name: &str) -> String {
    server
        .users()
        .iter()
        .find(|u| u["userName"] == user_name)
        .and_then(|u| u["id"].as_str())
        .unwrap()
        .to_owned()
}

fn bulk_server(max_operations: usize, max_payload_size: usize) -> BulkServer {
    BulkServer {
        max_operations,
        max_payload_size,
        ..BulkServer::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_updates_and_deactivations_go_in_bulk_within_max_operations() {
    let server = FaultServer::start().await;
    server.offer_bulk(bulk_server(2, 1 << 20));
    let setup = project(&server.url, "concurrency = 1", &people(5));
    let report = setup.run().await.unwrap();
    let applied = report.applied.unwrap();
    assert_eq!((applied.created, applied.failures.len()), (5, 0));
    assert_eq!(
        server.trace(),
        [
            "GET /v2/Users 200",
            "GET /v2/ServiceProviderConfig 200",
            "POST /v2/Bulk 200",
            "POST /v2/Bulk 200",
            "POST /v2/Bulk 200"
        ]
    );
    assert_eq!(
        server.bulk_requests(),
        [
            bulk_body(vec![create_op(1, "L1"), create_op(2, "L2")]),
            bulk_body(vec![create_op(3, "L3"), create_op(4, "L4")]),
            bulk_body(vec![create_op(5, "L5")]),
        ]
    );
    // Each user's id, from the operation's location, is in the state.
    let state = setup.state();
    for i in 1..=5 {
        assert_eq!(
            state.users[&format!("s{i}")].id,
            id_of(&server, &format!("u{i}@x"))
        );
    }
    assert!(state.pending.is_empty());

    // An update and a deactivation: one bulk request of two PATCHes.
    server.clear_log();
    let mut changed = people(4);
    changed[0]["last"] = json!("N1");
    setup.users(&changed);
    let report = setup.run().await.unwrap();
    let applied = report.applied.unwrap();
    assert_eq!((applied.updated, applied.deactivated), (1, 1));
    let (u1, u5) = (id_of(&server, "u1@x"), id_of(&server, "u5@x"));
    assert_eq!(
        server.bulk_requests(),
        [bulk_body(vec![
            patch_op(
                &u1,
                json!([{"op": "replace", "path": "name.familyName", "value": "N1"}])
            ),
            patch_op(
                &u5,
                json!([{"op": "replace", "path": "active", "value": false}])
            ),
        ])]
    );
    assert_eq!(
        names(&server),
        [
            ("u1@x".into(), "N1".into(), true),
            ("u2@x".into(), "L2".into(), true),
            ("u3@x".into(), "L3".into(), true),
            ("u4@x".into(), "L4".into(), true),
            ("u5@x".into(), "L5".into(), false),
        ]
    );
    assert!(!setup.state().users["s5"].active);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_split_within_max_payload_size_and_an_oversized_one_goes_alone() {
    let server = FaultServer::start().await;
    // Room for exactly two of these creates per request.
    let two = serde_json::to_vec(&bulk_body(vec![create_op(1, "L1"), create_op(2, "L2")]))
        .unwrap()
        .len();
    server.offer_bulk(bulk_server(100, two));
    let mut users = people(5);
    users[2]["last"] = json!("x".repeat(two));
    let setup = project(&server.url, "concurrency = 1", &users);
    let report = setup.run().await.unwrap();
    assert_eq!(report.applied.unwrap().created, 5);
    let bodies = server.bulk_requests();
    assert_eq!(
        bodies,
        [
            bulk_body(vec![create_op(1, "L1"), create_op(2, "L2")]),
            bulk_body(vec![create_op(4, "L4"), create_op(5, "L5")]),
        ]
    );
    let sizes: Vec<usize> = server
        .log()
        .iter()
        .filter(|l| l.path.ends_with("/Bulk"))
        .map(|l| l.body.len())
        .collect();
    assert_eq!(sizes, [two, two], "filled to the limit, never over it");
    // The user too large for any bulk request was created alone.
    let alone: Vec<Json> = server
        .log()
        .iter()
        .filter(|l| l.method == "POST" && l.path == "/v2/Users")
        .map(|l| serde_json::from_str(&l.body).unwrap())
        .collect();
    assert_eq!(alone, [create_op(3, &"x".repeat(two))["data"].clone()]);
    assert_eq!(server.users().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_failures_in_one_bulk_response_get_the_per_user_handling() {
    let server = FaultServer::start().await;
    server.offer_bulk(bulk_server(10, 1 << 20));
    // u2 is on the target already (409, adopted); u3 is refused (400); u4 fails with 503
    // (pending: looked up, not found, not sent again); u5 is throttled once (sent again).
    // (Left out of the listing, as by a target's eventual consistency: a create is planned.)
    let seeded = server.seed_user(json!({"schemas": [USER], "userName": "u2@x"}));
    server.leave_out_of_listing(std::slice::from_ref(&seeded));
    server.fault(
        "POST",
        "/Users",
        Some("u3@x"),
        Fault::Refuse(400, "familyName is not allowed".into()),
        usize::MAX,
    );
    server.fault("POST", "/Users", Some("u4@x"), Fault::Status(503, None), 1);
    server.fault("POST", "/Users", Some("u5@x"), Fault::Status(429, None), 1);
    let setup = project(&server.url, "concurrency = 1", &people(5));
    let report = setup.run().await.unwrap();
    let applied = report.applied.unwrap();
    assert_eq!(
        (applied.created, applied.adopted, applied.pending),
        (2, 1, 1)
    );
    let mut failures: Vec<String> = applied.failures.iter().map(|f| f.line()).collect();
    failures.sort();
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(
        failures[0].contains("u3@x") && failures[0].contains("HTTP 400"),
        "{failures:?}"
    );
    assert!(
        failures[0].contains("familyName is not allowed"),
        "{failures:?}"
    );
    assert!(
        failures[1].contains("u4@x") && failures[1].contains("HTTP 503"),
        "{failures:?}"
    );
    // One bulk request with all five, then one with u5 alone; the lookups of u2 and u4.
    let bodies = server.bulk_requests();
    assert_eq!(
        bodies,
        [
            bulk_body((1..=5).map(|i| create_op(i, &format!("L{i}"))).collect()),
            bulk_body(vec![create_op(5, "L5")]),
        ]
    );
    let statuses: Vec<(String, u16)> = server
        .bulk_log()
        .iter()
        .map(|l| (l.body.clone(), l.status))
        .map(|(body, status)| {
            let op: Json = serde_json::from_str(&body).unwrap();
            (op["bulkId"].as_str().unwrap().to_owned(), status)
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("s1".into(), 201),
            ("s2".into(), 409),
            ("s3".into(), 400),
            ("s4".into(), 503),
            ("s5".into(), 429),
            ("s5".into(), 201)
        ]
    );
    let lookups: Vec<String> = server
        .log()
        .iter()
        .filter(|l| l.path.contains("filter="))
        .map(|l| l.path.clone())
        .collect();
    assert_eq!(lookups.len(), 2, "{lookups:?}");
    assert!(
        lookups[0].contains("u2%40x") || lookups[1].contains("u2%40x"),
        "{lookups:?}"
    );
    let state = setup.state();
    assert_eq!(state.users["s2"].id, seeded, "adopted");
    assert!(
        state.users["s2"].fingerprint.is_none(),
        "adopted: compared in full next run"
    );
    assert_eq!(state.rejected["s3"].status, Some(400));
    assert!(state.pending.contains_key("s4"), "outcome unknown: pending");
    assert!(!state.pending.contains_key("s3"), "refused: not pending");
    assert_eq!(
        names(&server)
            .iter()
            .map(|n| n.0.as_str())
            .collect::<Vec<_>>(),
        ["u1@x", "u2@x", "u5@x"]
    );

    // The next run resolves u4 by lookup, then creates it; u3 stays refused (same data).
    server.clear_log();
    let report = setup.run().await.unwrap();
    let applied = report.applied.unwrap();
    assert_eq!(applied.created, 1);
    assert_eq!(
        names(&server)
            .iter()
            .map(|n| n.0.as_str())
            .collect::<Vec<_>>(),
        ["u1@x", "u2@x", "u4@x", "u5@x"]
    );
    assert!(setup.state().pending.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_bulk_request_is_resolved_by_lookup_and_never_sent_twice() {
    let server = FaultServer::start().await;
    server.offer_bulk(bulk_server(10, 1 << 20));
    // The server acts on the whole request, then answers 502: every create happened.
    server.fault("POST", "/Bulk", None, Fault::StatusAfterApply(502), 1);
    let setup = project(&server.url, "concurrency = 1", &people(3));
    let report = setup.run().await.unwrap();
    let applied = report.applied.unwrap();
    assert_eq!((applied.created, applied.adopted), (0, 3));
    assert_eq!(
        server.received("POST"),
        1,
        "the bulk request is not sent again"
    );
    assert_eq!(server.users().len(), 3, "no duplicates");
    let state = setup.state();
    for i in 1..=3 {
        assert_eq!(
            state.users[&format!("s{i}")].id,
            id_of(&server, &format!("u{i}@x"))
        );
    }

    // The connection breaks before the server acts: lookups find nothing, the creates stay
    // pending this run, and the next run creates them (once).
    let server = FaultServer::start().await;
    server.offer_bulk(bulk_server(10, 1 << 20));
    server.fault("POST", "/Bulk", None, Fault::Reset, 1);
    let setup = project(&server.url, "concurrency = 1", &people(3));
    let report = setup.run().await.unwrap();
    let applied = report.applied.unwrap();
    assert_eq!((applied.created, applied.pending), (0, 3));
    assert_eq!(setup.state().pending.len(), 3);
    assert!(server.users().is_empty());
    let report = setup.run().await.unwrap();
    assert_eq!(report.applied.unwrap().created, 3);
    assert_eq!(server.users().len(), 3);
    assert!(setup.state().pending.is_empty());

    // The server acts, then answers 200 with something that is not a BulkResponse: the
    // creates may all have happened, so they are looked up (and adopted), not dropped.
    let server = FaultServer::start().await;
    server.offer_bulk(bulk_server(10, 1 << 20));
    server.fault("POST", "/Bulk", None, Fault::StatusAfterApply(200), 1);
    let setup = project(&server.url, "concurrency = 1", &people(3));
    let report = setup.run().await.unwrap();
    let applied = report.applied.unwrap();
    assert_eq!((applied.adopted, applied.failures.len()), (3, 0));
    assert_eq!(server.received("POST"), 1);
    assert_eq!(server.users().len(), 3);
    assert!(setup.state().pending.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_out_of_order_with_numeric_statuses_reach_the_right_users() {
    let server = FaultServer::start().await;
    server.offer_bulk(BulkServer {
        max_operations: 10,
        max_payload_size: 1 << 20,
        numeric_status: true,
        reverse_order: true,
        ..BulkServer::default()
    });
    let setup = project(&server.url, "", &people(4));
    setup.run().await.unwrap();
    let state = setup.state();
    for i in 1..=4 {
        assert_eq!(
            state.users[&format!("s{i}")].id,
            id_of(&server, &format!("u{i}@x"))
        );
    }
    // Updates (no bulkId): matched by location.
    let mut changed = people(4);
    changed[0]["last"] = json!("N1");
    changed[3]["last"] = json!("N4");
    setup.users(&changed);
    let report = setup.run().await.unwrap();
    let applied = report.applied.unwrap();
    assert_eq!((applied.updated, applied.failures.len()), (2, 0));
    assert_eq!(names(&server)[0].1, "N1");
    assert_eq!(names(&server)[3].1, "N4");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_off_sends_each_write_alone() {
    let server = FaultServer::start().await;
    server.offer_bulk(bulk_server(10, 1 << 20));
    let setup = project(&server.url, "concurrency = 1\nbulk = \"off\"", &people(3));
    assert_eq!(setup.run().await.unwrap().applied.unwrap().created, 3);
    assert_eq!(
        server.trace(),
        [
            "GET /v2/Users 200",
            "GET /v2/ServiceProviderConfig 200",
            "POST /v2/Users 201",
            "POST /v2/Users 201",
            "POST /v2/Users 201"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_update_operation_is_sent_again_in_a_later_bulk_request() {
    let server = FaultServer::start().await;
    server.offer_bulk(bulk_server(10, 1 << 20));
    let setup = project(&server.url, "concurrency = 1", &people(3));
    setup.run().await.unwrap();
    let u2 = id_of(&server, "u2@x");
    server.fault("PATCH", &u2, None, Fault::Status(503, None), 1);
    server.clear_log();
    let mut changed = people(3);
    for user in changed.as_array_mut().unwrap() {
        user["last"] = json!("N");
    }
    setup.users(&changed);
    let report = setup.run().await.unwrap();
    assert_eq!(report.applied.unwrap().updated, 3);
    let bodies = server.bulk_requests();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0]["Operations"].as_array().unwrap().len(), 3);
    assert_eq!(
        bodies[1],
        bulk_body(vec![patch_op(
            &u2,
            json!([{"op": "replace", "path": "name.familyName", "value": "N"}])
        )])
    );
    assert!(names(&server).iter().all(|n| n.1 == "N"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_carry_if_match_and_a_412_rereads_and_replans_the_user() {
    let server = FaultServer::start().await;
    server.offer_etag();
    let setup = project(&server.url, "concurrency = 1", &people(2));
    setup.run().await.unwrap();
    let u1 = id_of(&server, "u1@x");
    // Someone edits u1 in the app between the listing and the PATCH.
    server.touch_before_next_write(&u1, "title", json!("Boss"));
    server.clear_log();
    let mut changed = people(2);
    changed[0]["last"] = json!("N1");
    setup.users(&changed);
    let report = setup.run().await.unwrap();
    let applied = report.applied.unwrap();
    assert_eq!((applied.updated, applied.failures.len()), (1, 0));
    let sent: Vec<(String, u16, Option<String>)> = server
        .log()
        .iter()
        .map(|l| {
            (
                format!("{} {}", l.method, l.path),
                l.status,
                l.if_match.clone(),
            )
        })
        .collect();
    let user_path = format!("/v2/Users/{u1}");
    assert_eq!(
        sent,
        [
            // No read: the version is the one the create answered with, kept in the state.
            ("GET /v2/ServiceProviderConfig".into(), 200, None),
            (format!("PATCH {user_path}"), 412, Some("W/\"1\"".into())),
            (format!("GET {user_path}"), 200, None),
            (format!("PATCH {user_path}"), 204, Some("W/\"2\"".into())),
        ]
    );
    let user = &server.users()[0];
    assert_eq!(
        (
            &user["title"],
            &user["name"]["familyName"],
            &user["meta"]["version"]
        ),
        (&json!("Boss"), &json!("N1"), &json!("W/\"3\""))
    );

    // Changed on every try: two re-plans, then a failure that says why (not a refusal).
    server.clear_log();
    for n in 0..3 {
        server.touch_before_next_write(&u1, "title", json!(format!("Boss {n}")));
    }
    changed[0]["last"] = json!("M1");
    setup.users(&changed);
    let report = setup.run().await.unwrap();
    let applied = report.applied.unwrap();
    assert_eq!(applied.failures.len(), 1);
    let line = applied.failures[0].line();
    assert!(line.contains("HTTP 412"), "{line}");
    assert!(
        line.contains("changed on the target while scimsync wrote it, 3 times in a row"),
        "{line}"
    );
    let patches = server.log().iter().filter(|l| l.method == "PATCH").count();
    assert_eq!(patches, 3, "{:?}", server.trace());
    assert!(setup.state().rejected.is_empty(), "a race, not a refusal");
    // The next run (nobody editing any more) writes it.
    let report = setup.run().await.unwrap();
    assert_eq!(report.applied.unwrap().updated, 1);
    assert_eq!(server.users()[0]["name"]["familyName"], "M1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_operations_carry_the_version_and_a_stale_one_is_replanned() {
    let server = FaultServer::start().await;
    server.offer_etag();
    server.offer_bulk(bulk_server(10, 1 << 20));
    let setup = project(&server.url, "concurrency = 1", &people(2));
    setup.run().await.unwrap();
    let (u1, u2) = (id_of(&server, "u1@x"), id_of(&server, "u2@x"));
    server.touch_before_next_write(&u2, "title", json!("Boss"));
    server.clear_log();
    let mut changed = people(2);
    changed[0]["last"] = json!("N1");
    changed[1]["last"] = json!("N2");
    setup.users(&changed);
    let report = setup.run().await.unwrap();
    assert_eq!(report.applied.unwrap().updated, 2);
    let versioned = |id: &str, last: &str| {
        let mut op = patch_op(
            id,
            json!([{"op": "replace", "path": "name.familyName", "value": last}]),
        );
        op["version"] = json!("W/\"1\"");
        op
    };
    assert_eq!(
        server.bulk_requests(),
        [bulk_body(vec![versioned(&u1, "N1"), versioned(&u2, "N2")])]
    );
    // After /ServiceProviderConfig and the bulk (no read: an incremental run diffs against
    // what it last wrote, the version the creates answered with).
    let after: Vec<String> = server.trace().into_iter().skip(2).collect();
    assert_eq!(
        after,
        [
            format!("GET /v2/Users/{u2} 200"),
            format!("PATCH /v2/Users/{u2} 204")
        ]
    );
    assert_eq!(
        names(&server),
        [
            ("u1@x".into(), "N1".into(), true),
            ("u2@x".into(), "N2".into(), true)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_mode_reads_each_user_then_sends_the_puts_in_bulk() {
    let server = FaultServer::start().await;
    server.offer_bulk(bulk_server(10, 1 << 20));
    let setup = project(
        &server.url,
        "concurrency = 1\nupdate_mode = \"put\"",
        &people(2),
    );
    setup.run().await.unwrap();
    let (u1, u2) = (id_of(&server, "u1@x"), id_of(&server, "u2@x"));
    server.clear_log();
    let mut changed = people(2);
    changed[0]["last"] = json!("N1");
    changed[1]["last"] = json!("N2");
    setup.users(&changed);
    let report = setup.run().await.unwrap();
    assert_eq!(report.applied.unwrap().updated, 2);
    assert_eq!(
        server.trace(),
        [
            // No read for the diff (it is against what scimsync last wrote); PUT mode's own
            // fresh reads, then the PUTs in one bulk request.
            "GET /v2/ServiceProviderConfig 200".to_owned(),
            format!("GET /v2/Users/{u1} 200"),
            format!("GET /v2/Users/{u2} 200"),
            "POST /v2/Bulk 200".to_owned(),
        ]
    );
    let put = |id: &str, i: usize| {
        json!({"method": "PUT", "path": format!("/Users/{id}"),
            "data": {"schemas": [USER], "id": id, "userName": format!("u{i}@x"),
                "name": {"familyName": format!("N{i}")}, "active": true}})
    };
    assert_eq!(
        server.bulk_requests(),
        [bulk_body(vec![put(&u1, 1), put(&u2, 2)])]
    );
    assert_eq!(
        names(&server),
        [
            ("u1@x".into(), "N1".into(), true),
            ("u2@x".into(), "N2".into(), true)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_run_finishes_the_bulk_request_in_flight_and_starts_no_other() {
    let server = FaultServer::start().await;
    server.offer_bulk(bulk_server(2, 1 << 20));
    // The first bulk request takes 400 ms; the run is cancelled 150 ms into it.
    server.fault(
        "POST",
        "/Bulk",
        None,
        Fault::SlowThenApply(std::time::Duration::from_millis(400)),
        1,
    );
    let setup = project(&server.url, "concurrency = 1", &people(6));
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
        (applied.created, applied.not_started, applied.failures.len()),
        (2, 4, 0)
    );
    assert_eq!(server.bulk_requests().len(), 1);
    assert_eq!(
        names(&server)
            .iter()
            .map(|n| n.0.as_str())
            .collect::<Vec<_>>(),
        ["u1@x", "u2@x"]
    );
    let state = setup.state();
    assert_eq!(state.users.len(), 2);
    assert!(state.pending.is_empty(), "never sent: not pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_operation_answered_404_is_looked_up_and_created_again() {
    let server = FaultServer::start().await;
    server.offer_bulk(bulk_server(10, 1 << 20));
    let setup = project(&server.url, "concurrency = 1", &people(2));
    setup.run().await.unwrap();
    let removed = id_of(&server, "u2@x");
    server.remove_user(&removed);
    server.clear_log();
    let mut changed = people(2);
    changed[0]["last"] = json!("N1");
    changed[1]["last"] = json!("N2");
    setup.users(&changed);
    let report = setup.run().await.unwrap();
    let applied = report.applied.unwrap();
    assert_eq!(
        (applied.updated, applied.created, applied.failures.len()),
        (1, 1, 0),
        "{applied:?}"
    );
    // Both PATCHes in one bulk request; u2's answered 404: looked up, then created (one
    // write: alone, not in a bulk request).
    assert_eq!(
        server.trace(),
        [
            "GET /v2/ServiceProviderConfig 200",
            "POST /v2/Bulk 200",
            "GET /v2/Users 200",
            "POST /v2/Users 201",
        ]
    );
    assert_eq!(
        names(&server),
        [
            ("u1@x".into(), "N1".into(), true),
            ("u2@x".into(), "N2".into(), true)
        ]
    );
}
