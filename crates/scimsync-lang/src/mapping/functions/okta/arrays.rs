//! `Arrays.*`: Okta's array functions ("Array functions" in
//! <https://developer.okta.com/docs/reference/okta-expression-language/>).
//!
//! Every function also takes a comma-separated string where an array is expected ("converted
//! into arrays"): `Arrays.flatten('10, 20, 30')`. scimsync splits it on commas and trims each
//! element, keeping them as strings. A null array counts as empty (`Arrays.size(NULL)` is 0,
//! `Arrays.isEmpty(NULL)` is true, as documented). Elements compare as `==` does.

use super::super::Args;
use crate::mapping::eval::{EvalError, spel_equal, spel_text};
use crate::value::Value;

/// An argument in array position: a list, a CSV string, a lone value, or nothing for null.
fn elements(value: Value) -> Option<Vec<Value>> {
    match value {
        Value::Null => None,
        Value::List(items) => Some(items),
        Value::Str(csv) if csv.trim().is_empty() => Some(Vec::new()),
        Value::Str(csv) => Some(
            csv.split(',')
                .map(|part| Value::from(part.trim()))
                .collect(),
        ),
        other => Some(vec![other]),
    }
}

fn array(a: &mut Args<'_>, i: usize) -> Result<Vec<Value>, EvalError> {
    Ok(elements(a.value(i)?).unwrap_or_default())
}

/// `Arrays.add(array, value)`: appends; duplicates are kept.
pub fn add(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let mut items = array(a, 0)?;
    items.push(a.value(1)?);
    Ok(Value::List(items))
}

/// `Arrays.remove(array, value)`: removes the first element equal to `value`; nothing when
/// there is none. By value, not by index.
pub fn remove(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let mut items = array(a, 0)?;
    let value = a.value(1)?;
    if let Some(at) = items.iter().position(|item| spel_equal(item, &value)) {
        items.remove(at);
    }
    Ok(Value::List(items))
}

/// `Arrays.clear(array)`: an empty array.
pub fn clear(a: &mut Args<'_>) -> Result<Value, EvalError> {
    a.value(0)?;
    Ok(Value::List(Vec::new()))
}

/// `Arrays.get(array, position)`: 0-based; a position outside the array fails, as Java's
/// `List.get` does. A null array gives null.
pub fn get(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let Some(items) = elements(a.value(0)?) else {
        return Ok(Value::Null);
    };
    let Some(position) = a.int(1)? else {
        return Err(a.error("Arrays.get: the position is null"));
    };
    usize::try_from(position)
        .ok()
        .and_then(|p| items.get(p).cloned())
        .ok_or_else(|| {
            a.error(format!(
                "Arrays.get: position {position} is outside the array (size {}; positions start at 0)",
                items.len()
            ))
        })
}

/// `Arrays.flatten(values...)`: the values in one array, arrays among them spread one level
/// deep: `Arrays.flatten(10, {20, 30}, 40)` is `{10, 20, 30, 40}`. A single array (or CSV
/// string) is the list of values itself, so EL v2's `{{1}, {2, 3}}.flatten()` is `{1, 2, 3}`.
pub fn flatten(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let values = if a.len() == 1 {
        elements(a.value(0)?).unwrap_or_default()
    } else {
        (0..a.len()).map(|i| a.value(i)).collect::<Result<_, _>>()?
    };
    let mut out = Vec::new();
    for value in values {
        match value {
            Value::List(items) => out.extend(items),
            other => out.push(other),
        }
    }
    Ok(Value::List(out))
}

/// `Arrays.contains(array, value)`.
pub fn contains(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let items = array(a, 0)?;
    let value = a.value(1)?;
    Ok(Value::Bool(
        items.iter().any(|item| spel_equal(item, &value)),
    ))
}

/// `Arrays.size(array)`: 0 for null.
pub fn size(a: &mut Args<'_>) -> Result<Value, EvalError> {
    Ok(Value::Int(array(a, 0)?.len() as i64))
}

/// `Arrays.isEmpty(array)`: true for null.
pub fn is_empty(a: &mut Args<'_>) -> Result<Value, EvalError> {
    Ok(Value::Bool(array(a, 0)?.is_empty()))
}

/// `Arrays.toCsvString(array)`: joined with `,`, no spaces added and none trimmed. Null
/// gives null.
pub fn to_csv_string(a: &mut Args<'_>) -> Result<Value, EvalError> {
    Ok(match a.value(0)? {
        Value::Null => Value::Null,
        Value::List(items) => Value::Str(items.iter().map(spel_text).collect::<Vec<_>>().join(",")),
        other => Value::Str(spel_text(&other)),
    })
}
