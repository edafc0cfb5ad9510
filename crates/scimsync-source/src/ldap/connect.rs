//! Reaching the directory: TCP with a connect timeout, TLS (ldaps:// or StartTLS) verified
//! against the system's roots or a configured CA file, then a simple bind.
//!
//! Every failure here is fatal for the run: nothing has been read, so nothing may be written.

use std::sync::Arc;
use std::time::Duration;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings};
use rustls::ClientConfig;

use super::LdapError;
use super::settings::LdapConfig;
use scimsync_secure::secret::{Secret, redact};

/// An open, bound connection. The driver task ends when the handle is dropped.
pub struct Connection {
    pub ldap: Ldap,
    pub timeout: Duration,
}

/// Connects and binds as configured; `password` is `None` for an anonymous bind.
pub async fn open(config: &LdapConfig, password: Option<&Secret>) -> Result<Connection, LdapError> {
    let timeout = Duration::from_secs(config.timeout_seconds);
    let mut settings = LdapConnSettings::new()
        .set_conn_timeout(Duration::from_secs(config.connect_timeout_seconds))
        .set_starttls(config.starttls);
    if config.danger_accept_invalid_certs {
        tracing::warn!(
            url = %config.url,
            "danger_accept_invalid_certs is on: the directory's certificate is NOT verified; anyone on the network path can read the bind password and forge users"
        );
        settings = settings.set_no_tls_verify(true);
    } else {
        settings = settings.set_config(tls_config(config)?);
    }
    let url = config.url.clone();
    // The connect timeout covers TCP only; a server that accepts and then says nothing during
    // the TLS handshake or StartTLS is caught by the operation timeout around the whole thing.
    let connected = tokio::time::timeout(
        Duration::from_secs(config.connect_timeout_seconds) + timeout,
        LdapConnAsync::with_settings(settings, &config.url),
    )
    .await
    .map_err(|_| LdapError::Connect {
        url: url.clone(),
        reason: "timed out".into(),
    })?
    .map_err(|e| LdapError::Connect {
        url: url.clone(),
        reason: describe(&e),
    })?;
    let (driver, mut ldap) = connected;
    ldap3::drive!(driver);
    if let Some(dn) = &config.bind_dn {
        let secret = password.map(Secret::expose).unwrap_or_default();
        let result = ldap
            .with_timeout(timeout)
            .simple_bind(dn, secret)
            .await
            .map_err(|e| LdapError::Connect {
                url: url.clone(),
                reason: describe(&e),
            })?;
        if result.rc != 0 {
            return Err(LdapError::Bind {
                url,
                dn: dn.clone(),
                reason: bind_failure(result.rc, &result.text),
            });
        }
    }
    Ok(Connection { ldap, timeout })
}

/// Certificates are always verified; `ca_file` replaces the system's roots.
fn tls_config(config: &LdapConfig) -> Result<Arc<ClientConfig>, LdapError> {
    scimsync_secure::tls::client_config(config.ca_file.as_deref())
        .map(Arc::new)
        .map_err(|e| LdapError::Tls {
            reason: e.to_string(),
        })
}

/// An ldap3 error in words an admin can act on. ldap3 errors carry result codes and server
/// text, not the request; the text is redacted all the same, in case the server quotes the
/// password.
pub fn describe(error: &ldap3::LdapError) -> String {
    use ldap3::LdapError as E;
    match error {
        E::Io { source } => match source.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
            std::io::ErrorKind::TimedOut => "timed out".into(),
            _ => redact::redact_owned(source.to_string()),
        },
        E::Timeout { .. } => "timed out waiting for the server".into(),
        E::EndOfStream => "the server closed the connection".into(),
        E::LdapResult { result } => result_text(result.rc, &result.text),
        other => redact::redact_owned(other.to_string()),
    }
}

/// A refused bind in words, with the remedy when the code has one: Active Directory with LDAP
/// signing required (Samba's default) refuses a simple bind over plain LDAP.
fn bind_failure(rc: u32, text: &str) -> String {
    let words = result_text(rc, text);
    match rc {
        STRONGER_AUTH_REQUIRED | CONFIDENTIALITY_REQUIRED => format!(
            "{}. The server accepts a password only over an encrypted connection: use an ldaps:// url or starttls = true",
            words.trim_end_matches('.')
        ),
        _ => words,
    }
}

const STRONGER_AUTH_REQUIRED: u32 = 8;
const CONFIDENTIALITY_REQUIRED: u32 = 13;

/// An LDAP result code with its name and the server's message (redacted).
pub fn result_text(rc: u32, text: &str) -> String {
    let name = match rc {
        1 => "operationsError",
        2 => "protocolError",
        3 => "timeLimitExceeded",
        4 => "sizeLimitExceeded",
        8 => "strongerAuthRequired",
        10 => "referral",
        11 => "adminLimitExceeded",
        12 => "unavailableCriticalExtension",
        13 => "confidentialityRequired",
        32 => "noSuchObject",
        34 => "invalidDNSyntax",
        48 => "inappropriateAuthentication",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        80 => "other",
        _ => "error",
    };
    let text = redact::redact(text.trim());
    if text.is_empty() {
        format!("{name} (result code {rc})")
    } else {
        format!("{name} (result code {rc}): {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scimsync_secure::secret::SecretSource;

    #[test]
    fn a_bind_refused_for_want_of_encryption_names_the_code_and_the_remedy() {
        assert_eq!(
            bind_failure(8, "BindSimple: Transport encryption required."),
            "strongerAuthRequired (result code 8): BindSimple: Transport encryption required. The server accepts a password only over an encrypted connection: use an ldaps:// url or starttls = true"
        );
        assert_eq!(
            bind_failure(49, "80090308: LdapErr: DSID-0C09041C"),
            "invalidCredentials (result code 49): 80090308: LdapErr: DSID-0C09041C"
        );
    }

    #[test]
    fn a_server_message_quoting_the_bind_password_is_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("password");
        std::fs::write(&path, "ldap-bind-pass-6Tq1\n").unwrap();
        let password = SecretSource::File(path).load().unwrap();
        assert_eq!(
            result_text(49, " bind failed for password ldap-bind-pass-6Tq1 "),
            "invalidCredentials (result code 49): bind failed for password [redacted]"
        );
        assert_eq!(password.expose(), "ldap-bind-pass-6Tq1");
    }
}
