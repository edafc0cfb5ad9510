//! `scimsync sync --user ID_OR_LOGIN [--target NAME]... [--dry-run]`: one source user through
//! the whole pipeline on each selected target (see `crate::sync::one`). Prints, per target,
//! the plan, every HTTP request sent (method, path, status) and the user's resource as the
//! target returned it.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use super::error::CliError;
use super::stdout::{print, print_json};
use super::sync::Output;
use crate::config::{Config, Form};
use crate::sync::one::{OneUser, sync_user};
use crate::sync::{Job, RunOptions, load_plan, render};

/// Runs `wanted` on every target of `config`, one after the other; exit 1 when a write failed.
pub fn run(
    config: &Config,
    wanted: &str,
    options: &RunOptions,
    output: Output,
    verbose: bool,
) -> Result<ExitCode, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    let mut done = Vec::new();
    for target in &config.targets {
        let job = Job {
            target: target.clone(),
            plan: Arc::new(load_plan(&target.mapping)?),
        };
        done.push(runtime.block_on(sync_user(&config.source, &job, wanted, options))?);
    }
    match output {
        Output::Json => print_json(
            &done
                .iter()
                .map(|one| json(one, options.dry_run))
                .collect::<Vec<_>>(),
        )?,
        Output::Text => {
            let headed = config.form == Form::Many;
            let text: Vec<String> = done
                .iter()
                .map(|one| text(one, options.dry_run, verbose, headed))
                .collect();
            print(&text.join("\n"))?;
        }
    }
    let failed = done.iter().any(|one| one.report.failed());
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The plan, the requests and the resource, for people.
pub fn text(one: &OneUser, dry_run: bool, verbose: bool, headed: bool) -> String {
    let mut out = String::new();
    if headed {
        let _ = writeln!(out, "── target {} ──", one.target);
    }
    out.push_str(&render::report_text_listing(&one.report, true, verbose));
    if let Some(applied) = &one.report.applied {
        out.push_str(&render::applied_text_listing(applied, verbose));
    }
    let _ = writeln!(
        out,
        "Requests{}:",
        if dry_run {
            " (a dry run only reads)"
        } else {
            ""
        }
    );
    for request in &one.requests {
        let status = request
            .status
            .map_or_else(|| "no answer".to_owned(), |s| s.to_string());
        let _ = writeln!(out, "  {} {} {status}", request.method, request.path);
    }
    match &one.resource {
        Some(resource) => {
            let _ = writeln!(
                out,
                "Resource on the target:\n{}",
                serde_json::to_string_pretty(resource).unwrap_or_default()
            );
        }
        None => out.push_str("Resource on the target: none\n"),
    }
    out
}

/// The same as one JSON object per target.
fn json(one: &OneUser, dry_run: bool) -> serde_json::Value {
    serde_json::json!({
        "target": one.target,
        "sourceId": one.source_id,
        "plan": render::report_json(&one.report, dry_run),
        "requests": one.requests,
        "resource": one.resource,
    })
}
