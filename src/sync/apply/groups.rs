//! Group writes, after the users' (so new members have their ids): create, rename, member
//! changes in chunks, and delete; in `/Bulk` requests when the target offers them (see
//! [`bulk`]), else one request at a time. Either way each write's outcome is settled in one
//! place ([`Applier::settle_group`]) and committed to the store as it is known.

use super::*;
use crate::sync::skip::MemberSkipReason;

mod bulk;

/// A successful group write.
struct GroupWritten {
    /// The group's target id.
    id: String,
    status: u16,
    /// A create that found the group already there (409, or an uncertain outcome).
    adopted: bool,
    /// Members added or removed by it.
    members: usize,
}

/// What the group writes of a run work from: the target id of every active managed user (by
/// source id), and the ids of the groups created (or adopted) in this run, by group key.
struct GroupContext {
    user_ids: HashMap<String, String>,
    created: HashMap<String, String>,
}

impl Applier<'_> {
    /// Applies the group changes after the users', so new members have their ids.
    pub async fn apply_groups(
        &self,
        changes: &GroupChanges,
        state: &mut State,
        applied: &mut Applied,
    ) {
        for (key, managed) in &changes.remember {
            state.groups.insert(key.clone(), managed.clone());
        }
        for key in &changes.forget {
            state.groups.remove(key);
        }
        let mut context = GroupContext {
            user_ids: state
                .users
                .iter()
                .filter(|(_, u)| u.active)
                .map(|(source, u)| (source.clone(), u.id.clone()))
                .collect(),
            created: HashMap::new(),
        };
        let all: Vec<&GroupChange> = changes.changes.iter().collect();
        let singly = if self.offers.bulk.is_some() && all.len() >= 2 {
            self.write_groups_in_bulk(all, &mut context, state, applied)
                .await
        } else {
            all
        };
        for change in singly {
            if self.stopped() {
                let not_sent = Err(self.not_sent());
                self.settle_group(
                    change,
                    not_sent,
                    Duration::ZERO,
                    &mut context,
                    state,
                    applied,
                );
                continue;
            }
            let group_id = change
                .id
                .clone()
                .or_else(|| context.created.get(&change.group).cloned());
            let started = Instant::now();
            let outcome = self
                .write_group(change, group_id.as_deref(), &context, applied)
                .await;
            let latency = started.elapsed();
            self.settle_group(change, outcome, latency, &mut context, state, applied);
        }
    }

    /// Settles one group write's outcome, whichever way it was sent (alone or inside a bulk
    /// request): counts it, emits its event, records it in the state and commits the group.
    /// `Ok(None)`: nothing was left to send.
    fn settle_group(
        &self,
        change: &GroupChange,
        outcome: Result<Option<GroupWritten>, ClientError>,
        latency: Duration,
        context: &mut GroupContext,
        state: &mut State,
        applied: &mut Applied,
    ) {
        let attributes = match change.operation {
            Operation::GroupAddMembers | Operation::GroupRemoveMembers => {
                vec!["members".to_owned()]
            }
            _ => change.attributes.clone(),
        };
        match outcome {
            Ok(None) => {}
            Ok(Some(written)) => {
                let id = written.id;
                match change.operation {
                    Operation::GroupCreate => {
                        context.created.insert(change.group.clone(), id.clone());
                        if !written.adopted {
                            applied.groups_created += 1;
                        }
                    }
                    Operation::GroupUpdate => applied.groups_updated += 1,
                    Operation::GroupAddMembers => applied.members_added += written.members,
                    Operation::GroupRemoveMembers => applied.members_removed += written.members,
                    Operation::GroupDelete => applied.groups_deleted += 1,
                    _ => {}
                }
                if change.operation == Operation::GroupDelete {
                    state.groups.remove(&change.group);
                } else {
                    state.groups.insert(
                        change.group.clone(),
                        ManagedGroup {
                            id: id.clone(),
                            display_name: change.display_name.clone(),
                            // Known again once the group's writes are settled.
                            members: None,
                        },
                    );
                }
                let _kept_by_the_store = self.store.record_group(state, &change.group);
                let result = if written.adopted {
                    WriteResult::Adopted
                } else {
                    WriteResult::Applied
                };
                let subject = Subject {
                    operation: change.operation,
                    id: Some(&id),
                    name: &change.display_name,
                    attributes,
                };
                self.emit(subject, Some(written.status), result, latency);
            }
            // Not sent, or refused unapplied by a target that asked to be left alone (429).
            Err(ClientError::Cancelled { .. } | ClientError::Throttled { .. }) => {
                applied.not_started += 1;
                applied.groups_unsettled.insert(change.group.clone());
            }
            Err(error) => {
                applied.groups_unsettled.insert(change.group.clone());
                let group_id = change
                    .id
                    .clone()
                    .or_else(|| context.created.get(&change.group).cloned());
                let subject = Subject {
                    operation: change.operation,
                    id: group_id.as_deref(),
                    name: &change.display_name,
                    attributes,
                };
                self.fail(applied, subject, &error, latency);
            }
        }
    }

    /// One group write sent alone; `Ok(None)` when nothing was left to send.
    async fn write_group(
        &self,
        change: &GroupChange,
        group_id: Option<&str>,
        context: &GroupContext,
        applied: &mut Applied,
    ) -> Result<Option<GroupWritten>, ClientError> {
        let written = |id: &str, status: u16, members: usize| GroupWritten {
            id: id.to_owned(),
            status,
            adopted: false,
            members,
        };
        match change.operation {
            Operation::GroupCreate => {
                let resource = change.resource.as_ref().unwrap_or(&Json::Null);
                match self.client.create(ResourceType::Group, resource).await {
                    Ok((created, status)) => {
                        Ok(Some(written(id(&created).unwrap_or_default(), status, 0)))
                    }
                    Err(error) if error.status() == Some(409) || error.maybe_applied() => {
                        self.adopt_group(change, error).await.map(Some)
                    }
                    Err(error) => Err(error),
                }
            }
            Operation::GroupUpdate | Operation::GroupRemoveMembers => {
                let group_id = group_id.ok_or_else(|| self.group_not_created(change))?;
                let answer = self
                    .client
                    .patch(ResourceType::Group, group_id, &change.operations, true)
                    .await?;
                let members = match change.operation {
                    Operation::GroupRemoveMembers => change.members.len(),
                    _ => 0,
                };
                Ok(Some(written(group_id, answer.status, members)))
            }
            Operation::GroupAddMembers => {
                let group_id = group_id.ok_or_else(|| self.group_not_created(change))?;
                let ids = member_ids(change, &context.user_ids, applied);
                if ids.is_empty() {
                    return Ok(None);
                }
                let answer = self
                    .client
                    .patch(
                        ResourceType::Group,
                        group_id,
                        &[PatchOperation::add_members(&ids)],
                        false,
                    )
                    .await?;
                Ok(Some(written(group_id, answer.status, ids.len())))
            }
            Operation::GroupDelete => {
                let group_id = group_id.ok_or_else(|| self.group_not_created(change))?;
                let status = self.client.delete(ResourceType::Group, group_id).await?;
                Ok(Some(written(group_id, status, 0)))
            }
            _ => Ok(None),
        }
    }

    /// A group create that conflicted (409) or may have happened: the group is looked up by
    /// displayName and adopted if it is there; otherwise the create failed with `error`.
    async fn adopt_group(
        &self,
        change: &GroupChange,
        error: ClientError,
    ) -> Result<GroupWritten, ClientError> {
        let found = self
            .client
            .find(ResourceType::Group, "displayName", &change.display_name)
            .await?;
        match found.first().and_then(|g| id(g)) {
            Some(existing) => Ok(GroupWritten {
                id: existing.to_owned(),
                status: 200,
                adopted: true,
                members: 0,
            }),
            None => Err(error),
        }
    }

    /// The error of a write to a group whose create did not succeed.
    fn group_not_created(&self, change: &GroupChange) -> ClientError {
        ClientError::Protocol {
            method: reqwest::Method::PATCH,
            url: format!("{}/Groups", self.client.base()),
            reason: format!("group \"{}\" was not created", change.display_name),
        }
    }
}

/// The target ids of a member add's users; a user that has none (not created) is recorded as
/// a skipped member.
fn member_ids(
    change: &GroupChange,
    user_ids: &HashMap<String, String>,
    applied: &mut Applied,
) -> Vec<String> {
    let mut ids = Vec::new();
    for member in &change.members {
        let resolved = member.id.clone().or_else(|| {
            member
                .source_id
                .as_ref()
                .and_then(|s| user_ids.get(s).cloned())
        });
        match resolved {
            Some(id) => ids.push(id),
            None => applied.member_skips.push(MemberSkip {
                group: change.display_name.clone(),
                user: member.user_name.clone(),
                reason: MemberSkipReason::UserNotCreated,
            }),
        }
    }
    ids
}
