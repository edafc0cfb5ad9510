//! The diagnostics corpus: each `tests/diagnostics/*.map` is checked and its rendered
//! diagnostics compared with the snapshot next to this file. One file per case.

use scimsync_lang::mapping::{self, SourceFile};

#[test]
fn diagnostics_corpus() {
    insta::glob!("diagnostics/*.map", |path| {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).unwrap();
        let file = SourceFile::new(name, text);
        let rendered = match mapping::compile(&file) {
            Ok(plan) => format!("{}ok\n", mapping::render_all(&plan.warnings, &file)),
            Err(diagnostics) => mapping::render_all(&diagnostics, &file),
        };
        insta::assert_snapshot!(rendered);
    });
}
