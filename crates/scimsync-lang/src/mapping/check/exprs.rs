//! Expressions: each syntax node resolved to a plan [`Node`] with its static type, noting
//! what can fail at run time. Names, calls and binary operators have their own modules.

use super::Checker;
use crate::mapping::Dialect;
use crate::mapping::functions::Ty;
use crate::mapping::plan::Node;
use crate::mapping::source::Span;
use crate::mapping::syntax::{Expr, ExprKind, UnaryOp};
use crate::value::Value;

impl Checker {
    /// Resolves and checks one expression: the node to evaluate and its static type.
    pub(super) fn expr(&mut self, e: &Expr, dialect: Dialect) -> (Node, Ty) {
        match &e.kind {
            ExprKind::Null => (Node::Const(Value::Null), Ty::Any),
            ExprKind::Bool(b) => (Node::Const(Value::Bool(*b)), Ty::Bool),
            ExprKind::Int(i) => (Node::Const(Value::Int(*i)), Ty::Int),
            ExprKind::Float(f) => (Node::Const(Value::Float(*f)), Ty::Num),
            ExprKind::Str(s) => (Node::Const(Value::Str(s.clone())), Ty::Str),
            ExprKind::Attr(name) => (self.source_attribute(name, e.span, dialect), Ty::Any),
            ExprKind::Name(name) => self.bare_name(name, e.span, dialect),
            ExprKind::Member { .. } => self.member(e, dialect),
            ExprKind::Call {
                receiver,
                name,
                args,
            } => self.call(e, receiver.as_deref(), name, args, dialect),
            ExprKind::Index { object, index } => self.index(object, index, e.span, dialect),
            ExprKind::List(items) => {
                let nodes = items.iter().map(|i| self.expr(i, dialect).0).collect();
                (Node::List(nodes), Ty::List)
            }
            ExprKind::Map(_) => self.okta_stray_map(e),
            ExprKind::Unary { op, operand } => self.unary(*op, operand, e.span, dialect),
            ExprKind::Binary {
                op,
                op_span,
                lhs,
                rhs,
            } => self.binary(e, *op, *op_span, lhs, rhs, dialect),
            ExprKind::Conditional {
                cond,
                then,
                otherwise,
            } => self.conditional(cond, then, otherwise, e.span, dialect),
            ExprKind::Elvis { value, fallback } => {
                let (value, value_ty) = self.expr(value, dialect);
                let (fallback, fallback_ty) = self.expr(fallback, dialect);
                let ty = if value_ty == fallback_ty {
                    value_ty
                } else {
                    Ty::Any
                };
                (Node::Elvis(Box::new(value), Box::new(fallback)), ty)
            }
        }
    }

    fn index(&mut self, object: &Expr, index: &Expr, span: Span, dialect: Dialect) -> (Node, Ty) {
        let (object, _) = self.expr(object, dialect);
        let (index, _) = self.expr(index, dialect);
        self.risk("an index can be out of range");
        (
            Node::Index {
                object: Box::new(object),
                index: Box::new(index),
                span,
            },
            Ty::Any,
        )
    }

    fn unary(&mut self, op: UnaryOp, operand: &Expr, span: Span, dialect: Dialect) -> (Node, Ty) {
        let (node, ty) = self.expr(operand, dialect);
        match op {
            UnaryOp::Not if ty != Ty::Bool => self.risk("`!` needs true or false"),
            UnaryOp::Neg if !matches!(ty, Ty::Int | Ty::Num) => self.risk("`-` needs a number"),
            _ => {}
        }
        match op {
            UnaryOp::Not => (Node::Not(Box::new(node), span), Ty::Bool),
            UnaryOp::Neg => (Node::Neg(Box::new(node), span), Ty::Num),
            UnaryOp::Plus => self.okta_unary_plus(node, span),
        }
    }

    fn conditional(
        &mut self,
        cond: &Expr,
        then: &Expr,
        otherwise: &Expr,
        span: Span,
        dialect: Dialect,
    ) -> (Node, Ty) {
        let (cond, cond_ty) = self.expr(cond, dialect);
        let (then, then_ty) = self.expr(then, dialect);
        let (otherwise, else_ty) = self.expr(otherwise, dialect);
        if cond_ty != Ty::Bool {
            self.risk("a condition can be null or not true/false");
        }
        let ty = if then_ty == else_ty { then_ty } else { Ty::Any };
        (
            Node::Conditional {
                cond: Box::new(cond),
                then: Box::new(then),
                otherwise: Box::new(otherwise),
                span,
            },
            ty,
        )
    }
}
