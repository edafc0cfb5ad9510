//! pest's errors in words: what was expected and found, unclosed brackets and strings (at
//! the lexer's token boundaries), and hints for the mistakes people make most.

use pest::error::{ErrorVariant, InputLocation};

use super::Rule;
use crate::mapping::Dialect;
use crate::mapping::diagnostic::{Code, Diagnostic};
use crate::mapping::lex::{Kind, Reading, code_chars, lex};
use crate::mapping::source::Span;

/// What the grammar expected, in words an IT admin reads.
fn describe(rule: Rule) -> Option<&'static str> {
    use Rule::*;
    Some(match rule {
        okta_expr | okta_or | okta_and | okta_rel | okta_sum | okta_product | okta_power
        | okta_unary | okta_postfix | okta_prefix | okta_paren | okta_list | okta_name
        | entra_expr | entra_and | entra_rel | entra_concat | entra_unary | entra_not
        | entra_paren | entra_call | entra_name | entra_attr | okta_string | entra_string
        | number | signed_number | hex | boolean | null | okta_map | okta_map_entry => {
            "an expression"
        }
        text | text_inner => "a quoted string",
        constant => "a constant",
        ident => "a name",
        scim_path | urn_path | aliased_path | core_path | attr_chain | attr_name => {
            "a SCIM attribute path"
        }
        value_filter => "a filter like `[type eq \"work\"]`",
        arrow => "`<-`",
        or_op | and_op | okta_rel_op | entra_rel_op | sum_op | product_op | power_op
        | concat_op | okta_elvis | okta_cond | okta_member | okta_index | okta_args => {
            "an operator"
        }
        rule_options | opt_on_create | opt_always | opt_default | opt_one_of | opt_as | kw_on
        | kw_always | kw_default | kw_one | kw_as => "a rule option",
        kw_create => "`create`",
        kw_of => "`of`",
        type_name => "a type (`string`, `integer` or `boolean`)",
        dialect_name => "a dialect (`okta`, `okta2` or `entra`)",
        kw_dialect | kw_target | kw_extension | kw_match | kw_scope => "a statement",
        EOI => "the end of the statement",
        _ => return None,
    })
}

/// Turns a pest error into a diagnostic at the offending token.
pub(super) fn syntax_error(
    error: &pest::error::Error<Rule>,
    text: &str,
    offset: usize,
    dialect: Dialect,
) -> Diagnostic {
    let pos = match error.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    if let Some(Span { start: quote, end }) =
        unterminated_string(text, dialect).filter(|q| q.start <= pos)
    {
        return Diagnostic::error(Code::UnterminatedString, Span::new(quote + offset, end + offset), "unterminated string")
            .label("this string has no closing quote")
            .help(match dialect {
                Dialect::Okta | Dialect::Okta2 => "close it with the quote it opened with; write a quote inside as two quotes: `\"say \"\"hi\"\"\"`",
                Dialect::Entra => "close it with `\"`; write a quote inside as `\\\"`",
            });
    }
    if let Some(problem) = bracket_problem(text, dialect) {
        return match problem {
            BracketProblem::Unclosed { open, at } => {
                let end = last_token_end(text, dialect);
                Diagnostic::error(
                    Code::Syntax,
                    Span::new(end + offset, end + offset),
                    format!("unclosed `{open}`"),
                )
                .label(format!("expected `{}` here", closing(open)))
                .secondary(Span::new(at + offset, at + offset + 1), "opened here")
                .help(format!("close it with `{}`", closing(open)))
            }
            BracketProblem::Unexpected { close, at } => Diagnostic::error(
                Code::Syntax,
                Span::new(at + offset, at + offset + 1),
                format!("unexpected `{close}`"),
            )
            .label("nothing to close here"),
        };
    }
    let mut expected: Vec<&str> = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            positives.iter().filter_map(|r| describe(*r)).collect()
        }
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    expected.sort_unstable();
    expected.dedup();
    let (found, found_len) = token_at(&text[pos..]);
    let message = match expected.as_slice() {
        [] => format!("unexpected {found}"),
        [one] => format!("expected {one}, found {found}"),
        [init @ .., last] => format!("expected {} or {last}, found {found}", init.join(", ")),
    };
    // At the end of a statement, point just after its last token rather than at the blank
    // line or comment that follows it.
    let at = if found_len == 0 {
        last_token_end(&text[..pos], dialect)
    } else {
        pos
    };
    let span = Span::new(at + offset, at + offset + found_len);
    let mut diagnostic = Diagnostic::error(Code::Syntax, span, message).label("unexpected here");
    if let Some(help) = syntax_help(&text[..pos], &text[pos..], &expected, dialect) {
        diagnostic = diagnostic.help(help);
    }
    diagnostic
}

fn closing(open: char) -> char {
    match open {
        '(' => ')',
        '[' => ']',
        _ => '}',
    }
}

enum BracketProblem {
    Unclosed { open: char, at: usize },
    Unexpected { close: char, at: usize },
}

/// The first bracket that is never closed or closes nothing, skipping strings and comments.
fn bracket_problem(text: &str, dialect: Dialect) -> Option<BracketProblem> {
    let mut stack: Vec<(char, usize)> = Vec::new();
    for (at, c) in code_chars(text, dialect, Reading::Expression) {
        match c {
            '(' | '[' | '{' => stack.push((c, at)),
            ')' | ']' | '}' => match stack.pop() {
                Some((open, _)) if closing(open) == c => {}
                Some((open, open_at)) => {
                    return Some(BracketProblem::Unclosed { open, at: open_at });
                }
                None => return Some(BracketProblem::Unexpected { close: c, at }),
            },
            _ => {}
        }
    }
    stack
        .pop()
        .map(|(open, at)| BracketProblem::Unclosed { open, at })
}

/// The byte offset just after the last token of `text`: trailing blanks and comments do not count.
fn last_token_end(text: &str, dialect: Dialect) -> usize {
    lex(text, dialect, Reading::Expression)
        .filter(|t| !matches!(t.kind, Kind::Comment | Kind::Newline))
        .last()
        .map_or(0, |t| t.span.end)
}

/// Hints for the mistakes people make most.
fn syntax_help(before: &str, rest: &str, expected: &[&str], dialect: Dialect) -> Option<String> {
    let rest = rest.trim_start();
    if expected.contains(&"`<-`") {
        return Some(
            "a rule is written `scimPath <- expression`, e.g. `userName <- user.email`".into(),
        );
    }
    match dialect {
        Dialect::Okta | Dialect::Okta2 if unsupported_spel(before, rest).is_some() => {
            unsupported_spel(before, rest)
        }
        Dialect::Okta | Dialect::Okta2 if rest.starts_with('[') => Some(
            "`[name]` is how Entra refers to attributes; in the okta dialect write `user.name`, or switch with `dialect entra`"
                .into(),
        ),
        Dialect::Entra if rest.starts_with('.') || rest.starts_with('\'') => Some(
            "in the entra dialect attributes are written `[name]` and strings use double quotes; for Okta expressions write `dialect okta`"
                .into(),
        ),
        _ if expected.contains(&"a rule option") => Some(
            "after the expression a rule may have options: `on create`, `always`, `default VALUE`, `one of \"a\", \"b\"`, `as integer`"
                .into(),
        ),
        _ => None,
    }
}

/// SpEL constructs Okta leaves out, named when the parser stops at one. Sources: Okta
/// Expression Language, <https://developer.okta.com/docs/reference/okta-expression-language/>,
/// and "Unsupported features" in its Identity Engine reference,
/// <https://developer.okta.com/docs/reference/okta-expression-language-in-identity-engine/>.
fn unsupported_spel(before: &str, rest: &str) -> Option<String> {
    let word: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let before = before.trim_end();
    let previous_word = before
        .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .next()
        .unwrap_or_default();
    let increment = before.ends_with("++")
        || before.ends_with("--")
        || (before.ends_with('+') && rest.starts_with('+'))
        || (before.ends_with('-') && rest.starts_with('-'));
    let what = match word.to_ascii_lowercase().as_str() {
        _ if previous_word.eq_ignore_ascii_case("new") => {
            "constructors (`new ...`) are SpEL, but Okta expressions do not support them"
        }
        _ if increment => {
            "`++` and `--` are SpEL, but Okta expressions do not support them; write `x + 1`"
        }
        "instanceof" => "`instanceof` is SpEL, but Okta expressions do not support it",
        "between" => {
            "`between` is SpEL, but Okta expressions do not support it; write `x >= a and x <= b`"
        }
        "new" => "constructors (`new ...`) are SpEL, but Okta expressions do not support them",
        _ if rest.starts_with('#') => {
            "`#` starts a comment in a `.map` file; SpEL variables and function references (`#x`) are not supported by Okta"
        }
        _ if rest.starts_with('@') => {
            "bean references (`@x`) are SpEL, but Okta expressions do not support them"
        }
        _ if rest.starts_with("++") || rest.starts_with("--") => {
            "`++` and `--` are SpEL, but Okta expressions do not support them; write `x + 1`"
        }
        _ if rest.starts_with(".![")
            || rest.starts_with(".?[")
            || rest.starts_with(".^[")
            || rest.starts_with(".$[") =>
        {
            "collection projection and selection (`.![...]`, `.?[...]`) work only on Okta's group objects inside a tenant"
        }
        _ => return None,
    };
    Some(what.to_owned())
}

/// Describes the token at the start of `rest` and its length in bytes.
fn token_at(rest: &str) -> (String, usize) {
    let Some(first) = rest.chars().next() else {
        return ("the end of the statement".into(), 0);
    };
    if rest.trim().is_empty() || rest.trim_start().starts_with('#') && !rest.contains('\n') {
        return ("the end of the statement".into(), 0);
    }
    let len = if first.is_alphanumeric() || first == '_' {
        rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len())
    } else if first.is_whitespace() {
        let trimmed = rest.trim_start();
        let skipped = rest.len() - trimmed.len();
        let (_, len) = token_at(trimmed);
        return (
            format!("`{}`", &trimmed[..len.max(1).min(trimmed.len())]),
            skipped + len,
        );
    } else {
        first.len_utf8()
    };
    (format!("`{}`", &rest[..len]), len)
}

/// The first string literal in `text` that has no closing quote: from its quote to the end
/// of its line.
fn unterminated_string(text: &str, dialect: Dialect) -> Option<Span> {
    lex(text, dialect, Reading::Expression)
        .find(|t| matches!(t.kind, Kind::Str { closed: false, .. }))
        .map(|t| t.span)
}
