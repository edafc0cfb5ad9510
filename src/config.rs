//! The TOML configuration file. Relative paths in it are relative to the file itself, so a
//! config works the same from any working directory (and under systemd).
//!
//! One directory, any number of SCIM targets: one `[source]`, shared settings, and a
//! `[[target]]` per app, each inheriting `[defaults]`, `[sync]` and `[schedule]` key by key
//! and overriding what it needs (see `docs/configuration.md`):
//!
//! ```toml
//! [source]
//! kind = "json"
//! path = "users.json"
//!
//! [state]
//! dir = "state"              # state/scimsync.db: one database, every target a column
//!
//! [defaults]
//! timeout_seconds = 30
//!
//! [[target]]
//! name = "base44"
//! mapping = "base44.map"
//! url = "https://app.example.com/scim/v2"
//! token_env = "BASE44_TOKEN"
//! ```
//!
//! The single-target form (top-level `mapping`, one `[target]`, `[state] path`) keeps working:
//! it is one target, named by `[target] name` or after its URL's host.

mod form;
pub mod name;
pub mod target;

use std::path::{Path, PathBuf};

use serde::Deserialize;

use scimsync_source::SourceConfig;

use crate::sync::settings::SyncConfig;
pub use target::{AuthMode, Credentials, TargetConfig, TokenSourceError};

/// A loaded config: the source, and every target with what it inherited resolved.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    pub source: SourceConfig,
    /// The targets that are usable, in the order the file lists them.
    pub targets: Vec<Target>,
    /// The targets whose settings are wrong: each fails alone, the others run.
    pub rejected: Vec<RejectedTarget>,
    /// Every target's name, usable or rejected, in the order the file lists them: reports
    /// follow it.
    pub order: Vec<String>,
    /// The shared `[schedule]` (the daemon's stop timeout and failure threshold come from it).
    pub schedule: Option<ScheduleConfig>,
    /// The audit log: one JSON line per write to any target.
    pub audit: Option<AuditConfig>,
    /// The daemon's health and metrics listener; off when absent.
    pub http: Option<HttpConfig>,
    /// Which of the two forms the file is written in.
    pub form: Form,
}

/// The two ways to write a config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// Top-level `mapping`, one `[target]`, `[state] path` (the first form scimsync had).
    Single,
    /// `[[target]]` sections, each with its own name and mapping.
    Many,
}

/// One target with everything it inherited resolved.
#[derive(Clone, Debug)]
pub struct Target {
    pub name: String,
    /// The `.map` file.
    pub mapping: PathBuf,
    /// Where the target is and how to talk to it.
    pub scim: TargetConfig,
    /// What a sync of this target may do and when it must stop.
    pub sync: SyncConfig,
    /// The JSON state file older versions kept for it: imported into `database` on first use
    /// (then kept as `<file>.migrated`). Its run lock is beside it (`<file>.lock`).
    pub state: PathBuf,
    /// The config's state database (one per config; the target's rows are keyed by its name).
    pub database: PathBuf,
    /// When the daemon runs it: its own `[target.schedule]` over the shared `[schedule]`.
    pub schedule: Option<ScheduleConfig>,
}

/// A target whose settings are wrong, and why.
#[derive(Debug, Clone)]
pub struct RejectedTarget {
    pub name: String,
    pub problem: std::sync::Arc<Invalid>,
}

impl std::fmt::Display for RejectedTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "target `{}`: {}", self.name, self.problem)
    }
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

/// The state database's name in a state directory.
pub const DATABASE_FILE: &str = "scimsync.db";

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateConfig {
    /// A directory (the state goes in `state.json` inside it) or a `.json` file.
    pub path: PathBuf,
}

impl StateConfig {
    /// The state database: `scimsync.db` in the directory `path` names, or the `.json` file
    /// `path` names with `.db` in place of its extension (`app-state.json` → `app-state.db`).
    pub fn database(&self) -> PathBuf {
        let file = self.file();
        if file == self.path.join("state.json") {
            return self.path.join(DATABASE_FILE);
        }
        let database = file.with_extension("db");
        if database == file {
            // `path` names a `.db` file (a JSON state file with an unusual name).
            return self.path.with_extension("db.sqlite");
        }
        database
    }

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
    /// Every target the config (or `--target`) names is unusable.
    #[error("config {path}: {}", list_rejected(rejected))]
    NoUsableTarget {
        path: String,
        rejected: Vec<RejectedTarget>,
    },
    #[error("config {path}: no target is named `{name}`; the targets are {}", known.join(", "))]
    UnknownTarget {
        path: String,
        name: String,
        known: Vec<String>,
    },
}

fn list_rejected(rejected: &[RejectedTarget]) -> String {
    rejected
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl Config {
    /// Reads and validates a config file; relative paths become relative to its directory.
    /// A target whose own settings are wrong is set aside in [`Config::rejected`]; the load
    /// fails only when the file as a whole is wrong or no target is usable.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: shown.clone(),
            reason: e.kind().to_string(),
        })?;
        let config = form::parse(path, &text)?;
        if config.targets.is_empty() {
            return Err(ConfigError::NoUsableTarget {
                path: shown,
                rejected: config.rejected,
            });
        }
        Ok(config)
    }

    /// The targets `names` asks for (all of them when empty), and those of them that are
    /// rejected; an unknown name is an error that lists the known ones.
    pub fn select(&self, names: &[String]) -> Result<Config, ConfigError> {
        if names.is_empty() {
            return Ok(self.clone());
        }
        let known: Vec<String> = self.names().map(str::to_owned).collect();
        for name in names {
            if !known.iter().any(|k| k.eq_ignore_ascii_case(name)) {
                return Err(ConfigError::UnknownTarget {
                    path: self.path.display().to_string(),
                    name: name.clone(),
                    known,
                });
            }
        }
        let wanted = |n: &str| names.iter().any(|w| w.eq_ignore_ascii_case(n));
        let mut selected = self.clone();
        selected.targets.retain(|t| wanted(&t.name));
        selected.rejected.retain(|r| wanted(&r.name));
        selected.order.retain(|n| wanted(n));
        Ok(selected)
    }

    /// Every target's name, usable or not, in file order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.order.iter().map(String::as_str)
    }

    /// The target named `name`.
    pub fn target(&self, name: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.name == name)
    }

    /// The shared stop timeout and failure threshold (`[schedule]`, or their defaults).
    pub fn shutdown_timeout_seconds(&self) -> u64 {
        self.schedule
            .as_ref()
            .map_or_else(default_shutdown_timeout, |s| s.shutdown_timeout_seconds)
    }

    pub fn failure_threshold(&self) -> u32 {
        self.schedule
            .as_ref()
            .map_or_else(default_failure_threshold, |s| s.failure_threshold)
    }
}

impl ScheduleConfig {
    /// Every expression parses and the bounds are at least 1.
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.cron.as_slice().is_empty() {
            return Err(Invalid::CronEmpty);
        }
        for expression in self.cron.as_slice() {
            expression
                .parse::<cron::Schedule>()
                .map_err(|source| Invalid::Cron {
                    expression: expression.clone(),
                    source,
                })?;
        }
        if self.shutdown_timeout_seconds == 0 || self.failure_threshold == 0 {
            return Err(Invalid::ScheduleZero);
        }
        Ok(())
    }
}

/// The engine's settings that can be out of range.
fn validate_sync(sync: &SyncConfig) -> Result<(), Invalid> {
    if !(0.0..=100.0).contains(&sync.safety.max_deactivation_percent) {
        return Err(Invalid::DeactivationPercent);
    }
    if sync.member_chunk == 0 {
        return Err(Invalid::MemberChunk);
    }
    Ok(())
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
    /// A key of a `[[target]]` (or of what it inherits) has the wrong name or type.
    #[error("{0}")]
    Keys(String),
    #[error("needs `mapping` (the .map file), in the [[target]] or in [defaults]")]
    NoMapping,
    #[error(transparent)]
    Name(#[from] name::NameError),
    #[error("[defaults] cannot hold `{0}`: it belongs to each [[target]]")]
    NotADefault(&'static str),
    #[error(
        "targets `{first}` and `{second}` share the state file {file}; each target needs its own"
    )]
    SharedState {
        first: String,
        second: String,
        file: String,
    },
    #[error("needs [target] (one target) or [[target]] sections (any number)")]
    NoTarget,
    #[error(
        "mixes the two forms: `{0}` belongs to the single-target form ([target]); with [[target]] sections, put it in each [[target]] or in [defaults]"
    )]
    MixedForms(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::settings::{LimitsFrom, SafetyTable, UpdateMode};
    use scimsync_lang::scim::patch::OpCase;
    use scimsync_secure::secret::SecretSource;

    fn only(config: &Config) -> &Target {
        assert_eq!(config.targets.len(), 1);
        &config.targets[0]
    }

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
    fn the_single_form_database_is_in_the_directory_or_beside_the_file() {
        let state = |path: &str| StateConfig {
            path: PathBuf::from(path),
        };
        assert_eq!(state("/s").database(), Path::new("/s/scimsync.db"));
        assert_eq!(
            state("/s/app-state.json").database(),
            Path::new("/s/app-state.db")
        );
        // A JSON state file that was named `.db`: the database does not take its name.
        assert_eq!(state("/s/x.db").database(), Path::new("/s/x.db.sqlite"));
    }

    #[test]
    fn paths_are_relative_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::load(&write(dir.path(), GOOD)).unwrap();
        let target = only(&config);
        assert_eq!(target.mapping, dir.path().join("m.map"));
        assert_eq!(target.name, "127.0.0.1");
        assert_eq!(config.form, Form::Single);
        let SourceConfig::Json(json) = &config.source else {
            panic!("a json source")
        };
        assert_eq!(json.path, dir.path().join("users.json"));
        assert_eq!(target.state, dir.path().join("state/state.json"));
        assert_eq!(target.database, dir.path().join("state/scimsync.db"));
        assert_eq!(
            target.scim.token_source().unwrap(),
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
        let target = only(&config);
        assert_eq!(target.scim.auth, AuthMode::OAuth2);
        assert_eq!(target.scim.requests_per_second, Some(2.5));
        assert_eq!(target.scim.update_mode, UpdateMode::Put);
        assert_eq!(target.scim.patch_op_case, OpCase::Capitalized);
        assert!(target.sync.actions.delete && target.sync.actions.create);
        assert_eq!(target.sync.actions.delete_after_days, Some(30));
        assert_eq!(target.sync.safety.max_deactivations, 3);
        assert_eq!(target.sync.safety.max_deactivation_percent, 20.0);
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

    const MANY: &str = r#"
[source]
kind = "json"
path = "users.json"

[state]
dir = "/var/lib/scimsync"

[defaults]
timeout_seconds = 20
update_mode = "put"

[sync.safety]
max_deactivations = 10
always_allowed = 2

[schedule]
cron = "0 */15 * * * *"
run_at_start = true

[[target]]
name = "base44"
mapping = "base44.map"
url = "https://app.base44.com/scim/v2"
auth = "header"
token_credential = "base44-token"
[target.sync.safety]
max_deactivations = 20

[[target]]
name = "activepieces"
mapping = "activepieces.map"
url = "https://cloud.activepieces.com/api/v1/scim/v2"
token_env = "AP_TOKEN"
update_mode = "patch"
state = "ap-state.json"
[target.schedule]
cron = "0 0 * * * *"
"#;

    #[test]
    fn bulk_is_auto_by_default_and_off_is_inherited_from_defaults() {
        use crate::sync::settings::BulkMode;
        let dir = tempfile::tempdir().unwrap();
        let config = Config::load(&write(dir.path(), MANY)).unwrap();
        assert_eq!(config.target("base44").unwrap().scim.bulk, BulkMode::Auto);
        let off = MANY
            .replace(
                "update_mode = \"put\"",
                "update_mode = \"put\"\nbulk = \"off\"",
            )
            .replace(
                "update_mode = \"patch\"",
                "update_mode = \"patch\"\nbulk = \"auto\"",
            );
        let config = Config::load(&write(dir.path(), &off)).unwrap();
        assert_eq!(config.target("base44").unwrap().scim.bulk, BulkMode::Off);
        assert_eq!(
            config.target("activepieces").unwrap().scim.bulk,
            BulkMode::Auto
        );
    }

    #[test]
    fn many_targets_inherit_defaults_key_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::load(&write(dir.path(), MANY)).unwrap();
        assert_eq!(config.form, Form::Many);
        assert!(config.rejected.is_empty(), "{:?}", config.rejected);
        let names: Vec<&str> = config.names().collect();
        assert_eq!(names, ["base44", "activepieces"]);
        let base44 = config.target("base44").unwrap();
        assert_eq!(base44.mapping, dir.path().join("base44.map"));
        assert_eq!(base44.state, Path::new("/var/lib/scimsync/base44.json"));
        // One database for the config, whatever file a target names.
        assert_eq!(base44.database, Path::new("/var/lib/scimsync/scimsync.db"));
        assert_eq!(base44.scim.auth, AuthMode::Header);
        assert_eq!(base44.scim.timeout_seconds, 20);
        assert_eq!(base44.scim.update_mode, UpdateMode::Put);
        // The target's own table merges over [sync]: its key wins, the others are inherited.
        assert_eq!(base44.sync.safety.max_deactivations, 20);
        assert_eq!(base44.sync.safety.always_allowed, 2);
        // ... and the guard knows which table each limit came from.
        assert_eq!(
            base44.sync.safety.from,
            LimitsFrom {
                max_deactivations: SafetyTable::Target("base44".into()),
                max_deactivation_percent: SafetyTable::Sync,
            }
        );
        let shared = base44.schedule.as_ref().unwrap();
        assert_eq!(shared.cron.as_slice(), ["0 */15 * * * *"]);
        let ap = config.target("activepieces").unwrap();
        assert_eq!(ap.scim.update_mode, UpdateMode::Patch);
        assert_eq!(ap.state, dir.path().join("ap-state.json"));
        assert_eq!(ap.database, base44.database);
        assert_eq!(ap.sync.safety.max_deactivations, 10);
        let own = ap.schedule.as_ref().unwrap();
        assert_eq!(own.cron.as_slice(), ["0 0 * * * *"]);
        assert!(own.run_at_start, "inherited from [schedule]");
        assert_eq!(
            ap.scim.token_source().unwrap(),
            SecretSource::Env("AP_TOKEN".into())
        );
    }

    #[test]
    fn the_safety_limits_remember_the_table_they_came_from() {
        let dir = tempfile::tempdir().unwrap();
        let text = MANY.replace(
            "update_mode = \"put\"\n",
            "update_mode = \"put\"\n[defaults.sync.safety]\nmax_deactivation_percent = 30.0\n",
        );
        let config = Config::load(&write(dir.path(), &text)).unwrap();
        let from = |name: &str| config.target(name).unwrap().sync.safety.from.clone();
        assert_eq!(
            from("base44"),
            LimitsFrom {
                max_deactivations: SafetyTable::Target("base44".into()),
                max_deactivation_percent: SafetyTable::Defaults,
            }
        );
        assert_eq!(
            from("activepieces"),
            LimitsFrom {
                max_deactivations: SafetyTable::Sync,
                max_deactivation_percent: SafetyTable::Defaults,
            }
        );
        assert_eq!(
            config
                .target("activepieces")
                .unwrap()
                .sync
                .safety
                .max_deactivation_percent,
            30.0
        );
        // The single form has one table.
        let text = format!("{GOOD}[sync.safety]\nmax_deactivations = 3\n");
        let single = Config::load(&write(dir.path(), &text)).unwrap();
        assert_eq!(single.targets[0].sync.safety.from, LimitsFrom::default());
    }

    #[test]
    fn names_keep_the_file_order_when_a_target_before_others_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let text = MANY.replace("auth = \"header\"", "auth = \"header\"\npage_sise = 3");
        let config = Config::load(&write(dir.path(), &text)).unwrap();
        assert_eq!(config.rejected[0].name, "base44");
        let names: Vec<&str> = config.names().collect();
        assert_eq!(names, ["base44", "activepieces"]);
        let selected = config.select(&["activepieces".to_owned()]).unwrap();
        assert_eq!(selected.names().collect::<Vec<_>>(), ["activepieces"]);
    }

    #[test]
    fn a_target_with_wrong_keys_is_rejected_alone_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let text = MANY.replace(
            "token_env = \"AP_TOKEN\"",
            "token_env = \"AP_TOKEN\"\npage_sise = 3",
        );
        let config = Config::load(&write(dir.path(), &text)).unwrap();
        assert_eq!(config.targets.len(), 1);
        assert_eq!(config.rejected.len(), 1);
        let text = config.rejected[0].to_string();
        assert!(
            text.starts_with("target `activepieces`: [[target]] unknown field `page_sise`"),
            "{text}"
        );
        let selected = config.select(&["ActivePieces".to_owned()]).unwrap();
        assert!(selected.targets.is_empty() && selected.rejected.len() == 1);
        let err = config.select(&["nope".to_owned()]).unwrap_err().to_string();
        assert!(
            err.ends_with("no target is named `nope`; the targets are base44, activepieces"),
            "{err}"
        );
        // With no usable target left, the load itself fails and names each.
        let both = text_with_both_broken();
        let err = Config::load(&write(dir.path(), &both))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("target `base44`: [target] url `nope` is not a URL")
                && err.contains("target `activepieces`: needs `mapping`"),
            "{err}"
        );
    }

    #[test]
    fn a_target_key_of_the_wrong_type_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let text = MANY.replace("mapping = \"activepieces.map\"", "mapping = 3");
        let config = Config::load(&write(dir.path(), &text)).unwrap();
        assert_eq!(
            config.rejected[0].to_string(),
            "target `activepieces`: `mapping` cannot be integer"
        );
        let text = MANY.replace("[target.schedule]\ncron", "[target.schedule]\ncorn");
        let config = Config::load(&write(dir.path(), &text)).unwrap();
        let problem = config.rejected[0].to_string();
        assert!(
            problem.starts_with("target `activepieces`: [schedule] unknown field `corn`"),
            "{problem}"
        );
    }

    fn text_with_both_broken() -> String {
        MANY.replace("https://app.base44.com/scim/v2", "nope")
            .replace("mapping = \"activepieces.map\"\n", "")
    }

    #[test]
    fn target_names_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let load = |text: String| Config::load(&write(dir.path(), &text)).map(|_| ());
        let err = |text: String| load(text).unwrap_err().to_string();
        assert!(
            err(MANY.replace("\"activepieces\"", "\"Base44\"")).ends_with("two targets are named `Base44` (names are compared ignoring case, as file names may be)")
        );
        assert!(
            err(MANY.replace("\"activepieces\"", "\"a/b\""))
                .contains("target name `a/b` may only hold")
        );
        assert!(
            err(MANY.replace("name = \"activepieces\"\n", ""))
                .ends_with("every [[target]] needs a `name`")
        );
        assert!(
            err(MANY.replace("[defaults]", "[defaults]\nname = \"x\""))
                .ends_with("[defaults] cannot hold `name`: it belongs to each [[target]]")
        );
        assert!(
            err(format!("mapping = \"m.map\"\n{MANY}")).contains("mixes the two forms: `mapping`")
        );
        assert!(
            err(MANY.replace(
                "state = \"ap-state.json\"",
                "state = \"/var/lib/scimsync/base44.json\""
            ))
            .contains("targets `base44` and `activepieces` share the state file")
        );
        // The single form may name its target.
        let named = GOOD.replace(
            "token_env = \"TOKEN\"",
            "token_env = \"TOKEN\"\nname = \"crm\"",
        );
        let config = Config::load(&write(dir.path(), &named)).unwrap();
        assert_eq!(only(&config).name, "crm");
    }
}
