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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::desired::compute_against;
    use scimsync_lang::mapping::{SourceFile, compile};
    use scimsync_source::SourceConfig;

    /// Picks among three candidates by what the target and earlier users hold: its result
    /// depends on the order the users are mapped in.
    const UNIQUE_MAP: &str = r#"dialect entra
match externalId
externalId <- [objectId]
userName <- SelectUniqueValue(
      Join("@", Join(".", [first], [last]), "contoso.com"),
      Join("@", Join(".", Mid([first], 1, 1), [last]), "contoso.com"),
      Join("@", Join(".", Mid([first], 1, 2), [last]), "contoso.com"))
    on create
"#;
    const PLAIN_MAP: &str = "userName <- user.email\nname.familyName <- user.last\n";

    /// A JSON Lines export of `count` users (more than two reader batches), then `tail`.
    fn export(dir: &std::path::Path, count: usize, tail: &str) -> SourceConfig {
        let firsts = ["John", "Jane", "Joe", "Ann"];
        let mut text = String::new();
        for i in 0..count {
            let user = serde_json::json!({
                "id": format!("u{i}"),
                "objectId": format!("u{i}"),
                "first": firsts[i % firsts.len()],
                "last": format!("Smith{}", i / 7),
                "email": format!("user{i}@example.com"),
            });
            text.push_str(&format!("{user}\n"));
        }
        text.push_str(tail);
        let path = dir.join("users.jsonl");
        std::fs::write(&path, text).unwrap();
        toml::from_str(&format!(
            "kind = \"json\"\nformat = \"plain\"\npath = {:?}\n",
            path.display().to_string()
        ))
        .unwrap()
    }

    fn plan(text: &str) -> Arc<Plan> {
        Arc::new(compile(&SourceFile::new("t.map", text)).unwrap())
    }

    fn reading(source: &SourceConfig, plans: &[Arc<Plan>]) -> Reading {
        let projection = plans
            .iter()
            .map(|p| crate::sync::source_projection(p))
            .reduce(|all, one| all.union(&one))
            .unwrap();
        Reading::start(source, &projection, Utc::now()).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_planner_maps_every_user_in_the_source_order() {
        let dir = tempfile::tempdir().unwrap();
        let source = export(dir.path(), 1100, "");
        let plans = [plan(UNIQUE_MAP), plan(PLAIN_MAP), plan(UNIQUE_MAP)];
        let target = vec![serde_json::json!({"id": "t1", "userName": "Jane.Smith0@contoso.com"})];
        let inputs = vec![
            PlanInput {
                plan: Arc::clone(&plans[0]),
                target_users: target.clone(),
            },
            PlanInput {
                plan: Arc::clone(&plans[1]),
                target_users: Vec::new(),
            },
            PlanInput {
                plan: Arc::clone(&plans[2]),
                target_users: Vec::new(),
            },
        ];
        let now = Utc::now();
        let planned = plan_each(reading(&source, &plans), inputs, now)
            .await
            .unwrap();

        let records = scimsync_source::load(&source).unwrap();
        let targets: [&[Json]; 3] = [&target, &[], &[]];
        assert_eq!(planned.len(), 3);
        for ((planned, plan), target) in planned.iter().zip(&plans).zip(targets) {
            let one_by_one = compute_against(plan, &records, now, target);
            assert_eq!(planned.source.desired, one_by_one);
            assert_eq!(planned.target_users, target);
        }
        // The target's user took a first choice: the first planner's picks differ from the
        // third's, which has no target.
        assert_ne!(planned[0].source.desired, planned[2].source.desired);
        assert_eq!(planned[1].source.desired.users.len(), 1100);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_that_breaks_after_some_batches_fails_the_planning() {
        let dir = tempfile::tempdir().unwrap();
        let source = export(dir.path(), 700, "{\"id\": \"broken\"\n");
        let plans = [plan(PLAIN_MAP), plan(UNIQUE_MAP)];
        let inputs = plans
            .iter()
            .map(|plan| PlanInput {
                plan: Arc::clone(plan),
                target_users: Vec::new(),
            })
            .collect();
        let planned = plan_each(reading(&source, &plans), inputs, Utc::now()).await;
        assert!(
            matches!(planned, Err(SyncError::Source(_))),
            "{:?}",
            planned.map(|p| p.len())
        );
    }
}
