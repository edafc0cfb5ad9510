//! The checker: resolves names, paths and functions in a syntax tree, checks arity, types,
//! allowed values and the file's structure, and lowers what it checked into a [`Plan`].
//!
//! It reports every error in one pass. A node that fails to resolve becomes a null constant
//! and is not reported again, so one mistake produces one diagnostic.
//!
//! One module per phase: `statements` (declarations and the file as a whole), `groups`,
//! `scope`, `paths` (against the SCIM schema), `rules` and `options`, `exprs`, `names`,
//! `calls`, `operators`, `placement` (Entra's `SelectUniqueValue`, expression length),
//! `purity` (constant conditions) and `okta`. Every error is a variant in `error`.

use std::collections::BTreeSet;

use super::Dialect;
use super::diagnostic::Diagnostic;
use super::plan::{ExprPlan, Plan};
use super::source::SourceFile;
use super::syntax::{Expr, MapFile};

mod calls;
mod error;
mod exprs;
mod groups;
mod names;
mod okta;
mod operators;
mod options;
mod paths;
mod placement;
mod purity;
mod rules;
mod scope;
mod statements;
mod vocabulary;

pub use placement::{ENTRA_MAX_EXPRESSION_CHARS, entra_length};

/// The result of checking a file: the plan when the structure allowed building one, and what
/// was found wrong.
pub struct Checked {
    pub plan: Option<Plan>,
    pub diagnostics: Vec<Diagnostic>,
}

/// The alias every file has for the enterprise extension, unless it declares its own.
pub const ENTERPRISE_ALIAS: &str = "enterprise";

/// Okta function namespaces: `String.toLowerCase(...)`.
const OKTA_NAMESPACES: &[&str] = &[
    "String",
    "Arrays",
    "Convert",
    "Iso3166Convert",
    "Time",
    "Groups",
];
/// Entra's bare-word constants.
const ENTRA_CONSTANTS: &[&str] = &[
    "vbTextCompare",
    "vbBinaryCompare",
    "UTF8",
    "ASCII",
    "Unicode",
];

pub fn check_expression(expr: &Expr, dialect: Dialect) -> Result<ExprPlan, Vec<Diagnostic>> {
    let mut checker = Checker::default();
    let (node, _) = checker.expr(expr, dialect);
    if dialect == Dialect::Entra {
        // A lone expression is a rule's whole expression: only a nested call is misplaced.
        checker.top_level_only_nested(expr);
    }
    if !checker.diagnostics.iter().any(Diagnostic::is_error) {
        Ok(ExprPlan {
            node,
            warnings: checker.diagnostics,
        })
    } else {
        Err(checker.diagnostics)
    }
}

/// Checks a parsed file. `complete` says whether every statement parsed; when some did not,
/// "nothing writes userName" and the like are not reported, since the missing rule may be
/// the one that failed to parse.
pub fn check_file(file: &MapFile, source: &SourceFile, complete: bool) -> Checked {
    let mut checker = Checker {
        complete,
        ..Checker::default()
    };
    let plan = checker.file(file, source);
    Checked {
        plan,
        diagnostics: checker.diagnostics,
    }
}

#[derive(Default)]
struct Checker {
    diagnostics: Vec<Diagnostic>,
    reads: BTreeSet<String>,
    reads_groups: bool,
    /// Why the expression being checked can fail at run time (empty: it cannot).
    risks: BTreeSet<String>,
    /// Whether every statement of the file parsed.
    complete: bool,
}

impl Checker {
    /// Records a problem found (an error or a warning).
    fn report(&mut self, problem: impl error::Problem) {
        self.diagnostics.push(problem.into_diagnostic());
    }

    /// Notes why the expression being checked can fail at run time.
    fn risk(&mut self, why: impl Into<String>) {
        self.risks.insert(why.into());
    }
}
