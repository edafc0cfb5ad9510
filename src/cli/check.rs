//! `scimsync check FILE.map...`: every error of every file, compiler style.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::sync::{SyncError, load_plan};

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The .map files to check.
    #[arg(required = true, value_name = "FILE.map")]
    files: Vec<PathBuf>,
    /// Also print what each valid file reads, writes and can fail on.
    #[arg(long)]
    facts: bool,
}

pub fn run(args: CheckArgs) -> Result<ExitCode, String> {
    let mut failed = false;
    for path in &args.files {
        match load_plan(path) {
            Ok(plan) => {
                println!("{}: ok ({} rules)", path.display(), plan.rules.len());
                if args.facts {
                    print!("{}", facts_text(&plan));
                }
            }
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

/// The plan's static facts, indented under the file's `ok` line.
fn facts_text(plan: &crate::mapping::Plan) -> String {
    let facts = &plan.facts;
    let aliases = plan.aliases();
    let mut reads: Vec<&str> = facts.reads.iter().map(String::as_str).collect();
    if facts.reads_groups {
        reads.push("(group memberships)");
    }
    let writes: Vec<String> = facts
        .writes
        .iter()
        .map(|p| crate::sync::render::short_path(&p.to_string(), &aliases))
        .collect();
    let mut out = format!(
        "  reads:  {}\n  writes: {}\n",
        reads.join(", "),
        writes.join(", ")
    );
    if facts.fallible.is_empty() {
        out.push_str("  can fail: nothing\n");
    } else {
        out.push_str("  can fail (the user is skipped):\n");
        for rule in &facts.fallible {
            let what = match &rule.path {
                Some(path) => format!(
                    "`{}`",
                    crate::sync::render::short_path(&path.to_string(), &aliases)
                ),
                None => "scope".to_owned(),
            };
            out.push_str(&format!(
                "    {what} (line {}): {}\n",
                rule.line,
                rule.reasons.join("; ")
            ));
        }
    }
    out
}
