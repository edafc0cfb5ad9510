//! Where Entra allows things: `SelectUniqueValue` only as a rule's whole expression, in a
//! create-only rule that does not write the match attribute; and expressions no longer than
//! Entra accepts.

use super::Checker;
use super::error::{CallError, Problem};
use super::statements::Written;
use crate::mapping::Dialect;
use crate::mapping::diagnostic::Diagnostic;
use crate::mapping::functions::{self, Function};
use crate::mapping::plan::{Flow, Node, PlannedRule};
use crate::mapping::source::Span;
use crate::mapping::syntax::{Arg, Expr, ExprKind};
use crate::scim::path::AttrPath;

/// The longest expression Entra's attribute mappings accept, in characters.
pub const ENTRA_MAX_EXPRESSION_CHARS: usize = 10_000;

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
        if let Some(function) = self.top_level_only_nested(expr)
            && flow != Flow::OnCreate
        {
            self.report(CallError::SelectUniqueOnUpdate {
                function: function.name,
                at: expr.span,
            });
        }
    }

    /// Reports every call to a function that must be a whole expression
    /// ([`Function::must_be_top_level`]) found nested inside another expression; returns the
    /// function when the expression itself is such a call.
    pub(super) fn top_level_only_nested(&mut self, expr: &Expr) -> Option<&'static Function> {
        let mut calls = Vec::new();
        top_level_only_calls(expr, &mut calls);
        let at_root = calls.first().filter(|(span, _)| *span == expr.span);
        let root = at_root.map(|(_, function)| *function);
        for (span, function) in calls.iter().skip(usize::from(root.is_some())) {
            self.report(CallError::SelectUniqueNested {
                function: function.name,
                at: *span,
            });
        }
        root
    }

    /// Entra does not allow `SelectUniqueValue` to write the attribute users are matched on.
    pub(super) fn select_unique_on_match(
        &mut self,
        match_path: &AttrPath,
        planned: &[PlannedRule],
        written: &Written,
    ) {
        let unique = planned.iter().find_map(|r| match &r.expr {
            Node::Call { function, .. }
                if *r.path == *match_path && function.must_be_top_level() =>
            {
                Some(*function)
            }
            _ => None,
        });
        if let (Some(function), Some(span)) = (unique, written.get(match_path)) {
            self.report(CallError::SelectUniqueMatched {
                function: function.name,
                path: match_path.clone(),
                at: *span,
            });
        }
    }
}

/// Every call in `e` to an Entra function that must be a whole expression, outermost first.
fn top_level_only_calls(e: &Expr, out: &mut Vec<(Span, &'static Function)>) {
    let mut visit = |child: &Expr| top_level_only_calls(child, out);
    match &e.kind {
        ExprKind::Call {
            receiver,
            name: called,
            args,
        } => {
            if receiver.is_none()
                && let Some(function) = functions::lookup(Dialect::Entra, &called.name)
                && function.must_be_top_level()
            {
                out.push((e.span, function));
            }
            if let Some(r) = receiver {
                top_level_only_calls(r, out);
            }
            for arg in args {
                if let Arg::Given(a) = arg {
                    top_level_only_calls(a, out);
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
