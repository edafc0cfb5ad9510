//! One sync run: read the mapping and the source, compute the desired state, compare it with
//! the target, and (unless this is a dry run) write the difference.
//!
//! ```text
//! source ─▶ desired (plan over records) ─▶ diff (against target + state) ─▶ apply (SCIM writes)
//! ```
//!
//! Everything that can fail for bad input (mapping, export, token, state, listing the target)
//! happens before the first write; the source is opened (bound, first page read) before the
//! target is listed. A dry run is the same path without `apply`.

pub mod apply;
pub mod case;
pub mod confirm;
pub mod desired;
pub mod diff;
pub mod event;
pub mod failure;
mod fan_out;
pub mod gone;
pub mod groups;
pub mod incremental;
pub mod kept;
pub mod kind;
pub mod observed;
pub mod offers;
pub mod one;
pub mod plans;
pub mod render;
pub mod run;
pub mod safety;
pub mod settings;
pub mod skip;
pub mod takeover;
pub mod unique;
pub mod written;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, Credentials, Invalid, TargetConfig};
use crate::state::lock::LockError;
use crate::state::{State, StateError};
use apply::{Applied, Applier};
use diff::{Changes, Policy};
use event::{Discard, Mapped, Operation, WriteEvent, WriteObserver, WriteResult};
use groups::{GroupChanges, MemberSkip};
pub use run::{Job, TargetRun, read_desired_for, run_targets};
use safety::Violation;
use scimsync_lang::mapping::{self, Diagnostic, Plan, SourceFile};
use scimsync_scim::auth::Auth;
use scimsync_scim::client::{
    BuildError, ClientError, ClientOptions, RequestTotals, ResourceType, ScimClient,
};
use scimsync_scim::throttle::{HeldOff, RetryPolicy};
use scimsync_secure::secret::SecretError;
use scimsync_source::SourceError;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("cannot read mapping {path}: {reason}")]
    MappingRead { path: String, reason: String },
    /// The mapping does not compile. The edge that prints this renders the diagnostics
    /// against `file` (compiler style) before this headline.
    #[error(
        "mapping {path}: {} error(s); nothing was written",
        errors_in(diagnostics)
    )]
    Mapping {
        path: String,
        file: SourceFile,
        diagnostics: Vec<Diagnostic>,
    },
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("target token: {0}")]
    Secret(#[from] SecretError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Locked(#[from] LockError),
    #[error("cannot list the target's users: {0}")]
    Target(#[from] ClientError),
    #[error("target: {0}")]
    Client(#[from] ConnectError),
    #[error("refusing to sync: {}", .0.message())]
    Safety(Violation),
    /// The target's task ended without a report (it panicked or was aborted).
    #[error("this target's run stopped unexpectedly: {0}")]
    Aborted(String),
    /// The run ended before it reached this target.
    #[error("this target was not run")]
    NotRun,
}

/// Why a client could not be set up from `[target]`.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Credentials(#[from] Invalid),
    #[error(transparent)]
    Auth(#[from] scimsync_scim::auth::AuthError),
    #[error(transparent)]
    Build(#[from] BuildError),
}

fn errors_in(diagnostics: &[Diagnostic]) -> usize {
    diagnostics.iter().filter(|d| d.is_error()).count()
}

/// How one run goes.
#[derive(Clone)]
pub struct RunOptions {
    pub dry_run: bool,
    /// The clock expressions see (`Time.now()`, `Now()`), and `delete_after_days` counts in.
    pub now: DateTime<Utc>,
    /// Go ahead even when the run exceeds the deactivation threshold (never for an empty
    /// source).
    pub allow_mass_deactivation: bool,
    /// Fires to stop the run: no new write starts, writes in flight finish, the state is saved.
    pub cancel: CancellationToken,
    /// Receives every write (planned, applied, adopted or failed): audit logs and metrics.
    pub observer: Arc<dyn WriteObserver>,
    /// Names this run in events.
    pub run_id: String,
    /// `sync --full`: every target lists all its users, whatever its state says.
    pub full: bool,
}

impl RunOptions {
    pub fn new(dry_run: bool) -> RunOptions {
        let now = Utc::now();
        RunOptions {
            dry_run,
            now,
            allow_mass_deactivation: false,
            cancel: CancellationToken::new(),
            observer: Arc::new(Discard),
            run_id: format!("{}-{:04x}", now.format("%Y%m%dT%H%M%SZ"), fastrand::u16(..)),
            full: false,
        }
    }
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("dry_run", &self.dry_run)
            .field("now", &self.now)
            .field("run_id", &self.run_id)
            .finish_non_exhaustive()
    }
}

/// What a run planned and did.
#[derive(Clone, Debug)]
pub struct RunReport {
    pub run_id: String,
    pub changes: Changes,
    pub groups: GroupChanges,
    /// Members of pushed groups whose users are not provisioned, and why.
    pub member_skips: Vec<MemberSkip>,
    /// `None` for a dry run.
    pub applied: Option<Applied>,
    /// A dry run that would trip the deactivation threshold says so here.
    pub safety: Option<Violation>,
    /// Requests sent, retries and 429s.
    pub requests: RequestTotals,
    /// The run was stopped before every write was made.
    pub cancelled: bool,
    /// The target asked for a longer pause than `max_backoff_seconds`: the writes after that
    /// were not sent (they count as not started).
    pub held_off: Option<HeldOff>,
    /// The mapping's extension aliases, to show paths the way the `.map` file writes them.
    pub aliases: Vec<(String, String)>,
    /// Full or incremental, and why.
    pub kind: kind::Decided,
}

impl RunReport {
    pub fn failed(&self) -> bool {
        self.applied
            .as_ref()
            .is_some_and(|a| !a.failures.is_empty())
    }
}

/// Reads and compiles a `.map` file; errors come back as diagnostics, every one of them. Warnings
/// go to the log, one event each.
pub fn load_plan(path: &Path) -> Result<Plan, SyncError> {
    let (plan, warnings) = load_plan_and_warnings(path)?;
    for warning in warnings {
        // The headline (`file:line:col: warning[E0204]: ...`); `check` shows the whole of it.
        tracing::warn!("{}", warning.lines().next().unwrap_or_default());
    }
    Ok(plan)
}

/// [`load_plan`], with each warning rendered compiler style (`check` prints them whole).
pub fn load_plan_and_warnings(path: &Path) -> Result<(Plan, Vec<String>), SyncError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| SyncError::MappingRead {
        path: shown.clone(),
        reason: e.kind().to_string(),
    })?;
    let file = SourceFile::new(shown.clone(), text);
    let plan = match mapping::compile(&file) {
        Ok(plan) => plan,
        Err(diagnostics) => {
            return Err(SyncError::Mapping {
                path: shown,
                file,
                diagnostics,
            });
        }
    };
    let warnings = plan
        .warnings
        .iter()
        .map(|warning| mapping::render_all(std::slice::from_ref(warning), &file))
        .collect();
    Ok((plan, warnings))
}

/// The client a target config describes: auth, throttle, retries, op casing.
pub fn connect(target: &TargetConfig) -> Result<ScimClient, SyncError> {
    let auth = match target.credentials().map_err(ConnectError::from)? {
        Credentials::Bearer { token } => {
            Auth::bearer(&token.load()?).map_err(ConnectError::from)?
        }
        Credentials::Header { value } => {
            Auth::header(&value.load()?).map_err(ConnectError::from)?
        }
        Credentials::Basic { username, password } => Auth::basic(&username, password.load()?),
        Credentials::OAuth2 {
            token_url,
            client_id,
            client_secret,
            scope,
        } => Auth::oauth2(&token_url, &client_id, client_secret.load()?, scope),
    };
    ScimClient::new(
        &target.url,
        auth,
        &ClientOptions {
            timeout: Duration::from_secs(target.timeout_seconds),
            page_size: target.page_size,
            concurrency: target.concurrency,
            requests_per_second: target.requests_per_second,
            retry: RetryPolicy {
                max_retries: target.max_retries,
                max: Duration::from_secs(target.max_backoff_seconds),
                ..RetryPolicy::default()
            },
            op_case: target.patch_op_case,
            ca_file: target.ca_file.clone(),
            ..ClientOptions::default()
        },
    )
    .map_err(|e| ConnectError::from(e).into())
}

/// Runs one sync of every target of `config`, compiling each mapping: the engine alone, with
/// no audit log or summary (`scimsync sync` and the daemon go through [`observed::run_once`]).
/// A mapping that does not compile fails its target alone.
pub async fn run_sync(config: &Config, options: &RunOptions) -> Result<Vec<TargetRun>, SyncError> {
    let mut jobs = Vec::new();
    let mut broken = Vec::new();
    for target in &config.targets {
        match load_plan(&target.mapping) {
            Ok(plan) => jobs.push(Job {
                target: target.clone(),
                plan: Arc::new(plan),
            }),
            Err(error) => broken.push(TargetRun {
                name: target.name.clone(),
                report: Err(error),
            }),
        }
    }
    let mut runs = run_targets(&config.source, jobs, options).await?;
    runs.extend(broken);
    let position = |name: &str| config.targets.iter().position(|t| t.name == name);
    runs.sort_by_key(|run| position(&run.name));
    Ok(runs)
}

/// The target's users, completed by lookups where the listing left some out; or, in an
/// incremental run, the users it fetched (see [`incremental`]).
struct Listed {
    users: Vec<serde_json::Value>,
    /// The listing missed users: each create is preceded by a lookup.
    look_before_create: bool,
    /// What part of the target this is (all of it in a full run).
    coverage: diff::Coverage,
    kind: kind::RunKind,
}

/// An incremental run's view of the target, or (when filtering fails it) a full listing.
async fn view_target(
    client: &ScimClient,
    job: &Job,
    options: &RunOptions,
    state: &mut State,
    desired: &desired::Desired,
    planned: &kind::RunKind,
) -> Result<Listed, SyncError> {
    let name = job.target.name.as_str();
    let gathered = incremental::gather(
        client,
        state,
        desired,
        &job.plan.match_path,
        job.target.scim.concurrency,
    )
    .await?;
    let partial = match gathered {
        incremental::Gathered::Partial(partial) => partial,
        incremental::Gathered::Full(reason) => {
            let mut listed = list_target(client, job, options, state).await?;
            listed.kind = kind::RunKind::Full(reason);
            tracing::warn!(target = name, "{}", listed.kind.describe(options.now));
            return Ok(listed);
        }
    };
    let counts = partial.counts;
    tracing::info!(
        target = name,
        unchanged = counts.unchanged,
        trusted = counts.trusted,
        fetched_by_id = counts.fetched_by_id,
        gone = counts.gone,
        looked_up = counts.looked_up,
        departed = counts.departed,
        "incremental run: fetched only the users that may change"
    );
    Ok(Listed {
        users: partial.users,
        look_before_create: false,
        coverage: diff::Coverage {
            unchanged: partial.unchanged,
            only: None,
            some_users: false,
        },
        kind: planned.clone(),
    })
}

/// Lists the target's users, then looks up the pending creates and managed users the listing
/// did not show.
async fn list_target(
    client: &ScimClient,
    job: &Job,
    options: &RunOptions,
    state: &mut State,
) -> Result<Listed, SyncError> {
    let (name, plan) = (job.target.name.as_str(), &job.plan);
    let listing = Instant::now();
    let listed = client.list_counted(ResourceType::User).await?;
    // A listing that missed users cannot tell that a new source user is not on the target
    // yet: each create is then preceded by a lookup, so a target without uniqueness does not
    // get a second user.
    let look_before_create = listed.missing() > 0;
    if look_before_create {
        tracing::warn!(
            listed = listed.resources.len(),
            reported = listed.reported,
            target = name,
            "the target's listing left out {} of the users it counts; every create this run is preceded by a lookup",
            listed.missing()
        );
    }
    let mut users = listed.resources;
    options
        .observer
        .listed(name, users.len(), listing.elapsed());
    tracing::info!(target = name, users = users.len(), "listed target users");
    confirm::complete_listing(
        client,
        state,
        &plan.match_path,
        &mut users,
        job.target.scim.concurrency,
    )
    .await?;
    Ok(Listed {
        users,
        look_before_create,
        coverage: diff::Coverage::default(),
        kind: kind::RunKind::default(),
    })
}

/// Logs and reports how the source users mapped.
fn note_mapped(options: &RunOptions, target: &str, desired: &desired::Desired) {
    tracing::info!(
        target,
        source = desired.source_count,
        desired = desired.users.len(),
        skipped = desired.skipped.len(),
        out_of_scope = desired.out_of_scope.len(),
        "mapped source users"
    );
    options.observer.mapped(&Mapped {
        target: target.to_owned(),
        source: desired.source_count,
        in_scope: desired.users.len(),
        skipped: desired.skipped.len(),
    });
}

/// The run's plan: the user changes (compared again under the target's own case rules when
/// some values differ only in case), the group changes, and the safety check on them.
async fn plan_changes(
    client: &ScimClient,
    job: &Job,
    options: &RunOptions,
    state: &State,
    listed: &Listed,
    source: SourceDesired,
) -> Result<(RunReport, desired::Desired), SyncError> {
    let (target, plan) = (&job.target, &job.plan);
    let SourceDesired {
        desired,
        groups: desired_groups,
        member_skips,
    } = source;
    let mut policy = Policy {
        actions: target.sync.actions.clone(),
        now: options.now,
        case: case::CaseRules::rfc_defaults(),
    };
    let (target_users, coverage) = (&listed.users, &listed.coverage);
    let diff_with = |policy: &Policy| {
        diff::diff_partial(
            &desired,
            target_users,
            coverage,
            state,
            &plan.match_path,
            policy,
        )
    };
    let mut changes = diff_with(&policy);
    // Values that differ only in case: the target's schema says whether that matters.
    if changes.case_only > 0
        && let Some(rules) = target_case_rules(client).await
    {
        policy.case = rules;
        changes = diff_with(&policy);
    }
    let group_changes = if plan.groups.is_empty() && state.groups.is_empty() {
        GroupChanges::default()
    } else {
        let target_groups = target_groups(client, state, &listed.kind, &desired_groups).await?;
        let all = groups::diff_groups(
            &desired_groups,
            &target_groups,
            state,
            &changes,
            &target.sync.actions,
            target.sync.member_chunk,
        );
        match &coverage.only {
            Some(only) => {
                let target_id = state.users.get(only).map(|m| m.id.as_str());
                one::memberships_of(all, only, target_id)
            }
            None => all,
        }
    };
    let violation = safety::check(
        &target.sync.safety,
        changes.removals(),
        safety::WindowSoFar::of(state, options.now, target.sync.safety.window),
        desired.source_count,
    );
    let mut report = RunReport {
        run_id: options.run_id.clone(),
        changes,
        groups: group_changes,
        member_skips,
        applied: None,
        safety: None,
        requests: RequestTotals::default(),
        cancelled: false,
        held_off: None,
        aliases: plan.aliases(),
        kind: kind::Decided::new(listed.kind.clone(), options.now),
    };
    // A dry run shows what the real run with the same flags would do.
    match violation {
        Some(v) if v.empty_source => return Err(SyncError::Safety(v)),
        Some(_) if options.allow_mass_deactivation => {}
        Some(v) if options.dry_run => report.safety = Some(v),
        Some(v) => return Err(SyncError::Safety(v)),
        None => {}
    }
    Ok((report, desired))
}

/// The target's groups for the group diff: in an incremental run, as scimsync last left them
/// when it knows that of every one (no request); else the listing.
async fn target_groups(
    client: &ScimClient,
    state: &State,
    kind: &kind::RunKind,
    desired: &[groups::DesiredGroup],
) -> Result<Vec<serde_json::Value>, SyncError> {
    if matches!(kind, kind::RunKind::Incremental { .. })
        && let Some(known) = groups::as_last_left(desired, state)
    {
        return Ok(known);
    }
    Ok(client.list(ResourceType::Group).await?)
}

/// Makes the planned writes: users first, then groups.
async fn apply(
    applier: &Applier<'_>,
    report: &RunReport,
    state: &mut State,
) -> Result<Applied, SyncError> {
    applier.observer.planned(
        applier.target,
        report.changes.changes.len() + report.groups.changes.len(),
    );
    // Every create is pending on disk before it is sent: a lost answer or a crash leaves a
    // record the next run resolves by lookup, never a second create.
    // With them, in the same transaction, what the listing found (pending creates that took
    // effect, the guard's window as of now): the state is current before the first write.
    let pending = apply::pending_creates(&report.changes, applier.match_path, applier.now);
    state.pending.extend(pending);
    applier.store.record_rest(state)?;
    let mut applied = Applied::default();
    applier
        .apply_users(&report.changes, state, &mut applied)
        .await;
    applier
        .apply_groups(&report.groups, state, &mut applied)
        .await;
    settle_group_members(applier, &report.groups, &applied, state);
    state.note_active(Utc::now());
    Ok(applied)
}

/// Records the members each group written to holds now (see [`groups::settle_members`]).
fn settle_group_members(
    applier: &Applier<'_>,
    changes: &groups::GroupChanges,
    applied: &Applied,
    state: &mut State,
) {
    for key in groups::settle_members(changes, &applied.groups_unsettled, state) {
        let _kept_by_the_store = applier.store.record_group(state, &key);
    }
}

/// The target's `caseExact` declarations, when it publishes `/Schemas`; `None` (RFC 7643's
/// defaults apply) when it does not, or answers with something else.
async fn target_case_rules(client: &ScimClient) -> Option<case::CaseRules> {
    match client.discovery("Schemas").await {
        Ok(document) => Some(case::CaseRules::from_schemas(
            &scimsync_scim::discovery::resources(&document),
        )),
        Err(error) => {
            tracing::info!(%error, "no /Schemas: RFC 7643's caseExact defaults apply");
            None
        }
    }
}

/// A dry run's writes, handed to the observer as planned.
fn record_planned(options: &RunOptions, target: &str, report: &RunReport) {
    let event = |operation: Operation, id: Option<&String>, name: &str, attributes: Vec<String>| {
        WriteEvent {
            time: Utc::now(),
            run_id: options.run_id.clone(),
            target: target.to_owned(),
            operation,
            resource_type: operation.resource_type(),
            id: id.cloned(),
            name: name.to_owned(),
            attributes,
            status: None,
            result: WriteResult::Planned,
            latency: Duration::ZERO,
        }
    };
    for change in &report.changes.changes {
        options.observer.record(&event(
            change.action.operation(),
            change.id.as_ref(),
            &change.user_name,
            change
                .attributes
                .iter()
                .map(diff::AttrChange::path)
                .collect(),
        ));
    }
    for change in &report.groups.changes {
        options.observer.record(&event(
            change.operation,
            change.id.as_ref(),
            &change.display_name,
            change.attributes.clone(),
        ));
    }
}

/// The desired state of a run and its pushed groups (with the members that are not pushed).
#[derive(Debug)]
pub struct SourceDesired {
    pub desired: desired::Desired,
    pub groups: Vec<groups::DesiredGroup>,
    pub member_skips: Vec<MemberSkip>,
}

/// Reads the source and maps each user as soon as it is read, keeping what the plan makes of
/// it, never the user: memory follows the desired state, not the directory, and mapping
/// overlaps the read. `SelectUniqueValue` avoids the values of `target_users`.
pub async fn read_desired(
    source: &scimsync_source::SourceConfig,
    plan: &Plan,
    now: DateTime<Utc>,
    target_users: &[serde_json::Value],
) -> Result<SourceDesired, SyncError> {
    let reading = scimsync_source::Reading::start(source, &source_projection(plan), now)?;
    let mut planner = SourcePlanner::new(plan, now, target_users);
    reading.each(|record| planner.add(&record)).await?;
    Ok(planner.finish())
}

/// What a run makes of its source users, one user at a time: the desired state, and the
/// members of pushed groups. Pure; a run's fan-out (`fan_out.rs`) or [`read_desired`] feeds it
/// from the source.
pub struct SourcePlanner<'p> {
    mapper: desired::Mapper<'p>,
    desired: desired::Desired,
    /// Who holds each match key, as places in `desired.users`.
    keys: desired::KeyIndex,
    pushed: groups::PushedGroups<'p>,
}

impl<'p> SourcePlanner<'p> {
    /// `SelectUniqueValue` avoids the values of `target_users`.
    pub fn new(
        plan: &'p Plan,
        now: DateTime<Utc>,
        target_users: &'p [serde_json::Value],
    ) -> SourcePlanner<'p> {
        SourcePlanner {
            mapper: desired::Mapper::against(plan, now, target_users),
            desired: desired::Desired::default(),
            keys: desired::KeyIndex::default(),
            pushed: groups::PushedGroups::new(plan),
        }
    }

    pub fn add(&mut self, record: &scimsync_lang::record::Record) {
        let desire = self
            .mapper
            .map_held(record, &mut self.keys.over(&self.desired.users));
        self.pushed.add(record, groups::MemberStatus::of(&desire));
        self.desired.add(record, desire);
    }

    pub fn finish(self) -> SourceDesired {
        let (groups, member_skips) = self.pushed.finish();
        SourceDesired {
            desired: self.desired,
            groups,
            member_skips,
        }
    }
}

/// What the source must deliver for this plan: the attributes its rules and scope read
/// (a directory then sends only those), and group memberships if any rule reads them.
pub fn source_projection(plan: &Plan) -> scimsync_source::Projection {
    // Group push works from each user's group names: a `group` statement needs them even
    // when no rule reads a group.
    let groups = plan.facts.reads_groups || !plan.groups.is_empty();
    scimsync_source::Projection {
        group_members: false,
        ..scimsync_source::Projection::only(plan.facts.reads.iter().cloned(), groups)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pushed_group_asks_the_source_for_groups_even_when_no_rule_reads_one() {
        let compiled = |text: &str| {
            mapping::compile(&SourceFile::new("t.map", text.to_owned())).expect("compiles")
        };
        let pushed = compiled("userName <- user.mail\ngroup \"Engineering\"\n");
        assert_eq!(
            source_projection(&pushed),
            scimsync_source::Projection {
                attributes: Some(["mail".to_owned()].into_iter().collect()),
                groups: true,
                group_members: false,
            }
        );
        let users_only = compiled("userName <- user.mail\n");
        assert!(!source_projection(&users_only).groups);
    }
}
