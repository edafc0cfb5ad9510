//! The `scope` statement: a condition on the user, which must be true or false and must not
//! be false for everyone.

use super::Checker;
use super::error::StatementError;
use super::purity::constant_truth;
use crate::mapping::Dialect;
use crate::mapping::functions::Ty;
use crate::mapping::plan::{FallibleRule, Node};
use crate::mapping::source::Span;
use crate::mapping::syntax::Expr;

impl Checker {
    /// Checks the scope, if any: its node, and its run-time risks as a rule without a path
    /// at `line`.
    pub(super) fn scope(
        &mut self,
        scope_decl: Option<(&Expr, Dialect, Span)>,
        line: usize,
    ) -> (Option<Node>, Vec<FallibleRule>) {
        self.risks.clear();
        let scope = scope_decl.map(|(expr, dialect, _)| self.scope_condition(expr, dialect));
        let risks = if self.risks.is_empty() {
            Vec::new()
        } else {
            vec![FallibleRule {
                path: None,
                line,
                reasons: std::mem::take(&mut self.risks).into_iter().collect(),
            }]
        };
        (scope, risks)
    }

    fn scope_condition(&mut self, expr: &Expr, dialect: Dialect) -> Node {
        let errors_before = self.diagnostics.len();
        let (node, ty) = self.expr(expr, dialect);
        if !matches!(ty, Ty::Bool | Ty::Any) {
            self.report(StatementError::ScopeNotCondition {
                found: ty,
                at: expr.span,
            });
        } else if self.diagnostics.len() == errors_before && constant_truth(&node) == Some(false) {
            // A failed name became a null constant: only judge scopes that checked clean.
            self.report(StatementError::ScopeNeverTrue { at: expr.span });
        }
        node
    }
}
