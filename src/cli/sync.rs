//! `scimsync sync --config FILE [--target NAME]... [--dry-run] [--output text|json]`.

use std::path::PathBuf;
use std::process::ExitCode;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::error::CliError;
use super::stdout::{print, print_json};
use crate::config::{Config, Form};
use crate::observe::progress::Progress;
use crate::sync::observed::{RunOutcome, run_once};
use crate::sync::plans::Plans;
use crate::sync::render::targets::{self, TargetStatus};
use crate::sync::{RunOptions, render};

#[derive(Clone, Copy, Debug, Default, clap::ValueEnum)]
pub(crate) enum Output {
    #[default]
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// The scimsync.toml to use.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Sync only this target (repeat for several); all of them when absent.
    #[arg(long = "target", value_name = "NAME")]
    targets: Vec<String>,
    /// Show what would change and write nothing.
    #[arg(long)]
    dry_run: bool,
    /// How to print the plan.
    #[arg(long, value_enum, default_value_t)]
    output: Output,
    /// Go ahead although this run deactivates or deletes more users than [sync.safety]
    /// allows (never when the source is empty).
    #[arg(long)]
    allow_mass_deactivation: bool,
    /// List every target in full (repair changes made on the target by hand, adopt users)
    /// instead of trusting the state, whatever `full_reconcile` says.
    #[arg(long)]
    full: bool,
    /// Sync only this user (source id, login or userName) and its group memberships, now:
    /// prints the plan, every request sent and the user as the target holds it.
    #[arg(long, value_name = "ID_OR_LOGIN", conflicts_with = "full")]
    user: Option<String>,
}

/// `verbose`: -v was given (member skips are then listed one by one).
pub fn run(args: SyncArgs, verbose: bool) -> Result<ExitCode, CliError> {
    let config = Config::load(&args.config)?.select(&args.targets)?;
    if let Some(wanted) = &args.user {
        let mut options = RunOptions::new(args.dry_run);
        options.allow_mass_deactivation = args.allow_mass_deactivation;
        return super::one_user::run(&config, wanted, &options, args.output, verbose);
    }
    let plans = Plans::load(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    let mut options = RunOptions::new(args.dry_run);
    options.allow_mass_deactivation = args.allow_mass_deactivation;
    options.full = args.full;
    let progress = Arc::new(Progress::for_stderr(
        config.targets.len() + config.rejected.len(),
    ));
    let cancel = options.cancel.clone();
    let outcome = runtime.block_on(async {
        tokio::spawn(stop_on_signals(cancel.clone()));
        run_once(&config, &plans, &options, vec![progress.clone()]).await
    });
    progress.finish();
    // Failures are printed below as the command's result; the summary lines are for -v and
    // logs.
    for target in &outcome.targets {
        target.summary.log(tracing::Level::INFO, 0);
    }
    let interrupted = cancel.is_cancelled() && !args.dry_run;
    match config.form {
        Form::Single => single_target(outcome, &args, verbose, interrupted),
        Form::Many => many_targets(&outcome, &args, verbose, interrupted),
    }
}

/// The single-target form prints what it always printed, and fails the way it always did.
fn single_target(
    mut outcome: RunOutcome,
    args: &SyncArgs,
    verbose: bool,
    interrupted: bool,
) -> Result<ExitCode, CliError> {
    let Some(target) = outcome.targets.pop() else {
        return Ok(ExitCode::SUCCESS);
    };
    let status = targets::TargetStatus::of(&target);
    let name = target.name.clone();
    let report = target.report?;
    let entry = [targets::JsonTargetStatus::new(&name, status)];
    match args.output {
        Output::Json => {
            #[derive(serde::Serialize)]
            struct WithTargets<'a> {
                #[serde(flatten)]
                report: render::JsonReport<'a>,
                targets: &'a [targets::JsonTargetStatus<'a>],
            }
            print_json(&WithTargets {
                report: render::report_json(&report, args.dry_run),
                targets: &entry,
            })?;
        }
        Output::Text => {
            let mut text = render::report_text_listing(&report, args.dry_run, verbose);
            if let Some(applied) = &report.applied {
                text.push_str(&render::applied_text_listing(applied, verbose));
            }
            print(&text)?;
        }
    }
    if let Some(held) = report.held_off {
        return Err(CliError::HeldOff { held });
    }
    if report.cancelled || interrupted {
        return Err(CliError::Interrupted);
    }
    Ok(if report.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Each target under its name with its status, then the totals; exit 1 when any target did
/// not end `ok`.
fn many_targets(
    outcome: &RunOutcome,
    args: &SyncArgs,
    verbose: bool,
    interrupted: bool,
) -> Result<ExitCode, CliError> {
    match args.output {
        Output::Json => print_json(&targets::json(outcome, args.dry_run))?,
        Output::Text => print(&targets::text(outcome, args.dry_run, verbose))?,
    }
    let failed: Vec<&str> = outcome
        .targets
        .iter()
        .filter(|t| TargetStatus::of(t) != TargetStatus::Ok)
        .map(|t| t.name.as_str())
        .collect();
    if interrupted {
        return Err(CliError::Interrupted);
    }
    if failed.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    Err(CliError::TargetsFailed {
        failed: failed.iter().map(|n| (*n).to_owned()).collect(),
        of: outcome.targets.len(),
    })
}

/// The first SIGINT (Ctrl-C) or SIGTERM stops new writes: those in flight finish and the state
/// is saved. A second one ends the process at once.
async fn stop_on_signals(cancel: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    for _ in 0..2 {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        if cancel.is_cancelled() {
            eprintln!("stopped at once; the state of this run is not saved");
            std::process::exit(130);
        }
        cancel.cancel();
        eprintln!(
            "stopping: finishing the writes in flight and saving the state (signal again to stop at once)"
        );
    }
}
