//! Entra attribute-mapping functions. Names are case-sensitive, as in Entra.
//!
//! Entra's values are strings at heart: booleans render as `True`/`False`, numbers may be
//! quoted or not (and written `&HF7`), and a missing attribute is null, which is not the same
//! as `""`. Each entry below is one documented function with its parameters and examples; the
//! work is done in the modules under `entra/`, one per concept (`conditions`, `convert`,
//! `lists`, `strings` over the `text` algorithms, `replace`, `dates`, `random`, `roles`, and
//! `args` for how arguments are read), and in the shared `dotnet_datetime` and `diacritics`
//! modules, so this table reads as the reference it implements
//! (`functions-for-customizing-application-data`, Microsoft Learn).

mod args;
mod conditions;
mod convert;
mod dates;
mod lists;
mod random;
mod replace;
mod roles;
mod strings;
mod text;

use super::builder::{ex, f, opt, req, rest};
use super::{Function, Ty};
use crate::value::Value;

use Ty::{Any, Bool, Int, List, Str};

#[rustfmt::skip]
pub static FUNCTIONS: &[Function] = &[
    f("Append", "Append(source, suffix)", &[req("source", Str), req("suffix", Str)], Str, strings::append).ex(&[ex(r#"Append([userPrincipalName], ".test")"#, r#""John.Doe@contoso.com.test""#).on(r#"{"userPrincipalName": "John.Doe@contoso.com"}"#), ex("Append(Mid([givenName],1,3), Mid([surname],1,5))", r#""JohDoe""#).on(r#"{"givenName": "John", "surname": "Doe"}"#)]),
    f("AppRoleAssignmentsComplex", "AppRoleAssignmentsComplex([appRoleAssignments])", &[req("appRoleAssignments", Any)], List, roles::app_role_assignments_complex).ex(&[ex("AppRoleAssignmentsComplex([appRoleAssignments])", r#"[{"primary": false, "type": "WindowsAzureActiveDirectoryRole", "displayName": "Admin", "value": "Admin"}, {"primary": false, "type": "WindowsAzureActiveDirectoryRole", "displayName": "User", "value": "User"}]"#).on(r#"{"appRoleAssignments": ["Admin", "User"]}"#)]),
    f("AssertiveAppRoleAssignmentsComplex", "AssertiveAppRoleAssignmentsComplex([appRoleAssignments])", &[req("appRoleAssignments", Any)], List, roles::assertive_app_role_assignments_complex).ex(&[ex("AssertiveAppRoleAssignmentsComplex([appRoleAssignments])", r#"[{"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "Admin", "value": "Admin"}]"#).on(r#"{"appRoleAssignments": ["Admin"]}"#)]),
    f("BitAnd", "BitAnd(value1, value2)", &[req("value1", Int), req("value2", Int)], Int, convert::bit_and).fails().ex(&[ex("BitAnd(&HF, &HF7)", "7")]),
    f("CBool", "CBool(expression)", &[req("expression", Any)], Bool, convert::c_bool).fails().ex(&[ex("CBool([attribute1] = [attribute2])", "true").on(r#"{"attribute1": "x", "attribute2": "x"}"#), ex("CBool([attribute1] = [attribute2])", "false").on(r#"{"attribute1": "x", "attribute2": "y"}"#)]),
    f("CDate", "CDate(expression)", &[req("expression", Str)], Str, dates::c_date).fails().ex(&[ex(r#"CDate("2020-03-16-07:00")"#, r#""3/16/2020 7:00:00 AM""#), ex(r#"CDate("2021-06-30+08:00")"#, r#""6/29/2021 4:00:00 PM""#)]),
    f("Coalesce", "Coalesce(source1, source2, ..., defaultValue)", &[req("source1", Any), rest("sources", Any)], Any, conditions::coalesce).ex(&[ex("Coalesce([mail],[userPrincipalName])", r#""john@contoso.com""#).on(r#"{"userPrincipalName": "john@contoso.com"}"#)]),
    f("ConvertToBase64", "ConvertToBase64(source)", &[req("source", Str)], Str, convert::convert_to_base64).ex(&[ex(r#"ConvertToBase64("Hello world!")"#, r#""SABlAGwAbABvACAAdwBvAHIAbABkACEA""#)]),
    f("ConvertToUTF8Hex", "ConvertToUTF8Hex(source)", &[req("source", Str)], Str, convert::convert_to_utf8_hex).ex(&[ex(r#"ConvertToUTF8Hex("Hello world!")"#, r#""48656C6C6F20776F726C6421""#)]),
    f("ConvertFromBase64", "ConvertFromBase64(source, encoding)", &[req("source", Str), opt("encoding", Str)], Str, convert::convert_from_base64).fails().ex(&[ex(r#"ConvertFromBase64("SGVsbG8gd29ybGQh", UTF8)"#, r#""Hello world!""#)]),
    f("Count", "Count(attribute)", &[req("attribute", Any)], Int, lists::count).ex(&[ex("Count([mail])", "1").on(r#"{"mail": "a@x"}"#)]),
    f("CStr", "CStr(value)", &[req("value", Any)], Str, convert::c_str).fails().ex(&[ex("CStr([dn])", r#""cn=Joe,dc=contoso,dc=com""#).on(r#"{"dn": "cn=Joe,dc=contoso,dc=com"}"#)]),
    f("DateAdd", "DateAdd(interval, value, dateTime)", &[req("interval", Str), req("value", Int), req("dateTime", Str)], Str, dates::date_add).fails().ex(&[ex(r#"DateAdd("d", 7, CDate([StatusHireDate]))"#, r#""3/23/2012 7:00:00 AM""#).on(r#"{"StatusHireDate": "2012-03-16-07:00"}"#), ex(r#"DateAdd("m", 10, CDate([StatusHireDate]))"#, r#""1/16/2013 7:00:00 AM""#).on(r#"{"StatusHireDate": "2012-03-16-07:00"}"#)]),
    f("DateDiff", "DateDiff(interval, date1, date2)", &[req("interval", Str), req("date1", Str), req("date2", Str)], Int, dates::date_diff).fails().ex(&[ex(r#"DateDiff("d", "2021-08-24", "2021-08-24")"#, "0"), ex(r#"DateDiff("h", "2021-08-24", "2021-08-25")"#, "24")]),
    f("DateFromNum", "DateFromNum(value)", &[req("value", Int)], Str, dates::date_from_num).fails().ex(&[ex("DateFromNum(129699324000000000)", r#""1/1/2012 11:00:00 PM""#)]),
    f("FormatDateTime", "FormatDateTime(source, dateTimeStyles, inputFormat, outputFormat)", &[req("source", Str), req("dateTimeStyles", Str), req("inputFormat", Str), opt("outputFormat", Str)], Str, dates::format_date_time).fails().omits().ex(&[ex(r#"FormatDateTime([extensionAttribute1], , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")"#, r#""2015-01-23""#).on(r#"{"extensionAttribute1": "20150123105347.1Z"}"#), ex(r#"NumFromDate(Join("", FormatDateTime([ContractEndDate], ,"yyyy-MM-ddzzz", "yyyy-MM-dd"), " 23:59:59-08:00"))"#, "132854975990000000").on(r#"{"ContractEndDate": "2021-12-31-08:00"}"#)]),
    f("Guid", "Guid()", &[], Str, random::guid).impure().ex(&[ex("Guid()", r#""3f2504e0-4f89-41d3-9a0c-0305e82c3301""#).shaped(is_guid)]),
    f("DNComponent", "DNComponent(dn, componentNumber)", &[req("dn", Str), req("componentNumber", Int)], Str, strings::dn_component).fails().ex(&[ex("DNComponent([dn], 1)", r#""Smith, Joe""#).on(r#"{"dn": "cn=Smith\\, Joe,ou=Sales,dc=contoso,dc=com"}"#)]),
    f("Error", "Error(message)", &[req("message", Str)], Str, conditions::error).fails().ex(&[ex(r#"Error("no mail")"#, "Error: no mail").fails()]),
    f("IgnoreFlowIfNullOrEmpty", "IgnoreFlowIfNullOrEmpty(expression)", &[req("expression", Any)], Any, conditions::ignore_flow_if_null_or_empty).ignoring_flow().ex(&[ex("IgnoreFlowIfNullOrEmpty([department])", "null").on(r#"{"department": ""}"#), ex("IgnoreFlowIfNullOrEmpty([department])", r#""Sales""#).on(r#"{"department": "Sales"}"#)]),
    f("IIF", "IIF(condition, valueIfTrue, valueIfFalse)", &[req("condition", Bool), req("valueIfTrue", Any), req("valueIfFalse", Any)], Any, conditions::iif).fails().ex(&[ex(r#"IIF([country]="USA",[country],[department])"#, r#""USA""#).on(r#"{"country": "USA", "department": "Sales"}"#), ex(r#"IIF([country]="USA",[country],[department])"#, r#""Sales""#).on(r#"{"country": "FR", "department": "Sales"}"#)]),
    f("InStr", "InStr(value1, value2, start, compareType)", &[req("value1", Str), req("value2", Str), opt("start", Int), opt("compareType", Str)], Int, strings::in_str).fails().omits().ex(&[ex(r#"InStr("The quick brown fox","quick")"#, "5"), ex(r#"InStr("repEated","e",3,vbBinaryCompare)"#, "7")]),
    f("IsNull", "IsNull(expression)", &[req("expression", Any)], Bool, conditions::is_null).ex(&[ex("IsNull([displayName])", "true")]),
    f("IsNullOrEmpty", "IsNullOrEmpty(expression)", &[req("expression", Any)], Bool, conditions::is_null_or_empty).ex(&[ex("IsNullOrEmpty([displayName])", "true").on(r#"{"displayName": ""}"#)]),
    f("IsPresent", "IsPresent(expression)", &[req("expression", Any)], Bool, conditions::is_present).ex(&[ex(r#"Switch(IsPresent([jobTitle]), "DefaultValue", "True", [jobTitle])"#, r#""Engineer""#).on(r#"{"jobTitle": "Engineer"}"#), ex(r#"Switch(IsPresent([jobTitle]), "DefaultValue", "True", [jobTitle])"#, r#""DefaultValue""#)]),
    f("IsString", "IsString(expression)", &[req("expression", Any)], Bool, conditions::is_string).ex(&[ex("IsString([mail])", "false")]),
    f("Item", "Item(attribute, index)", &[req("attribute", Any), req("index", Int)], Any, lists::item).fails().ex(&[ex("Item([proxyAddresses], 1)", r#""SMTP:ann@contoso.com""#).on(r#"{"proxyAddresses": ["SMTP:ann@contoso.com", "smtp:ann@fabrikam.com"]}"#)]),
    f("Join", "Join(separator, source1, source2, ...)", &[req("separator", Str), req("source1", Any), rest("sources", Any)], Str, lists::join).ex(&[ex(r#"Join(", ", "", [surname], [givenName])"#, r#""Doe, John""#).on(r#"{"surname": "Doe", "givenName": "John"}"#), ex(r#"PCase(Join(" ",[firstName],[lastName]))"#, r#""Gregory James""#).on(r#"{"firstName": "GREGORY", "lastName": "JAMES"}"#)]),
    f("Left", "Left(string, numChars)", &[req("string", Str), req("numChars", Int)], Str, strings::left).fails().ex(&[ex(r#"Left("John Doe", 3)"#, r#""Joh""#)]),
    f("Mid", "Mid(source, start, length)", &[req("source", Str), req("start", Int), opt("length", Int)], Str, strings::mid).fails().ex(&[ex("Mid([userPrincipalName], 1, 8)", r#""jdoe1234""#).on(r#"{"userPrincipalName": "jdoe1234@contoso.com"}"#), ex("Append(Mid([givenName],1,3), Mid([surname],1,5))", r#""JohDoe""#).on(r#"{"givenName": "John", "surname": "Doe"}"#)]),
    f("NormalizeDiacritics", "NormalizeDiacritics(source)", &[req("source", Str)], Str, strings::normalize_diacritics).ex(&[ex("NormalizeDiacritics([givenName])", r#""Zoe""#).on(r#"{"givenName": "Zoë"}"#)]),
    f("Not", "Not(source)", &[req("source", Any)], Bool, conditions::not).ex(&[ex("Not([IsSoftDeleted])", "true").on(r#"{"IsSoftDeleted": "False"}"#)]),
    f("Now", "Now()", &[], Str, dates::now).impure().ex(&[ex("Now()", r#""7/2/2021 3:33:38 PM""#).at("2021-07-02T15:33:38Z")]),
    f("NumFromDate", "NumFromDate(value)", &[req("value", Str)], Int, dates::num_from_date).fails().ex(&[ex(r#"NumFromDate(Join("", FormatDateTime([ContractEndDate], ,"yyyy-MM-ddzzz", "yyyy-MM-dd"), " 23:59:59-08:00"))"#, "132854975990000000").on(r#"{"ContractEndDate": "2021-12-31-08:00"}"#)]),
    f("PCase", "PCase(source, wordSeparators)", &[req("source", Str), opt("wordSeparators", Str)], Str, strings::pcase).ex(&[ex("PCase([firstName])", r#""Pablo Gonsalves (Second)""#).on(r#"{"firstName": "PABLO GONSALVES (SECOND)"}"#), ex(r#"PCase([lastName]," '-")"#, r#""Pinto-De'Silva""#).on(r#"{"lastName": "PINTO-DE'SILVA"}"#)]),
    f("RandomString", "RandomString(length, minNumbers, minSpecial, minCapital, minLower, charactersToAvoid)", &[req("length", Int), req("minNumbers", Int), req("minSpecial", Int), req("minCapital", Int), req("minLower", Int), opt("charactersToAvoid", Str)], Str, random::random_string).fails().omits().impure().ex(&[ex("RandomString(6,3,0,0,3)", r#""4ab7c2""#).shaped(is_six_digits_and_lowercase)]),
    f("Redact", "Redact(value)", &[req("value", Any)], Any, conditions::redact).redacting().ex(&[ex("Redact([userPrincipalName])", r#""ann@contoso.com""#).on(r#"{"userPrincipalName": "ann@contoso.com"}"#), ex(r#"Replace(Redact(RandomString(6,3,0,0,3)), , "^[0-9a-z]{6}$", , "ok", , )"#, r#""ok""#)]),
    f("RemoveDuplicates", "RemoveDuplicates(attribute)", &[req("attribute", Any)], List, lists::remove_duplicates).ex(&[ex("RemoveDuplicates([proxyAddresses])", r#"["a", "b", "c"]"#).on(r#"{"proxyAddresses": ["a", "b", "a", "c", "b"]}"#)]),
    f("Replace", "Replace(source, oldValue, regexPattern, regexGroupName, replacementValue, replacementAttributeName, template)", &[req("source", Str), req("oldValue", Str), req("regexPattern", Str), opt("regexGroupName", Str), opt("replacementValue", Str), opt("replacementAttributeName", Str), opt("template", Str)], Str, replace::replace).fails().omits().ex(&[ex(r#"Replace([mail], "@contoso.com", , ,"", ,)"#, r#""john.doe""#).on(r#"{"mail": "john.doe@contoso.com"}"#), ex(r#"Replace([preferredLanguage], "-", , , "_", , )"#, r#""EN_US""#).on(r#"{"preferredLanguage": "EN-US"}"#)]),
    f("SelectUniqueValue", "SelectUniqueValue(uniqueValueRule1, uniqueValueRule2, ...)", &[req("uniqueValueRule1", Any), req("uniqueValueRule2", Any), rest("uniqueValueRules", Any)], Any, conditions::select_unique_value).fails().impure().top_level().asking_target().ex(&[ex(r#"SelectUniqueValue(Join("@", NormalizeDiacritics(StripSpaces(Join(".", [PreferredFirstName], [PreferredLastName]))), "contoso.com"), Join("@", NormalizeDiacritics(StripSpaces(Join(".", Mid([PreferredFirstName], 1, 1), [PreferredLastName]))), "contoso.com"), Join("@", NormalizeDiacritics(StripSpaces(Join(".", Mid([PreferredFirstName], 1, 2), [PreferredLastName]))), "contoso.com"))"#, r#""John.Smith@contoso.com""#).on(r#"{"PreferredFirstName": "John", "PreferredLastName": "Smith"}"#)]),
    f("SingleAppRoleAssignment", "SingleAppRoleAssignment([appRoleAssignments], preferred...?)", &[req("appRoleAssignments", Any), rest("preferred", Str)], Str, roles::single_app_role_assignment).ex(&[ex("SingleAppRoleAssignment([appRoleAssignments])", "null").on(r#"{"appRoleAssignments": []}"#)]),
    f("Split", "Split(source, delimiter)", &[req("source", Str), req("delimiter", Str)], List, lists::split).ex(&[ex(r#"Split([permissions], ",")"#, r#"["PermissionSetOne", " PermissionSetTwo"]"#).on(r#"{"permissions": "PermissionSetOne, PermissionSetTwo"}"#)]),
    f("StripSpaces", "StripSpaces(source)", &[req("source", Str)], Str, strings::strip_spaces).ex(&[ex(r#"StripSpaces(" John  Smith ")"#, r#""JohnSmith""#), ex(r#"ToLower(Join("@", NormalizeDiacritics(StripSpaces(Join(".", [PreferredFirstName], [PreferredLastName]))), "contoso.com"))"#, r#""john.smith@contoso.com""#).on(r#"{"PreferredFirstName": "John", "PreferredLastName": "Smith"}"#)]),
    f("Switch", "Switch(source, defaultValue, key1, value1, key2, value2, ...)", &[req("source", Any), req("defaultValue", Any), req("key", Any), req("value", Any), rest("keyValuePairs", Any)], Any, conditions::switch).omits().ex(&[ex(r#"Switch([country],[country],"","Other")"#, r#""Other""#), ex(r#"Switch([country],[country],"","Other")"#, r#""FR""#).on(r#"{"country": "FR"}"#)]),
    f("ToLower", "ToLower(source, culture)", &[req("source", Str), opt("culture", Str)], Str, strings::to_lower).ex(&[ex(r#"ToLower("SAEED")"#, r#""saeed""#), ex(r#"Switch(ToLower([statusFlag]), "0", "true", "1", "false", "0")"#, r#""1""#).on(r#"{"statusFlag": "TRUE"}"#)]),
    f("ToUpper", "ToUpper(source, culture)", &[req("source", Str), opt("culture", Str)], Str, strings::to_upper).ex(&[ex(r#"ToUpper("straße")"#, r#""STRAßE""#)]),
    f("Trim", "Trim(source)", &[req("source", Any)], Any, lists::trim).ex(&[ex(r#"Trim(" Test ")"#, r#""Test""#)]),
    f("Word", "Word(string, wordNumber, delimiters)", &[req("string", Str), req("wordNumber", Int), req("delimiters", Str)], Str, strings::word).fails().ex(&[ex(r#"Word("The quick brown fox",3," ")"#, r#""brown""#), ex(r#"Word("This,string!has&many separators",3,",!&#")"#, r#""has""#)]),
];

/// Whether an example's result is a version 4 GUID in .NET's `D` format.
fn is_guid(value: &Value) -> bool {
    value.as_str().is_some_and(|s| {
        let groups: Vec<&str> = s.split('-').collect();
        groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
            && groups.iter().all(|g| {
                g.chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            })
    })
}

/// Whether an example's result is what `RandomString(6,3,0,0,3)` asks for: six characters,
/// at least three digits and three lower-case letters.
fn is_six_digits_and_lowercase(value: &Value) -> bool {
    value.as_str().is_some_and(|s| {
        s.chars().count() == 6
            && s.chars().filter(char::is_ascii_digit).count() >= 3
            && s.chars().filter(char::is_ascii_lowercase).count() >= 3
    })
}

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
