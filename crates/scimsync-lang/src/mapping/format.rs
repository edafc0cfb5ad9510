//! The canonical layout of `.map` files (`scimsync fmt`).
//!
//! - one space around binary operators and `<-`, none inside brackets, one after commas;
//! - the `<-` of consecutive rules (a block: no blank line between them) in one column;
//! - rule options on one continuation line, under the expression, separated by `, `;
//! - an expression's own line breaks kept, its continuation lines indented two columns past
//!   the start of the expression;
//! - comments kept where they are (a comment at the end of a line stays at the end of the line
//!   that holds what preceded it), runs of blank lines reduced to one, one final newline.
//!
//! Formatting never changes meaning: the result is parsed again and must give the same
//! syntax tree (spans aside), or formatting fails. Formatting formatted text changes nothing.

use super::lex::{Kind, Reading, lex};
use super::parse::parse_file;
use super::source::{SourceFile, Span};
use super::split::split;
use super::syntax::{MapFile, RuleOption, Statement};
use super::{DEFAULT_DIALECT, Diagnostic, Dialect};

/// Why a file could not be formatted.
#[derive(Debug)]
pub enum FormatError {
    /// The file does not parse; formatting would have to guess.
    Syntax(Vec<Diagnostic>),
    /// The canonical layout would parse differently (a bug in the formatter, reported rather
    /// than written).
    Unstable,
}

/// The file in canonical layout.
pub fn format_file(file: &SourceFile) -> Result<String, FormatError> {
    let (syntax, diagnostics) = parse_file(file, DEFAULT_DIALECT);
    if !diagnostics.is_empty() {
        return Err(FormatError::Syntax(diagnostics));
    }
    let formatted = layout(&file.text, &syntax);
    let again = SourceFile::new(file.name.clone(), formatted.clone());
    let (reparsed, problems) = parse_file(&again, DEFAULT_DIALECT);
    if !problems.is_empty() || !reparsed.same_shape(&syntax) {
        return Err(FormatError::Unstable);
    }
    Ok(formatted)
}

/// One line of output.
#[derive(Default)]
struct Line {
    text: String,
    comment: Option<String>,
}

/// A statement laid out, before block alignment: `head` is the path of a rule (padded later
/// so the `<-` of a block line up).
struct Laid {
    /// For rules: the path, whose width decides the block's `<-` column.
    rule_path: Option<String>,
    /// Comment lines inside the statement before its first line (none in practice; kept).
    lines: Vec<Line>,
}

/// Top-level material (comments, blank lines) and statements, in order.
enum Item {
    Comment(String),
    Blank,
    Statement(Laid),
}

fn layout(text: &str, syntax: &MapFile) -> String {
    let mut items = items(text, syntax);
    align_blocks(&mut items);
    render(items)
}

/// The file's statements laid out, and the comments and blank lines between them.
fn items(text: &str, syntax: &MapFile) -> Vec<Item> {
    let chunks = split(text, DEFAULT_DIALECT);
    let mut items: Vec<Item> = Vec::new();
    let push_gap = |items: &mut Vec<Item>, gap: &str| {
        for line in gap.lines() {
            let trimmed = line.trim();
            if trimmed.is_empty() {
                items.push(Item::Blank);
            } else {
                items.push(Item::Comment(trimmed.to_owned()));
            }
        }
    };
    let first = chunks.first().map_or(text.len(), |c| c.start);
    push_gap(&mut items, &text[..first]);
    for chunk in &chunks {
        let statement = syntax
            .statements
            .iter()
            .find(|s| (chunk.start..chunk.end).contains(&s.span().start));
        let chunk_text = &text[chunk.start..chunk.end];
        // The statement proper ends at its last line of code; the comment and blank lines
        // after it belong to the file, not to the statement.
        let tokens = tokenize(
            chunk_text,
            chunk.start,
            chunk.dialect,
            reading_of(statement),
        );
        let code_end = tokens
            .iter()
            .filter(|t| t.kind != Kind::Comment)
            .map(|t| t.end)
            .max()
            .unwrap_or(chunk.start);
        let line_end = text[code_end..chunk.end]
            .find('\n')
            .map_or(chunk.end, |i| code_end + i + 1);
        let own: Vec<Token> = tokens.into_iter().filter(|t| t.start < line_end).collect();
        let laid = match statement {
            Some(statement) => lay_statement(text, statement, &own, chunk.dialect),
            None => Laid {
                rule_path: None,
                lines: vec![Line {
                    text: text[chunk.start..line_end].trim().to_owned(),
                    comment: None,
                }],
            },
        };
        items.push(Item::Statement(laid));
        push_gap(&mut items, &text[line_end..chunk.end]);
    }
    items
}

/// Lines up the `<-` of each block: a run of rules with no blank line (or other statement)
/// between them.
fn align_blocks(items: &mut [Item]) {
    let mut block_start = 0;
    let mut blocks: Vec<(usize, usize)> = Vec::new();
    for index in 0..=items.len() {
        let breaks = match items.get(index) {
            None | Some(Item::Blank) => true,
            Some(Item::Statement(laid)) => laid.rule_path.is_none(),
            Some(Item::Comment(_)) => false,
        };
        if breaks {
            blocks.push((block_start, index));
            block_start = index + 1;
        }
    }
    for (start, end) in blocks {
        let end = end.min(items.len());
        let width = items[start..end]
            .iter()
            .filter_map(|i| match i {
                Item::Statement(Laid {
                    rule_path: Some(p), ..
                }) => Some(p.chars().count()),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        for item in &mut items[start..end] {
            if let Item::Statement(laid) = item
                && laid.rule_path.is_some()
            {
                align_rule(laid, width);
            }
        }
    }
}

/// The output text: no blank line at the start or end, never two in a row.
fn render(items: Vec<Item>) -> String {
    let mut result = String::new();
    let mut pending_blank = false;
    for item in items {
        if !matches!(item, Item::Blank) && std::mem::take(&mut pending_blank) {
            result.push('\n');
        }
        match item {
            Item::Blank => pending_blank = !result.is_empty(),
            Item::Comment(c) => {
                result.push_str(&c);
                result.push('\n');
            }
            Item::Statement(laid) => {
                for line in &laid.lines {
                    result.push_str(line.text.trim_end());
                    if let Some(comment) = &line.comment {
                        if !line.text.trim().is_empty() {
                            result.push_str("  ");
                        }
                        result.push_str(comment);
                    }
                    result.push('\n');
                }
            }
        }
    }
    result
}

/// Marker in a rule's first line where the padding before `<-` goes.
const ARROW_MARK: char = '\u{0}';

/// Pads the rule's path to `width` and shifts its continuation lines to match.
fn align_rule(laid: &mut Laid, width: usize) {
    let path_width = laid.rule_path.as_deref().map_or(0, |p| p.chars().count());
    let pad = width.saturating_sub(path_width);
    let mut first = true;
    for line in &mut laid.lines {
        if let Some(at) = line.text.find(ARROW_MARK) {
            line.text
                .replace_range(at..at + ARROW_MARK.len_utf8(), &" ".repeat(pad + 1));
            first = false;
        } else if !first {
            line.text.insert_str(0, &" ".repeat(pad));
        }
    }
}

/// Lays out one statement from its syntax tree (for structure) and its tokens (for the exact
/// spelling of expressions and for comments).
fn lay_statement(text: &str, statement: &Statement, tokens: &[Token], dialect: Dialect) -> Laid {
    let comments: Vec<&Token> = tokens.iter().filter(|t| t.kind == Kind::Comment).collect();
    let slice = |span: Span| text[span.start..span.end].trim().to_owned();
    match statement {
        Statement::Rule(rule) => {
            let path = slice(rule.target.span);
            let expression: Vec<&Token> = tokens
                .iter()
                .filter(|t| {
                    t.kind != Kind::Comment
                        && t.start >= rule.expr.span.start
                        && t.end <= rule.expr.span.end
                })
                .collect();
            let head = format!("{path}{ARROW_MARK}<- ");
            // 0-based column of the expression (before block alignment pads the path).
            let column = path.chars().count() + 4;
            let head_line = line_of(text, rule.target.span.start);
            let mut lines = expression_lines(text, (head, head_line), &expression, column, dialect);
            let options: Vec<String> = rule.options.iter().map(|o| option_text(text, o)).collect();
            if !options.is_empty() {
                lines.push((
                    Line {
                        text: format!("{}{}", " ".repeat(column), options.join(", ")),
                        comment: None,
                    },
                    rule.options
                        .iter()
                        .map(|o| line_of(text, option_span(o).start))
                        .collect(),
                ));
            }
            Laid {
                rule_path: Some(path),
                lines: attach_comments(text, lines, &comments),
            }
        }
        Statement::Scope { expr, .. } => {
            let expression: Vec<&Token> = tokens
                .iter()
                .filter(|t| {
                    t.kind != Kind::Comment && t.start >= expr.span.start && t.end <= expr.span.end
                })
                .collect();
            let head_line = line_of(text, expr.span.start);
            let lines =
                expression_lines(text, ("scope ".into(), head_line), &expression, 6, dialect);
            Laid {
                rule_path: None,
                lines: attach_comments(text, lines, &comments),
            }
        }
        _ => {
            // Declarations: words and strings, one space apart, on one line.
            let code: Vec<&Token> = tokens.iter().filter(|t| t.kind != Kind::Comment).collect();
            let mut line = String::new();
            let mut previous: Option<&Token> = None;
            for token in &code {
                if let Some(p) = previous
                    && space_between(p, token, dialect, &text[p.start..p.end])
                {
                    line.push(' ');
                }
                line.push_str(&text[token.start..token.end]);
                previous = Some(token);
            }
            let lines_of_code = code.iter().map(|t| line_of(text, t.start)).collect();
            Laid {
                rule_path: None,
                lines: attach_comments(
                    text,
                    vec![(
                        Line {
                            text: line,
                            comment: None,
                        },
                        lines_of_code,
                    )],
                    &comments,
                ),
            }
        }
    }
}

/// An expression's tokens on output lines: the first after `head` (which sits on source line
/// `head.1`), each later source line of the expression on its own line, indented two past
/// `column` (the expression's 0-based column). Each output line carries the source lines its
/// tokens came from, for attaching comments.
fn expression_lines(
    text: &str,
    head: (String, usize),
    tokens: &[&Token],
    column: usize,
    dialect: Dialect,
) -> Vec<(Line, Vec<usize>)> {
    let mut lines = vec![(
        Line {
            text: head.0,
            comment: None,
        },
        vec![head.1],
    )];
    let mut previous: Option<&Token> = None;
    let mut previous_line = 0;
    for token in tokens {
        let source_line = line_of(text, token.start);
        if let Some(p) = previous {
            if source_line != previous_line {
                lines.push((
                    Line {
                        text: " ".repeat(column + 2),
                        comment: None,
                    },
                    Vec::new(),
                ));
            } else if space_between(p, token, dialect, &text[p.start..p.end])
                && let Some((line, _)) = lines.last_mut()
            {
                line.text.push(' ');
            }
        }
        if let Some((line, sources)) = lines.last_mut() {
            line.text.push_str(&text[token.start..token.end]);
            sources.push(source_line);
        }
        previous = Some(token);
        previous_line = source_line;
    }
    lines
}

/// Puts each comment back: at the end of the last output line holding code from its source
/// line, or, for a comment on a line of its own, on its own line before the next line of
/// code.
fn attach_comments(text: &str, lines: Vec<(Line, Vec<usize>)>, comments: &[&Token]) -> Vec<Line> {
    let mut before: Vec<Vec<&Token>> = vec![Vec::new(); lines.len()];
    let mut trailing: Vec<Vec<&Token>> = vec![Vec::new(); lines.len()];
    let mut after: Vec<&Token> = Vec::new();
    for comment in comments {
        let line = line_of(text, comment.start);
        let slot = if own_line(text, comment) {
            lines
                .iter()
                .position(|(_, sources)| sources.iter().all(|s| *s > line) && !sources.is_empty())
                .map(|i| &mut before[i])
        } else {
            lines
                .iter()
                .rposition(|(_, sources)| sources.contains(&line))
                .map(|i| &mut trailing[i])
        };
        match slot {
            Some(slot) => slot.push(comment),
            None => after.push(comment),
        }
    }
    let mut out: Vec<Line> = Vec::new();
    for (i, (mut line, _)) in lines.into_iter().enumerate() {
        let indent: String = line.text.chars().take_while(|c| *c == ' ').collect();
        for comment in &before[i] {
            out.push(Line {
                text: format!("{indent}{}", comment_text(text, comment)),
                comment: None,
            });
        }
        let mut extra = trailing[i].iter();
        line.comment = extra.next().map(|c| comment_text(text, c));
        out.push(line);
        for comment in extra {
            out.push(Line {
                text: indent.clone(),
                comment: Some(comment_text(text, comment)),
            });
        }
    }
    // A comment after the statement's last code goes at the end.
    for comment in after {
        out.push(Line {
            text: String::new(),
            comment: Some(comment_text(text, comment)),
        });
    }
    out
}

fn comment_text(text: &str, comment: &Token) -> String {
    text[comment.start..comment.end].trim_end().to_owned()
}

/// Whether a comment is the only thing on its line.
fn own_line(text: &str, comment: &Token) -> bool {
    let line_start = text[..comment.start].rfind('\n').map_or(0, |i| i + 1);
    text[line_start..comment.start].trim().is_empty()
}

/// 0-based line index of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count()
}

fn option_span(option: &RuleOption) -> Span {
    match option {
        RuleOption::OnCreate(span) | RuleOption::Always(span) => *span,
        RuleOption::Default(constant) => constant.span,
        RuleOption::OneOf { span, .. } => *span,
        RuleOption::As(name) => name.span,
    }
}

/// An option in canonical spelling; constants keep the file's spelling.
fn option_text(text: &str, option: &RuleOption) -> String {
    let constant = |span: Span| text[span.start..span.end].to_owned();
    match option {
        RuleOption::OnCreate(_) => "on create".into(),
        RuleOption::Always(_) => "always".into(),
        RuleOption::Default(c) => format!("default {}", constant(c.span)),
        RuleOption::OneOf { values, .. } => format!(
            "one of {}",
            values
                .iter()
                .map(|v| constant(v.span))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        RuleOption::As(name) => format!("as {}", name.name),
    }
}

#[derive(Clone, Debug)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
    /// A `-` or `!` that applies to what follows (`-1`, `!x`), not a binary operator.
    prefix: bool,
}

/// Okta's word operators (case-insensitive).
const WORD_OPERATORS: &[&str] = &[
    "and", "or", "not", "matches", "eq", "ne", "lt", "le", "gt", "ge",
];

/// Which strings a statement holds: a declaration's are the `.map` file's own (JSON escapes)
/// whatever the dialect; a rule's path too, up to `<-`.
fn reading_of(statement: Option<&Statement>) -> Reading {
    match statement {
        Some(Statement::Target { .. } | Statement::Extension { .. } | Statement::Match { .. }) => {
            Reading::Declaration
        }
        Some(Statement::Rule(_)) => Reading::Rule,
        _ => Reading::Expression,
    }
}

/// A statement's tokens from the lexer, line breaks left out; offsets are absolute (`base`
/// is the statement's start).
fn tokenize(text: &str, base: usize, dialect: Dialect, reading: Reading) -> Vec<Token> {
    let mut tokens: Vec<Token> = Vec::new();
    for token in lex(text, dialect, reading) {
        if token.kind == Kind::Newline {
            continue;
        }
        let Span { start, end } = token.span;
        let prefix = token.kind == Kind::Operator
            && matches!(&text[start..end], "-" | "!")
            && tokens
                .iter()
                .rev()
                .find(|t| t.kind != Kind::Comment)
                .is_none_or(|p| {
                    takes_an_operand(p, &text[p.start - base..p.end - base], base, dialect)
                });
        tokens.push(Token {
            kind: token.kind,
            start: base + start,
            end: base + end,
            prefix,
        });
    }
    tokens
}

/// Whether a `-` or `!` after `previous` (spelled `spelled`) is a prefix.
fn takes_an_operand(previous: &Token, spelled: &str, base: usize, dialect: Dialect) -> bool {
    matches!(previous.kind, Kind::Operator | Kind::Open | Kind::Comma)
        || is_operator(previous, spelled, dialect)
        // `scope !x`: the keyword that starts the statement.
        || (previous.start == base && spelled == "scope")
}

/// Whether a token is an operator that takes one operand after it when it appears here.
fn is_operator(token: &Token, spelled: &str, dialect: Dialect) -> bool {
    token.kind == Kind::Operator
        || (dialect == Dialect::Okta
            && token.kind == Kind::Word
            && WORD_OPERATORS
                .iter()
                .any(|w| w.eq_ignore_ascii_case(spelled)))
}

/// Whether one space goes between `left` (spelled `left_text`) and `right`.
fn space_between(left: &Token, right: &Token, dialect: Dialect, left_text: &str) -> bool {
    use Kind::*;
    match (left.kind, right.kind) {
        // Omitted arguments stay visible: `Replace(x, , "re", , "", , )`.
        (Comma, Close) | (Comma, Comma) => true,
        (_, Comma) | (_, Close) | (Open, _) | (Dot, _) | (_, Dot) => false,
        (Comma, _) => true,
        // A call or an index: `f(`, `x[0]`, `)[`.
        (Word | Close | Attr { .. } | Str { .. }, Open)
            if !is_operator(left, left_text, dialect) =>
        {
            false
        }
        (Operator, _) if left.prefix => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(text: &str) -> String {
        format_file(&SourceFile::new("t.map", text)).expect("formats")
    }

    #[test]
    fn strings_keep_their_spelling_and_hide_comment_and_operator_characters() {
        let text = "userName <- 'it''s # <- not a comment'+\"a\"\"b\"\ndialect entra\ntitle<-\"say \\\"hi\\\" # x\"&[job title]\n";
        assert_eq!(
            fmt(text),
            "userName <- 'it''s # <- not a comment' + \"a\"\"b\"\ndialect entra\ntitle <- \"say \\\"hi\\\" # x\" & [job title]\n"
        );
    }

    /// Declarations and rule paths hold the `.map` file's own strings (JSON escapes) in every
    /// dialect; fmt once read them with Okta's quoting and refused the file as "unstable".
    #[test]
    fn declaration_and_path_strings_keep_json_escapes_in_okta_files() {
        let text = "dialect okta\ntarget \"a\\\"b\"\nemails[type eq \"w\\\"k\"].value<-user.email\nuserName <- user.login\n";
        assert_eq!(
            fmt(text),
            "dialect okta\ntarget \"a\\\"b\"\nemails[type eq \"w\\\"k\"].value <- user.email\nuserName                     <- user.login\n"
        );
    }

    #[test]
    fn prefix_and_binary_minus_are_told_apart() {
        assert_eq!(
            fmt(
                "userName <- String.len( user.a )-1\ntitle <- -1 * - user.n\nnickName <- !user.b ? 'x' : 'y'\n"
            ),
            "userName <- String.len(user.a) - 1\ntitle    <- -1 * -user.n\nnickName <- !user.b ? 'x' : 'y'\n"
        );
    }

    #[test]
    fn windows_line_endings_and_a_missing_final_newline_are_normalised() {
        assert_eq!(
            fmt("userName <- user.email # c\r\ntitle<-user.t\r\n  on create"),
            "userName <- user.email  # c\ntitle    <- user.t\n            on create\n"
        );
    }

    #[test]
    fn tabs_blank_lines_and_comments_are_normalised() {
        assert_eq!(
            fmt("\n\n# head\t \n\n\n\tuserName\t<- user.email   \n\n\n  # tail\n\n"),
            "# head\n\nuserName <- user.email\n\n# tail\n"
        );
    }
}
