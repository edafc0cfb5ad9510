//! The audit log: one JSON object per line for every write scimsync sends to a target, with
//! the run it belongs to. It names the attributes written, never their values, so no secret
//! or sensitive attribute value can end up in it.
//!
//! ```json
//! {"time":"2026-11-26T10:00:01.204Z","run_id":"20261126T100000Z-4711-1","operation":"update",
//!  "resource_type":"User","id":"2819c223","userName":"ada@example.com",
//!  "attributes":["name.familyName"],"result":"failure","status":409,"scim_type":"uniqueness",
//!  "detail":"userName is already taken"}
//! ```
//!
//! The file is opened for appending (created with mode 0600) and every line is written with
//! one `write` call and flushed, so lines of concurrent writes never interleave and a crash
//! loses at most the line being written.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;

use super::{Observer, WriteEvent, WriteOutcome};

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
    operation: &'static str,
    resource_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(rename = "userName")]
    user_name: &'a str,
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
        let mut options = OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let file = options.open(path).map_err(fail)?;
        Ok(AuditLog {
            path: path.to_owned(),
            run_id: run_id.to_owned(),
            file: Mutex::new(file),
        })
    }

    fn line(&self, event: &WriteEvent) -> String {
        let (result, status, scim_type, detail) = match &event.outcome {
            WriteOutcome::Succeeded => ("success", None, None, None),
            WriteOutcome::Failed {
                status,
                scim_type,
                detail,
            } => (
                "failure",
                *status,
                scim_type.as_deref(),
                Some(detail.as_str()),
            ),
        };
        let line = Line {
            time: event
                .time
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            run_id: &self.run_id,
            operation: event.operation.verb(),
            resource_type: event.resource_type,
            id: event.id.as_deref(),
            user_name: &event.user_name,
            attributes: &event.attributes,
            result,
            status,
            scim_type,
            detail,
            latency_ms: u64::try_from(event.latency.as_millis()).unwrap_or(u64::MAX),
        };
        let mut text = serde_json::to_string(&line).unwrap_or_default();
        text.push('\n');
        text
    }
}

impl Observer for AuditLog {
    fn write(&self, event: &WriteEvent) {
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
    use crate::sync::diff::Action;

    fn event(outcome: WriteOutcome) -> WriteEvent {
        WriteEvent {
            time: Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 1).unwrap(),
            operation: Action::Update,
            resource_type: "User",
            id: Some("abc".into()),
            user_name: "ada@example.com".into(),
            attributes: vec!["name.familyName".into(), "title".into()],
            outcome,
            latency: Duration::from_millis(12),
        }
    }

    use chrono::Utc;

    #[test]
    fn one_line_per_write_with_names_not_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/audit.jsonl");
        let log = AuditLog::open(&path, "run-1").unwrap();
        log.write(&event(WriteOutcome::Succeeded));
        log.write(&event(WriteOutcome::Failed {
            status: Some(409),
            scim_type: Some("uniqueness".into()),
            detail: "taken".into(),
        }));
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<Json> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines,
            vec![
                json!({"time": "2026-11-26T10:00:01.000Z", "run_id": "run-1", "operation": "update",
                       "resource_type": "User", "id": "abc", "userName": "ada@example.com",
                       "attributes": ["name.familyName", "title"], "result": "success", "latency_ms": 12}),
                json!({"time": "2026-11-26T10:00:01.000Z", "run_id": "run-1", "operation": "update",
                       "resource_type": "User", "id": "abc", "userName": "ada@example.com",
                       "attributes": ["name.familyName", "title"], "result": "failure", "status": 409,
                       "scim_type": "uniqueness", "detail": "taken", "latency_ms": 12}),
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
            .write(&event(WriteOutcome::Succeeded));
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 3);
    }
}
