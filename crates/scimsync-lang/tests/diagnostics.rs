//! The diagnostics corpus: each `tests/diagnostics/*.map` is checked and its rendered
//! diagnostics compared with the snapshot next to this file. One file per case.
//!
//! Beyond the text, each case pins what every diagnostic underlines: `<case>.spans` beside the
//! `.map` file lists, one line per diagnostic in order, its code and the source text under its
//! `^^^` as a JSON string (`E0201 "ToLowr"`). The underline is read back from the rendered
//! diagnostic, so a label that drifts by a column fails here even when its message still reads
//! well. A case that compiles cleanly has no `.spans` file.

use std::path::Path;

use scimsync_lang::mapping::{self, Diagnostic, SourceFile};
use unicode_width::UnicodeWidthChar;

#[test]
fn diagnostics_corpus() {
    insta::glob!("diagnostics/*.map", |path| {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).unwrap();
        let file = SourceFile::new(name, text);
        let (diagnostics, rendered) = match mapping::compile(&file) {
            Ok(plan) => {
                let rendered = format!("{}ok\n", mapping::render_all(&plan.warnings, &file));
                (plan.warnings, rendered)
            }
            Err(diagnostics) => {
                let rendered = mapping::render_all(&diagnostics, &file);
                (diagnostics, rendered)
            }
        };
        assert_eq!(
            underlines(&diagnostics, &file),
            expected_underlines(path),
            "{}: the underlined spans (code, text under ^^^) differ from its .spans file",
            path.display()
        );
        insta::assert_snapshot!(rendered);
    });
}

/// Each diagnostic's code and the text its rendering underlines with `^`.
fn underlines(diagnostics: &[Diagnostic], file: &SourceFile) -> Vec<String> {
    diagnostics
        .iter()
        .map(|d| {
            let rendered = d.render(file);
            let text = exactly_one_underline(&rendered)
                .unwrap_or_else(|| panic!("no single ^ underline in:\n{rendered}"));
            format!("{} {}", d.code.as_str(), serde_json::Value::from(text))
        })
        .collect()
}

/// The lines of the case's `.spans` file; none when it has no such file.
fn expected_underlines(map: &Path) -> Vec<String> {
    match std::fs::read_to_string(map.with_extension("spans")) {
        Ok(text) => text.lines().map(str::to_owned).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("{}: {e}", map.display()),
    }
}

/// The source text above the one run of `^` in a rendered diagnostic (the primary label; the
/// secondary ones use `-`), found by column the way a reader's eye finds it. `None` when
/// there is no such run or more than one.
fn exactly_one_underline(rendered: &str) -> Option<String> {
    let mut source_line = None;
    let mut found = None;
    for line in rendered.lines() {
        let Some((gutter, rest)) = line
            .split_once(" | ")
            .or_else(|| line.strip_suffix(" |").map(|g| (g, "")))
        else {
            continue;
        };
        if !gutter.trim().is_empty() {
            source_line = Some(rest);
            continue;
        }
        let lead = rest.len() - rest.trim_start_matches(' ').len();
        let marks = rest[lead..].chars().take_while(|&c| c == '^').count();
        if marks == 0 {
            continue;
        }
        if found.is_some() {
            return None;
        }
        found = Some(columns(source_line?, lead, marks));
    }
    found
}

/// The characters of `line` that occupy display columns `start..start + width`.
fn columns(line: &str, start: usize, width: usize) -> String {
    let mut column = 0;
    let mut out = String::new();
    for c in line.chars() {
        if column >= start + width {
            break;
        }
        if column >= start {
            out.push(c);
        }
        column += c.width().unwrap_or(0);
    }
    out
}
