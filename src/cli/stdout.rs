//! Writing a command's output to stdout. A reader that closes the pipe early
//! (`scimsync sync --dry-run | head`) has what it wanted: that is success, never a panic
//! (`print!` panics on a closed pipe) and never an error message.

use std::io::Write as _;

use super::error::CliError;

/// Writes `text` to stdout.
pub(super) fn print(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    closed_pipe_is_fine(out.write_all(text.as_bytes()).and_then(|()| out.flush()))
}

/// Writes `document` to stdout as pretty JSON and a newline.
pub(super) fn print_json(document: &impl serde::Serialize) -> Result<(), CliError> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match serde_json::to_writer_pretty(&mut out, document) {
        Err(e) if e.is_io() => closed_pipe_is_fine(Err(std::io::Error::from(e))),
        Err(e) => Err(CliError::Report(e)),
        Ok(()) => closed_pipe_is_fine(writeln!(out).and_then(|()| out.flush())),
    }
}

fn closed_pipe_is_fine(written: std::io::Result<()>) -> Result<(), CliError> {
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::Stdout(e)),
        _ => Ok(()),
    }
}
