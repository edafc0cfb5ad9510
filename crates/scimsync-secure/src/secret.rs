//! Secrets (SCIM tokens, bind passwords): where they come from and how they are kept out of
//! logs, diffs and error messages.
//!
//! A secret is read from an environment variable, a file, or a systemd credential
//! (`$CREDENTIALS_DIRECTORY/NAME`, from `LoadCredential=`), never from the command line.
//! [`Secret`] prints as `[redacted]`; only [`Secret::expose`] gives the text, at the point it
//! is put on the wire. Every secret loaded is registered with [`redact`], so a server that
//! echoes it back cannot make scimsync store or show it.
//!
//! A secret file readable by group or others is read, with a warning naming it (as ssh
//! does for keys).

pub mod redact;

use std::fmt;
use std::path::{Path, PathBuf};

/// A secret value that never prints itself.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Where to read a secret from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    Env(String),
    File(PathBuf),
    /// A systemd credential name, read from `$CREDENTIALS_DIRECTORY`.
    Credential(String),
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Env(name) => write!(f, "environment variable {name}"),
            SecretSource::File(path) => write!(f, "file {}", path.display()),
            SecretSource::Credential(name) => write!(f, "systemd credential {name}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{from} is not set")]
    Unset { from: SecretSource },
    #[error("{from} is empty")]
    Empty { from: SecretSource },
    #[error("cannot read {from}: {reason}")]
    Unreadable { from: SecretSource, reason: String },
    #[error(
        "systemd credential {0} was asked for, but $CREDENTIALS_DIRECTORY is not set (is LoadCredential= in the unit?)"
    )]
    NoCredentialsDirectory(String),
}

impl SecretSource {
    /// Reads the secret and registers it with [`redact`]. Surrounding whitespace (a trailing
    /// newline in a file) is dropped.
    pub fn load(&self) -> Result<Secret, SecretError> {
        let raw = match self {
            SecretSource::Env(name) => {
                std::env::var(name).map_err(|_| SecretError::Unset { from: self.clone() })?
            }
            SecretSource::File(path) => self.read_file(path)?,
            SecretSource::Credential(name) => {
                let dir = std::env::var_os("CREDENTIALS_DIRECTORY")
                    .ok_or_else(|| SecretError::NoCredentialsDirectory(name.clone()))?;
                self.read_file(&Path::new(&dir).join(name))?
            }
        };
        let value = raw.trim();
        if value.is_empty() {
            return Err(SecretError::Empty { from: self.clone() });
        }
        if !redact::register(value) {
            tracing::warn!(
                "the secret from {self} is shorter than {} characters: easy to guess, and not redacted from what servers send back",
                redact::MIN_LEN
            );
        }
        Ok(Secret::new(value))
    }

    fn read_file(&self, path: &Path) -> Result<String, SecretError> {
        let text = std::fs::read_to_string(path).map_err(|e| SecretError::Unreadable {
            from: self.clone(),
            reason: e.kind().to_string(),
        })?;
        if let Some(mode) = crate::private_file::open_to_others(path) {
            tracing::warn!(
                "{self}: permissions {mode:04o} are too open, group or others can access it; chmod 600 {}",
                path.display()
            );
        }
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "[redacted] Secret([redacted])");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn reads_files_and_trims() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "abc\n").unwrap();
        assert_eq!(SecretSource::File(path).load().unwrap().expose(), "abc");
        let missing = SecretSource::File(dir.path().join("nope"))
            .load()
            .unwrap_err();
        assert!(
            missing.to_string().starts_with("cannot read file "),
            "{missing}"
        );
    }

    #[test]
    fn unset_variable_names_the_variable_only() {
        let err = SecretSource::Env("SCIMSYNC_TEST_SURELY_UNSET".into())
            .load()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable SCIMSYNC_TEST_SURELY_UNSET is not set"
        );
    }
}
