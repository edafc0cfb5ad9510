//! Cuts a `.map` file into statements before parsing, so that a syntax error in one statement
//! does not hide the errors in the others: every statement is parsed on its own.
//!
//! The layout rule, which is also what a reader sees: a statement starts at a line that begins
//! in column 1 with a name; lines that are indented, that begin with an operator or a closing
//! bracket, or that lie inside an open bracket continue it. Comments and blank lines belong to
//! no statement.

use super::Dialect;
use super::lex::{Kind, Reading, code_chars, lex};

/// One statement's byte range and the dialect its expressions are written in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub start: usize,
    pub end: usize,
    pub dialect: Dialect,
}

/// Characters that, in column 1, continue the previous statement instead of starting one.
const CONTINUATION: &[char] = &[
    ')', ']', '}', '?', ':', '+', '-', '*', '/', '%', '&', '|', ',', '.', '=', '<', '>', '!', '"',
    '\'', '[', '(', '{',
];

pub fn split(text: &str, initial: Dialect) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut dialect = initial;
    let mut current: Option<(usize, Dialect)> = None;
    let mut depth: usize = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let first = line.chars().next();
        let at_column_one =
            first.is_some_and(|c| !c.is_whitespace() && c != '#' && !CONTINUATION.contains(&c));
        // Inside an unclosed bracket, a line that plainly begins a rule or a declaration still
        // starts a statement, so one missing `)` does not swallow the rest of the file.
        let starts_statement = at_column_one && (depth == 0 || looks_like_statement_head(line))
            // Code before any statement (an indented first rule) is a statement too, so it is
            // parsed and checked rather than silently ignored.
            || (current.is_none() && !matches!(line.trim_start().chars().next(), None | Some('#')));
        if starts_statement {
            if let Some((start, d)) = current.take() {
                chunks.push(Chunk {
                    start,
                    end: offset,
                    dialect: d,
                });
            }
            // A `dialect` statement switches the lexing of the statements after it.
            if let Some(next) = dialect_switch(line, dialect) {
                dialect = next;
            }
            current = Some((offset, dialect));
        }
        if current.is_some() {
            depth = scan_brackets(line, dialect, depth);
        }
        offset += line.len();
    }
    if let Some((start, d)) = current {
        chunks.push(Chunk {
            start,
            end: text.len(),
            dialect: d,
        });
    }
    chunks
}

/// Whether a line begins with a declaration keyword or with `path <-`.
fn looks_like_statement_head(line: &str) -> bool {
    const KEYWORDS: &[&str] = &["dialect", "target", "extension", "match", "scope"];
    let word_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(line.len());
    if KEYWORDS.contains(&&line[..word_end]) && line[word_end..].starts_with([' ', '\t']) {
        return true;
    }
    line.split_once("<-").is_some_and(|(head, _)| {
        let head = head.trim_end();
        !head.is_empty()
            && head.starts_with(|c: char| c.is_ascii_alphabetic())
            && head
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.:$-[]\" =".contains(c) || c == ' ')
    })
}

/// The dialect a `dialect NAME` line selects, if it is one and names a known dialect: the
/// words `dialect` (in column 1) and a name, and nothing else but a comment.
fn dialect_switch(line: &str, dialect: Dialect) -> Option<Dialect> {
    if !line.starts_with("dialect") {
        return None;
    }
    let mut code = lex(line, dialect, Reading::Expression)
        .filter(|t| !matches!(t.kind, Kind::Comment | Kind::Newline))
        .map(|t| (t.kind, &line[t.span.start..t.span.end]));
    match (code.next(), code.next(), code.next()) {
        (Some((Kind::Word, "dialect")), Some((Kind::Word, name)), None) => Dialect::from_name(name),
        _ => None,
    }
}

/// Updates the bracket depth over one line, skipping string literals and comments.
/// Strings never span lines, so an unterminated one ends with the line.
fn scan_brackets(line: &str, dialect: Dialect, depth: usize) -> usize {
    code_chars(line, dialect, Reading::Expression).fold(depth, |depth, (_, c)| match c {
        '(' | '[' | '{' => depth + 1,
        ')' | ']' | '}' => depth.saturating_sub(1),
        _ => depth,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<(&str, Dialect)> {
        split(src, Dialect::Okta)
            .into_iter()
            .map(|c| (src[c.start..c.end].trim_end(), c.dialect))
            .collect()
    }

    #[test]
    fn indented_and_bracketed_lines_continue() {
        let src = "# head\nuserName <- user.email\n  one of \"a\"\nb44:role <- f(\n\"x\",\n)\n\n? x : y\ndialect entra\nactive <- [a]\n";
        assert_eq!(
            texts(src),
            vec![
                ("userName <- user.email\n  one of \"a\"", Dialect::Okta),
                ("b44:role <- f(\n\"x\",\n)\n\n? x : y", Dialect::Okta),
                ("dialect entra", Dialect::Entra),
                ("active <- [a]", Dialect::Entra),
            ]
        );
    }

    #[test]
    fn indented_code_before_any_statement_is_not_dropped() {
        assert_eq!(
            texts("# head\n  title <- user.t\nuserName <- x\n"),
            vec![
                ("  title <- user.t", Dialect::Okta),
                ("userName <- x", Dialect::Okta)
            ]
        );
    }

    #[test]
    fn brackets_inside_strings_and_comments_do_not_count() {
        let src = "a <- \"(\" # (\nb <- 'it''s ('\nc <- x\n";
        assert_eq!(texts(src).len(), 3);
        let entra = "dialect entra\na <- \"\\\"(\"\nb <- x\n";
        assert_eq!(split(entra, Dialect::Okta).len(), 3);
    }
}
