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

/// How `op` values are spelled on the wire. RFC 7644 uses `add`/`replace`/`remove`; Entra
/// sends `Add`/`Replace`/`Remove` and some targets built against it only accept those.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpCase {
    #[default]
    Lower,
    Capitalized,
}

impl OpCase {
    fn spell(self, op: &str) -> String {
        match self {
            OpCase::Lower => op.to_owned(),
            OpCase::Capitalized => {
                let mut chars = op.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_uppercase().chain(chars).collect()
                })
            }
        }
    }
}

impl PatchOperation {
    /// Adds `members` (`value` = SCIM ids) to a group.
    pub fn add_members(ids: &[String]) -> PatchOperation {
        PatchOperation {
            op: "add",
            path: Some("members".into()),
            value: Some(Json::Array(
                ids.iter()
                    .map(|id| serde_json::json!({ "value": id }))
                    .collect(),
            )),
        }
    }

    /// Removes one member by filtered path: `members[value eq "id"]`.
    pub fn remove_member(id: &str) -> PatchOperation {
        PatchOperation {
            op: "remove",
            path: Some(format!("members[value eq {}]", Json::String(id.to_owned()))),
            value: None,
        }
    }

    /// Sets a top-level attribute (`displayName`, `externalId`).
    pub fn replace(path: &str, value: Json) -> PatchOperation {
        PatchOperation {
            op: "replace",
            path: Some(path.to_owned()),
            value: Some(value),
        }
    }
}

/// The request body for a list of operations.
pub fn body(operations: &[PatchOperation], case: OpCase) -> Json {
    let operations: Vec<Json> = operations
        .iter()
        .map(|operation| {
            let mut json = serde_json::to_value(operation).unwrap_or(Json::Null);
            json["op"] = Json::String(case.spell(operation.op));
            json
        })
        .collect();
    serde_json::json!({
        "schemas": [PATCH_OP],
        "Operations": operations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn op_casing_and_member_operations() {
        let ops = [
            PatchOperation::add_members(&["u1".into(), "u2".into()]),
            PatchOperation::remove_member("u\"3"),
        ];
        assert_eq!(
            body(&ops, OpCase::Capitalized),
            json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "Add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]},
                {"op": "Remove", "path": "members[value eq \"u\\\"3\"]"}
            ]})
        );
        assert_eq!(body(&ops, OpCase::Lower)["Operations"][0]["op"], "add");
    }

    #[test]
    fn missing_filtered_element_is_added() {
        let path = AttrPath::core_filtered("emails", "type", "work", "value");
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
