//! Okta Identity Engine (EL v2) methods: `value.method(args)` is the classic function with the
//! value as its first argument (`user.profile.login.substringBefore("@")` runs
//! `String.substringBefore`). One implementation per operation; this table only says which.

use super::super::{Args, Ty};
use super::{arrays, strings};
use crate::mapping::eval::EvalError;
use crate::value::Value;

/// One method: its name, the kind of value it applies to, the function it runs and how many
/// arguments it takes after the value.
#[derive(Debug)]
pub struct Method {
    pub name: &'static str,
    pub on: Ty,
    /// A name in [`super::FUNCTIONS`] or [`super::METHOD_ONLY`].
    pub function: &'static str,
    pub min_args: usize,
    pub max_args: usize,
}

const fn m(name: &'static str, on: Ty, function: &'static str, args: (usize, usize)) -> Method {
    Method {
        name,
        on,
        function,
        min_args: args.0,
        max_args: args.1,
    }
}

/// The EL v2 methods of Okta Expression Language in Identity Engine
/// (<https://developer.okta.com/docs/reference/okta-expression-language-in-identity-engine/>).
pub static METHODS: &[Method] = &[
    // Strings
    m("toUpperCase", Ty::Str, "String.toUpperCase", (0, 0)),
    m("toLowerCase", Ty::Str, "String.toLowerCase", (0, 0)),
    m("substring", Ty::Str, "String.substring", (1, 2)),
    m("replace", Ty::Str, "String.replace", (2, 2)),
    m("replaceFirst", Ty::Str, "String.replaceFirst", (2, 2)),
    m("length", Ty::Str, "String.len", (0, 0)),
    m("removeSpaces", Ty::Str, "String.removeSpaces", (0, 0)),
    m("contains", Ty::Str, "String.stringContains", (1, 1)),
    m("substringBefore", Ty::Str, "String.substringBefore", (1, 1)),
    m("substringAfter", Ty::Str, "String.substringAfter", (1, 1)),
    // Arrays
    m("contains", Ty::List, "Arrays.contains", (1, 1)),
    m("size", Ty::List, "Arrays.size", (0, 0)),
    m("isEmpty", Ty::List, "Arrays.isEmpty", (0, 0)),
    m("add", Ty::List, "Arrays.add", (1, 1)),
    m("remove", Ty::List, "Arrays.remove", (1, 1)),
    m("flatten", Ty::List, "Arrays.flatten", (0, 0)),
    // Conversion
    m("toInteger", Ty::Any, "Convert.toInt", (0, 0)),
    m("toNumber", Ty::Any, "Convert.toNum", (0, 0)),
    m("parseCountryCode", Ty::Str, "parseCountryCode", (0, 0)),
    m("toAlpha2", Ty::Str, "Iso3166Convert.toAlpha2", (0, 0)),
    m("toAlpha3", Ty::Str, "Iso3166Convert.toAlpha3", (0, 0)),
    m("toNumeric", Ty::Str, "Iso3166Convert.toNumeric", (0, 0)),
    m("toName", Ty::Str, "Iso3166Convert.toName", (0, 0)),
    // Time (date-times are ISO 8601 strings)
    m(
        "parseWindowsTime",
        Ty::Str,
        "Time.fromWindowsToIso8601",
        (0, 0),
    ),
    m("parseUnixTime", Ty::Str, "Time.fromUnixToIso8601", (0, 0)),
    m(
        "parseStringTime",
        Ty::Str,
        "Time.fromStringToIso8601",
        (0, 1),
    ),
    m("toWindows", Ty::Str, "Time.fromIso8601ToWindows", (0, 0)),
    m("toUnix", Ty::Str, "Time.fromIso8601ToUnix", (0, 0)),
    m("toString", Ty::Str, "Time.fromIso8601ToString", (0, 1)),
    m("toZone", Ty::Str, "toZone", (1, 1)),
    m("plusDays", Ty::Str, "plusDays", (1, 1)),
    m("plusHours", Ty::Str, "plusHours", (1, 1)),
    m("plusMinutes", Ty::Str, "plusMinutes", (1, 1)),
    m("plusSeconds", Ty::Str, "plusSeconds", (1, 1)),
    m("minusDays", Ty::Str, "minusDays", (1, 1)),
    m("minusHours", Ty::Str, "minusHours", (1, 1)),
    m("minusMinutes", Ty::Str, "minusMinutes", (1, 1)),
    m("minusSeconds", Ty::Str, "minusSeconds", (1, 1)),
    m("withinDays", Ty::Str, "withinDays", (1, 1)),
    m("withinHours", Ty::Str, "withinHours", (1, 1)),
    m("withinMinutes", Ty::Str, "withinMinutes", (1, 1)),
    m("withinSeconds", Ty::Str, "withinSeconds", (1, 1)),
];

/// Static calls EL v2 makes on a type rather than a value: `DateTime.now()`.
pub static STATIC_METHODS: &[(&str, &str)] = &[("DateTime.now", "Time.now")];

/// The method `name` for a receiver of static type `receiver`. When a name applies to
/// strings and arrays (`contains`) and the receiver's type is not known until run time, the
/// `contains` entry chooses by the value.
pub fn resolve(name: &str, receiver: Ty) -> Option<&'static Method> {
    let mut candidates = METHODS.iter().filter(|m| m.name == name);
    let first = candidates.next()?;
    let Some(second) = candidates.next() else {
        return Some(first);
    };
    [first, second]
        .into_iter()
        .find(|m| m.on == receiver)
        .or(Some(&DISPATCH_CONTAINS))
}

static DISPATCH_CONTAINS: Method = m("contains", Ty::Any, "contains", (1, 1));

/// `x.contains(y)` on a value whose type is known only at run time: a list looks for an
/// element, anything else for a substring.
pub fn contains(a: &mut Args<'_>) -> Result<Value, EvalError> {
    if matches!(a.value(0)?, Value::List(_)) {
        arrays::contains(a)
    } else {
        strings::string_contains(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_runs_a_known_function_with_room_for_its_arguments() {
        for method in METHODS.iter().chain([&DISPATCH_CONTAINS]) {
            let function = super::super::any(method.function)
                .unwrap_or_else(|| panic!("{} names no function", method.name));
            assert!(
                function.max_args.is_none_or(|max| method.max_args < max),
                "{} does not fit {}",
                method.name,
                function.name
            );
        }
        for (_, function) in STATIC_METHODS {
            assert!(super::super::any(function).is_some());
        }
    }

    #[test]
    fn contains_chooses_by_receiver_type() {
        assert_eq!(
            resolve("contains", Ty::Str).unwrap().function,
            "String.stringContains"
        );
        assert_eq!(
            resolve("contains", Ty::List).unwrap().function,
            "Arrays.contains"
        );
        assert_eq!(resolve("contains", Ty::Any).unwrap().function, "contains");
        assert_eq!(resolve("length", Ty::Any).unwrap().function, "String.len");
        assert!(resolve("nope", Ty::Any).is_none());
    }
}
