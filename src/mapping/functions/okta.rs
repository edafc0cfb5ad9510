//! Okta Expression Language (classic) functions: `String.*`, `Convert.*` and the group
//! functions, evaluated over the record's attributes and group names.
//!
//! Null handling follows Okta's documented behaviour where there is one; otherwise a null
//! input yields null (nothing flows), never an error.

use super::{Args, EvalFn, Function, Ty, map_text};
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
        "String.toLowerCase",
        "String.toLowerCase(input)",
        1,
        Some(1),
        &[Ty::Str],
        Ty::Str,
        |a| map_text(a, 0, |s| s.to_lowercase()),
    ),
    f(
        "String.toUpperCase",
        "String.toUpperCase(input)",
        1,
        Some(1),
        &[Ty::Str],
        Ty::Str,
        |a| map_text(a, 0, |s| s.to_uppercase()),
    ),
    f(
        "String.substringBefore",
        "String.substringBefore(input, searchString)",
        2,
        Some(2),
        &[Ty::Str],
        Ty::Str,
        substring_before,
    ),
    f(
        "String.substringAfter",
        "String.substringAfter(input, searchString)",
        2,
        Some(2),
        &[Ty::Str],
        Ty::Str,
        substring_after,
    ),
    f(
        "String.len",
        "String.len(input)",
        1,
        Some(1),
        &[Ty::Str],
        Ty::Int,
        |a| {
            Ok(a.text(0)?
                .map_or(Value::Null, |s| Value::Int(s.chars().count() as i64)))
        },
    ),
    f(
        "String.append",
        "String.append(str, suffix)",
        2,
        Some(2),
        &[Ty::Str],
        Ty::Str,
        |a| {
            let head = a.text(0)?.unwrap_or_default();
            let tail = a.text(1)?.unwrap_or_default();
            Ok(Value::Str(head + &tail))
        },
    ),
    f(
        "String.join",
        "String.join(separator, strings...)",
        1,
        None,
        &[Ty::Str],
        Ty::Str,
        |a| {
            let separator = a.text(0)?.unwrap_or_default();
            let mut parts = Vec::new();
            for i in 1..a.len() {
                parts.extend(a.text(i)?);
            }
            Ok(Value::Str(parts.join(&separator)))
        },
    ),
    f(
        "String.stringContains",
        "String.stringContains(input, searchString)",
        2,
        Some(2),
        &[Ty::Str],
        Ty::Bool,
        |a| {
            let (input, search) = (a.text(0)?, a.text(1)?);
            Ok(Value::Bool(
                matches!((input, search), (Some(i), Some(s)) if i.contains(&s)),
            ))
        },
    ),
    f(
        "String.startsWith",
        "String.startsWith(input, prefix)",
        2,
        Some(2),
        &[Ty::Str],
        Ty::Bool,
        |a| {
            let (input, prefix) = (a.text(0)?, a.text(1)?);
            Ok(Value::Bool(
                matches!((input, prefix), (Some(i), Some(p)) if i.starts_with(&p)),
            ))
        },
    ),
    f(
        "String.replace",
        "String.replace(input, match, replacement)",
        3,
        Some(3),
        &[Ty::Str],
        Ty::Str,
        |a| {
            let (Some(input), Some(target)) = (a.text(0)?, a.text(1)?) else {
                return a.value(0);
            };
            let replacement = a.text(2)?.unwrap_or_default();
            Ok(Value::Str(input.replace(&target, &replacement)))
        },
    ),
    f(
        "String.removeSpaces",
        "String.removeSpaces(input)",
        1,
        Some(1),
        &[Ty::Str],
        Ty::Str,
        |a| map_text(a, 0, |s| s.replace(' ', "")),
    ),
    Function {
        fallible: true,
        ..f(
            "Convert.toInt",
            "Convert.toInt(value)",
            1,
            Some(1),
            &[Ty::Any],
            Ty::Int,
            convert_to_int,
        )
    },
    Function {
        uses_groups: true,
        ..f(
            "isMemberOfGroupName",
            "isMemberOfGroupName(groupName)",
            1,
            Some(1),
            &[Ty::Str],
            Ty::Bool,
            |a| member_where(a, |group, name| group == name),
        )
    },
    Function {
        uses_groups: true,
        ..f(
            "isMemberOfGroupNameStartsWith",
            "isMemberOfGroupNameStartsWith(prefix)",
            1,
            Some(1),
            &[Ty::Str],
            Ty::Bool,
            |a| member_where(a, |group, prefix| group.starts_with(prefix)),
        )
    },
    Function {
        uses_groups: true,
        ..f(
            "isMemberOfGroupNameContains",
            "isMemberOfGroupNameContains(text)",
            1,
            Some(1),
            &[Ty::Str],
            Ty::Bool,
            |a| member_where(a, |group, text| group.contains(text)),
        )
    },
    // Deprecated un-prefixed forms Okta still accepts.
    f(
        "toLowerCase",
        "toLowerCase(input)",
        1,
        Some(1),
        &[Ty::Str],
        Ty::Str,
        |a| map_text(a, 0, |s| s.to_lowercase()),
    ),
    f(
        "toUpperCase",
        "toUpperCase(input)",
        1,
        Some(1),
        &[Ty::Str],
        Ty::Str,
        |a| map_text(a, 0, |s| s.to_uppercase()),
    ),
    f(
        "substringBefore",
        "substringBefore(input, searchString)",
        2,
        Some(2),
        &[Ty::Str],
        Ty::Str,
        substring_before,
    ),
    f(
        "substringAfter",
        "substringAfter(input, searchString)",
        2,
        Some(2),
        &[Ty::Str],
        Ty::Str,
        substring_after,
    ),
];

/// Functions that need an Okta tenant, with why and what to use instead.
pub static TENANT_ONLY: &[(&str, &str)] = &[
    (
        "isMemberOfGroup",
        "Okta group ids exist only in an Okta tenant; match on the group's name with `isMemberOfGroupName(\"...\")`",
    ),
    (
        "isMemberOfAnyGroup",
        "Okta group ids exist only in an Okta tenant; combine `isMemberOfGroupName(\"...\")` calls with `||`",
    ),
    (
        "findDirectoryUser",
        "it reads the user's Active Directory app user inside Okta; export the attribute into the user profile instead",
    ),
    (
        "hasDirectoryUser",
        "it reads the user's Active Directory app user inside Okta; export the attribute into the user profile instead",
    ),
    (
        "findWorkdayUser",
        "it reads the user's Workday app user inside Okta; export the attribute into the user profile instead",
    ),
    (
        "hasWorkdayUser",
        "it reads the user's Workday app user inside Okta; export the attribute into the user profile instead",
    ),
    (
        "getManagerUser",
        "it follows manager links inside an Okta tenant; put the manager's attributes on the record (e.g. `managerEmail`)",
    ),
    (
        "getManagerAppUser",
        "it follows manager links inside an Okta tenant; put the manager's attributes on the record",
    ),
    (
        "getAssistantUser",
        "it follows assistant links inside an Okta tenant; put the assistant's attributes on the record",
    ),
    (
        "getAssistantAppUser",
        "it follows assistant links inside an Okta tenant; put the assistant's attributes on the record",
    ),
    (
        "getFilteredGroups",
        "it is for token claims and reads Okta group ids; use `isMemberOfGroupName` in a rule",
    ),
    (
        "Groups.startsWith",
        "Groups.* functions exist only in token claims; use `isMemberOfGroupNameStartsWith`",
    ),
    (
        "Groups.endsWith",
        "Groups.* functions exist only in token claims; use `isMemberOfGroupNameContains`",
    ),
    (
        "Groups.contains",
        "Groups.* functions exist only in token claims; use `isMemberOfGroupNameContains`",
    ),
];

fn substring_before(a: &mut Args<'_>) -> Result<Value, super::EvalError> {
    let (Some(input), Some(search)) = (a.text(0)?, a.text(1)?) else {
        return a.value(0);
    };
    // Like commons-lang StringUtils: the whole input when the separator is absent.
    Ok(Value::Str(
        input
            .find(&search)
            .map_or(input.clone(), |i| input[..i].to_owned()),
    ))
}

fn substring_after(a: &mut Args<'_>) -> Result<Value, super::EvalError> {
    let (Some(input), Some(search)) = (a.text(0)?, a.text(1)?) else {
        return a.value(0);
    };
    // Okta KB: an empty string when the separator is absent.
    Ok(Value::Str(input.find(&search).map_or(String::new(), |i| {
        input[i + search.len()..].to_owned()
    })))
}

fn convert_to_int(a: &mut Args<'_>) -> Result<Value, super::EvalError> {
    match a.value(0)? {
        Value::Null => Ok(Value::Null),
        Value::Int(i) => Ok(Value::Int(i)),
        // Java's Math.round: half up.
        Value::Float(f) => Ok(Value::Int((f + 0.5).floor() as i64)),
        Value::Str(s) => s
            .trim()
            .parse::<i64>()
            .map(Value::Int)
            .map_err(|_| a.error(format!("Convert.toInt: \"{s}\" is not a whole number"))),
        other => Err(a.error(format!("Convert.toInt: cannot convert {}", other.kind()))),
    }
}

fn member_where(a: &mut Args<'_>, test: fn(&str, &str) -> bool) -> Result<Value, super::EvalError> {
    let Some(wanted) = a.text(0)? else {
        return Ok(Value::Bool(false));
    };
    Ok(Value::Bool(
        a.env().record.groups.iter().any(|g| test(g, &wanted)),
    ))
}
