//! The one lexer of `.map` text: a stream of tokens with spans, the way jaq's `lex` feeds its
//! parser. It is the only place that knows how each kind of string is quoted and escaped:
//!
//! - Okta strings, `"..."` or `'...'`: a quote is escaped by doubling it, `\` is an ordinary
//!   character;
//! - Entra strings, `"..."`: `\"` is a quote and `\\` a backslash, any other `\x` is kept;
//! - the `.map` file's own strings (headers, path filters, rule options): JSON escapes.
//!
//! A string never spans lines: one with no closing quote ends with its line. `split` (statement
//! boundaries and brackets), `depth`, `format` (layout) and `parse` (literal values and
//! messages) all read this stream; pest recognises the structure, and a property test proves
//! that its literals and these tokens agree.

use super::Dialect;
use super::source::Span;
use crate::value::Value;

/// How a string literal is quoted and escaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quoting {
    /// Okta (SpEL): `'` or `"`, doubled to escape.
    Okta,
    /// Entra: `"`, escaped with `\`.
    Entra,
    /// The `.map` file's own strings: `"`, JSON escapes.
    Map,
}

impl Quoting {
    /// How the strings of `dialect`'s expressions are quoted.
    pub fn of(dialect: Dialect) -> Quoting {
        if dialect.backslash_escapes() {
            Quoting::Entra
        } else {
            Quoting::Okta
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A string literal, quotes included; `closed` is false when its line ended first.
    Str {
        quoting: Quoting,
        closed: bool,
    },
    /// A decimal number, or an Entra `&H1F`.
    Number,
    /// A name or a keyword.
    Word,
    /// An Entra attribute reference `[name]`, brackets included.
    Attr {
        closed: bool,
    },
    Open,
    Close,
    Comma,
    Dot,
    Operator,
    /// `#` to the end of the line.
    Comment,
    Newline,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub span: Span,
}

/// Which strings the text holds where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    /// An expression of the dialect throughout: its own strings, and in Entra `[attribute]`
    /// names.
    Expression,
    /// A rule: its path up to `<-`, whose filter holds a `.map` string, then its expression.
    Rule,
    /// A declaration (`target`, `extension`, `match`): `.map` strings throughout.
    Declaration,
}

/// Operators, longest first so `<-` wins over `<` and `?:` over `?`.
const OPERATORS: &[&str] = &[
    "<-", "==", "!=", "<>", "<=", ">=", "&&", "||", "?:", "?", ":", "<", ">", "=", "+", "-", "*",
    "/", "%", "!", "&",
];

/// The tokens of `text`, offsets relative to it. Blanks other than line breaks are skipped.
pub fn lex(text: &str, dialect: Dialect, reading: Reading) -> Lexer<'_> {
    Lexer {
        text,
        at: 0,
        dialect,
        in_path: matches!(reading, Reading::Rule | Reading::Declaration),
    }
}

pub struct Lexer<'t> {
    text: &'t str,
    at: usize,
    dialect: Dialect,
    /// Before a rule's `<-`: strings are `.map` strings and `[` is a filter.
    in_path: bool,
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let rest = &self.text[self.at..];
        let blanks = rest.len() - rest.trim_start_matches([' ', '\t', '\r']).len();
        self.at += blanks;
        let rest = &rest[blanks..];
        let (kind, len) = self.token(rest)?;
        if self.in_path && kind == Kind::Operator && rest.starts_with("<-") {
            self.in_path = false;
        }
        let start = self.at;
        self.at += len;
        Some(Token {
            kind,
            span: Span::new(start, self.at),
        })
    }
}

impl Lexer<'_> {
    /// The kind and length of the token `rest` starts with.
    fn token(&self, rest: &str) -> Option<(Kind, usize)> {
        let c = rest.chars().next()?;
        let entra = self.dialect == Dialect::Entra;
        Some(match c {
            '\n' => (Kind::Newline, 1),
            '#' => (Kind::Comment, rest.find('\n').unwrap_or(rest.len())),
            '"' if self.in_path => string(rest, Quoting::Map),
            '"' => string(rest, Quoting::of(self.dialect)),
            '\'' if !self.in_path && self.dialect.single_quoted_strings() => {
                string(rest, Quoting::Okta)
            }
            '[' if !self.in_path && entra => attribute(rest),
            '&' if entra && hex_len(rest) > 0 => (Kind::Number, hex_len(rest)),
            '0'..='9' => (Kind::Number, number_len(rest)),
            '(' | '[' | '{' => (Kind::Open, 1),
            ')' | ']' | '}' => (Kind::Close, 1),
            ',' => (Kind::Comma, 1),
            '.' => (Kind::Dot, 1),
            c if is_word_char(c) && !c.is_ascii_digit() => (
                Kind::Word,
                rest.find(|c| !is_word_char(c)).unwrap_or(rest.len()),
            ),
            c => (
                Kind::Operator,
                OPERATORS
                    .iter()
                    .find(|op| rest.starts_with(**op))
                    .map_or(c.len_utf8(), |op| op.len()),
            ),
        })
    }
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$' || !c.is_ascii()
}

/// A string literal at the start of `rest`: to its closing quote, or to the end of its line.
fn string(rest: &str, quoting: Quoting) -> (Kind, usize) {
    let mut chars = rest.char_indices();
    let quote = chars.next().map_or('"', |(_, q)| q);
    let mut chars = chars.peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '\n' => return unclosed(quoting, at),
            '\\' if quoting == Quoting::Map => {
                // Any character, a line break too (`text_inner`).
                chars.next();
            }
            // Entra escapes any character but a line break (`entra_inner`).
            '\\' if quoting == Quoting::Entra => {
                chars.next_if(|(_, n)| *n != '\n');
            }
            c if c == quote => {
                if quoting == Quoting::Okta && chars.next_if(|(_, n)| *n == quote).is_some() {
                    continue;
                }
                let kind = Kind::Str {
                    quoting,
                    closed: true,
                };
                return (kind, at + 1);
            }
            _ => {}
        }
    }
    unclosed(quoting, rest.len())
}

fn unclosed(quoting: Quoting, len: usize) -> (Kind, usize) {
    let kind = Kind::Str {
        quoting,
        closed: false,
    };
    (kind, len)
}

/// An Entra `[name]`: the name runs to `]` or the end of the line (`entra_attr_name`).
fn attribute(rest: &str) -> (Kind, usize) {
    match rest.find([']', '\n']) {
        Some(end) if rest[end..].starts_with(']') => (Kind::Attr { closed: true }, end + 1),
        Some(end) => (Kind::Attr { closed: false }, end),
        None => (Kind::Attr { closed: false }, rest.len()),
    }
}

/// The length of an Entra `&H1F` at the start of `rest`, or 0.
fn hex_len(rest: &str) -> usize {
    let digits = rest.get(2..).map_or(0, |d| {
        d.len() - d.trim_start_matches(|c: char| c.is_ascii_hexdigit()).len()
    });
    if digits > 0 && (rest.starts_with("&h") || rest.starts_with("&H")) {
        2 + digits
    } else {
        0
    }
}

/// The length of the decimal number at the start of `rest` (`number` in the grammar).
fn number_len(rest: &str) -> usize {
    let bytes = rest.as_bytes();
    let digits = |mut i: usize| {
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let mut i = digits(0);
    if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i = digits(i + 1);
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(bytes.get(i + 1), Some(b'+' | b'-')));
        if bytes.get(i + 1 + sign).is_some_and(u8::is_ascii_digit) {
            i = digits(i + 1 + sign);
        }
    }
    i
}

/// A `.map` string whose escapes are not JSON's.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid escape sequence in string")]
pub struct BadEscape;

/// The value of a closed string literal `token` (quotes included), its escapes decoded.
pub fn string_value(token: &str, quoting: Quoting) -> Result<String, BadEscape> {
    let inner = |token: &str| {
        let quote = token.chars().next().map_or(0, char::len_utf8);
        token
            .get(quote..token.len().saturating_sub(quote))
            .unwrap_or_default()
            .to_owned()
    };
    match quoting {
        Quoting::Okta => {
            let quote = if token.starts_with('\'') { "'" } else { "\"" };
            Ok(inner(token).replace(&quote.repeat(2), quote))
        }
        Quoting::Entra => Ok(unescape_entra(&inner(token))),
        Quoting::Map => serde_json::from_str::<String>(token).map_err(|_| BadEscape),
    }
}

/// Entra strings: `\"` is a quote and `\\` a backslash; any other backslash is kept as written.
fn unescape_entra(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(next @ ('"' | '\\')) => out.push(next),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The value of a number literal: decimal (`12`, `-3`, `2.5e3`) or Entra hexadecimal
/// (`&H1F`). `None` when it does not fit: integers in 64 bits, decimals finite.
pub fn number_value(token: &str) -> Option<Value> {
    if let Some(hex) = token
        .strip_prefix("&H")
        .or_else(|| token.strip_prefix("&h"))
    {
        return i64::from_str_radix(hex, 16).ok().map(Value::Int);
    }
    if token.contains(['.', 'e', 'E']) {
        token
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Value::Float)
    } else {
        token.parse::<i64>().ok().map(Value::Int)
    }
}

/// The characters of `text` that are code, with their byte offsets: string literals (quotes
/// included), Entra attribute names (not their brackets) and comments are left out. For the
/// scans that only count brackets, `,` and `?` (`split`, `depth`, bracket messages).
pub fn code_chars(
    text: &str,
    dialect: Dialect,
    reading: Reading,
) -> impl Iterator<Item = (usize, char)> + '_ {
    lex(text, dialect, reading).flat_map(move |token| {
        let Span { start, end } = token.span;
        let code: Box<dyn Iterator<Item = (usize, char)>> = match token.kind {
            Kind::Str { .. } | Kind::Comment | Kind::Newline => Box::new(std::iter::empty()),
            Kind::Attr { closed } => {
                let close = closed.then_some((end - 1, ']'));
                Box::new(std::iter::once((start, '[')).chain(close))
            }
            _ => Box::new(
                text[start..end]
                    .char_indices()
                    .map(move |(i, c)| (start + i, c)),
            ),
        };
        code
    })
}

#[cfg(test)]
#[path = "lex_tests.rs"]
mod tests;
