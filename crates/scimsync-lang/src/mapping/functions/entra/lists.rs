//! Entra's multi-valued attributes: `Count`, `Item`, `Join`, `Split`, `RemoveDuplicates`, `Trim`.

use super::super::Args;
use super::args::{flatten_texts, text_arg, whole_number};
use crate::mapping::eval::{EvalError, entra_text};
use crate::value::Value;

pub(super) fn count(a: &mut Args<'_>) -> Result<Value, EvalError> {
    Ok(Value::Int(match a.value(0)? {
        Value::Null => 0,
        Value::List(items) => items.len() as i64,
        _ => 1,
    }))
}

pub(super) fn item(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let items = match a.value(0)? {
        Value::Null => return Ok(Value::Null),
        Value::List(items) => items,
        one => vec![one],
    };
    let Some(index) = whole_number(a, 1)? else {
        return Ok(Value::Null);
    };
    usize::try_from(index)
        .ok()
        .and_then(|i| i.checked_sub(1))
        .and_then(|i| items.get(i).cloned())
        .ok_or_else(|| {
            a.error(format!(
                "Item: index {index} is out of range; indexes start at 1 and there are {} values",
                items.len()
            ))
        })
}

/// Empty values are skipped (no doubled separators); multi-valued sources add every value.
pub(super) fn join(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let separator = entra_text(&a.value(0)?);
    let mut parts = Vec::new();
    for i in 1..a.len() {
        flatten_texts(a.value(i)?, &mut parts);
    }
    parts.retain(|p| !p.is_empty());
    Ok(Value::Str(parts.join(&separator)))
}

pub(super) fn remove_duplicates(a: &mut Args<'_>) -> Result<Value, EvalError> {
    Ok(match a.value(0)? {
        Value::Null => Value::Null,
        Value::List(items) => {
            let mut unique: Vec<Value> = Vec::with_capacity(items.len());
            for item in items {
                if !unique.contains(&item) {
                    unique.push(item);
                }
            }
            Value::List(unique)
        }
        one => Value::List(vec![one]),
    })
}

/// No trimming, as .NET's String.Split: "a, b" split on "," gives "a" and " b".
pub(super) fn split(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let delimiter = text_arg(a, 1)?.unwrap_or_default();
    let mut values = Vec::new();
    flatten_texts(a.value(0)?, &mut values);
    if values.is_empty() {
        return Ok(Value::Null);
    }
    Ok(Value::List(
        values
            .iter()
            .flat_map(|v| -> Vec<Value> {
                if delimiter.is_empty() {
                    vec![Value::from(v.as_str())]
                } else {
                    v.split(delimiter.as_str()).map(Value::from).collect()
                }
            })
            .collect(),
    ))
}

/// Cloud Sync: leading and trailing white space removed, from every value of a list.
pub(super) fn trim(a: &mut Args<'_>) -> Result<Value, EvalError> {
    fn trim(value: Value) -> Value {
        match value {
            Value::Str(s) => Value::Str(s.trim().to_owned()),
            Value::List(items) => Value::List(items.into_iter().map(trim).collect()),
            other => other,
        }
    }
    Ok(trim(a.value(0)?))
}
