//! `scimsync check FILE.map...`: every error of every file, compiler style.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::sync::{SyncError, load_plan};

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The .map files to check.
    #[arg(required = true, value_name = "FILE.map")]
    files: Vec<PathBuf>,
}

pub fn run(args: CheckArgs) -> Result<ExitCode, String> {
    let mut failed = false;
    for path in &args.files {
        match load_plan(path) {
            Ok(plan) => println!("{}: ok ({} rules)", path.display(), plan.rules.len()),
            Err(SyncError::Mapping { rendered, .. }) => {
                eprint!("{rendered}");
                failed = true;
            }
            Err(other) => {
                eprintln!("error: {other}");
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
