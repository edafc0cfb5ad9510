//! Cuts a `.map` file into statements before parsing, so that a syntax error in one statement
//! does not hide the errors in the others: every statement is parsed on its own.
//!
//! The layout rule, which is also what a reader sees: a statement starts at a line that begins
//! in column 1 with a name; lines that are indented, that begin with an operator or a closing
//! bracket, or that lie inside an open bracket continue it. Comments and blank lines belong to
//! no statement.

use super::Dialect;

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
            if let Some(next) = dialect_switch(line) {
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

/// The dialect a `dialect NAME` line selects, if it is one and names a known dialect.
fn dialect_switch(line: &str) -> Option<Dialect> {
    let rest = line.strip_prefix("dialect")?;
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let name = rest.split('#').next()?.trim();
    Dialect::from_name(name)
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

/// Which strings [`code_chars`] expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Reading {
    /// An expression of the dialect throughout: its own strings, and in Entra `[attribute]`
    /// names, none of whose characters are code.
    Expression,
    /// A rule: its path up to `<-`, whose filter holds a `.map` string (JSON escapes), then
    /// its expression.
    Rule,
}

/// The characters of `text` that are code, with their byte offsets: string literals (quotes
/// included), Entra attribute names and comments are skipped, exactly as the grammar reads
/// them. A string ends at its closing quote or at the end of its line.
pub(super) fn code_chars(text: &str, dialect: Dialect, reading: Reading) -> CodeChars<'_> {
    CodeChars {
        chars: text.char_indices().peekable(),
        dialect,
        in_path: reading == Reading::Rule,
        in_attribute: false,
    }
}

pub(super) struct CodeChars<'t> {
    chars: std::iter::Peekable<std::str::CharIndices<'t>>,
    dialect: Dialect,
    /// Before a rule's `<-`.
    in_path: bool,
    /// Just after an Entra `[`.
    in_attribute: bool,
}

impl CodeChars<'_> {
    /// Skips the rest of an expression's string literal opened by `quote`.
    fn skip_string(&mut self, quote: char) {
        while let Some((_, s)) = self.chars.next() {
            if s == '\n' {
                break;
            }
            if s == '\\' && self.dialect.backslash_escapes() {
                // Entra escapes any character but a line break.
                self.chars.next_if(|(_, n)| *n != '\n');
            } else if s == quote {
                // Okta doubles a quote to escape it.
                if !self.dialect.backslash_escapes()
                    && self.chars.next_if(|(_, n)| *n == quote).is_some()
                {
                    continue;
                }
                break;
            }
        }
    }

    /// Skips the rest of a `.map` string: `\` escapes any character.
    fn skip_map_string(&mut self) {
        while let Some((_, s)) = self.chars.next() {
            match s {
                '\\' => {
                    self.chars.next();
                }
                '"' | '\n' => break,
                _ => {}
            }
        }
    }
}

impl Iterator for CodeChars<'_> {
    type Item = (usize, char);

    fn next(&mut self) -> Option<(usize, char)> {
        if std::mem::take(&mut self.in_attribute) {
            // The name runs to `]` or the end of the line (`entra_attr_name`).
            return self.chars.find(|(_, c)| matches!(c, ']' | '\n'));
        }
        loop {
            let (at, c) = self.chars.next()?;
            match c {
                '#' => while self.chars.next_if(|(_, c)| *c != '\n').is_some() {},
                '"' if self.in_path => self.skip_map_string(),
                '"' => self.skip_string(c),
                '\'' if !self.in_path && self.dialect.single_quoted_strings() => {
                    self.skip_string(c)
                }
                '[' if !self.in_path && self.dialect == Dialect::Entra => {
                    self.in_attribute = true;
                    return Some((at, c));
                }
                '<' if self.in_path && self.chars.peek().is_some_and(|(_, n)| *n == '-') => {
                    self.in_path = false;
                    return Some((at, c));
                }
                _ => return Some((at, c)),
            }
        }
    }
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
