//! How a run's plan and results are shown: a readable diff for people, JSON for machines.

pub mod targets;

use std::fmt::Write as _;

use serde_json::{Value as Json, json};

use serde::Serialize;

use super::apply::Applied;
use super::desired::Skip;
use super::diff::{Action, Change, Changes};
use super::event::Operation;
use super::groups::{GroupChange, GroupChanges, MemberSkip};
use super::safety::Violation;
use super::{RunReport, SyncError};
use scimsync_lang::mapping::render_all;
use scimsync_scim::client::{ClientError, RequestTotals};
use scimsync_scim::throttle::HeldOff;

/// Extension aliases (`b44` for `urn:base44:…:2.0`) used to shorten paths for people.
pub type Aliases = [(String, String)];

/// A path as the `.map` file would write it: `b44:role` rather than the full URN.
pub fn short_path(path: &str, aliases: &Aliases) -> String {
    aliases
        .iter()
        .filter(|(_, urn)| {
            path.len() > urn.len()
                && path.starts_with(urn.as_str())
                && path[urn.len()..].starts_with(':')
        })
        .max_by_key(|(_, urn)| urn.len())
        .map_or_else(
            || path.to_owned(),
            |(alias, urn)| format!("{alias}{}", &path[urn.len()..]),
        )
}

/// The plan for people. With `detail`, every attribute of every change (`path: old -> new`);
/// without, one line per change. Then skipped users and the summary line; `group_writes` (the
/// group changes planned beside these) keeps "No changes" from being said while any are.
pub fn text(changes: &Changes, aliases: &Aliases, detail: bool, group_writes: usize) -> String {
    let mut out = String::new();
    for change in &changes.changes {
        let change = change.shown();
        let marker = match change.action {
            Action::Create => '+',
            Action::Update | Action::Reactivate => '~',
            Action::Deactivate | Action::Delete => '-',
        };
        let adopted = match (&change.takes_over, change.adopted) {
            (Some(old), _) => format!(" (taken over from source user {old}: re-created)"),
            (None, true) => " (existing user, adopted)".to_owned(),
            (None, false) => String::new(),
        };
        let _ = write!(
            out,
            "{marker} {} {}{adopted}",
            change.action.verb(),
            change.user_name
        );
        if matches!(change.action, Action::Deactivate | Action::Delete) {
            out.push('\n');
            continue;
        }
        if !detail {
            let names: Vec<String> = change
                .attributes
                .iter()
                .map(|a| short_path(&a.path(), aliases))
                .collect();
            if change.action != Action::Create && !names.is_empty() {
                let _ = write!(out, ": {}", names.join(", "));
            }
            out.push('\n');
            continue;
        }
        out.push('\n');
        for attribute in &change.attributes {
            let path = short_path(&attribute.path(), aliases);
            match (&attribute.old, change.action) {
                (_, Action::Create) => {
                    let _ = writeln!(out, "    {path}: {}", attribute.new);
                }
                (Some(old), _) => {
                    let _ = writeln!(out, "    {path}: {old} -> {}", attribute.new);
                }
                (None, _) => {
                    let _ = writeln!(out, "    {path}: (none) -> {}", attribute.new);
                }
            }
        }
    }
    for skip in &changes.skipped {
        let _ = writeln!(out, "! skip {}: {}", skip.user, skip.reason);
    }
    for takeover in &changes.taken_over {
        let _ = writeln!(out, "{}", takeover.line());
    }
    out.push_str(&super::kept::lines(&changes.not_kept, aliases));
    match (changes.is_empty(), group_writes) {
        (true, 0) => out.push_str("No changes: the target is up to date.\n"),
        (true, n) => {
            let _ = writeln!(out, "No user changes; {n} group change(s) planned.");
        }
        _ => {}
    }
    out.push_str(&summary(changes));
    out.push('\n');
    out
}

/// The whole plan of a run for people: user changes, group changes, member skips (counted per
/// group and reason), the threshold verdict of a dry run, and the summary lines.
pub fn report_text(report: &RunReport, detail: bool) -> String {
    report_text_listing(report, detail, false)
}

/// [`report_text`], with every member skip on a line of its own when `verbose` (-v). A dry
/// run (`detail`) opens with the run's kind and why (`Run: incremental: last full run …`).
pub fn report_text_listing(report: &RunReport, detail: bool, verbose: bool) -> String {
    let groups = &report.groups;
    let mut out = String::new();
    if detail && !report.kind.why.is_empty() {
        let _ = writeln!(out, "Run: {}", report.kind.why);
    }
    out.push_str(&text(
        &report.changes,
        &report.aliases,
        detail,
        groups.changes.len(),
    ));
    if !groups.changes.is_empty() || !groups.notices.is_empty() || !report.member_skips.is_empty() {
        out.push_str(&groups_text(groups));
        out.push_str(&member_skips_text(&report.member_skips, verbose));
        out.push_str(&group_summary(groups));
        out.push('\n');
    }
    if let Some(violation) = &report.safety {
        let _ = writeln!(out, "! stop: {}", violation.message());
    }
    out
}

/// Members of pushed groups that are not pushed: each one when `verbose`; otherwise one line
/// per group and reason (a directory keeps disabled users in their groups: hundreds of them).
fn member_skips_text(skips: &[MemberSkip], verbose: bool) -> String {
    let mut out = String::new();
    let mut counted: Vec<(&MemberSkip, usize)> = Vec::new();
    for skip in skips {
        if verbose {
            let _ = writeln!(out, "{}", member_skip_line(skip));
            continue;
        }
        match counted
            .iter_mut()
            .find(|(first, _)| first.group == skip.group && first.reason == skip.reason)
        {
            Some((_, count)) => *count += 1,
            None => counted.push((skip, 1)),
        }
    }
    for (first, count) in counted {
        if count == 1 {
            let _ = writeln!(out, "{}", member_skip_line(first));
        } else {
            let _ = writeln!(
                out,
                "! skip {count} members of group {}: {} (-v lists them)",
                first.group, first.reason
            );
        }
    }
    out
}

fn member_skip_line(skip: &MemberSkip) -> String {
    format!(
        "! skip member {} of group {}: {}",
        skip.user, skip.group, skip.reason
    )
}

fn groups_text(groups: &GroupChanges) -> String {
    let mut out = String::new();
    for change in &groups.changes {
        let adopted = if change.adopted {
            " (existing group, adopted)"
        } else {
            ""
        };
        let names = || {
            change
                .members
                .iter()
                .map(|m| m.user_name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = match change.operation {
            Operation::GroupCreate => writeln!(out, "+ create group {}", change.display_name),
            Operation::GroupUpdate => writeln!(
                out,
                "~ update group {}{adopted}: {}",
                change.display_name,
                change.attributes.join(", ")
            ),
            Operation::GroupAddMembers => writeln!(
                out,
                "~ group {}{adopted}: add {} member(s): {}",
                change.display_name,
                change.members.len(),
                names()
            ),
            Operation::GroupRemoveMembers => writeln!(
                out,
                "~ group {}{adopted}: remove {} member(s): {}",
                change.display_name,
                change.members.len(),
                names()
            ),
            Operation::GroupDelete => writeln!(
                out,
                "- DELETE group {} (and whatever the app keeps in it: group_delete is on)",
                change.display_name
            ),
            _ => Ok(()),
        };
    }
    for notice in &groups.notices {
        let _ = writeln!(out, "! {notice}");
    }
    out
}

/// `Groups: 1 to create, 0 to update, 2 membership changes, 0 to delete; 3 unchanged.`
pub fn group_summary(groups: &GroupChanges) -> String {
    format!(
        "Groups: {} to create, {} to update, {} membership change(s), {} to delete; {} unchanged.",
        groups.count(Operation::GroupCreate),
        groups.count(Operation::GroupUpdate),
        groups.count(Operation::GroupAddMembers) + groups.count(Operation::GroupRemoveMembers),
        groups.count(Operation::GroupDelete),
        groups.unchanged
    )
}

/// `Plan: 1 to create, 2 to update, 0 to reactivate, 1 to deactivate; 17 unchanged, 1 skipped.`
/// (`, N to delete` appears when deletion is planned.)
pub fn summary(changes: &Changes) -> String {
    let deletes = changes.count(Action::Delete);
    let delete = if deletes > 0 {
        format!(", {deletes} to delete")
    } else {
        String::new()
    };
    format!(
        "Plan: {} to create, {} to update, {} to reactivate, {} to deactivate{delete}; {} unchanged, {} skipped.",
        changes.count(Action::Create),
        changes.count(Action::Update),
        changes.count(Action::Reactivate),
        changes.count(Action::Deactivate),
        changes.unchanged,
        changes.skipped.len()
    )
}

/// `Applied: 1 created, 2 updated, 0 reactivated, 1 deactivated; 0 failed.` plus one line per failure.
pub fn applied_text(applied: &Applied) -> String {
    applied_text_listing(applied, false)
}

/// [`applied_text`], with every member skip on a line of its own when `verbose` (-v).
pub fn applied_text_listing(applied: &Applied, verbose: bool) -> String {
    let mut out = String::new();
    for failure in &applied.failures {
        if failure.failure.outcome_unknown {
            let _ = writeln!(
                out,
                "? pending create {}: {}; the target may have created the user. It is not sent again: the next run looks the user up and adopts it, or creates it if it is not there",
                failure.name, failure.failure.error
            );
            continue;
        }
        let _ = writeln!(out, "! {}", failure.line());
    }
    out.push_str(&member_skips_text(&applied.member_skips, verbose));
    out.push_str(&super::kept::lines(&applied.not_kept, &[]));
    let mut extra = String::new();
    if applied.adopted > 0 {
        let _ = write!(extra, ", {} adopted", applied.adopted);
    }
    if applied.deleted > 0 {
        let _ = write!(extra, ", {} deleted", applied.deleted);
    }
    let pending = match applied.pending {
        0 => String::new(),
        n => format!(" ({n} of them pending: outcome unknown)"),
    };
    let _ = writeln!(
        out,
        "Applied: {} created, {} updated, {} reactivated, {} deactivated{extra}; {} failed{pending}.",
        applied.created,
        applied.updated,
        applied.reactivated,
        applied.deactivated,
        applied.failures.len()
    );
    let group_writes = applied.groups_created
        + applied.groups_updated
        + applied.groups_deleted
        + applied.members_added
        + applied.members_removed;
    if group_writes > 0 {
        let _ = writeln!(
            out,
            "Groups: {} created, {} updated, {} deleted; {} member(s) added, {} removed.",
            applied.groups_created,
            applied.groups_updated,
            applied.groups_deleted,
            applied.members_added,
            applied.members_removed
        );
    }
    if applied.not_started > 0 {
        let _ = writeln!(
            out,
            "Stopped: {} write(s) not started; the state holds everything done.",
            applied.not_started
        );
    }
    out
}

/// A whole run as one JSON document: the plan (users and groups), the threshold verdict, and
/// after a real run what was applied and the request counts.
pub fn report_json(report: &RunReport, dry_run: bool) -> JsonReport<'_> {
    let (changes, groups) = (&report.changes, &report.groups);
    JsonReport {
        dry_run,
        summary: json!({
            "create": changes.count(Action::Create),
            "update": changes.count(Action::Update),
            "reactivate": changes.count(Action::Reactivate),
            "deactivate": changes.count(Action::Deactivate),
            "delete": changes.count(Action::Delete),
            "unchanged": changes.unchanged,
            "skipped": changes.skipped.len(),
        }),
        changes: ShownChanges(&changes.changes),
        skipped: &changes.skipped,
        taken_over: &changes.taken_over,
        not_kept: &changes.not_kept,
        applied: report.applied.as_ref(),
        run_id: &report.run_id,
        groups: JsonGroups {
            summary: json!({
                "create": groups.count(Operation::GroupCreate),
                "update": groups.count(Operation::GroupUpdate),
                "add_members": groups.count(Operation::GroupAddMembers),
                "remove_members": groups.count(Operation::GroupRemoveMembers),
                "delete": groups.count(Operation::GroupDelete),
                "unchanged": groups.unchanged,
            }),
            changes: &groups.changes,
            notices: &groups.notices,
            member_skips: &report.member_skips,
        },
        safety: report.safety.as_ref(),
        requests: report.requests,
        run: &report.kind,
    }
}

/// The plan (and, after a real run, what was applied) as one JSON document, serialised
/// straight from the report: a first sync of 100,000 users plans 100,000 creates, and a copy
/// of them as a JSON tree would double the run's memory.
#[derive(Serialize)]
pub struct JsonReport<'a> {
    dry_run: bool,
    summary: Json,
    changes: ShownChanges<'a>,
    skipped: &'a [Skip],
    /// Takeovers that needed no write (see `sync::takeover`).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    taken_over: &'a [super::takeover::TakenOver],
    /// Values the target did not keep, noticed in this listing (see `sync::kept`).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    not_kept: &'a [super::kept::NotKept],
    #[serde(skip_serializing_if = "Option::is_none")]
    applied: Option<&'a Applied>,
    run_id: &'a str,
    groups: JsonGroups<'a>,
    safety: Option<&'a Violation>,
    requests: RequestTotals,
    /// Full or incremental, and why.
    run: &'a super::kind::Decided,
}

#[derive(Serialize)]
struct JsonGroups<'a> {
    summary: Json,
    changes: &'a [GroupChange],
    notices: &'a [String],
    member_skips: &'a [MemberSkip],
}

/// Changes as they are shown: redacted values as `[Redact]`, and a create with the body it
/// sends (built one change at a time, as it is written out).
struct ShownChanges<'a>(&'a [Change]);

#[derive(Serialize)]
struct ShownChange<'a> {
    #[serde(flatten)]
    change: std::borrow::Cow<'a, Change>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<Json>,
}

impl Serialize for ShownChanges<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|change| {
            let change = change.shown();
            ShownChange {
                resource: change.body(),
                change,
            }
        }))
    }
}

/// A failed run's text: a mapping's diagnostics, compiler style, before the headline; a
/// target that asked for a long pause says when to run again; anything else `error: ...`.
/// The CLI prints it on stderr and the daemon logs it for a config it cannot load.
pub fn error_text(error: &SyncError) -> String {
    match error {
        SyncError::Mapping {
            file, diagnostics, ..
        } => format!("{}{error}", render_all(diagnostics, file)),
        SyncError::Target(ClientError::Throttled { held, .. }) => {
            format!("error: {error}; {}", run_again_after(held))
        }
        other => format!("error: {other}"),
    }
}

/// When the next run may go, for a target that asked for a long pause.
pub fn run_again_after(held: &HeldOff) -> String {
    format!(
        "run sync again after {}",
        held.until.format("%Y-%m-%d %H:%M:%S UTC")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::groups::MemberRef;
    use crate::sync::skip::MemberSkipReason;

    fn report(groups: GroupChanges) -> RunReport {
        RunReport {
            run_id: "r".into(),
            changes: Changes::default(),
            groups,
            member_skips: Vec::new(),
            applied: None,
            safety: None,
            requests: RequestTotals::default(),
            cancelled: false,
            held_off: None,
            aliases: Vec::new(),
            kind: crate::sync::kind::Decided::default(),
        }
    }

    fn skip(group: &str, user: &str, reason: MemberSkipReason) -> MemberSkip {
        MemberSkip {
            group: group.into(),
            user: user.into(),
            reason,
        }
    }

    #[test]
    fn no_changes_is_not_said_while_group_changes_are_planned() {
        let remove = GroupChange {
            operation: Operation::GroupRemoveMembers,
            group: "eng".into(),
            id: Some("g1".into()),
            display_name: "Engineering".into(),
            resource: None,
            attributes: Vec::new(),
            operations: Vec::new(),
            members: vec![MemberRef {
                source_id: Some("s1".into()),
                id: Some("u1".into()),
                user_name: "ada@x".into(),
            }],
            adopted: false,
        };
        let groups = GroupChanges {
            changes: vec![remove],
            ..GroupChanges::default()
        };
        assert_eq!(
            report_text(&report(groups), false),
            "No user changes; 1 group change(s) planned.\n\
             Plan: 0 to create, 0 to update, 0 to reactivate, 0 to deactivate; 0 unchanged, 0 skipped.\n\
             ~ group Engineering: remove 1 member(s): ada@x\n\
             Groups: 0 to create, 0 to update, 1 membership change(s), 0 to delete; 0 unchanged.\n"
        );
        assert!(
            report_text(&report(GroupChanges::default()), false)
                .starts_with("No changes: the target is up to date.\n")
        );
    }

    #[test]
    fn member_skips_are_counted_per_group_and_reason_unless_verbose() {
        let inactive = || MemberSkipReason::Inactive;
        let skips = [
            skip("All Staff", "u1 (a@x)", inactive()),
            skip("All Staff", "u2 (b@x)", inactive()),
            skip("Sales", "u2 (b@x)", inactive()),
            skip("All Staff", "u3 (c@x)", MemberSkipReason::OutOfScope),
            skip("All Staff", "u4 (d@x)", inactive()),
        ];
        assert_eq!(
            member_skips_text(&skips, false),
            "! skip 3 members of group All Staff: the user is inactive (-v lists them)\n\
             ! skip member u2 (b@x) of group Sales: the user is inactive\n\
             ! skip member u3 (c@x) of group All Staff: the user is out of scope\n"
        );
        assert_eq!(
            member_skips_text(&skips, true),
            "! skip member u1 (a@x) of group All Staff: the user is inactive\n\
             ! skip member u2 (b@x) of group All Staff: the user is inactive\n\
             ! skip member u2 (b@x) of group Sales: the user is inactive\n\
             ! skip member u3 (c@x) of group All Staff: the user is out of scope\n\
             ! skip member u4 (d@x) of group All Staff: the user is inactive\n"
        );
    }
}
