//! Entra's string functions, reading their arguments; the text algorithms they call live in
//! `text.rs`.

use super::super::{Args, diacritics};
use super::args::{map_text, text_arg, whole_number};
use super::text;
use crate::mapping::eval::{EvalError, entra_text};
use crate::value::Value;

/// Documented: null source is undocumented; scimsync treats it as "", like Join.
pub(super) fn append(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let source = a.value(0)?;
    let suffix = a.value(1)?;
    Ok(Value::Str(entra_text(&source) + &entra_text(&suffix)))
}

/// Cloud Sync: the value of the n-th (1-based) component of a distinguished name.
pub(super) fn dn_component(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let Some(dn) = text_arg(a, 0)? else {
        return Ok(Value::Null);
    };
    let number = whole_number(a, 1)?.unwrap_or(0);
    Ok(text::dn_component(&dn, number).map_or(Value::Null, Value::Str))
}

pub(super) fn in_str(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let haystack = a.value(0)?;
    let needle = a.value(1)?;
    let start = whole_number(a, 2)?.unwrap_or(1);
    let compare = match text_arg(a, 3)? {
        None => text::Compare::Binary,
        Some(name) => text::Compare::from_name(&name).ok_or_else(|| {
            a.error(format!(
                "InStr: \"{name}\" is not a compare type; use vbBinaryCompare or vbTextCompare"
            ))
        })?,
    };
    if haystack.is_null() {
        return Ok(Value::Int(0));
    }
    let position = text::instr(&entra_text(&haystack), &entra_text(&needle), start, compare)
        .map_err(|e| a.error(e.to_string()))?;
    Ok(Value::Int(position))
}

pub(super) fn left(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let source = text_arg(a, 0)?.unwrap_or_default();
    let count = whole_number(a, 1)?.unwrap_or(0);
    Ok(Value::Str(text::left(&source, count)))
}

pub(super) fn mid(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let Some(source) = text_arg(a, 0)? else {
        return Ok(Value::Null);
    };
    let start = whole_number(a, 1)?.unwrap_or(1);
    let length = whole_number(a, 2)?;
    text::mid(&source, start, length)
        .map(Value::Str)
        .map_err(|e| a.error(e.to_string()))
}

pub(super) fn normalize_diacritics(a: &mut Args<'_>) -> Result<Value, EvalError> {
    map_text(a, 0, |s| diacritics::normalize(&s))
}

pub(super) fn pcase(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let separators = text_arg(a, 1)?;
    map_text(a, 0, |s| text::pcase(&s, separators.as_deref()))
}

pub(super) fn strip_spaces(a: &mut Args<'_>) -> Result<Value, EvalError> {
    map_text(a, 0, |s| text::strip_spaces(&s))
}

pub(super) fn to_lower(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let culture = text_arg(a, 1)?;
    map_text(a, 0, |s| text::to_lower(&s, culture.as_deref()))
}

pub(super) fn to_upper(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let culture = text_arg(a, 1)?;
    map_text(a, 0, |s| text::to_upper(&s, culture.as_deref()))
}

pub(super) fn word(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let source = text_arg(a, 0)?.unwrap_or_default();
    let number = whole_number(a, 1)?.unwrap_or(0);
    let delimiters = text_arg(a, 2)?.unwrap_or_default();
    Ok(Value::Str(text::word(&source, number, &delimiters)))
}
