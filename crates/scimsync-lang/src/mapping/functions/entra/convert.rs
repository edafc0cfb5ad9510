//! Entra's conversions: `CBool`, `CStr`, `BitAnd` and the Base64 / UTF-8 hex encodings.

use super::super::Args;
use super::args::{map_text, parse_number, single, text_arg, whole_number};
use super::text;
use crate::mapping::eval::{EvalError, entra_text, truth};
use crate::value::Value;

pub(super) fn bit_and(a: &mut Args<'_>) -> Result<Value, EvalError> {
    match (whole_number(a, 0)?, whole_number(a, 1)?) {
        (Some(x), Some(y)) => Ok(Value::Int(x & y)),
        _ => Ok(Value::Null),
    }
}

pub(super) fn c_bool(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let value = a.value(0)?;
    Ok(Value::Bool(match &value {
        Value::Null => false,
        Value::Int(i) => *i != 0,
        Value::Float(x) => *x != 0.0,
        other => match parse_number(&entra_text(other)) {
            Some(x) => x != 0.0,
            None => truth(other, a.span).map_err(|_| {
                a.error(format!("CBool: {other} is neither a number nor True/False"))
            })?,
        },
    }))
}

pub(super) fn convert_to_base64(a: &mut Args<'_>) -> Result<Value, EvalError> {
    map_text(a, 0, |s| text::base64_utf16le(&s))
}

pub(super) fn convert_to_utf8_hex(a: &mut Args<'_>) -> Result<Value, EvalError> {
    map_text(a, 0, |s| text::utf8_hex(&s))
}

/// Cloud Sync: the text of Base64 in UTF8 (default), ASCII or Unicode (UTF-16LE).
pub(super) fn convert_from_base64(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let encoding = text_arg(a, 1)?;
    let Some(source) = text_arg(a, 0)? else {
        return Ok(Value::Null);
    };
    text::from_base64(&source, encoding.as_deref().unwrap_or("UTF8"))
        .map(Value::Str)
        .map_err(|e| a.error(format!("ConvertFromBase64: {e}")))
}

pub(super) fn c_str(a: &mut Args<'_>) -> Result<Value, EvalError> {
    match single(a.value(0)?) {
        Ok(Value::Null) => Ok(Value::Null),
        Ok(v) => Ok(Value::Str(entra_text(&v))),
        Err(n) => Err(a.error(format!("CStr: needs one value, got a list of {n} values"))),
    }
}
