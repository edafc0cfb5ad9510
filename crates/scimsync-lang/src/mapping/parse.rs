//! Text to syntax tree. pest does the recognising (grammar in `grammar/map.pest`); this module
//! turns pest's pairs into our own [`syntax`](super::syntax) tree with spans, and pest's errors
//! into diagnostics that speak of expressions and paths, never of grammar rules.

//!
//! Lowering is split by concept: `statement` lowers statements, paths and constants,
//! `expr` expressions (with the depth limit), and `message` words pest's errors.

mod expr;
mod message;
mod statement;

use pest::Parser;
use pest::iterators::Pair;

use super::Dialect;
use super::depth::{MAX_DEPTH, expression_too_deep, statement_too_deep, too_deep};
use super::diagnostic::{Code, Diagnostic};
use super::source::{SourceFile, Span};
use super::split::split;
use super::syntax::{Expr, ExprKind, Ident, MapFile};
use message::syntax_error;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/map.pest"]
struct MapParser;

/// Parses a whole `.map` file. Statements that fail to parse are reported and left out; the
/// others are returned so that later stages can report their errors too.
pub fn parse_file(file: &SourceFile, initial: Dialect) -> (MapFile, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let mut statements = Vec::new();
    for chunk in split(&file.text, initial) {
        let text = &file.text[chunk.start..chunk.end];
        let entry = match chunk.dialect {
            Dialect::Okta | Dialect::Okta2 => Rule::okta_statement,
            Dialect::Entra => Rule::entra_statement,
        };
        // pest recurses once per nesting level: too deep a statement never reaches it.
        if let Some(too_deep) = statement_too_deep(text, chunk.dialect, chunk.start) {
            diagnostics.push(too_deep);
            continue;
        }
        match MapParser::parse(entry, text) {
            Ok(mut pairs) => {
                let mut lower = Lower::new(chunk.start, chunk.dialect, &mut diagnostics);
                let statement = pairs.next().and_then(|p| lower.statement(p));
                // A statement whose tree was cut short at the depth limit is left out, as one
                // that does not parse is: what is left of it would only mislead the checker.
                if !lower.cut_short {
                    statements.extend(statement);
                }
            }
            Err(error) => diagnostics.push(syntax_error(&error, text, chunk.start, chunk.dialect)),
        }
    }
    (MapFile { statements }, diagnostics)
}

/// Parses a lone expression (`scimsync eval`).
pub fn parse_expression(text: &str, dialect: Dialect) -> Result<Expr, Vec<Diagnostic>> {
    let entry = match dialect {
        Dialect::Okta | Dialect::Okta2 => Rule::okta_standalone,
        Dialect::Entra => Rule::entra_standalone,
    };
    if let Some(too_deep) = expression_too_deep(text, dialect, 0) {
        return Err(vec![too_deep]);
    }
    let mut pairs =
        MapParser::parse(entry, text).map_err(|e| vec![syntax_error(&e, text, 0, dialect)])?;
    let mut diagnostics = Vec::new();
    let mut lower = Lower::new(0, dialect, &mut diagnostics);
    let expr = pairs
        .next()
        .and_then(|standalone| standalone.into_inner().next())
        .map(|e| lower.expr(e, 1));
    match expr {
        Some(expr) if diagnostics.is_empty() => Ok(expr),
        _ => Err(diagnostics),
    }
}

struct Lower<'d> {
    offset: usize,
    dialect: Dialect,
    diagnostics: &'d mut Vec<Diagnostic>,
    /// Whether the tree passed [`MAX_DEPTH`]: reported once, and nothing more is lowered.
    cut_short: bool,
}

impl<'d> Lower<'d> {
    fn new(offset: usize, dialect: Dialect, diagnostics: &'d mut Vec<Diagnostic>) -> Lower<'d> {
        Lower {
            offset,
            dialect,
            diagnostics,
            cut_short: false,
        }
    }

    fn span(&self, pair: &Pair<Rule>) -> Span {
        let s = pair.as_span();
        Span::new(s.start() + self.offset, s.end() + self.offset)
    }

    fn ident(&self, pair: Pair<Rule>) -> Ident {
        Ident {
            span: self.span(&pair),
            name: pair.as_str().to_owned(),
        }
    }

    /// When a chain of `links` (operators, prefixes or suffixes, outermost last) whose root
    /// is `depth` levels down would nest past [`MAX_DEPTH`]: reports the first link that does
    /// not fit and returns true.
    fn chain_too_deep(&mut self, links: &[Span], depth: usize) -> bool {
        let fit = MAX_DEPTH.saturating_sub(depth);
        let Some(first_excess) = links.get(fit) else {
            return false;
        };
        let label = format!(
            "chained operator {} of {}: only {fit} fit at this depth",
            fit + 1,
            links.len()
        );
        self.too_deep(*first_excess, label);
        true
    }

    /// Reports a grammar rule the lowering has no case for, which is a bug in scimsync: an
    /// internal error at its span rather than a silent `null`, and the statement is left out
    /// as one cut short is.
    fn unexpected(&mut self, rule: Rule, span: Span) {
        self.diagnostics.push(internal_error(rule, span));
        self.cut_short = true;
    }

    /// Reports the first place of the statement that nests past [`MAX_DEPTH`]; one is enough.
    fn too_deep(&mut self, span: Span, label: String) {
        if !self.cut_short {
            self.diagnostics.push(too_deep(span, label));
            self.cut_short = true;
        }
    }
}

/// The diagnostic for a grammar rule the lowering does not expect.
fn internal_error(rule: Rule, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::Internal,
        span,
        format!("internal error: the parser met `{rule:?}` where it did not expect it"),
    )
    .label("here")
    .help("this is a bug in scimsync, not in the file; please report it with this statement")
}

/// A `null` standing in for what could not be lowered.
fn null(span: Span) -> Expr {
    Expr {
        kind: ExprKind::Null,
        span,
    }
}

#[cfg(test)]
mod agree_tests;
#[cfg(test)]
mod tests;
