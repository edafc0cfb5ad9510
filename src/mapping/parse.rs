//! Text to syntax tree. pest does the recognising (grammar in `grammar/map.pest`); this module
//! turns pest's pairs into our own [`syntax`](super::syntax) tree with spans, and pest's errors
//! into diagnostics that speak of expressions and paths, never of grammar rules.

use pest::Parser;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;

use super::Dialect;
use super::diagnostic::{Code, Diagnostic};
use super::source::{SourceFile, Span};
use super::split::split;
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
        match MapParser::parse(entry, text) {
            Ok(mut pairs) => {
                let mut lower = Lower {
                    offset: chunk.start,
                    dialect: chunk.dialect,
                    diagnostics: &mut diagnostics,
                };
                if let Some(statement) = pairs.next().and_then(|p| lower.statement(p)) {
                    statements.push(statement);
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
    let mut pairs =
        MapParser::parse(entry, text).map_err(|e| vec![syntax_error(&e, text, 0, dialect)])?;
    let mut diagnostics = Vec::new();
    let mut lower = Lower {
        offset: 0,
        dialect,
        diagnostics: &mut diagnostics,
    };
    let expr = pairs
        .next()
        .and_then(|standalone| standalone.into_inner().next())
        .map(|e| lower.expr(e));
    match expr {
        Some(expr) if diagnostics.is_empty() => Ok(expr),
        _ => Err(diagnostics),
    }
}

struct Lower<'d> {
    offset: usize,
    dialect: Dialect,
    diagnostics: &'d mut Vec<Diagnostic>,
}

impl Lower<'_> {
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
                expr: self.expr(inner.into_inner().nth(1)?),
                dialect: self.dialect,
                span,
            },
            Rule::okta_rule | Rule::entra_rule => {
                let mut parts = inner.into_inner();
                let target = self.path(parts.next()?)?;
                let _arrow = parts.next()?;
                let expr = self.expr(parts.next()?);
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

    fn expr(&mut self, pair: Pair<Rule>) -> Expr {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        match rule {
            Rule::okta_expr => {
                let mut parts = pair.into_inner();
                let head = parts.next().map(|p| self.expr(p));
                let head = head.unwrap_or(Expr {
                    kind: ExprKind::Null,
                    span,
                });
                match parts.next() {
                    Some(tail) if tail.as_rule() == Rule::okta_elvis => {
                        let fallback = self.first_expr(tail);
                        Expr {
                            kind: ExprKind::Elvis {
                                value: Box::new(head),
                                fallback: Box::new(fallback),
                            },
                            span,
                        }
                    }
                    Some(tail) => {
                        let mut branches = tail.into_inner().map(|p| self.expr(p));
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
            Rule::okta_or
            | Rule::okta_and
            | Rule::okta_rel
            | Rule::okta_sum
            | Rule::okta_product
            | Rule::okta_power
            | Rule::entra_rel
            | Rule::entra_concat => self.binary_chain(pair),
            Rule::entra_expr | Rule::entra_and => {
                let op = if rule == Rule::entra_expr {
                    BinaryOp::Or
                } else {
                    BinaryOp::And
                };
                self.implicit_chain(pair, op)
            }
            Rule::okta_unary | Rule::entra_unary => {
                let parts: Vec<_> = pair.into_inner().collect();
                let mut iter = parts.into_iter().rev();
                let mut expr = match iter.next() {
                    Some(operand) => self.expr(operand),
                    None => {
                        return Expr {
                            kind: ExprKind::Null,
                            span,
                        };
                    }
                };
                for prefix in iter {
                    let op = match prefix.as_str() {
                        "-" => UnaryOp::Neg,
                        "+" => UnaryOp::Plus,
                        _ => UnaryOp::Not,
                    };
                    let prefix_span = self.span(&prefix);
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
            Rule::okta_postfix => {
                let mut parts = pair.into_inner();
                let mut expr = match parts.next() {
                    Some(primary) => self.expr(primary),
                    None => {
                        return Expr {
                            kind: ExprKind::Null,
                            span,
                        };
                    }
                };
                for suffix in parts {
                    expr = self.suffix(expr, suffix);
                }
                expr
            }
            Rule::okta_name => {
                let mut parts = pair.into_inner();
                let Some(name) = parts.next().map(|n| self.ident(n)) else {
                    return Expr {
                        kind: ExprKind::Null,
                        span,
                    };
                };
                match parts.next() {
                    Some(args) => Expr {
                        kind: ExprKind::Call {
                            receiver: None,
                            name,
                            args: self.okta_args(args),
                        },
                        span,
                    },
                    None => Expr {
                        kind: ExprKind::Name(name.name),
                        span,
                    },
                }
            }
            Rule::okta_paren | Rule::entra_paren => self.first_expr(pair),
            Rule::okta_map => {
                let mut entries = Vec::new();
                for entry in pair.into_inner() {
                    let mut parts = entry.into_inner();
                    let (Some(key), Some(value)) = (parts.next(), parts.next()) else {
                        continue;
                    };
                    let key_span = self.span(&key);
                    let key = match self.expr(key.clone()).kind {
                        ExprKind::Str(s) => s,
                        _ => key.as_str().to_owned(),
                    };
                    entries.push(MapEntry {
                        key,
                        key_span,
                        value: self.expr(value),
                    });
                }
                Expr {
                    kind: ExprKind::Map(entries),
                    span,
                }
            }
            Rule::okta_list => Expr {
                kind: ExprKind::List(pair.into_inner().map(|p| self.expr(p)).collect()),
                span,
            },
            Rule::okta_string => {
                let inner = pair.into_inner().next();
                let raw = inner.as_ref().map_or("", |p| p.as_str());
                let quote = if inner.is_some_and(|p| p.as_rule() == Rule::okta_sq_inner) {
                    "'"
                } else {
                    "\""
                };
                Expr {
                    kind: ExprKind::Str(raw.replace(&quote.repeat(2), quote)),
                    span,
                }
            }
            Rule::entra_string => {
                let raw = pair.into_inner().next().map_or("", |p| p.as_str());
                Expr {
                    kind: ExprKind::Str(unescape_entra(raw)),
                    span,
                }
            }
            Rule::number | Rule::signed_number => {
                let kind = match self.number(&pair) {
                    Some(Value::Int(i)) => ExprKind::Int(i),
                    Some(Value::Float(f)) => ExprKind::Float(f),
                    _ => ExprKind::Null,
                };
                Expr { kind, span }
            }
            Rule::hex => {
                let digits = &pair.as_str()[2..];
                let kind = match i64::from_str_radix(digits, 16) {
                    Ok(i) => ExprKind::Int(i),
                    Err(_) => {
                        self.number(&pair);
                        ExprKind::Null
                    }
                };
                Expr { kind, span }
            }
            Rule::boolean => Expr {
                kind: ExprKind::Bool(pair.as_str().eq_ignore_ascii_case("true")),
                span,
            },
            Rule::null => Expr {
                kind: ExprKind::Null,
                span,
            },
            Rule::entra_attr => Expr {
                kind: ExprKind::Attr(
                    pair.into_inner()
                        .next()
                        .map_or("", |p| p.as_str())
                        .trim()
                        .to_owned(),
                ),
                span,
            },
            Rule::entra_name => Expr {
                kind: ExprKind::Name(pair.as_str().to_owned()),
                span,
            },
            Rule::entra_call => {
                let mut parts = pair.into_inner();
                let Some(name) = parts.next().map(|n| self.ident(n)) else {
                    return Expr {
                        kind: ExprKind::Null,
                        span,
                    };
                };
                let args = parts.next().map(|a| self.entra_args(a)).unwrap_or_default();
                Expr {
                    kind: ExprKind::Call {
                        receiver: None,
                        name,
                        args,
                    },
                    span,
                }
            }
            _ => Expr {
                kind: ExprKind::Null,
                span,
            },
        }
    }

    /// Applies one postfix suffix (`.name`, `.name(args)`, `[index]`) to `object`.
    fn suffix(&mut self, object: Expr, suffix: Pair<Rule>) -> Expr {
        let suffix_span = self.span(&suffix);
        let span = object.span.to(suffix_span);
        if suffix.as_rule() == Rule::okta_index {
            let index = self.first_expr(suffix);
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
                args: self.okta_args(args),
            },
            None => ExprKind::Member {
                object: Box::new(object),
                name,
            },
        };
        Expr { kind, span }
    }

    /// The first expression inside `pair` (a parenthesis, an index, an Elvis tail).
    fn first_expr(&mut self, pair: Pair<Rule>) -> Expr {
        let span = self.span(&pair);
        match pair.into_inner().next() {
            Some(inner) => self.expr(inner),
            None => Expr {
                kind: ExprKind::Null,
                span,
            },
        }
    }

    /// `a op b op c`, left-associative, with the operators as pairs between the operands.
    fn binary_chain(&mut self, pair: Pair<Rule>) -> Expr {
        let mut parts = pair.into_inner();
        let Some(first) = parts.next() else {
            return Expr {
                kind: ExprKind::Null,
                span: Span::default(),
            };
        };
        let mut lhs = self.expr(first);
        while let (Some(op), Some(rhs)) = (parts.next(), parts.next()) {
            let op_span = self.span(&op);
            let op = binary_op(op.as_str(), self.dialect);
            let rhs = self.expr(rhs);
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
    fn implicit_chain(&mut self, pair: Pair<Rule>, op: BinaryOp) -> Expr {
        let mut operands = pair
            .into_inner()
            .map(|p| self.expr(p))
            .collect::<Vec<_>>()
            .into_iter();
        let Some(mut lhs) = operands.next() else {
            return Expr {
                kind: ExprKind::Null,
                span: Span::default(),
            };
        };
        for rhs in operands {
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

    fn okta_args(&mut self, pair: Pair<Rule>) -> Vec<Arg> {
        pair.into_inner()
            .map(|p| Arg::Given(self.expr(p)))
            .collect()
    }

    fn entra_args(&mut self, pair: Pair<Rule>) -> Vec<Arg> {
        let args: Vec<Arg> = pair
            .into_inner()
            .map(|slot| {
                let span = self.span(&slot);
                match slot.into_inner().next() {
                    Some(e) => Arg::Given(self.expr(e)),
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
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '#' => while chars.next_if(|(_, c)| *c != '\n').is_some() {},
            '"' | '\'' if c == '"' || dialect.single_quoted_strings() => {
                while let Some((_, s)) = chars.next() {
                    if s == '\n' {
                        break;
                    }
                    if s == '\\' && dialect.backslash_escapes() {
                        chars.next();
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

/// SpEL constructs Okta leaves out (reference/okta.md §1.3, OEL-IE "Unsupported features"),
/// named when the parser stops at one.
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
}
