//! `scimsync sync --config FILE [--dry-run] [--output text|json]`.

use std::path::PathBuf;
use std::process::ExitCode;

use std::sync::Arc;

use chrono::Utc;

use crate::config::Config;
use crate::daemon::run::{RunError, new_run_id, run_once};
use crate::observe::progress::Progress;
use crate::sync::{RunOptions, SyncError, render};

#[derive(Clone, Copy, Debug, Default, clap::ValueEnum)]
pub enum Output {
    #[default]
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// The scimsync.toml to use.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Show what would change and write nothing.
    #[arg(long)]
    dry_run: bool,
    /// How to print the plan.
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

pub fn run(args: SyncArgs) -> Result<ExitCode, String> {
    let config = Config::load(&args.config).map_err(|e| format!("error: {e}"))?;
    let plan = crate::sync::load_plan(&config.mapping).map_err(render_error)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("error: cannot start the async runtime: {e}"))?;
    let options = RunOptions {
        dry_run: args.dry_run,
        now: Utc::now(),
    };
    let progress = Arc::new(Progress::for_stderr());
    let outcome = runtime.block_on(run_once(
        &new_run_id(),
        &config,
        &plan,
        &options,
        vec![progress.clone()],
    ));
    progress.finish();
    // Failures are printed below as the command's result; the summary line is for -v and logs.
    outcome.summary.log(tracing::Level::INFO, 0);
    let report = outcome.report.map_err(|e| match e {
        RunError::Sync(e) => render_error(e),
        other => format!("error: {other}"),
    })?;
    match args.output {
        Output::Json => {
            let document = render::json(&report.changes, args.dry_run, report.applied.as_ref());
            println!(
                "{}",
                serde_json::to_string_pretty(&document).unwrap_or_default()
            );
        }
        Output::Text => {
            print!(
                "{}",
                render::text(&report.changes, &report.aliases, args.dry_run)
            );
            if let Some(applied) = &report.applied {
                print!("{}", render::applied_text(applied));
            }
        }
    }
    Ok(if report.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn render_error(error: SyncError) -> String {
    match error {
        SyncError::Mapping { .. } => error.to_string(),
        other => format!("error: {other}"),
    }
}
