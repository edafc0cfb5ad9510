//! Microsoft Graph exports: `GET /users?$select=...&$expand=memberOf,appRoleAssignments`,
//! saved as the response (`{"value": [...]}`) or as a bare array.
//!
//! - `id` (the objectId) is the identity; `accountEnabled` says whether the user is active.
//! - `onPremisesExtensionAttributes.extensionAttribute1..15` are readable under both that
//!   dotted name and the bare `extensionAttributeN`, the name Entra mappings use.
//! - `memberOf` (expanded) gives the group names; directory roles in it are not groups.
//! - `appRoleAssignments` (expanded) become the list of role *values* (`admin`, not the role's
//!   GUID) that `SingleAppRoleAssignment([appRoleAssignments])` reads. Graph only gives the
//!   role's id; its value is in the app's service principal (`service_principal_path`).

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value as Json;

use super::record_error::{RecordError, ServicePrincipalError};
use super::{Context, JsonSourceError, active_flag, identity, json_kind, read_side_file};
use scimsync_lang::record::{Record, flatten_into};
use scimsync_lang::value::Value;

/// The role id of "Default Access": an assignment without a role.
const DEFAULT_ACCESS: &str = "00000000-0000-0000-0000-000000000000";

const EXTENSION_ATTRIBUTES: &str = "onPremisesExtensionAttributes";

/// The service principal of the app being provisioned: its id and its roles (id → value).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServicePrincipal {
    pub id: String,
    pub roles: HashMap<String, String>,
}

impl ServicePrincipal {
    pub fn load(path: &Path) -> Result<ServicePrincipal, JsonSourceError> {
        let json = read_side_file(path)?;
        ServicePrincipal::from_json(&json).map_err(|error| JsonSourceError::Shape {
            path: path.display().to_string(),
            message: error.to_string(),
        })
    }

    /// A service principal object, or a Graph list response holding exactly one.
    pub fn from_json(json: &Json) -> Result<ServicePrincipal, ServicePrincipalError> {
        let object = match json.get("value") {
            Some(Json::Array(items)) if items.len() == 1 => &items[0],
            Some(_) => {
                return Err(ServicePrincipalError::Several);
            }
            None => json,
        };
        let id = identity(object.get("id")).ok_or(ServicePrincipalError::NoId)?;
        let Some(Json::Array(roles)) = object.get("appRoles") else {
            return Err(ServicePrincipalError::NoRoles);
        };
        let roles = roles
            .iter()
            .filter_map(|r| {
                Some((
                    r.get("id")?.as_str()?.to_ascii_lowercase(),
                    r.get("value")?.as_str()?.to_owned(),
                ))
            })
            .collect();
        Ok(ServicePrincipal { id, roles })
    }
}

pub fn record(
    object: serde_json::Map<String, Json>,
    context: &mut Context,
) -> Result<Record, RecordError> {
    let id = identity(object.get("id")).ok_or(RecordError::Missing {
        what: "`id` (the user's objectId)",
    })?;
    let mut record = Record {
        id,
        active: active_flag(object.get("accountEnabled"), "accountEnabled")?,
        ..Record::default()
    };
    for (key, value) in &object {
        match key.as_str() {
            "memberOf" | "appRoleAssignments" => {}
            k if k.starts_with("@odata.") || k.contains("@odata.") => {}
            EXTENSION_ATTRIBUTES => {
                flatten_into(&mut record.attrs, key, value);
                if let Json::Object(extensions) = value {
                    for (name, v) in extensions {
                        record.attrs.insert(name.clone(), Value::from_json(v));
                    }
                }
            }
            _ => flatten_into(&mut record.attrs, key, value),
        }
    }
    if let Some(member_of) = object.get("memberOf") {
        record.groups = group_names(member_of, &mut context.group_ids)?;
    }
    if let Some(assignments) = object.get("appRoleAssignments") {
        let roles = role_values(assignments, context.service_principal.as_ref())?;
        record
            .attrs
            .insert("appRoleAssignments".into(), Value::List(roles));
    }
    Ok(record)
}

/// Names of the groups in an expanded `memberOf` (directory roles and administrative units
/// are left out); their ids are remembered for group records.
fn group_names(
    member_of: &Json,
    ids: &mut HashMap<String, String>,
) -> Result<Vec<String>, RecordError> {
    let Json::Array(items) = member_of else {
        return Err(RecordError::WrongType {
            key: "memberOf",
            expected: "an array",
            found: json_kind(member_of),
        });
    };
    let mut names = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let kind = item.get("@odata.type").and_then(Json::as_str);
        if kind.is_some_and(|k| k != "#microsoft.graph.group") {
            continue;
        }
        let name = item
            .get("displayName")
            .and_then(Json::as_str)
            .ok_or(RecordError::GroupWithoutName(i))?;
        if let Some(id) = item.get("id").and_then(Json::as_str) {
            ids.entry(name.to_owned()).or_insert_with(|| id.to_owned());
        }
        names.push(name.to_owned());
    }
    Ok(names)
}

/// Role values of the assignments to the app being provisioned.
fn role_values(
    assignments: &Json,
    app: Option<&ServicePrincipal>,
) -> Result<Vec<Value>, RecordError> {
    let Json::Array(items) = assignments else {
        return Err(RecordError::WrongType {
            key: "appRoleAssignments",
            expected: "an array",
            found: json_kind(assignments),
        });
    };
    let mut values = Vec::new();
    for (i, item) in items.iter().enumerate() {
        // An export that already carries the value (some tools add it) needs no lookup.
        if let Some(value) = item
            .get("appRoleValue")
            .or_else(|| item.get("value"))
            .and_then(Json::as_str)
        {
            values.push(Value::from(value));
            continue;
        }
        let role_id = item
            .get("appRoleId")
            .and_then(Json::as_str)
            .ok_or(RecordError::AssignmentWithoutRole(i))?
            .to_ascii_lowercase();
        let Some(app) = app else {
            return Err(RecordError::RoleWithoutServicePrincipal { index: i, role_id });
        };
        let resource = item.get("resourceId").and_then(Json::as_str);
        if resource.is_some_and(|r| !r.eq_ignore_ascii_case(&app.id)) {
            continue; // an assignment to another app
        }
        if role_id == DEFAULT_ACCESS {
            continue;
        }
        let Some(value) = app.roles.get(&role_id) else {
            return Err(RecordError::UnknownRole { index: i, role_id });
        };
        values.push(Value::from(value.as_str()));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(j: Json) -> serde_json::Map<String, Json> {
        match j {
            Json::Object(o) => o,
            _ => unreachable!(),
        }
    }

    #[test]
    fn graph_user_reads_extensions_groups_and_roles() {
        let sp = ServicePrincipal::from_json(&json!({"id": "sp1", "appRoles": [
            {"id": "A1B2C3D4-0000-0000-0000-000000000001", "value": "admin"},
            {"id": "a1b2c3d4-0000-0000-0000-000000000002", "value": "viewer"}]}))
        .unwrap();
        let mut context = Context {
            service_principal: Some(sp),
            ..Context::default()
        };
        let user = object(json!({
            "id": "u1", "userPrincipalName": "zoe@x.onmicrosoft.com", "accountEnabled": false,
            "onPremisesExtensionAttributes": {"extensionAttribute1": "E-17", "extensionAttribute2": null},
            "memberOf": [{"@odata.type": "#microsoft.graph.group", "id": "g1", "displayName": "Eng"},
                         {"@odata.type": "#microsoft.graph.directoryRole", "id": "r1", "displayName": "Global Reader"}],
            "appRoleAssignments": [
                {"appRoleId": "a1b2c3d4-0000-0000-0000-000000000001", "resourceId": "sp1"},
                {"appRoleId": "ffffffff-0000-0000-0000-000000000001", "resourceId": "other-app"},
                {"appRoleId": DEFAULT_ACCESS, "resourceId": "sp1"}]}));
        let r = record(user, &mut context).unwrap();
        assert_eq!(r.id, "u1");
        assert!(!r.active);
        assert_eq!(r.get("extensionAttribute1"), &Value::from("E-17"));
        assert_eq!(
            r.get("onPremisesExtensionAttributes.extensionAttribute1"),
            &Value::from("E-17")
        );
        assert_eq!(r.get("extensionAttribute2"), &Value::Null);
        assert_eq!(r.groups, ["Eng"]);
        assert_eq!(context.group_ids.get("Eng").map(String::as_str), Some("g1"));
        assert_eq!(
            r.get("appRoleAssignments"),
            &Value::List(vec![Value::from("admin")])
        );
    }

    #[test]
    fn role_ids_without_a_service_principal_are_an_error() {
        let user = object(json!({"id": "u1", "appRoleAssignments": [{"appRoleId": "x"}]}));
        let err = record(user, &mut Context::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("set `service_principal_path`"), "{err}");
    }
}
