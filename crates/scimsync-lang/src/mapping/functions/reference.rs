//! The function reference as Markdown, rendered from the tables so the docs cannot drift
//! from what the checker and evaluator implement.

use super::{Example, Function, Outcome, Ty, okta, table};
use crate::mapping::Dialect;
use std::fmt::Write as _;

/// The Markdown table of `dialect`'s functions: signature, result type, notes, and the
/// first documented example. EL v2 (`okta2`) adds its method-only operations.
pub fn reference_table(dialect: Dialect) -> String {
    let mut out = String::from("| Function | Returns | Notes | Example |\n|---|---|---|---|\n");
    let method_only: &[Function] = match dialect {
        Dialect::Okta2 => okta::METHOD_ONLY,
        Dialect::Okta | Dialect::Entra => &[],
    };
    for function in table(dialect).iter().chain(method_only) {
        let example = function
            .examples()
            .first()
            .map_or(String::new(), example_cell);
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            cell(function.signature),
            type_name(function.returns),
            notes(function),
            example
        );
    }
    out
}

/// What sets a function apart, for the notes column; `pure` when nothing does.
fn notes(function: &Function) -> String {
    let notes: Vec<&str> = [
        (!function.is_pure(), "impure"),
        (function.must_be_top_level(), "whole expression only"),
        (function.redacts(), "redacts"),
        (function.uses_groups, "reads groups"),
        (function.fallible, "can fail"),
    ]
    .into_iter()
    .filter_map(|(set, note)| set.then_some(note))
    .collect();
    if notes.is_empty() {
        "pure".to_owned()
    } else {
        notes.join(", ")
    }
}

fn example_cell(example: &Example) -> String {
    let result = match example.result {
        Outcome::Value(json) => format!("`{}`", cell(json)),
        Outcome::Shape { sample, .. } => format!("e.g. `{}`", cell(sample)),
        Outcome::Fails(message) => format!("fails: {}", cell(message)),
    };
    let on = if example.record == "{}" {
        String::new()
    } else {
        format!(" (record `{}`)", cell(example.record))
    };
    format!("`{}` → {result}{on}", cell(example.expr))
}

fn type_name(ty: Ty) -> &'static str {
    match ty {
        Ty::Any => "any",
        Ty::Str => "string",
        Ty::Int => "integer",
        Ty::Num => "number",
        Ty::Bool => "boolean",
        Ty::List => "list",
    }
}

/// Text safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}
