//! Properties of the mapping language, checked with proptest over generated input (256 cases
//! per property by default; `PROPTEST_CASES=N` for a longer run). The fuzz target in `fuzz/`
//! explores the same ground without a time limit.
//!
//! - compiling any text, as a `.map` file or as an expression in either dialect, returns
//!   (never panics), and every diagnostic's spans lie within the text, on character
//!   boundaries, and render;
//! - evaluating any record through every shipped preset returns, and a mapped user only holds
//!   values for paths the plan says it writes;
//! - a string literal written with the dialect's quoting rules parses back to the same string.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use proptest::prelude::*;

use scimsync::mapping::{self, Diagnostic, Dialect, Env, Outcome, Plan, SourceFile};
use scimsync::record::Record;
use scimsync::value::Value;

/// Fragments of `.map` syntax, so generated files get past the first token often enough to
/// exercise the parser and checker in depth, mixed with arbitrary text.
const MAP_FRAGMENTS: &[&str] = &[
    "userName",
    " <- ",
    "<-",
    "user.email",
    "user.",
    "[mail]",
    "[",
    "]",
    "(",
    ")",
    "{",
    "}",
    ",",
    "\"",
    "'",
    "\\",
    "\n",
    "\n  ",
    " ",
    "#",
    "dialect okta\n",
    "dialect entra\n",
    "dialect ",
    "extension b = \"urn:b:2.0\"\n",
    "b:role",
    "match ",
    "scope ",
    "target \"T\"\n",
    "one of ",
    "\"admin\"",
    "as integer",
    "as ",
    "on create",
    "default ",
    "always",
    "?",
    ":",
    "?:",
    "==",
    "=",
    "<>",
    "!=",
    "&&",
    "||",
    "!",
    "&",
    "+",
    "-",
    "*",
    "/",
    "%",
    "matches",
    "AND",
    "or",
    "String.toLowerCase(",
    "Convert.toInt(",
    "isMemberOfGroupName(",
    "Switch(",
    "IIF(",
    "SingleAppRoleAssignment(",
    "Join(",
    "Coalesce(",
    "&HF",
    "1",
    "0",
    "-9223372036854775808",
    "99999999999999999999",
    "1.5",
    "true",
    "null",
    "emails[type eq \"work\"].value",
    "name.givenName",
    "enterprise:department",
    "urn:x:",
    "é",
    "王",
    "\u{200b}",
    "\t",
    "\r\n",
];

fn map_text() -> impl Strategy<Value = String> {
    prop_oneof![
        // Arbitrary Unicode.
        any::<String>(),
        // Token soup.
        prop::collection::vec(prop::sample::select(MAP_FRAGMENTS), 0..40)
            .prop_map(|parts| parts.concat()),
        // Token soup with arbitrary text spliced in.
        (
            prop::collection::vec(prop::sample::select(MAP_FRAGMENTS), 0..30),
            any::<String>(),
            any::<prop::sample::Index>()
        )
            .prop_map(|(parts, noise, at)| {
                let mut parts: Vec<String> = parts.into_iter().map(str::to_owned).collect();
                let i = at.index(parts.len() + 1);
                parts.insert(i, noise);
                parts.concat()
            }),
    ]
}

fn dialect() -> impl Strategy<Value = Dialect> {
    prop::sample::select(Dialect::ALL.to_vec())
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        prop_oneof![Just(0), Just(-1), Just(500), Just(i64::MAX), Just(i64::MIN)]
            .prop_map(Value::Int),
        any::<f64>().prop_map(Value::Float),
        any::<String>().prop_map(Value::Str),
        prop::sample::select(vec![
            "",
            "admin",
            "editor",
            "viewer",
            "owner",
            "ADMIN",
            "MEMBER",
            "0",
            "500",
            "-1",
            "lots",
            "12.5",
            "true",
            "False",
            " ",
            "ada@example.com",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop::collection::vec(inner, 0..4).prop_map(Value::List)
    })
}

/// A record whose attributes are drawn from `names` (so the plan finds them) and from
/// arbitrary names, with values of every kind.
fn record(names: Vec<String>) -> impl Strategy<Value = Record> {
    let name = prop_oneof![
        4 => prop::sample::select(names),
        1 => any::<String>(),
    ];
    (
        prop::collection::btree_map(name, value(), 0..24),
        prop::collection::vec(
            prop_oneof![
                prop::sample::select(vec!["Base44 Admins", "admins", "Everyone", ""])
                    .prop_map(str::to_owned),
                any::<String>()
            ],
            0..4,
        ),
        any::<bool>(),
        any::<String>(),
    )
        .prop_map(
            |(attrs, groups, active, id): (BTreeMap<String, Value>, _, _, _)| Record {
                attrs: attrs.into_iter().collect(),
                id,
                groups,
                group_ids: Vec::new(),
                active,
            },
        )
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

fn spans_within(diagnostics: &[Diagnostic], text: &str) -> Result<(), TestCaseError> {
    for d in diagnostics {
        for label in std::iter::once(&d.primary).chain(&d.secondary) {
            let span = label.span;
            prop_assert!(
                span.start <= span.end && span.end <= text.len(),
                "{:?} {}..{} outside a text of {} bytes: {}",
                d.code,
                span.start,
                span.end,
                text.len(),
                d.message
            );
            prop_assert!(
                text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
                "{:?} {}..{} splits a character: {}",
                d.code,
                span.start,
                span.end,
                d.message
            );
        }
    }
    Ok(())
}

/// Every shipped preset, compiled once.
fn presets() -> Vec<(String, Plan)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/mappings");
    let mut presets: Vec<(String, Plan)> = std::fs::read_dir(dir)
        .expect("mappings/")
        .map(|entry| {
            let path = entry.expect("dir entry").path();
            let text = std::fs::read_to_string(&path).expect("read preset");
            let name = path.display().to_string();
            let plan = mapping::compile(&SourceFile::new(name.clone(), text))
                .unwrap_or_else(|_| panic!("{name} compiles"));
            (name, plan)
        })
        .collect();
    presets.sort_by(|a, b| a.0.cmp(&b.0));
    presets
}

proptest! {
    #[test]
    fn compiling_any_map_text_returns_with_spans_inside_the_file(text in map_text()) {
        let file = SourceFile::new("fuzz.map", text.clone());
        if let Err(diagnostics) = mapping::compile(&file) {
            prop_assert!(!diagnostics.is_empty(), "a failed compile says why");
            spans_within(&diagnostics, &text)?;
            let rendered = mapping::render_all(&diagnostics, &file);
            prop_assert!(rendered.contains("fuzz.map:"));
        }
    }

    #[test]
    fn compiling_any_expression_returns_and_evaluating_it_returns(
        text in map_text(),
        dialect in dialect(),
        record in record(vec!["email".into(), "mail".into(), "role".into(), "status".into()]),
    ) {
        match mapping::compile_expression(&text, dialect) {
            Ok(plan) => {
                let env = Env::at(&record, now());
                let _ = plan.evaluate(&env);
            }
            Err(diagnostics) => {
                prop_assert!(!diagnostics.is_empty(), "a failed compile says why");
                spans_within(&diagnostics, &text)?;
            }
        }
    }

    #[test]
    fn string_literals_parse_back_to_the_same_string(s in any::<String>(), dialect in dialect()) {
        // The quoting rules the README documents: Okta doubles the quote, Entra escapes `\`
        // and `"` with a backslash.
        let literal = match dialect {
            Dialect::Okta | Dialect::Okta2 => format!("\"{}\"", s.replace('"', "\"\"")),
            Dialect::Entra => format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")),
        };
        let plan = mapping::compile_expression(&literal, dialect)
            .map_err(|d| TestCaseError::fail(format!("{literal:?} does not compile: {}", d[0].message)))?;
        let empty = Record::default();
        let value = plan.evaluate(&Env::at(&empty, now()));
        prop_assert_eq!(value, Ok(Value::Str(s)));
    }
}

#[test]
fn evaluating_any_record_through_every_preset_returns() {
    let presets = presets();
    let mut names: Vec<String> = presets
        .iter()
        .flat_map(|(_, plan)| plan.facts.reads.iter().cloned())
        .collect();
    names.sort();
    names.dedup();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::default());
    runner
        .run(&record(names), |record| {
            let env = Env::at(&record, now());
            for (name, plan) in &presets {
                match plan.evaluate(&record, &env) {
                    Ok(Outcome::Mapped(user)) => {
                        for value in &user.values {
                            prop_assert!(
                                plan.facts.writes.contains(&value.path),
                                "{name}: {} is not among the paths the plan writes",
                                value.path
                            );
                            prop_assert!(
                                !value.value.is_null(),
                                "{name}: null flowed to {}",
                                value.path
                            );
                        }
                    }
                    Ok(Outcome::OutOfScope) => {}
                    Err(failure) => prop_assert!(
                        plan.facts.fallible.iter().any(|p| p.line == failure.line)
                            || failure.rule == "scope",
                        "{name}: rule {} failed but the plan does not list it as fallible: {}",
                        failure.rule,
                        failure.message
                    ),
                }
            }
            Ok(())
        })
        .unwrap();
}
