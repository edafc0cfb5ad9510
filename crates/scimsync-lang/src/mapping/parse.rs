//! Text to syntax tree. pest does the recognising (grammar in `grammar/map.pest`); this module
//! turns pest's pairs into our own [`syntax`](super::syntax) tree with spans, and pest's errors
//! into diagnostics that speak of expressions and paths, never of grammar rules.

use pest::Parser;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;

use super::Dialect;
use super::depth::{MAX_DEPTH, expression_too_deep, statement_too_deep, too_deep};
use super::diagnostic::{Code, Diagnostic};
use super::source::{SourceFile, Span};
use super::split::{Reading, code_chars, split};
use super::syntax::{
    Arg, AttributeRule, BinaryOp, Constant, Expr, ExprKind, GroupStatement, Ident, MapEntry,
    MapFile, PathPrefix, PathSyntax, RuleOption, Statement, UnaryOp,
};
use crate::value::Value;

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

    fn statement(&mut self, pair: Pair<Rule>) -> Option<Statement> {
        let inner = pair.into_inner().next()?;
        let span = self.span(&inner);
        let statement = match inner.as_rule() {
            Rule::dialect_decl => {
                let name = inner.into_inner().nth(1)?;
                match Dialect::from_name(name.as_str()) {
                    Some(dialect) => Statement::Dialect { dialect, span },
                    None => {
                        self.diagnostics.push(
                            Diagnostic::error(
                                Code::UnknownDialect,
                                self.span(&name),
                                format!("unknown dialect `{}`", name.as_str()),
                            )
                            .label("not a dialect")
                            .help("write `dialect okta`, `dialect okta2` (Identity Engine) or `dialect entra`"),
                        );
                        return None;
                    }
                }
            }
            Rule::target_decl => {
                let text = inner.into_inner().nth(1)?;
                Statement::Target {
                    name: self.text(text)?,
                    span,
                }
            }
            Rule::extension_decl => {
                let mut parts = inner.into_inner().skip(1);
                let alias = self.ident(parts.next()?);
                let urn = parts.next()?;
                let urn_span = self.span(&urn);
                Statement::Extension {
                    alias,
                    urn: self.text(urn)?,
                    urn_span,
                    span,
                }
            }
            Rule::match_decl => Statement::Match {
                path: self.path(inner.into_inner().nth(1)?)?,
                span,
            },
            Rule::group_decl | Rule::groups_decl => {
                let matching = inner.as_rule() == Rule::groups_decl;
                let mut parts = inner.into_inner().filter(|p| {
                    !matches!(
                        p.as_rule(),
                        Rule::kw_group | Rule::kw_groups | Rule::kw_matching
                    )
                });
                let pattern = parts.next()?;
                let pattern_span = self.span(&pattern);
                let mut group = GroupStatement {
                    pattern: self.text(pattern)?,
                    pattern_span,
                    matching,
                    display_name: None,
                    external_id: None,
                    span,
                };
                for option in parts.next()?.into_inner() {
                    let rule = option.as_rule();
                    let value = option.into_inner().last()?;
                    let value = self.text(value)?;
                    match rule {
                        Rule::group_as => group.display_name = Some(value),
                        _ => group.external_id = Some(value),
                    }
                }
                Statement::Group(group)
            }
            Rule::okta_scope | Rule::entra_scope => Statement::Scope {
                expr: self.expr(inner.into_inner().nth(1)?, 1),
                dialect: self.dialect,
                span,
            },
            Rule::okta_rule | Rule::entra_rule => {
                let mut parts = inner.into_inner();
                let target = self.path(parts.next()?)?;
                let _arrow = parts.next()?;
                let expr = self.expr(parts.next()?, 1);
                let options = parts.next().map(|o| self.options(o)).unwrap_or_default();
                Statement::Rule(AttributeRule {
                    target,
                    expr,
                    dialect: self.dialect,
                    options,
                    span,
                })
            }
            _ => return None,
        };
        Some(statement)
    }

    fn ident(&self, pair: Pair<Rule>) -> Ident {
        Ident {
            span: self.span(&pair),
            name: pair.as_str().to_owned(),
        }
    }

    /// A `.map` string: JSON escapes.
    fn text(&mut self, pair: Pair<Rule>) -> Option<String> {
        let span = self.span(&pair);
        match serde_json::from_str::<String>(pair.as_str()) {
            Ok(s) => Some(s),
            Err(_) => {
                self.diagnostics.push(
                    Diagnostic::error(Code::BadEscape, span, "invalid escape sequence in string")
                        .label("here")
                        .help("strings outside expressions use JSON escapes: `\\\"`, `\\\\`, `\\n`, `\\u00e9`"),
                );
                None
            }
        }
    }

    fn constant(&mut self, pair: Pair<Rule>) -> Option<Constant> {
        let span = self.span(&pair);
        let value = match pair.as_rule() {
            Rule::text => Value::Str(self.text(pair)?),
            Rule::number | Rule::signed_number => self.number(&pair)?,
            Rule::boolean => Value::Bool(pair.as_str().eq_ignore_ascii_case("true")),
            _ => Value::Null,
        };
        Some(Constant { value, span })
    }

    fn number(&mut self, pair: &Pair<Rule>) -> Option<Value> {
        let text = pair.as_str();
        let integral = !text.contains(['.', 'e', 'E']);
        let parsed = if integral {
            text.parse::<i64>().ok().map(Value::Int)
        } else {
            text.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(Value::Float)
        };
        if parsed.is_none() {
            self.diagnostics.push(
                Diagnostic::error(
                    Code::BadNumber,
                    self.span(pair),
                    format!("number `{text}` is out of range"),
                )
                .label("too large")
                .help("integers must fit in 64 bits"),
            );
        }
        parsed
    }

    fn path(&mut self, pair: Pair<Rule>) -> Option<PathSyntax> {
        let span = self.span(&pair);
        let inner = pair.into_inner().next()?;
        match inner.as_rule() {
            Rule::urn_path => Some(PathSyntax {
                prefix: PathPrefix::Urn(inner.as_str().to_owned()),
                name: String::new(),
                filter: None,
                sub: None,
                span,
            }),
            Rule::aliased_path => {
                let mut parts = inner.into_inner();
                let alias = self.ident(parts.next()?);
                self.attr_chain(parts.next()?, PathPrefix::Alias(alias), span)
            }
            _ => {
                let chain = inner.into_inner().next()?;
                self.attr_chain(chain, PathPrefix::Core, span)
            }
        }
    }

    fn attr_chain(
        &mut self,
        pair: Pair<Rule>,
        prefix: PathPrefix,
        span: Span,
    ) -> Option<PathSyntax> {
        let mut name = String::new();
        let mut filter = None;
        let mut sub = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::value_filter => {
                    let mut f = part.into_inner();
                    let attr = f.next()?.as_str().to_owned();
                    let value = self.constant(f.next()?)?;
                    filter = Some((attr, value));
                }
                _ if name.is_empty() => name = part.as_str().to_owned(),
                _ => sub = Some(part.as_str().to_owned()),
            }
        }
        Some(PathSyntax {
            prefix,
            name,
            filter,
            sub,
            span,
        })
    }

    fn options(&mut self, pair: Pair<Rule>) -> Vec<RuleOption> {
        let mut options = Vec::new();
        for option in pair.into_inner() {
            let span = self.span(&option);
            let parsed = match option.as_rule() {
                Rule::opt_on_create => Some(RuleOption::OnCreate(span)),
                Rule::opt_always => Some(RuleOption::Always(span)),
                Rule::opt_default => option
                    .into_inner()
                    .nth(1)
                    .and_then(|c| self.constant(c))
                    .map(RuleOption::Default),
                Rule::opt_one_of => {
                    let values = option
                        .into_inner()
                        .skip(2)
                        .filter_map(|c| self.constant(c))
                        .collect();
                    Some(RuleOption::OneOf { values, span })
                }
                Rule::opt_as => option
                    .into_inner()
                    .nth(1)
                    .map(|t| RuleOption::As(self.ident(t))),
                _ => None,
            };
            options.extend(parsed);
        }
        options
    }

    /// Lowers `pair` into a node `depth` levels down its statement's tree (the root is at 1).
    /// A node past [`MAX_DEPTH`] is reported and lowered as `null`, and so is everything after
    /// it: the statement is dropped, so no later stage meets a deeper tree. Each rule has a
    /// function of its own, which keeps this recursive one's stack frame small.
    fn expr(&mut self, pair: Pair<Rule>, depth: usize) -> Expr {
        let pair = innermost(pair);
        let span = self.span(&pair);
        if depth > MAX_DEPTH {
            self.too_deep(span, format!("level {} starts here", MAX_DEPTH + 1));
        }
        if self.cut_short {
            return null(span);
        }
        match pair.as_rule() {
            Rule::okta_expr => self.okta_conditional(pair, depth),
            Rule::okta_or
            | Rule::okta_and
            | Rule::okta_rel
            | Rule::okta_sum
            | Rule::okta_product
            | Rule::okta_power
            | Rule::entra_rel
            | Rule::entra_concat => self.binary_chain(pair, depth),
            Rule::entra_expr => self.implicit_chain(pair, BinaryOp::Or, depth),
            Rule::entra_and => self.implicit_chain(pair, BinaryOp::And, depth),
            Rule::okta_unary | Rule::entra_unary => self.prefixed(pair, depth),
            Rule::okta_postfix => self.postfixed(pair, depth),
            Rule::okta_name => self.okta_name(pair, depth),
            Rule::okta_paren | Rule::entra_paren => self.first_expr(pair, depth),
            Rule::okta_map => self.okta_map(pair, depth),
            Rule::okta_list => Expr {
                kind: ExprKind::List(pair.into_inner().map(|p| self.expr(p, depth + 1)).collect()),
                span,
            },
            Rule::entra_call => self.entra_call(pair, depth),
            _ => self.literal(pair),
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

    /// Reports the first place of the statement that nests past [`MAX_DEPTH`]; one is enough.
    fn too_deep(&mut self, span: Span, label: String) {
        if !self.cut_short {
            self.diagnostics.push(too_deep(span, label));
            self.cut_short = true;
        }
    }

    /// `cond ? then : otherwise` and `value ?: fallback`.
    fn okta_conditional(&mut self, pair: Pair<Rule>, depth: usize) -> Expr {
        let span = self.span(&pair);
        let mut parts = pair.into_inner();
        let head = match parts.next() {
            Some(p) => self.expr(p, depth + 1),
            None => null(span),
        };
        match parts.next() {
            Some(tail) if tail.as_rule() == Rule::okta_elvis => {
                let fallback = self.first_expr(tail, depth + 1);
                Expr {
                    kind: ExprKind::Elvis {
                        value: Box::new(head),
                        fallback: Box::new(fallback),
                    },
                    span,
                }
            }
            Some(tail) => {
                let mut branches = tail.into_inner().map(|p| self.expr(p, depth + 1));
                let then = branches.next();
                let otherwise = branches.next();
                match (then, otherwise) {
                    (Some(then), Some(otherwise)) => Expr {
                        kind: ExprKind::Conditional {
                            cond: Box::new(head),
                            then: Box::new(then),
                            otherwise: Box::new(otherwise),
                        },
                        span,
                    },
                    _ => head,
                }
            }
            None => head,
        }
    }

    /// Prefix operators (`!`, `not`, `-`, `+`) applied to an operand, innermost first.
    fn prefixed(&mut self, pair: Pair<Rule>, depth: usize) -> Expr {
        let span = self.span(&pair);
        let mut prefixes: Vec<Pair<Rule>> = pair.into_inner().collect();
        let Some(operand) = prefixes.pop() else {
            return null(span);
        };
        let links: Vec<Span> = prefixes.iter().map(|p| self.span(p)).collect();
        if self.chain_too_deep(&links, depth) {
            return null(span);
        }
        let mut expr = self.expr(operand, depth + prefixes.len());
        for (prefix, prefix_span) in prefixes.iter().zip(links).rev() {
            let op = match prefix.as_str() {
                "-" => UnaryOp::Neg,
                "+" => UnaryOp::Plus,
                _ => UnaryOp::Not,
            };
            expr = Expr {
                span: prefix_span.to(expr.span),
                kind: ExprKind::Unary {
                    op,
                    operand: Box::new(expr),
                },
            };
        }
        expr
    }

    /// A primary followed by `.name`, `.name(args)` and `[index]` suffixes.
    fn postfixed(&mut self, pair: Pair<Rule>, depth: usize) -> Expr {
        let span = self.span(&pair);
        let mut parts = pair.into_inner();
        let Some(primary) = parts.next() else {
            return null(span);
        };
        let suffixes: Vec<Pair<Rule>> = parts.collect();
        let links: Vec<Span> = suffixes.iter().map(|s| self.span(s)).collect();
        if self.chain_too_deep(&links, depth) {
            return null(span);
        }
        let mut level = depth + suffixes.len();
        let mut expr = self.expr(primary, level);
        for suffix in suffixes {
            level -= 1;
            expr = self.suffix(expr, suffix, level);
        }
        expr
    }

    /// `name` or `name(args)`.
    fn okta_name(&mut self, pair: Pair<Rule>, depth: usize) -> Expr {
        let span = self.span(&pair);
        let mut parts = pair.into_inner();
        let Some(name) = parts.next().map(|n| self.ident(n)) else {
            return null(span);
        };
        let kind = match parts.next() {
            Some(args) => ExprKind::Call {
                receiver: None,
                name,
                args: self.okta_args(args, depth + 1),
            },
            None => ExprKind::Name(name.name),
        };
        Expr { kind, span }
    }

    /// A SpEL inline map `{'key': value, ...}`.
    fn okta_map(&mut self, pair: Pair<Rule>, depth: usize) -> Expr {
        let span = self.span(&pair);
        let mut entries = Vec::new();
        for entry in pair.into_inner() {
            let mut parts = entry.into_inner();
            let (Some(key), Some(value)) = (parts.next(), parts.next()) else {
                continue;
            };
            let key_span = self.span(&key);
            let key = match self.literal(key.clone()).kind {
                ExprKind::Str(s) => s,
                _ => key.as_str().to_owned(),
            };
            entries.push(MapEntry {
                key,
                key_span,
                value: self.expr(value, depth + 1),
            });
        }
        Expr {
            kind: ExprKind::Map(entries),
            span,
        }
    }

    /// Entra `Name(args)`.
    fn entra_call(&mut self, pair: Pair<Rule>, depth: usize) -> Expr {
        let span = self.span(&pair);
        let mut parts = pair.into_inner();
        let Some(name) = parts.next().map(|n| self.ident(n)) else {
            return null(span);
        };
        let args = parts
            .next()
            .map(|a| self.entra_args(a, depth + 1))
            .unwrap_or_default();
        Expr {
            kind: ExprKind::Call {
                receiver: None,
                name,
                args,
            },
            span,
        }
    }

    /// Strings, numbers, booleans, `null`, Entra attributes and names: no subexpressions.
    fn literal(&mut self, pair: Pair<Rule>) -> Expr {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::okta_string => {
                let inner = pair.into_inner().next();
                let raw = inner.as_ref().map_or("", |p| p.as_str());
                let quote = if inner.is_some_and(|p| p.as_rule() == Rule::okta_sq_inner) {
                    "'"
                } else {
                    "\""
                };
                ExprKind::Str(raw.replace(&quote.repeat(2), quote))
            }
            Rule::entra_string => {
                let raw = pair.into_inner().next().map_or("", |p| p.as_str());
                ExprKind::Str(unescape_entra(raw))
            }
            Rule::number | Rule::signed_number => match self.number(&pair) {
                Some(Value::Int(i)) => ExprKind::Int(i),
                Some(Value::Float(f)) => ExprKind::Float(f),
                _ => ExprKind::Null,
            },
            Rule::hex => match i64::from_str_radix(&pair.as_str()[2..], 16) {
                Ok(i) => ExprKind::Int(i),
                Err(_) => {
                    self.number(&pair);
                    ExprKind::Null
                }
            },
            Rule::boolean => ExprKind::Bool(pair.as_str().eq_ignore_ascii_case("true")),
            Rule::entra_attr => ExprKind::Attr(
                pair.into_inner()
                    .next()
                    .map_or("", |p| p.as_str())
                    .trim()
                    .to_owned(),
            ),
            Rule::entra_name => ExprKind::Name(pair.as_str().to_owned()),
            _ => ExprKind::Null,
        };
        Expr { kind, span }
    }

    /// Applies one postfix suffix (`.name`, `.name(args)`, `[index]`) to `object`; the new
    /// node is `depth` levels down.
    fn suffix(&mut self, object: Expr, suffix: Pair<Rule>, depth: usize) -> Expr {
        let suffix_span = self.span(&suffix);
        let span = object.span.to(suffix_span);
        if suffix.as_rule() == Rule::okta_index {
            let index = self.first_expr(suffix, depth + 1);
            return Expr {
                kind: ExprKind::Index {
                    object: Box::new(object),
                    index: Box::new(index),
                },
                span,
            };
        }
        let mut inner = suffix.into_inner();
        let Some(name) = inner.next().map(|n| self.ident(n)) else {
            return object;
        };
        let kind = match inner.next() {
            Some(args) => ExprKind::Call {
                receiver: Some(Box::new(object)),
                name,
                args: self.okta_args(args, depth + 1),
            },
            None => ExprKind::Member {
                object: Box::new(object),
                name,
            },
        };
        Expr { kind, span }
    }

    /// The first expression inside `pair` (a parenthesis, an index, an Elvis tail), `depth`
    /// levels down.
    fn first_expr(&mut self, pair: Pair<Rule>, depth: usize) -> Expr {
        let span = self.span(&pair);
        match pair.into_inner().next() {
            Some(inner) => self.expr(inner, depth),
            None => null(span),
        }
    }

    /// `a op b op c`, left-associative, with the operators as pairs between the operands.
    fn binary_chain(&mut self, pair: Pair<Rule>, depth: usize) -> Expr {
        let span = self.span(&pair);
        let mut parts = pair.into_inner();
        let Some(first) = parts.next() else {
            return null(span);
        };
        let rest: Vec<Pair<Rule>> = parts.collect();
        let links: Vec<Span> = rest.iter().step_by(2).map(|op| self.span(op)).collect();
        if self.chain_too_deep(&links, depth) {
            return null(span);
        }
        // The first operand is the deepest; each operator lifts the chain one level.
        let mut level = depth + links.len();
        let mut lhs = self.expr(first, level);
        let mut rest = rest.into_iter();
        while let (Some(op), Some(rhs)) = (rest.next(), rest.next()) {
            level -= 1;
            let op_span = self.span(&op);
            let op = binary_op(op.as_str(), self.dialect);
            let rhs = self.expr(rhs, level + 1);
            lhs = Expr {
                span: lhs.span.to(rhs.span),
                kind: ExprKind::Binary {
                    op,
                    op_span,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
            };
        }
        lhs
    }

    /// `a || b || c` where the grammar does not keep the operator as a pair.
    fn implicit_chain(&mut self, pair: Pair<Rule>, op: BinaryOp, depth: usize) -> Expr {
        let span = self.span(&pair);
        let operands: Vec<Pair<Rule>> = pair.into_inner().collect();
        // Each operand after the first brings an operator; it stands for its link (without
        // the blanks its pair ends with).
        let links: Vec<Span> = operands
            .iter()
            .skip(1)
            .map(|p| {
                let span = self.span(p);
                Span::new(span.start, span.start + p.as_str().trim_end().len())
            })
            .collect();
        if self.chain_too_deep(&links, depth) {
            return null(span);
        }
        let mut level = depth + links.len();
        let mut operands = operands.into_iter();
        let Some(first) = operands.next() else {
            return null(span);
        };
        let mut lhs = self.expr(first, level);
        for rhs in operands {
            level -= 1;
            let rhs = self.expr(rhs, level + 1);
            let op_span = Span::new(lhs.span.end, rhs.span.start);
            lhs = Expr {
                span: lhs.span.to(rhs.span),
                kind: ExprKind::Binary {
                    op,
                    op_span,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
            };
        }
        lhs
    }

    fn okta_args(&mut self, pair: Pair<Rule>, depth: usize) -> Vec<Arg> {
        pair.into_inner()
            .map(|p| Arg::Given(self.expr(p, depth)))
            .collect()
    }

    fn entra_args(&mut self, pair: Pair<Rule>, depth: usize) -> Vec<Arg> {
        let args: Vec<Arg> = pair
            .into_inner()
            .map(|slot| {
                let span = self.span(&slot);
                match slot.into_inner().next() {
                    Some(e) => Arg::Given(self.expr(e, depth)),
                    None => Arg::Omitted(span),
                }
            })
            .collect();
        // `Now()` has one empty slot in the grammar but no arguments.
        if let [Arg::Omitted(_)] = args.as_slice() {
            Vec::new()
        } else {
            args
        }
    }
}

/// A `null` standing in for what could not be lowered.
fn null(span: Span) -> Expr {
    Expr {
        kind: ExprKind::Null,
        span,
    }
}

/// `pair`, or what it only passes through: a chain of one operand, a unary without prefix, a
/// postfix without suffix, parentheses. Walked in a loop, so that these levels of the grammar
/// (ten per bracket) cost no recursion.
fn innermost(mut pair: Pair<Rule>) -> Pair<Rule> {
    use Rule::*;
    while matches!(
        pair.as_rule(),
        okta_expr
            | okta_or
            | okta_and
            | okta_rel
            | okta_sum
            | okta_product
            | okta_power
            | okta_unary
            | okta_postfix
            | okta_paren
            | entra_expr
            | entra_and
            | entra_rel
            | entra_concat
            | entra_unary
            | entra_paren
    ) {
        let mut inner = pair.clone().into_inner();
        match (inner.next(), inner.next()) {
            (Some(only), None) => pair = only,
            _ => break,
        }
    }
    pair
}

fn binary_op(symbol: &str, dialect: Dialect) -> BinaryOp {
    match symbol.to_ascii_lowercase().as_str() {
        "||" | "or" => BinaryOp::Or,
        "&&" | "and" => BinaryOp::And,
        "==" | "eq" => BinaryOp::Eq,
        "!=" | "<>" | "ne" => BinaryOp::Ne,
        "<" | "lt" => BinaryOp::Lt,
        "<=" | "le" => BinaryOp::Le,
        ">" | "gt" => BinaryOp::Gt,
        ">=" | "ge" => BinaryOp::Ge,
        "matches" => BinaryOp::Matches,
        // `=` compares in Entra; in Okta (SpEL) it assigns, which the checker reports.
        "=" if dialect == Dialect::Entra => BinaryOp::Eq,
        "=" => BinaryOp::Assign,
        "+" => BinaryOp::Add,
        "-" => BinaryOp::Sub,
        "*" => BinaryOp::Mul,
        "/" | "div" => BinaryOp::Div,
        "%" | "mod" => BinaryOp::Rem,
        "^" => BinaryOp::Pow,
        _ => BinaryOp::Concat,
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
fn syntax_error(
    error: &pest::error::Error<Rule>,
    text: &str,
    offset: usize,
    dialect: Dialect,
) -> Diagnostic {
    let pos = match error.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    if let Some(quote) = unterminated_string(text, dialect).filter(|q| *q <= pos) {
        let end = text[quote..].find('\n').map_or(text.len(), |e| quote + e);
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
    let mut end = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '#' => while chars.next_if(|(_, c)| *c != '\n').is_some() {},
            c if c.is_whitespace() => {}
            '"' | '\'' if c == '"' || dialect.single_quoted_strings() => {
                end = at + 1;
                while let Some((i, s)) = chars.next() {
                    if s == '\n' {
                        break;
                    }
                    end = i + s.len_utf8();
                    if s == '\\' && dialect.backslash_escapes() {
                        if let Some((j, e)) = chars.next() {
                            end = j + e.len_utf8();
                        }
                    } else if s == c {
                        if !dialect.backslash_escapes()
                            && chars.peek().is_some_and(|(_, n)| *n == c)
                        {
                            chars.next();
                        } else {
                            break;
                        }
                    }
                }
            }
            c => end = at + c.len_utf8(),
        }
    }
    end
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

/// The byte offset of the first string literal in `text` that has no closing quote.
fn unterminated_string(text: &str, dialect: Dialect) -> Option<usize> {
    let bytes: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < bytes.len() {
        let (at, c) = bytes[i];
        i += 1;
        match c {
            '#' => {
                while i < bytes.len() && bytes[i].1 != '\n' {
                    i += 1;
                }
            }
            '"' | '\'' if c == '"' || dialect.single_quoted_strings() => {
                let mut closed = false;
                while i < bytes.len() {
                    let (_, s) = bytes[i];
                    i += 1;
                    if s == '\n' {
                        break;
                    }
                    if s == '\\' && dialect.backslash_escapes() {
                        i += 1;
                    } else if s == c {
                        if !dialect.backslash_escapes() && i < bytes.len() && bytes[i].1 == c {
                            i += 1;
                        } else {
                            closed = true;
                            break;
                        }
                    }
                }
                if !closed {
                    return Some(at);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn okta(text: &str) -> Expr {
        parse_expression(text, Dialect::Okta).expect("parses")
    }

    /// A compact rendering of the tree, to assert shapes.
    fn sexp(e: &Expr) -> String {
        match &e.kind {
            ExprKind::Null => "null".into(),
            ExprKind::Bool(b) => b.to_string(),
            ExprKind::Int(i) => i.to_string(),
            ExprKind::Float(f) => f.to_string(),
            ExprKind::Str(s) => format!("{s:?}"),
            ExprKind::Attr(a) => format!("[{a}]"),
            ExprKind::Name(n) => n.clone(),
            ExprKind::Member { object, name } => format!("{}.{}", sexp(object), name.name),
            ExprKind::Call {
                receiver,
                name,
                args,
            } => {
                let args: Vec<String> = args
                    .iter()
                    .map(|a| match a {
                        Arg::Given(e) => sexp(e),
                        Arg::Omitted(_) => "_".into(),
                    })
                    .collect();
                match receiver {
                    Some(r) => format!("({}.{} {})", sexp(r), name.name, args.join(" ")),
                    None => format!("({} {})", name.name, args.join(" ")),
                }
            }
            ExprKind::Index { object, index } => format!("{}[{}]", sexp(object), sexp(index)),
            ExprKind::Map(entries) => format!(
                "{{{}}}",
                entries
                    .iter()
                    .map(|m| format!("{}: {}", m.key, sexp(&m.value)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ExprKind::List(items) => format!(
                "{{{}}}",
                items.iter().map(sexp).collect::<Vec<_>>().join(" ")
            ),
            ExprKind::Unary { op, operand } => format!("({op:?} {})", sexp(operand)),
            ExprKind::Binary { op, lhs, rhs, .. } => {
                format!("({} {} {})", op.symbol(), sexp(lhs), sexp(rhs))
            }
            ExprKind::Conditional {
                cond,
                then,
                otherwise,
            } => {
                format!("(? {} {} {})", sexp(cond), sexp(then), sexp(otherwise))
            }
            ExprKind::Elvis { value, fallback } => {
                format!("(?: {} {})", sexp(value), sexp(fallback))
            }
        }
    }

    #[test]
    fn okta_precedence_follows_spel() {
        assert_eq!(
            sexp(&okta("a || b && !c == d")),
            "(|| a (&& b (== (Not c) d)))"
        );
        assert_eq!(sexp(&okta("x + y == z")), "(== (+ x y) z)");
        assert_eq!(sexp(&okta("c ? a : d ? b : e")), "(? c a (? d b e))");
        assert_eq!(sexp(&okta("user.a ?: 'x'")), "(?: user.a \"x\")");
        assert_eq!(sexp(&okta("a AND b or not c")), "(|| (&& a b) (Not c))");
    }

    #[test]
    fn okta_calls_members_and_literals() {
        assert_eq!(
            sexp(&okta(r#"String.substringBefore(user.email, "@")"#)),
            "(String.substringBefore user.email \"@\")"
        );
        assert_eq!(sexp(&okta("{1, 2.5}[0]")), "{1 2.5}[0]");
        assert_eq!(
            sexp(&okta(r#"'it''s' + "say ""hi""""#)),
            r#"(+ "it's" "say \"hi\"")"#
        );
        assert_eq!(sexp(&okta(r#""C:\dir\""#)), r#""C:\\dir\\""#);
        assert_eq!(sexp(&okta("NULL == True")), "(== null true)");
        assert_eq!(sexp(&okta("{'a.b': 1, c: {2}}")), "{a.b: 1, c: {2}}");
        assert_eq!(sexp(&okta("{x ? 'a' : 'b'}")), "{(? x \"a\" \"b\")}");
        assert_eq!(
            sexp(&okta("2 ^ 3 * 4 div 5 MOD 6")),
            "(% (/ (* (^ 2 3) 4) 5) 6)"
        );
    }

    #[test]
    fn entra_calls_with_omitted_arguments_and_escapes() {
        let e =
            parse_expression(r#"Replace([mail], "@x.com", , , "", , )"#, Dialect::Entra).unwrap();
        assert_eq!(sexp(&e), r#"(Replace [mail] "@x.com" _ _ "" _ _)"#);
        let e = parse_expression(
            r#"IIF([c]="US", "a\"b\\", BitAnd(&HF, -7))"#,
            Dialect::Entra,
        )
        .unwrap();
        assert_eq!(sexp(&e), r#"(IIF (== [c] "US") "a\"b\\" (BitAnd 15 -7))"#);
        let e = parse_expression("Now()", Dialect::Entra).unwrap();
        assert_eq!(sexp(&e), "(Now )");
        let e = parse_expression("Switch\n([x], , \"1\", \"a\") & [y]", Dialect::Entra).unwrap();
        assert_eq!(sexp(&e), r#"(& (Switch [x] _ "1" "a") [y])"#);
    }

    #[test]
    fn statements_keep_spans_relative_to_the_file() {
        let file = SourceFile::new(
            "m.map",
            "# c\nextension b = \"urn:x:2.0\"\nb:role <- \"a\"\n  one of \"a\", \"b\", on create\n",
        );
        let (map, diagnostics) = parse_file(&file, Dialect::Okta);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let Statement::Rule(rule) = &map.statements[1] else {
            panic!("a rule")
        };
        assert_eq!(file.slice(rule.target.span), "b:role");
        assert_eq!(file.slice(rule.expr.span), "\"a\"");
        assert!(
            matches!(&rule.options[..], [RuleOption::OneOf { values, .. }, RuleOption::OnCreate(_)] if values.len() == 2)
        );
    }

    #[test]
    fn one_broken_statement_does_not_hide_the_next() {
        let file = SourceFile::new(
            "m.map",
            "userName <- (\ntitle <- user.title\ndisplayName <- )\n",
        );
        let (map, diagnostics) = parse_file(&file, Dialect::Okta);
        assert_eq!(diagnostics.len(), 2);
        assert_eq!(map.statements.len(), 1);
    }

    /// The one diagnostic of an expression that nests too deeply: its primary span.
    fn too_deep_at(text: &str, dialect: Dialect) -> Span {
        match parse_expression(text, dialect) {
            Err(diagnostics) => match diagnostics.as_slice() {
                [d] if d.code == Code::TooDeep => d.primary.span,
                other => panic!("one E0007 expected, got {other:?}"),
            },
            Ok(_) => panic!("{} bytes parsed", text.len()),
        }
    }

    /// The depth of the tree, walked with an explicit stack.
    fn depth(e: &Expr) -> usize {
        let mut deepest = 0;
        let mut stack = vec![(e, 1)];
        while let Some((e, d)) = stack.pop() {
            deepest = deepest.max(d);
            let children: Vec<&Expr> = match &e.kind {
                ExprKind::Member { object, .. } => vec![object],
                ExprKind::Call { receiver, args, .. } => receiver
                    .iter()
                    .map(|r| &**r)
                    .chain(args.iter().filter_map(|a| match a {
                        Arg::Given(e) => Some(e),
                        Arg::Omitted(_) => None,
                    }))
                    .collect(),
                ExprKind::Index { object, index } => vec![object, index],
                ExprKind::List(items) => items.iter().collect(),
                ExprKind::Map(entries) => entries.iter().map(|m| &m.value).collect(),
                ExprKind::Unary { operand, .. } => vec![operand],
                ExprKind::Binary { lhs, rhs, .. } => vec![lhs, rhs],
                ExprKind::Conditional {
                    cond,
                    then,
                    otherwise,
                } => vec![cond, then, otherwise],
                ExprKind::Elvis { value, fallback } => vec![value, fallback],
                _ => Vec::new(),
            };
            stack.extend(children.into_iter().map(|c| (c, d + 1)));
        }
        deepest
    }

    #[test]
    fn chains_may_reach_the_depth_limit() {
        let at_limit = [
            format!("1{}", " + 1".repeat(MAX_DEPTH - 1)),
            format!("{}true", "!".repeat(MAX_DEPTH - 1)),
            format!("user{}", ".a".repeat(MAX_DEPTH - 1)),
        ];
        for text in at_limit {
            assert_eq!(depth(&okta(&text)), MAX_DEPTH, "{}", &text[..10]);
        }
    }

    /// Each chain one link too long, or far too long, is reported at the first link that does
    /// not fit: at the root, MAX_DEPTH - 1 links fit above the first operand.
    #[test]
    fn chains_past_the_limit_are_reported_at_their_first_link_too_many() {
        use Dialect::*;
        let fit = MAX_DEPTH - 1;
        // (head, link repeated, times, tail, dialect, the link reported, what it underlines)
        let cases = [
            ("1", " + 1", fit + 1, "", Okta, fit, "+"),
            ("1", " + 1", 7000, "", Okta2, fit, "+"),
            ("[a]", " & [a]", 10_000, "", Entra, fit, "&"),
            // `||` is not kept as a pair: the operand after it stands for it.
            ("[a]", " || [a]", 10_000, "", Entra, fit, "[a]"),
            ("", "!", fit + 1, "true", Okta, fit, "!"),
            ("", "!", 50_000, "[a]", Entra, fit, "!"),
            ("user", ".a", fit + 1, "", Okta, fit, ".a"),
            // `.email` is the first suffix.
            (
                "user.email",
                ".trim()",
                20_000,
                "",
                Okta2,
                fit - 1,
                ".trim()",
            ),
        ];
        for (head, link, times, tail, dialect, reported, token) in cases {
            let text = format!("{head}{}{tail}", link.repeat(times));
            let start = head.len() + reported * link.len() + link.find(token).unwrap_or(0);
            let span = too_deep_at(&text, dialect);
            assert_eq!(span, Span::new(start, start + token.len()), "{head}{link}");
        }
    }

    #[test]
    fn levels_add_up_across_brackets_calls_and_chains() {
        // 40 calls, then a chain: the chain's first operand is 40 levels down already.
        let calls = "String.trim(".repeat(40);
        let fits = format!(
            "{calls}'a'{}{}",
            " + 'a'".repeat(MAX_DEPTH - 41),
            ")".repeat(40)
        );
        assert_eq!(depth(&okta(&fits)), MAX_DEPTH);
        let deeper = format!(
            "{calls}'a'{}{}",
            " + 'a'".repeat(MAX_DEPTH - 40),
            ")".repeat(40)
        );
        let first_plus = calls.len() + 4;
        assert_eq!(
            too_deep_at(&deeper, Dialect::Okta).start,
            first_plus + 6 * (MAX_DEPTH - 41)
        );
        // Parentheses are brackets for pest, but no level of the tree.
        let parens = format!("{}1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert_eq!(depth(&okta(&parens)), 1);
        let lists = |n: usize| format!("{}1{}", "{".repeat(n), "}".repeat(n));
        assert_eq!(depth(&okta(&lists(MAX_DEPTH - 1))), MAX_DEPTH);
        assert_eq!(
            too_deep_at(&lists(MAX_DEPTH), Dialect::Okta),
            Span::new(MAX_DEPTH, MAX_DEPTH + 1)
        );
    }

    #[test]
    fn a_statement_too_deep_is_reported_once_and_left_out() {
        let file = SourceFile::new(
            "m.map",
            format!(
                "title <- user.title
userName <- user.email{}
",
                " + 'x'".repeat(7000)
            ),
        );
        let (map, diagnostics) = parse_file(&file, Dialect::Okta);
        assert_eq!(map.statements.len(), 1);
        let [d] = diagnostics.as_slice() else {
            panic!("{diagnostics:?}")
        };
        assert_eq!(d.code, Code::TooDeep);
        assert_eq!(
            file.line_col(d.primary.span.start).to_string(),
            format!("2:{}", 24 + 6 * (MAX_DEPTH - 1))
        );
        assert_eq!(
            d.primary.message,
            format!(
                "chained operator {MAX_DEPTH} of 7000: only {} fit at this depth",
                MAX_DEPTH - 1
            )
        );
    }
}
