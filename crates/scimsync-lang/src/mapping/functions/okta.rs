//! Okta Expression Language functions ("Functions" in
//! <https://developer.okta.com/docs/reference/okta-expression-language/>): the classic table —
//! `String.*`, `Arrays.*`, `Convert.*`, `Iso3166Convert.*`, `Time.*` and the group functions —
//! and the few EL v2 operations that have no classic twin. EL v2 methods
//! (`user.profile.email.toLowerCase()`) map onto these same entries through [`methods`].
//!
//! The implementations live in one module per family under `okta/`; this file is the table
//! the checker reads (names, parameters, types, examples) and the list of tenant-only names
//! and roots.

mod arrays;
mod convert;
mod groups;
pub mod methods;
mod strings;
mod time;

use super::builder::{ex, f, opt, req, rest};
use super::{Function, Ty};
use Ty::{Any, Bool, Int, List, Num, Str};

/// An array argument: a list, or a comma-separated string Okta converts into one.
const ARRAY: Ty = Ty::Any;

#[rustfmt::skip]
pub static FUNCTIONS: &[Function] = &[
    // String
    f("String.append", "String.append(str, suffix)", &[req("str", Str), req("suffix", Str)], Str, strings::append).ex(&[ex(r#"String.append("This is", " a test")"#, r#""This is a test""#)]),
    f("String.join", "String.join(separator, strings...)", &[req("separator", Str), rest("strings", Any)], Str, strings::join).ex(&[ex(r#"String.join("", "This", "is", "a", "test")"#, r#""Thisisatest""#), ex(r#"String.join(",", "This", "is", "a", "test")"#, r#""This,is,a,test""#)]),
    f("String.len", "String.len(input)", &[req("input", Str)], Int, strings::len).ex(&[ex(r#"String.len("This")"#, "4"), ex(r#"firstName + " " + (String.len(middleInitial) == 0 ? "" : middleInitial + ". ") + lastName"#, r#""Ada K. Lovelace""#).on(r#"{"firstName": "Ada", "middleInitial": "K", "lastName": "Lovelace"}"#)]),
    f("String.removeSpaces", "String.removeSpaces(input)", &[req("input", Str)], Str, strings::remove_spaces).ex(&[ex(r#"String.removeSpaces("This is a test")"#, r#""Thisisatest""#)]),
    f("String.replace", "String.replace(input, match, replacement)", &[req("input", Str), req("match", Str), req("replacement", Str)], Str, strings::replace).ex(&[ex(r#"String.replace("This is a test", "is", "at")"#, r#""That at a test""#)]),
    f("String.replaceFirst", "String.replaceFirst(input, match, replacement)", &[req("input", Str), req("match", Str), req("replacement", Str)], Str, strings::replace_first).ex(&[ex(r#"String.replaceFirst("This is a test", "is", "at")"#, r#""That is a test""#)]),
    f("String.startsWith", "String.startsWith(input, prefix)", &[req("input", Str), req("prefix", Str)], Bool, strings::starts_with).ex(&[ex(r#"String.startsWith("Kiss", "K")"#, "true")]),
    f("String.stringContains", "String.stringContains(input, searchString)", &[req("input", Str), req("searchString", Str)], Bool, strings::string_contains).ex(&[ex(r#"String.stringContains("This is a test", "test")"#, "true"), ex(r#"String.stringContains("This is a test", "doesn'tExist")"#, "false")]),
    f("String.stringSwitch", "String.stringSwitch(input, defaultString, key1, value1, ...)", &[req("input", Str), req("defaultString", Str), rest("keyValuePairs", Str)], Str, strings::string_switch).fails().ex(&[ex(r#"String.stringSwitch("This is a test", "default", "key1", "value1")"#, r#""default""#), ex(r#"String.stringSwitch("This is a test", "default", "test", "value1")"#, r#""value1""#)]),
    f("String.substring", "String.substring(input, startIndex, endIndex)", &[req("input", Str), req("startIndex", Int), req("endIndex", Int)], Str, strings::substring).fails().ex(&[ex(r#"String.substring("This is a test", 2, 9)"#, r#""is is a""#)]),
    f("String.substringAfter", "String.substringAfter(input, searchString)", &[req("input", Str), req("searchString", Str)], Str, strings::substring_after).ex(&[ex(r#"String.substringAfter("abc@okta.com", "@")"#, r#""okta.com""#)]),
    f("String.substringBefore", "String.substringBefore(input, searchString)", &[req("input", Str), req("searchString", Str)], Str, strings::substring_before).ex(&[ex(r#"String.substringBefore("abc@okta.com", "@")"#, r#""abc""#)]),
    f("String.toLowerCase", "String.toLowerCase(input)", &[req("input", Str)], Str, strings::to_lower_case).ex(&[ex(r#"String.toLowerCase("ThiS")"#, r#""this""#)]),
    f("String.toUpperCase", "String.toUpperCase(input)", &[req("input", Str)], Str, strings::to_upper_case).ex(&[ex(r#"String.toUpperCase("This")"#, r#""THIS""#)]),
    // Deprecated un-prefixed forms Okta still accepts.
    f("toLowerCase", "toLowerCase(input)", &[req("input", Str)], Str, strings::to_lower_case).ex(&[ex("toLowerCase(source.firstName)", r#""alexander""#).on(r#"{"firstName": "AlexANDER"}"#)]),
    f("toUpperCase", "toUpperCase(input)", &[req("input", Str)], Str, strings::to_upper_case).ex(&[ex("toUpperCase(source.firstName)", r#""ALEXANDER""#).on(r#"{"firstName": "Alexander"}"#)]),
    f("substringBefore", "substringBefore(input, searchString)", &[req("input", Str), req("searchString", Str)], Str, strings::substring_before).ex(&[ex("substringBefore(user.email, '@')", r#""alex""#).on(r#"{"email": "alex@okta.com"}"#)]),
    f("substringAfter", "substringAfter(input, searchString)", &[req("input", Str), req("searchString", Str)], Str, strings::substring_after).ex(&[ex("substringAfter(user.email, '@')", r#""okta.com""#).on(r#"{"email": "alex@okta.com"}"#)]),
    f("substring", "substring(input, startIndex, endIndex)", &[req("input", Str), req("startIndex", Int), req("endIndex", Int)], Str, strings::substring).fails().ex(&[ex("substring(source.firstName, 1, 4)", r#""lex""#).on(r#"{"firstName": "Alexander"}"#)]),
    // Arrays
    f("Arrays.add", "Arrays.add(array, value)", &[req("array", ARRAY), req("value", Any)], List, arrays::add).ex(&[ex("Arrays.add({10, 20, 30}, 40)", "[10, 20, 30, 40]")]),
    f("Arrays.remove", "Arrays.remove(array, value)", &[req("array", ARRAY), req("value", Any)], List, arrays::remove).ex(&[ex("Arrays.remove({10, 20, 30}, 20)", "[10, 30]")]),
    f("Arrays.clear", "Arrays.clear(array)", &[req("array", ARRAY)], List, arrays::clear).ex(&[ex("Arrays.clear({10, 20, 30})", "[]")]),
    f("Arrays.get", "Arrays.get(array, position)", &[req("array", ARRAY), req("position", Int)], Any, arrays::get).fails().ex(&[ex("Arrays.get({0, 1, 2}, 0)", "0")]),
    f("Arrays.flatten", "Arrays.flatten(values...)", &[req("values", Any), rest("values", Any)], List, arrays::flatten).ex(&[ex("Arrays.flatten(10, {20, 30}, 40)", "[10, 20, 30, 40]")]),
    f("Arrays.contains", "Arrays.contains(array, value)", &[req("array", ARRAY), req("value", Any)], Bool, arrays::contains).ex(&[ex("Arrays.contains({10, 20, 30}, 50)", "false"), ex("Arrays.contains({10, 20, 30}, 10)", "true")]),
    f("Arrays.size", "Arrays.size(array)", &[req("array", ARRAY)], Int, arrays::size).ex(&[ex("Arrays.size(NULL)", "0"), ex("Arrays.size({10, 20, 30})", "3")]),
    f("Arrays.isEmpty", "Arrays.isEmpty(array)", &[req("array", ARRAY)], Bool, arrays::is_empty).ex(&[ex("Arrays.isEmpty(NULL)", "true"), ex("Arrays.isEmpty({10, 20})", "false")]),
    f("Arrays.toCsvString", "Arrays.toCsvString(array)", &[req("array", ARRAY)], Str, arrays::to_csv_string).ex(&[ex(r#"Arrays.toCsvString({"This", "is", " a ", "test"})"#, r#""This,is, a ,test""#)]),
    // Conversion
    f("Convert.toInt", "Convert.toInt(value)", &[req("value", Any)], Int, convert::to_int).fails().ex(&[ex("Convert.toInt(123.4)", "123"), ex("Convert.toInt(123.6)", "124")]),
    f("Convert.toNum", "Convert.toNum(value)", &[req("value", Any)], Num, convert::to_num).fails().ex(&[ex("Convert.toNum('3.141')", "3.141")]),
    f("Iso3166Convert.toAlpha2", "Iso3166Convert.toAlpha2(countryCode)", &[req("countryCode", Str)], Str, convert::to_alpha2).fails().ex(&[ex(r#"Iso3166Convert.toAlpha2("IND")"#, r#""IN""#)]),
    f("Iso3166Convert.toAlpha3", "Iso3166Convert.toAlpha3(countryCode)", &[req("countryCode", Str)], Str, convert::to_alpha3).fails().ex(&[ex(r#"Iso3166Convert.toAlpha3("840")"#, r#""USA""#)]),
    f("Iso3166Convert.toNumeric", "Iso3166Convert.toNumeric(countryCode)", &[req("countryCode", Str)], Str, convert::to_numeric).fails().ex(&[ex(r#"Iso3166Convert.toNumeric("USA")"#, r#""840""#)]),
    f("Iso3166Convert.toName", "Iso3166Convert.toName(countryCode)", &[req("countryCode", Str)], Str, convert::to_name).fails().ex(&[ex(r#"Iso3166Convert.toName("IN")"#, r#""India""#)]),
    // Time
    f("Time.now", "Time.now(timeZoneId?, format?)", &[opt("timeZoneId", Str), opt("format", Str)], Str, time::now).fails().impure().ex(&[ex("Time.now()", r#""2015-07-31T17:18:37.979Z""#).at("2015-07-31T17:18:37.979Z"), ex(r#"Time.now("EST")"#, r#""2015-07-31T13:18:37.979-04:00""#).at("2015-07-31T17:18:37.979Z")]),
    f("Time.fromWindowsToIso8601", "Time.fromWindowsToIso8601(windowsTime)", &[req("windowsTime", Str)], Str, time::from_windows_to_iso8601).fails().ex(&[ex(r#"Time.fromWindowsToIso8601("130000000000000000")"#, r#""2012-12-14T23:06:40.000Z""#)]),
    f("Time.fromUnixToIso8601", "Time.fromUnixToIso8601(unixMillis)", &[req("unixMillis", Str)], Str, time::from_unix_to_iso8601).fails().ex(&[ex(r#"Time.fromUnixToIso8601("1491868800000")"#, r#""2017-04-11T00:00:00.000Z""#)]),
    f("Time.fromStringToIso8601", "Time.fromStringToIso8601(time, jodaFormat)", &[req("time", Str), req("jodaFormat", Str)], Str, time::from_string_to_iso8601).fails().ex(&[ex(r#"Time.fromStringToIso8601("04/11/2017 09:30", "MM/dd/yyyy HH:mm")"#, r#""2017-04-11T09:30:00.000Z""#)]),
    f("Time.fromIso8601ToWindows", "Time.fromIso8601ToWindows(iso8601)", &[req("iso8601", Str)], Str, time::from_iso8601_to_windows).fails().ex(&[ex(r#"Time.fromIso8601ToWindows("2017-04-11T00:00:00Z")"#, r#""131363424000000000""#), ex(r#"Time.fromIso8601ToWindows(user.whenCreated) >= Time.fromIso8601ToWindows("2022-01-01T00:00:00.000Z") ? true : false"#, "true").on(r#"{"whenCreated": "2023-05-01T10:00:00.000Z"}"#)]),
    f("Time.fromIso8601ToUnix", "Time.fromIso8601ToUnix(iso8601)", &[req("iso8601", Str)], Str, time::from_iso8601_to_unix).fails().ex(&[ex(r#"Time.fromIso8601ToUnix("2017-04-11T00:00:00.000Z")"#, r#""1491868800000""#)]),
    f("Time.fromIso8601ToString", "Time.fromIso8601ToString(iso8601, jodaFormat)", &[req("iso8601", Str), req("jodaFormat", Str)], Str, time::from_iso8601_to_string).fails().ex(&[ex(r#"Time.fromIso8601ToString("2017-04-11T09:30:00Z", "DD dd")"#, r#""101 11""#)]),
    // Groups
    f("isMemberOfGroupName", "isMemberOfGroupName(groupName)", &[req("groupName", Str)], Bool, groups::is_member_of_group_name).groups().ex(&[ex(r#"isMemberOfGroupName("group1")"#, "true").on(r#"{"groups": ["Everyone", "group1"]}"#)]),
    f("isMemberOfGroupNameStartsWith", "isMemberOfGroupNameStartsWith(prefix)", &[req("prefix", Str)], Bool, groups::is_member_of_group_name_starts_with).groups().ex(&[ex(r#"isMemberOfGroupNameStartsWith("San Fr")"#, "true").on(r#"{"groups": ["San Francisco Office"]}"#)]),
    f("isMemberOfGroupNameContains", "isMemberOfGroupNameContains(text)", &[req("text", Str)], Bool, groups::is_member_of_group_name_contains).groups().ex(&[ex(r#"isMemberOfGroupNameContains("admin")"#, "true").on(r#"{"groups": ["Sysadmins"]}"#)]),
    f("isMemberOfGroupNameRegex", "isMemberOfGroupNameRegex(regex)", &[req("regex", Str)], Bool, groups::is_member_of_group_name_regex).fails().groups().ex(&[ex(r#"isMemberOfGroupNameRegex("/.*admin.*")"#, "false").on(r#"{"groups": ["admins"]}"#)]),
    f("isMemberOfGroup", "isMemberOfGroup(groupId)", &[req("groupId", Str)], Bool, groups::is_member_of_any_group).fails().groups().ex(&[ex(r#"isMemberOfGroup("00g1emaKYZTWRYYRRTSK")"#, "true").on(r#"{"groups": [{"id": "00g1emaKYZTWRYYRRTSK", "name": "West Coast Users"}]}"#)]),
    f("isMemberOfAnyGroup", "isMemberOfAnyGroup(groupId, ...)", &[req("groupId", Any), rest("groupIds", Any)], Bool, groups::is_member_of_any_group).fails().groups().ex(&[ex(r#"isMemberOfAnyGroup("groupId1", "groupId2", "groupId3")"#, "true").on(r#"{"groups": [{"id": "groupId2", "name": "Sales"}]}"#)]),
];

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;
const MINUTE: i64 = 60;

/// Operations the checker reaches by other means than a name lookup: EL v2 methods with no
/// classic twin (see [`methods`]) and the group queries whose map arguments the checker lowers
/// (`check/okta.rs`).
#[rustfmt::skip]
pub static METHOD_ONLY: &[Function] = &[
    f(UNARY_PLUS, "+number", &[req("number", Num)], Num, convert::unary_plus).fails().ex(&[ex("+user.profile.level", "7").on(r#"{"level": 7}"#)]),
    f("user.isMemberOf", "user.isMemberOf({'group.profile.name': 'Sales'}, ...)", &[req("groupQuery", List), rest("groupQueries", List)], Bool, groups::is_member_of).fails().groups().ex(&[ex("user.isMemberOf({'group.profile.name': 'West Coast', 'operator': 'EXACT' })", "false").on(r#"{"groups": [{"id": "00gak46y5hydV6NdM0g4", "name": "Everyone"}, {"id": "00g1emaKYZTWRYYRRTSK", "name": "West Coast Users"}, {"id": "00garwpuyxHaWOkdV0g4", "name": "West Coast Admins"}, {"id": "00gjitX9HqABSoqTB0g3", "name": "Engineering Users"}]}"#), ex("user.isMemberOf({'group.profile.name': 'West Coast', 'operator': 'STARTS_WITH' })", "true").on(r#"{"groups": [{"id": "00gak46y5hydV6NdM0g4", "name": "Everyone"}, {"id": "00g1emaKYZTWRYYRRTSK", "name": "West Coast Users"}, {"id": "00garwpuyxHaWOkdV0g4", "name": "West Coast Admins"}, {"id": "00gjitX9HqABSoqTB0g3", "name": "Engineering Users"}]}"#)]),
    f("user.getGroups", "user.getGroups({'group.profile.name': 'Sales'}, ...)", &[req("groupQuery", List), rest("groupQueries", List)], List, groups::get_groups).fails().groups().ex(&[ex("user.getGroups({'group.profile.name': 'East Coast.*'})", "[]").on(r#"{"groups": [{"id": "00gak46y5hydV6NdM0g4", "name": "Everyone"}, {"id": "00g1emaKYZTWRYYRRTSK", "name": "West Coast Users"}, {"id": "00garwpuyxHaWOkdV0g4", "name": "West Coast Admins"}, {"id": "00gjitX9HqABSoqTB0g3", "name": "Engineering Users"}]}"#), ex("user.getGroups({'group.id': {'00gjitX9HqABSoqTB0g3'}}, {'group.profile.name': 'West Coast.*'})", "[]").on(r#"{"groups": [{"id": "00gak46y5hydV6NdM0g4", "name": "Everyone"}, {"id": "00g1emaKYZTWRYYRRTSK", "name": "West Coast Users"}, {"id": "00garwpuyxHaWOkdV0g4", "name": "West Coast Admins"}, {"id": "00gjitX9HqABSoqTB0g3", "name": "Engineering Users"}]}"#)]),
    f("contains", "value.contains(x)", &[req("value", Any), req("x", Any)], Bool, methods::contains).ex(&[ex("{1, 2, 3}.contains('one')", "false"), ex("user.profile.intArray.contains(3)", "true").on(r#"{"intArray": [1, 2, 3]}"#)]),
    f("parseCountryCode", "value.parseCountryCode()", &[req("value", Str)], Str, convert::parse_country_code).fails().ex(&[ex("'840'.parseCountryCode()", r#""US""#), ex("'US'.parseCountryCode().toName()", r#""United States""#)]),
    f("toZone", "time.toZone(zoneId)", &[req("time", Str), req("zoneId", Str)], Str, time::to_zone).fails().ex(&[ex("Time.now().toZone('Asia/Tokyo')", r#""2015-08-01T02:18:37.979+09:00[Asia/Tokyo]""#).at("2015-07-31T17:18:37.979Z")]),
    f("plusDays", "time.plusDays(n)", &[req("time", Str), req("n", Int)], Str, time::shift::<DAY, 1>).fails().ex(&[ex("user.created.plusDays(2)", r#""2015-08-01T23:58:32.000Z""#).on(r#"{"created": "2015-07-30T23:58:32.000Z"}"#).at("2015-07-31T17:18:37.979Z")]),
    f("plusHours", "time.plusHours(n)", &[req("time", Str), req("n", Int)], Str, time::shift::<HOUR, 1>).fails().ex(&[ex("user.created.plusHours(-1)", r#""2015-07-30T22:58:32.000Z""#).on(r#"{"created": "2015-07-30T23:58:32.000Z"}"#).at("2015-07-31T17:18:37.979Z")]),
    f("plusMinutes", "time.plusMinutes(n)", &[req("time", Str), req("n", Int)], Str, time::shift::<MINUTE, 1>).fails().ex(&[ex("user.created.plusMinutes(0)", r#""2015-07-30T23:58:32.000Z""#).on(r#"{"created": "2015-07-30T23:58:32.000Z"}"#).at("2015-07-31T17:18:37.979Z")]),
    f("plusSeconds", "time.plusSeconds(n)", &[req("time", Str), req("n", Int)], Str, time::shift::<1, 1>).fails().ex(&[ex("user.created.plusSeconds(0)", r#""2015-07-30T23:58:32.000Z""#).on(r#"{"created": "2015-07-30T23:58:32.000Z"}"#).at("2015-07-31T17:18:37.979Z")]),
    f("minusDays", "time.minusDays(n)", &[req("time", Str), req("n", Int)], Str, time::shift::<DAY, -1>).fails().ex(&[ex("Time.now().minusDays(3)", r#""2015-07-28T17:18:37.979Z""#).at("2015-07-31T17:18:37.979Z")]),
    f("minusHours", "time.minusHours(n)", &[req("time", Str), req("n", Int)], Str, time::shift::<HOUR, -1>).fails().ex(&[ex("Time.now().minusHours(100)", r#""2015-07-27T13:18:37.979Z""#).at("2015-07-31T17:18:37.979Z")]),
    f("minusMinutes", "time.minusMinutes(n)", &[req("time", Str), req("n", Int)], Str, time::shift::<MINUTE, -1>).fails().ex(&[ex("Time.now().minusMinutes(-1)", r#""2015-07-31T17:19:37.979Z""#).at("2015-07-31T17:18:37.979Z")]),
    f("minusSeconds", "time.minusSeconds(n)", &[req("time", Str), req("n", Int)], Str, time::shift::<1, -1>).fails().ex(&[ex("Time.now().minusSeconds(2)", r#""2015-07-31T17:18:35.979Z""#).at("2015-07-31T17:18:37.979Z")]),
    f("withinDays", "time.withinDays(n)", &[req("time", Str), req("n", Int)], Bool, time::within::<DAY>).fails().ex(&[ex("user.created.withinDays(1)", "true").on(r#"{"created": "2015-07-30T23:58:32.000Z"}"#).at("2015-07-31T17:18:37.979Z")]),
    f("withinHours", "time.withinHours(n)", &[req("time", Str), req("n", Int)], Bool, time::within::<HOUR>).fails().ex(&[ex("user.created.withinHours(100)", "true").on(r#"{"created": "2015-07-30T23:58:32.000Z"}"#).at("2015-07-31T17:18:37.979Z")]),
    f("withinMinutes", "time.withinMinutes(n)", &[req("time", Str), req("n", Int)], Bool, time::within::<MINUTE>).fails().ex(&[ex("user.created.withinMinutes(2)", "false").on(r#"{"created": "2015-07-30T23:58:32.000Z"}"#).at("2015-07-31T17:18:37.979Z")]),
    f("withinSeconds", "time.withinSeconds(n)", &[req("time", Str), req("n", Int)], Bool, time::within::<1>).fails().ex(&[ex("user.created.withinSeconds(100)", "false").on(r#"{"created": "2015-07-30T23:58:32.000Z"}"#).at("2015-07-31T17:18:37.979Z"), ex("user.profile.isContractor || user.created.withinSeconds(0)", "false").on(r#"{"created": "2015-07-30T23:58:32.000Z", "isContractor": false}"#).at("2015-07-31T17:18:37.979Z")]),
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
