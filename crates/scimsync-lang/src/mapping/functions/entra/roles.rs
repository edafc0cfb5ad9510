//! Entra's app-role functions over `[appRoleAssignments]`, the user's roles in the app (a
//! multi-valued attribute of role values, e.g. `["Admin", "User"]`).

use super::super::Args;
use super::args::text_arg;
use crate::mapping::eval::EvalError;
use crate::value::Value;

/// The `type` Entra gives app roles.
const ROLE_TYPE: &str = "WindowsAzureActiveDirectoryRole";

/// The role values of `[appRoleAssignments]`, in order, without empty ones.
fn role_values(assignments: &Value) -> impl Iterator<Item = &Value> {
    let items = match assignments {
        Value::List(items) => items.as_slice(),
        one => std::slice::from_ref(one),
    };
    items.iter().filter(|v| !v.is_null_or_empty())
}

/// `SingleAppRoleAssignment([appRoleAssignments], preferred...)`: one role, for `roles[primary
/// eq "True"].value`. Entra picks one when there are several and does not say which; scimsync
/// takes the first of `preferred` the user holds (scimsync's extension: "admin" over
/// "editor"), else the user's first role, so the result is at least stable. No role gives
/// null (nothing flows).
pub fn single_role(assignments: &Value, preferred: &[String]) -> Value {
    preferred
        .iter()
        .find_map(|wanted| role_values(assignments).find(|role| role.as_str() == Some(wanted)))
        .or_else(|| role_values(assignments).next())
        .cloned()
        .unwrap_or_default()
}

/// `AppRoleAssignmentsComplex([appRoleAssignments])`: every role as a complex `roles` value,
/// exactly as Entra sends them: `{primary: false, type: "WindowsAzureActiveDirectoryRole",
/// displayName, value}` (`displayName` is not an RFC 7643 member of `roles`; strict servers
/// reject it). No role gives null.
pub fn all_roles(assignments: &Value) -> Value {
    complex_roles(assignments, "displayName")
}

/// `AssertiveAppRoleAssignmentsComplex([appRoleAssignments])`: the same roles with RFC 7643's
/// `display` member. Entra replaces the target's roles with exactly these; scimsync's diff
/// always compares and replaces the whole list, for both functions.
pub fn all_roles_assertive(assignments: &Value) -> Value {
    complex_roles(assignments, "display")
}

fn complex_roles(assignments: &Value, display_member: &str) -> Value {
    let roles: Vec<Value> = role_values(assignments).cloned().collect();
    if roles.is_empty() {
        return Value::Null;
    }
    Value::List(
        roles
            .into_iter()
            .map(|role| {
                Value::Object(vec![
                    ("primary".into(), Value::Bool(false)),
                    ("type".into(), Value::from(ROLE_TYPE)),
                    (display_member.into(), role.clone()),
                    ("value".into(), role),
                ])
            })
            .collect(),
    )
}

pub(super) fn app_role_assignments_complex(a: &mut Args<'_>) -> Result<Value, EvalError> {
    Ok(all_roles(&*a.value_ref(0)?))
}

pub(super) fn assertive_app_role_assignments_complex(a: &mut Args<'_>) -> Result<Value, EvalError> {
    Ok(all_roles_assertive(&*a.value_ref(0)?))
}

/// scimsync's optional preference list decides between several roles, which Entra leaves
/// unspecified.
pub(super) fn single_app_role_assignment(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let assignments = a.value_ref(0)?;
    let mut preferred = Vec::with_capacity(a.len().saturating_sub(1));
    for i in 1..a.len() {
        if let Some(role) = text_arg(a, i)? {
            preferred.push(role);
        }
    }
    Ok(single_role(&assignments, &preferred))
}
