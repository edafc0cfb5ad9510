//! The command-line forms other tooling relies on: `check` and `eval`, their output and
//! exit codes.

use crate::support;

use support::{Project, repo, scimsync};

#[test]
fn check_passes_valid_files_and_reports_every_error_of_every_file() {
    let project = Project::new();
    let good = project.write("good.map", "userName <- user.email\n");
    let bad = project.write(
        "bad.map",
        "userName <- String.toLowerCas(user.email)\ntitle <- user.title onn create\n",
    );
    let run = scimsync(&["check", good.to_str().unwrap()], None);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, format!("{}: ok (1 rules)\n", good.display()).as_str())
    );

    let run = scimsync(
        &["check", good.to_str().unwrap(), bad.to_str().unwrap()],
        None,
    );
    assert_eq!(run.code, 1);
    let bad_name = bad.display().to_string();
    let expected = format!(
        "{bad_name}:1:13: error[E0201]: unknown function `String.toLowerCas`
   |
 1 | userName <- String.toLowerCas(user.email)
   |             ^^^^^^^^^^^^^^^^^ not an Okta function
   = help: did you mean `String.toLowerCase`?
{bad_name}:2:21: error[E0001]: expected a rule option, an operator or the end of the statement, found `onn`
   |
 2 | title <- user.title onn create
   |                     ^^^ unexpected here
   = help: after the expression a rule may have options: `on create`, `always`, `default VALUE`, `one of \"a\", \"b\"`, `as integer`
"
    );
    assert_eq!(run.stderr, expected);
}

#[test]
fn shipped_mappings_check_clean() {
    let mut files: Vec<String> = std::fs::read_dir(repo().join("mappings"))
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .filter(|p| p.ends_with(".map"))
        .collect();
    files.push(
        repo()
            .join("examples/quickstart/quickstart.map")
            .display()
            .to_string(),
    );
    let args: Vec<&str> = std::iter::once("check")
        .chain(files.iter().map(String::as_str))
        .collect();
    let run = scimsync(&args, None);
    assert_eq!(run.code, 0, "{}", run.all_output());
}

#[test]
fn shipped_example_configs_check_clean() {
    let dir = repo().join("examples/many-targets");
    let run = support::scimsync_in(&["check", "--config", "scimsync.toml"], None, Some(&dir));
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (
            0,
            "../../mappings/base44-okta.map: ok (3 rules)\n\
             ../../mappings/appspace-okta.map: ok (10 rules)\n\
             ../../mappings/activepieces-okta.map: ok (6 rules)\n",
            ""
        )
    );
    let dir = repo().join("examples/quickstart");
    let run = support::scimsync_in(&["check", "--config", "scimsync.toml"], None, Some(&dir));
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "quickstart.map: ok (10 rules)\n", "")
    );
}

/// The configuration chapter's complete example is the shipped one, from `[source]` on (the
/// file's opening comments aside), so the book cannot show a config that no test checks.
#[test]
fn configuration_chapter_shows_the_shipped_example() {
    let chapter = std::fs::read_to_string(repo().join("docs/configuration.md")).unwrap();
    let section = &chapter[chapter.find("## A complete example").unwrap()..];
    let start = section.find("```toml\n").unwrap() + "```toml\n".len();
    let shown = &section[start..start + section[start..].find("```").unwrap()];
    let shipped =
        std::fs::read_to_string(repo().join("examples/many-targets/scimsync.toml")).unwrap();
    let shipped = &shipped[shipped.find("[source]").unwrap()..];
    assert_eq!(shown, shipped);
}

/// The README's example config, with its `base44.map` beside it and the Appspace preset as
/// `appspace.map`, is a valid config.
#[test]
fn readme_example_config_checks_clean() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let block = |lang: &str| {
        let open = format!("```{lang}\n");
        let start = readme.find(&open).unwrap() + open.len();
        let len = readme[start..].find("```").unwrap();
        readme[start..start + len].to_owned()
    };
    let project = Project::new();
    project.write("base44.map", &block("text"));
    let appspace = std::fs::read_to_string(repo().join("mappings/appspace-okta.map")).unwrap();
    project.write("appspace.map", &appspace);
    project.write("scimsync.toml", &block("toml"));
    let run = support::scimsync_in(
        &["check", "--config", "scimsync.toml"],
        None,
        Some(project.dir.path()),
    );
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (
            0,
            "base44.map: ok (5 rules)\nappspace.map: ok (10 rules)\n",
            ""
        )
    );
}

fn eval(dialect: &str, expr: &str, record: &str) -> support::Run {
    scimsync(
        &[
            "eval",
            "--dialect",
            dialect,
            "--expr",
            expr,
            "--record",
            record,
        ],
        None,
    )
}

#[test]
fn eval_prints_one_json_value() {
    let cases = [
        (
            "okta",
            "String.toLowerCase(user.email)",
            r#"{"email":"Ann@X.COM"}"#,
            "\"ann@x.com\"\n",
        ),
        (
            "okta",
            r#"isMemberOfGroupName("Eng") ? "editor" : "viewer""#,
            r#"{"groups":["Eng"]}"#,
            "\"editor\"\n",
        ),
        ("okta", "user.missing", "{}", "null\n"),
        ("okta", "String.len(user.n) + 1", r#"{"n":"abc"}"#, "4\n"),
        (
            "entra",
            "[userPrincipalName]",
            r#"{"userPrincipalName":"a@x"}"#,
            "\"a@x\"\n",
        ),
        (
            "entra",
            r#"Join(", ", "", [sn], [gn])"#,
            r#"{"sn":"Doe","gn":"John"}"#,
            "\"Doe, John\"\n",
        ),
        (
            "entra",
            r#"Switch([c], "Other", "US", "United States", "", "none")"#,
            "{}",
            "\"none\"\n",
        ),
        (
            "entra",
            r#"IIF([a] = "1", "yes", "no")"#,
            r#"{"a":1}"#,
            "\"yes\"\n",
        ),
        (
            "entra",
            "SingleAppRoleAssignment([appRoleAssignments])",
            r#"{"appRoleAssignments":["editor"]}"#,
            "\"editor\"\n",
        ),
        ("entra", r#""say \"hi\"""#, "{}", "\"say \\\"hi\\\"\"\n"),
        ("okta", r#""say ""hi""""#, "{}", "\"say \\\"hi\\\"\"\n"),
        (
            "okta",
            r#""XDOMAIN\" + user.u"#,
            r#"{"u":"ann"}"#,
            "\"XDOMAIN\\\\ann\"\n",
        ),
    ];
    for (dialect, expr, record, want) in cases {
        let run = eval(dialect, expr, record);
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (0, want),
            "{dialect} {expr}: {}",
            run.stderr
        );
    }
}

#[test]
fn eval_reports_parse_check_and_runtime_errors() {
    let run = eval("okta", "String.toLowerCase(", "{}");
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .starts_with("<expr>:1:20: error[E0001]: unclosed `(`\n"),
        "{}",
        run.stderr
    );
    let run = eval("entra", "Frobnicate([x])", "{}");
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .starts_with("<expr>:1:1: error[E0201]: unknown function `Frobnicate`\n"),
        "{}",
        run.stderr
    );
    let run = eval("okta", "Convert.toInt(user.n)", r#"{"n":"lots"}"#);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "<expr>:1:1: error[E0401]: Convert.toInt: \"lots\" is not a number\n   |\n 1 | Convert.toInt(user.n)\n   | ^^^^^^^^^^^^^^^^^^^^^ failed here\n"
    );
    let run = eval("okta", "user.x", "[1]");
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (1, "error: --record must be a JSON object\n")
    );
    let run = scimsync(&["eval", "--dialect", "vba", "--expr", "1"], None);
    assert_eq!(run.code, 2, "usage errors are clap's exit code 2");
}

#[test]
fn eval_accepts_an_injected_clock() {
    let run = scimsync(
        &[
            "eval",
            "--dialect",
            "okta",
            "--expr",
            "\"ok\"",
            "--now",
            "2026-01-02T03:04:05Z",
        ],
        None,
    );
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "\"ok\"\n"),
        "{}",
        run.stderr
    );
    let run = scimsync(
        &[
            "eval",
            "--dialect",
            "okta",
            "--expr",
            "1",
            "--now",
            "yesterday",
        ],
        None,
    );
    assert_eq!(run.code, 2);
}

#[test]
fn map_writes_json_lines_and_reports_skipped_users_on_stderr() {
    let project = Project::new();
    let mapping = project.write(
        "m.map",
        "extension b = \"urn:b:2.0\"\nscope user.status != \"STAGED\"\nuserName <- user.login\nb:limit <- user.limit as integer\n",
    );
    let export = project.write(
        "users.jsonl",
        concat!(
            r#"{"id":"1","status":"ACTIVE","profile":{"login":"ann@x","limit":"5"}}"#,
            "\n",
            r#"{"id":"2","status":"ACTIVE","profile":{"login":"bob@x","limit":"lots"}}"#,
            "\n\n",
            r#"{"id":"3","status":"STAGED","profile":{"login":"cy@x"}}"#,
            "\n",
            r#"{"id":"4","status":"SUSPENDED","profile":{"login":"dee@x"}}"#,
            "\n",
        ),
    );
    let run = map(&mapping, &export);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        concat!(
            r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:b:2.0"],"userName":"ann@x","urn:b:2.0":{"limit":5},"active":true}"#,
            "\n",
            r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"dee@x","active":false}"#,
            "\n",
        )
    );
    assert_eq!(
        run.stderr,
        format!(
            "skipped 2 (bob@x): rule `b:limit` ({}:4): \"lots\" is not a valid integer\nread 4 users: 2 written, 1 skipped, 1 out of scope\n",
            mapping.display()
        )
    );
}

#[test]
fn map_reads_json_arrays_and_stops_on_a_malformed_export() {
    let project = Project::new();
    let mapping = project.write("m.map", "userName <- user.mail\n");
    let export = project.write(
        "users.json",
        r#"[{"id":"a","mail":"a@x"},{"id":"b","mail":"b@x","active":false}]"#,
    );
    let args = |input: &str| {
        vec![
            "map".to_owned(),
            "--mapping".into(),
            mapping.display().to_string(),
            "--input".into(),
            input.to_owned(),
            "--format".into(),
            "plain".into(),
        ]
    };
    let run_with =
        |a: Vec<String>| scimsync(&a.iter().map(String::as_str).collect::<Vec<_>>(), None);
    let run = run_with(args(export.to_str().unwrap()));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"a@x\",\"active\":true}\n{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"b@x\",\"active\":false}\n"
    );

    let broken = project.write(
        "broken.jsonl",
        "{\"id\":\"a\",\"mail\":\"a@x\"}\n{\"id\":\"b\",\n",
    );
    let run = run_with(args(broken.to_str().unwrap()));
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        format!(
            "error: export {} is not valid JSON (line 2, column 10): record 1: EOF while parsing a value\n",
            broken.display()
        )
    );

    let run = run_with(args(project.path("missing.json").to_str().unwrap()));
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with("error: cannot read export "),
        "{}",
        run.stderr
    );

    let bad_mapping = project.write("bad.map", "userName <- user.mail +\n");
    let run = map(&bad_mapping, &export);
    assert_eq!((run.code, run.stdout.as_str()), (1, ""));
    assert!(
        run.stderr.starts_with(&format!(
            "{}:1:24: error[E0001]: expected an expression",
            bad_mapping.display()
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn fmt_rewrites_in_place_and_check_lists_unformatted_files() {
    let project = Project::new();
    let messy = project.write(
        "messy.map",
        "userName<-user.email   # who\ntitle <- user.title on create\n",
    );
    let tidy = project.write("tidy.map", "userName <- user.email\n");
    let broken = project.write("broken.map", "userName <- (user.email\n");
    let paths = [&messy, &tidy].map(|p| p.display().to_string());

    let run = scimsync(&["fmt", "--check", &paths[0], &paths[1]], None);
    assert_eq!(
        (run.code, run.stdout.clone()),
        (1, format!("{}\n", paths[0]))
    );
    assert_eq!(
        std::fs::read_to_string(&messy).unwrap(),
        "userName<-user.email   # who\ntitle <- user.title on create\n",
        "--check writes nothing"
    );

    let run = scimsync(&["fmt", &paths[0], &paths[1]], None);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "", "")
    );
    assert_eq!(
        std::fs::read_to_string(&messy).unwrap(),
        "userName <- user.email  # who\ntitle    <- user.title\n            on create\n"
    );
    let run = scimsync(&["fmt", "--check", &paths[0], &paths[1]], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""));

    let run = scimsync(&["fmt", broken.to_str().unwrap()], None);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("error[E0001]"), "{}", run.stderr);
    assert!(
        run.stderr
            .ends_with("broken.map: not formatted: fix the errors above first\n")
    );
    assert_eq!(
        std::fs::read_to_string(&broken).unwrap(),
        "userName <- (user.email\n"
    );
}

#[test]
fn check_facts_lists_what_a_mapping_reads_writes_and_can_fail_on() {
    let project = Project::new();
    let mapping = project.write(
        "m.map",
        "extension b = \"urn:b:2.0\"\nscope user.status == \"ACTIVE\"\nuserName <- String.toLowerCase(user.email)\nb:role <- isMemberOfGroupName(\"A\") ? \"admin\" : \"viewer\"\n  one of \"admin\", \"viewer\"\nb:limit <- user.limit as integer\n",
    );
    let run = scimsync(&["check", "--facts", mapping.to_str().unwrap()], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        format!(
            "{}: ok (3 rules)
  reads:  email, limit, status, (group memberships)
  writes: userName, b:role, b:limit
  can fail (the user is skipped):
    `b:role` (line 4): the result must be one of the allowed values
    `b:limit` (line 6): the result must convert to an integer
",
            mapping.display()
        )
    );
}

#[test]
fn eval_okta_time_reads_now_and_okta2_runs_methods() {
    let run = scimsync(
        &[
            "eval",
            "--dialect",
            "okta",
            "--expr",
            r#"Time.now("EST", "YYYY-MM-dd HH:mm:ss")"#,
            "--now",
            "2015-07-31T17:36:48Z",
        ],
        None,
    );
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "\"2015-07-31 13:36:48\"\n"),
        "{}",
        run.stderr
    );
    let run = eval(
        "okta2",
        r#"user.profile.login.substringBefore("@").toUpperCase()"#,
        r#"{"login":"ada@example.com"}"#,
    );
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "\"ADA\"\n"),
        "{}",
        run.stderr
    );
}

/// An Okta app-user export (`GET /apps/{id}/users?expand=user`) maps with `appuser.*` reading
/// the app user's profile and `user.*` the embedded Okta user.
#[test]
fn map_reads_app_user_profiles_through_appuser() {
    let project = Project::new();
    let mapping = project.write(
        "m.map",
        "extension b44 = \"urn:base44:params:scim:schemas:extension:user:2.0\"\nuserName <- user.login\nb44:role <- appuser.role\n  one of \"admin\", \"editor\", \"viewer\"\n",
    );
    let export = support::repo().join("tests/fixtures/exports/okta-app-users.json");
    let run = map(&mapping, &export);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        concat!(
            r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:base44:params:scim:schemas:extension:user:2.0"],"userName":"zoe@example.com","urn:base44:params:scim:schemas:extension:user:2.0":{"role":"admin"},"active":true}"#,
            "\n"
        )
    );
}

/// A read that looks like a typo is a warning on stderr: `check` still passes.
#[test]
fn check_warns_about_likely_misspelt_source_attributes() {
    let project = Project::new();
    let mapping = project.write("m.map", "dialect entra\nuserName <- [userPrincipleName]\n");
    let run = scimsync(&["check", mapping.to_str().unwrap()], None);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(run.stdout, format!("{}: ok (1 rules)\n", mapping.display()));
    assert_eq!(
        run.stderr,
        format!(
            "{}:2:13: warning[E0204]: `userPrincipleName` is not a standard Entra ID user attribute\n   |\n 2 | userName <- [userPrincipleName]\n   |             ^^^^^^^^^^^^^^^^^^^ read from the source as written\n   = help: did you mean `userPrincipalName`? A custom attribute of this name is fine; a misspelt one is always null\n",
            mapping.display()
        )
    );
}

/// `scimsync map --mapping MAPPING --input EXPORT`.
fn map(mapping: &std::path::Path, export: &std::path::Path) -> support::Run {
    scimsync(
        &[
            "map",
            "--mapping",
            mapping.to_str().unwrap(),
            "--input",
            export.to_str().unwrap(),
        ],
        None,
    )
}

#[test]
fn entra_expressions_past_ten_thousand_characters_are_refused() {
    // `"x" & ` repeated: a valid expression of any length.
    let expression = |chars: usize| {
        let mut text = "Join(\"\", \"x\"".to_owned();
        while text.chars().count() + 5 < chars {
            text.push_str(", \"x\"");
        }
        text.push_str(&" ".repeat(chars - 1 - text.chars().count()));
        text.push(')');
        assert_eq!(text.chars().count(), chars);
        text
    };
    let project = Project::new();
    let at_limit = project.write(
        "at_limit.map",
        &format!("dialect entra\nuserName <- {}\n", expression(10_000)),
    );
    let run = scimsync(&["check", at_limit.to_str().unwrap()], None);
    assert_eq!(run.code, 0, "{}", &run.stderr[..run.stderr.len().min(300)]);
    let past = project.write(
        "past.map",
        &format!("dialect entra\nuserName <- {}\n", expression(10_001)),
    );
    let run = scimsync(&["check", past.to_str().unwrap()], None);
    assert_eq!(run.code, 1);
    let headline = run.stderr.lines().next().unwrap_or_default().to_owned();
    assert_eq!(
        headline,
        format!(
            "{}:2:10013: error[E0208]: the expression is 10001 characters long; Entra accepts at most 10000",
            past.display()
        )
    );
    // The same for a lone expression; Okta's language has no such limit.
    let run = eval("entra", &expression(10_001), "{}");
    assert_eq!(run.code, 1);
    assert!(run.stderr.starts_with("<expr>:1:10001: error[E0208]"));
    let okta = format!("\"{}\"", "x".repeat(10_001));
    assert_eq!(eval("okta", &okta, "{}").code, 0);
}

#[test]
fn eval_reads_bare_okta_names_with_a_warning() {
    let run = eval(
        "okta",
        "firstName + \" \" + lastName",
        r#"{"firstName": "Ada", "lastName": "Lovelace"}"#,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "\"Ada Lovelace\"\n");
    assert!(
        run.stderr
            .starts_with("<expr>:1:1: warning[E0204]: `firstName` is read as `user.firstName`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("`lastName` is read as `user.lastName`"));
}

/// `state show | head`: the reader closing the pipe early ends `state show` quietly with
/// success, in both forms (a state larger than a pipe's buffer, so the write meets the close).
#[test]
fn state_show_into_a_pipe_closed_early_ends_quietly() {
    use std::io::Read as _;
    use std::process::{Command, Stdio};

    let project = Project::new();
    project.write("test.map", "userName = login\n");
    project.config("http://127.0.0.1:9/scim/v2");
    let users: serde_json::Map<String, serde_json::Value> = (0..5000)
        .map(|i| {
            (
                format!("user{i:05}"),
                serde_json::json!({
                    "id": format!("{i:032x}"),
                    "userName": format!("user{i:05}@example.com"),
                    "active": true,
                    "fingerprint": "63444c4ee951aced",
                }),
            )
        })
        .collect();
    let state = serde_json::json!({
        "version": 2,
        "target": "http://127.0.0.1:9/scim/v2",
        "users": users,
    });
    project.write("state/state.json", &state.to_string());

    for output in ["text", "json"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_scimsync"))
            .args([
                "state",
                "show",
                "--config",
                "scimsync.toml",
                "--output",
                output,
            ])
            .current_dir(project.dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn scimsync");
        let mut first = [0_u8; 64];
        let mut stdout = child.stdout.take().expect("stdout");
        stdout
            .read_exact(&mut first)
            .expect("the start of the output");
        drop(stdout);
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{output}: {stderr}");
        assert_eq!(stderr, "", "{output}");
    }
}
