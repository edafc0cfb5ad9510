//! `String.*`: Okta's string functions ("String functions" in
//! <https://developer.okta.com/docs/reference/okta-expression-language/>).
//!
//! Okta runs on Java, so lengths and indexes count UTF-16 code units, as `String.length()`
//! and `String.substring()` do; for text without emoji this is the number of characters.
//! A null input gives null (nothing flows) unless the function is a test, which is false.

use super::super::{Args, map_text};
use crate::mapping::eval::EvalError;
use crate::value::Value;

pub fn to_lower_case(a: &mut Args<'_>) -> Result<Value, EvalError> {
    map_text(a, 0, |s| s.to_lowercase())
}

pub fn to_upper_case(a: &mut Args<'_>) -> Result<Value, EvalError> {
    map_text(a, 0, |s| s.to_uppercase())
}

/// `String.len`: the length in UTF-16 code units, as Java counts it.
pub fn len(a: &mut Args<'_>) -> Result<Value, EvalError> {
    Ok(a.text(0)?
        .map_or(Value::Null, |s| Value::Int(s.encode_utf16().count() as i64)))
}

/// `String.append(str, suffix)`: a null part is left out, so appending to a missing value
/// gives the suffix alone rather than the text `null`.
pub fn append(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let head = a.text(0)?;
    let tail = a.text(1)?;
    Ok(match (head, tail) {
        (None, None) => Value::Null,
        (head, tail) => Value::Str(head.unwrap_or_default() + &tail.unwrap_or_default()),
    })
}

/// `String.join(separator, strings...)`: null values are left out (no `null` text, no doubled
/// separator); empty strings are kept, as in Java's `String.join`.
pub fn join(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let separator = a.text(0)?.unwrap_or_default();
    let mut parts = Vec::new();
    for i in 1..a.len() {
        match a.value(i)? {
            Value::Null => {}
            Value::List(items) => parts.extend(
                items
                    .iter()
                    .filter(|v| !v.is_null())
                    .map(crate::mapping::eval::spel_text),
            ),
            other => parts.push(crate::mapping::eval::spel_text(&other)),
        }
    }
    Ok(Value::Str(parts.join(&separator)))
}

pub fn remove_spaces(a: &mut Args<'_>) -> Result<Value, EvalError> {
    map_text(a, 0, |s| s.replace(' ', ""))
}

/// `String.replace(input, match, replacement)`: every occurrence, matched literally.
pub fn replace(a: &mut Args<'_>) -> Result<Value, EvalError> {
    replace_with(a, |input, target, replacement| {
        input.replace(target, replacement)
    })
}

/// `String.replaceFirst(input, match, replacement)`: the first occurrence, matched literally.
pub fn replace_first(a: &mut Args<'_>) -> Result<Value, EvalError> {
    replace_with(a, |input, target, replacement| {
        input.replacen(target, replacement, 1)
    })
}

fn replace_with(
    a: &mut Args<'_>,
    apply: fn(&str, &str, &str) -> String,
) -> Result<Value, EvalError> {
    let Some(input) = a.text(0)? else {
        return Ok(Value::Null);
    };
    let Some(target) = a.text(1)?.filter(|t| !t.is_empty()) else {
        // Nothing to look for (null or ""): the input as it is.
        return Ok(Value::Str(input));
    };
    let replacement = a.text(2)?.unwrap_or_default();
    Ok(Value::Str(apply(&input, &target, &replacement)))
}

/// `String.startsWith(input, prefix)`: false when either is null.
pub fn starts_with(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let (input, prefix) = (a.text(0)?, a.text(1)?);
    Ok(Value::Bool(
        matches!((input, prefix), (Some(i), Some(p)) if i.starts_with(&p)),
    ))
}

/// `String.stringContains(input, searchString)`: case-sensitive; false when either is null.
pub fn string_contains(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let (input, search) = (a.text(0)?, a.text(1)?);
    Ok(Value::Bool(
        matches!((input, search), (Some(i), Some(s)) if i.contains(&s)),
    ))
}

/// `String.stringSwitch(input, default, key1, value1, ...)`: the value of the first key, in
/// the order written, that occurs anywhere in the input (case-sensitive); else the default.
pub fn string_switch(a: &mut Args<'_>) -> Result<Value, EvalError> {
    if !a.len().is_multiple_of(2) {
        let key = a.text(a.len() - 1)?.unwrap_or_else(|| "null".into());
        return Err(a.error(format!(
            "String.stringSwitch: the key \"{key}\" has no value; write keys and values in pairs after the default"
        )));
    }
    let input = a.text(0)?;
    if let Some(input) = input {
        for key_at in (2..a.len()).step_by(2) {
            if let Some(key) = a.text(key_at)?
                && input.contains(&key)
            {
                return a.value(key_at + 1);
            }
        }
    }
    a.value(1)
}

/// `String.substring(input, startIndex, endIndex)`: from `startIndex` (inclusive) to
/// `endIndex` (exclusive), 0-based, in UTF-16 code units. EL v2's `substring(start)` leaves
/// out the end. Out-of-range indexes fail, as Java's `substring` does.
pub fn substring(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let Some(input) = a.text(0)? else {
        return Ok(Value::Null);
    };
    let units: Vec<u16> = input.encode_utf16().collect();
    let start = a.int(1)?.unwrap_or(0);
    let end = if a.given(2) {
        a.int(2)?.unwrap_or(units.len() as i64)
    } else {
        units.len() as i64
    };
    if start < 0 || end > units.len() as i64 || start > end {
        return Err(a.error(format!(
            "String.substring: indexes {start}..{end} are out of range for \"{input}\" (length {})",
            units.len()
        )));
    }
    Ok(Value::Str(String::from_utf16_lossy(
        &units[start as usize..end as usize],
    )))
}

/// `String.substringBefore(input, searchString)`: the text before the first occurrence; the
/// whole input when the search string does not occur (as commons-lang's `substringBefore`).
pub fn substring_before(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let (Some(input), Some(search)) = (a.text(0)?, a.text(1)?) else {
        return a.value(0);
    };
    Ok(Value::Str(match input.find(&search) {
        Some(i) => input[..i].to_owned(),
        None => input,
    }))
}

/// `String.substringAfter(input, searchString)`: the text after the first occurrence; an
/// empty string when the search string does not occur (Okta KB).
pub fn substring_after(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let (Some(input), Some(search)) = (a.text(0)?, a.text(1)?) else {
        return a.value(0);
    };
    Ok(Value::Str(input.find(&search).map_or(String::new(), |i| {
        input[i + search.len()..].to_owned()
    })))
}
