//! Unit tests of the lexer: every quoting and escape form of each dialect, and the tokens the
//! other stages rely on.

use super::*;

fn tokens(text: &str, dialect: Dialect, reading: Reading) -> Vec<(Kind, &str)> {
    lex(text, dialect, reading)
        .map(|t| (t.kind, &text[t.span.start..t.span.end]))
        .collect()
}

/// The one token `text` is, with its decoded value.
fn one_string(text: &str, dialect: Dialect) -> (Kind, Result<String, BadEscape>) {
    let all = tokens(text, dialect, Reading::Expression);
    let [(kind, spelled)] = all.as_slice() else {
        panic!("one token expected in {text:?}, got {all:?}")
    };
    assert_eq!(*spelled, text);
    let Kind::Str { quoting, .. } = kind else {
        panic!("a string expected, got {kind:?}")
    };
    (*kind, string_value(spelled, *quoting))
}

fn closed(quoting: Quoting) -> Kind {
    Kind::Str {
        quoting,
        closed: true,
    }
}

#[test]
fn okta_doubles_a_quote_to_escape_it_and_keeps_backslashes() {
    for dialect in [Dialect::Okta, Dialect::Okta2] {
        let cases = [
            (r#""plain""#, "plain"),
            (r#""say ""hi""""#, r#"say "hi""#),
            ("'it''s'", "it's"),
            (r#"'a "b"'"#, r#"a "b""#),
            (r#""it's""#, "it's"),
            (r#""C:\dir\""#, r"C:\dir\"),
            (r#""\n\u00e9""#, r"\n\u00e9"),
            ("''", ""),
            ("''''", "'"),
        ];
        for (text, value) in cases {
            assert_eq!(
                one_string(text, dialect),
                (closed(Quoting::Okta), Ok(value.to_owned())),
                "{text}"
            );
        }
    }
}

#[test]
fn entra_escapes_a_quote_and_a_backslash_and_keeps_other_backslashes() {
    let cases = [
        (r#""plain""#, "plain"),
        (r#""a\"b""#, r#"a"b"#),
        (r#""a\\b""#, r"a\b"),
        (r#""\\""#, r"\"),
        (r#""C:\dir""#, r"C:\dir"),
        (r#""\n""#, r"\n"),
        (r#""it's""#, "it's"),
        (r#""""#, ""),
    ];
    for (text, value) in cases {
        assert_eq!(
            one_string(text, Dialect::Entra),
            (closed(Quoting::Entra), Ok(value.to_owned())),
            "{text}"
        );
    }
    // `'` does not quote in Entra.
    assert_eq!(
        tokens("'a'", Dialect::Entra, Reading::Expression),
        vec![
            (Kind::Operator, "'"),
            (Kind::Word, "a"),
            (Kind::Operator, "'")
        ]
    );
}

#[test]
fn map_strings_use_json_escapes() {
    let cases = [
        (r#""a\"b""#, Ok(r#"a"b"#.to_owned())),
        (r#""a\\b""#, Ok(r"a\b".to_owned())),
        (r#""\n\t\/""#, Ok("\n\t/".to_owned())),
        (r#""\u00e9""#, Ok("é".to_owned())),
        (r#""\q""#, Err(BadEscape)),
        (r#""\u12""#, Err(BadEscape)),
    ];
    for (text, value) in cases {
        let rule = format!("emails[type eq {text}].value <- x");
        let all = tokens(&rule, Dialect::Okta, Reading::Rule);
        assert_eq!(all[4], (closed(Quoting::Map), text), "{rule}");
        assert_eq!(string_value(text, Quoting::Map), value, "{text}");
    }
}

#[test]
fn a_string_ends_with_its_line_when_it_has_no_closing_quote() {
    let unclosed = |quoting| Kind::Str {
        quoting,
        closed: false,
    };
    assert_eq!(
        tokens("'it''s\nx", Dialect::Okta, Reading::Expression),
        vec![
            (unclosed(Quoting::Okta), "'it''s"),
            (Kind::Newline, "\n"),
            (Kind::Word, "x")
        ]
    );
    // An Entra `\` does not escape a line break; a `.map` string's does.
    assert_eq!(
        tokens("\"a\\\n\"", Dialect::Entra, Reading::Expression)[0],
        (unclosed(Quoting::Entra), "\"a\\")
    );
    assert_eq!(
        tokens("a[b eq \"x\\\ny\"].c", Dialect::Okta, Reading::Rule)[4],
        (closed(Quoting::Map), "\"x\\\ny\"")
    );
    assert_eq!(
        tokens("\"a\\\"", Dialect::Entra, Reading::Expression),
        vec![(unclosed(Quoting::Entra), "\"a\\\"")]
    );
}

#[test]
fn rules_read_map_strings_up_to_the_arrow_and_dialect_strings_after_it() {
    let text = r#"a[t eq "x\"y"].v <- "p\"q""#;
    let strings: Vec<_> = tokens(text, Dialect::Okta, Reading::Rule)
        .into_iter()
        .filter(|(k, _)| matches!(k, Kind::Str { .. }))
        .collect();
    assert_eq!(
        strings,
        vec![
            (closed(Quoting::Map), r#""x\"y""#),
            (closed(Quoting::Okta), r#""p\""#),
            (
                Kind::Str {
                    quoting: Quoting::Okta,
                    closed: false
                },
                "\""
            ),
        ]
    );
}

#[test]
fn attributes_numbers_comments_and_operators() {
    assert_eq!(
        tokens(
            "[job title] & &H1F-2.5e3 <> x # c (\n",
            Dialect::Entra,
            Reading::Expression
        ),
        vec![
            (Kind::Attr { closed: true }, "[job title]"),
            (Kind::Operator, "&"),
            (Kind::Number, "&H1F"),
            (Kind::Operator, "-"),
            (Kind::Number, "2.5e3"),
            (Kind::Operator, "<>"),
            (Kind::Word, "x"),
            (Kind::Comment, "# c ("),
            (Kind::Newline, "\n"),
        ]
    );
    assert_eq!(
        tokens("[a\"b", Dialect::Entra, Reading::Expression),
        vec![(Kind::Attr { closed: false }, "[a\"b")]
    );
    assert_eq!(
        tokens("user.a[0] ?: f(1e, $x)", Dialect::Okta, Reading::Expression),
        vec![
            (Kind::Word, "user"),
            (Kind::Dot, "."),
            (Kind::Word, "a"),
            (Kind::Open, "["),
            (Kind::Number, "0"),
            (Kind::Close, "]"),
            (Kind::Operator, "?:"),
            (Kind::Word, "f"),
            (Kind::Open, "("),
            (Kind::Number, "1"),
            (Kind::Word, "e"),
            (Kind::Comma, ","),
            (Kind::Word, "$x"),
            (Kind::Close, ")"),
        ]
    );
}

#[test]
fn number_values() {
    assert_eq!(number_value("12"), Some(Value::Int(12)));
    assert_eq!(number_value("-7"), Some(Value::Int(-7)));
    assert_eq!(number_value("2.5e1"), Some(Value::Float(25.0)));
    assert_eq!(number_value("&H1F"), Some(Value::Int(31)));
    assert_eq!(number_value("&hE"), Some(Value::Int(14)));
    assert_eq!(number_value("99999999999999999999"), None);
    assert_eq!(number_value("1e999"), None);
    assert_eq!(number_value("&H10000000000000000"), None);
}
