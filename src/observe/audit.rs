//! The audit log: one JSON object per line for every write scimsync sends to a target, with
//! the run it belongs to. It names the attributes written, never their values, so no secret
//! or sensitive attribute value can end up in it. Its lines are the engine's [`WriteEvent`]s
//! (the one reporting point of a run), so every line, successful or not, carries the HTTP
//! status of the target's answer.
//!
//! ```json
//! {"time":"2026-11-26T10:00:01.204Z","run_id":"20261126T100000Z-4711","target":"base44",
//!  "operation":"update","resource_type":"User","id":"2819c223","userName":"ada@example.com",
//!  "attributes":["name.familyName"],"result":"failure","status":409,"scim_type":"uniqueness",
//!  "detail":"userName is already taken","latency_ms":41}
//! ```
//!
//! `result` is `success`, `adopted` (a create found the user already there and took it over)
//! or `failure`; group writes name the group in `displayName` instead of `userName`.
//!
//! The file is opened for appending (created with mode 0600) and every line is written with
//! one `write` call and flushed, so lines of concurrent writes never interleave and a crash
//! loses at most the line being written.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;

use crate::sync::event::{WriteEvent, WriteObserver, WriteResult};
use scimsync_scim::client::ResourceType;

#[derive(Debug, thiserror::Error)]
#[error("cannot open the audit log {path}: {reason}")]
pub struct AuditError {
    pub path: String,
    pub reason: String,
}

/// An open audit log for one run.
pub struct AuditLog {
    path: PathBuf,
    run_id: String,
    file: Mutex<File>,
}

/// One line of the audit log.
#[derive(Debug, Serialize)]
struct Line<'a> {
    time: String,
    run_id: &'a str,
    /// The target's name (the `[[target]]` it was written to).
    target: &'a str,
    operation: &'static str,
    resource_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(rename = "userName", skip_serializing_if = "Option::is_none")]
    user_name: Option<&'a str>,
    #[serde(rename = "displayName", skip_serializing_if = "Option::is_none")]
    display_name: Option<&'a str>,
    attributes: &'a [String],
    result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scim_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    latency_ms: u64,
}

impl AuditLog {
    /// Opens (or creates) the audit log at `path` for the run `run_id`.
    pub fn open(path: &Path, run_id: &str) -> Result<AuditLog, AuditError> {
        let fail = |e: std::io::Error| AuditError {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let file = scimsync_secure::private_file::append(path).map_err(fail)?;
        Ok(AuditLog {
            path: path.to_owned(),
            run_id: run_id.to_owned(),
            file: Mutex::new(file),
        })
    }

    fn line(&self, event: &WriteEvent) -> String {
        let (result, scim_type, detail) = match &event.result {
            WriteResult::Failed(failure) => (
                "failure",
                failure.scim_type.as_deref(),
                // The target's detail, or what went wrong on the way (never the token).
                Some(failure.detail.as_deref().unwrap_or(&failure.error)),
            ),
            WriteResult::Adopted => ("adopted", None, None),
            // The audit log is opened for real runs only; a planned write is not one.
            WriteResult::Applied | WriteResult::Planned => ("success", None, None),
        };
        let name = event.name.as_str();
        let (user_name, display_name) = match event.resource_type {
            ResourceType::User => (Some(name), None),
            ResourceType::Group => (None, Some(name)),
        };
        let line = Line {
            time: event
                .time
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            run_id: &self.run_id,
            target: &event.target,
            operation: event.operation.name(),
            resource_type: event.resource_type.name(),
            id: event.id.as_deref(),
            user_name,
            display_name,
            attributes: &event.attributes,
            result,
            status: event.status,
            scim_type,
            detail,
            latency_ms: u64::try_from(event.latency.as_millis()).unwrap_or(u64::MAX),
        };
        let mut text = serde_json::to_string(&line).unwrap_or_default();
        text.push('\n');
        text
    }
}

impl WriteObserver for AuditLog {
    fn record(&self, event: &WriteEvent) {
        let line = self.line(event);
        let mut file = match self.file.lock() {
            Ok(file) => file,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Err(error) = file.write_all(line.as_bytes()).and_then(|()| file.flush()) {
            tracing::error!(path = %self.path.display(), %error, "cannot write the audit log");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeZone as _;
    use serde_json::{Value as Json, json};

    use super::*;
    use crate::sync::event::{Operation, WriteFailure};

    fn event(status: u16, result: WriteResult) -> WriteEvent {
        WriteEvent {
            time: Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 1).unwrap(),
            run_id: "ignored: the log's own run id is written".into(),
            target: "app".into(),
            operation: Operation::Update,
            resource_type: ResourceType::User,
            id: Some("abc".into()),
            name: "ada@example.com".into(),
            attributes: vec!["name.familyName".into(), "title".into()],
            status: Some(status),
            result,
            latency: Duration::from_millis(12),
        }
    }

    fn conflict() -> WriteResult {
        WriteResult::Failed(WriteFailure {
            error: "HTTP 409".into(),
            scim_type: Some("uniqueness".into()),
            detail: Some("taken".into()),
            permanent: true,
            outcome_unknown: false,
        })
    }

    use chrono::Utc;

    #[test]
    fn one_line_per_write_with_names_not_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/audit.jsonl");
        let log = AuditLog::open(&path, "run-1").unwrap();
        log.record(&event(200, WriteResult::Applied));
        log.record(&event(409, conflict()));
        let mut group = event(201, WriteResult::Adopted);
        group.operation = Operation::GroupCreate;
        group.resource_type = ResourceType::Group;
        group.name = "Engineering".into();
        group.attributes = vec!["displayName".into()];
        log.record(&group);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<Json> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines,
            vec![
                json!({"time": "2026-11-26T10:00:01.000Z", "run_id": "run-1", "target": "app", "operation": "update",
                       "resource_type": "User", "id": "abc", "userName": "ada@example.com",
                       "attributes": ["name.familyName", "title"], "result": "success", "status": 200,
                       "latency_ms": 12}),
                json!({"time": "2026-11-26T10:00:01.000Z", "run_id": "run-1", "target": "app", "operation": "update",
                       "resource_type": "User", "id": "abc", "userName": "ada@example.com",
                       "attributes": ["name.familyName", "title"], "result": "failure", "status": 409,
                       "scim_type": "uniqueness", "detail": "taken", "latency_ms": 12}),
                json!({"time": "2026-11-26T10:00:01.000Z", "run_id": "run-1", "target": "app",
                       "operation": "group_create", "resource_type": "Group", "id": "abc",
                       "displayName": "Engineering", "attributes": ["displayName"],
                       "result": "adopted", "status": 201, "latency_ms": 12}),
            ]
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A second run appends.
        AuditLog::open(&path, "run-2")
            .unwrap()
            .record(&event(200, WriteResult::Applied));
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 4);
    }
}
