//! The plan's unit tests: conversions, rule evaluation and failures, group rules.

use super::*;
use crate::mapping::{SourceFile, compile};

fn plan(text: &str) -> Plan {
    compile(&SourceFile::new("t.map", text)).expect("compiles")
}

fn record(json: serde_json::Value) -> Record {
    Record::from_flat_json("id1".into(), json.as_object().unwrap())
}

fn mapped(plan: &Plan, r: &Record) -> Result<Outcome, RuleFailure> {
    plan.evaluate(r, &Env::new(r))
}

#[test]
fn redacted_rules_keep_their_values_out_of_messages() {
    let p = plan(
        "dialect entra\nextension x = \"urn:x:2.0\"\nuserName <- [upn]\nenterprise:employeeNumber <- Redact([badge])\nx:level <- Redact([level]) as integer\n",
    );
    assert_eq!(
        p.rules.iter().map(|r| r.redacted).collect::<Vec<_>>(),
        [false, true, true]
    );
    let record = Record::from_flat_json(
        "1".into(),
        serde_json::json!({"upn": "a@x", "badge": "b-secret", "level": "l-secret"})
            .as_object()
            .expect("object"),
    );
    let failure = p
        .evaluate(&record, &Env::new(&record))
        .expect_err("`l-secret` is not an integer");
    assert_eq!(failure.rule, "x:level");
    assert!(!failure.to_string().contains("secret"), "{failure}");
    assert!(failure.message.contains("[Redact]"), "{failure}");

    let record = Record::from_flat_json(
        "1".into(),
        serde_json::json!({"upn": "a@x", "badge": "b-secret"})
            .as_object()
            .expect("object"),
    );
    let Ok(Outcome::Mapped(user)) = p.evaluate(&record, &Env::new(&record)) else {
        panic!("maps");
    };
    assert_eq!(
        user.values[1].value,
        Value::from("b-secret"),
        "the value is sent"
    );
    assert_eq!(user.shown().values[1].value, Value::from(REDACTED));
    assert_eq!(user.shown().values[0].value, Value::from("a@x"));
}

#[test]
fn group_statements_select_groups_by_name_or_pattern() {
    let p = plan(
        "userName <- user.email\ngroup \"Base44 Admins\" as \"Admins\", external id \"b44-admins\"\ngroups matching \"^team-\"\n",
    );
    assert_eq!(
        p.pushed_group("base44 admins"),
        Some(PushedGroup {
            display_name: "Admins".into(),
            external_id: Some("b44-admins".into())
        })
    );
    assert_eq!(
        p.pushed_group("team-red"),
        Some(PushedGroup {
            display_name: "team-red".into(),
            external_id: None
        })
    );
    assert_eq!(p.pushed_group("red-team"), None);
    assert_eq!(p.groups[1].line, 3);
}

#[test]
fn group_statement_errors_point_at_the_statement() {
    let file = SourceFile::new(
        "t.map",
        "userName <- user.email\ngroups matching \"(\"\ngroup \"a\"\ngroup \"A\"\ngroups matching \"x\" as \"X\"\n",
    );
    let errors = compile(&file).unwrap_err();
    let rendered: Vec<String> = errors
        .iter()
        .map(|d| {
            format!(
                "{}: {}",
                file.line_col(d.primary.span.start).line,
                d.message
            )
        })
        .collect();
    assert_eq!(
        rendered,
        [
            "2: this is not a valid regular expression",
            "4: group \"A\" is pushed twice",
            "5: `as` would give every matching group the same displayName",
        ]
    );
}

#[test]
fn facts_list_reads_writes_and_fallible_rules() {
    let p = plan(
        "extension b = \"urn:b:2.0\"\nscope user.status == \"ACTIVE\" && user.dept != \"HR\" && user.flag\nuserName <- user.email\nb:n <- user.n as integer\nb:g <- isMemberOfGroupName(\"x\")\ndisplayName <- user.address.city ?: user.getInternalProperty(\"status\")\n",
    );
    assert_eq!(
        p.facts.reads.iter().cloned().collect::<Vec<_>>(),
        ["address.city", "dept", "email", "flag", "n", "status"]
    );
    assert!(p.facts.reads_groups);
    assert_eq!(
        p.facts
            .writes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["userName", "urn:b:2.0:n", "urn:b:2.0:g", "displayName"]
    );
    // An attribute may hold a list, which fits no string; `user.flag` may not be a
    // boolean. Constants and string results cannot fail.
    assert_eq!(
        p.facts
            .fallible
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            "scope (line 2): a condition can be null or not true/false",
            "`userName` (line 3): the result must convert to a string",
            "`urn:b:2.0:n` (line 4): the result must convert to an integer",
            "`displayName` (line 6): the result must convert to a string",
        ]
    );
}

#[test]
fn a_plan_without_risky_rules_has_no_fallible_facts() {
    let p = plan(
        "extension b = \"urn:b:2.0\"\nscope isMemberOfGroupName(\"x\") && user.a == \"y\"\nuserName <- \"x\" + user.a\nb:a <- user.a\nactive <- !isMemberOfGroupName(\"z\")\n",
    );
    assert_eq!(p.facts.fallible, Vec::new());
    assert_eq!(p.facts.reads.iter().collect::<Vec<_>>(), ["a"]);
    assert!(p.facts.reads_groups);
}

#[test]
fn inputs_name_what_one_expression_reads() {
    let p = plan(
        "userName <- user.email + user.getInternalProperty(\"id\") + (isMemberOfGroupName(\"a\") ? user.email : user.login)\n",
    );
    assert_eq!(p.rules[0].expr.inputs(), ["email", "id", "groups", "login"]);
}

#[test]
fn options_default_type_and_allowed_values_apply_in_order() {
    let p = plan(
        "extension b = \"urn:b:2.0\"\nuserName <- user.email\nb:limit <- user.limit as integer, default \"0\"\nb:role <- user.role one of \"a\", \"b\"\n",
    );
    let Ok(Outcome::Mapped(u)) = mapped(
        &p,
        &record(serde_json::json!({"email": "e", "limit": "12", "role": "a"})),
    ) else {
        panic!("maps")
    };
    assert_eq!(
        u.values.iter().map(|v| v.value.clone()).collect::<Vec<_>>(),
        [Value::from("e"), Value::Int(12), Value::from("a")]
    );
    let Ok(Outcome::Mapped(u)) = mapped(&p, &record(serde_json::json!({"email": "e"}))) else {
        panic!("maps")
    };
    assert_eq!(
        u.values.len(),
        2,
        "null role flows nowhere; limit defaults to 0"
    );
    assert_eq!(u.values[1].value, Value::Int(0));
    let failure = mapped(
        &p,
        &record(serde_json::json!({"email": "e", "role": "owner"})),
    )
    .unwrap_err();
    assert_eq!(
        failure.to_string(),
        "rule `b:role` (t.map:4): \"owner\" is not one of the allowed values (\"a\", \"b\")"
    );
    let failure = mapped(
        &p,
        &record(serde_json::json!({"email": "e", "limit": "lots"})),
    )
    .unwrap_err();
    assert_eq!(
        failure.to_string(),
        "rule `b:limit` (t.map:3): \"lots\" is not a valid integer"
    );
}

#[test]
fn ignore_flow_if_null_or_empty_drops_the_attribute_and_its_default() {
    let p = plan(
        "dialect entra\nuserName <- [mail]\ntitle <- IgnoreFlowIfNullOrEmpty(Append([title], \"\")) default \"none\"\ndisplayName <- Append([title], \"\") default \"none\"\n",
    );
    let Ok(Outcome::Mapped(u)) = mapped(&p, &record(serde_json::json!({"mail": "m", "title": ""})))
    else {
        panic!("maps")
    };
    // title does not flow at all; displayName's "" is a value and is sent as such.
    assert_eq!(
        u.values
            .iter()
            .map(|v| (v.path.to_string(), v.value.clone()))
            .collect::<Vec<_>>(),
        [
            ("userName".to_owned(), Value::from("m")),
            ("displayName".to_owned(), Value::from(""))
        ]
    );
    let Ok(Outcome::Mapped(u)) =
        mapped(&p, &record(serde_json::json!({"mail": "m", "title": "Dr"})))
    else {
        panic!("maps")
    };
    assert_eq!(u.get(&AttrPath::core("title")), Some(&Value::from("Dr")));
}

#[test]
fn app_role_assignments_complex_writes_whole_roles() {
    let p = plan(
        "dialect entra\nuserName <- [userPrincipalName]\nroles <- AppRoleAssignmentsComplex([appRoleAssignments])\n",
    );
    let r = record(
        serde_json::json!({"userPrincipalName": "ann@x", "appRoleAssignments": ["Admin", "User"]}),
    );
    let Ok(Outcome::Mapped(u)) = mapped(&p, &r) else {
        panic!("maps")
    };
    let resource =
        crate::scim::resource::user_resource(u.values.iter().map(|v| (&*v.path, &v.value)));
    let role = |name: &str| serde_json::json!({"primary": false, "type": "WindowsAzureActiveDirectoryRole", "displayName": name, "value": name});
    assert_eq!(
        resource["roles"],
        serde_json::json!([role("Admin"), role("User")])
    );
    // The target echoing the roles back (with members of its own) is no change.
    let echoed = serde_json::json!([role("User"), {"value": "Admin", "displayName": "Admin", "type": "WindowsAzureActiveDirectoryRole", "primary": false, "display": "Admin"}]);
    assert!(crate::scim::resource::same_value(
        &u.values[1].value,
        Some(&echoed)
    ));
}

#[test]
fn scope_false_is_out_of_scope() {
    let p = plan("scope user.dept == \"IT\"\nuserName <- user.email\n");
    assert_eq!(
        mapped(&p, &record(serde_json::json!({"dept": "HR"}))),
        Ok(Outcome::OutOfScope)
    );
    assert!(matches!(
        mapped(&p, &record(serde_json::json!({"dept": "IT"}))),
        Ok(Outcome::Mapped(_))
    ));
}
