//! The expression corpus: each `tests/expressions/<dialect>/<case>.case` is one expression, one
//! record and what it must give. One file per case, so a documented example, an erratum or a
//! null rule is one small file a reviewer can check against the vendor's documentation.
//!
//! ```text
//! # Join skips empty values (Entra attribute-mapping expressions reference, Join)
//! # https://learn.microsoft.com/en-us/entra/identity/app-provisioning/functions-for-customizing-application-data
//! dialect: entra
//! record: {"a": "x", "b": ""}
//! now: 2026-01-01T00:00:00Z
//! expr: Join(",", [a], [b])
//! expect: "x"
//! ```
//!
//! `expect:` is a JSON value, or `error` and the code of the error when the expression must be
//! rejected (parse, check: `expect: error E0205`) or fail at run time (`expect: error E0401`,
//! the code `scimsync eval` reports a run-time failure with). Every case's outcome, value or
//! rendered diagnostic, is also kept as an insta snapshot, so a changed message shows up in
//! review.

use chrono::{DateTime, Utc};
use scimsync_lang::mapping::diagnostic::{Code, Diagnostic};
use scimsync_lang::mapping::{self, Dialect, Env, SourceFile};
use scimsync_lang::record::Record;

struct Case {
    dialect: Dialect,
    record: serde_json::Value,
    now: DateTime<Utc>,
    expr: String,
    expect: Option<String>,
}

fn parse_case(text: &str) -> Case {
    let mut case = Case {
        dialect: Dialect::Okta,
        record: serde_json::json!({}),
        now: DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc),
        expr: String::new(),
        expect: None,
    };
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (key, value) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("not a `key: value` line: {line}"));
        let value = value.trim();
        match key.trim() {
            "dialect" => {
                case.dialect =
                    Dialect::from_name(value).unwrap_or_else(|| panic!("dialect {value}"))
            }
            "record" => case.record = serde_json::from_str(value).expect("record is JSON"),
            "now" => {
                case.now = DateTime::parse_from_rfc3339(value)
                    .expect("now is RFC 3339")
                    .with_timezone(&Utc)
            }
            "expr" => case.expr = value.to_owned(),
            "expect" => case.expect = Some(value.to_owned()),
            other => panic!("unknown key `{other}`"),
        }
    }
    assert!(!case.expr.is_empty(), "a case needs `expr:`");
    case
}

/// What a case gave: its value, or the codes of its errors; and how it is shown.
struct Outcome {
    value: Option<serde_json::Value>,
    error_codes: Vec<String>,
    shown: String,
}

/// The codes of the errors among `diagnostics`, in order.
fn error_codes(diagnostics: &[Diagnostic]) -> Vec<String> {
    diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.code.as_str())
        .collect()
}

/// The value as JSON, or the errors and the rendered diagnostic.
fn outcome(case: &Case) -> Outcome {
    let file = SourceFile::new("<expr>", case.expr.clone());
    let plan = match mapping::compile_expression(&case.expr, case.dialect) {
        Ok(plan) => plan,
        Err(diagnostics) => {
            return Outcome {
                value: None,
                error_codes: error_codes(&diagnostics),
                shown: mapping::render_all(&diagnostics, &file),
            };
        }
    };
    let object = case.record.as_object().expect("record is a JSON object");
    let record = Record::from_flat_json(String::new(), object);
    let env = Env::at(&record, case.now);
    match plan.evaluate(&env) {
        Ok(value) => {
            let json = value.to_json();
            // Warnings first, as `scimsync eval` prints them.
            let shown = format!("{}{json}\n", mapping::render_all(&plan.warnings, &file));
            Outcome {
                value: Some(json),
                error_codes: Vec::new(),
                shown,
            }
        }
        Err(error) => {
            let diagnostic =
                Diagnostic::error(Code::Evaluation, error.span, error.message).label("failed here");
            Outcome {
                value: None,
                error_codes: error_codes(std::slice::from_ref(&diagnostic)),
                shown: diagnostic.render(&file),
            }
        }
    }
}

#[test]
fn expression_corpus() {
    insta::glob!("expressions/**/*.case", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let case = parse_case(&text);
        let Outcome {
            value,
            error_codes,
            shown,
        } = outcome(&case);
        match case.expect.as_deref() {
            None => {}
            Some(expected) if expected.starts_with("error") => {
                let code = expected
                    .strip_prefix("error ")
                    .unwrap_or_else(|| panic!("{}: `expect: error` names no code", path.display()));
                assert!(
                    value.is_none(),
                    "{}: expected an error, got {shown}",
                    path.display()
                );
                assert!(
                    !error_codes.is_empty() && error_codes.iter().all(|c| c == code),
                    "{}: expected error {code}, got {error_codes:?}\n{shown}",
                    path.display()
                );
            }
            Some(expected) => {
                let expected: serde_json::Value = serde_json::from_str(expected)
                    .unwrap_or_else(|e| panic!("{}: expect is not JSON: {e}", path.display()));
                assert_eq!(
                    value.as_ref(),
                    Some(&expected),
                    "{}: {}\n{shown}",
                    path.display(),
                    case.expr
                );
            }
        }
        insta::assert_snapshot!(shown);
    });
}
