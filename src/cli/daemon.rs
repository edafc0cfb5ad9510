//! `scimsync daemon --config FILE [--target NAME]...`: syncs each target on its schedule until
//! SIGTERM/SIGINT, in the foreground (systemd `Type=notify`; no self-daemonizing).

use std::path::PathBuf;
use std::process::ExitCode;

use super::error::CliError;
use crate::daemon::DaemonError;

#[derive(Debug, clap::Args)]
pub struct DaemonArgs {
    /// The scimsync.toml to use (it needs a [schedule] section). SIGHUP re-reads it.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Serve only this target (repeat for several); all of them when absent.
    #[arg(long = "target", value_name = "NAME")]
    targets: Vec<String>,
}

pub fn run(args: DaemonArgs) -> Result<ExitCode, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    match runtime.block_on(crate::daemon::serve(args.config, args.targets)) {
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
