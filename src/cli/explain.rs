//! `scimsync explain`: what the mapping makes of one user, rule by rule.
//!
//! For each rule it shows the attribute values the rule read, its result, and, when nothing
//! flows, why (null, a default, `IgnoreFlowIfNullOrEmpty`, create-only, out of scope, a
//! failure); then the SCIM resource scimsync would create, as JSON. It reads, never writes:
//! no target is contacted. With a config of several targets, it shows what each target's
//! mapping makes of the user and which targets the user reaches (see [`targets`]).

mod targets;

use std::fmt::Write as _;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, Utc};

use super::error::CliError;
use super::map::{ExportFormat, resource_of};
use crate::config::{Config, Form};
use crate::sync::desired::{Desire, Mapper};
use crate::sync::load_plan;
use crate::sync::render::short_path;
use scimsync_lang::mapping::eval::eval;
use scimsync_lang::mapping::plan::{Flow, Node, PlannedRule, REDACTED};
use scimsync_lang::mapping::{Env, Plan, SourceFile};
use scimsync_lang::record::{GROUPS_KEY, Record, same_name};
use scimsync_lang::value::Value;
use scimsync_source::{json::record_from_json, stream};

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("who").required(true).args(["user", "record"])))]
pub struct ExplainArgs {
    /// The scimsync.toml whose mapping and source to use.
    #[arg(long, value_name = "FILE", required_unless_present = "mapping")]
    config: Option<PathBuf>,
    /// With a config of several targets: only this target (repeat for several); all of them
    /// when absent.
    #[arg(long = "target", value_name = "NAME", requires = "config")]
    targets: Vec<String>,
    /// The .map file (instead of the config's).
    #[arg(long, value_name = "FILE.map")]
    mapping: Option<PathBuf>,
    /// The user to explain: a source id, a login (userPrincipalName, sAMAccountName, login,
    /// mail, uid, cn), or the userName the mapping gives it; case-insensitive (Unicode).
    #[arg(long, value_name = "ID")]
    user: Option<String>,
    /// An export to find --user in (instead of the config's source).
    #[arg(long, value_name = "EXPORT", requires = "user")]
    input: Option<PathBuf>,
    /// The shape of the users in --input.
    #[arg(long, value_enum, default_value_t)]
    format: ExportFormat,
    /// For plain exports in --input: the field that identifies a user.
    #[arg(long, default_value = "id", value_name = "FIELD")]
    id_field: String,
    /// A user given inline as a JSON object: Okta's shape (`{id, status, profile, groups}`) or
    /// flat attributes (`groups` lists group names).
    #[arg(long, value_name = "JSON")]
    record: Option<String>,
    /// The current time for Time.now()/Now(), as RFC 3339.
    #[arg(long, value_parser = super::eval::parse_now)]
    now: Option<DateTime<Utc>>,
}

pub fn run(args: ExplainArgs) -> Result<ExitCode, CliError> {
    let config = match &args.config {
        Some(path) => Some(Config::load(path)?.select(&args.targets)?),
        None => None,
    };
    let now = args.now.unwrap_or_else(Utc::now);
    let mapping_path = match (&args.mapping, &config) {
        (Some(path), _) => path.clone(),
        (None, Some(config)) if config.form == Form::Many => {
            return targets::explain_targets(config, &args, now);
        }
        (None, Some(config)) => match config.targets.first() {
            Some(target) => target.mapping.clone(),
            None => return Err(CliError::Usage("the config has no usable target")),
        },
        (None, None) => return Err(CliError::Usage("give --mapping or --config")),
    };
    let plan = load_plan(&mapping_path)?;
    let file = source_file(&plan, &mapping_path);
    let record = record_of(
        &args,
        config.as_ref(),
        &mut [Mapper::against(&plan, now, &[])],
    )?;
    super::stdout::print(&explain(&plan, &file, &record, now))?;
    Ok(ExitCode::SUCCESS)
}

/// The mapping's text, for quoting its lines.
fn source_file(plan: &Plan, path: &Path) -> SourceFile {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    SourceFile::new(plan.file.clone(), text)
}

/// The user to explain: `--record`, or `--user` looked up once in `--input` or the source;
/// `mappers` recognise it by the userName or match value their mapping gives it.
fn record_of(
    args: &ExplainArgs,
    config: Option<&Config>,
    mappers: &mut [Mapper<'_>],
) -> Result<Record, CliError> {
    match (&args.record, &args.user) {
        (Some(json), _) => inline_record(json),
        (None, Some(id)) => find_user(id, args, config, mappers),
        (None, None) => Err(CliError::Usage("give --user or --record")),
    }
}

/// A `--record` object: Okta's shape when it has a `profile` object, else flat attributes.
fn inline_record(json: &str) -> Result<Record, CliError> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(CliError::RecordJson)?;
    let Some(object) = value.as_object() else {
        return Err(CliError::RecordNotObject);
    };
    if object
        .get("profile")
        .is_some_and(serde_json::Value::is_object)
    {
        return record_from_json(
            value.clone(),
            scimsync_source::json::settings::JsonFormat::Okta,
            "id",
        )
        .map_err(CliError::RecordShape);
    }
    let id = match object.get("id") {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => "<record>".to_owned(),
    };
    let mut record = Record::from_flat_json(id, object);
    if let Some(serde_json::Value::Bool(active)) = object.get("active") {
        record.active = *active;
    }
    Ok(record)
}

/// Whether `record` is the user `wanted` names: its source id, a login attribute
/// ([`Record::is_named`]), or the userName or match value any of the mappings gives it.
fn is_user(record: &Record, wanted: &str, mappers: &mut [Mapper<'_>]) -> bool {
    record.is_named(wanted)
        || mappers.iter_mut().any(|mapper| match mapper.map(record) {
            Desire::User(user) => {
                same_name(&user.user_name, wanted) || same_name(user.match_key(), wanted)
            }
            _ => false,
        })
}

fn find_user(
    wanted: &str,
    args: &ExplainArgs,
    config: Option<&Config>,
    mappers: &mut [Mapper<'_>],
) -> Result<Record, CliError> {
    let not_found = |from: &Path| CliError::NoUser {
        wanted: wanted.to_owned(),
        from: from.to_owned(),
    };
    if let Some(input) = &args.input {
        let mut found = None;
        stream::for_each_record(input, args.format.into(), &args.id_field, |record| {
            if is_user(&record, wanted, mappers) {
                found = Some(record);
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })?;
        return found.ok_or_else(|| not_found(input));
    }
    let Some(config) = config else {
        return Err(CliError::Usage(
            "--user needs a source: give --config or --input",
        ));
    };
    let records = scimsync_source::load(&config.source)?;
    let from = args.config.as_deref().unwrap_or(Path::new("the source"));
    records
        .into_iter()
        .find(|r| is_user(r, wanted, mappers))
        .ok_or_else(|| not_found(from))
}

/// The explanation of one user, as printed.
pub fn explain(plan: &Plan, file: &SourceFile, record: &Record, now: DateTime<Utc>) -> String {
    let env = Env::at(record, now);
    let mut out = String::new();
    let state = if record.active {
        "active in the source"
    } else {
        "inactive in the source: scimsync never creates it, and deactivates it if it manages it"
    };
    let _ = writeln!(out, "user {}: {state}", record.label());
    let _ = writeln!(out, "mapping {}", plan.file);

    if let Some(scope) = &plan.scope {
        let _ = writeln!(out, "\nscope (line {})", plan.scope_line);
        let _ = writeln!(out, "  {}", source_line(file, plan.scope_line));
        write_inputs(&mut out, scope, record, &env);
        let verdict = match eval(scope, &env) {
            Err(e) => format!("fails: {}; the user is skipped", e.message),
            Ok(value) => match scope_truth(&value) {
                Some(true) => format!("{value}: in scope"),
                Some(false) => format!(
                    "{value}: out of scope, so nothing below flows (a managed user would be deactivated)"
                ),
                None => format!("{value}: not true or false, so the user is skipped"),
            },
        };
        let _ = writeln!(out, "  result  {verdict}");
    }

    let aliases = plan.aliases();
    let shown =
        |path: &scimsync_lang::scim::path::AttrPath| short_path(&path.to_string(), &aliases);
    for rule in &plan.rules {
        let flow = match rule.flow {
            Flow::Always => "",
            Flow::OnCreate => ", on create",
        };
        let _ = writeln!(out, "\n{} (line {}{flow})", shown(&rule.path), rule.line);
        let _ = writeln!(out, "  {}", source_line(file, rule.line));
        if rule.redacted {
            write_redacted_inputs(&mut out, &rule.expr);
        } else {
            write_inputs(&mut out, &rule.expr, record, &env);
        }
        let _ = writeln!(out, "  result  {}", rule_result(rule, &env));
    }

    let mut mapper = Mapper::new(plan, now);
    let _ = writeln!(out);
    match mapper.map(record) {
        Desire::User(user) => {
            let resource = resource_of(&user.mapped.shown(), user.active);
            let _ = writeln!(
                out,
                "{}",
                if user.active {
                    "SCIM resource (as created):"
                } else {
                    "SCIM resource (what the rules give; an inactive user is never created):"
                }
            );
            let _ = writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&resource).unwrap_or_default()
            );
            let create_only: Vec<String> = user
                .mapped
                .values
                .iter()
                .filter(|v| v.flow == Flow::OnCreate)
                .map(|v| shown(&v.path))
                .collect();
            if !create_only.is_empty() {
                let _ = writeln!(
                    out,
                    "On later syncs these are not compared or updated (on create): {}",
                    create_only.join(", ")
                );
            }
        }
        Desire::OutOfScope => {
            let _ = writeln!(
                out,
                "No SCIM resource: the user is out of scope (a managed user would be deactivated)."
            );
        }
        Desire::Skipped(skip) => {
            let _ = writeln!(
                out,
                "No SCIM resource: the user is skipped: {}",
                skip.reason
            );
        }
    }
    out
}

/// How `Plan::evaluate` reads a scope's value: null leaves the user out, like false.
fn scope_truth(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Null => Some(false),
        Value::Str(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::Str(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// The first line of a statement, trimmed, to remind the reader which rule this is.
fn source_line(file: &SourceFile, line: usize) -> String {
    if line == 0 || line > file.text.lines().count() {
        return String::new();
    }
    file.line_text(line).trim().to_owned()
}

/// `  reads   email = "a@x", groups = ["Eng"]`, or nothing for a constant rule.
fn write_inputs(out: &mut String, node: &Node, record: &Record, env: &Env<'_>) {
    if let Some(inputs) = inputs_text(node, record, env) {
        let _ = writeln!(out, "  reads   {inputs}");
    }
}

/// `email = "a@x", groups = ["Eng"]`: what `node` reads of the record; `None` when it reads
/// nothing.
fn inputs_text(node: &Node, record: &Record, env: &Env<'_>) -> Option<String> {
    let inputs = node.inputs();
    if inputs.is_empty() {
        return None;
    }
    let shown: Vec<String> = inputs
        .iter()
        .map(|name| {
            let value = match name.as_str() {
                GROUPS_KEY => eval(&Node::Groups, env).unwrap_or_default(),
                "id" if !record.attrs.contains_key("id") => {
                    eval(&Node::SourceId, env).unwrap_or_default()
                }
                "status" if !record.attrs.contains_key("status") => {
                    eval(&Node::SourceStatus, env).unwrap_or_default()
                }
                other => record.get(other).clone(),
            };
            format!("{name} = {value}")
        })
        .collect();
    Some(shown.join(", "))
}

/// `  reads   password = [Redact]`: a redacted rule's inputs would give its value away.
fn write_redacted_inputs(out: &mut String, node: &Node) {
    let inputs = node.inputs();
    if !inputs.is_empty() {
        let shown: Vec<String> = inputs.iter().map(|n| format!("{n} = {REDACTED}")).collect();
        let _ = writeln!(out, "  reads   {}", shown.join(", "));
    }
}

/// What a rule yields for this user and whether (and why not) it flows.
fn rule_result(rule: &PlannedRule, env: &Env<'_>) -> String {
    let raw = match eval(&rule.expr, env) {
        Ok(raw) => raw,
        Err(_) if rule.redacted => {
            return format!("fails on a value that is not shown ({REDACTED}); the user is skipped");
        }
        Err(e) => return format!("fails: {}; the user is skipped", e.message),
    };
    let value = match rule.apply(env) {
        Ok(value) => value,
        Err(failure) => return format!("fails: {}; the user is skipped", failure.message),
    };
    if value.is_null() {
        let ignored = matches!(&rule.expr, Node::Call { function, .. } if function.ignores_flow());
        return if ignored {
            "null: IgnoreFlowIfNullOrEmpty found its input null or empty, so the attribute does not flow".to_owned()
        } else {
            "null: nothing is sent (the target keeps what it has)".to_owned()
        };
    }
    let mut text = value.to_string();
    if rule.redacted {
        text = format!(
            "{REDACTED} (Redact: the value is sent, never shown; `scimsync eval` shows it)"
        );
    } else if raw.is_null() && rule.default.is_some() {
        text.push_str(" (the expression is null: the default)");
    } else if raw != value {
        let _ = write!(text, " (converted from {raw})");
    }
    if rule.flow == Flow::OnCreate {
        text.push_str(": sent only when the user is created");
    }
    text
}
