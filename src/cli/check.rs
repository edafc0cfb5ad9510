//! `scimsync check FILE.map...`: every error of every file, compiler style.
//! `scimsync check --config FILE [--online] [--target NAME]...`: the config and the mapping
//! of each (selected) target, and each target whose settings are rejected, named; with
//! `--online`, also what each target says about itself (`/ServiceProviderConfig`, `/Schemas`,
//! `/ResourceTypes`) against every path the mapping writes, and whether the source answers
//! (a directory bound to and one page of users read; an export opened).

use std::path::PathBuf;
use std::process::ExitCode;

use super::error::{CliError, render};
use crate::config::{Config, Form, Target};
use crate::sync::{SyncError, connect, load_plan_and_warnings};
use scimsync_lang::mapping::plan::TargetType;
use scimsync_lang::mapping::{Plan, render_all};
use scimsync_lang::scim::path::AttrPath;
use scimsync_lang::scim::schema::{known_attributes, resolve};
use scimsync_scim::discovery::{self, Finding};

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The .map files to check.
    #[arg(value_name = "FILE.map", required_unless_present = "config")]
    files: Vec<PathBuf>,
    /// Also print what each valid file reads, writes and can fail on.
    #[arg(long)]
    facts: bool,
    /// Check a scimsync.toml and the mapping it names.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// With --config: ask the target which paths, types and features it supports, and bind
    /// to the source and read one page of users.
    #[arg(long, requires = "config")]
    online: bool,
    /// With --config: only this target (repeat for several); all of them when absent.
    #[arg(long = "target", value_name = "NAME", requires = "config")]
    targets: Vec<String>,
}

pub fn run(args: CheckArgs) -> Result<ExitCode, CliError> {
    let mut failed = false;
    let mut files = args.files.clone();
    let config = match &args.config {
        Some(path) => {
            let config = Config::load(path)?.select(&args.targets)?;
            for target in &config.targets {
                if !files.contains(&target.mapping) {
                    files.push(target.mapping.clone());
                }
            }
            Some(config)
        }
        None => None,
    };
    let mut plans = std::collections::BTreeMap::new();
    for path in &files {
        match load_plan_and_warnings(path) {
            Ok((plan, warnings)) => {
                eprint!("{}", warnings.concat());
                println!("{}: ok ({} rules)", path.display(), plan.rules.len());
                if args.facts {
                    print!("{}", facts_text(&plan));
                }
                plans.insert(path.clone(), plan);
            }
            Err(SyncError::Mapping {
                file, diagnostics, ..
            }) => {
                eprint!("{}", render_all(&diagnostics, &file));
                failed = true;
            }
            Err(other) => {
                eprintln!("{}", render(&other.into()));
                failed = true;
            }
        }
    }
    if let Some(config) = &config {
        for rejected in &config.rejected {
            eprintln!("error: config {}: {rejected}", config.path.display());
            failed = true;
        }
    }
    if let (true, Some(config)) = (args.online, &config) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(CliError::Runtime)?;
        for target in &config.targets {
            let Some(plan) = plans.get(&target.mapping) else {
                continue;
            };
            // Each target answers for itself: one that is down does not hide the others.
            let named = config.form == Form::Many;
            match runtime.block_on(online(target, plan, named)) {
                Ok(target_failed) => failed |= target_failed,
                // Among several targets, the error says whose it is.
                Err(error) if named => {
                    eprintln!("error: target {}: {error}", target.name);
                    failed = true;
                }
                Err(error) => {
                    eprintln!("{}", render(&error));
                    failed = true;
                }
            }
        }
        failed |= !runtime.block_on(source_answers(config));
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The plan's static facts, indented under the file's `ok` line.
fn facts_text(plan: &scimsync_lang::mapping::Plan) -> String {
    let facts = &plan.facts;
    let aliases = plan.aliases();
    let mut reads: Vec<&str> = facts.reads.iter().map(String::as_str).collect();
    if facts.reads_groups {
        reads.push("(group memberships)");
    }
    let writes: Vec<String> = facts
        .writes
        .iter()
        .map(|p| crate::sync::render::short_path(&p.to_string(), &aliases))
        .collect();
    let mut out = format!(
        "  reads:  {}\n  writes: {}\n",
        reads.join(", "),
        writes.join(", ")
    );
    if facts.fallible.is_empty() {
        out.push_str("  can fail: nothing\n");
    } else {
        out.push_str("  can fail (the user is skipped):\n");
        for rule in &facts.fallible {
            let what = match &rule.path {
                Some(path) => format!(
                    "`{}`",
                    crate::sync::render::short_path(&path.to_string(), &aliases)
                ),
                None => "scope".to_owned(),
            };
            out.push_str(&format!(
                "    {what} (line {}): {}\n",
                rule.line,
                rule.reasons.join("; ")
            ));
        }
    }
    out
}

/// Prints what the target supports and every mapped path it does not take; returns whether
/// anything is an error.
async fn online(target: &Target, plan: &Plan, named: bool) -> Result<bool, CliError> {
    let client = connect(&target.scim)?;
    let fetch = |endpoint: &'static str| {
        let client = client.clone();
        async move { client.discovery(endpoint).await }
    };
    let spc = fetch("ServiceProviderConfig").await?;
    let schemas = discovery::resources(&fetch("Schemas").await?);
    let resource_types = discovery::resources(&fetch("ResourceTypes").await?);
    let features = discovery::features(&spc);
    let yes = |b: bool| if b { "yes" } else { "no" };
    let limit =
        |n: Option<u64>, what: &str| n.map(|n| format!(" ({what} {n})")).unwrap_or_default();
    if named {
        println!("target {} {}", target.name, target.scim.url);
    } else {
        println!("target {}", target.scim.url);
    }
    println!(
        "  features: patch {}, filter {}{}, bulk {}{}, etag {}, sort {}, changePassword {}",
        yes(features.patch),
        yes(features.filter),
        limit(features.filter_max_results, "maxResults"),
        yes(features.bulk),
        limit(features.bulk_max_operations, "maxOperations"),
        yes(features.etag),
        yes(features.sort),
        yes(features.change_password)
    );
    if !features.authentication.is_empty() {
        println!("  authentication: {}", features.authentication.join(", "));
    }
    let writes = written_paths(plan);
    let findings = discovery::check_paths(&writes, &schemas, &resource_types);
    let mut failed = false;
    if !features.patch && target.scim.update_mode == crate::sync::settings::UpdateMode::Patch {
        println!(
            "  error: the target does not support PATCH; set update_mode = \"put\" in [target]"
        );
        failed = true;
    }
    for finding in &findings {
        let level = if finding.is_error() {
            "error"
        } else {
            "warning"
        };
        failed |= finding.is_error();
        println!("  {level}: {}", finding.message());
    }
    let ok = writes.len()
        - findings
            .iter()
            .filter(|f| !matches!(f, Finding::Immutable { .. }))
            .count();
    println!(
        "  {ok} of {} mapped paths exist on the target with a matching type and are writable",
        writes.len()
    );
    Ok(failed)
}

/// Binds to the source (or opens the export) and reads one page of users; prints what it
/// found or why it failed, and returns whether it answered.
async fn source_answers(config: &Config) -> bool {
    match scimsync_source::probe::probe(&config.source).await {
        Ok(probe) => {
            println!("{}", probe.message());
            true
        }
        Err(error) => {
            println!("source: error: {error}");
            false
        }
    }
}

/// Every path a sync writes, with the SCIM type of its values when known: `active` always;
/// each rule's path, typed by the schema scimsync knows or by the rule's `as` option.
fn written_paths(plan: &Plan) -> Vec<(AttrPath, Option<&'static str>)> {
    let mut writes: Vec<(AttrPath, Option<&'static str>)> = Vec::new();
    for rule in &plan.rules {
        let known = known_attributes(rule.path.schema.as_deref())
            .and_then(|attrs| resolve(attrs, &rule.path).ok())
            .map(|def| def.ty.name());
        let typed = rule.target_type.map(|t| match t {
            TargetType::String => "string",
            TargetType::Integer => "integer",
            TargetType::Boolean => "boolean",
        });
        writes.push((AttrPath::clone(&rule.path), typed.or(known)));
    }
    if !writes.iter().any(|(p, _)| p.is_core("active")) {
        writes.push((AttrPath::core("active"), Some("boolean")));
    }
    writes
}
