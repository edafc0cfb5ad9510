//! The command line: argument parsing and the rendering of results and errors. Every error is
//! rendered here, once; the library below only returns typed errors.

mod check;
mod daemon;
mod error;
mod eval;
mod explain;
mod fmt;
mod map;
mod one_user;
mod state;
mod stdout;
mod sync;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "scimsync",
    version,
    about = "Provision directory users into SaaS apps over SCIM 2.0"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// More log output on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Log line format on stderr: human-readable text, or one JSON object per line.
    #[arg(long, value_enum, default_value_t, global = true)]
    log_format: crate::observe::logging::LogFormat,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sync the directory into the SCIM target once (or show what would change with --dry-run).
    Sync(sync::SyncArgs),
    /// Check .map files and report every error with its location.
    Check(check::CheckArgs),
    /// Evaluate one expression against one record and print the result as JSON.
    Eval(eval::EvalArgs),
    /// Map an export through a .map file and print the SCIM resources as JSON Lines (no network).
    Map(map::MapArgs),
    /// Show, for one user, what each rule read and produced, and the resulting SCIM resource.
    Explain(explain::ExplainArgs),
    /// Rewrite .map files in the canonical layout (or, with --check, list those that differ).
    Fmt(fmt::FmtArgs),
    /// Show what scimsync manages on a target, or stop managing some of it.
    State(state::StateArgs),
    /// Sync on the config's [schedule] in the foreground (systemd Type=notify) until stopped.
    Daemon(daemon::DaemonArgs),
}

/// Runs the command line and returns the process exit code: 0 on success, 1 when anything
/// failed (2 is clap's code for a usage error).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The daemon reports every run at info; one-off commands only warn unless asked.
    let quiet = if matches!(cli.command, Command::Daemon(_)) {
        "info"
    } else {
        "warn"
    };
    init_logging(cli.verbose, quiet, cli.log_format);
    let result = match cli.command {
        Command::Sync(args) => sync::run(args, cli.verbose > 0),
        Command::Check(args) => check::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Map(args) => map::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::State(args) => state::run(args),
        Command::Daemon(args) => daemon::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("{}", error::render(&error).trim_end());
            ExitCode::from(1)
        }
    }
}

fn init_logging(verbose: u8, quiet: &str, format: crate::observe::logging::LogFormat) {
    let default = match verbose {
        0 => quiet,
        1 => "info",
        _ => "debug",
    };
    crate::observe::logging::init(format, default);
}
