//! `scimsync state show|export|forget --config FILE [--target NAME]...`: what scimsync manages
//! on each target, a diffable dump of it, and letting go of an object (the target is not
//! touched; a forgotten user is matched and adopted again on the next run if it is still in
//! the source).
//!
//! With several targets, `show` prints a `── target NAME (STATE FILE) ──` section per target
//! (JSON: `{"targets": {NAME: state, ...}}` in the file's order) and `forget` prefixes each
//! line with the target's name (`base44: forgot s1`); the single-target form prints what it
//! always printed. `export --json` prints one target's state in the layout of the JSON state
//! file older versions kept (the single form, or one `--target`), else `{"targets": {...}}`.
//!
//! After each target's summary line, `show` prints two lines the older versions did not (the
//! lines before them are unchanged): when the last full run was and when the next is due under
//! the target's `full_reconcile`, and the target's filtering verdict. The JSON outputs carry
//! both as the state's `reconcile` object.

use std::path::PathBuf;
use std::process::ExitCode;

use super::error::CliError;
use crate::config::{Config, Form};
use crate::state::State;
use crate::state::reconcile::{Filtering, Reconcile};
use crate::state::store::backend_for;
use crate::sync::kind::FullReconcile;

#[derive(Debug, clap::Args)]
pub struct StateArgs {
    #[command(subcommand)]
    command: StateCommand,
}

#[derive(Debug, clap::Subcommand)]
enum StateCommand {
    /// Print the managed users and groups of each target (text, or each state file's JSON
    /// with --output json).
    Show {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Only this target (repeat for several); all of them when absent.
        #[arg(long = "target", value_name = "NAME")]
        targets: Vec<String>,
        #[arg(long, value_enum, default_value_t)]
        output: super::sync::Output,
    },
    /// Print each selected target's state as JSON, in the layout of the state files older
    /// versions kept: one target's state alone, several as {"targets": {NAME: state}}.
    Export {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Only this target (repeat for several); all of them when absent.
        #[arg(long = "target", value_name = "NAME")]
        targets: Vec<String>,
        /// JSON, the one format there is (required, so another can be added later).
        #[arg(long, required = true)]
        json: bool,
    },
    /// Stop managing users or groups: by source id, SCIM id, userName or group name, in each
    /// selected target.
    Forget {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Only in this target (repeat for several); in all of them when absent.
        #[arg(long = "target", value_name = "NAME")]
        targets: Vec<String>,
        #[arg(required = true, value_name = "ID|USERNAME")]
        keys: Vec<String>,
    },
}

pub fn run(args: StateArgs) -> Result<ExitCode, CliError> {
    match args.command {
        StateCommand::Show {
            config,
            targets,
            output,
        } => {
            let config = Config::load(&config)?.select(&targets)?;
            show_all(&config, output)
        }
        StateCommand::Export {
            config,
            targets,
            json: _,
        } => {
            let config = Config::load(&config)?.select(&targets)?;
            export(&config)
        }
        StateCommand::Forget {
            config,
            targets,
            keys,
        } => {
            let config = Config::load(&config)?.select(&targets)?;
            forget_all(&config, &keys)
        }
    }
}

/// Names each rejected target on stderr (its state cannot be located with settings that are
/// wrong); returns whether there was one, so the command exits 1 after the others.
fn report_rejected(config: &Config) -> bool {
    for rejected in &config.rejected {
        eprintln!("error: config {}: {rejected}", config.path.display());
    }
    !config.rejected.is_empty()
}

fn exit_code(failed: bool) -> ExitCode {
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn show_all(config: &Config, output: super::sync::Output) -> Result<ExitCode, CliError> {
    let many = config.form == Form::Many;
    let mut out = String::new();
    match output {
        super::sync::Output::Json => {
            let mut states = serde_json::Map::new();
            for target in &config.targets {
                let (backend, location) = backend_for(target);
                let state = backend.load(&location)?;
                states.insert(
                    target.name.clone(),
                    serde_json::to_value(&state).unwrap_or_default(),
                );
            }
            // The single form prints its one state file as it always did.
            let document = match (many, states.values().next()) {
                (false, Some(only)) => only.clone(),
                _ => serde_json::json!({ "targets": states }),
            };
            out = serde_json::to_string_pretty(&document).unwrap_or_default() + "\n";
        }
        super::sync::Output::Text => {
            for target in &config.targets {
                let (backend, location) = backend_for(target);
                let state = backend.load(&location)?;
                if many {
                    out.push_str(&format!(
                        "── target {} ({}) ──\n",
                        target.name,
                        target.state.display()
                    ));
                }
                out.push_str(&show(&state));
                out.push_str(&full_runs(
                    &state.reconcile,
                    &target.sync.full_reconcile,
                    chrono::Utc::now(),
                ));
            }
        }
    }
    super::stdout::print(&out)?;
    Ok(exit_code(report_rejected(config)))
}

/// Forgets `keys` in every selected target; a key no target knows is an error (after the
/// others are forgotten).
fn forget_all(config: &Config, keys: &[String]) -> Result<ExitCode, CliError> {
    let many = config.form == Form::Many;
    let mut found = vec![false; keys.len()];
    for target in &config.targets {
        // Among several targets, one never synced has nothing to forget: no lock or state
        // is made for it.
        let (backend, location) = backend_for(target);
        if many && !backend.exists(&location)? {
            continue;
        }
        // Under the run lock: a run in progress would record over what is forgotten here.
        let (store, mut state) = backend.open_for_run(&location)?;
        let mut changed = false;
        for (key, found) in keys.iter().zip(&mut found) {
            for source in state.forget(key) {
                *found = true;
                changed = true;
                if many {
                    println!("{}: forgot {source}", target.name);
                } else {
                    println!("forgot {source}");
                }
            }
        }
        if changed {
            store.record_rest(&state)?;
        }
    }
    let missing: Vec<String> = keys
        .iter()
        .zip(found)
        .filter(|(_, found)| !found)
        .map(|(key, _)| key.clone())
        .collect();
    let rejected = report_rejected(config);
    if missing.is_empty() {
        Ok(exit_code(rejected))
    } else {
        Err(CliError::NotInState(missing))
    }
}

/// One target's state as the JSON state file held it (byte for byte, for a state imported
/// from one), or every selected target's under `"targets"`.
fn export(config: &Config) -> Result<ExitCode, CliError> {
    let mut states = Vec::new();
    for target in &config.targets {
        let (backend, location) = backend_for(target);
        states.push((target.name.clone(), backend.load(&location)?));
    }
    let document = match states.as_slice() {
        [(_, only)] => serde_json::to_value(only).unwrap_or_default(),
        _ => serde_json::json!({
            "targets": states
                .iter()
                .map(|(name, state)| (name.clone(), serde_json::to_value(state).unwrap_or_default()))
                .collect::<serde_json::Map<_, _>>()
        }),
    };
    super::stdout::print(&(serde_json::to_string_pretty(&document).unwrap_or_default() + "\n"))?;
    Ok(exit_code(report_rejected(config)))
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

/// Two lines after the summary (the lines before it are what `state show` always printed):
/// when the last full run was and when the next is due under the target's `full_reconcile`,
/// then what scimsync learnt about the target's filtering, on which incremental runs depend.
fn full_runs(
    reconcile: &Reconcile,
    schedule: &FullReconcile,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    format!(
        "{}\n{}\n",
        last_and_next_full(reconcile, schedule, now),
        filtering(reconcile.filter.as_ref())
    )
}

fn last_and_next_full(
    reconcile: &Reconcile,
    schedule: &FullReconcile,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let when = |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%d %H:%M UTC").to_string();
    let Some(last) = reconcile.last_full else {
        return "no full run has completed yet: the next run is full.".to_owned();
    };
    let next = match (schedule, schedule.next_after(last)) {
        (FullReconcile::Always, _) => "every run is full (full_reconcile = \"always\")".to_owned(),
        (_, None) => "the next only with sync --full (full_reconcile = \"never\")".to_owned(),
        (_, Some(next)) if next <= now => {
            format!("next due {} (the next run is full)", when(next))
        }
        (_, Some(next)) => format!("next due {}", when(next)),
    };
    format!("last full run {}; {next}.", when(last))
}

fn filtering(verdict: Option<&Filtering>) -> String {
    const FULL_UNTIL: &str =
        "every run is full until a scheduled or --full full run asks the target again";
    match verdict {
        None => "filtering not checked yet: the first incremental run that must look a user up asks the target.".to_owned(),
        Some(Filtering::Works) => {
            "filtering works: incremental runs look new users up by filter.".to_owned()
        }
        Some(Filtering::Unsupported) => format!(
            "filtering unsupported (/ServiceProviderConfig filter.supported = false): {FULL_UNTIL}."
        ),
        Some(Filtering::Unreliable { detail }) => {
            format!("filtering unreliable ({detail}): {FULL_UNTIL}.")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> chrono::DateTime<chrono::Utc> {
        text.parse().unwrap()
    }

    fn lines(last_full: Option<&str>, filter: Option<Filtering>, schedule: &str) -> String {
        let reconcile = Reconcile {
            last_full: last_full.map(at),
            filter,
        };
        full_runs(
            &reconcile,
            &schedule.parse().unwrap(),
            at("2026-12-07T12:00:00Z"),
        )
    }

    #[test]
    fn a_target_never_fully_run_says_its_next_run_is_full() {
        assert_eq!(
            lines(None, None, "24h"),
            "no full run has completed yet: the next run is full.\n\
             filtering not checked yet: the first incremental run that must look a user up asks the target.\n"
        );
    }

    #[test]
    fn the_next_full_run_follows_the_schedule() {
        let last = Some("2026-12-07T09:30:00Z");
        let works = || Some(Filtering::Works);
        assert_eq!(
            lines(last, works(), "24h"),
            "last full run 2026-12-07 09:30 UTC; next due 2026-12-08 09:30 UTC.\n\
             filtering works: incremental runs look new users up by filter.\n"
        );
        assert_eq!(
            lines(last, works(), "0 0 3 * * *").lines().next().unwrap(),
            "last full run 2026-12-07 09:30 UTC; next due 2026-12-08 03:00 UTC."
        );
        assert_eq!(
            lines(last, works(), "2h").lines().next().unwrap(),
            "last full run 2026-12-07 09:30 UTC; next due 2026-12-07 11:30 UTC (the next run is full)."
        );
        assert_eq!(
            lines(last, works(), "always").lines().next().unwrap(),
            "last full run 2026-12-07 09:30 UTC; every run is full (full_reconcile = \"always\")."
        );
        assert_eq!(
            lines(last, works(), "never").lines().next().unwrap(),
            "last full run 2026-12-07 09:30 UTC; the next only with sync --full (full_reconcile = \"never\")."
        );
    }

    #[test]
    fn a_filtering_verdict_that_keeps_runs_full_says_so() {
        let last = Some("2026-12-07T09:30:00Z");
        assert_eq!(
            lines(last, Some(Filtering::Unsupported), "24h")
                .lines()
                .nth(1)
                .unwrap(),
            "filtering unsupported (/ServiceProviderConfig filter.supported = false): every run is full until a scheduled or --full full run asks the target again."
        );
        let unreliable = Filtering::Unreliable {
            detail: "filter userName eq \"u4@x\" answered with userName \"u1@x\"".into(),
        };
        assert_eq!(
            lines(last, Some(unreliable), "24h").lines().nth(1).unwrap(),
            "filtering unreliable (filter userName eq \"u4@x\" answered with userName \"u1@x\"): every run is full until a scheduled or --full full run asks the target again."
        );
    }
}
