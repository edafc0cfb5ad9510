//! `scimsync sync --config FILE [--dry-run] [--output text|json]`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::observe::progress::Progress;
use crate::sync::observed::{RunError, run_once};
use crate::sync::{RunOptions, SyncError, render};
use scimsync_scim::client::ClientError;
use scimsync_scim::throttle::HeldOff;

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
}

/// `verbose`: -v was given (member skips are then listed one by one).
pub fn run(args: SyncArgs, verbose: bool) -> Result<ExitCode, String> {
    let config = Config::load(&args.config).map_err(|e| format!("error: {e}"))?;
    let plan = crate::sync::load_plan(&config.mapping).map_err(render_error)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("error: cannot start the async runtime: {e}"))?;
    let mut options = RunOptions::new(args.dry_run);
    options.allow_mass_deactivation = args.allow_mass_deactivation;
    let progress = Arc::new(Progress::for_stderr());
    let cancel = options.cancel.clone();
    let outcome = runtime.block_on(async {
        tokio::spawn(stop_on_signals(cancel.clone()));
        run_once(&config, &plan, &options, vec![progress.clone()]).await
    });
    progress.finish();
    // Failures are printed below as the command's result; the summary line is for -v and logs.
    outcome.summary.log(tracing::Level::INFO, 0);
    let report = outcome.report.map_err(|e| match e {
        RunError::Sync(e) => render_error(e),
        other => format!("error: {other}"),
    })?;
    match args.output {
        Output::Json => {
            let document = render::report_json(&report, args.dry_run);
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            serde_json::to_writer_pretty(&mut out, &document)
                .and_then(|()| writeln!(out).map_err(serde_json::Error::io))
                .and_then(|()| out.flush().map_err(serde_json::Error::io))
                .map_err(|e| format!("error: cannot write the report: {e}"))?;
        }
        Output::Text => {
            print!(
                "{}",
                render::report_text_listing(&report, args.dry_run, verbose)
            );
            if let Some(applied) = &report.applied {
                print!("{}", render::applied_text_listing(applied, verbose));
            }
        }
    }
    if let Some(held) = &report.held_off {
        return Err(format!(
            "error: {held}; the writes above were made and the state is saved; {}",
            run_again_after(held)
        ));
    }
    if report.cancelled || (cancel.is_cancelled() && !args.dry_run) {
        return Err(
            "error: interrupted: the writes above were made and the state is saved; run sync again to finish"
                .into(),
        );
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
        SyncError::Target(ClientError::Throttled { ref held, .. }) => {
            format!("error: {error}; {}", run_again_after(held))
        }
        other => format!("error: {other}"),
    }
}

/// When the next run may go, for a target that asked for a long pause.
fn run_again_after(held: &HeldOff) -> String {
    format!(
        "run sync again after {}",
        held.until.format("%Y-%m-%d %H:%M:%S UTC")
    )
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
