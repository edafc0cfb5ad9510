//! The TOML configuration file. Relative paths in it are relative to the file itself, so a
//! config works the same from any working directory (and under systemd).
//!
//! ```toml
//! mapping = "base44.map"
//!
//! [source]
//! kind = "json"
//! path = "users.json"
//!
//! [target]
//! url = "https://app.example.com/scim/v2"
//! token_env = "SCIM_TOKEN"
//!
//! [state]
//! path = "state"
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::secret::SecretSource;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The `.map` file.
    pub mapping: PathBuf,
    pub source: SourceConfig,
    pub target: TargetConfig,
    pub state: StateConfig,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SourceConfig {
    Json(JsonSourceConfig),
    /// An LDAP directory (OpenLDAP, 389, Active Directory); see `source::ldap::settings`.
    Ldap(Box<crate::source::ldap::settings::LdapConfig>),
}

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
    fn resolve_paths(&mut self, base: &Path) {
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

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// The SCIM base URL, e.g. `https://app.example.com/scim/v2`.
    pub url: String,
    /// Name of the environment variable that holds the bearer token.
    pub token_env: Option<String>,
    /// A file that holds the bearer token.
    pub token_file: Option<PathBuf>,
    /// A systemd credential (`LoadCredential=NAME:...`) that holds the bearer token.
    pub token_credential: Option<String>,
    /// Users asked for per list request; servers may return fewer.
    #[serde(default = "default_page_size")]
    pub page_size: usize,
    /// Requests in flight at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Seconds before a request is abandoned.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn default_page_size() -> usize {
    200
}

fn default_concurrency() -> usize {
    4
}

fn default_timeout() -> u64 {
    60
}

impl TargetConfig {
    /// Where the token comes from; exactly one source must be configured.
    pub fn token_source(&self) -> Result<SecretSource, String> {
        let sources: Vec<SecretSource> = [
            self.token_env.clone().map(SecretSource::Env),
            self.token_file.clone().map(SecretSource::File),
            self.token_credential.clone().map(SecretSource::Credential),
        ]
        .into_iter()
        .flatten()
        .collect();
        match sources.len() {
            1 => Ok(sources
                .into_iter()
                .next()
                .unwrap_or(SecretSource::Env(String::new()))),
            0 => {
                Err("[target] needs one of `token_env`, `token_file` or `token_credential`".into())
            }
            _ => Err(
                "[target] takes only one of `token_env`, `token_file` and `token_credential`"
                    .into(),
            ),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateConfig {
    /// A directory (the state goes in `state.json` inside it) or a `.json` file.
    pub path: PathBuf,
}

impl StateConfig {
    /// The state file this config names.
    pub fn file(&self) -> PathBuf {
        let is_dir = self.path.is_dir() || self.path.extension().is_none();
        if is_dir {
            self.path.join("state.json")
        } else {
            self.path.clone()
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("config {path}: {message}")]
    Parse { path: String, message: String },
    #[error("config {path}: {message}")]
    Invalid { path: String, message: String },
}

impl Config {
    /// Reads and validates a config file; relative paths become relative to its directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: shown.clone(),
            reason: e.kind().to_string(),
        })?;
        let mut config: Config = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: shown.clone(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.mapping = base.join(&config.mapping);
        match &mut config.source {
            SourceConfig::Json(json) => json.resolve_paths(base),
            SourceConfig::Ldap(ldap) => ldap.resolve_paths(base),
        }
        if let Some(file) = &mut config.target.token_file {
            *file = base.join(&*file);
        }
        config.state.path = base.join(&config.state.path);
        config.validate().map_err(|message| ConfigError::Invalid {
            path: shown,
            message,
        })?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        if let SourceConfig::Ldap(ldap) = &self.source {
            ldap.validate()?;
        }
        let url = url::Url::parse(&self.target.url)
            .map_err(|e| format!("[target] url `{}` is not a URL: {e}", self.target.url))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "[target] url `{}` must start with https:// (or http://)",
                self.target.url
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("[target] url must not carry credentials; use token_env, token_file or token_credential".into());
        }
        self.target.token_source()?;
        if self.target.page_size == 0
            || self.target.concurrency == 0
            || self.target.timeout_seconds == 0
        {
            return Err(
                "[target] page_size, concurrency and timeout_seconds must be at least 1".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("scimsync.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    const GOOD: &str = r#"
mapping = "m.map"
[source]
kind = "json"
path = "users.json"
[target]
url = "http://127.0.0.1:8080/v2"
token_env = "TOKEN"
[state]
path = "state"
"#;

    #[test]
    fn paths_are_relative_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::load(&write(dir.path(), GOOD)).unwrap();
        assert_eq!(config.mapping, dir.path().join("m.map"));
        let SourceConfig::Json(json) = &config.source else {
            panic!("a json source")
        };
        assert_eq!(json.path, dir.path().join("users.json"));
        assert_eq!(config.state.file(), dir.path().join("state/state.json"));
        assert_eq!(
            config.target.token_source().unwrap(),
            SecretSource::Env("TOKEN".into())
        );
    }

    #[test]
    fn missing_and_unknown_keys_name_the_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let err =
            Config::load(&write(dir.path(), &GOOD.replace("mapping = \"m.map\"", ""))).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("scimsync.toml") && text.contains("missing field `mapping`"),
            "{text}"
        );
        let err =
            Config::load(&write(dir.path(), &GOOD.replace("token_env", "token_enx"))).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `token_enx`"),
            "{err}"
        );
    }

    #[test]
    fn token_must_come_from_somewhere() {
        let dir = tempfile::tempdir().unwrap();
        let err = Config::load(&write(
            dir.path(),
            &GOOD.replace("token_env = \"TOKEN\"", ""),
        ))
        .unwrap_err();
        assert!(
            err.to_string().contains("needs one of `token_env`"),
            "{err}"
        );
    }
}
