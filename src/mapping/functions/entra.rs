//! Entra attribute-mapping functions. Names are case-sensitive, as in Entra.
//!
//! Entra's values are strings at heart: booleans render as `True`/`False`, numbers may be
//! quoted or not, and a missing attribute is null, which is not the same as `""`.

use super::{Args, EvalFn, Function, Ty, map_text};
use crate::mapping::eval::{EvalError, entra_text, truth};
use crate::value::Value;

const fn f(
    name: &'static str,
    signature: &'static str,
    min_args: usize,
    max_args: Option<usize>,
    arg_types: &'static [Ty],
    returns: Ty,
    eval: EvalFn,
) -> Function {
    Function {
        name,
        signature,
        min_args,
        max_args,
        arg_types,
        returns,
        omittable: false,
        fallible: false,
        uses_groups: false,
        eval,
    }
}

pub static FUNCTIONS: &[Function] = &[
    f(
        "Append",
        "Append(source, suffix)",
        2,
        Some(2),
        &[Ty::Str],
        Ty::Str,
        |a| {
            let source = a.value(0)?;
            let suffix = a.value(1)?;
            Ok(Value::Str(entra_text(&source) + &entra_text(&suffix)))
        },
    ),
    f(
        "Coalesce",
        "Coalesce(source1, source2, ..., defaultValue)",
        1,
        None,
        &[Ty::Any],
        Ty::Any,
        |a| {
            for i in 0..a.len() {
                let v = a.value(i)?;
                if !v.is_null() {
                    return Ok(v);
                }
            }
            Ok(Value::Null)
        },
    ),
    Function {
        fallible: true,
        ..f(
            "IIF",
            "IIF(condition, valueIfTrue, valueIfFalse)",
            3,
            Some(3),
            &[Ty::Bool, Ty::Any, Ty::Any],
            Ty::Any,
            |a| {
                let cond = a.value(0)?;
                let branch = if truth(&cond, a.span)? { 1 } else { 2 };
                a.value(branch)
            },
        )
    },
    f(
        "IsNull",
        "IsNull(expression)",
        1,
        Some(1),
        &[Ty::Any],
        Ty::Bool,
        |a| Ok(Value::Bool(a.value(0)?.is_null())),
    ),
    f(
        "IsNullOrEmpty",
        "IsNullOrEmpty(expression)",
        1,
        Some(1),
        &[Ty::Any],
        Ty::Bool,
        |a| Ok(Value::Bool(a.value(0)?.is_null_or_empty())),
    ),
    f(
        "IsPresent",
        "IsPresent(expression)",
        1,
        Some(1),
        &[Ty::Any],
        Ty::Bool,
        |a| Ok(Value::Bool(!a.value(0)?.is_null_or_empty())),
    ),
    f(
        "Join",
        "Join(separator, source1, source2, ...)",
        2,
        None,
        &[Ty::Str, Ty::Any],
        Ty::Str,
        |a| {
            let separator = entra_text(&a.value(0)?);
            let mut parts = Vec::new();
            for i in 1..a.len() {
                flatten_texts(a.value(i)?, &mut parts);
            }
            parts.retain(|p| !p.is_empty());
            Ok(Value::Str(parts.join(&separator)))
        },
    ),
    f(
        "Not",
        "Not(source)",
        1,
        Some(1),
        &[Ty::Any],
        Ty::Bool,
        |a| {
            let v = a.value(0)?;
            Ok(Value::Bool(!entra_text(&v).eq_ignore_ascii_case("true")))
        },
    ),
    f(
        "SingleAppRoleAssignment",
        "SingleAppRoleAssignment([appRoleAssignments])",
        1,
        Some(1),
        &[Ty::Any],
        Ty::Str,
        |a| {
            // Entra picks one role when there are several and does not say which; scimsync
            // picks the first, so the result is at least stable.
            Ok(match a.value(0)? {
                Value::List(items) => items
                    .into_iter()
                    .find(|v| !v.is_null_or_empty())
                    .unwrap_or_default(),
                other => other,
            })
        },
    ),
    Function {
        omittable: true,
        ..f(
            "Switch",
            "Switch(source, defaultValue, key1, value1, key2, value2, ...)",
            4,
            None,
            &[Ty::Any],
            Ty::Any,
            switch,
        )
    },
    f(
        "ToLower",
        "ToLower(source, culture?)",
        1,
        Some(2),
        &[Ty::Str, Ty::Str],
        Ty::Str,
        |a| map_text(a, 0, |s| s.to_lowercase()),
    ),
    f(
        "ToUpper",
        "ToUpper(source, culture?)",
        1,
        Some(2),
        &[Ty::Str, Ty::Str],
        Ty::Str,
        |a| map_text(a, 0, |s| s.to_uppercase()),
    ),
];

/// Entra functions that need an Entra tenant, with why and what to use instead.
pub static TENANT_ONLY: &[(&str, &str)] = &[
    (
        "DefaultDomain",
        "it returns the tenant's default domain; write the domain as a string constant",
    ),
    (
        "AppRoleAssignments",
        "it is internal to Entra; use `SingleAppRoleAssignment([appRoleAssignments])`",
    ),
];

/// `Switch(source, default, key1, value1, ...)`: case-sensitive; a null or empty source
/// matches the key `""`.
fn switch(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let source = entra_text(&a.value(0)?);
    let mut i = 2;
    while i + 1 < a.len() {
        if a.given(i) && entra_text(&a.value(i)?) == source {
            return a.value(i + 1);
        }
        i += 2;
    }
    a.value(1)
}

fn flatten_texts(value: Value, out: &mut Vec<String>) {
    match value {
        Value::List(items) => items.into_iter().for_each(|v| flatten_texts(v, out)),
        other => out.push(entra_text(&other)),
    }
}
