//! The pest grammar and the lexer agree: for generated expressions and statements of each
//! dialect, the string and number literals pest finds are exactly the lexer's string and
//! number tokens, and each string decodes to the value it was written from.

use pest::Parser;
use proptest::prelude::*;

use super::{MapParser, Rule};
use crate::mapping::Dialect;
use crate::mapping::lex::{Kind, Quoting, Reading, lex, string_value};

/// A generated text and the values of its strings, in order.
#[derive(Clone, Debug)]
struct Source {
    text: String,
    strings: Vec<String>,
}

impl Source {
    fn atom(text: String) -> Source {
        Source {
            text,
            strings: Vec::new(),
        }
    }

    fn string(text: String, value: String) -> Source {
        Source {
            text,
            strings: vec![value],
        }
    }

    /// `parts` joined, with `glue` around them.
    fn join(parts: Vec<Source>, open: &str, separator: &str, close: &str) -> Source {
        let text = parts
            .iter()
            .map(|p| p.text.as_str())
            .collect::<Vec<_>>()
            .join(separator);
        Source {
            text: format!("{open}{text}{close}"),
            strings: parts.into_iter().flat_map(|p| p.strings).collect(),
        }
    }
}

/// String contents with every character that matters to some quoting.
const CONTENT: &str = "[a-z'\"\\\\# (\\[\\]é&-]{0,6}";

/// A comment where blanks may go: its quotes and brackets must hide nothing.
fn blank() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just(" "), Just(" # it's \"(\n ")]
}

fn number() -> impl Strategy<Value = String> {
    "[0-9]{1,4}(\\.[0-9]{1,3})?([eE][+-]?[0-9]{1,2})?"
}

fn okta_string() -> impl Strategy<Value = Source> {
    (any::<bool>(), CONTENT).prop_map(|(single, value)| {
        let quote = if single { "'" } else { "\"" };
        let escaped = value.replace(quote, &quote.repeat(2));
        Source::string(format!("{quote}{escaped}{quote}"), value)
    })
}

fn entra_string() -> impl Strategy<Value = Source> {
    CONTENT.prop_map(|value| {
        let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
        Source::string(format!("\"{escaped}\""), value)
    })
}

fn map_string() -> impl Strategy<Value = Source> {
    CONTENT.prop_map(|value| {
        let json = serde_json::to_string(&value).unwrap_or_default();
        Source::string(json, value)
    })
}

fn okta_expr() -> impl Strategy<Value = Source> {
    let atom = prop_oneof![
        okta_string(),
        number().prop_map(Source::atom),
        Just(Source::atom("user.a".into())),
        Just(Source::atom("true".into())),
    ];
    atom.prop_recursive(4, 24, 3, |inner| {
        (prop::collection::vec(inner, 1..4), 0..6usize, blank()).prop_map(
            |(parts, shape, blank)| match shape {
                0 => Source::join(parts, "", &format!("{blank}+ "), ""),
                1 => Source::join(parts, "f(", &format!(",{blank}"), ")"),
                2 => Source::join(parts, "{", ", ", "}"),
                3 => Source::join(parts, "(", " && ", ")"),
                4 => Source::join(parts, "", &format!(" ?:{blank}"), ""),
                _ => Source::join(parts, "-", " * -", ""),
            },
        )
    })
}

fn entra_expr() -> impl Strategy<Value = Source> {
    let atom = prop_oneof![
        entra_string(),
        number().prop_map(Source::atom),
        number().prop_map(|n| Source::atom(format!("-{n}"))),
        "[0-9A-F]{1,4}".prop_map(|h| Source::atom(format!("&H{h}"))),
        "[a-z \"#(']{1,6}".prop_map(|name| Source::atom(format!("[{name}]"))),
    ];
    atom.prop_recursive(4, 24, 3, |inner| {
        (prop::collection::vec(inner, 1..4), 0..4usize, blank()).prop_map(
            |(parts, shape, blank)| match shape {
                0 => Source::join(parts, "", &format!("{blank}& "), ""),
                1 => Source::join(parts, "F(", ", , ", ")"),
                2 => Source::join(parts, "(", " || ", ")"),
                _ => Source::join(parts, "IIF(", &format!(",{blank}"), ")"),
            },
        )
    })
}

/// The spans of the string and number literals pest finds, as the lexer would cut them: a
/// signed number's sign is an operator token of its own.
fn pest_literals(rule: Rule, text: &str) -> Vec<(usize, usize)> {
    let pairs = match MapParser::parse(rule, text) {
        Ok(pairs) => pairs,
        Err(error) => panic!("{text:?} does not parse: {error}"),
    };
    pairs
        .flatten()
        .filter_map(|pair| {
            let span = pair.as_span();
            match pair.as_rule() {
                Rule::signed_number if pair.as_str().starts_with('-') => {
                    Some((span.start() + 1, span.end()))
                }
                Rule::okta_string
                | Rule::entra_string
                | Rule::text
                | Rule::number
                | Rule::signed_number
                | Rule::hex => Some((span.start(), span.end())),
                _ => None,
            }
        })
        .collect()
}

/// The lexer's string and number tokens, and the strings' values.
fn lexer_literals(
    text: &str,
    dialect: Dialect,
    reading: Reading,
) -> (Vec<(usize, usize)>, Vec<String>) {
    let mut spans = Vec::new();
    let mut strings = Vec::new();
    for token in lex(text, dialect, reading) {
        let span = token.span;
        match token.kind {
            Kind::Str { quoting, closed } => {
                assert!(closed, "{text:?}: unclosed string at {}", span.start);
                let value = string_value(&text[span.start..span.end], quoting);
                strings.push(value.unwrap_or_else(|e| panic!("{text:?}: {e}")));
            }
            Kind::Number => {}
            _ => continue,
        }
        spans.push((span.start, span.end));
    }
    (spans, strings)
}

fn agree(rule: Rule, source: &Source, dialect: Dialect, reading: Reading) {
    let (spans, strings) = lexer_literals(&source.text, dialect, reading);
    assert_eq!(
        spans,
        pest_literals(rule, &source.text),
        "{:?}",
        source.text
    );
    assert_eq!(strings, source.strings, "{:?}", source.text);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn okta_literals_agree(expr in okta_expr()) {
        for dialect in [Dialect::Okta, Dialect::Okta2] {
            agree(Rule::okta_standalone, &expr, dialect, Reading::Expression);
        }
    }

    #[test]
    fn entra_literals_agree(expr in entra_expr()) {
        agree(Rule::entra_standalone, &expr, Dialect::Entra, Reading::Expression);
    }

    /// A rule's path filter holds a `.map` string (JSON escapes) whatever the dialect.
    #[test]
    fn rule_literals_agree(filter in map_string(), okta in okta_expr(), entra in entra_expr()) {
        let rules = [
            (Rule::okta_statement, Dialect::Okta, okta),
            (Rule::entra_statement, Dialect::Entra, entra),
        ];
        for (rule, dialect, expr) in rules {
            let path = Source::join(vec![filter.clone()], "emails[type eq ", "", "].value <- ");
            let statement = Source::join(vec![path, expr], "", "", "");
            agree(rule, &statement, dialect, Reading::Rule);
        }
    }

    /// Declarations hold only `.map` strings: a statement with no `<-` is read as a path.
    #[test]
    fn declaration_literals_agree(name in map_string(), alias in map_string()) {
        let group = Source::join(vec![name, alias], "group ", " as ", "");
        agree(Rule::okta_statement, &group, Dialect::Okta, Reading::Rule);
        agree(Rule::entra_statement, &group, Dialect::Entra, Reading::Rule);
    }
}

#[test]
fn every_literal_rule_is_a_lexer_token() {
    let expr = Source::string("'a'".into(), "a".into());
    agree(
        Rule::okta_standalone,
        &expr,
        Dialect::Okta,
        Reading::Expression,
    );
    let quoting = Quoting::of(Dialect::Entra);
    assert_eq!(string_value(r#""\"""#, quoting), Ok("\"".into()));
}
