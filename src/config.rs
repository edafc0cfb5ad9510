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

use scimsync_lang::scim::patch::OpCase;
use scimsync_secure::secret::SecretSource;
use scimsync_source::SourceConfig;

use crate::sync::settings::{SyncConfig, UpdateMode};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The `.map` file.
    pub mapping: PathBuf,
    pub source: SourceConfig,
    pub target: TargetConfig,
    pub state: StateConfig,
    /// What a sync may do and when it must stop (`[sync]`, optional).
    #[serde(default)]
    pub sync: SyncConfig,
    /// When `scimsync daemon` runs (required by the daemon, ignored by `sync`).
    #[serde(default)]
    pub schedule: Option<ScheduleConfig>,
    /// The audit log: one JSON line per write to the target.
    #[serde(default)]
    pub audit: Option<AuditConfig>,
    /// The daemon's health and metrics listener; off when absent.
    #[serde(default)]
    pub http: Option<HttpConfig>,
}

/// `[schedule]`: cron expressions (6 fields with seconds, or 7 with years; several are
/// combined), evaluated in UTC.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    pub cron: CronExpressions,
    /// Run once as soon as the daemon starts, before the first tick.
    #[serde(default)]
    pub run_at_start: bool,
    /// Delay each tick by a random 0..jitter_seconds, so many instances do not hit one target
    /// at the same second.
    #[serde(default)]
    pub jitter_seconds: u64,
    /// On SIGTERM/SIGINT, how long an in-flight run may take to finish its in-flight writes
    /// and save the state before the daemon gives up on it.
    #[serde(default = "default_shutdown_timeout")]
    pub shutdown_timeout_seconds: u64,
    /// Consecutive failed runs after which failures are logged as errors and `/healthz`
    /// reports unhealthy.
    #[serde(default = "default_failure_threshold")]
    pub failure_threshold: u32,
}

/// One cron expression or a list of them (the schedule is their union).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum CronExpressions {
    One(String),
    Many(Vec<String>),
}

impl CronExpressions {
    pub fn as_slice(&self) -> &[String] {
        match self {
            CronExpressions::One(one) => std::slice::from_ref(one),
            CronExpressions::Many(many) => many,
        }
    }
}

fn default_shutdown_timeout() -> u64 {
    30
}

fn default_failure_threshold() -> u32 {
    3
}

/// `[audit]`: where the JSON Lines audit log goes (appended to; created with mode 0600).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    pub path: PathBuf,
}

/// `[http]`: the daemon's `/healthz` and `/metrics` listener.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Address and port to listen on; loopback unless you mean otherwise.
    #[serde(default = "default_listen")]
    pub listen: std::net::SocketAddr,
    /// `/healthz` is unhealthy when the last successful run is older than this.
    #[serde(default = "default_max_success_age")]
    pub max_success_age_seconds: u64,
    /// `/healthz` also shows the last run's summary, which quotes what went wrong (server
    /// text included). Off: the listener answers anyone who can reach it.
    #[serde(default)]
    pub expose_details: bool,
}

fn default_listen() -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], 9464))
}

fn default_max_success_age() -> u64 {
    86_400
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
    /// How requests authenticate; the secret comes from `token_env` / `token_file` /
    /// `token_credential` in every mode.
    #[serde(default)]
    pub auth: AuthMode,
    /// HTTP Basic: the user name (the password is the secret).
    pub username: Option<String>,
    /// OAuth 2.0 client credentials: the token endpoint.
    pub token_url: Option<String>,
    /// OAuth 2.0 client credentials: the client id (the client secret is the secret).
    pub client_id: Option<String>,
    /// OAuth 2.0 client credentials: the scope to ask for, if the server wants one.
    pub scope: Option<String>,
    /// How users are updated: `patch` (leaf paths) or `put` (the full resource after a GET).
    #[serde(default)]
    pub update_mode: UpdateMode,
    /// Casing of PATCH `op` values: `lower` (`replace`, RFC 7644) or `capitalized`
    /// (`Replace`, as Entra sends them).
    #[serde(default)]
    pub patch_op_case: OpCase,
    /// Requests per second at most (all requests, reads included); none: unlimited.
    pub requests_per_second: Option<f64>,
    /// How often a request that failed for a passing reason (429, 5xx, reset, timeout) is
    /// tried again before it counts as failed.
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    /// Longest wait between two tries, in seconds (a server's `Retry-After` above it is obeyed
    /// up to this bound).
    #[serde(default = "default_max_backoff")]
    pub max_backoff_seconds: u64,
    /// PEM CA certificate(s) that verify the target (and its token endpoint) instead of the
    /// system's roots: for a target behind a private CA.
    pub ca_file: Option<PathBuf>,
}

fn default_max_retries() -> u32 {
    5
}

fn default_max_backoff() -> u64 {
    60
}

/// How requests authenticate.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// `Authorization: Bearer <secret>`.
    #[default]
    Bearer,
    /// `Authorization: <secret>`, sent exactly as given.
    Header,
    /// `Authorization: Basic base64(username:secret)`.
    Basic,
    /// OAuth 2.0 client credentials: `client_id` + secret at `token_url`, then Bearer.
    OAuth2,
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
    pub fn token_source(&self) -> Result<SecretSource, TokenSourceError> {
        let sources: Vec<SecretSource> = [
            self.token_env.clone().map(SecretSource::Env),
            self.token_file.clone().map(SecretSource::File),
            self.token_credential.clone().map(SecretSource::Credential),
        ]
        .into_iter()
        .flatten()
        .collect();
        let mut sources = sources.into_iter();
        match (sources.next(), sources.next()) {
            (Some(one), None) => Ok(one),
            (None, _) => Err(TokenSourceError::Missing),
            (Some(_), Some(_)) => Err(TokenSourceError::Several),
        }
    }
}

/// `[target]` names no secret, or more than one.
#[derive(Debug, thiserror::Error)]
pub enum TokenSourceError {
    #[error("[target] needs one of `token_env`, `token_file` or `token_credential`")]
    Missing,
    #[error("[target] takes only one of `token_env`, `token_file` and `token_credential`")]
    Several,
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
    #[error("config {path}: {problem}")]
    Invalid { path: String, problem: Invalid },
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
        for file in [&mut config.target.token_file, &mut config.target.ca_file]
            .into_iter()
            .flatten()
        {
            *file = base.join(&*file);
        }
        config.state.path = base.join(&config.state.path);
        if let Some(audit) = &mut config.audit {
            audit.path = base.join(&audit.path);
        }
        config.validate().map_err(|problem| ConfigError::Invalid {
            path: shown,
            problem,
        })?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), Invalid> {
        if let SourceConfig::Ldap(ldap) = &self.source {
            ldap.validate().map_err(Invalid::Source)?;
        }
        let url = url::Url::parse(&self.target.url).map_err(|source| Invalid::TargetUrl {
            url: self.target.url.clone(),
            source,
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Invalid::TargetScheme(self.target.url.clone()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Invalid::TargetCredentials);
        }
        self.target.credentials()?;
        if !(0.0..=100.0).contains(&self.sync.safety.max_deactivation_percent) {
            return Err(Invalid::DeactivationPercent);
        }
        if self.sync.member_chunk == 0 {
            return Err(Invalid::MemberChunk);
        }
        if self
            .target
            .requests_per_second
            .is_some_and(|r| !r.is_finite() || r <= 0.0)
        {
            return Err(Invalid::RequestsPerSecond);
        }
        if self.target.page_size == 0
            || self.target.concurrency == 0
            || self.target.timeout_seconds == 0
        {
            return Err(Invalid::TargetZero);
        }
        self.validate_schedule()?;
        Ok(())
    }

    fn validate_schedule(&self) -> Result<(), Invalid> {
        let Some(schedule) = &self.schedule else {
            return Ok(());
        };
        if schedule.cron.as_slice().is_empty() {
            return Err(Invalid::CronEmpty);
        }
        for expression in schedule.cron.as_slice() {
            expression
                .parse::<cron::Schedule>()
                .map_err(|source| Invalid::Cron {
                    expression: expression.clone(),
                    source,
                })?;
        }
        if schedule.shutdown_timeout_seconds == 0 || schedule.failure_threshold == 0 {
            return Err(Invalid::ScheduleZero);
        }
        Ok(())
    }
}

/// How requests authenticate, with what each mode needs: the one shape of `auth` and its keys
/// that the rest of scimsync reads.
#[derive(Clone, Debug, PartialEq)]
pub enum Credentials {
    /// `Authorization: Bearer <token>`.
    Bearer { token: SecretSource },
    /// `Authorization: <value>`, sent exactly as given.
    Header { value: SecretSource },
    /// `Authorization: Basic base64(username:password)`.
    Basic {
        username: String,
        password: SecretSource,
    },
    /// OAuth 2.0 client credentials at `token_url`, then Bearer.
    OAuth2 {
        token_url: String,
        client_id: String,
        client_secret: SecretSource,
        scope: Option<String>,
    },
}

impl TargetConfig {
    /// The credentials `auth` and its keys describe: the secret's one source, each auth mode's
    /// own keys present, and no other mode's. The config loader calls it to validate; the
    /// client is built from what it returns.
    pub fn credentials(&self) -> Result<Credentials, Invalid> {
        let secret = self.token_source()?;
        let mode = self.auth.name();
        let needs = |key: &'static str, value: &Option<String>| match value {
            Some(v) if !v.trim().is_empty() => Ok(v.clone()),
            _ => Err(Invalid::AuthNeeds { mode, key }),
        };
        let refuses = |key: &'static str, value: &Option<String>| match value {
            Some(_) => Err(Invalid::AuthRefuses { mode, key }),
            None => Ok(()),
        };
        let credentials = match self.auth {
            AuthMode::Bearer | AuthMode::Header => {
                refuses("username", &self.username)?;
                refuses("token_url", &self.token_url)?;
                refuses("client_id", &self.client_id)?;
                if self.auth == AuthMode::Bearer {
                    Credentials::Bearer { token: secret }
                } else {
                    Credentials::Header { value: secret }
                }
            }
            AuthMode::Basic => {
                let username = needs("username", &self.username)?;
                refuses("token_url", &self.token_url)?;
                refuses("client_id", &self.client_id)?;
                Credentials::Basic {
                    username,
                    password: secret,
                }
            }
            AuthMode::OAuth2 => {
                refuses("username", &self.username)?;
                let token_url = needs("token_url", &self.token_url)?;
                let client_id = needs("client_id", &self.client_id)?;
                let parsed = url::Url::parse(&token_url).map_err(|source| Invalid::TokenUrl {
                    url: token_url.clone(),
                    source,
                })?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(Invalid::TokenUrlScheme(token_url));
                }
                Credentials::OAuth2 {
                    token_url,
                    client_id,
                    client_secret: secret,
                    scope: self.scope.clone(),
                }
            }
        };
        if self.auth != AuthMode::OAuth2 {
            refuses("scope", &self.scope)?;
        }
        Ok(credentials)
    }
}

/// What is wrong with a config that parsed: each message names the section and key.
#[derive(Debug, thiserror::Error)]
pub enum Invalid {
    /// The source's own check (its crate renders it).
    #[error(transparent)]
    Source(#[from] scimsync_source::ldap::settings::LdapSettingsError),
    #[error("[target] url `{url}` is not a URL: {source}")]
    TargetUrl {
        url: String,
        source: url::ParseError,
    },
    #[error("[target] url `{0}` must start with https:// (or http://)")]
    TargetScheme(String),
    #[error(
        "[target] url must not carry credentials; use token_env, token_file or token_credential"
    )]
    TargetCredentials,
    #[error(transparent)]
    Token(#[from] TokenSourceError),
    #[error("[target] auth = \"{mode}\" needs `{key}`")]
    AuthNeeds {
        mode: &'static str,
        key: &'static str,
    },
    #[error("[target] `{key}` does not apply to auth = \"{mode}\"")]
    AuthRefuses {
        mode: &'static str,
        key: &'static str,
    },
    #[error("[target] token_url `{url}` is not a URL: {source}")]
    TokenUrl {
        url: String,
        source: url::ParseError,
    },
    #[error("[target] token_url `{0}` must start with https://")]
    TokenUrlScheme(String),
    #[error("[sync.safety] max_deactivation_percent must be between 0 and 100")]
    DeactivationPercent,
    #[error("[sync] member_chunk must be at least 1")]
    MemberChunk,
    #[error("[target] requests_per_second must be a positive number")]
    RequestsPerSecond,
    #[error("[target] page_size, concurrency and timeout_seconds must be at least 1")]
    TargetZero,
    #[error("[schedule] cron needs at least one expression")]
    CronEmpty,
    #[error(
        "[schedule] cron `{expression}` is not a valid expression ({source}); it takes 6 fields: sec min hour day-of-month month day-of-week (and an optional year)"
    )]
    Cron {
        expression: String,
        source: cron::error::Error,
    },
    #[error("[schedule] shutdown_timeout_seconds and failure_threshold must be at least 1")]
    ScheduleZero,
}

impl AuthMode {
    pub fn name(self) -> &'static str {
        match self {
            AuthMode::Bearer => "bearer",
            AuthMode::Header => "header",
            AuthMode::Basic => "basic",
            AuthMode::OAuth2 => "oauth2",
        }
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

    #[test]
    fn each_auth_mode_needs_its_own_keys() {
        let dir = tempfile::tempdir().unwrap();
        let with = |extra: &str| {
            Config::load(&write(
                dir.path(),
                &GOOD.replace(
                    "token_env = \"TOKEN\"",
                    &format!("token_env = \"TOKEN\"\n{extra}"),
                ),
            ))
        };
        let err = |extra: &str| with(extra).unwrap_err().to_string();
        assert!(err("auth = \"basic\"").ends_with("[target] auth = \"basic\" needs `username`"));
        assert!(err("auth = \"oauth2\"\nclient_id = \"c\"").ends_with("needs `token_url`"));
        assert!(
            err("username = \"u\"").ends_with("`username` does not apply to auth = \"bearer\"")
        );
        assert!(err("auth = \"magic\"").contains("unknown variant `magic`"));
        let config = with("auth = \"oauth2\"\ntoken_url = \"https://idp/token\"\nclient_id = \"c\"\nrequests_per_second = 2.5\nupdate_mode = \"put\"\npatch_op_case = \"capitalized\"\n[sync.actions]\ndelete = true\ndelete_after_days = 30\n[sync.safety]\nmax_deactivations = 3").unwrap();
        assert_eq!(config.target.auth, AuthMode::OAuth2);
        assert_eq!(config.target.requests_per_second, Some(2.5));
        assert_eq!(config.target.update_mode, UpdateMode::Put);
        assert_eq!(config.target.patch_op_case, OpCase::Capitalized);
        assert!(config.sync.actions.delete && config.sync.actions.create);
        assert_eq!(config.sync.actions.delete_after_days, Some(30));
        assert_eq!(config.sync.safety.max_deactivations, 3);
        assert_eq!(config.sync.safety.max_deactivation_percent, 20.0);
        assert!(err("[sync.safety]\nmax_deactivation_percent = 120").contains("between 0 and 100"));
    }

    #[test]
    fn schedule_audit_and_http_sections() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "{GOOD}[schedule]\ncron = [\"0 0,40 */2 * * *\", \"0 20 1/2 * * *\"]\nrun_at_start = true\n[audit]\npath = \"audit.jsonl\"\n[http]\n"
        );
        let config = Config::load(&write(dir.path(), &text)).unwrap();
        let schedule = config.schedule.unwrap();
        assert_eq!(schedule.cron.as_slice().len(), 2);
        assert!(schedule.run_at_start);
        assert_eq!(schedule.shutdown_timeout_seconds, 30);
        assert_eq!(config.audit.unwrap().path, dir.path().join("audit.jsonl"));
        let http = config.http.unwrap();
        assert_eq!(http.listen.to_string(), "127.0.0.1:9464");
        assert_eq!(http.max_success_age_seconds, 86_400);
        assert!(!http.expose_details);
    }

    #[test]
    fn a_bad_cron_expression_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("{GOOD}[schedule]\ncron = \"*/40 * * * *\"\n");
        let err = Config::load(&write(dir.path(), &text)).unwrap_err();
        assert!(
            err.to_string()
                .contains("cron `*/40 * * * *` is not a valid expression"),
            "{err}"
        );
    }
}
