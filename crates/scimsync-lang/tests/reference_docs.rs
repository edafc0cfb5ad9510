//! The book's reference tables are generated from the code that defines them, so code and
//! docs cannot drift: the diagnostic codes (`Code::table`) in docs/diagnostics.md and each
//! dialect's function reference (`functions::reference_table`) in docs/okta.md and
//! docs/entra.md, each between its marker comments. `SCIMSYNC_BLESS_DOCS=1 cargo test -p
//! scimsync-lang --test integration reference_docs` rewrites them after a change.

use std::path::PathBuf;

use scimsync_lang::mapping::Dialect;
use scimsync_lang::mapping::diagnostic::Code;
use scimsync_lang::mapping::functions::reference_table;

fn docs(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs")
        .join(file)
}

/// Checks that the text between `<!-- marker -->` and `<!-- /marker -->` in `file` is
/// `generated` (with a blank line either side), or rewrites it when blessing.
fn generated_section(file: &str, marker: &str, generated: &str) {
    let path = docs(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let (open, close) = (format!("<!-- {marker} -->"), format!("<!-- /{marker} -->"));
    let start = text
        .find(&open)
        .unwrap_or_else(|| panic!("{file} has no {open}"))
        + open.len();
    let end = text
        .find(&close)
        .unwrap_or_else(|| panic!("{file} has no {close}"));
    let want = format!("\n\n{generated}\n");
    if std::env::var_os("SCIMSYNC_BLESS_DOCS").is_some() {
        let updated = format!("{}{want}{}", &text[..start], &text[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert!(
        text[start..end] == want,
        "{file}'s `{marker}` section is not what the code generates; run \
         SCIMSYNC_BLESS_DOCS=1 cargo test -p scimsync-lang --test integration reference_docs\n\
         --- in the docs:\n{}\n--- generated:\n{want}",
        &text[start..end]
    );
}

#[test]
fn the_diagnostics_chapter_lists_every_code_as_the_code_describes_it() {
    generated_section("diagnostics.md", "codes", &Code::table());
}

#[test]
fn the_okta_chapter_lists_every_function_as_the_table_declares_it() {
    generated_section("okta.md", "reference:okta", &reference_table(Dialect::Okta));
    generated_section(
        "okta.md",
        "reference:okta2",
        &reference_table(Dialect::Okta2),
    );
}

#[test]
fn the_entra_chapter_lists_every_function_as_the_table_declares_it() {
    generated_section(
        "entra.md",
        "reference:entra",
        &reference_table(Dialect::Entra),
    );
}
