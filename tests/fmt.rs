//! `scimsync fmt`: the canonical layout of each `tests/fmt/*.map` (snapshots), and idempotence
//! on every `.map` file the project ships or tests with that parses.

use crate::support;

use std::path::Path;

use scimsync_lang::mapping::SourceFile;
use scimsync_lang::mapping::format::{FormatError, format_file};
use support::{in_test_corpus, project_map_files};

fn format(path: &Path) -> Result<String, FormatError> {
    let text = std::fs::read_to_string(path).unwrap();
    format_file(&SourceFile::new(path.display().to_string(), text))
}

#[test]
fn fmt_corpus() {
    insta::glob!("fmt/*.map", |path| {
        let formatted = format(path).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        insta::assert_snapshot!(formatted);
    });
}

#[test]
fn formatting_is_idempotent_on_every_map_file() {
    let files = project_map_files();
    assert!(files.len() >= 20, "found only {files:?}");
    let mut formatted_count = 0;
    for path in &files {
        let once = match format(path) {
            Ok(text) => text,
            // Test corpora hold files that do not parse, on purpose; shipped files must parse.
            Err(FormatError::Syntax(_)) if in_test_corpus(path) => continue,
            Err(e) => panic!("{} cannot be formatted: {e:?}", path.display()),
        };
        let twice = format_file(&SourceFile::new("again.map", once.clone()))
            .unwrap_or_else(|e| panic!("{} formatted does not format: {e:?}", path.display()));
        assert_eq!(twice, once, "{} is not formatted stably", path.display());
        formatted_count += 1;
    }
    assert!(
        formatted_count >= 15,
        "only {formatted_count} files formatted"
    );
}

#[test]
fn files_that_do_not_parse_are_not_formatted() {
    let file = SourceFile::new("bad.map", "userName <- String.toLowerCase(user.email\n");
    match format_file(&file) {
        Err(FormatError::Syntax(diagnostics)) => assert_eq!(diagnostics.len(), 1),
        other => panic!("expected a syntax error, got {other:?}"),
    }
}
