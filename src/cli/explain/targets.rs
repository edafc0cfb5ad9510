//! `explain --config` over a config with several targets: which targets the user reaches
//! and what each one's mapping makes of it. The user is looked up once (the source is read
//! once), then every selected target's mapping is run on that one record:
//!
//! ```text
//! ── target base44 ──
//! user 00u1a (ada@example.com): active in the source
//! ... (the rule-by-rule explanation and the SCIM resource, as for one mapping)
//!
//! ── target appspace ──
//! out of scope: `scope user.department == "Sales"` (line 3) gives false, reading department = "Eng"
//!
//! 00u1a (ada@example.com) reaches 1 of 2 targets: base44
//! ```
//!
//! A user reaches a target when that target's mapping gives an active SCIM user. A target
//! whose mapping does not compile, or whose settings are rejected, shows its error in its
//! section; the others are still shown, and the command exits 1.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{ExplainArgs, explain, inputs_text, record_of, scope_truth, source_file, source_line};
use crate::cli::error::CliError;
use crate::config::{Config, Target};
use crate::sync::SyncError;
use crate::sync::desired::{Desire, Mapper};
use crate::sync::plans::Plans;
use crate::sync::render::error_text;
use scimsync_lang::mapping::Env;
use scimsync_lang::mapping::eval::eval;
use scimsync_lang::mapping::{Plan, render_all};
use scimsync_lang::record::Record;

/// What one target makes of the user.
enum Section {
    /// The mapping gives a SCIM user: the full explanation; `reached` when it is active.
    Explained { text: String, reached: bool },
    /// Out of scope or skipped: one line saying why.
    NotReached(String),
    /// The target cannot be used: its mapping does not compile, or its settings are wrong.
    Broken(String),
}

/// Prints every selected target's section, then the summary line; exit 1 (after printing)
/// when a target could not be used.
pub(super) fn explain_targets(
    config: &Config,
    args: &ExplainArgs,
    now: DateTime<Utc>,
) -> Result<ExitCode, CliError> {
    let plans = Plans::load(config);
    let compiled: Vec<Arc<Plan>> = config
        .targets
        .iter()
        .filter_map(|t| plans.get(&t.name).and_then(|c| c.as_ref().ok()).cloned())
        .collect();
    let mut mappers: Vec<Mapper<'_>> = compiled
        .iter()
        .map(|plan| Mapper::against(plan, now, &[]))
        .collect();
    let record = record_of(args, Some(config), &mut mappers)?;

    let mut sections: Vec<(&str, Section)> = config
        .targets
        .iter()
        .map(|target| (target.name.as_str(), section(target, &plans, &record, now)))
        .collect();
    sections.extend(config.rejected.iter().map(|rejected| {
        (
            rejected.name.as_str(),
            Section::Broken(format!("error: {}", rejected.problem)),
        )
    }));
    super::super::stdout::print(&render(&record, &sections))?;
    let broken: Vec<String> = sections
        .iter()
        .filter(|(_, s)| matches!(s, Section::Broken(_)))
        .map(|(name, _)| (*name).to_owned())
        .collect();
    if broken.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(CliError::TargetsNotExplained {
            failed: broken,
            of: sections.len(),
        })
    }
}

/// What `target`'s mapping makes of `record`.
fn section(target: &Target, plans: &Plans, record: &Record, now: DateTime<Utc>) -> Section {
    let plan = match plans.get(&target.name) {
        Some(Ok(plan)) => plan,
        Some(Err(error)) => return Section::Broken(plan_error(error)),
        None => return Section::Broken("error: its mapping was not loaded".to_owned()),
    };
    let file = source_file(plan, &target.mapping);
    match Mapper::new(plan, now).map(record) {
        Desire::User(user) => Section::Explained {
            text: explain(plan, &file, record, now),
            reached: user.active,
        },
        Desire::OutOfScope => Section::NotReached(format!(
            "out of scope: {}",
            why_out_of_scope(plan, &file, record, now)
        )),
        Desire::Skipped(skip) => Section::NotReached(format!("skipped: {}", skip.reason)),
    }
}

/// Why a target's mapping cannot be used: a mapping's diagnostics, compiler style (without
/// the sync's "nothing was written", which means nothing here), or the error.
fn plan_error(error: &SyncError) -> String {
    let text = match error {
        SyncError::Mapping {
            file, diagnostics, ..
        } => render_all(diagnostics, file),
        other => error_text(other),
    };
    text.trim_end().to_owned()
}

/// `` `scope ...` (line 3) gives false, reading department = "Eng" ``.
fn why_out_of_scope(
    plan: &Plan,
    file: &scimsync_lang::mapping::SourceFile,
    record: &Record,
    now: DateTime<Utc>,
) -> String {
    let Some(scope) = &plan.scope else {
        return "the mapping's scope leaves the user out".to_owned();
    };
    let env = Env::at(record, now);
    let value = match eval(scope, &env) {
        Ok(value) => value,
        Err(error) => return format!("the scope fails: {}", error.message),
    };
    let shown = match scope_truth(&value) {
        Some(false) if !value.is_null() => value.to_string(),
        _ => format!("{value} (not true)"),
    };
    let reading = inputs_text(scope, record, &env)
        .map(|inputs| format!(", reading {inputs}"))
        .unwrap_or_default();
    format!(
        "`{}` (line {}) gives {shown}{reading}",
        source_line(file, plan.scope_line),
        plan.scope_line
    )
}

/// The sections, a blank line between them, then `LABEL reaches N of M targets: a, b`.
fn render(record: &Record, sections: &[(&str, Section)]) -> String {
    let mut out = String::new();
    let mut reached = Vec::new();
    for (index, (name, section)) in sections.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "── target {name} ──");
        match section {
            Section::Explained { text, reached: r } => {
                out.push_str(text);
                if *r {
                    reached.push(*name);
                }
            }
            Section::NotReached(line) | Section::Broken(line) => {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    let _ = writeln!(out, "\n{}", summary(record, &reached, sections.len()));
    out
}

/// `00u1a (ada@example.com) reaches 2 of 3 targets: base44, appspace`.
fn summary(record: &Record, reached: &[&str], of: usize) -> String {
    let label = record.label();
    let noun = if of == 1 { "target" } else { "targets" };
    if reached.is_empty() {
        format!("{label} reaches 0 of {of} {noun}")
    } else {
        format!(
            "{label} reaches {} of {of} {noun}: {}",
            reached.len(),
            reached.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ada() -> Record {
        let attrs = serde_json::json!({"email": "ada@example.com"});
        Record::from_flat_json("00u1a".to_owned(), attrs.as_object().unwrap())
    }

    #[test]
    fn summary_names_the_targets_reached_in_order() {
        assert_eq!(
            summary(&ada(), &["base44", "appspace"], 3),
            "00u1a (ada@example.com) reaches 2 of 3 targets: base44, appspace"
        );
        assert_eq!(
            summary(&ada(), &[], 2),
            "00u1a (ada@example.com) reaches 0 of 2 targets"
        );
        assert_eq!(
            summary(&ada(), &["base44"], 1),
            "00u1a (ada@example.com) reaches 1 of 1 target: base44"
        );
    }
}
