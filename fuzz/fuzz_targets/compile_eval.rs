//! Fuzz target: parse + check + evaluate on arbitrary text.
//!
//! The first byte picks what the rest is: a `.map` file, or a lone expression in the Okta or
//! the Entra dialect. Whatever compiles is evaluated over records built from the input
//! itself (every attribute the plan reads set to pieces of the input, as strings, numbers,
//! booleans and lists), and every diagnostic is rendered. Nothing may panic, and every
//! diagnostic span must lie within the text.
//!
//! ```sh
//! cd fuzz && cargo +nightly fuzz run compile_eval -- -max_total_time=60
//! ```

#![no_main]

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;

use scimsync::mapping::{self, Diagnostic, Dialect, Env, SourceFile};
use scimsync::record::Record;
use scimsync::value::Value;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest).into_owned();
    let now = DateTime::<Utc>::UNIX_EPOCH;
    match mode % 3 {
        0 => {
            let file = SourceFile::new("fuzz.map", text.clone());
            match mapping::compile(&file) {
                Ok(plan) => {
                    for record in records(plan.facts.reads.iter().map(String::as_str), &text) {
                        let _ = plan.evaluate(&record, &Env { record: &record, now });
                    }
                }
                Err(diagnostics) => {
                    check_spans(&diagnostics, &text);
                    let _ = mapping::render_all(&diagnostics, &file);
                }
            }
        }
        m => {
            let dialect = if m == 1 { Dialect::Okta } else { Dialect::Entra };
            match mapping::compile_expression(&text, dialect) {
                Ok(plan) => {
                    let names = ["email", "mail", "role", "status", "firstName", "x"];
                    for record in records(names.into_iter(), &text) {
                        let _ = plan.evaluate(&Env { record: &record, now });
                    }
                }
                Err(diagnostics) => check_spans(&diagnostics, &text),
            }
        }
    }
});

/// Records whose attributes `names` hold values derived from the input: its words as
/// strings, as numbers, as booleans and as a list, and one with nothing set.
fn records<'a>(names: impl Iterator<Item = &'a str>, text: &str) -> Vec<Record> {
    let names: Vec<&str> = names.collect();
    let words: Vec<&str> = text.split_whitespace().take(8).collect();
    let fill = |value: &dyn Fn(usize) -> Value| {
        let mut record = Record {
            id: "fuzz".into(),
            active: true,
            groups: words.iter().map(|w| (*w).to_owned()).collect(),
            ..Record::default()
        };
        for (i, name) in names.iter().enumerate() {
            record.attrs.insert((*name).to_owned(), value(i));
        }
        record
    };
    let word = |i: usize| words.get(i % words.len().max(1)).copied().unwrap_or("");
    vec![
        fill(&|_| Value::Null),
        fill(&|i| Value::from(word(i))),
        fill(&|i| Value::Int(word(i).len() as i64 - 1)),
        fill(&|i| Value::Bool(i % 2 == 0)),
        fill(&|_| Value::List(words.iter().map(|w| Value::from(*w)).collect())),
    ]
}

fn check_spans(diagnostics: &[Diagnostic], text: &str) {
    assert!(!diagnostics.is_empty(), "a failed compile must say why");
    for d in diagnostics {
        for label in std::iter::once(&d.primary).chain(&d.secondary) {
            let span = label.span;
            assert!(
                span.start <= span.end
                    && span.end <= text.len()
                    && text.is_char_boundary(span.start)
                    && text.is_char_boundary(span.end),
                "{:?}: span {}..{} outside or inside a character of a {}-byte text",
                d.code,
                span.start,
                span.end,
                text.len()
            );
        }
    }
}
