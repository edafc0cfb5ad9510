//! SCIM User resources as JSON: built from attribute values for a create, and compared
//! value by value with what the target returns.

use serde_json::Value as Json;

use super::path::{AttrPath, get_ci};
use super::schema::CORE_USER;
use crate::value::Value;

/// A User resource with `values` set at their paths and every extension schema listed in
/// `schemas`, as RFC 7643 §3 asks.
pub fn user_resource<'a>(values: impl IntoIterator<Item = (&'a AttrPath, &'a Value)>) -> Json {
    user_resource_from_json(
        values
            .into_iter()
            .map(|(path, value)| (path, value.to_json())),
    )
}

/// [`user_resource`] from values already in JSON.
pub fn user_resource_from_json<'a>(values: impl IntoIterator<Item = (&'a AttrPath, Json)>) -> Json {
    let mut schemas = vec![CORE_USER.to_owned()];
    // `schemas` first, for readable payloads; filled in once all values are placed.
    let mut resource = serde_json::json!({ "schemas": [] });
    for (path, value) in values {
        if let Some(urn) = &path.schema
            && !schemas.contains(urn)
        {
            schemas.push(urn.clone());
        }
        path.set(&mut resource, value);
    }
    resource["schemas"] = Json::Array(schemas.into_iter().map(Json::String).collect());
    resource
}

/// Whether the target's value already equals the desired one. Multi-valued values compare
/// as sets; numbers compare numerically.
pub fn same_value(desired: &Value, actual: Option<&Json>) -> bool {
    compare(desired, actual, false)
}

/// [`same_value`] with strings compared without regard to case (Unicode lower case), for
/// attributes whose schema says `caseExact: false`.
pub fn same_value_ignoring_case(desired: &Value, actual: Option<&Json>) -> bool {
    compare(desired, actual, true)
}

fn compare(desired: &Value, actual: Option<&Json>, ignore_case: bool) -> bool {
    let Some(actual) = actual else {
        return desired.is_null();
    };
    let same = |d: &Value, a: Option<&Json>| compare(d, a, ignore_case);
    match (desired, actual) {
        (Value::Null, Json::Null) => true,
        (Value::Str(a), Json::String(b)) if ignore_case => a.to_lowercase() == b.to_lowercase(),
        (Value::Str(a), Json::String(b)) => a == b,
        (Value::Bool(a), Json::Bool(b)) => a == b,
        (Value::Int(a), Json::Number(b)) => b.as_i64() == Some(*a) || b.as_f64() == Some(*a as f64),
        (Value::Float(a), Json::Number(b)) => b.as_f64() == Some(*a),
        (Value::Object(members), Json::Object(_)) => members
            .iter()
            .all(|(name, value)| same(value, get_ci(actual, name))),
        (Value::List(items), Json::Array(others)) => {
            items.len() == others.len()
                && items
                    .iter()
                    .all(|i| others.iter().any(|o| same(i, Some(o))))
        }
        _ => false,
    }
}

/// The resource's `id`.
pub fn id(resource: &Json) -> Option<&str> {
    resource.get("id").and_then(Json::as_str)
}

/// The resource's `active`; a target that leaves it out treats the user as active.
pub fn is_active(resource: &Json) -> bool {
    get_ci(resource, "active")
        .and_then(Json::as_bool)
        .unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resource_lists_extension_schemas() {
        let user_name = AttrPath::core("userName");
        let role = AttrPath {
            schema: Some("urn:b44:2.0".into()),
            name: "role".into(),
            filter: None,
            sub: None,
        };
        let (a, b) = (Value::from("a@x"), Value::from("admin"));
        let resource = user_resource([(&user_name, &a), (&role, &b)]);
        assert_eq!(
            resource.to_string(),
            json!({"schemas": [CORE_USER, "urn:b44:2.0"], "userName": "a@x", "urn:b44:2.0": {"role": "admin"}}).to_string()
        );
    }

    #[test]
    fn compares_values_like_scim() {
        assert!(same_value(&Value::Int(5), Some(&json!(5))));
        assert!(!same_value(&Value::from("5"), Some(&json!(5))));
        assert!(same_value(
            &Value::List(vec!["a".into(), "b".into()]),
            Some(&json!(["b", "a"]))
        ));
        assert!(!same_value(&Value::from("x"), None));
        assert!(!same_value(
            &Value::from("Ada@X.COM"),
            Some(&json!("ada@x.com"))
        ));
        assert!(same_value_ignoring_case(
            &Value::from("ZOË@X.COM"),
            Some(&json!("zoë@x.com"))
        ));
    }
}
