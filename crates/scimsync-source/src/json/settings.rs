//! A JSON export's settings: the `[source]` table with `kind = "json"`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// What shape a JSON export has.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum JsonFormat {
    /// Decide from the first record.
    #[default]
    Auto,
    /// Okta's List Users API: `{id, status, profile: {...}}`.
    Okta,
    /// Microsoft Graph users: `{"value": [...]}` or a bare array of `{id, userPrincipalName,
    /// accountEnabled, ...}`.
    Graph,
    /// Flat objects, one per user.
    Plain,
}

/// How records are laid out in an export file.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum JsonFraming {
    /// `.jsonl` / `.ndjson` files are JSON Lines, anything else one JSON document.
    #[default]
    Auto,
    /// One JSON document: an array of users, or Graph's `{"value": [...]}`.
    Document,
    /// JSON Lines: one user object per line.
    Lines,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonSourceConfig {
    pub path: PathBuf,
    #[serde(default)]
    pub format: JsonFormat,
    /// For plain exports: the field that identifies a user for good (default `id`).
    #[serde(default = "default_id_field")]
    pub id_field: String,
    #[serde(default)]
    pub framing: JsonFraming,
    /// Okta: a groups export (`[{id, profile: {name}, members: [user ids or users]}]`)
    /// that says who is in which group.
    pub groups_path: Option<PathBuf>,
    /// Graph: the app's service principal (`{id, appRoles: [{id, value}]}`, as
    /// `GET /servicePrincipals/{id}` returns it), to turn `appRoleAssignments` into role
    /// values; only assignments to this service principal count.
    pub service_principal_path: Option<PathBuf>,
}

impl JsonSourceConfig {
    /// Makes the configured paths absolute against `base`, the config file's folder.
    pub fn resolve_paths(&mut self, base: &Path) {
        self.path = base.join(&self.path);
        for path in [&mut self.groups_path, &mut self.service_principal_path]
            .into_iter()
            .flatten()
        {
            *path = base.join(&*path);
        }
    }

    /// Whether the file is JSON Lines.
    pub fn is_lines(&self) -> bool {
        match self.framing {
            JsonFraming::Lines => true,
            JsonFraming::Document => false,
            JsonFraming::Auto => self
                .path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| {
                    e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("ndjson")
                }),
        }
    }
}

fn default_id_field() -> String {
    "id".into()
}
