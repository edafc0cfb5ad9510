//! Lowering of expressions of both dialects, each node `depth` levels down its statement's
//! tree, so that a tree past [`MAX_DEPTH`] is cut short while it is built.

use pest::iterators::Pair;

use super::{Lower, Rule, null};
use crate::mapping::Dialect;
use crate::mapping::depth::MAX_DEPTH;
use crate::mapping::lex::{self, Quoting};
use crate::mapping::source::Span;
use crate::mapping::syntax::{Arg, BinaryOp, Expr, ExprKind, MapEntry, UnaryOp};
use crate::value::Value;

impl Lower<'_> {
    /// Lowers `pair` into a node `depth` levels down its statement's tree (the root is at 1).
    /// A node past [`MAX_DEPTH`] is reported and lowered as `null`, and so is everything after
    /// it: the statement is dropped, so no later stage meets a deeper tree. Each rule has a
    /// function of its own, which keeps this recursive one's stack frame small.
    pub(super) fn expr(&mut self, pair: Pair<Rule>, depth: usize) -> Expr {
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

    /// `cond ? then : otherwise` and `value ?: fallback`.
    pub(super) fn okta_conditional(&mut self, pair: Pair<Rule>, depth: usize) -> Expr {
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
    pub(super) fn prefixed(&mut self, pair: Pair<Rule>, depth: usize) -> Expr {
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
    pub(super) fn postfixed(&mut self, pair: Pair<Rule>, depth: usize) -> Expr {
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
    pub(super) fn okta_name(&mut self, pair: Pair<Rule>, depth: usize) -> Expr {
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
    pub(super) fn okta_map(&mut self, pair: Pair<Rule>, depth: usize) -> Expr {
        let span = self.span(&pair);
        let mut entries = Vec::new();
        for entry in pair.into_inner() {
            let mut parts = entry.into_inner();
            let (Some(key), Some(value)) = (parts.next(), parts.next()) else {
                continue;
            };
            let key_span = self.span(&key);
            // A quoted key is a string; a bare one (`ident`) is its own name.
            let key = match string(&key, Quoting::Okta) {
                ExprKind::Str(s) if key.as_rule() == Rule::okta_string => s,
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
    pub(super) fn entra_call(&mut self, pair: Pair<Rule>, depth: usize) -> Expr {
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
    pub(super) fn literal(&mut self, pair: Pair<Rule>) -> Expr {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::okta_string => string(&pair, Quoting::Okta),
            Rule::entra_string => string(&pair, Quoting::Entra),
            Rule::number | Rule::signed_number | Rule::hex => match self.number(&pair) {
                Some(Value::Int(i)) => ExprKind::Int(i),
                Some(Value::Float(f)) => ExprKind::Float(f),
                _ => ExprKind::Null,
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
            Rule::null => ExprKind::Null,
            other => {
                self.unexpected(other, span);
                ExprKind::Null
            }
        };
        Expr { kind, span }
    }

    /// Applies one postfix suffix (`.name`, `.name(args)`, `[index]`) to `object`; the new
    /// node is `depth` levels down.
    pub(super) fn suffix(&mut self, object: Expr, suffix: Pair<Rule>, depth: usize) -> Expr {
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
    pub(super) fn first_expr(&mut self, pair: Pair<Rule>, depth: usize) -> Expr {
        let span = self.span(&pair);
        match pair.into_inner().next() {
            Some(inner) => self.expr(inner, depth),
            None => null(span),
        }
    }

    /// `a op b op c`, left-associative, with the operators as pairs between the operands.
    pub(super) fn binary_chain(&mut self, pair: Pair<Rule>, depth: usize) -> Expr {
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
            lhs = binary(lhs, op, op_span, rhs);
        }
        lhs
    }

    /// `a || b || c` where the grammar does not keep the operator as a pair.
    pub(super) fn implicit_chain(&mut self, pair: Pair<Rule>, op: BinaryOp, depth: usize) -> Expr {
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
            lhs = binary(lhs, op, op_span, rhs);
        }
        lhs
    }

    pub(super) fn okta_args(&mut self, pair: Pair<Rule>, depth: usize) -> Vec<Arg> {
        pair.into_inner()
            .map(|p| Arg::Given(self.expr(p, depth)))
            .collect()
    }

    pub(super) fn entra_args(&mut self, pair: Pair<Rule>, depth: usize) -> Vec<Arg> {
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

/// A dialect string's value; the grammar only lets closed strings with valid escapes through.
fn string(pair: &Pair<Rule>, quoting: Quoting) -> ExprKind {
    ExprKind::Str(lex::string_value(pair.as_str(), quoting).unwrap_or_default())
}

/// `lhs op rhs`, spanning both operands.
fn binary(lhs: Expr, op: BinaryOp, op_span: Span, rhs: Expr) -> Expr {
    Expr {
        span: lhs.span.to(rhs.span),
        kind: ExprKind::Binary {
            op,
            op_span,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        },
    }
}
