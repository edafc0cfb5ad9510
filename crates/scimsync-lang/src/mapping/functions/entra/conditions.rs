//! Entra's tests and choices: `IIF`, `Switch`, `Coalesce`, the `Is*` tests, `Not`,
//! `IgnoreFlowIfNullOrEmpty`, `SelectUniqueValue`, `Error` and `Redact`.

use super::super::Args;
use super::args::{absent, no_value, single, text_arg};
use crate::mapping::eval::{EvalError, entra_str, entra_text, truth};
use crate::value::Value;

/// Only null is skipped (FUNCS); `""` is a value and is returned.
pub(super) fn coalesce(a: &mut Args<'_>) -> Result<Value, EvalError> {
    for i in 0..a.len() {
        let v = a.value(i)?;
        if !absent(&v) {
            return Ok(v);
        }
    }
    Ok(Value::Null)
}

/// Cloud Sync: fails the object with the given message.
pub(super) fn error(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let message = text_arg(a, 0)?.unwrap_or_default();
    Err(a.error(format!("Error: {message}")))
}

pub(super) fn ignore_flow_if_null_or_empty(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let value = a.value(0)?;
    if no_value(&value) {
        Err(EvalError::ignore_flow(a.span))
    } else {
        Ok(value)
    }
}

/// Entra documents a condition over a null or empty attribute as failing; scimsync
/// evaluates it (null compares as "") and `IsNullOrEmpty`/`IsPresent` work as conditions,
/// as Entra's own Workday and SuccessFactors guides use them.
/// Entra documents this case as a failing condition check.
pub(super) fn iif(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let cond = a.value(0)?;
    if cond.is_null() {
        return Err(a.error(
                    "IIF: the condition is null; test the attribute with IsPresent or IsNullOrEmpty first, or use Switch([x], ...), which matches null on \"\"",
                ));
    }
    let branch = if truth(&cond, a.span)? { 1 } else { 2 };
    a.value(branch)
}

pub(super) fn is_null(a: &mut Args<'_>) -> Result<Value, EvalError> {
    Ok(Value::Bool(absent(&a.value(0)?)))
}

pub(super) fn is_null_or_empty(a: &mut Args<'_>) -> Result<Value, EvalError> {
    Ok(Value::Bool(no_value(&a.value(0)?)))
}

pub(super) fn is_present(a: &mut Args<'_>) -> Result<Value, EvalError> {
    Ok(Value::Bool(!no_value(&a.value(0)?)))
}

/// True when CStr would succeed: one value, not null.
pub(super) fn is_string(a: &mut Args<'_>) -> Result<Value, EvalError> {
    Ok(Value::Bool(
        matches!(single(a.value(0)?), Ok(v) if !v.is_null()),
    ))
}

/// `"True"` (any case, or a true boolean) gives False; anything else, null included, True.
pub(super) fn not(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let v = a.value(0)?;
    Ok(Value::Bool(!entra_text(&v).eq_ignore_ascii_case("true")))
}

/// Entra hides the value in its provisioning logs; the value itself flows unchanged.
pub(super) fn redact(a: &mut Args<'_>) -> Result<Value, EvalError> {
    a.value(0)
}

/// `SelectUniqueValue(rule1, rule2, ...)`: the first candidate with a value that the target
/// does not already hold (asked through [`Env::is_taken`](crate::mapping::Env::is_taken)).
/// When every candidate is taken the user is skipped, as Entra escrows the entry.
pub(super) fn select_unique_value(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let mut taken = Vec::new();
    for i in 0..a.len() {
        let candidate = a.value(i)?;
        if no_value(&candidate) {
            continue;
        }
        let text = entra_text(&candidate);
        if !a.env().is_taken(&text) {
            return Ok(candidate);
        }
        taken.push(format!("\"{text}\""));
    }
    if taken.is_empty() {
        return Ok(Value::Null);
    }
    Err(a.error(format!(
        "SelectUniqueValue: every candidate is already taken on the target: {}",
        taken.join(", ")
    )))
}

/// `Switch(source, default, key1, value1, ...)`: case-sensitive; a null or empty source
/// matches the key `""`. Keys and values come in pairs; a key without a value is an error.
pub(super) fn switch(a: &mut Args<'_>) -> Result<Value, EvalError> {
    if !a.len().is_multiple_of(2) {
        return Err(a.error(format!(
            "Switch: takes a source, a default and key/value pairs (an even number of arguments), got {}",
            a.len()
        )));
    }
    let source = a.value_ref(0)?;
    let source = entra_str(&source);
    let mut i = 2;
    while i + 1 < a.len() {
        if a.given(i) && entra_str(&*a.value_ref(i)?) == source {
            return a.value(i + 1);
        }
        i += 2;
    }
    a.value(1)
}
