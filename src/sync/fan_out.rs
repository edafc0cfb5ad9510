//! One read of the source planned for several targets at once: each target's planner runs on
//! a thread of its own and is handed every batch of users the reader delivers, shared (one
//! copy of the batch, whatever the number of targets), in the order they were read.
//!
//! ```text
//!  reader thread ── batch ──▶ this task ──┬─▶ planner A (its thread): map, keep A's desired
//!                                         ├─▶ planner B (its thread): map, keep B's desired
//!                                         └─▶ ...
//! ```
//!
//! Each planner's queue holds a couple of batches at most, so the read runs ahead of the
//! slowest planner by that much and memory stays bounded. Each planner sees every user, in
//! the source's order, exactly as when they were mapped one after the other on one task
//! (`SelectUniqueValue` picks the same values); a read that fails returns its error here, and
//! what the planners made of the users so far is thrown away.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value as Json;

use super::{SourceDesired, SourcePlanner, SyncError};
use scimsync_lang::mapping::Plan;
use scimsync_lang::record::Record;
use scimsync_source::{Batch, Reading};

/// How many batches may wait for each planner: enough that a planner never waits while the
/// reader has users for it, few enough that the users waiting stay a few hundred per target.
const QUEUED: usize = 2;

/// One batch of users, shared by every planner.
type Users = Arc<Vec<Record>>;

/// What one target's planner is given: its plan, and the target users its
/// `SelectUniqueValue` avoids (none when the plan has no such rule).
pub(super) struct PlanInput {
    pub plan: Arc<Plan>,
    pub target_users: Vec<Json>,
}

/// What a planner gives back: the desired state, and the target users it was given (the
/// diff needs them next).
pub(super) struct Planned {
    pub source: SourceDesired,
    pub target_users: Vec<Json>,
}

/// Reads every user once and maps it through each input's plan, each on its own thread. The
/// results come back in the order of `inputs`.
pub(super) async fn plan_each(
    mut reading: Reading,
    inputs: Vec<PlanInput>,
    now: DateTime<Utc>,
) -> Result<Vec<Planned>, SyncError> {
    let (queues, planners): (Vec<_>, Vec<_>) = inputs
        .into_iter()
        .map(|input| spawn_planner(input, now))
        .unzip();
    // On an error the queues are dropped with this call: each planner then ends on its own
    // after the few batches it holds, and its work is dropped unseen.
    feed(&mut reading, &queues).await?;
    drop(queues);
    let mut planned = Vec::with_capacity(planners.len());
    for planner in planners {
        match planner.await {
            Ok(result) => planned.push(result),
            // A bug in mapping: it stops the run as it did when planning ran on this task.
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(error) => return Err(SyncError::Aborted(error.to_string())),
        }
    }
    Ok(planned)
}

/// Hands each batch the reader delivers to every planner, until the read ends.
async fn feed(
    reading: &mut Reading,
    queues: &[tokio::sync::mpsc::Sender<Users>],
) -> Result<(), SyncError> {
    loop {
        match reading.next_batch().await? {
            Batch::Users(users) => {
                let users = Arc::new(users);
                for queue in queues {
                    // A planner that is gone has panicked: awaiting it says so.
                    let _ = queue.send(Arc::clone(&users)).await;
                }
            }
            Batch::End(_) => return Ok(()),
        }
    }
}

/// Starts one planner on a blocking thread: it maps each user it is handed, until its queue
/// is closed, then gives back what it made of them.
fn spawn_planner(
    input: PlanInput,
    now: DateTime<Utc>,
) -> (
    tokio::sync::mpsc::Sender<Users>,
    tokio::task::JoinHandle<Planned>,
) {
    let (queue, mut batches) = tokio::sync::mpsc::channel::<Users>(QUEUED);
    let planner = tokio::task::spawn_blocking(move || {
        let PlanInput { plan, target_users } = input;
        let mut planner = SourcePlanner::new(&plan, now, &target_users);
        while let Some(users) = batches.blocking_recv() {
            for record in users.iter() {
                planner.add(record);
            }
        }
        let source = planner.finish();
        Planned {
            source,
            target_users,
        }
    });
    (queue, planner)
}
