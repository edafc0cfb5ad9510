//! How a run's plan and results are shown: a readable diff for people, JSON for machines.

use std::fmt::Write as _;

use serde_json::{Value as Json, json};

use super::apply::Applied;
use super::diff::{Action, Changes};

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
/// without, one line per change. Then skipped users and the summary line.
pub fn text(changes: &Changes, aliases: &Aliases, detail: bool) -> String {
    let mut out = String::new();
    for change in &changes.changes {
        let marker = match change.action {
            Action::Create => '+',
            Action::Update | Action::Reactivate => '~',
            Action::Deactivate => '-',
        };
        let adopted = if change.adopted {
            " (existing user, adopted)"
        } else {
            ""
        };
        let _ = write!(
            out,
            "{marker} {} {}{adopted}",
            change.action.verb(),
            change.user_name
        );
        if change.action == Action::Deactivate {
            out.push('\n');
            continue;
        }
        if !detail {
            let names: Vec<String> = change
                .attributes
                .iter()
                .map(|a| short_path(&a.path, aliases))
                .collect();
            if change.action != Action::Create && !names.is_empty() {
                let _ = write!(out, ": {}", names.join(", "));
            }
            out.push('\n');
            continue;
        }
        out.push('\n');
        for attribute in &change.attributes {
            let path = short_path(&attribute.path, aliases);
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
    if changes.is_empty() {
        out.push_str("No changes: the target is up to date.\n");
    }
    out.push_str(&summary(changes));
    out.push('\n');
    out
}

/// `Plan: 1 to create, 2 to update, 0 to reactivate, 1 to deactivate; 17 unchanged, 1 skipped.`
pub fn summary(changes: &Changes) -> String {
    format!(
        "Plan: {} to create, {} to update, {} to reactivate, {} to deactivate; {} unchanged, {} skipped.",
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
    let mut out = String::new();
    for failure in &applied.failures {
        let _ = writeln!(
            out,
            "! failed to {} {}: {}",
            failure.action.verb(),
            failure.user_name,
            failure.error
        );
    }
    let _ = writeln!(
        out,
        "Applied: {} created, {} updated, {} reactivated, {} deactivated; {} failed.",
        applied.created,
        applied.updated,
        applied.reactivated,
        applied.deactivated,
        applied.failures.len()
    );
    out
}

/// The plan (and, after a real run, what was applied) as one JSON document.
pub fn json(changes: &Changes, dry_run: bool, applied: Option<&Applied>) -> Json {
    let mut document = json!({
        "dry_run": dry_run,
        "summary": {
            "create": changes.count(Action::Create),
            "update": changes.count(Action::Update),
            "reactivate": changes.count(Action::Reactivate),
            "deactivate": changes.count(Action::Deactivate),
            "unchanged": changes.unchanged,
            "skipped": changes.skipped.len(),
        },
        "changes": changes.changes,
        "skipped": changes.skipped,
    });
    if let (Some(applied), Json::Object(object)) = (applied, &mut document) {
        object.insert(
            "applied".into(),
            serde_json::to_value(applied).unwrap_or(Json::Null),
        );
    }
    document
}
