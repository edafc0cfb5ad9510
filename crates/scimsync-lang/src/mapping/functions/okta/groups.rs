//! The group functions ("Group functions" in
//! <https://developer.okta.com/docs/reference/okta-expression-language/>),
//! over the record's groups:
//! names for `isMemberOfGroupName*`, ids for `isMemberOfGroup`/`isMemberOfAnyGroup`.
//!
//! Names compare exactly (case-sensitive), as Okta group names do. A null name matches
//! nothing.

use super::super::Args;
use crate::mapping::eval::EvalError;
use crate::mapping::pattern::{Anchoring, Pattern, PatternError};
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
    let fail = |why: PatternError| a.error(format!("isMemberOfGroupNameRegex: {why}"));
    let regex = Pattern::cached(&pattern, Anchoring::Whole).map_err(fail)?;
    for group in &a.env().record.groups {
        if regex.is_match(group).map_err(fail)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
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
            if let Some(id) = id.as_str()
                && record.group_ids.iter().any(|g| g == id)
            {
                return Ok(Value::Bool(true));
            }
        }
    }
    Ok(Value::Bool(false))
}

/// One group criterion of `user.isMemberOf`/`user.getGroups`, as the checker lowers a map
/// `{'group.profile.name': 'West Coast', 'operator': 'EXACT'}`: the field (`id` or `name`),
/// the wanted values (one, or a set: any of them), and for names the operator.
struct Criterion {
    by_id: bool,
    values: Vec<String>,
    starts_with: bool,
}

impl Criterion {
    fn holds(&self, name: &str, id: Option<&str>) -> bool {
        self.values.iter().any(|wanted| {
            if self.by_id {
                id == Some(wanted.as_str())
            } else if self.starts_with {
                // Okta's examples write `'West Coast.*'` for a prefix; the `.*` is tolerated.
                name.starts_with(wanted.strip_suffix(".*").unwrap_or(wanted))
            } else {
                name == wanted
            }
        })
    }
}

fn criteria(a: &mut Args<'_>) -> Result<Vec<Criterion>, EvalError> {
    let mut out = Vec::new();
    for i in 0..a.len() {
        let Value::List(parts) = a.value(i)? else {
            return Err(a.error("a group criterion is a map like {'group.profile.name': 'Sales'}"));
        };
        let [Value::Str(field), value, Value::Str(operator)] = parts.as_slice() else {
            return Err(a.error("a group criterion is a map like {'group.profile.name': 'Sales'}"));
        };
        let values = match value {
            Value::List(items) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Value::Str(s) => vec![s.clone()],
            _ => Vec::new(),
        };
        out.push(Criterion {
            by_id: field == "id",
            values,
            starts_with: operator == "STARTS_WITH",
        });
    }
    Ok(out)
}

/// The names of the user's groups that meet every criterion (criteria are ANDed per group).
fn matching_groups(a: &mut Args<'_>) -> Result<Vec<String>, EvalError> {
    let criteria = criteria(a)?;
    let record = a.env().record;
    let by_id = criteria.iter().any(|c| c.by_id);
    if by_id && !record.groups.is_empty() && record.group_ids.len() != record.groups.len() {
        return Err(a.error(
            "the source does not give an id for each of this user's groups; match on names with {'group.profile.name': '...'}",
        ));
    }
    Ok(record
        .groups
        .iter()
        .enumerate()
        .filter(|(i, name)| {
            let id = record.group_ids.get(*i).map(String::as_str);
            criteria.iter().all(|c| c.holds(name, id))
        })
        .map(|(_, name)| name.clone())
        .collect())
}

/// `user.isMemberOf(criteria...)`: whether some group meets every criterion.
pub fn is_member_of(a: &mut Args<'_>) -> Result<Value, EvalError> {
    Ok(Value::Bool(!matching_groups(a)?.is_empty()))
}

/// `user.getGroups(criteria...)`: the groups that meet every criterion, by name (scimsync has
/// no group objects; Okta's `.![profile.name]` projection gives the same list).
pub fn get_groups(a: &mut Args<'_>) -> Result<Value, EvalError> {
    Ok(Value::List(
        matching_groups(a)?.into_iter().map(Value::Str).collect(),
    ))
}
