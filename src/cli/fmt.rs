//! `scimsync fmt FILE.map... [--check]`: rewrite `.map` files in the canonical layout.
//!
//! Files that do not parse are reported with their diagnostics and left untouched. A file is
//! rewritten only when its layout changes, through a temporary file renamed over it, so an
//! interrupted run never leaves half a file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::error::{CliError, render};
use scimsync_lang::mapping::format::{FormatError, format_file};
use scimsync_lang::mapping::{SourceFile, render_all};

#[derive(Debug, clap::Args)]
pub struct FmtArgs {
    /// The .map files to format in place.
    #[arg(required = true, value_name = "FILE.map")]
    files: Vec<PathBuf>,
    /// Write nothing; list the files whose layout would change and exit 1 if there are any.
    #[arg(long)]
    check: bool,
}

pub fn run(args: FmtArgs) -> Result<ExitCode, CliError> {
    let mut failed = false;
    for path in &args.files {
        let shown = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                let error = CliError::ReadFile {
                    path: shown,
                    kind: e.kind(),
                };
                eprintln!("{}", render(&error));
                failed = true;
                continue;
            }
        };
        let file = SourceFile::new(shown.clone(), text);
        match format_file(&file) {
            Ok(formatted) if formatted == file.text => {}
            Ok(_) if args.check => {
                println!("{shown}");
                failed = true;
            }
            Ok(formatted) => {
                if let Err(source) = replace(path, &formatted) {
                    let error = CliError::WriteFile {
                        path: shown,
                        source,
                    };
                    eprintln!("{}", render(&error));
                    failed = true;
                }
            }
            Err(FormatError::Syntax(diagnostics)) => {
                eprint!("{}", render_all(&diagnostics, &file));
                eprintln!("{shown}: not formatted: fix the errors above first");
                failed = true;
            }
            Err(FormatError::Unstable) => {
                eprintln!("{}", render(&CliError::Unstable(shown)));
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

/// Writes `text` next to `path` and renames it over `path`.
fn replace(path: &Path, text: &str) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.fmt-{}", std::process::id()));
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}
