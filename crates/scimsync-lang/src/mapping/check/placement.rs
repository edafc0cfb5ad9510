//! Where Entra allows things: `SelectUniqueValue` only as a rule's whole expression, in a
//! create-only rule that does not write the match attribute; and expressions no longer than
//! Entra accepts.

use super::Checker;
use super::error::{CallError, Problem};
use super::statements::Written;
use crate::mapping::diagnostic::Diagnostic;
use crate::mapping::plan::{Flow, Node, PlannedRule};
use crate::mapping::source::Span;
use crate::mapping::syntax::{Arg, Expr, ExprKind};
use crate::scim::path::AttrPath;

/// The longest expression Entra's attribute mappings accept, in characters.
pub const ENTRA_MAX_EXPRESSION_CHARS: usize = 10_000;

/// Entra's function that must be a rule's whole expression.
pub(super) const SELECT_UNIQUE_VALUE: &str = "SelectUniqueValue";

/// An Entra expression longer than Entra accepts: an error at the first character past the
/// limit. `text` is the source the expression's span points into.
pub fn entra_length(expr: &Expr, text: &str) -> Option<Diagnostic> {
    let written = text.get(expr.span.start..expr.span.end)?;
    let (past, _) = written.char_indices().nth(ENTRA_MAX_EXPRESSION_CHARS)?;
    let error = CallError::EntraTooLong {
        length: written.chars().count(),
        at: Span::new(expr.span.start + past, expr.span.end),
    };
    Some(error.into_diagnostic())
}

impl Checker {
    /// Entra's `SelectUniqueValue` must be a rule's whole expression, and the rule
    /// create-only: evaluated again on update, the user's own value would count as taken
    /// and the value would change on every sync.
    pub(super) fn select_unique_placement(&mut self, expr: &Expr, flow: Flow) {
        let at_root = self.select_unique_nested(expr);
        if at_root && flow != Flow::OnCreate {
            self.report(CallError::SelectUniqueOnUpdate { at: expr.span });
        }
    }

    /// Reports every `SelectUniqueValue` call nested inside another expression; returns
    /// whether the expression itself is one.
    pub(super) fn select_unique_nested(&mut self, expr: &Expr) -> bool {
        let mut calls = Vec::new();
        calls_named(expr, SELECT_UNIQUE_VALUE, &mut calls);
        let at_root = calls.first() == Some(&expr.span);
        for span in calls.iter().skip(usize::from(at_root)) {
            self.report(CallError::SelectUniqueNested { at: *span });
        }
        at_root
    }

    /// Entra does not allow `SelectUniqueValue` to write the attribute users are matched on.
    pub(super) fn select_unique_on_match(
        &mut self,
        match_path: &AttrPath,
        planned: &[PlannedRule],
        written: &Written,
    ) {
        let unique = planned.iter().find(|r| {
            *r.path == *match_path
                && matches!(&r.expr, Node::Call { function, .. } if function.name == "SelectUniqueValue")
        });
        if let (Some(_), Some(span)) = (unique, written.get(match_path)) {
            self.report(CallError::SelectUniqueMatched {
                path: match_path.clone(),
                at: *span,
            });
        }
    }
}

/// The spans of every call to `name` in `e`, outermost first.
fn calls_named(e: &Expr, name: &str, out: &mut Vec<Span>) {
    let mut visit = |child: &Expr| calls_named(child, name, out);
    match &e.kind {
        ExprKind::Call {
            receiver,
            name: called,
            args,
        } => {
            if receiver.is_none() && called.name == name {
                out.push(e.span);
            }
            if let Some(r) = receiver {
                calls_named(r, name, out);
            }
            for arg in args {
                if let Arg::Given(a) = arg {
                    calls_named(a, name, out);
                }
            }
        }
        ExprKind::Member { object, .. } => visit(object),
        ExprKind::Index { object, index } => {
            visit(object);
            visit(index);
        }
        ExprKind::List(items) => items.iter().for_each(visit),
        ExprKind::Map(entries) => entries.iter().for_each(|entry| visit(&entry.value)),
        ExprKind::Unary { operand, .. } => visit(operand),
        ExprKind::Binary { lhs, rhs, .. } => {
            visit(lhs);
            visit(rhs);
        }
        ExprKind::Conditional {
            cond,
            then,
            otherwise,
        } => {
            visit(cond);
            visit(then);
            visit(otherwise);
        }
        ExprKind::Elvis { value, fallback } => {
            visit(value);
            visit(fallback);
        }
        ExprKind::Null
        | ExprKind::Bool(_)
        | ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Str(_)
        | ExprKind::Attr(_)
        | ExprKind::Name(_) => {}
    }
}
