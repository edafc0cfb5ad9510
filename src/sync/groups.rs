//! Pushed groups: which directory groups go to the target, and what to create, rename, delete
//! and which members to add or remove. Pure, like `diff`: the desired users, the user plan,
//! the target's groups and the state come in, a list of group changes goes out.
//!
//! Members are users: a member is added when the user is provisioned (found, adopted or
//! created in this run, and active); one that is not is skipped with the reason. Only members
//! scimsync manages are ever removed, and a group is deleted only when `group_delete` is on.
//! Target peers keep no referential integrity for members and never fill `User.groups`, so
//! membership is always read from `/Groups`.

use crate::sync::skip::{MemberSkipReason, SkipReason};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;
use serde_json::Value as Json;

use super::desired::Desire;
use super::diff::{Action, Changes};
use super::event::Operation;
use super::settings::ActionsConfig;
use crate::state::State;
use scimsync_lang::mapping::Plan;
use scimsync_lang::record::Record;
use scimsync_lang::scim::patch::PatchOperation;
use scimsync_lang::scim::resource::id;
use scimsync_lang::scim::schema::CORE_GROUP;

/// A group as it should be on the target.
#[derive(Clone, Debug, PartialEq)]
pub struct DesiredGroup {
    /// The directory group's name: its identity in the state.
    pub key: String,
    pub display_name: String,
    pub external_id: Option<String>,
    /// Source ids of the members that should be on the target.
    pub members: BTreeSet<String>,
}

/// A member of a pushed group that is not pushed, and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MemberSkip {
    pub group: String,
    pub user: String,
    pub reason: MemberSkipReason,
}

/// A user named in a membership change: by source id when scimsync knows the user, with the
/// target id once known (a user created in this run gets its id during the run).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MemberRef {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "userName")]
    pub user_name: String,
}

/// One write to a group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupChange {
    pub operation: Operation,
    /// The directory group's name.
    pub group: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "displayName")]
    pub display_name: String,
    /// Create: the body. Update: the attributes set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<Json>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<String>,
    #[serde(skip)]
    pub operations: Vec<PatchOperation>,
    /// Add / remove members: who (one chunk).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberRef>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub adopted: bool,
}

/// Everything a run would do to groups.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupChanges {
    pub changes: Vec<GroupChange>,
    pub unchanged: usize,
    pub member_skips: Vec<MemberSkip>,
    /// Notices: groups no longer pushed and left alone, actions switched off.
    pub notices: Vec<String>,
    /// Groups found on the target by displayName (adopted) or already as desired.
    pub remember: Vec<(String, crate::state::ManagedGroup)>,
    /// Groups dropped from the state.
    pub forget: Vec<String>,
    /// Groups this run writes to, with the source ids of the members each holds once every
    /// write succeeded (see [`settle_members`]).
    pub settle: Vec<(String, Vec<String>)>,
}

impl GroupChanges {
    pub fn count(&self, operation: Operation) -> usize {
        self.changes
            .iter()
            .filter(|c| c.operation == operation)
            .count()
    }
}

/// What a run makes of a user, as far as group push cares.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MemberStatus<'a> {
    /// Provisioned and active: a member on the target.
    Active,
    Inactive,
    /// Skipped, for this reason.
    Skipped(&'a SkipReason),
    OutOfScope,
}

impl<'a> MemberStatus<'a> {
    pub fn of(desire: &'a Desire) -> MemberStatus<'a> {
        match desire {
            Desire::User(user) if user.active => MemberStatus::Active,
            Desire::User(_) => MemberStatus::Inactive,
            Desire::Skipped(skip) => MemberStatus::Skipped(&skip.reason),
            Desire::OutOfScope => MemberStatus::OutOfScope,
        }
    }
}

/// The pushed groups and their members, built one source user at a time as users are
/// mapped: only the members of pushed groups are kept, not the users.
pub struct PushedGroups<'p> {
    plan: &'p Plan,
    groups: BTreeMap<String, DesiredGroup>,
    skips: Vec<MemberSkip>,
}

impl<'p> PushedGroups<'p> {
    pub fn new(plan: &'p Plan) -> PushedGroups<'p> {
        PushedGroups {
            plan,
            groups: BTreeMap::new(),
            skips: Vec::new(),
        }
    }

    /// Counts `record` in the pushed groups it is in: a member when `status` is active,
    /// otherwise a skipped member with the reason.
    pub fn add(&mut self, record: &Record, status: MemberStatus<'_>) {
        if self.plan.groups.is_empty() {
            return;
        }
        for name in &record.groups {
            let Some(pushed) = self.plan.pushed_group(name) else {
                continue;
            };
            let group = self
                .groups
                .entry(name.clone())
                .or_insert_with(|| DesiredGroup {
                    key: name.clone(),
                    display_name: pushed.display_name.clone(),
                    external_id: pushed.external_id.clone(),
                    members: BTreeSet::new(),
                });
            let reason = match status {
                MemberStatus::Active => {
                    group.members.insert(record.id.clone());
                    continue;
                }
                MemberStatus::Inactive => MemberSkipReason::Inactive,
                MemberStatus::Skipped(why) => MemberSkipReason::Skipped(why.clone()),
                MemberStatus::OutOfScope => MemberSkipReason::OutOfScope,
            };
            self.skips.push(MemberSkip {
                group: group.display_name.clone(),
                user: record.label(),
                reason,
            });
        }
    }

    pub fn finish(self) -> (Vec<DesiredGroup>, Vec<MemberSkip>) {
        (self.groups.into_values().collect(), self.skips)
    }
}

/// Compares desired groups with the target's. `users` is the user plan of the same run: it
/// says which source users have (or will have) which target id.
pub fn diff_groups(
    desired: &[DesiredGroup],
    target_groups: &[Json],
    state: &State,
    users: &Changes,
    actions: &ActionsConfig,
    member_chunk: usize,
) -> GroupChanges {
    let mut differ = GroupDiffer::new(target_groups, state, users, actions, member_chunk);
    for group in desired {
        differ.desired_group(group);
    }
    differ.departed_groups(desired);
    differ.out
}

/// The lookups one group diff works from, and the changes it has found so far.
struct GroupDiffer<'a> {
    state: &'a State,
    actions: &'a ActionsConfig,
    /// Members per PATCH request (at least 1).
    chunk: usize,
    by_id: HashMap<&'a str, &'a Json>,
    /// Target groups by lowercased display name.
    by_name: HashMap<String, &'a Json>,
    /// Source id -> target id (None: created in this run) and userName, for every user that
    /// ends the run provisioned and active.
    member_ids: MemberIds<'a>,
    /// Target ids of the users scimsync manages (or will, after this run).
    managed_ids: HashSet<&'a str>,
    /// The userName the state knows for each managed target id.
    names: HashMap<&'a str, &'a str>,
    out: GroupChanges,
}

impl<'a> GroupDiffer<'a> {
    fn new(
        target_groups: &'a [Json],
        state: &'a State,
        users: &'a Changes,
        actions: &'a ActionsConfig,
        member_chunk: usize,
    ) -> GroupDiffer<'a> {
        let by_id = target_groups
            .iter()
            .filter_map(|g| Some((id(g)?, g)))
            .collect();
        let by_name = target_groups
            .iter()
            .filter_map(|g| Some((display_name(g)?.to_lowercase(), g)))
            .collect();
        let (member_ids, managed_ids) = provisioned_users(state, users);
        let names = state
            .users
            .values()
            .map(|u| (u.id.as_str(), u.user_name.as_str()))
            .collect();
        GroupDiffer {
            state,
            actions,
            chunk: member_chunk.max(1),
            by_id,
            by_name,
            member_ids,
            managed_ids,
            names,
            out: GroupChanges::default(),
        }
    }

    /// One desired group: found on the target (by the state's id, else by name) or not.
    fn desired_group(&mut self, group: &DesiredGroup) {
        let known = self.state.groups.get(&group.key);
        let by_state = known.and_then(|k| self.by_id.get(k.id.as_str()).copied());
        let found = by_state.or_else(|| {
            self.by_name
                .get(&group.display_name.to_lowercase())
                .copied()
        });
        let wanted = self.wanted_members(group);
        match found {
            Some(target) => self.found_group(group, target, &wanted, by_state.is_none()),
            None => self.missing_group(group, &wanted, known.is_some()),
        }
    }

    /// The group's source members that end the run provisioned and active.
    fn wanted_members(&self, group: &DesiredGroup) -> Vec<MemberRef> {
        group
            .members
            .iter()
            .filter_map(|source| {
                let (id, user_name) = self.member_ids.get(source.as_str())?;
                Some(MemberRef {
                    source_id: Some(source.clone()),
                    id: id.map(str::to_owned),
                    user_name: (*user_name).to_owned(),
                })
            })
            .collect()
    }

    /// A desired group the target does not hold: created, then its members added.
    fn missing_group(&mut self, group: &DesiredGroup, wanted: &[MemberRef], known: bool) {
        if known {
            self.out.forget.push(group.key.clone());
        }
        if !self.actions.group_create {
            self.out.notices.push(format!(
                "group \"{}\" is not on the target; `group_create` is off in [sync.actions]",
                group.display_name
            ));
            return;
        }
        let mut create = group_change(group, Operation::GroupCreate, None, false);
        let mut resource = serde_json::json!({
            "schemas": [CORE_GROUP],
            "displayName": group.display_name,
        });
        if let Some(external_id) = &group.external_id {
            resource["externalId"] = Json::String(external_id.clone());
        }
        create.resource = Some(resource);
        self.out.changes.push(create);
        self.out
            .settle
            .push((group.key.clone(), source_ids(wanted)));
        if self.actions.group_members {
            for members in wanted.chunks(self.chunk) {
                let mut add = group_change(group, Operation::GroupAddMembers, None, false);
                add.members = members.to_vec();
                self.out.changes.push(add);
            }
        }
    }

    /// A desired group found on the target: renamed and its members changed as needed, and
    /// remembered.
    fn found_group(
        &mut self,
        group: &DesiredGroup,
        target: &Json,
        wanted: &[MemberRef],
        adopted: bool,
    ) {
        let target_id = id(target).unwrap_or_default();
        let renamed = self.rename(group, target, target_id, adopted);
        let members_changed =
            self.actions.group_members && self.change_members(group, target, wanted, adopted);
        let members = if renamed || members_changed {
            // Known once the writes are settled (see `settle_members`).
            self.out
                .settle
                .push((group.key.clone(), source_ids(wanted)));
            None
        } else {
            self.out.unchanged += 1;
            Some(self.managed_members(target))
        };
        self.out.remember.push((
            group.key.clone(),
            crate::state::ManagedGroup {
                id: target_id.to_owned(),
                display_name: group.display_name.clone(),
                members,
            },
        ));
    }

    /// The members of `target` that are users scimsync manages.
    fn managed_members(&self, target: &Json) -> BTreeSet<String> {
        members(target)
            .filter(|id| self.managed_ids.contains(id))
            .map(str::to_owned)
            .collect()
    }

    /// Replaces `displayName` and `externalId` where the target's differ; true when a change
    /// was planned.
    fn rename(
        &mut self,
        group: &DesiredGroup,
        target: &Json,
        target_id: &str,
        adopted: bool,
    ) -> bool {
        let mut update = group_change(group, Operation::GroupUpdate, Some(target_id), adopted);
        if display_name(target) != Some(group.display_name.as_str()) {
            update.attributes.push("displayName".into());
            update.operations.push(PatchOperation::replace(
                "displayName",
                Json::String(group.display_name.clone()),
            ));
        }
        if let Some(external_id) = &group.external_id
            && target.get("externalId").and_then(Json::as_str) != Some(external_id)
        {
            update.attributes.push("externalId".into());
            update.operations.push(PatchOperation::replace(
                "externalId",
                Json::String(external_id.clone()),
            ));
        }
        if update.operations.is_empty() {
            return false;
        }
        if self.actions.group_rename {
            self.out.changes.push(update);
            return true;
        }
        self.out.notices.push(format!(
            "group \"{}\" differs on the target ({}); `group_rename` is off in [sync.actions]",
            group.display_name,
            update.attributes.join(", ")
        ));
        false
    }

    /// Adds the wanted members the target group lacks and removes managed users no longer
    /// wanted, in chunks; true when a change was planned.
    fn change_members(
        &mut self,
        group: &DesiredGroup,
        target: &Json,
        wanted: &[MemberRef],
        adopted: bool,
    ) -> bool {
        let target_id = id(target).unwrap_or_default();
        let present: HashSet<&str> = members(target).collect();
        let add: Vec<MemberRef> = wanted
            .iter()
            .filter(|m| m.id.as_deref().is_none_or(|id| !present.contains(id)))
            .cloned()
            .collect();
        let wanted_ids: HashSet<&str> = wanted.iter().filter_map(|m| m.id.as_deref()).collect();
        let remove: Vec<MemberRef> = members(target)
            .filter(|id| self.managed_ids.contains(id) && !wanted_ids.contains(id))
            .map(|id| MemberRef {
                source_id: None,
                id: Some(id.to_owned()),
                user_name: self.names.get(id).copied().unwrap_or(id).to_owned(),
            })
            .collect();
        let mut changed = false;
        for members in add.chunks(self.chunk) {
            let mut change =
                group_change(group, Operation::GroupAddMembers, Some(target_id), adopted);
            change.members = members.to_vec();
            self.out.changes.push(change);
            changed = true;
        }
        for members in remove.chunks(self.chunk) {
            let mut change = group_change(
                group,
                Operation::GroupRemoveMembers,
                Some(target_id),
                adopted,
            );
            change.operations = members
                .iter()
                .filter_map(|m| m.id.as_deref().map(PatchOperation::remove_member))
                .collect();
            change.members = members.to_vec();
            self.out.changes.push(change);
            changed = true;
        }
        changed
    }

    /// Groups scimsync pushed that no statement selects any more.
    fn departed_groups(&mut self, desired: &[DesiredGroup]) {
        let desired_keys: HashSet<&str> = desired.iter().map(|g| g.key.as_str()).collect();
        for (key, managed) in &self.state.groups {
            if desired_keys.contains(key.as_str()) {
                continue;
            }
            if !self.by_id.contains_key(managed.id.as_str()) {
                self.out.forget.push(key.clone());
            } else if self.actions.group_delete {
                self.out.changes.push(GroupChange {
                    operation: Operation::GroupDelete,
                    group: key.clone(),
                    id: Some(managed.id.clone()),
                    display_name: managed.display_name.clone(),
                    resource: None,
                    attributes: Vec::new(),
                    operations: Vec::new(),
                    members: Vec::new(),
                    adopted: false,
                });
            } else {
                self.out.notices.push(format!(
                    "group \"{}\" is no longer pushed; it is left on the target and no longer managed (`group_delete` is off)",
                    managed.display_name
                ));
                self.out.forget.push(key.clone());
            }
        }
    }
}

/// The source ids of `members`.
fn source_ids(members: &[MemberRef]) -> Vec<String> {
    members.iter().filter_map(|m| m.source_id.clone()).collect()
}

/// After a run's group writes: each group written to holds, when every write to it succeeded,
/// exactly its wanted members (the target ids they have now); a group in `unsettled` (a write
/// failed or was not sent) holds what is not known, and the next run lists `/Groups`. Returns
/// the keys whose entry changed.
pub fn settle_members(
    changes: &GroupChanges,
    unsettled: &BTreeSet<String>,
    state: &mut State,
) -> Vec<String> {
    let mut settled = Vec::new();
    for (key, wanted) in &changes.settle {
        let members = (!unsettled.contains(key)).then(|| {
            wanted
                .iter()
                .filter_map(|source| state.users.get(source))
                .filter(|user| user.active)
                .map(|user| user.id.clone())
                .collect::<BTreeSet<String>>()
        });
        if let Some(group) = state.groups.get_mut(key) {
            group.members = members;
            settled.push(key.clone());
        }
    }
    settled
}

/// The pushed groups as scimsync last left them, for an incremental run's group diff in place
/// of listing `/Groups`: `None` when any of them is not known, or a desired group is new (it
/// may be on the target already, under its name: a listing finds it).
pub fn as_last_left(desired: &[DesiredGroup], state: &State) -> Option<Vec<Json>> {
    if desired.iter().any(|g| !state.groups.contains_key(&g.key)) {
        return None;
    }
    let external_ids: HashMap<&str, &str> = desired
        .iter()
        .filter_map(|g| Some((g.key.as_str(), g.external_id.as_deref()?)))
        .collect();
    state
        .groups
        .iter()
        .map(|(key, group)| {
            let members: Vec<Json> = group
                .members
                .as_ref()?
                .iter()
                .map(|id| serde_json::json!({ "value": id }))
                .collect();
            let mut resource = serde_json::json!({
                "schemas": [CORE_GROUP],
                "id": group.id,
                "displayName": group.display_name,
                "members": members,
            });
            // Written with the group whenever it was created or renamed.
            if let Some(external_id) = external_ids.get(key.as_str()) {
                resource["externalId"] = Json::String((*external_id).to_owned());
            }
            Some(resource)
        })
        .collect()
}

/// Source id -> target id (`None`: created in this run) and userName.
type MemberIds<'a> = HashMap<&'a str, (Option<&'a str>, &'a str)>;

/// Source id -> target id (None: created in this run) and userName for every user that ends
/// the run provisioned and active; and the target ids of every managed user.
fn provisioned_users<'a>(
    state: &'a State,
    users: &'a Changes,
) -> (MemberIds<'a>, HashSet<&'a str>) {
    let mut member_ids = MemberIds::new();
    let mut managed_ids: HashSet<&str> = state.users.values().map(|u| u.id.as_str()).collect();
    for (source, managed) in &users.remember {
        managed_ids.insert(managed.id.as_str());
        if managed.active {
            member_ids.insert(source, (Some(managed.id.as_str()), &managed.user_name));
        }
    }
    for change in &users.changes {
        let Some(source) = change.source_id.as_deref() else {
            continue;
        };
        if let Some(id) = change.id.as_deref() {
            managed_ids.insert(id);
        }
        if matches!(
            change.action,
            Action::Create | Action::Update | Action::Reactivate
        ) {
            member_ids.insert(source, (change.id.as_deref(), &change.user_name));
        }
    }
    (member_ids, managed_ids)
}

/// A change to `group` with nothing in it yet.
fn group_change(
    group: &DesiredGroup,
    operation: Operation,
    id: Option<&str>,
    adopted: bool,
) -> GroupChange {
    GroupChange {
        operation,
        group: group.key.clone(),
        id: id.map(str::to_owned),
        display_name: group.display_name.clone(),
        resource: None,
        attributes: Vec::new(),
        operations: Vec::new(),
        members: Vec::new(),
        adopted,
    }
}

fn display_name(group: &Json) -> Option<&str> {
    scimsync_lang::scim::path::get_ci(group, "displayName").and_then(Json::as_str)
}

/// The member ids of a target group.
fn members(group: &Json) -> impl Iterator<Item = &str> {
    scimsync_lang::scim::path::get_ci(group, "members")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| scimsync_lang::scim::path::get_ci(m, "value").and_then(Json::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{ManagedGroup, ManagedUser};
    use crate::sync::diff::{Policy, diff};
    use scimsync_lang::mapping::{SourceFile, compile};
    use serde_json::json;

    const MAP: &str = "userName <- user.email\ngroup \"eng\" as \"Engineering\" external id \"g-eng\"\ngroups matching \"^team-\"\n";

    fn record(id: &str, email: &str, active: bool, groups: &[&str]) -> Record {
        let mut r = Record::from_flat_json(id.into(), json!({"email": email}).as_object().unwrap());
        r.active = active;
        r.groups = groups.iter().map(|g| g.to_string()).collect();
        r
    }

    #[test]
    fn creates_renames_chunks_and_removes_only_managed_members() {
        let plan = compile(&SourceFile::new("t.map", MAP)).unwrap();
        let records = [
            record("1", "a@x", true, &["eng", "team-x", "other"]),
            record("2", "b@x", true, &["eng"]),
            record("3", "c@x", true, &["eng"]),
            record("4", "d@x", false, &["eng"]),
        ];
        let mut planner = crate::sync::SourcePlanner::new(&plan, chrono::Utc::now(), &[]);
        records.iter().for_each(|r| planner.add(r));
        let crate::sync::SourceDesired {
            desired,
            groups,
            member_skips: skips,
        } = planner.finish();
        assert_eq!(
            groups
                .iter()
                .map(|g| (g.display_name.as_str(), g.members.len()))
                .collect::<Vec<_>>(),
            [("Engineering", 3), ("team-x", 1)]
        );
        assert_eq!(skips.len(), 1);
        assert_eq!(
            (skips[0].user.as_str(), &skips[0].reason),
            ("4 (d@x)", &MemberSkipReason::Inactive)
        );

        let mut state = State::new("http://t");
        for (s, id) in [("1", "u1"), ("2", "u2"), ("9", "u9")] {
            state
                .users
                .insert(s.into(), ManagedUser::new(id, format!("{s}@x"), true));
        }
        state.groups.insert(
            "eng".into(),
            ManagedGroup {
                id: "g1".into(),
                display_name: "Eng".into(),
                members: None,
            },
        );
        state.groups.insert(
            "old".into(),
            ManagedGroup {
                id: "g2".into(),
                display_name: "Old".into(),
                members: None,
            },
        );
        let target_users = vec![
            json!({"id": "u1", "userName": "a@x"}),
            json!({"id": "u2", "userName": "b@x"}),
            json!({"id": "u9", "userName": "gone@x"}),
        ];
        let users = diff(
            &desired,
            &target_users,
            &state,
            &plan.match_path,
            &Policy::default(),
        );
        let target_groups = vec![
            // u9 is managed and no longer wanted; "outsider" is not ours and stays.
            json!({"id": "g1", "displayName": "Eng", "members": [{"value": "u1"}, {"value": "u9"}, {"value": "outsider"}]}),
            json!({"id": "g2", "displayName": "Old"}),
        ];
        let actions = ActionsConfig::default();
        let out = diff_groups(&groups, &target_groups, &state, &users, &actions, 1);
        let summary: Vec<(Operation, String, Vec<String>)> = out
            .changes
            .iter()
            .map(|c| {
                (
                    c.operation,
                    c.display_name.clone(),
                    c.members
                        .iter()
                        .map(|m| {
                            m.id.clone()
                                .unwrap_or_else(|| format!("new {}", m.user_name))
                        })
                        .collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (Operation::GroupUpdate, "Engineering".into(), vec![]),
                (
                    Operation::GroupAddMembers,
                    "Engineering".into(),
                    vec!["u2".into()]
                ),
                (
                    Operation::GroupAddMembers,
                    "Engineering".into(),
                    vec!["new c@x".into()]
                ),
                (
                    Operation::GroupRemoveMembers,
                    "Engineering".into(),
                    vec!["u9".into()]
                ),
                (Operation::GroupCreate, "team-x".into(), vec![]),
                (
                    Operation::GroupAddMembers,
                    "team-x".into(),
                    vec!["u1".into()]
                ),
            ]
        );
        assert_eq!(out.changes[0].attributes, ["displayName", "externalId"]);
        assert_eq!(
            serde_json::to_value(&out.changes[3].operations).unwrap(),
            json!([{"op": "remove", "path": "members[value eq \"u9\"]"}])
        );
        assert_eq!(
            out.notices,
            [
                "group \"Old\" is no longer pushed; it is left on the target and no longer managed (`group_delete` is off)"
            ]
        );
        assert_eq!(out.forget, ["old"]);

        let deleting = ActionsConfig {
            group_delete: true,
            ..ActionsConfig::default()
        };
        let out = diff_groups(&groups, &target_groups, &state, &users, &deleting, 100);
        assert_eq!(out.count(Operation::GroupDelete), 1);
    }
}
