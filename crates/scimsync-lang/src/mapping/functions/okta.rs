//! Okta Expression Language functions ("Functions" in
//! <https://developer.okta.com/docs/reference/okta-expression-language/>): the classic table —
//! `String.*`, `Arrays.*`, `Convert.*`, `Iso3166Convert.*`, `Time.*` and the group functions —
//! and the few EL v2 operations that have no classic twin. EL v2 methods
//! (`user.profile.email.toLowerCase()`) map onto these same entries through [`methods`].
//!
//! The implementations live in one module per family under `okta/`; this file is the table
//! the checker reads (names, arities, types) and the list of tenant-only names and roots.

mod arrays;
mod convert;
mod groups;
pub mod methods;
mod strings;
mod time;

use super::{EvalFn, Function, Ty};

const fn f(
    name: &'static str,
    signature: &'static str,
    args: (usize, Option<usize>),
    arg_types: &'static [Ty],
    returns: Ty,
    eval: EvalFn,
) -> Function {
    Function {
        name,
        signature,
        min_args: args.0,
        max_args: args.1,
        arg_types,
        returns,
        omittable: false,
        fallible: false,
        uses_groups: false,
        redacts: false,
        eval,
    }
}

/// A function that can fail at run time (bad number, index out of range, bad pattern...).
const fn fallible(function: Function) -> Function {
    Function {
        fallible: true,
        ..function
    }
}

/// A function that reads the record's groups.
const fn groups(function: Function) -> Function {
    Function {
        uses_groups: true,
        ..function
    }
}

const ONE: (usize, Option<usize>) = (1, Some(1));
const TWO: (usize, Option<usize>) = (2, Some(2));
const THREE: (usize, Option<usize>) = (3, Some(3));
/// An array argument: a list, or a comma-separated string Okta converts into one.
const ARRAY: Ty = Ty::Any;

#[rustfmt::skip]
pub static FUNCTIONS: &[Function] = &[
    // String
    f("String.append", "String.append(str, suffix)", TWO, &[Ty::Str], Ty::Str, strings::append),
    f("String.join", "String.join(separator, strings...)", (1, None), &[Ty::Str, Ty::Any], Ty::Str, strings::join),
    f("String.len", "String.len(input)", ONE, &[Ty::Str], Ty::Int, strings::len),
    f("String.removeSpaces", "String.removeSpaces(input)", ONE, &[Ty::Str], Ty::Str, strings::remove_spaces),
    f("String.replace", "String.replace(input, match, replacement)", THREE, &[Ty::Str], Ty::Str, strings::replace),
    f("String.replaceFirst", "String.replaceFirst(input, match, replacement)", THREE, &[Ty::Str], Ty::Str, strings::replace_first),
    f("String.startsWith", "String.startsWith(input, prefix)", TWO, &[Ty::Str], Ty::Bool, strings::starts_with),
    f("String.stringContains", "String.stringContains(input, searchString)", TWO, &[Ty::Str], Ty::Bool, strings::string_contains),
    fallible(f("String.stringSwitch", "String.stringSwitch(input, defaultString, key1, value1, ...)", (2, None), &[Ty::Str], Ty::Str, strings::string_switch)),
    fallible(f("String.substring", "String.substring(input, startIndex, endIndex)", THREE, &[Ty::Str, Ty::Int, Ty::Int], Ty::Str, strings::substring)),
    f("String.substringAfter", "String.substringAfter(input, searchString)", TWO, &[Ty::Str], Ty::Str, strings::substring_after),
    f("String.substringBefore", "String.substringBefore(input, searchString)", TWO, &[Ty::Str], Ty::Str, strings::substring_before),
    f("String.toLowerCase", "String.toLowerCase(input)", ONE, &[Ty::Str], Ty::Str, strings::to_lower_case),
    f("String.toUpperCase", "String.toUpperCase(input)", ONE, &[Ty::Str], Ty::Str, strings::to_upper_case),
    // Deprecated un-prefixed forms Okta still accepts.
    f("toLowerCase", "toLowerCase(input)", ONE, &[Ty::Str], Ty::Str, strings::to_lower_case),
    f("toUpperCase", "toUpperCase(input)", ONE, &[Ty::Str], Ty::Str, strings::to_upper_case),
    f("substringBefore", "substringBefore(input, searchString)", TWO, &[Ty::Str], Ty::Str, strings::substring_before),
    f("substringAfter", "substringAfter(input, searchString)", TWO, &[Ty::Str], Ty::Str, strings::substring_after),
    fallible(f("substring", "substring(input, startIndex, endIndex)", THREE, &[Ty::Str, Ty::Int, Ty::Int], Ty::Str, strings::substring)),
    // Arrays
    f("Arrays.add", "Arrays.add(array, value)", TWO, &[ARRAY, Ty::Any], Ty::List, arrays::add),
    f("Arrays.remove", "Arrays.remove(array, value)", TWO, &[ARRAY, Ty::Any], Ty::List, arrays::remove),
    f("Arrays.clear", "Arrays.clear(array)", ONE, &[ARRAY], Ty::List, arrays::clear),
    fallible(f("Arrays.get", "Arrays.get(array, position)", TWO, &[ARRAY, Ty::Int], Ty::Any, arrays::get)),
    f("Arrays.flatten", "Arrays.flatten(values...)", (1, None), &[Ty::Any], Ty::List, arrays::flatten),
    f("Arrays.contains", "Arrays.contains(array, value)", TWO, &[ARRAY, Ty::Any], Ty::Bool, arrays::contains),
    f("Arrays.size", "Arrays.size(array)", ONE, &[ARRAY], Ty::Int, arrays::size),
    f("Arrays.isEmpty", "Arrays.isEmpty(array)", ONE, &[ARRAY], Ty::Bool, arrays::is_empty),
    f("Arrays.toCsvString", "Arrays.toCsvString(array)", ONE, &[ARRAY], Ty::Str, arrays::to_csv_string),
    // Conversion
    fallible(f("Convert.toInt", "Convert.toInt(value)", ONE, &[Ty::Any], Ty::Int, convert::to_int)),
    fallible(f("Convert.toNum", "Convert.toNum(value)", ONE, &[Ty::Any], Ty::Num, convert::to_num)),
    fallible(f("Iso3166Convert.toAlpha2", "Iso3166Convert.toAlpha2(countryCode)", ONE, &[Ty::Str], Ty::Str, convert::to_alpha2)),
    fallible(f("Iso3166Convert.toAlpha3", "Iso3166Convert.toAlpha3(countryCode)", ONE, &[Ty::Str], Ty::Str, convert::to_alpha3)),
    fallible(f("Iso3166Convert.toNumeric", "Iso3166Convert.toNumeric(countryCode)", ONE, &[Ty::Str], Ty::Str, convert::to_numeric)),
    fallible(f("Iso3166Convert.toName", "Iso3166Convert.toName(countryCode)", ONE, &[Ty::Str], Ty::Str, convert::to_name)),
    // Time
    fallible(f("Time.now", "Time.now(timeZoneId?, format?)", (0, Some(2)), &[Ty::Str], Ty::Str, time::now)),
    fallible(f("Time.fromWindowsToIso8601", "Time.fromWindowsToIso8601(windowsTime)", ONE, &[Ty::Str], Ty::Str, time::from_windows_to_iso8601)),
    fallible(f("Time.fromUnixToIso8601", "Time.fromUnixToIso8601(unixMillis)", ONE, &[Ty::Str], Ty::Str, time::from_unix_to_iso8601)),
    fallible(f("Time.fromStringToIso8601", "Time.fromStringToIso8601(time, jodaFormat)", TWO, &[Ty::Str], Ty::Str, time::from_string_to_iso8601)),
    fallible(f("Time.fromIso8601ToWindows", "Time.fromIso8601ToWindows(iso8601)", ONE, &[Ty::Str], Ty::Str, time::from_iso8601_to_windows)),
    fallible(f("Time.fromIso8601ToUnix", "Time.fromIso8601ToUnix(iso8601)", ONE, &[Ty::Str], Ty::Str, time::from_iso8601_to_unix)),
    fallible(f("Time.fromIso8601ToString", "Time.fromIso8601ToString(iso8601, jodaFormat)", TWO, &[Ty::Str], Ty::Str, time::from_iso8601_to_string)),
    // Groups
    groups(f("isMemberOfGroupName", "isMemberOfGroupName(groupName)", ONE, &[Ty::Str], Ty::Bool, groups::is_member_of_group_name)),
    groups(f("isMemberOfGroupNameStartsWith", "isMemberOfGroupNameStartsWith(prefix)", ONE, &[Ty::Str], Ty::Bool, groups::is_member_of_group_name_starts_with)),
    groups(f("isMemberOfGroupNameContains", "isMemberOfGroupNameContains(text)", ONE, &[Ty::Str], Ty::Bool, groups::is_member_of_group_name_contains)),
    groups(fallible(f("isMemberOfGroupNameRegex", "isMemberOfGroupNameRegex(regex)", ONE, &[Ty::Str], Ty::Bool, groups::is_member_of_group_name_regex))),
    groups(fallible(f("isMemberOfGroup", "isMemberOfGroup(groupId)", ONE, &[Ty::Str], Ty::Bool, groups::is_member_of_any_group))),
    groups(fallible(f("isMemberOfAnyGroup", "isMemberOfAnyGroup(groupId, ...)", (1, None), &[Ty::Any], Ty::Bool, groups::is_member_of_any_group))),
];

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;
const MINUTE: i64 = 60;

/// Operations the checker reaches by other means than a name lookup: EL v2 methods with no
/// classic twin (see [`methods`]) and the group queries whose map arguments the checker lowers
/// (`check/okta.rs`).
#[rustfmt::skip]
pub static METHOD_ONLY: &[Function] = &[
    fallible(f(UNARY_PLUS, "+number", ONE, &[Ty::Num], Ty::Num, convert::unary_plus)),
    groups(fallible(f("user.isMemberOf", "user.isMemberOf({'group.profile.name': 'Sales'}, ...)", (1, None), &[Ty::List], Ty::Bool, groups::is_member_of))),
    groups(fallible(f("user.getGroups", "user.getGroups({'group.profile.name': 'Sales'}, ...)", (1, None), &[Ty::List], Ty::List, groups::get_groups))),
    f("contains", "value.contains(x)", TWO, &[Ty::Any], Ty::Bool, methods::contains),
    fallible(f("parseCountryCode", "value.parseCountryCode()", ONE, &[Ty::Str], Ty::Str, convert::parse_country_code)),
    fallible(f("toZone", "time.toZone(zoneId)", TWO, &[Ty::Str], Ty::Str, time::to_zone)),
    fallible(f("plusDays", "time.plusDays(n)", TWO, &[Ty::Str, Ty::Int], Ty::Str, time::shift::<DAY, 1>)),
    fallible(f("plusHours", "time.plusHours(n)", TWO, &[Ty::Str, Ty::Int], Ty::Str, time::shift::<HOUR, 1>)),
    fallible(f("plusMinutes", "time.plusMinutes(n)", TWO, &[Ty::Str, Ty::Int], Ty::Str, time::shift::<MINUTE, 1>)),
    fallible(f("plusSeconds", "time.plusSeconds(n)", TWO, &[Ty::Str, Ty::Int], Ty::Str, time::shift::<1, 1>)),
    fallible(f("minusDays", "time.minusDays(n)", TWO, &[Ty::Str, Ty::Int], Ty::Str, time::shift::<DAY, -1>)),
    fallible(f("minusHours", "time.minusHours(n)", TWO, &[Ty::Str, Ty::Int], Ty::Str, time::shift::<HOUR, -1>)),
    fallible(f("minusMinutes", "time.minusMinutes(n)", TWO, &[Ty::Str, Ty::Int], Ty::Str, time::shift::<MINUTE, -1>)),
    fallible(f("minusSeconds", "time.minusSeconds(n)", TWO, &[Ty::Str, Ty::Int], Ty::Str, time::shift::<1, -1>)),
    fallible(f("withinDays", "time.withinDays(n)", TWO, &[Ty::Str, Ty::Int], Ty::Bool, time::within::<DAY>)),
    fallible(f("withinHours", "time.withinHours(n)", TWO, &[Ty::Str, Ty::Int], Ty::Bool, time::within::<HOUR>)),
    fallible(f("withinMinutes", "time.withinMinutes(n)", TWO, &[Ty::Str, Ty::Int], Ty::Bool, time::within::<MINUTE>)),
    fallible(f("withinSeconds", "time.withinSeconds(n)", TWO, &[Ty::Str, Ty::Int], Ty::Bool, time::within::<1>)),
];

/// The entry behind SpEL's unary `+x`.
pub const UNARY_PLUS: &str = "+";

/// Functions that need an Okta tenant, with why and what to use instead.
pub static TENANT_ONLY: &[(&str, &str)] = &[
    (
        "findDirectoryUser",
        "it reads the user's Active Directory app user inside Okta; export the attribute into the user profile instead",
    ),
    (
        "hasDirectoryUser",
        "it checks the user's Active Directory assignment inside Okta; export a flag or the attribute into the user profile instead",
    ),
    (
        "findWorkdayUser",
        "it reads the user's Workday app user inside Okta; export the attribute into the user profile instead",
    ),
    (
        "hasWorkdayUser",
        "it checks the user's Workday assignment inside Okta; export a flag or the attribute into the user profile instead",
    ),
    (
        "getManagerUser",
        "it follows manager links inside an Okta tenant; put the manager's attributes on the record (e.g. `managerEmail`) and read `user.managerEmail`",
    ),
    (
        "getManagerAppUser",
        "it follows manager links inside an Okta tenant; put the manager's attributes on the record and read them from `user`",
    ),
    (
        "getAssistantUser",
        "it follows assistant links inside an Okta tenant; put the assistant's attributes on the record and read them from `user`",
    ),
    (
        "getAssistantAppUser",
        "it follows assistant links inside an Okta tenant; put the assistant's attributes on the record and read them from `user`",
    ),
    (
        "getFilteredGroups",
        "it renders token claims from Okta group ids; test membership in a rule with `isMemberOfGroupName(\"...\")`",
    ),
    (
        "Groups.startsWith",
        "Groups.* functions exist only in token claims; use `isMemberOfGroupNameStartsWith(\"...\")`",
    ),
    (
        "Groups.endsWith",
        "Groups.* functions exist only in token claims; use `isMemberOfGroupNameRegex(\".*suffix\")`",
    ),
    (
        "Groups.contains",
        "Groups.* functions exist only in token claims; use `isMemberOfGroupNameContains(\"...\")`",
    ),
    (
        "user.getLinkedObject",
        "it follows linked objects (such as a manager) inside an Okta tenant; put the linked user's attributes on the record",
    ),
];

/// Okta roots other than `user` ("Reference user attributes" and the sections after it in
/// <https://developer.okta.com/docs/reference/okta-expression-language/>),
/// with why scimsync cannot read them
/// and what to write instead. `source` is read as `user`: in an Okta-to-app mapping it is the
/// Okta user.
pub static TENANT_ROOTS: &[(&str, &str)] = &[
    (
        "app",
        "`app` holds the settings of an Okta app instance; write the value itself as a string literal",
    ),
    (
        "org",
        "`org` holds the Okta org's settings; write the value itself as a string literal",
    ),
    (
        "idpuser",
        "`idpuser` exists only in an identity provider's username transform; read the directory user with `user.attributeName`",
    ),
    (
        "session",
        "`session` exists only in SAML attribute statements at sign-in",
    ),
    ("access", "`access` exists only in OIDC token claims"),
    (
        "device",
        "`device` is the sign-in device in Identity Engine policies; provisioning has no device",
    ),
    (
        "security",
        "`security` is the risk context of a sign-in in Identity Engine policies; provisioning has none",
    ),
    (
        "login",
        "`login` is the sign-in request in Identity Engine policies; read the user's login with `user.profile.login`",
    ),
    (
        "accessRequest",
        "`accessRequest` exists only in Okta account management policies",
    ),
    (
        "group",
        "`group` exists only inside `getFilteredGroups` claim expressions; test membership with `isMemberOfGroupName(\"...\")`",
    ),
];

/// A classic function or an EL v2 method-only operation, by name.
pub fn any(name: &str) -> Option<&'static Function> {
    FUNCTIONS.iter().chain(METHOD_ONLY).find(|f| f.name == name)
}
