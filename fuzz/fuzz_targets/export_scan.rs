//! Fuzz target: the export reader (`source::json`: the streaming scanner, the strict record
//! parser and the Okta/Graph/plain shapers) on arbitrary bytes.
//!
//! The first byte picks the shape (`Auto`, `Okta`, `Graph`, `Plain`) and the framing: one JSON
//! document read from memory, or JSON Lines read from a file (the scanner's other path). A
//! broken export must come back as an error naming where it broke; nothing may panic, and an
//! error's line must lie within the input.
//!
//! ```sh
//! cd fuzz && cargo +nightly fuzz run export_scan -- -max_total_time=60
//! ```

#![no_main]

use libfuzzer_sys::fuzz_target;

use scimsync_source::json::settings::JsonFormat;
use scimsync_source::json::{self, JsonSourceError};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let format = match mode % 4 {
        0 => JsonFormat::Auto,
        1 => JsonFormat::Okta,
        2 => JsonFormat::Graph,
        _ => JsonFormat::Plain,
    };
    let lines = rest.iter().filter(|b| **b == b'\n').count() + 1;
    let outcome = if mode & 4 == 0 {
        let text = String::from_utf8_lossy(rest);
        json::parse(&text, "export.json", format, "id")
    } else {
        read_json_lines(rest, format)
    };
    if let Err(error) = outcome {
        // Rendering must not panic; a reported line must exist.
        let _ = error.to_string();
        if let Some(line) = error_line(&error) {
            assert!(line >= 1 && line <= lines, "line {line} of {lines}: {error}");
        }
    }
});

/// JSON Lines go through the file scanner, as `sync` reads them.
fn read_json_lines(
    bytes: &[u8],
    format: JsonFormat,
) -> Result<Vec<scimsync_lang::record::Record>, JsonSourceError> {
    let dir = std::env::temp_dir().join(format!("scimsync-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("export.jsonl");
    if std::fs::write(&path, bytes).is_err() {
        return Ok(Vec::new());
    }
    json::load(&path, format, "id")
}

fn error_line(error: &JsonSourceError) -> Option<usize> {
    match error {
        JsonSourceError::Syntax { line, .. }
        | JsonSourceError::Broken { line, .. }
        | JsonSourceError::Structure { line, .. }
        | JsonSourceError::Record { line, .. } => Some(*line),
        _ => None,
    }
}
