//! One sync run: read the mapping and the source, compute the desired state, compare it with
//! the target, and (unless this is a dry run) write the difference.
//!
//! ```text
//! source ─▶ desired (plan over records) ─▶ diff (against target + state) ─▶ apply (SCIM writes)
//! ```
//!
//! Everything that can fail for bad input (mapping, export, token, state, listing the target)
//! happens before the first write. A dry run is the same path without `apply`.

pub mod apply;
pub mod desired;
pub mod diff;
pub mod render;

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::config::{Config, ConfigError};
use crate::mapping::{self, Plan, SourceFile};
use crate::observe::{Mapped, Observer, Quiet};
use crate::scim::client::{ClientError, ClientOptions, ScimClient};
use crate::secret::SecretError;
use crate::source::{self, SourceError};
use crate::state::{State, StateError};
use apply::Applied;
use diff::{Action, Changes};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot read mapping {path}: {reason}")]
    MappingRead { path: String, reason: String },
    /// The diagnostics, already rendered against the file.
    #[error("{rendered}mapping {path}: {count} error(s); nothing was written")]
    Mapping {
        path: String,
        rendered: String,
        count: usize,
    },
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("target token: {0}")]
    Secret(#[from] SecretError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("cannot list the target's users: {0}")]
    Target(#[from] ClientError),
    #[error("target: {0}")]
    Client(String),
    #[error("refusing to sync: {0}")]
    Safety(String),
}

#[derive(Clone, Debug)]
pub struct RunOptions {
    pub dry_run: bool,
    /// The clock expressions see (`Time.now()`, `Now()`).
    pub now: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct RunReport {
    pub changes: Changes,
    /// `None` for a dry run.
    pub applied: Option<Applied>,
    /// The mapping's extension aliases, to show paths the way the `.map` file writes them.
    pub aliases: Vec<(String, String)>,
}

impl RunReport {
    pub fn failed(&self) -> bool {
        self.applied
            .as_ref()
            .is_some_and(|a| !a.failures.is_empty())
    }
}

/// Reads and compiles a `.map` file; errors come back rendered, every one of them.
pub fn load_plan(path: &Path) -> Result<Plan, SyncError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| SyncError::MappingRead {
        path: shown.clone(),
        reason: e.kind().to_string(),
    })?;
    let file = SourceFile::new(shown.clone(), text);
    mapping::compile(&file).map_err(|diagnostics| SyncError::Mapping {
        path: shown,
        rendered: mapping::render_all(&diagnostics, &file),
        count: diagnostics.iter().filter(|d| d.is_error()).count(),
    })
}

/// Runs one sync as configured.
pub async fn run(config: &Config, options: &RunOptions) -> Result<RunReport, SyncError> {
    let plan = load_plan(&config.mapping)?;
    run_with(config, &plan, options, &Quiet).await
}

/// Runs one sync with an already compiled `plan` (the daemon keeps the plan it last loaded
/// successfully), reporting progress and every write to `observer`.
pub async fn run_with(
    config: &Config,
    plan: &Plan,
    options: &RunOptions,
    observer: &dyn Observer,
) -> Result<RunReport, SyncError> {
    let records = source::load(&config.source)?;
    let state_file = config.state.file();
    let mut state = State::load(&state_file, &config.target.url)?;
    let token = config
        .target
        .token_source()
        .map_err(SyncError::Client)?
        .load()?;
    let client = ScimClient::new(
        &config.target.url,
        &token,
        &ClientOptions {
            timeout: Duration::from_secs(config.target.timeout_seconds),
            page_size: config.target.page_size,
        },
    )
    .map_err(SyncError::Client)?;

    let desired = desired::compute(plan, &records, options.now);
    tracing::info!(
        source = records.len(),
        desired = desired.users.len(),
        skipped = desired.skipped.len(),
        out_of_scope = desired.out_of_scope.len(),
        "mapped source users"
    );
    observer.mapped(&Mapped {
        source: records.len(),
        in_scope: desired.users.len(),
        skipped: desired.skipped.len(),
    });
    let listing = Instant::now();
    let target_users = client.list_users().await?;
    observer.listed(target_users.len(), listing.elapsed());
    tracing::info!(target = target_users.len(), "listed target users");
    let changes = diff::diff(&desired, &target_users, &state, &plan.match_path);
    guard_empty_source(&desired, &changes)?;

    let aliases = plan.aliases();
    if options.dry_run {
        return Ok(RunReport {
            changes,
            applied: None,
            aliases,
        });
    }
    observer.planned(changes.changes.len());
    let applied = apply::apply(
        &client,
        &changes,
        &mut state,
        config.target.concurrency,
        observer,
    )
    .await;
    state.save(&state_file)?;
    Ok(RunReport {
        changes,
        applied: Some(applied),
        aliases,
    })
}

/// An empty source never deactivates anyone: an empty export is far likelier a broken export
/// than a company with no staff.
fn guard_empty_source(desired: &desired::Desired, changes: &Changes) -> Result<(), SyncError> {
    let deactivations = changes.count(Action::Deactivate);
    if desired.source_count == 0 && deactivations > 0 {
        return Err(SyncError::Safety(format!(
            "the source has no users, which would deactivate {deactivations} managed user(s); check the export or directory"
        )));
    }
    Ok(())
}
