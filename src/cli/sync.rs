//! `scimsync sync --config FILE [--dry-run] [--output text|json]`.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::Config;
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

pub fn run(args: SyncArgs) -> Result<ExitCode, String> {
    let config = Config::load(&args.config).map_err(|e| format!("error: {e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("error: cannot start the async runtime: {e}"))?;
    let mut options = RunOptions::new(args.dry_run);
    options.allow_mass_deactivation = args.allow_mass_deactivation;
    let cancel = options.cancel.clone();
    let report = runtime
        .block_on(async {
            // Ctrl-C or SIGTERM: stop starting writes, let those in flight finish, save state.
            tokio::spawn(async move {
                shutdown_signal().await;
                tracing::warn!("stopping: no new writes; finishing those in flight");
                cancel.cancel();
            });
            crate::sync::run(&config, &options).await
        })
        .map_err(|e| match e {
            crate::sync::SyncError::Mapping { .. } => e.to_string(),
            other => format!("error: {other}"),
        })?;
    match args.output {
        Output::Json => {
            let document = render::report_json(&report, args.dry_run);
            println!(
                "{}",
                serde_json::to_string_pretty(&document).unwrap_or_default()
            );
        }
        Output::Text => {
            print!("{}", render::report_text(&report, args.dry_run));
            if let Some(applied) = &report.applied {
                print!("{}", render::applied_text(applied));
            }
        }
    }
    Ok(if report.failed() || report.cancelled {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
