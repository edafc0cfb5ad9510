//! How Entra reads its arguments: text (`True`/`False`), numbers (`&HF7`, quoted), dates,
//! and what counts as absent or empty.

use super::super::{Args, dotnet_datetime};
use crate::mapping::eval::{EvalError, entra_text};
use crate::value::Value;

/// Null, or a multi-valued attribute with no values: an absent attribute in Entra.
pub(super) fn absent(value: &Value) -> bool {
    match value {
        Value::List(items) => items.is_empty(),
        other => other.is_null(),
    }
}

/// Null, `""`, or an empty list: what IsNullOrEmpty and IgnoreFlowIfNullOrEmpty test.
pub(super) fn no_value(value: &Value) -> bool {
    match value {
        Value::List(items) => items.iter().all(no_value),
        other => other.is_null_or_empty(),
    }
}

/// One value from a possibly multi-valued one: a one-item list is its item; `Err(n)` for a
/// list of `n` values.
pub(super) fn single(value: Value) -> Result<Value, usize> {
    match value {
        Value::List(mut items) if items.len() <= 1 => Ok(items.pop().unwrap_or_default()),
        Value::List(items) => Err(items.len()),
        other => Ok(other),
    }
}

/// Argument `i` as Entra text (`True`/`False` for booleans), `None` when null.
pub(super) fn text_arg(a: &mut Args<'_>, i: usize) -> Result<Option<String>, EvalError> {
    Ok(match a.value(i)? {
        Value::Null => None,
        other => Some(entra_text(&other)),
    })
}

/// Applies `f` to a string argument, passing null through.
pub(super) fn map_text(
    a: &mut Args<'_>,
    i: usize,
    f: impl FnOnce(String) -> String,
) -> Result<Value, EvalError> {
    Ok(text_arg(a, i)?.map_or(Value::Null, |s| Value::Str(f(s))))
}

/// A number as Entra reads one: `12`, `"12"`, `" -1.5 "`, VB hex `&HF7`.
pub(super) fn parse_number(text: &str) -> Option<f64> {
    let text = text.trim();
    if let Some(hex) = text.strip_prefix("&H").or_else(|| text.strip_prefix("&h")) {
        return i64::from_str_radix(hex, 16).ok().map(|i| i as f64);
    }
    text.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// Argument `i` as a number, `None` when null; anything else that is not a number fails.
pub(super) fn number_arg(a: &mut Args<'_>, i: usize) -> Result<Option<f64>, EvalError> {
    Ok(match a.value(i)? {
        Value::Null => None,
        Value::Int(n) => Some(n as f64),
        Value::Float(x) => Some(x),
        other => {
            let text = entra_text(&other);
            Some(parse_number(&text).ok_or_else(|| {
                a.error(format!(
                    "argument {} should be a number, got \"{text}\"",
                    i + 1
                ))
            })?)
        }
    })
}

/// Argument `i` as a whole number; fractions round half to even, as VB's `CInt`.
pub(super) fn whole_number(a: &mut Args<'_>, i: usize) -> Result<Option<i64>, EvalError> {
    if let Value::Int(n) = a.value(i)? {
        return Ok(Some(n));
    }
    match number_arg(a, i)? {
        None => Ok(None),
        Some(x) if x.abs() < 9.0e18 => Ok(Some(x.round_ties_even() as i64)),
        Some(x) => Err(a.error(format!("{x} is too large a number"))),
    }
}

/// Argument `i` read as a date (CDate's rules), in UTC; `None` when null.
pub(super) fn date_arg(
    a: &mut Args<'_>,
    i: usize,
) -> Result<Option<chrono::NaiveDateTime>, EvalError> {
    match text_arg(a, i)? {
        None => Ok(None),
        Some(text) => dotnet_datetime::parse_loose(&text)
            .map(Some)
            .map_err(|e| a.error(e.to_string())),
    }
}

pub(super) fn interval_arg(
    a: &mut Args<'_>,
    i: usize,
) -> Result<super::dates::Interval, EvalError> {
    let name = text_arg(a, i)?.unwrap_or_default();
    super::dates::Interval::from_name(&name).map_err(|e| a.error(e.to_string()))
}

pub(super) fn flatten_texts(value: Value, out: &mut Vec<String>) {
    match value {
        Value::Null => {}
        Value::List(items) => items.into_iter().for_each(|v| flatten_texts(v, out)),
        other => out.push(entra_text(&other)),
    }
}
