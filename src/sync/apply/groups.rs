//! Group writes, after the users' (so new members have their ids): create, rename, member
//! changes in chunks, and delete.

use super::*;
use crate::sync::skip::MemberSkipReason;

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
        let user_ids: HashMap<String, String> = state
            .users
            .iter()
            .filter(|(_, u)| u.active)
            .map(|(source, u)| (source.clone(), u.id.clone()))
            .collect();
        // Group ids created in this run, by directory group name.
        let mut created: HashMap<String, String> = HashMap::new();
        for change in &changes.changes {
            if self.stopped() {
                applied.not_started += 1;
                continue;
            }
            let group_id = change
                .id
                .clone()
                .or_else(|| created.get(&change.group).cloned());
            let started = Instant::now();
            let outcome = self
                .write_group(change, group_id.as_deref(), &user_ids, applied)
                .await;
            let latency = started.elapsed();
            let attributes = match change.operation {
                Operation::GroupAddMembers | Operation::GroupRemoveMembers => {
                    vec!["members".to_owned()]
                }
                _ => change.attributes.clone(),
            };
            match outcome {
                Ok(None) => {}
                Ok(Some((id, status, adopted))) => {
                    match change.operation {
                        Operation::GroupCreate => {
                            created.insert(change.group.clone(), id.clone());
                            if !adopted {
                                applied.groups_created += 1;
                            }
                        }
                        Operation::GroupUpdate => applied.groups_updated += 1,
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
                    let result = if adopted {
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
                    self.emit(subject, Some(status), result, latency);
                }
                // Not sent, or refused unapplied by a target that asked to be left alone (429).
                Err(ClientError::Cancelled { .. } | ClientError::Throttled { .. }) => {
                    applied.not_started += 1;
                }
                Err(error) => {
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
    }

    /// One group write; `Ok(None)` when nothing was left to send.
    async fn write_group(
        &self,
        change: &GroupChange,
        group_id: Option<&str>,
        user_ids: &HashMap<String, String>,
        applied: &mut Applied,
    ) -> Result<Option<(String, u16, bool)>, ClientError> {
        let missing_group = || ClientError::Protocol {
            method: reqwest::Method::PATCH,
            url: format!("{}/Groups", self.client.base()),
            reason: format!("group \"{}\" was not created", change.display_name),
        };
        match change.operation {
            Operation::GroupCreate => {
                let resource = change.resource.as_ref().unwrap_or(&Json::Null);
                match self.client.create(ResourceType::Group, resource).await {
                    Ok((created, status)) => Ok(Some((
                        id(&created).unwrap_or_default().to_owned(),
                        status,
                        false,
                    ))),
                    Err(error) if error.status() == Some(409) || error.maybe_applied() => {
                        let found = self
                            .client
                            .find(ResourceType::Group, "displayName", &change.display_name)
                            .await?;
                        match found.first().and_then(|g| id(g)) {
                            Some(existing) => Ok(Some((existing.to_owned(), 200, true))),
                            None => Err(error),
                        }
                    }
                    Err(error) => Err(error),
                }
            }
            Operation::GroupUpdate | Operation::GroupRemoveMembers => {
                let group_id = group_id.ok_or_else(missing_group)?;
                let answer = self
                    .client
                    .patch(ResourceType::Group, group_id, &change.operations, true)
                    .await?;
                if change.operation == Operation::GroupRemoveMembers {
                    applied.members_removed += change.members.len();
                }
                Ok(Some((group_id.to_owned(), answer.status, false)))
            }
            Operation::GroupAddMembers => {
                let group_id = group_id.ok_or_else(missing_group)?;
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
                applied.members_added += ids.len();
                Ok(Some((group_id.to_owned(), answer.status, false)))
            }
            Operation::GroupDelete => {
                let group_id = group_id.ok_or_else(missing_group)?;
                let status = self.client.delete(ResourceType::Group, group_id).await?;
                Ok(Some((group_id.to_owned(), status, false)))
            }
            _ => Ok(None),
        }
    }
}
