//! The group functions (reference/okta.md §1.5, "Group functions"), over the record's groups:
//! names for `isMemberOfGroupName*`, ids for `isMemberOfGroup`/`isMemberOfAnyGroup`.
//!
//! Names compare exactly (case-sensitive), as Okta group names do. A null name matches
//! nothing.

use super::super::Args;
use crate::mapping::eval::{EvalError, full_match_regex};
use crate::value::Value;

/// Whether any group name passes `test` against the (non-null) argument.
fn any_name(a: &mut Args<'_>, test: fn(&str, &str) -> bool) -> Result<Value, EvalError> {
    let Some(wanted) = a.text(0)? else {
        return Ok(Value::Bool(false));
    };
    Ok(Value::Bool(
        a.env().record.groups.iter().any(|g| test(g, &wanted)),
    ))
}

pub fn is_member_of_group_name(a: &mut Args<'_>) -> Result<Value, EvalError> {
    any_name(a, |group, name| group == name)
}

pub fn is_member_of_group_name_starts_with(a: &mut Args<'_>) -> Result<Value, EvalError> {
    any_name(a, |group, prefix| group.starts_with(prefix))
}

pub fn is_member_of_group_name_contains(a: &mut Args<'_>) -> Result<Value, EvalError> {
    any_name(a, |group, text| group.contains(text))
}

/// `isMemberOfGroupNameRegex(regex)`: a group whose whole name matches the Java-style
/// regular expression (as `matches` does).
pub fn is_member_of_group_name_regex(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let Some(pattern) = a.text(0)? else {
        return Ok(Value::Bool(false));
    };
    let regex = full_match_regex(&pattern)
        .map_err(|why| a.error(format!("isMemberOfGroupNameRegex: {why}")))?;
    Ok(Value::Bool(
        a.env().record.groups.iter().any(|g| regex.is_match(g)),
    ))
}

/// `isMemberOfGroup(id)` and `isMemberOfAnyGroup(id, ...)`: by Okta group id. Only sources
/// that deliver group ids (Okta exports with group objects) can answer; for the others the
/// rule fails rather than quietly saying "not a member".
pub fn is_member_of_any_group(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let record = a.env().record;
    if record.group_ids.is_empty() && !record.groups.is_empty() {
        return Err(a.error(
            "the source gives this user's group names but no group ids; match on names with `isMemberOfGroupName(\"...\")`",
        ));
    }
    for i in 0..a.len() {
        let ids = match a.value(i)? {
            Value::List(items) => items,
            other => vec![other],
        };
        for id in ids {
            if let Some(id) = id.as_str() {
                if record.group_ids.iter().any(|g| g == id) {
                    return Ok(Value::Bool(true));
                }
            }
        }
    }
    Ok(Value::Bool(false))
}
