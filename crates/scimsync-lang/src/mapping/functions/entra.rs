//! Entra attribute-mapping functions. Names are case-sensitive, as in Entra.
//!
//! Entra's values are strings at heart: booleans render as `True`/`False`, numbers may be
//! quoted or not (and written `&HF7`), and a missing attribute is null, which is not the same
//! as `""`. Each entry below is one documented function; the work is done in the modules
//! under `entra/` (text, replace, dates, random, roles) and in the shared `dotnet_datetime`
//! and `diacritics` modules, so this table reads as the reference it implements
//! (`functions-for-customizing-application-data`, Microsoft Learn).

mod dates;
mod random;
mod replace;
mod roles;
mod text;

use super::dotnet_datetime::{self, NetDateTime};
use super::{Args, EvalFn, Function, Ty, diacritics};
use crate::mapping::eval::{EvalError, entra_str, entra_text, truth};
use crate::value::Value;

const fn f(
    name: &'static str,
    signature: &'static str,
    min_args: usize,
    max_args: Option<usize>,
    arg_types: &'static [Ty],
    returns: Ty,
    eval: EvalFn,
) -> Function {
    Function {
        name,
        signature,
        min_args,
        max_args,
        arg_types,
        returns,
        omittable: false,
        fallible: false,
        uses_groups: false,
        redacts: false,
        eval,
    }
}

/// Marks a function that can fail at run time for some input.
const fn fallible(function: Function) -> Function {
    Function {
        fallible: true,
        ..function
    }
}

/// Marks a function whose middle arguments may be left out (`Replace([x], , "re", , "", , )`).
const fn omittable(function: Function) -> Function {
    Function {
        omittable: true,
        ..function
    }
}

use Ty::{Any, Bool, Int, List, Str};

pub static FUNCTIONS: &[Function] = &[
    // Documented: null source is undocumented; scimsync treats it as "", like Join.
    f(
        "Append",
        "Append(source, suffix)",
        2,
        Some(2),
        &[Str],
        Str,
        |a| {
            let source = a.value(0)?;
            let suffix = a.value(1)?;
            Ok(Value::Str(entra_text(&source) + &entra_text(&suffix)))
        },
    ),
    f(
        "AppRoleAssignmentsComplex",
        "AppRoleAssignmentsComplex([appRoleAssignments])",
        1,
        Some(1),
        &[Any],
        List,
        |a| Ok(roles::all_roles(&*a.value_ref(0)?)),
    ),
    f(
        "AssertiveAppRoleAssignmentsComplex",
        "AssertiveAppRoleAssignmentsComplex([appRoleAssignments])",
        1,
        Some(1),
        &[Any],
        List,
        |a| Ok(roles::all_roles_assertive(&*a.value_ref(0)?)),
    ),
    fallible(f(
        "BitAnd",
        "BitAnd(value1, value2)",
        2,
        Some(2),
        &[Int],
        Int,
        |a| match (whole_number(a, 0)?, whole_number(a, 1)?) {
            (Some(x), Some(y)) => Ok(Value::Int(x & y)),
            _ => Ok(Value::Null),
        },
    )),
    fallible(f(
        "CBool",
        "CBool(expression)",
        1,
        Some(1),
        &[Any],
        Bool,
        |a| {
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
        },
    )),
    fallible(f(
        "CDate",
        "CDate(expression)",
        1,
        Some(1),
        &[Str],
        Str,
        |a| Ok(date_arg(a, 0)?.map_or(Value::Null, |t| Value::Str(dotnet_datetime::entra_date(t)))),
    )),
    // Only null is skipped (FUNCS); `""` is a value and is returned.
    f(
        "Coalesce",
        "Coalesce(source1, source2, ..., defaultValue)",
        1,
        None,
        &[Any],
        Any,
        |a| {
            for i in 0..a.len() {
                let v = a.value(i)?;
                if !absent(&v) {
                    return Ok(v);
                }
            }
            Ok(Value::Null)
        },
    ),
    f(
        "ConvertToBase64",
        "ConvertToBase64(source)",
        1,
        Some(1),
        &[Str],
        Str,
        |a| map_text(a, 0, |s| text::base64_utf16le(&s)),
    ),
    f(
        "ConvertToUTF8Hex",
        "ConvertToUTF8Hex(source)",
        1,
        Some(1),
        &[Str],
        Str,
        |a| map_text(a, 0, |s| text::utf8_hex(&s)),
    ),
    // Cloud Sync: the text of Base64 in UTF8 (default), ASCII or Unicode (UTF-16LE).
    fallible(f(
        "ConvertFromBase64",
        "ConvertFromBase64(source, encoding)",
        1,
        Some(2),
        &[Str, Str],
        Str,
        |a| {
            let encoding = text_arg(a, 1)?;
            let Some(source) = text_arg(a, 0)? else {
                return Ok(Value::Null);
            };
            text::from_base64(&source, encoding.as_deref().unwrap_or("UTF8"))
                .map(Value::Str)
                .map_err(|e| a.error(format!("ConvertFromBase64: {e}")))
        },
    )),
    f("Count", "Count(attribute)", 1, Some(1), &[Any], Int, |a| {
        Ok(Value::Int(match a.value(0)? {
            Value::Null => 0,
            Value::List(items) => items.len() as i64,
            _ => 1,
        }))
    }),
    fallible(f(
        "CStr",
        "CStr(value)",
        1,
        Some(1),
        &[Any],
        Str,
        |a| match single(a.value(0)?) {
            Ok(Value::Null) => Ok(Value::Null),
            Ok(v) => Ok(Value::Str(entra_text(&v))),
            Err(n) => Err(a.error(format!("CStr: needs one value, got a list of {n} values"))),
        },
    )),
    fallible(f(
        "DateAdd",
        "DateAdd(interval, value, dateTime)",
        3,
        Some(3),
        &[Str, Int, Str],
        Str,
        |a| {
            let interval = interval_arg(a, 0)?;
            let Some(amount) = number_arg(a, 1)? else {
                return Ok(Value::Null);
            };
            let Some(t) = date_arg(a, 2)? else {
                return Ok(Value::Null);
            };
            let result = dates::add(interval, amount, t).map_err(|e| a.error(e))?;
            Ok(Value::Str(dotnet_datetime::entra_date(result)))
        },
    )),
    fallible(f(
        "DateDiff",
        "DateDiff(interval, date1, date2)",
        3,
        Some(3),
        &[Str, Str, Str],
        Int,
        |a| {
            let interval = interval_arg(a, 0)?;
            match (date_arg(a, 1)?, date_arg(a, 2)?) {
                (Some(d1), Some(d2)) => Ok(Value::Int(dates::diff(interval, d1, d2))),
                _ => Ok(Value::Null),
            }
        },
    )),
    fallible(f(
        "DateFromNum",
        "DateFromNum(value)",
        1,
        Some(1),
        &[Int],
        Str,
        |a| {
            let Some(ticks) = whole_number(a, 0)? else {
                return Ok(Value::Null);
            };
            let t = dotnet_datetime::from_filetime(ticks)
                .map_err(|e| a.error(format!("DateFromNum: {e}")))?;
            Ok(Value::Str(dotnet_datetime::entra_date(t)))
        },
    )),
    fallible(omittable(f(
        "FormatDateTime",
        "FormatDateTime(source, dateTimeStyles, inputFormat, outputFormat)",
        3,
        Some(4),
        &[Str],
        Str,
        format_date_time,
    ))),
    f("Guid", "Guid()", 0, Some(0), &[], Str, |_| {
        Ok(Value::Str(random::guid()))
    }),
    // Cloud Sync: the value of the n-th (1-based) component of a distinguished name.
    fallible(f(
        "DNComponent",
        "DNComponent(dn, componentNumber)",
        2,
        Some(2),
        &[Str, Int],
        Str,
        |a| {
            let Some(dn) = text_arg(a, 0)? else {
                return Ok(Value::Null);
            };
            let number = whole_number(a, 1)?.unwrap_or(0);
            Ok(text::dn_component(&dn, number).map_or(Value::Null, Value::Str))
        },
    )),
    // Cloud Sync: fails the object with the given message.
    fallible(f("Error", "Error(message)", 1, Some(1), &[Str], Str, |a| {
        let message = text_arg(a, 0)?.unwrap_or_default();
        Err(a.error(format!("Error: {message}")))
    })),
    f(
        "IgnoreFlowIfNullOrEmpty",
        "IgnoreFlowIfNullOrEmpty(expression)",
        1,
        Some(1),
        &[Any],
        Any,
        |a| {
            let value = a.value(0)?;
            if no_value(&value) {
                Err(EvalError::ignore_flow(a.span))
            } else {
                Ok(value)
            }
        },
    ),
    // Entra documents a condition over a null or empty attribute as failing; scimsync
    // evaluates it (null compares as "") and `IsNullOrEmpty`/`IsPresent` work as conditions,
    // as Entra's own Workday and SuccessFactors guides use them.
    fallible(f(
        "IIF",
        "IIF(condition, valueIfTrue, valueIfFalse)",
        3,
        Some(3),
        &[Bool, Any, Any],
        Any,
        |a| {
            let cond = a.value(0)?;
            if cond.is_null() {
                // Entra documents this case as a failing condition check.
                return Err(a.error(
                    "IIF: the condition is null; test the attribute with IsPresent or IsNullOrEmpty first, or use Switch([x], ...), which matches null on \"\"",
                ));
            }
            let branch = if truth(&cond, a.span)? { 1 } else { 2 };
            a.value(branch)
        },
    )),
    fallible(omittable(f(
        "InStr",
        "InStr(value1, value2, start, compareType)",
        2,
        Some(4),
        &[Str, Str, Int, Str],
        Int,
        |a| {
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
            let position =
                text::instr(&entra_text(&haystack), &entra_text(&needle), start, compare)
                    .map_err(|e| a.error(e))?;
            Ok(Value::Int(position))
        },
    ))),
    f(
        "IsNull",
        "IsNull(expression)",
        1,
        Some(1),
        &[Any],
        Bool,
        |a| Ok(Value::Bool(absent(&a.value(0)?))),
    ),
    f(
        "IsNullOrEmpty",
        "IsNullOrEmpty(expression)",
        1,
        Some(1),
        &[Any],
        Bool,
        |a| Ok(Value::Bool(no_value(&a.value(0)?))),
    ),
    f(
        "IsPresent",
        "IsPresent(expression)",
        1,
        Some(1),
        &[Any],
        Bool,
        |a| Ok(Value::Bool(!no_value(&a.value(0)?))),
    ),
    // True when CStr would succeed: one value, not null.
    f(
        "IsString",
        "IsString(expression)",
        1,
        Some(1),
        &[Any],
        Bool,
        |a| {
            Ok(Value::Bool(
                matches!(single(a.value(0)?), Ok(v) if !v.is_null()),
            ))
        },
    ),
    fallible(f(
        "Item",
        "Item(attribute, index)",
        2,
        Some(2),
        &[Any, Int],
        Any,
        |a| {
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
        },
    )),
    // Empty values are skipped (no doubled separators); multi-valued sources add every value.
    f(
        "Join",
        "Join(separator, source1, source2, ...)",
        2,
        None,
        &[Str, Any],
        Str,
        |a| {
            let separator = entra_text(&a.value(0)?);
            let mut parts = Vec::new();
            for i in 1..a.len() {
                flatten_texts(a.value(i)?, &mut parts);
            }
            parts.retain(|p| !p.is_empty());
            Ok(Value::Str(parts.join(&separator)))
        },
    ),
    fallible(f(
        "Left",
        "Left(string, numChars)",
        2,
        Some(2),
        &[Str, Int],
        Str,
        |a| {
            let source = text_arg(a, 0)?.unwrap_or_default();
            let count = whole_number(a, 1)?.unwrap_or(0);
            Ok(Value::Str(text::left(&source, count)))
        },
    )),
    fallible(f(
        "Mid",
        "Mid(source, start, length)",
        2,
        Some(3),
        &[Str, Int, Int],
        Str,
        |a| {
            let Some(source) = text_arg(a, 0)? else {
                return Ok(Value::Null);
            };
            let start = whole_number(a, 1)?.unwrap_or(1);
            let length = whole_number(a, 2)?;
            text::mid(&source, start, length)
                .map(Value::Str)
                .map_err(|e| a.error(e))
        },
    )),
    f(
        "NormalizeDiacritics",
        "NormalizeDiacritics(source)",
        1,
        Some(1),
        &[Str],
        Str,
        |a| map_text(a, 0, |s| diacritics::normalize(&s)),
    ),
    // `"True"` (any case, or a true boolean) gives False; anything else, null included, True.
    f("Not", "Not(source)", 1, Some(1), &[Any], Bool, |a| {
        let v = a.value(0)?;
        Ok(Value::Bool(!entra_text(&v).eq_ignore_ascii_case("true")))
    }),
    f("Now", "Now()", 0, Some(0), &[], Str, |a| {
        Ok(Value::Str(dotnet_datetime::entra_date(
            a.env().now.naive_utc(),
        )))
    }),
    fallible(f(
        "NumFromDate",
        "NumFromDate(value)",
        1,
        Some(1),
        &[Str],
        Int,
        |a| {
            let Some(t) = date_arg(a, 0)? else {
                return Ok(Value::Null);
            };
            dotnet_datetime::to_filetime(t)
                .map(Value::Int)
                .map_err(|e| a.error(format!("NumFromDate: {e}")))
        },
    )),
    f(
        "PCase",
        "PCase(source, wordSeparators)",
        1,
        Some(2),
        &[Str, Str],
        Str,
        |a| {
            let separators = text_arg(a, 1)?;
            map_text(a, 0, |s| text::pcase(&s, separators.as_deref()))
        },
    ),
    fallible(omittable(f(
        "RandomString",
        "RandomString(length, minNumbers, minSpecial, minCapital, minLower, charactersToAvoid)",
        5,
        Some(6),
        &[Int, Int, Int, Int, Int, Str],
        Str,
        |a| {
            let mut counts = [0i64; 5];
            for (i, count) in counts.iter_mut().enumerate() {
                *count = whole_number(a, i)?.unwrap_or(0);
            }
            let spec = random::Spec {
                length: counts[0],
                min_numbers: counts[1],
                min_special: counts[2],
                min_capital: counts[3],
                min_lower: counts[4],
                avoid: text_arg(a, 5)?.unwrap_or_default(),
            };
            random::random_string(&spec)
                .map(Value::Str)
                .map_err(|e| a.error(e))
        },
    ))),
    // Entra hides the value in its provisioning logs; the value itself flows unchanged.
    Function {
        redacts: true,
        ..f("Redact", "Redact(value)", 1, Some(1), &[Any], Any, |a| {
            a.value(0)
        })
    },
    f(
        "RemoveDuplicates",
        "RemoveDuplicates(attribute)",
        1,
        Some(1),
        &[Any],
        List,
        |a| {
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
        },
    ),
    fallible(omittable(f(
        "Replace",
        "Replace(source, oldValue, regexPattern, regexGroupName, replacementValue, replacementAttributeName, template)",
        3,
        Some(7),
        &[Str],
        Str,
        |a| {
            let given_text = |a: &mut Args<'_>, i: usize| -> Result<Option<String>, EvalError> {
                Ok(if a.given(i) {
                    Some(text_arg(a, i)?.unwrap_or_default())
                } else {
                    None
                })
            };
            let args = replace::ReplaceArgs {
                source: text_arg(a, 0)?,
                old_value: given_text(a, 1)?,
                pattern: given_text(a, 2)?,
                group: given_text(a, 3)?,
                replacement: given_text(a, 4)?,
                replacement_attribute: if a.given(5) {
                    Some(text_arg(a, 5)?)
                } else {
                    None
                },
                template: given_text(a, 6)?,
            };
            replace::replace(args)
                .map(|r| r.map_or(Value::Null, Value::Str))
                .map_err(|e| a.error(e))
        },
    ))),
    fallible(f(
        "SelectUniqueValue",
        "SelectUniqueValue(uniqueValueRule1, uniqueValueRule2, ...)",
        2,
        None,
        &[Any],
        Any,
        select_unique_value,
    )),
    // scimsync's optional preference list decides between several roles, which Entra leaves
    // unspecified.
    f(
        "SingleAppRoleAssignment",
        "SingleAppRoleAssignment([appRoleAssignments], preferred...?)",
        1,
        None,
        &[Any, Str],
        Str,
        |a| {
            let assignments = a.value_ref(0)?;
            let mut preferred = Vec::with_capacity(a.len().saturating_sub(1));
            for i in 1..a.len() {
                if let Some(role) = text_arg(a, i)? {
                    preferred.push(role);
                }
            }
            Ok(roles::single_role(&assignments, &preferred))
        },
    ),
    // No trimming, as .NET's String.Split: "a, b" split on "," gives "a" and " b".
    f(
        "Split",
        "Split(source, delimiter)",
        2,
        Some(2),
        &[Str, Str],
        List,
        |a| {
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
        },
    ),
    f(
        "StripSpaces",
        "StripSpaces(source)",
        1,
        Some(1),
        &[Str],
        Str,
        |a| map_text(a, 0, |s| text::strip_spaces(&s)),
    ),
    omittable(f(
        "Switch",
        "Switch(source, defaultValue, key1, value1, key2, value2, ...)",
        4,
        None,
        &[Any],
        Any,
        switch,
    )),
    f(
        "ToLower",
        "ToLower(source, culture)",
        1,
        Some(2),
        &[Str, Str],
        Str,
        |a| {
            let culture = text_arg(a, 1)?;
            map_text(a, 0, |s| text::to_lower(&s, culture.as_deref()))
        },
    ),
    f(
        "ToUpper",
        "ToUpper(source, culture)",
        1,
        Some(2),
        &[Str, Str],
        Str,
        |a| {
            let culture = text_arg(a, 1)?;
            map_text(a, 0, |s| text::to_upper(&s, culture.as_deref()))
        },
    ),
    // Cloud Sync: leading and trailing white space removed, from every value of a list.
    f("Trim", "Trim(source)", 1, Some(1), &[Any], Any, |a| {
        fn trim(value: Value) -> Value {
            match value {
                Value::Str(s) => Value::Str(s.trim().to_owned()),
                Value::List(items) => Value::List(items.into_iter().map(trim).collect()),
                other => other,
            }
        }
        Ok(trim(a.value(0)?))
    }),
    fallible(f(
        "Word",
        "Word(string, wordNumber, delimiters)",
        3,
        Some(3),
        &[Str, Int, Str],
        Str,
        |a| {
            let source = text_arg(a, 0)?.unwrap_or_default();
            let number = whole_number(a, 1)?.unwrap_or(0);
            let delimiters = text_arg(a, 2)?.unwrap_or_default();
            Ok(Value::Str(text::word(&source, number, &delimiters)))
        },
    )),
];

/// Entra functions that need an Entra tenant, with why and what to use instead.
pub static TENANT_ONLY: &[(&str, &str)] = &[
    (
        "DefaultDomain",
        "it returns the tenant's default domain; write the domain as a string constant",
    ),
    (
        "AppRoleAssignments",
        "it is internal to Entra; use `SingleAppRoleAssignment([appRoleAssignments])`",
    ),
];

/// `Switch(source, default, key1, value1, ...)`: case-sensitive; a null or empty source
/// matches the key `""`. Keys and values come in pairs; a key without a value is an error.
fn switch(a: &mut Args<'_>) -> Result<Value, EvalError> {
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

/// `SelectUniqueValue(rule1, rule2, ...)`: the first candidate with a value that the target
/// does not already hold (asked through [`Env::is_taken`](crate::mapping::Env::is_taken)).
/// When every candidate is taken the user is skipped, as Entra escrows the entry.
fn select_unique_value(a: &mut Args<'_>) -> Result<Value, EvalError> {
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

/// `FormatDateTime(source, dateTimeStyles, inputFormat, outputFormat)`, or the three-argument
/// form without styles (Cloud Sync, older Graph schema).
fn format_date_time(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let (styles, input, output) = if a.len() == 4 {
        (Some(1), 2, 3)
    } else {
        (None, 1, 2)
    };
    let styles = match styles {
        Some(i) => text_arg(a, i)?,
        None => None,
    };
    let styles = dotnet_datetime::Styles::parse(styles.as_deref().unwrap_or_default())
        .map_err(|e| a.error(format!("FormatDateTime: {e}")))?;
    let (Some(input), Some(output)) = (text_arg(a, input)?, text_arg(a, output)?) else {
        return Err(a.error("FormatDateTime: inputFormat and outputFormat are required"));
    };
    let Some(source) = text_arg(a, 0)? else {
        return Ok(Value::Null);
    };
    let today = a.env().now.date_naive();
    let parsed: NetDateTime = dotnet_datetime::parse_exact(&source, &input, today)
        .map(|p| styles.apply(p))
        .map_err(|e| a.error(format!("FormatDateTime: {e}")))?;
    dotnet_datetime::format(&parsed, &output)
        .map(Value::Str)
        .map_err(|e| a.error(format!("FormatDateTime: {e}")))
}

/// Null, or a multi-valued attribute with no values: an absent attribute in Entra.
fn absent(value: &Value) -> bool {
    match value {
        Value::List(items) => items.is_empty(),
        other => other.is_null(),
    }
}

/// Null, `""`, or an empty list: what IsNullOrEmpty and IgnoreFlowIfNullOrEmpty test.
fn no_value(value: &Value) -> bool {
    match value {
        Value::List(items) => items.iter().all(no_value),
        other => other.is_null_or_empty(),
    }
}

/// One value from a possibly multi-valued one: a one-item list is its item; `Err(n)` for a
/// list of `n` values.
fn single(value: Value) -> Result<Value, usize> {
    match value {
        Value::List(mut items) if items.len() <= 1 => Ok(items.pop().unwrap_or_default()),
        Value::List(items) => Err(items.len()),
        other => Ok(other),
    }
}

/// Argument `i` as Entra text (`True`/`False` for booleans), `None` when null.
fn text_arg(a: &mut Args<'_>, i: usize) -> Result<Option<String>, EvalError> {
    Ok(match a.value(i)? {
        Value::Null => None,
        other => Some(entra_text(&other)),
    })
}

/// Applies `f` to a string argument, passing null through.
fn map_text(
    a: &mut Args<'_>,
    i: usize,
    f: impl FnOnce(String) -> String,
) -> Result<Value, EvalError> {
    Ok(text_arg(a, i)?.map_or(Value::Null, |s| Value::Str(f(s))))
}

/// A number as Entra reads one: `12`, `"12"`, `" -1.5 "`, VB hex `&HF7`.
fn parse_number(text: &str) -> Option<f64> {
    let text = text.trim();
    if let Some(hex) = text.strip_prefix("&H").or_else(|| text.strip_prefix("&h")) {
        return i64::from_str_radix(hex, 16).ok().map(|i| i as f64);
    }
    text.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// Argument `i` as a number, `None` when null; anything else that is not a number fails.
fn number_arg(a: &mut Args<'_>, i: usize) -> Result<Option<f64>, EvalError> {
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
fn whole_number(a: &mut Args<'_>, i: usize) -> Result<Option<i64>, EvalError> {
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
fn date_arg(a: &mut Args<'_>, i: usize) -> Result<Option<chrono::NaiveDateTime>, EvalError> {
    match text_arg(a, i)? {
        None => Ok(None),
        Some(text) => dotnet_datetime::parse_loose(&text)
            .map(Some)
            .map_err(|e| a.error(e)),
    }
}

fn interval_arg(a: &mut Args<'_>, i: usize) -> Result<dates::Interval, EvalError> {
    let name = text_arg(a, i)?.unwrap_or_default();
    dates::Interval::from_name(&name).map_err(|e| a.error(e))
}

fn flatten_texts(value: Value, out: &mut Vec<String>) {
    match value {
        Value::Null => {}
        Value::List(items) => items.into_iter().for_each(|v| flatten_texts(v, out)),
        other => out.push(entra_text(&other)),
    }
}

#[cfg(test)]
mod tests {
    use crate::mapping::{Dialect, Env, compile_expression};
    use crate::record::Record;

    /// Hostile arguments give values or errors, never a panic.
    #[test]
    fn extreme_arguments_do_not_panic() {
        let record = Record::default();
        let env = Env::new(&record);
        let min = i64::MIN;
        let max = i64::MAX;
        let expressions = [
            format!("Word(\"a b\", {min}, \" \")"),
            format!("Mid(\"abc\", {min}, {max})"),
            format!("Mid(\"abc\", 2, {max})"),
            format!("Left(\"abc\", {min})"),
            format!("InStr(\"abc\", \"c\", {max})"),
            format!("Item(Split(\"a,b\", \",\"), {min})"),
            format!("RandomString(10, {max}, {max}, 1, 1)"),
            format!("DateAdd(\"yyyy\", {max}, \"2021-01-01\")"),
            format!("DateAdd(\"s\", {min}, \"2021-01-01\")"),
            "DateAdd(\"d\", \"1e308\", \"2021-01-01\")".to_owned(),
            format!("DateFromNum({max})"),
            format!("BitAnd({min}, {max})"),
            "BitAnd(\"&HFFFFFFFFFFFFFFFFFFFF\", 1)".to_owned(),
            "FormatDateTime(\"2021-01-01+0é:00\", , \"yyyy-MM-ddzzz\", \"yyyy\")".to_owned(),
            "FormatDateTime(\"2021-01-01é\", , \"yyyy-MM-ddK\", \"yyyy\")".to_owned(),
            "FormatDateTime(\"ÄM\", , \"tt\", \"yyyyyyyyyy\")".to_owned(),
            "CDate(\"9999-12-31T23:59:59-14:00\")".to_owned(),
            "NumFromDate(\"0001-01-01\")".to_owned(),
            "Replace(\"ééé\", , \"(?<g>é)\", \"g\", \"\", , )".to_owned(),
            "Replace(\"abc\", , \"\", , \"-\", , )".to_owned(),
        ];
        for text in &expressions {
            let plan = compile_expression(text, Dialect::Entra)
                .unwrap_or_else(|d| panic!("{text} compiles: {d:?}"));
            let _ = plan.evaluate(&env);
        }
    }
}
