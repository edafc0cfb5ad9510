//! Properties of the mapping language, checked with proptest over generated input (256 cases
//! per property by default; `PROPTEST_CASES=N` for a longer run). The fuzz target in `fuzz/`
//! explores the same ground without a time limit.
//!
//! - compiling any text, as a `.map` file or as an expression in either dialect, returns
//!   (never panics), and every diagnostic's spans lie within the text, on character
//!   boundaries, and render;
//! - evaluating any record through every shipped preset returns, and a mapped user only holds
//!   values for paths the plan says it writes;
//! - a string literal written with the dialect's quoting rules parses back to the same string;
//! - text nested up to 10,000 levels deep (brackets, calls, conditionals, operator chains) is
//!   refused with exactly one E0007 when it passes the depth limit and compiles otherwise,
//!   and never overflows the stack; argument and element lists up to 10,000 long (Entra's
//!   up to 1,900, within its 10,000 characters) compile and evaluate.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use proptest::prelude::*;

use scimsync_lang::mapping::depth::MAX_DEPTH;
use scimsync_lang::mapping::diagnostic::Code;
use scimsync_lang::mapping::format::format_file;
use scimsync_lang::mapping::{self, Diagnostic, Dialect, Env, Outcome, Plan, SourceFile};
use scimsync_lang::record::Record;
use scimsync_lang::value::Value;

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
    // The shipped presets are the scimsync crate's, at the workspace root.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../mappings");
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

/// Ways to nest text `n` levels deep.
#[derive(Clone, Copy, Debug)]
enum Nesting {
    Parens,
    Lists,
    OktaCalls,
    EntraCalls,
    Sum,
    Concat,
    Nots,
    Conditionals,
    Members,
}

impl Nesting {
    const ALL: [Nesting; 9] = [
        Nesting::Parens,
        Nesting::Lists,
        Nesting::OktaCalls,
        Nesting::EntraCalls,
        Nesting::Sum,
        Nesting::Concat,
        Nesting::Nots,
        Nesting::Conditionals,
        Nesting::Members,
    ];

    /// The expression, its dialect, and how many levels deep it nests (parentheses count
    /// for the parser, the rest for the tree).
    fn text(self, n: usize) -> (String, Dialect, usize) {
        let nest = |open: &str, inner: &str, close: &str| {
            format!("{}{inner}{}", open.repeat(n), close.repeat(n))
        };
        match self {
            Nesting::Parens => (nest("(", "1", ")"), Dialect::Okta, n),
            Nesting::Lists => (nest("{", "1", "}"), Dialect::Okta, n + 1),
            Nesting::OktaCalls => (
                nest("String.toUpperCase(", "'a'", ")"),
                Dialect::Okta,
                n + 1,
            ),
            Nesting::EntraCalls => (nest("ToUpper(", "\"a\"", ")"), Dialect::Entra, n + 1),
            Nesting::Sum => (format!("1{}", " + 1".repeat(n - 1)), Dialect::Okta2, n),
            Nesting::Concat => (
                format!("\"a\"{}", " & \"a\"".repeat(n - 1)),
                Dialect::Entra,
                n,
            ),
            Nesting::Nots => (format!("{}true", "!".repeat(n)), Dialect::Okta, n + 1),
            Nesting::Conditionals => (
                format!("{}1", "true ? 1 : ".repeat(n)),
                Dialect::Okta,
                n + 1,
            ),
            Nesting::Members => (format!("user{}", ".a".repeat(n)), Dialect::Okta, n + 1),
        }
    }
}

/// Depths around the limit as often as anywhere up to 10,000.
fn nesting() -> impl Strategy<Value = (Nesting, usize)> {
    (
        prop::sample::select(Nesting::ALL.to_vec()),
        prop_oneof![MAX_DEPTH - 3..MAX_DEPTH + 3, 1..10_000usize],
    )
}

/// `diagnostics` is exactly one E0007 whose span lies within `text`.
fn one_too_deep(diagnostics: &[Diagnostic], text: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(diagnostics.len(), 1, "{:?}", diagnostics);
    prop_assert_eq!(diagnostics[0].code, Code::TooDeep);
    spans_within(diagnostics, text)
}

proptest! {
    #[test]
    fn expressions_nested_past_the_limit_get_one_e0007_and_the_rest_compile(
        (nesting, n) in nesting(),
    ) {
        let (text, dialect, levels) = nesting.text(n);
        let record = Record::from_flat_json(
            "1".into(),
            serde_json::json!({"a": "x"}).as_object().expect("an object"),
        );
        match mapping::compile_expression(&text, dialect) {
            Ok(plan) if levels <= MAX_DEPTH => {
                prop_assert!(plan.evaluate(&Env::at(&record, now())).is_ok());
            }
            Ok(_) => prop_assert!(false, "{nesting:?} {n} deep compiled"),
            Err(diagnostics) if levels > MAX_DEPTH => one_too_deep(&diagnostics, &text)?,
            Err(diagnostics) => prop_assert!(false, "{:?} {} deep: {:?}", nesting, n, diagnostics),
        }
    }

    #[test]
    fn map_files_nested_past_the_limit_get_one_e0007_from_check_and_fmt(
        (nesting, n) in nesting(),
    ) {
        let (expr, dialect, levels) = nesting.text(n);
        let text = format!("dialect {dialect}\ndisplayName <- {expr}\nuserName <- \"a\"\n");
        let file = SourceFile::new("deep.map", text.clone());
        let too_deep = |diagnostics: &[Diagnostic]| {
            diagnostics.iter().any(|d| d.code == Code::TooDeep)
        };
        match mapping::compile(&file) {
            Err(diagnostics) if levels > MAX_DEPTH => {
                one_too_deep(&diagnostics, &text)?;
                let rendered = mapping::render_all(&diagnostics, &file);
                prop_assert!(rendered.starts_with("deep.map:2:"), "{}", rendered);
            }
            Err(diagnostics) => prop_assert!(!too_deep(&diagnostics), "{:?}", diagnostics),
            Ok(_) => prop_assert!(levels <= MAX_DEPTH),
        }
        match format_file(&file) {
            Err(mapping::format::FormatError::Syntax(diagnostics)) if levels > MAX_DEPTH => {
                one_too_deep(&diagnostics, &text)?;
            }
            Err(mapping::format::FormatError::Syntax(diagnostics)) => {
                prop_assert!(false, "{:?}", diagnostics);
            }
            other => prop_assert!(levels <= MAX_DEPTH && other.is_ok(), "{:?}", other.err()),
        }
    }

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

/// The worst case every stage can meet, nesting right at the limit, and text far past it, on
/// a thread with a tokio worker's 2 MiB stack (whatever RUST_MIN_STACK says): compiling,
/// formatting, evaluating and dropping all return.
#[test]
fn every_nesting_at_and_past_the_limit_fits_a_worker_thread_stack() {
    let worker = std::thread::Builder::new().stack_size(2 << 20).spawn(|| {
        let record = Record::from_flat_json(
            "1".into(),
            serde_json::json!({"a": "x"})
                .as_object()
                .expect("an object"),
        );
        for nesting in Nesting::ALL {
            // The `n` that nests exactly MAX_DEPTH levels, then deeper.
            let at_limit = (1..=MAX_DEPTH)
                .find(|&n| nesting.text(n).2 == MAX_DEPTH)
                .expect("a size at the limit");
            for n in [at_limit, at_limit + 1, 350, 7_000, 20_000] {
                let (expr, dialect, levels) = nesting.text(n);
                let file = SourceFile::new(
                    "deep.map",
                    format!("dialect {dialect}\ndisplayName <- {expr}\nuserName <- \"a\"\n"),
                );
                let compiled = mapping::compile(&file);
                let formatted = format_file(&file);
                match mapping::compile_expression(&expr, dialect) {
                    Ok(plan) => {
                        assert_eq!(levels, MAX_DEPTH, "{nesting:?} {n}");
                        plan.evaluate(&Env::at(&record, now()))
                            .unwrap_or_else(|e| panic!("{nesting:?} {n}: {}", e.message));
                        assert!(formatted.is_ok() && compiled.is_ok(), "{nesting:?} {n}");
                    }
                    Err(diagnostics) => {
                        assert!(levels > MAX_DEPTH, "{nesting:?} {n}: {diagnostics:?}");
                        assert_eq!(diagnostics[0].code, Code::TooDeep, "{nesting:?} {n}");
                        assert!(compiled.is_err() && formatted.is_err(), "{nesting:?} {n}");
                    }
                }
            }
        }
    });
    worker
        .expect("spawn")
        .join()
        .expect("no stack overflow, no panic");
}

proptest! {
    // Each case compiles and evaluates lists of up to 10,000 items, several times.
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn long_argument_and_element_lists_compile_and_evaluate(n in 1..10_000usize) {
        let empty = Record::default();
        let eval = |text: &str, dialect: Dialect| -> Result<Value, String> {
            let plan = mapping::compile_expression(text, dialect)
                .map_err(|d| format!("{} args: {:?}", n, d.first()))?;
            plan.evaluate(&Env::at(&empty, now())).map_err(|e| e.message)
        };
        let okta = format!("String.join(','{})", ", 'a'".repeat(n));
        prop_assert_eq!(eval(&okta, Dialect::Okta), Ok(Value::Str(vec!["a"; n].join(","))));
        let list = format!("{{1{}}}", ", 1".repeat(n - 1));
        prop_assert_eq!(eval(&list, Dialect::Okta), Ok(Value::List(vec![Value::Int(1); n])));
        // Entra itself takes expressions of at most 10,000 characters: up to 1,900 arguments.
        let m = n % 1_900 + 1;
        let entra = format!("Join(\",\"{})", ", \"a\"".repeat(m));
        prop_assert_eq!(eval(&entra, Dialect::Entra), Ok(Value::Str(vec!["a"; m].join(","))));
        let switch = format!("Switch(\"k\", \"none\"{}, \"k\", \"hit\")", ", \"x\", \"y\"".repeat(m / 2));
        prop_assert_eq!(eval(&switch, Dialect::Entra), Ok(Value::from("hit")));
        let long = "é".repeat(10 * n);
        prop_assert_eq!(eval(&format!("'{long}'"), Dialect::Okta), Ok(Value::Str(long)));
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
