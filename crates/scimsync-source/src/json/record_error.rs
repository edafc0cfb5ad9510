//! What can be wrong with one exported record (a user or a group) or the service principal
//! beside it: the shape the export format promises is not there. The reader adds the file,
//! the record's index and its line when it reports one.

use serde_json::Value as Json;

/// One record that does not have the shape its export format promises.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RecordError {
    #[error("expected an object, found {0}")]
    NotAnObject(&'static str),
    #[error("expected a group object, found {0}")]
    NotAGroupObject(&'static str),
    /// A required key is absent; `what` names it and says what it holds.
    #[error("missing {what}")]
    Missing { what: &'static str },
    #[error("missing `{id_field}` (the user's identity)")]
    MissingIdentity { id_field: String },
    #[error("`{key}` must be {expected}, found {found}")]
    WrongType {
        key: &'static str,
        expected: &'static str,
        found: &'static str,
    },
    #[error("the app user's `profile` must be an object")]
    AppUserProfileNotAnObject,
    #[error("`{key}` must be true or false, found {found}")]
    NotAFlag { key: String, found: Json },
    #[error("`status` \"{status}\" is not an Okta user status (one of {allowed})")]
    UnknownStatus { status: String, allowed: String },
    #[error("member {0} has no `id`")]
    MemberWithoutId(usize),
    #[error("member {index} must be a user id or a user object, found {found}")]
    NotAMember { index: usize, found: &'static str },
    #[error("memberOf[{0}] has no `displayName` (expand memberOf with $select=displayName,id)")]
    GroupWithoutName(usize),
    #[error("appRoleAssignments[{0}] has no `appRoleId`")]
    AssignmentWithoutRole(usize),
    #[error(
        "appRoleAssignments[{index}] names role {role_id} but not its value; set `service_principal_path` to the app's service principal (GET /servicePrincipals/{{id}}) so role ids can be read as values"
    )]
    RoleWithoutServicePrincipal { index: usize, role_id: String },
    #[error(
        "appRoleAssignments[{index}]: role {role_id} is not one of the service principal's appRoles"
    )]
    UnknownRole { index: usize, role_id: String },
    #[error("duplicate id `{id}` (also record {first})")]
    DuplicateId { id: String, first: usize },
}

/// A service principal file that is not one service principal with its roles.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ServicePrincipalError {
    #[error("expected one service principal, found a list of several")]
    Several,
    #[error("the service principal has no `id`")]
    NoId,
    #[error("the service principal has no `appRoles` array")]
    NoRoles,
}
