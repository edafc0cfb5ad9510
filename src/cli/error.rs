//! What a command fails with, and the one place it is printed: [`render`] turns any of them
//! into the text on stderr (`error: ...` with its hint, or a mapping's diagnostics the way the
//! compiler prints them).

use std::path::PathBuf;

use crate::config::ConfigError;
use crate::daemon::{DaemonError, LoadError};
use crate::state::StateError;
use crate::state::lock::LockError;
use crate::sync::SyncError;
use crate::sync::observed::RunError;
use crate::sync::render::{error_text, run_again_after};
use scimsync_lang::mapping::{Diagnostic, SourceFile, render_all};
use scimsync_scim::client::ClientError;
use scimsync_scim::throttle::HeldOff;
use scimsync_source::SourceError;
use scimsync_source::json::JsonSourceError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    OneUser(#[from] crate::sync::one::OneUserError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Daemon(#[from] DaemonError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Locked(#[from] LockError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Export(#[from] JsonSourceError),
    #[error(transparent)]
    Target(#[from] ClientError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot write the report: {0}")]
    Report(serde_json::Error),
    #[error("cannot write to stdout: {0}")]
    Stdout(std::io::Error),
    #[error("cannot read {path}: {kind}")]
    ReadFile {
        path: String,
        kind: std::io::ErrorKind,
    },
    #[error("cannot write {path}: {source}")]
    WriteFile {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{0}: the canonical layout would change the file's meaning, so it was left as it is (please report this)"
    )]
    Unstable(String),
    /// Writes were made, then the target asked for a longer pause than allowed.
    #[error(
        "{held}; the writes above were made and the state is saved; {}",
        run_again_after(held)
    )]
    HeldOff { held: HeldOff },
    #[error(
        "interrupted: the writes above were made and the state is saved; run sync again to finish"
    )]
    Interrupted,
    /// Some targets of a run did not end `ok` (each is reported above).
    #[error("{} of {of} targets did not sync: {}", failed.len(), failed.join(", "))]
    TargetsFailed { failed: Vec<String>, of: usize },
    /// Some targets' mappings or settings could not be used by `explain` (each is shown above).
    #[error("{} of {of} targets could not be explained: {}", failed.len(), failed.join(", "))]
    TargetsNotExplained { failed: Vec<String>, of: usize },
    #[error("not in the state: {}", .0.join(", "))]
    NotInState(Vec<String>),
    /// Arguments that clap cannot tie together (`give --mapping or --config`).
    #[error("{0}")]
    Usage(&'static str),
    #[error("--record is not valid JSON: {0}")]
    RecordJson(serde_json::Error),
    #[error("--record must be a JSON object")]
    RecordNotObject,
    #[error("--record: {0}")]
    RecordShape(scimsync_source::json::RecordError),
    #[error("no user `{wanted}` in {}", .from.display())]
    NoUser { wanted: String, from: PathBuf },
    /// An expression that does not compile or evaluate: printed compiler style.
    #[error("{}", render_all(.diagnostics, .file))]
    Diagnostics {
        diagnostics: Vec<Diagnostic>,
        file: SourceFile,
    },
}

impl From<crate::state::store::OpenError> for CliError {
    /// A held lock stays [`CliError::Locked`], as when the command took the lock itself.
    fn from(error: crate::state::store::OpenError) -> CliError {
        match error {
            crate::state::store::OpenError::Locked(locked) => CliError::Locked(locked),
            crate::state::store::OpenError::State(state) => CliError::State(state),
        }
    }
}

/// The text a failed command prints on stderr.
pub fn render(error: &CliError) -> String {
    match error {
        CliError::Sync(sync) | CliError::Run(RunError::Sync(sync)) => error_text(sync),
        CliError::Run(RunError::Shared(sync)) => error_text(sync),
        CliError::OneUser(crate::sync::one::OneUserError::Sync(sync)) => error_text(sync),
        CliError::Diagnostics { .. } => error.to_string(),
        CliError::Load(load) => crate::daemon::render_load(load),
        CliError::Daemon(DaemonError::Load(load)) => crate::daemon::render_load(load),
        other => format!("error: {other}"),
    }
}
