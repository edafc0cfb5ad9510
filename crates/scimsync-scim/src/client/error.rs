//! What a request can fail with, and what the failure says about retrying it: whether it may
//! have taken effect, and whether the target will refuse it again.

use reqwest::Method;

use crate::auth::AuthError;
use crate::throttle::HeldOff;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach {url}: {reason}")]
    Transport {
        method: Method,
        url: String,
        reason: String,
        timed_out: bool,
        /// The request may have reached the server (not a refused connection).
        sent: bool,
    },
    #[error(
        "{method} {url} failed with HTTP {status}{}",
        describe(scim_type, detail)
    )]
    Status {
        method: Method,
        url: String,
        status: u16,
        scim_type: Option<String>,
        detail: Option<String>,
    },
    #[error("{method} {url}: unexpected response: {reason}")]
    Protocol {
        method: Method,
        url: String,
        reason: String,
    },
    #[error("{url}: {source}")]
    Auth {
        url: String,
        #[source]
        source: AuthError,
    },
    #[error("stopped before {method} {url} was sent")]
    Cancelled { method: Method, url: String },
    /// The target's TLS certificate is not trusted: never retried. A fault of the target's
    /// setup, not of the request, so not [`ClientError::is_permanent`] (no user is held for it).
    #[error(
        "{method} {url}: the TLS certificate of {host} is not trusted: {problem}; if the target uses a private CA, set `ca_file` in [target] to that CA's PEM certificate"
    )]
    Certificate {
        method: Method,
        url: String,
        host: String,
        problem: String,
    },
    /// The target asked for a longer pause than `max_backoff_seconds`: this request, and every
    /// one after it in this run, is not sent.
    #[error("{method} {url}: {held}")]
    Throttled {
        method: Method,
        url: String,
        held: HeldOff,
    },
}

fn describe(scim_type: &Option<String>, detail: &Option<String>) -> String {
    match (scim_type, detail) {
        (Some(t), Some(d)) => format!(" ({t}): {d}"),
        (None, Some(d)) => format!(": {d}"),
        (Some(t), None) => format!(" ({t})"),
        (None, None) => String::new(),
    }
}

impl ClientError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The SCIM error's `detail`, when the server sent one.
    pub fn detail(&self) -> Option<&str> {
        match self {
            ClientError::Status { detail, .. } => detail.as_deref(),
            _ => None,
        }
    }

    /// The SCIM error's `scimType`, when the server sent one.
    pub fn scim_type(&self) -> Option<&str> {
        match self {
            ClientError::Status { scim_type, .. } => scim_type.as_deref(),
            _ => None,
        }
    }

    /// Whether the request may have taken effect although it failed: it reached the server
    /// and timed out, the connection broke, or the server failed with a 5xx.
    pub fn maybe_applied(&self) -> bool {
        match self {
            ClientError::Transport { sent, .. } => *sent,
            ClientError::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// A rejection the target will repeat for the same request: a 4xx other than 408
    /// (timeout), 409 (conflict, resolved by a lookup), 412 (the resource changed meanwhile:
    /// a race, not a refusal of the data), 429 (rate limit) and 401 (credentials, fixed by the
    /// admin, not by the data).
    pub fn is_permanent(&self) -> bool {
        matches!(self, ClientError::Status { status, .. }
            if (400..500).contains(status) && !matches!(status, 401 | 408 | 409 | 412 | 429))
    }
}

/// Why a client could not be built from its settings.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("`{base}` is not a URL: {source}")]
    Url {
        base: String,
        source: url::ParseError,
    },
    #[error("cannot set up TLS for {base}: {source}")]
    Tls {
        base: String,
        source: scimsync_secure::tls::TlsError,
    },
    #[error("cannot set up the HTTP client: {0}")]
    Http(reqwest::Error),
}
