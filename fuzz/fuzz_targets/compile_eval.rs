//! Fuzz target: parse + check + evaluate on arbitrary text.
//!
//! The first byte picks what the rest is: a `.map` file, or a lone expression in the Okta or
//! the Entra dialect (`mode % 3`). From mode 3 on, the text is built by repetition first (see
//! [`repeated`]), so that deep nesting and long chains, which byte mutations alone rarely
//! build, are explored too: they must be refused with E0007, never overflow the stack.
//! Whatever compiles is evaluated over records built from the input
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

use scimsync_lang::mapping::{self, Diagnostic, Dialect, Env, SourceFile};
use scimsync_lang::record::Record;
use scimsync_lang::value::Value;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest).into_owned();
    let text = if mode % 6 >= 3 { repeated(&text) } else { text };
    let now = DateTime::<Utc>::UNIX_EPOCH;
    match mode % 3 {
        0 => {
            let file = SourceFile::new("fuzz.map", text.clone());
            match mapping::compile(&file) {
                Ok(plan) => {
                    for record in records(plan.facts.reads.iter().map(String::as_str), &text) {
                        let _ = plan.evaluate(&record, &Env::at(&record, now));
                    }
                }
                Err(diagnostics) => {
                    check_spans(&diagnostics, &text);
                    let _ = mapping::render_all(&diagnostics, &file);
                }
            }
        }
        m => {
            let dialect = if m == 1 {
                Dialect::Okta
            } else {
                Dialect::Entra
            };
            match mapping::compile_expression(&text, dialect) {
                Ok(plan) => {
                    let names = ["email", "mail", "role", "status", "firstName", "x"];
                    for record in records(names.into_iter(), &text) {
                        let _ = plan.evaluate(&Env::at(&record, now));
                    }
                }
                Err(diagnostics) => check_spans(&diagnostics, &text),
            }
        }
    }
});

/// `COUNT prefix \u{1} open \u{1} middle \u{1} close` becomes `prefix`, then `open` repeated,
/// `middle`, and `close` as often: up to 10,200 times (40 × the count character's code, mod
/// 256), and about 200 KB at most.
fn repeated(text: &str) -> String {
    let mut chars = text.chars();
    let count = chars.next().map_or(0, |c| (c as usize % 256) * 40);
    let rest = chars.as_str();
    let mut parts = rest.splitn(4, '\u{1}');
    let mut next = || parts.next().unwrap_or_default();
    let (prefix, open, middle, close) = (next(), next(), next(), next());
    let times = count.min(200_000 / (open.len() + close.len()).max(1));
    format!(
        "{prefix}{}{middle}{}",
        open.repeat(times),
        close.repeat(times)
    )
}

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
