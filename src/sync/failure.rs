//! How a failed write is told: one line in one style for every operation, naming the
//! operation, the resource, the attributes the write carried, what the target answered and
//! what that status means, and the remedy where there is one. Targets often answer with an
//! empty SCIM `detail` (a 501 to a PATCH form they do not implement), so the status alone has
//! to say enough.

use super::event::Operation;
use super::settings::UpdateMode;
use scimsync_scim::client::ClientError;

/// The operation as the failure line names it: `update user`, `remove members from group`.
pub fn operation_phrase(operation: Operation) -> &'static str {
    match operation {
        Operation::Create => "create user",
        Operation::Update => "update user",
        Operation::Reactivate => "reactivate user",
        Operation::Deactivate => "deactivate user",
        Operation::Delete => "delete user",
        Operation::GroupCreate => "create group",
        Operation::GroupUpdate => "update group",
        Operation::GroupAddMembers => "add members to group",
        Operation::GroupRemoveMembers => "remove members from group",
        Operation::GroupDelete => "delete group",
    }
}

/// What an HTTP status means for a write, in the admin's terms.
pub fn meaning(status: u16) -> &'static str {
    match status {
        400 => "the target refused the request as invalid",
        401 => "the target did not accept the credentials",
        403 => "the target does not allow this write",
        404 => "the resource is not on the target",
        409 => "the target holds a conflicting resource",
        412 => "the resource changed on the target meanwhile",
        413 => "the request is too large for the target",
        429 => "the target kept rate limiting until the retries ran out",
        501 => "the target does not implement this request",
        502..=504 => "the target (or a gateway in front of it) is unavailable",
        402 | 405..=499 => "the target refused the request",
        _ => "the target failed to process the request",
    }
}

/// What the admin can do about a failure, when scimsync knows.
pub fn remedy(
    operation: Operation,
    error: &ClientError,
    attributes: &[String],
    update_mode: UpdateMode,
) -> Option<String> {
    let status = error.status()?;
    let filtered: Vec<&str> = attributes
        .iter()
        .filter(|a| a.contains('['))
        .map(String::as_str)
        .collect();
    let unimplemented = matches!(status, 400 | 501);
    match operation {
        Operation::Update | Operation::Reactivate | Operation::Deactivate
            if unimplemented && !filtered.is_empty() && update_mode == UpdateMode::Patch =>
        {
            Some(format!(
                "The target may not implement PATCH on filtered paths ({}): set update_mode = \"put\" in [target], or drop the attribute from the mapping",
                filtered.join(", ")
            ))
        }
        Operation::GroupRemoveMembers if unimplemented => Some(
            "The target may not implement removing members by filter (`members[value eq \"…\"]`); remove them in the app, or stop managing the group".into(),
        ),
        Operation::GroupUpdate if unimplemented => Some(
            "The target may not implement renaming a group over PATCH; rename it in the app".into(),
        ),
        _ if status == 401 => {
            Some("Check the token (token_file, or the OAuth client) in [target]".into())
        }
        _ => None,
    }
}

/// One failure line (without the leading `! `): `update user a@x (title): PATCH … failed with
/// HTTP 501; the target does not implement this request. <remedy>`.
pub fn line(
    operation: Operation,
    name: &str,
    attributes: &[String],
    error: &str,
    status: Option<u16>,
    hint: Option<&str>,
) -> String {
    let carried = if attributes.is_empty() {
        String::new()
    } else {
        format!(" ({})", attributes.join(", "))
    };
    let meaning = status.map_or_else(String::new, |s| format!("; {}", meaning(s)));
    let hint = hint.map_or_else(String::new, |h| format!(". {h}"));
    format!(
        "{} {name}{carried} failed: {error}{meaning}{hint}",
        operation_phrase(operation)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn not_implemented() -> ClientError {
        ClientError::Status {
            method: reqwest::Method::PATCH,
            url: "http://t/v2/Users/u1".into(),
            status: 501,
            scim_type: None,
            detail: None,
        }
    }

    #[test]
    fn a_501_on_a_filtered_path_names_the_path_and_the_remedy() {
        let error = not_implemented();
        let attributes = vec!["emails[type eq \"work\"].value".to_owned(), "title".into()];
        let hint = remedy(Operation::Update, &error, &attributes, UpdateMode::Patch);
        assert_eq!(
            line(
                Operation::Update,
                "ada@x",
                &attributes,
                &error.to_string(),
                error.status(),
                hint.as_deref()
            ),
            "update user ada@x (emails[type eq \"work\"].value, title) failed: PATCH http://t/v2/Users/u1 failed with HTTP 501; the target does not implement this request. The target may not implement PATCH on filtered paths (emails[type eq \"work\"].value): set update_mode = \"put\" in [target], or drop the attribute from the mapping"
        );
        assert_eq!(
            remedy(Operation::Update, &error, &attributes, UpdateMode::Put),
            None,
            "PUT sends no filtered path"
        );
    }
}
