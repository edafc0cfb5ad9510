//! `scimsync state show|forget --config FILE`: what scimsync manages on a target, and letting
//! go of an object (the target is not touched; a forgotten user is matched and adopted again
//! on the next run if it is still in the source).

use std::path::PathBuf;
use std::process::ExitCode;

use super::error::CliError;
use crate::config::Config;
use crate::state::State;
use crate::state::lock::StateLock;

#[derive(Debug, clap::Args)]
pub struct StateArgs {
    #[command(subcommand)]
    command: StateCommand,
}

#[derive(Debug, clap::Subcommand)]
enum StateCommand {
    /// Print the managed users and groups (text, or the state file's JSON with --output json).
    Show {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        #[arg(long, value_enum, default_value_t)]
        output: super::sync::Output,
    },
    /// Stop managing users or groups: by source id, SCIM id, userName or group name.
    Forget {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        #[arg(required = true, value_name = "ID|USERNAME")]
        keys: Vec<String>,
    },
}

pub fn run(args: StateArgs) -> Result<ExitCode, CliError> {
    match args.command {
        StateCommand::Show { config, output } => {
            let (_, state) = load(&config)?;
            match output {
                super::sync::Output::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&state).unwrap_or_default()
                ),
                super::sync::Output::Text => print!("{}", show(&state)),
            }
            Ok(ExitCode::SUCCESS)
        }
        StateCommand::Forget { config, keys } => {
            let config = Config::load(&config)?;
            // A run in progress would save over what is forgotten here.
            let _lock = StateLock::acquire(&config.state.file())?;
            let (file, mut state) = load_state(&config)?;
            let mut missing = Vec::new();
            for key in &keys {
                let dropped = state.forget(key);
                if dropped.is_empty() {
                    missing.push(key.clone());
                }
                for source in dropped {
                    println!("forgot {source}");
                }
            }
            state.save(&file)?;
            if missing.is_empty() {
                Ok(ExitCode::SUCCESS)
            } else {
                Err(CliError::NotInState(missing))
            }
        }
    }
}

fn load(config: &std::path::Path) -> Result<(PathBuf, State), CliError> {
    load_state(&Config::load(config)?)
}

fn load_state(config: &Config) -> Result<(PathBuf, State), CliError> {
    let file = config.state.file();
    let state = State::load(&file, &config.target.url)?;
    Ok((file, state))
}

/// One line per managed object.
fn show(state: &State) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "target {}", state.target);
    for (source, user) in &state.users {
        let status = if user.active { "active" } else { "inactive" };
        let since = user
            .deactivated_at
            .map(|t| format!(" since {}", t.format("%Y-%m-%d")))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "user  {source}  {}  {}  {status}{since}",
            user.id, user.user_name
        );
    }
    // Held refusals, including creates of users the target never accepted.
    for (source, rejection) in &state.rejected {
        let _ = writeln!(
            out,
            "held  {source}  {} refused{} on {}: {}",
            rejection.operation,
            rejection
                .status
                .map(|s| format!(" (HTTP {s})"))
                .unwrap_or_default(),
            rejection.at.format("%Y-%m-%d %H:%M UTC"),
            rejection.detail
        );
    }
    // Creates whose outcome is not known yet: the next run looks each up before creating.
    for (source, pending) in &state.pending {
        let _ = writeln!(
            out,
            "pending  {source}  create of {} sent {}; the next run looks it up by {} before creating it",
            pending.user_name,
            pending.at.format("%Y-%m-%d %H:%M UTC"),
            pending.match_attribute
        );
    }
    for (name, group) in &state.groups {
        let _ = writeln!(out, "group {name}  {}  {}", group.id, group.display_name);
    }
    let pending = match state.pending.len() {
        0 => String::new(),
        n => format!("; {n} pending"),
    };
    let _ = writeln!(
        out,
        "{} user(s), {} group(s) managed; {} held{pending}.",
        state.users.len(),
        state.groups.len(),
        state.rejected.len()
    );
    out
}
