//! Bad input gets one clear message naming the file, field or URL (never the token), exit
//! code 1, and no write to the target. A real scim2-server counts the writes.

use crate::support;

use support::{Project, ScimServer, scimsync};

const MAPPING: &str = "userName <- user.email\n";
const EXPORT: &str = r#"[{"id":"00u1","status":"ACTIVE","profile":{"email":"a@example.com"}}]"#;

/// A project that would sync one user to `server` if nothing were wrong.
fn project(server: &ScimServer) -> (Project, String) {
    let project = Project::new();
    project.write("test.map", MAPPING);
    project.write("users.json", EXPORT);
    let config = project.config(&server.url).to_str().unwrap().to_owned();
    (project, config)
}

fn assert_refused(run: &support::Run, server: &ScimServer, expected: &[&str]) {
    assert_eq!(run.code, 1, "exit code, output:\n{}", run.all_output());
    for text in expected {
        assert!(
            run.stderr.contains(text),
            "stderr lacks {text:?}:\n{}",
            run.stderr
        );
    }
    assert!(
        !run.all_output().contains(&server.token),
        "the token leaked:\n{}",
        run.all_output()
    );
    assert_eq!(server.writes(), 0, "nothing may be written");
}

#[test]
fn broken_mapping_is_reported_with_location_and_nothing_is_written() {
    let server = ScimServer::start();
    let (project, config) = project(&server);
    project.write(
        "test.map",
        "userName <- user.email\ndisplayName <- String.toLowerCase(user.name\n",
    );
    let run = scimsync(&["sync", "--config", &config], Some(&server.token));
    assert_refused(
        &run,
        &server,
        &["test.map:2:", ": error[E0001]: ", "nothing was written"],
    );
}

#[test]
fn config_missing_key_names_file_and_key() {
    let server = ScimServer::start();
    let (project, _) = project(&server);
    let config = project.write(
        "scimsync.toml",
        &format!("[source]\nkind = \"json\"\npath = \"users.json\"\n[target]\nurl = \"{}\"\ntoken_env = \"SCIMSYNC_TEST_TOKEN\"\n[state]\npath = \"state\"\n", server.url),
    );
    let run = scimsync(
        &["sync", "--config", config.to_str().unwrap()],
        Some(&server.token),
    );
    assert_refused(&run, &server, &["scimsync.toml", "missing field `mapping`"]);
}

#[test]
fn missing_token_variable_is_named() {
    let server = ScimServer::start();
    let (_project, config) = project(&server);
    let run = scimsync(&["sync", "--config", &config], None);
    assert_refused(
        &run,
        &server,
        &["environment variable SCIMSYNC_TEST_TOKEN is not set"],
    );
}

#[test]
fn malformed_export_names_file_and_record() {
    let server = ScimServer::start();
    let (project, config) = project(&server);
    project.write(
        "users.json",
        r#"[{"id":"00u1","profile":{"email":"a@example.com"}}, {"profile":{}}]"#,
    );
    let run = scimsync(&["sync", "--config", &config], Some(&server.token));
    assert_refused(
        &run,
        &server,
        &["users.json, record 1 (line 1): missing `id`"],
    );
    project.write("users.json", "[{\"id\": \"00u1\",");
    let run = scimsync(&["sync", "--config", &config], Some(&server.token));
    assert_refused(
        &run,
        &server,
        &["users.json is not valid JSON (line 1): record 0: the file ends inside a record"],
    );
    std::fs::remove_file(project.path("users.json")).unwrap();
    let run = scimsync(&["sync", "--config", &config], Some(&server.token));
    assert_refused(&run, &server, &["cannot read export", "users.json"]);
}

#[test]
fn wrong_token_is_refused_by_the_target_and_not_echoed() {
    let server = ScimServer::start();
    let (_project, config) = project(&server);
    let run = scimsync(&["sync", "--config", &config, "-vv"], Some("not-the-token"));
    assert_refused(&run, &server, &["HTTP 401", &server.url]);
    assert!(
        !run.all_output().contains("not-the-token"),
        "{}",
        run.all_output()
    );
}

#[test]
fn token_never_appears_in_any_output() {
    let server = ScimServer::start();
    let (_project, config) = project(&server);
    for args in [
        vec!["sync", "--config", &config, "--dry-run", "-vv"],
        vec!["sync", "--config", &config, "-vv", "--output", "json"],
    ] {
        let run = scimsync(&args, Some(&server.token));
        assert_eq!(run.code, 0, "{}", run.all_output());
        assert!(
            !run.all_output().contains(&server.token),
            "the token leaked:\n{}",
            run.all_output()
        );
    }
}

#[test]
fn unreachable_target_is_named_and_nothing_is_written() {
    // A loopback port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/v2");
    let project = Project::new();
    project.write("test.map", MAPPING);
    project.write("users.json", EXPORT);
    let config = project.config(&url);
    let run = scimsync(&["sync", "--config", config.to_str().unwrap()], Some("tok"));
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(
        run.stderr
            .contains(&format!("cannot reach http://127.0.0.1:{port}/v2/Users")),
        "{}",
        run.stderr
    );
    assert!(
        support::state_json(&project.path("state"), None).is_none(),
        "no state is written for a failed run"
    );
}

#[test]
fn empty_export_never_deactivates_managed_users() {
    let server = ScimServer::start();
    let (project, config) = project(&server);
    let run = scimsync(&["sync", "--config", &config], Some(&server.token));
    assert_eq!(run.code, 0, "{}", run.all_output());
    let writes = server.writes();
    project.write("users.json", "[]");
    let run = scimsync(&["sync", "--config", &config], Some(&server.token));
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(
        run.stderr.contains(
            "refusing to sync: the source has no users, which would deactivate 1 managed user(s)"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(server.writes(), writes);
}

/// Users are mapped while the export is still being read: a broken record far into the file,
/// after whole batches of good users were handed over, still stops the run before any write.
#[test]
fn export_broken_after_many_good_users_writes_nothing() {
    let server = ScimServer::start();
    let (project, config) = project(&server);
    let mut lines: String = (0..1000)
        .map(|i| {
            format!(
                "{{\"id\":\"00u{i}\",\"status\":\"ACTIVE\",\"profile\":{{\"email\":\"u{i}@example.com\"}}}}\n"
            )
        })
        .collect();
    lines.push_str("{\"id\":\"00uX\",\"status\":\"ACTIVE\",\"profile\":\n");
    project.write("users.jsonl", &lines);
    let config_text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("users.json", "users.jsonl");
    std::fs::write(&config, config_text).unwrap();
    let run = scimsync(&["sync", "--config", &config], Some(&server.token));
    assert_refused(
        &run,
        &server,
        &["users.jsonl is not valid JSON (line 1001", "record 1000"],
    );
}

/// Hostile mappings a few KB long: 350 nested `(`, 350 nested `{`, a 7,000-term `+` chain,
/// 7,000 `!`, and 400 chained conditionals, each with the column of its first level too many:
/// the 65th bracket or `?`; the 64th `+` (the sum is level 1); the 63rd `!` (the condition
/// it starts is level 2, under its `? :`).
fn too_deep_mappings() -> Vec<(&'static str, String, usize)> {
    let rule = |expr: String| format!("userName <- {expr}\n");
    vec![
        (
            "parens",
            rule(format!("{}user.email{}", "(".repeat(350), ")".repeat(350))),
            13 + 64,
        ),
        (
            "braces",
            rule(format!("{}user.email{}", "{".repeat(350), "}".repeat(350))),
            13 + 64,
        ),
        (
            "plus chain",
            rule(format!("user.email{}", " + 'x'".repeat(7000))),
            24 + 6 * 63,
        ),
        (
            "not chain",
            rule(format!("{}user.active ? 'a' : 'b'", "!".repeat(7000))),
            13 + 62,
        ),
        (
            "conditional chain",
            rule(format!("{}'x'", "user.a ? 'y' : ".repeat(400))),
            13 + 7 + 15 * 64,
        ),
    ]
}

/// Every command that reads a `.map` file refuses one nested too deeply with exit 1 (not an
/// abort by stack overflow), its E0007 diagnostic at file:line:col, and writes nothing.
#[test]
fn mappings_nested_too_deeply_are_refused_by_every_command() {
    let server = ScimServer::start();
    let (project, config) = project(&server);
    let map = project.path("test.map").to_str().unwrap().to_owned();
    let users = project.path("users.json").to_str().unwrap().to_owned();
    for (what, text, column) in too_deep_mappings() {
        project.write("test.map", &text);
        let expected = format!(
            "test.map:1:{column}: error[E0007]: this expression nests more than 64 levels deep"
        );
        let runs = [
            ("check", scimsync(&["check", &map], None)),
            (
                "sync --dry-run",
                scimsync(
                    &["sync", "--dry-run", "--config", &config],
                    Some(&server.token),
                ),
            ),
            (
                "sync",
                scimsync(&["sync", "--config", &config], Some(&server.token)),
            ),
            (
                "map",
                scimsync(&["map", "--mapping", &map, "--input", &users], None),
            ),
            (
                "explain",
                scimsync(&["explain", "--mapping", &map, "--record", "{}"], None),
            ),
            ("fmt", scimsync(&["fmt", &map], None)),
        ];
        for (command, run) in runs {
            assert_eq!(run.code, 1, "{what}, {command}: {}", run.stderr);
            assert!(
                run.stderr.contains(&expected),
                "{what}, {command}: stderr lacks {expected:?}:\n{}",
                &run.stderr[..run.stderr.len().min(2000)]
            );
            assert!(
                run.stderr.contains("= help: each bracket, call, `?` and chained operator is one level, and at most 64 are allowed"),
                "{what}, {command}"
            );
        }
        assert_eq!(
            std::fs::read_to_string(&map).unwrap(),
            text,
            "{what}: fmt left the file alone"
        );
        assert_eq!(server.writes(), 0, "{what}: nothing may be written");
    }
}

#[test]
fn expressions_nested_too_deeply_are_refused_by_eval() {
    let cases = [
        (
            format!("{}1{}", "(".repeat(350), ")".repeat(350)),
            "okta",
            65,
        ),
        (
            format!("{}1{}", "{".repeat(350), "}".repeat(350)),
            "okta",
            65,
        ),
        (
            format!("user.email{}", " + 'x'".repeat(7000)),
            "okta2",
            12 + 6 * 63,
        ),
        (
            format!("[mail]{}", " & \"x\"".repeat(7000)),
            "entra",
            8 + 6 * 63,
        ),
        (
            format!("{}[mail]{}", "ToLower(".repeat(350), ")".repeat(350)),
            "entra",
            8 * 64 + 8,
        ),
    ];
    for (expr, dialect, column) in cases {
        let run = scimsync(&["eval", "--dialect", dialect, "--expr", &expr], None);
        assert_eq!(run.code, 1, "{dialect}: {}", run.stderr);
        let expected = format!(
            "<expr>:1:{column}: error[E0007]: this expression nests more than 64 levels deep"
        );
        assert!(
            run.stderr.starts_with(&expected),
            "{dialect}: stderr does not start with {expected:?}:\n{}",
            &run.stderr[..run.stderr.len().min(500)]
        );
    }
}

/// A record nested past serde_json's limit (kept on: it is what bounds parsing, converting
/// and dropping a record) stops the run with the record named, before any write; one at the
/// limit is mapped.
#[test]
fn export_records_nested_too_deeply_are_refused_before_any_write() {
    let server = ScimServer::start();
    let (project, config) = project(&server);
    project.write(
        "test.map",
        "userName <- user.email\ndisplayName <- user.nested + ''\n",
    );
    let record = |id: &str, depth: usize| {
        format!(
            r#"{{"id":"{id}","status":"ACTIVE","profile":{{"email":"{id}@example.com","nested":{}1{}}}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        )
    };
    // The record and its profile are two of the 127 levels.
    let at_limit = record("00u1", 125);
    let users = project.path("users.json").to_str().unwrap().to_owned();
    project.write("users.json", &format!("[{at_limit}]"));
    let run = scimsync(
        &[
            "map",
            "--mapping",
            project.path("test.map").to_str().unwrap(),
            "--input",
            &users,
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains(&format!(
            r#""displayName":"{}1{}""#,
            "[".repeat(125),
            "]".repeat(125)
        )),
        "{}",
        run.stdout
    );

    for depth in [126, 10_000] {
        let deep = record("00u2", depth);
        project.write("users.json", &format!("[{at_limit},\n{deep}]"));
        let run = scimsync(&["sync", "--config", &config], Some(&server.token));
        // Where the 126th `[` opens the 128th level.
        let column = deep.find('[').unwrap() + 126;
        assert_refused(
            &run,
            &server,
            &[&format!(
                "error: export {users} is not valid JSON (line 2, column {column}): record 1: arrays and objects nested more than 127 levels deep"
            )],
        );
    }
}
