//! `Convert.*` and `Iso3166Convert.*` ("Conversion functions" and "Country code conversion
//! functions" in <https://developer.okta.com/docs/reference/okta-expression-language/>),
//! and EL v2's
//! `parseCountryCode()`.
//!
//! Okta's integers are Java `int`s: `Convert.toInt` rounds like `Math.round` (half up) and
//! then wraps into 32 bits, as Okta's EL v2 examples show (`2147483647.7` gives
//! `-2147483648`, `'-2147483649'` gives `2147483647`).

use super::super::Args;
use super::super::iso3166::{self, Country};
use crate::mapping::eval::EvalError;
use crate::value::Value;

/// Java's `(int) Math.round(x)`: half up, saturating into a `long`, then wrapped to `int`.
fn java_round_to_int(x: f64) -> i64 {
    let rounded = if x.is_nan() {
        0
    } else {
        (x + 0.5).floor() as i64
    };
    i64::from(rounded as i32)
}

/// `Convert.toInt(value)`: numbers are rounded; strings must hold a number. Null gives null.
pub fn to_int(a: &mut Args<'_>) -> Result<Value, EvalError> {
    Ok(match a.value(0)? {
        Value::Null => Value::Null,
        Value::Int(i) => Value::Int(i64::from(i as i32)),
        Value::Float(f) => Value::Int(java_round_to_int(f)),
        Value::Str(s) => Value::Int(java_round_to_int(number(a, "Convert.toInt", &s)?)),
        Value::Bool(_) | Value::List(_) | Value::Object(_) => {
            return Err(a.error("Convert.toInt: expected a number or a string holding one"));
        }
    })
}

/// `Convert.toNum(value)`: a (double) number. Null gives null.
pub fn to_num(a: &mut Args<'_>) -> Result<Value, EvalError> {
    Ok(match a.value(0)? {
        Value::Null => Value::Null,
        Value::Int(i) => Value::Float(i as f64),
        Value::Float(f) => Value::Float(f),
        Value::Str(s) => Value::Float(number(a, "Convert.toNum", &s)?),
        Value::Bool(_) | Value::List(_) | Value::Object(_) => {
            return Err(a.error("Convert.toNum: expected a number or a string holding one"));
        }
    })
}

/// A decimal number as Java's `Double.parseDouble` reads it (surrounding blanks allowed),
/// refusing `NaN` and `Infinity`, which no directory means.
fn number(a: &Args<'_>, function: &str, text: &str) -> Result<f64, EvalError> {
    let trimmed = text.trim();
    let plain = !trimmed.is_empty()
        && trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'));
    match trimmed.parse::<f64>() {
        Ok(n) if plain && n.is_finite() => Ok(n),
        _ => Err(a.error(format!("{function}: \"{text}\" is not a number"))),
    }
}

/// The country an `Iso3166Convert` argument names; null for null or "", an error for a
/// code that is not assigned.
fn country(
    a: &mut Args<'_>,
    function: &str,
    names: bool,
) -> Result<Option<&'static Country>, EvalError> {
    let Some(code) = a.text(0)?.filter(|c| !c.trim().is_empty()) else {
        return Ok(None);
    };
    match iso3166::find(&code, names) {
        Some(country) => Ok(Some(country)),
        None => Err(a.error(format!(
            "{function}: \"{code}\" is not an ISO 3166 country code (alpha-2 like \"US\", alpha-3 like \"USA\" or numeric like \"840\"{})",
            if names { ", or an English country name" } else { "" }
        ))),
    }
}

pub fn to_alpha2(a: &mut Args<'_>) -> Result<Value, EvalError> {
    Ok(country(a, "toAlpha2", false)?.map_or(Value::Null, |c| Value::from(c.alpha2)))
}

pub fn to_alpha3(a: &mut Args<'_>) -> Result<Value, EvalError> {
    Ok(country(a, "toAlpha3", false)?.map_or(Value::Null, |c| Value::from(c.alpha3)))
}

/// The numeric code as a three-digit string (`"840"`), not a number, as Okta documents.
pub fn to_numeric(a: &mut Args<'_>) -> Result<Value, EvalError> {
    Ok(country(a, "toNumeric", false)?.map_or(Value::Null, |c| Value::from(c.numeric)))
}

pub fn to_name(a: &mut Args<'_>) -> Result<Value, EvalError> {
    Ok(country(a, "toName", false)?.map_or(Value::Null, |c| Value::from(c.name)))
}

/// EL v2 `parseCountryCode()`: any code or an English name, as the alpha-2 code that the
/// `toAlpha2()`/`toAlpha3()`/`toNumeric()`/`toName()` methods then read.
pub fn parse_country_code(a: &mut Args<'_>) -> Result<Value, EvalError> {
    Ok(country(a, "parseCountryCode", true)?.map_or(Value::Null, |c| Value::from(c.alpha2)))
}

/// SpEL's unary `+x`: a number as it is; anything else fails, as SpEL's `OpPlus` does.
pub fn unary_plus(a: &mut Args<'_>) -> Result<Value, EvalError> {
    match a.value(0)? {
        number @ (Value::Int(_) | Value::Float(_)) => Ok(number),
        other => Err(a.error(format!(
            "`+` needs a number, but got a {} value",
            other.kind()
        ))),
    }
}
