//! Binary operators: logic, comparison (typed in Okta, textual in Entra), `matches` with a
//! constant pattern compiled up front, `+` and arithmetic, and Okta's misplaced `=`.

use super::Checker;
use super::error::CallError;
use crate::mapping::Dialect;
use crate::mapping::functions::Ty;
use crate::mapping::pattern::{Anchoring, Pattern};
use crate::mapping::plan::{Node, Op};
use crate::mapping::source::Span;
use crate::mapping::syntax::{BinaryOp, Expr, ExprKind};
use crate::value::Value;

/// Both operands, checked, with their static types.
struct Operands {
    l: Box<Node>,
    r: Box<Node>,
    lty: Ty,
    rty: Ty,
}

impl Checker {
    pub(super) fn binary(
        &mut self,
        e: &Expr,
        op: BinaryOp,
        op_span: Span,
        lhs: &Expr,
        rhs: &Expr,
        dialect: Dialect,
    ) -> (Node, Ty) {
        let (l, lty) = self.expr(lhs, dialect);
        let (r, rty) = self.expr(rhs, dialect);
        let operands = Operands {
            l: Box::new(l),
            r: Box::new(r),
            lty,
            rty,
        };
        let span = e.span;
        match op {
            BinaryOp::Or | BinaryOp::And => self.logical(op, operands, span),
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge => self.comparison(op, operands, span, dialect.is_spel()),
            BinaryOp::Matches => self.matches(rhs, operands, span),
            BinaryOp::Assign => {
                self.report(CallError::Assignment { at: op_span });
                (Node::Const(Value::Null), Ty::Any)
            }
            BinaryOp::Add => self.add(operands, span),
            BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem | BinaryOp::Pow => {
                self.risk("arithmetic can overflow, divide by zero or meet a non-number");
                let op = match op {
                    BinaryOp::Sub => Op::Sub,
                    BinaryOp::Mul => Op::Mul,
                    BinaryOp::Div => Op::Div,
                    BinaryOp::Pow => Op::Pow,
                    _ => Op::Rem,
                };
                let ty = if lty == rty { lty } else { Ty::Num };
                (binary_node(op, operands, span), ty)
            }
            BinaryOp::Concat => (binary_node(Op::Concat, operands, span), Ty::Str),
        }
    }

    /// `||` and `&&`.
    fn logical(&mut self, op: BinaryOp, operands: Operands, span: Span) -> (Node, Ty) {
        if operands.lty != Ty::Bool || operands.rty != Ty::Bool {
            self.risk("a condition can be null or not true/false");
        }
        let Operands { l, r, .. } = operands;
        let node = if op == BinaryOp::Or {
            Node::Or(l, r, span)
        } else {
            Node::And(l, r, span)
        };
        (node, Ty::Bool)
    }

    /// Okta compares typed values; Entra compares text.
    fn comparison(
        &mut self,
        op: BinaryOp,
        operands: Operands,
        span: Span,
        okta: bool,
    ) -> (Node, Ty) {
        let (typed, text) = match op {
            BinaryOp::Eq => (Op::Eq, Op::TextEq),
            BinaryOp::Ne => (Op::Ne, Op::TextNe),
            BinaryOp::Lt => (Op::Lt, Op::TextLt),
            BinaryOp::Le => (Op::Le, Op::TextLe),
            BinaryOp::Gt => (Op::Gt, Op::TextGt),
            _ => (Op::Ge, Op::TextGe),
        };
        if okta && !matches!(op, BinaryOp::Eq | BinaryOp::Ne) {
            self.risk("values of different types do not compare");
        }
        let op = if okta { typed } else { text };
        (binary_node(op, operands, span), Ty::Bool)
    }

    /// `value matches "pattern"`: a constant pattern must compile.
    fn matches(&mut self, rhs: &Expr, operands: Operands, span: Span) -> (Node, Ty) {
        let compiled = match &rhs.kind {
            ExprKind::Str(pattern) => match Pattern::compile(pattern, Anchoring::Whole) {
                Ok(re) => Some(re),
                Err(problem) => {
                    self.report(CallError::Regex {
                        problem,
                        at: rhs.span,
                    });
                    None
                }
            },
            _ => None,
        };
        (
            Node::Matches {
                value: operands.l,
                pattern: operands.r,
                compiled,
                span,
            },
            Ty::Bool,
        )
    }

    /// With a string on either side `+` concatenates, which cannot fail.
    fn add(&mut self, operands: Operands, span: Span) -> (Node, Ty) {
        let (lty, rty) = (operands.lty, operands.rty);
        if lty != Ty::Str && rty != Ty::Str {
            self.risk("`+` fails on values that neither add nor concatenate");
        }
        let ty = if lty == Ty::Str || rty == Ty::Str {
            Ty::Str
        } else if lty == rty {
            lty
        } else {
            Ty::Any
        };
        (binary_node(Op::Add, operands, span), ty)
    }
}

fn binary_node(op: Op, operands: Operands, span: Span) -> Node {
    Node::Binary {
        op,
        lhs: operands.l,
        rhs: operands.r,
        span,
    }
}
