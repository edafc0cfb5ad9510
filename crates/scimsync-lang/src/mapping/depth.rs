//! How deeply an expression may nest.
//!
//! pest's parser recurses once per bracket and per `?`, and lowering, checking, planning,
//! evaluating, formatting (and dropping) walk the expression tree recursively: nesting
//! without a bound overflows the thread's stack, which aborts the process, daemon included.
//! One limit, [`MAX_DEPTH`], bounds them all. It is enforced twice, so that no stage ever
//! meets deeper input: on the text before pest sees it ([`statement_too_deep`]), and on the tree
//! while it is built (`parse`), where flat text such as a long `+` chain becomes deep.
//! (pest 2.9 also stops short of the end of the stack, but with an error that the syntax
//! diagnostics would misname as an unclosed bracket or string.)

use super::Dialect;
use super::diagnostic::{Code, Diagnostic};
use super::lex::{Reading, code_chars};
use super::source::Span;

/// The deepest an expression may nest. Each bracket, call, conditional branch and operator of
/// a chain is one level. No mapping written by hand comes near, and every stage, pest
/// included, fits in a 2 MiB thread stack (a tokio worker's) at this depth, even unoptimised.
pub const MAX_DEPTH: usize = 64;

/// The diagnostic for an expression that nests past [`MAX_DEPTH`], at the token that opens
/// the first level too many.
pub fn too_deep(span: Span, label: impl Into<String>) -> Diagnostic {
    Diagnostic::error(
        Code::TooDeep,
        span,
        format!("this expression nests more than {MAX_DEPTH} levels deep"),
    )
    .label(label)
    .help(format!(
        "each bracket, call, `?` and chained operator is one level, and at most {MAX_DEPTH} are allowed; write it flatter, e.g. one `String.join`, `String.stringSwitch`, `Join` or `Switch` call instead of a long chain of `+`, `&` or conditionals"
    ))
}

/// For a whole statement: the first bracket or `?` of `text` that opens a level past
/// [`MAX_DEPTH`], as a diagnostic. `offset` is where `text` starts in its file.
///
/// pest may read a statement as a rule (a path, whose filter has a `.map` string, then `<-`
/// and an expression) or as a `scope` (an expression after the keyword), so both readings
/// are scanned: whichever pest takes, it recurses no deeper than that.
pub fn statement_too_deep(text: &str, dialect: Dialect, offset: usize) -> Option<Diagnostic> {
    [Reading::Rule, Reading::Expression]
        .into_iter()
        .filter_map(|reading| first_level_too_many(code_chars(text, dialect, reading), dialect))
        .min_by_key(|(at, _)| *at)
        .map(|(at, c)| level_too_many(offset + at, c))
}

/// For a lone expression (`scimsync eval`): as [`statement_too_deep`].
pub fn expression_too_deep(text: &str, dialect: Dialect, offset: usize) -> Option<Diagnostic> {
    first_level_too_many(code_chars(text, dialect, Reading::Expression), dialect)
        .map(|(at, c)| level_too_many(offset + at, c))
}

fn level_too_many(at: usize, c: char) -> Diagnostic {
    too_deep(
        Span::new(at, at + c.len_utf8()),
        format!("level {} opens here", MAX_DEPTH + 1),
    )
}

/// The first bracket or `?` among `code` that opens a level past [`MAX_DEPTH`].
///
/// This is how deep pest's parser recurses: one level per open bracket, and one per `?` (a
/// conditional's or Elvis's branches are whole expressions) until the bracket it is in
/// closes or a `,` ends the argument or element.
fn first_level_too_many(
    code: impl Iterator<Item = (usize, char)>,
    dialect: Dialect,
) -> Option<(usize, char)> {
    // The `?` still open at each bracket level, outermost (no bracket) first.
    let mut questions: Vec<usize> = vec![0];
    let mut depth = 0usize;
    for (at, c) in code {
        match c {
            '(' | '[' | '{' => {
                questions.push(0);
                depth += 1;
            }
            // A closer with nothing open is a syntax error pest reports.
            ')' | ']' | '}' if questions.len() > 1 => {
                depth -= questions.pop().unwrap_or_default() + 1;
            }
            ',' => depth -= questions.last_mut().map(std::mem::take).unwrap_or_default(),
            '?' if dialect.is_spel() => {
                if let Some(open) = questions.last_mut() {
                    *open += 1;
                }
                depth += 1;
            }
            _ => {}
        }
        if depth > MAX_DEPTH {
            return Some((at, c));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_too_deep(text: &str, dialect: Dialect) -> Option<usize> {
        expression_too_deep(text, dialect, 0).map(|d| {
            assert_eq!(d.code, Code::TooDeep);
            d.primary.span.start
        })
    }

    #[test]
    fn brackets_past_the_limit_are_reported_at_the_first_one_too_many() {
        let fits = format!("{}x{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert_eq!(first_too_deep(&fits, Dialect::Okta), None);
        let deep = format!("f{}", "({[".repeat(MAX_DEPTH));
        assert_eq!(first_too_deep(&deep, Dialect::Okta2), Some(1 + MAX_DEPTH));
    }

    #[test]
    fn closed_brackets_and_commas_end_their_levels() {
        let siblings = "f(a ? b : c, d ? e : f)".repeat(MAX_DEPTH);
        assert_eq!(first_too_deep(&siblings, Dialect::Okta), None);
        let list = format!("{{{}}}", "x ? 1 : 2, ".repeat(2 * MAX_DEPTH));
        assert_eq!(first_too_deep(&list, Dialect::Okta), None);
    }

    #[test]
    fn each_open_conditional_is_a_level_in_spel_only() {
        let chain = "a ? b : ".repeat(MAX_DEPTH + 1);
        assert_eq!(
            first_too_deep(&chain, Dialect::Okta2),
            Some(MAX_DEPTH * 8 + 2)
        );
        let elvis = format!("({}", "a ?: ".repeat(MAX_DEPTH));
        // The bracket is level 1, so the 128th `?:` is one too many.
        assert_eq!(
            first_too_deep(&elvis, Dialect::Okta),
            Some(1 + 5 * (MAX_DEPTH - 1) + 2)
        );
        assert_eq!(first_too_deep(&chain, Dialect::Entra), None);
    }

    /// Where the two kinds of strings differ, a statement is scanned both ways.
    #[test]
    fn statements_are_read_the_way_pest_reads_them() {
        let parens = "(".repeat(MAX_DEPTH + 1);
        let cases = [
            // A path filter's `.map` string escapes with `\`; Okta's strings do not.
            (
                format!("emails[type eq \"a\\\"b\"].value <- {parens}"),
                Dialect::Okta,
            ),
            // An Entra attribute name may hold `#`, `]`-free text, quotes.
            (format!("userName <- [a#\"] & {parens}"), Dialect::Entra),
            (
                format!("emails[type eq \"a]b\"].value <- {parens}"),
                Dialect::Entra,
            ),
            // `<-` inside a scope's string is no arrow.
            (format!("scope user.a == '<-\"' + {parens}"), Dialect::Okta),
        ];
        for (text, dialect) in cases {
            let found = statement_too_deep(&text, dialect, 0).map(|d| d.primary.span.start);
            assert_eq!(found, Some(text.len() - 1), "{text}");
        }
    }

    #[test]
    fn strings_and_comments_do_not_count() {
        let okta = format!("'{0}' + \"{0}\" # {0}", "(".repeat(2 * MAX_DEPTH));
        assert_eq!(first_too_deep(&okta, Dialect::Okta), None);
        let entra = format!("\"\\\"{}\"", "(".repeat(2 * MAX_DEPTH));
        assert_eq!(first_too_deep(&entra, Dialect::Entra), None);
    }
}
