//! Every function of every dialect has at least one documented example, and each example
//! evaluates to its documented result: the examples shown in the reference cannot drift from
//! what the evaluator does.

use chrono::{DateTime, Utc};
use scimsync_lang::mapping::functions::{self, Example, Function, Outcome, okta};
use scimsync_lang::mapping::{self, Dialect, Env};
use scimsync_lang::record::Record;

/// Each table with the dialect its examples are written in.
fn tables() -> [(Dialect, &'static [Function]); 3] {
    [
        (Dialect::Okta, functions::table(Dialect::Okta)),
        (Dialect::Okta2, okta::METHOD_ONLY),
        (Dialect::Entra, functions::table(Dialect::Entra)),
    ]
}

/// The example's value as JSON, or its run-time error message.
fn run(example: &Example, dialect: Dialect) -> Result<serde_json::Value, String> {
    let plan = mapping::compile_expression(example.expr, dialect)
        .unwrap_or_else(|d| panic!("`{}` does not compile: {d:?}", example.expr));
    let record: serde_json::Value =
        serde_json::from_str(example.record).expect("an example's record is JSON");
    let object = record
        .as_object()
        .expect("an example's record is an object");
    let record = Record::from_flat_json(String::new(), object);
    let now: DateTime<Utc> = DateTime::parse_from_rfc3339(example.now)
        .expect("an example's clock is RFC 3339")
        .with_timezone(&Utc);
    let env = Env::at(&record, now);
    plan.evaluate(&env)
        .map(|value| value.to_json())
        .map_err(|e| e.message)
}

#[test]
fn every_function_has_an_example() {
    for (dialect, table) in tables() {
        for function in table {
            assert!(
                !function.examples().is_empty(),
                "{dialect} function `{}` has no example",
                function.name
            );
        }
    }
}

#[test]
fn every_example_gives_its_documented_result() {
    let mut failures = Vec::new();
    for (dialect, table) in tables() {
        for function in table {
            for example in function.examples() {
                if let Some(failure) = check(example, dialect) {
                    failures.push(format!("{dialect} `{}`: {failure}", function.name));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// What is wrong with an example's outcome, if anything.
fn check(example: &Example, dialect: Dialect) -> Option<String> {
    let got = run(example, dialect);
    let wrong = match example.result {
        Outcome::Value(json) => {
            let expected: serde_json::Value =
                serde_json::from_str(json).expect("an example's result is JSON");
            got.as_ref() != Ok(&expected)
        }
        Outcome::Shape { check, .. } => !got
            .as_ref()
            .is_ok_and(|json| check(&scimsync_lang::value::Value::from_json(json))),
        Outcome::Fails(message) => got.as_ref() != Err(&message.to_owned()),
    };
    wrong.then(|| {
        format!(
            "`{}` gave {got:?}, documented {:?}",
            example.expr, example.result
        )
    })
}

#[test]
fn reference_tables_list_every_function_with_its_example() {
    for (dialect, table) in tables() {
        let reference = functions::reference_table(dialect);
        for function in table {
            let example = function.examples()[0].expr.replace('|', "\\|");
            assert!(
                reference.contains(&example),
                "{dialect} reference lacks `{}`",
                function.name
            );
        }
    }
}

#[test]
fn reference_table_marks_purity_and_placement() {
    let entra = functions::reference_table(Dialect::Entra);
    let line = |name: &str| {
        entra
            .lines()
            .find(|l| l.starts_with(&format!("| `{name}(")))
            .unwrap_or_else(|| panic!("no line for {name}"))
            .to_owned()
    };
    assert!(line("SelectUniqueValue").contains("impure, whole expression only"));
    assert!(line("Redact").contains("redacts"));
    assert!(line("Append").contains("| pure |"));
    assert!(entra.starts_with("| Function | Returns | Notes | Example |\n|---|---|---|---|\n"));
}
