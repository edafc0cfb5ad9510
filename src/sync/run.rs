//! One run over any number of targets: the directory is read **once**, each user is fed to
//! every target's plan as it is read (each target's planner on a thread of its own,
//! [`fan_out`](super::fan_out)), then each target is diffed and applied on its own task.
//!
//! ```text
//!  target A: lock, state, client ── list ──────────────────────┐ (A's mapping asks its target)
//!  target B: lock, state, client ── list (its own task) ─────────────────┐
//!  source: opened ───────────────────────────── read once, every user ──┴─▶ A: diff, apply, save
//!                                               through A's and B's plans   B: diff, apply, save
//! ```
//!
//! The memory a run holds is each target's desired state, never a copy of the directory.
//!
//! Isolation: a target whose lock, state, secret, listing, safety check or writes fail fails
//! alone, with its own error in its [`TargetRun`]; the others go on. A source that fails
//! (cannot be opened, or breaks mid-read) stops every target before any write, as
//! [`run_targets`]'s `Err`.

use std::sync::Arc;

use super::apply::{Applied, Applier};
use super::fan_out::{PlanInput, plan_each};
use super::kind::{self, RunKind};
use super::unique::asks_target;
use super::{
    Listed, RunOptions, RunReport, SourceDesired, SyncError, apply, connect, list_target,
    note_mapped, plan_changes, record_planned, source_projection, view_target,
};
use crate::config::Target;
use crate::state::State;
use crate::state::store::{Location, OpenError, Store, StoreBackend, backend_for};
use scimsync_lang::mapping::Plan;
use scimsync_scim::client::ScimClient;
use scimsync_source::SourceConfig;

/// One target of a run: its settings and its compiled mapping.
#[derive(Clone, Debug)]
pub struct Job {
    pub target: Target,
    pub plan: Arc<Plan>,
}

/// How one target's part of a run went.
#[derive(Debug)]
pub struct TargetRun {
    pub name: String,
    pub report: Result<RunReport, SyncError>,
}

/// A target that is ready to be listed: its lock held, its state loaded, its client built.
pub(super) struct Ready {
    pub(super) job: Job,
    /// Where its outcomes are committed (it holds the run lock); `None` for a dry run.
    pub(super) store: Option<Box<dyn Store>>,
    pub(super) state: State,
    pub(super) client: ScimClient,
    /// Full or incremental, as the state and the flags decide (a full run may still be
    /// forced when filtering fails mid-run).
    pub(super) kind: RunKind,
}

/// Runs `jobs` against one read of `source`. The reports come back in the order of `jobs`.
pub async fn run_targets(
    source: &SourceConfig,
    jobs: Vec<Job>,
    options: &RunOptions,
) -> Result<Vec<TargetRun>, SyncError> {
    let names: Vec<String> = jobs.iter().map(|j| j.target.name.clone()).collect();
    let mut results: Vec<Option<Result<RunReport, SyncError>>> =
        std::iter::repeat_with(|| None).take(jobs.len()).collect();
    let mut ready = Vec::new();
    for (index, job) in jobs.into_iter().enumerate() {
        match prepare(job, options) {
            Ok(target) => {
                let name = target.job.target.name.as_str();
                tracing::info!(target = name, "{}", target.kind.describe(options.now));
                ready.push((index, target));
            }
            Err(error) => results[index] = Some(Err(error)),
        }
    }
    if !ready.is_empty() {
        run_ready(source, ready, options, &mut results).await?;
    }
    Ok(names
        .into_iter()
        .zip(results)
        .map(|(name, report)| TargetRun {
            name,
            report: report.unwrap_or_else(|| Err(SyncError::NotRun)),
        })
        .collect())
}

/// Opens the source, lists the targets, reads the source once through all their plans, then
/// diffs and applies each target on its own task.
///
/// A target whose mapping picks values by what the target holds (`SelectUniqueValue`) is
/// listed before the read; every other target is listed on its own task while the directory
/// is read, so a target that is slow to list holds up only itself.
async fn run_ready(
    source: &SourceConfig,
    ready: Vec<(usize, Ready)>,
    options: &RunOptions,
    results: &mut [Option<Result<RunReport, SyncError>>],
) -> Result<(), SyncError> {
    // The source is opened first (an LDAP directory bound and its first page read), so a
    // wrong password or an unreachable directory fails at once, before any listing.
    let projection = projection_of(ready.iter().map(|(_, r)| r.job.plan.as_ref()));
    let mut reading = scimsync_source::Reading::start(source, &projection, options.now)?;
    reading.opened().await?;

    let (mut first, rest): (Vec<_>, Vec<_>) = ready
        .into_iter()
        .partition(|(_, r)| asks_target(&r.job.plan));
    // Each target diffs and writes on its own task with its own client (its own request
    // budget). The set is dropped, and its tasks aborted, if this run is: a source that
    // fails mid-read returns before any task has a desired state to write.
    let mut tasks = Tasks::default();
    let mut waiting = Vec::new();
    for (index, target) in rest {
        let (send, receive) = tokio::sync::oneshot::channel();
        waiting.push((target.job.plan.clone(), send));
        let options = options.clone();
        tasks.spawn(index, async move {
            list_then_finish(target, receive, &options).await
        });
    }
    let listings = futures::future::join_all(
        first
            .iter_mut()
            .map(|(_, r)| async { list_target(&r.client, &r.job, options, &mut r.state).await }),
    )
    .await;
    let mut listed = Vec::new();
    for ((index, target), listing) in first.into_iter().zip(listings) {
        match listing {
            Ok(mut users) => {
                users.kind = target.kind.clone();
                listed.push((index, target, users));
            }
            Err(error) => results[index] = Some(Err(error)),
        }
    }

    // The listed users go to the planner that avoids their values, and come back with its
    // desired state.
    let inputs = listed
        .iter_mut()
        .map(|(_, target, users)| PlanInput {
            plan: Arc::clone(&target.job.plan),
            target_users: std::mem::take(&mut users.users),
        })
        .chain(waiting.iter().map(|(plan, _)| PlanInput {
            plan: Arc::clone(plan),
            target_users: Vec::new(),
        }))
        .collect();
    let mut planned = plan_each(reading, inputs, options.now).await?.into_iter();

    for ((index, target, mut users), planned) in listed.into_iter().zip(planned.by_ref()) {
        users.users = planned.target_users;
        let options = options.clone();
        tasks.spawn(index, async move {
            finish_target(target, users, planned.source, &options).await
        });
    }
    for ((_, send), planned) in waiting.into_iter().zip(planned) {
        // A target whose listing failed has ended already; its desired state is dropped.
        let _ = send.send(planned.source);
    }
    tasks.join_into(results).await;
    Ok(())
}

/// Lists the target (a full run) while the source is read, or (an incremental run) waits
/// for the read's desired state and fetches what it may change; then diffs and applies.
async fn list_then_finish(
    mut target: Ready,
    desired: tokio::sync::oneshot::Receiver<SourceDesired>,
    options: &RunOptions,
) -> Result<RunReport, SyncError> {
    let listed = if target.kind.is_full() {
        let mut listed =
            list_target(&target.client, &target.job, options, &mut target.state).await?;
        listed.kind = target.kind.clone();
        Some(listed)
    } else {
        None
    };
    let source = desired.await.map_err(|_| SyncError::NotRun)?;
    let listed = match listed {
        Some(listed) => listed,
        None => {
            view_target(
                &target.client,
                &target.job,
                options,
                &mut target.state,
                &source.desired,
                &target.kind,
            )
            .await?
        }
    };
    finish_target(target, listed, source, options).await
}

/// The targets' tasks, each tied to its place in the run's results.
#[derive(Default)]
struct Tasks {
    set: tokio::task::JoinSet<(usize, Result<RunReport, SyncError>)>,
    index: std::collections::HashMap<tokio::task::Id, usize>,
}

impl Tasks {
    fn spawn(
        &mut self,
        index: usize,
        work: impl Future<Output = Result<RunReport, SyncError>> + Send + 'static,
    ) {
        let handle = self.set.spawn(async move { (index, work.await) });
        self.index.insert(handle.id(), index);
    }

    /// Waits for every task; one that panicked or was aborted fails its target alone.
    async fn join_into(mut self, results: &mut [Option<Result<RunReport, SyncError>>]) {
        while let Some(joined) = self.set.join_next_with_id().await {
            match joined {
                Ok((_, (index, report))) => results[index] = Some(report),
                Err(error) => {
                    if let Some(index) = self.index.get(&error.id()) {
                        results[*index] = Some(Err(SyncError::Aborted(error.to_string())));
                    }
                }
            }
        }
    }
}

/// What the source must deliver for all of `plans` at once.
fn projection_of<'p>(plans: impl Iterator<Item = &'p Plan>) -> scimsync_source::Projection {
    plans
        .map(source_projection)
        .reduce(|all, one| all.union(&one))
        .unwrap_or_default()
}

/// Takes the target's lock, loads its state and builds its client.
pub(super) fn prepare(job: Job, options: &RunOptions) -> Result<Ready, SyncError> {
    let target = &job.target;
    // One writer per target: the store holds the run lock until the run ends. A dry run
    // writes nothing and takes no lock (it reads the state as last committed).
    let (backend, location) = backend_for(target);
    let (store, mut state) = if options.dry_run {
        note_no_lock(backend, &location);
        (None, backend.load(&location)?)
    } else {
        let (store, state) = backend.open_for_run(&location)?;
        (Some(store), state)
    };
    let window =
        chrono::Duration::from_std(target.sync.safety.window).unwrap_or(chrono::Duration::MAX);
    state.start_window(options.now, window);
    let client = connect(&target.scim)?.with_cancellation(options.cancel.clone());
    let kind = kind::decide(
        &state.reconcile,
        kind::Asked {
            full: options.full,
            schedule: &target.sync.full_reconcile,
            mapping_reads_target: asks_target(&job.plan),
            now: options.now,
        },
    );
    Ok(Ready {
        job,
        store,
        state,
        client,
        kind,
    })
}

/// A dry run takes no lock; it says when a writing run holds it (the state it reads may then be
/// a step behind).
fn note_no_lock(backend: &dyn StoreBackend, location: &Location) {
    match backend.run_lock_holder(location) {
        Some(pid) => tracing::warn!(
            state = %location.legacy.display(),
            "dry run: another scimsync run{} is writing this target; this dry run takes no lock and reads the state as last saved",
            pid.map_or_else(String::new, |p| format!(" (PID {p})"))
        ),
        None => tracing::info!(
            state = %location.legacy.display(),
            "dry run: no lock taken (a dry run writes nothing)"
        ),
    }
}

impl From<OpenError> for SyncError {
    /// A held lock stays [`SyncError::Locked`], as when the engine took the lock itself.
    fn from(error: OpenError) -> SyncError {
        match error {
            OpenError::Locked(locked) => SyncError::Locked(locked),
            OpenError::State(state) => SyncError::State(state),
        }
    }
}

/// One read of `source` mapped through each of `plans`, with no target to avoid values of
/// (`SelectUniqueValue`): the read-and-plan half of a run over several targets, as the
/// benchmarks measure it.
pub async fn read_desired_for(
    source: &SourceConfig,
    plans: &[Arc<Plan>],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<SourceDesired>, SyncError> {
    let projection = projection_of(plans.iter().map(AsRef::as_ref));
    let reading = scimsync_source::Reading::start(source, &projection, now)?;
    let inputs = plans
        .iter()
        .map(|plan| PlanInput {
            plan: Arc::clone(plan),
            target_users: Vec::new(),
        })
        .collect();
    let planned = plan_each(reading, inputs, now).await?;
    Ok(planned.into_iter().map(|p| p.source).collect())
}

/// Diffs one target against what the source wants, then (unless this is a dry run) writes
/// the difference and saves the target's state.
async fn finish_target(
    target: Ready,
    listed: Listed,
    source: SourceDesired,
    options: &RunOptions,
) -> Result<RunReport, SyncError> {
    let Ready {
        job,
        store,
        mut state,
        client,
        kind: _,
    } = target;
    let name = job.target.name.as_str();
    note_mapped(options, name, &source.desired);
    let (mut report, desired) =
        plan_changes(&client, &job, options, &state, &listed, source).await?;
    // A dry run has no store (it took no lock): it writes nothing.
    let Some(store) = store else {
        record_planned(options, name, &report);
        report.requests = client.totals();
        return Ok(report);
    };
    let offers = super::offers::Offers::discover(
        &client,
        job.target.scim.bulk,
        report.changes.changes.len() + report.groups.changes.len(),
        &listed.users,
    )
    .await;
    let run = Applier {
        client: &client,
        observer: options.observer.as_ref(),
        run_id: &options.run_id,
        target: name,
        update_mode: job.target.scim.update_mode,
        match_path: &job.plan.match_path,
        concurrency: job.target.scim.concurrency,
        cancel: &options.cancel,
        now: options.now,
        look_before_create: listed.look_before_create,
        store: &*store,
        offers,
    };
    let mut applied: Applied = apply(&run, &report, &mut state).await?;
    if !applied.gone.is_empty() {
        let gone = std::mem::take(&mut applied.gone);
        let actions = &job.target.sync.actions;
        if let Some(again) = super::gone::recreate(&run, actions, &desired, &gone, &mut state).await
        {
            applied.absorb(again);
        }
    }
    report.cancelled = options.cancel.is_cancelled() && applied.not_started > 0;
    report.held_off = client.held_off();
    note_full_run(&mut state, &report, options);
    save_rest(&state, &*store)?;
    report.applied = Some(applied);
    report.requests = client.totals();
    Ok(report)
}

/// A full run that saw the whole target and was neither stopped nor held off is the one the
/// next incremental runs trust (from its start: later changes on the target were not seen).
fn note_full_run(state: &mut State, report: &RunReport, options: &RunOptions) {
    if !report.kind.kind.is_full() || options.cancel.is_cancelled() || report.held_off.is_some() {
        return;
    }
    state.reconcile.last_full = Some(options.now);
    if report.kind.kind.clears_verdict() {
        state.reconcile.filter = None;
    }
}

/// Whatever happened, cancellation included, what the run learned besides its writes' outcomes
/// (committed as each write completed) is committed now: the listing's findings, the removals
/// window, active counts. A run that changed nothing writes nothing.
fn save_rest(state: &State, store: &dyn Store) -> Result<(), SyncError> {
    store.record_rest(state)?;
    Ok(())
}
