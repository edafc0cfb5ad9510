//! TLS for the connections scimsync opens (the SCIM target and its token endpoint, the LDAP
//! directory): rustls, certificates always verified, against one set of roots built here.
//!
//! The roots are the system's, as rustls-native-certs reads them (so `SSL_CERT_FILE` and
//! `SSL_CERT_DIR` are honoured, as OpenSSL does), or only the CAs of a configured `ca_file`.
//! A certificate the roots do not vouch for is an error that no retry will fix:
//! [`certificate_problem`] finds it in an error chain so callers can say so once.

use std::path::Path;
use std::sync::Arc;

use rustls::ClientConfig;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("ca_file {path}: {reason}")]
    CaFile { path: String, reason: String },
    #[error("{0}")]
    Setup(#[from] rustls::Error),
}

/// A client config that verifies servers against `ca_file`'s certificates only, or against
/// the system's roots when there is none.
pub fn client_config(ca_file: Option<&Path>) -> Result<ClientConfig, TlsError> {
    let roots = match ca_file {
        Some(path) => ca_file_roots(path)?,
        None => system_roots(),
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn ca_file_roots(path: &Path) -> Result<rustls::RootCertStore, TlsError> {
    let bad = |reason: String| TlsError::CaFile {
        path: path.display().to_string(),
        reason,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("no PEM certificate in the file".into()));
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs {
        roots.add(cert).map_err(|e| bad(e.to_string()))?;
    }
    Ok(roots)
}

fn system_roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    // A broken certificate in the system store should not stop the others.
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    roots
}

/// What was wrong with a server's certificate, if that is why `error` happened. TLS errors
/// travel inside `io::Error`s (nested, through hyper), whose `source()` skips the error they
/// wrap, so each one is opened as well.
pub fn certificate_problem(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    match rustls_error(error)? {
        rustls::Error::InvalidCertificate(problem) => Some(describe(problem)),
        _ => None,
    }
}

fn rustls_error<'e>(error: &'e (dyn std::error::Error + 'static)) -> Option<&'e rustls::Error> {
    if let Some(found) = error.downcast_ref::<rustls::Error>() {
        return Some(found);
    }
    let wrapped = error
        .downcast_ref::<std::io::Error>()
        .and_then(std::io::Error::get_ref);
    if let Some(found) = wrapped.and_then(|inner| rustls_error(inner)) {
        return Some(found);
    }
    rustls_error(error.source()?)
}

fn describe(problem: &rustls::CertificateError) -> String {
    match problem {
        rustls::CertificateError::UnknownIssuer => {
            "it is not signed by a trusted CA (UnknownIssuer)".into()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_error_is_found_inside_an_io_error() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
        // As hyper hands it over: one io::Error in another.
        let io = std::io::Error::other(io);
        assert_eq!(
            certificate_problem(&io).as_deref(),
            Some("it is not signed by a trusted CA (UnknownIssuer)")
        );
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(certificate_problem(&refused), None);
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let err = client_config(Some(&path)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("ca_file {}: no PEM certificate in the file", path.display())
        );
    }
}
