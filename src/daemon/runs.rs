//! The runs in flight. A tick starts one run for every target due then whose previous run is
//! done; runs of different targets may overlap (their state locks are separate), a target is
//! never in two runs at once. On SIGTERM/SIGINT every run stops starting writes; runs that
//! have not begun writing are dropped at once, the others are waited for within the bound.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{DaemonError, notify};
use crate::config::Config;
use crate::sync::RunOptions;
use crate::sync::event::{WriteEvent, WriteObserver};
use crate::sync::observed::{self, RunOutcome};
use crate::sync::plans::Plans;

/// Whether a run has begun writing: before that it may be dropped at once.
#[derive(Default)]
struct WritePhase(AtomicBool);

impl WriteObserver for WritePhase {
    fn record(&self, _event: &WriteEvent) {}
    fn planned(&self, _target: &str, _writes: usize) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl WritePhase {
    fn writing(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// One run in flight.
struct Running {
    targets: Vec<String>,
    cancel: CancellationToken,
    phase: Arc<WritePhase>,
    task: JoinHandle<()>,
}

/// Every run in flight, by run id; each sends its outcome on the channel it was given.
pub struct Runs {
    by_id: BTreeMap<String, Running>,
    done: mpsc::UnboundedSender<RunOutcome>,
}

impl Runs {
    pub fn new(done: mpsc::UnboundedSender<RunOutcome>) -> Runs {
        Runs {
            by_id: BTreeMap::new(),
            done,
        }
    }

    /// The id of the run `target` is in, if any.
    pub fn run_of(&self, target: &str) -> Option<&str> {
        self.by_id
            .iter()
            .find(|(_, run)| run.targets.iter().any(|t| t == target))
            .map(|(id, _)| id.as_str())
    }

    /// Starts one run of `config`'s targets (already narrowed to them); returns its id.
    pub fn start(
        &mut self,
        config: Config,
        plans: Plans,
        mut observers: Vec<Arc<dyn WriteObserver>>,
    ) -> String {
        let options = RunOptions::new(false);
        let cancel = options.cancel.clone();
        let phase = Arc::new(WritePhase::default());
        observers.push(phase.clone());
        let run_id = options.run_id.clone();
        let targets = config.targets.iter().map(|t| t.name.clone()).collect();
        let done = self.done.clone();
        let task = tokio::spawn(async move {
            let outcome = observed::run_once(&config, &plans, &options, observers).await;
            let _ = done.send(outcome);
        });
        self.by_id.insert(
            run_id.clone(),
            Running {
                targets,
                cancel,
                phase,
                task,
            },
        );
        run_id
    }

    /// The run `run_id` sent its outcome.
    pub fn finished(&mut self, run_id: &str) {
        self.by_id.remove(run_id);
    }

    /// Stops every run (SIGTERM/SIGINT): no new write is started; runs that have not begun
    /// writing are dropped, the others may finish within `bound` seconds, each outcome handed
    /// to `finish` as it comes. A second stop signal, or the bound passing, abandons them.
    pub async fn stop(
        mut self,
        done: &mut mpsc::UnboundedReceiver<RunOutcome>,
        bound: u64,
        second_signal: impl std::future::Future<Output = ()>,
        mut finish: impl FnMut(&RunOutcome),
    ) -> Result<(), DaemonError> {
        // Runs that ended just before the signal: their outcomes are recorded, not lost.
        while let Ok(outcome) = done.try_recv() {
            self.finished(&outcome.run_id);
            finish(&outcome);
        }
        if self.by_id.is_empty() {
            notify::stopping("stopping");
            tracing::info!("stop signal received; no run in progress, exiting");
            return Ok(());
        }
        for run in self.by_id.values() {
            run.cancel.cancel();
        }
        self.drop_those_not_writing();
        if self.by_id.is_empty() {
            notify::stopping("stopping; the run in progress had written nothing and was dropped");
            tracing::info!(
                "stop signal received; the run in progress had not started writing and was dropped"
            );
            return Ok(());
        }
        notify::stopping("stopping; finishing the writes in flight and saving the state");
        tracing::info!(
            timeout_seconds = bound,
            runs = self.by_id.len(),
            "stop signal received; finishing the writes in flight and saving the state"
        );
        let deadline = tokio::time::Instant::now() + Duration::from_secs(bound);
        tokio::pin!(second_signal);
        while !self.by_id.is_empty() {
            tokio::select! {
                received = tokio::time::timeout_at(deadline, done.recv()) => match received {
                    Ok(Some(outcome)) => {
                        self.finished(&outcome.run_id);
                        finish(&outcome);
                    }
                    Ok(None) | Err(_) => {
                        self.abandon();
                        return Err(DaemonError::ShutdownTimedOut(bound));
                    }
                },
                // A second SIGTERM/SIGINT (a second Ctrl-C) means: stop now.
                () = &mut second_signal => {
                    self.abandon();
                    return Err(DaemonError::ShutdownForced);
                }
            }
        }
        tracing::info!("state saved; exiting");
        Ok(())
    }

    /// Drops the runs that have written nothing yet.
    fn drop_those_not_writing(&mut self) {
        self.by_id.retain(|run_id, run| {
            if run.phase.writing() {
                return true;
            }
            run.task.abort();
            tracing::info!(run_id = %run_id, targets = %run.targets.join(", "), "the run had not started writing and was dropped");
            false
        });
    }

    fn abandon(&mut self) {
        for run in self.by_id.values() {
            run.task.abort();
        }
    }
}
