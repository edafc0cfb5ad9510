//! `[target]` / `[[target]]`: where a target is and how scimsync talks to it (URL, auth and
//! its secret, limits, update mode), and the one [`Credentials`] shape the client is built
//! from.

use std::path::PathBuf;

use serde::Deserialize;

use scimsync_lang::scim::patch::OpCase;
use scimsync_secure::secret::SecretSource;

use super::Invalid;
use crate::sync::settings::{BulkMode, UpdateMode};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// The target's name in reports, logs, metrics and state files. In the single-target form
    /// it is optional (the URL's host stands in); each `[[target]]` must have one.
    pub name: Option<String>,
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
    /// Whether creates, updates and deactivations go in `/Bulk` requests: `auto` (when the
    /// target advertises bulk) or `off`.
    #[serde(default)]
    pub bulk: BulkMode,
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

impl TargetConfig {
    /// Everything about the connection that can be wrong before a request is sent.
    pub fn validate(&self) -> Result<(), Invalid> {
        let url = url::Url::parse(&self.url).map_err(|source| Invalid::TargetUrl {
            url: self.url.clone(),
            source,
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Invalid::TargetScheme(self.url.clone()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Invalid::TargetCredentials);
        }
        self.credentials()?;
        if self
            .requests_per_second
            .is_some_and(|r| !r.is_finite() || r <= 0.0)
        {
            return Err(Invalid::RequestsPerSecond);
        }
        if self.page_size == 0 || self.concurrency == 0 || self.timeout_seconds == 0 {
            return Err(Invalid::TargetZero);
        }
        Ok(())
    }

    /// The name the single-target form gives its target when `name` is absent: the URL's
    /// host, made fit for a file name and a metric label.
    pub fn default_name(&self) -> String {
        let host = url::Url::parse(&self.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        let name: String = host
            .trim_matches(|c| c == '[' || c == ']')
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let name = name.trim_matches(|c: char| !c.is_ascii_alphanumeric());
        if name.is_empty() {
            "target".to_owned()
        } else {
            name.chars().take(super::name::MAX_LEN).collect()
        }
    }
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
