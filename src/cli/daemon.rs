//! `scimsync daemon --config FILE`: syncs on the config's `[schedule]` until SIGTERM/SIGINT,
//! in the foreground (systemd `Type=notify`; no self-daemonizing).

use std::path::PathBuf;
use std::process::ExitCode;

use super::error::CliError;
use crate::daemon::DaemonError;

#[derive(Debug, clap::Args)]
pub struct DaemonArgs {
    /// The scimsync.toml to use (it needs a [schedule] section). SIGHUP re-reads it.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
}

pub fn run(args: DaemonArgs) -> Result<ExitCode, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    match runtime.block_on(crate::daemon::serve(args.config)) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(error @ (DaemonError::Load(_) | DaemonError::Signals(_) | DaemonError::Listen(_))) => {
            Err(error.into())
        }
        // Once running, the log is the daemon's voice (journald, JSON consumers): say it once there.
        Err(other) => {
            tracing::error!("{other}");
            Ok(ExitCode::from(1))
        }
    }
}
