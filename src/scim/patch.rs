//! PATCH requests (RFC 7644 §3.5.2): the operations that bring one attribute to its desired
//! value.
//!
//! Paths are always leaf paths (`name.givenName`, `urn:…:2.0:creditLimit`), never a bare
//! extension URN, which targets cannot parse when the URN ends in a version.

use serde::Serialize;
use serde_json::Value as Json;

use super::path::AttrPath;
use super::schema::PATCH_OP;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PatchOperation {
    pub op: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Json>,
}

impl PatchOperation {
    /// Sets `path` to `value`. When the path filters into a multi-valued attribute and the
    /// target has no matching element (`current` is `None`), a `replace` would have no target
    /// (RFC 7644 §3.5.2.3, `noTarget`), so the element is added instead.
    pub fn set(path: &AttrPath, value: Json, current: Option<&Json>) -> PatchOperation {
        match (&path.filter, current) {
            (Some(_), None) => PatchOperation {
                op: "add",
                path: Some(path.attribute_path().to_string()),
                value: path
                    .new_element(value)
                    .map(|element| Json::Array(vec![element])),
            },
            _ => PatchOperation {
                op: "replace",
                path: Some(path.to_string()),
                value: Some(value),
            },
        }
    }
}

/// The request body for a list of operations.
pub fn body(operations: &[PatchOperation]) -> Json {
    serde_json::json!({
        "schemas": [PATCH_OP],
        "Operations": operations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::path::{FilterValue, ValueFilter};
    use serde_json::json;

    #[test]
    fn missing_filtered_element_is_added() {
        let path = AttrPath {
            schema: None,
            name: "emails".into(),
            filter: Some(ValueFilter {
                attr: "type".into(),
                value: FilterValue::Str("work".into()),
            }),
            sub: Some("value".into()),
        };
        let add = PatchOperation::set(&path, json!("a@x"), None);
        assert_eq!(
            serde_json::to_value(&add).unwrap(),
            json!({"op": "add", "path": "emails", "value": [{"type": "work", "value": "a@x"}]})
        );
        let replace = PatchOperation::set(&path, json!("a@x"), Some(&json!("old@x")));
        assert_eq!(
            serde_json::to_value(&replace).unwrap(),
            json!({"op": "replace", "path": "emails[type eq \"work\"].value", "value": "a@x"})
        );
    }
}
