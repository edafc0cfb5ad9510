//! The mapping language: `.map` files and the Okta- and Entra-style expressions inside them.
//!
//! The pipeline, one module per stage:
//!
//! ```text
//! text ──split──▶ statements ──parse──▶ syntax tree ──check──▶ Plan ──eval──▶ SCIM attribute values
//!      (split.rs)              (parse.rs, grammar/map.pest)  (check.rs) (plan.rs)  (eval.rs, functions/)
//! ```
//!
//! One lexer (`lex.rs`) holds the quoting and escaping rules; split, depth, parse and format
//! read its tokens.
//!
//! This module knows nothing of LDAP, HTTP or the command line: it reads [`Record`]s and
//! produces values addressed by SCIM [`AttrPath`]s.
//!
//! [`Record`]: crate::record::Record
//! [`AttrPath`]: crate::scim::path::AttrPath

pub mod check;
pub mod depth;
pub mod diagnostic;
pub mod eval;
pub mod format;
pub mod functions;
pub mod lex;
pub mod parse;
pub mod pattern;
pub mod plan;
pub mod source;
pub mod split;
pub mod syntax;

use std::fmt;

pub use diagnostic::{Diagnostic, render_all};
pub use eval::{Env, EvalError};
pub use plan::{ExprPlan, MappedUser, Outcome, Plan, RuleFailure};
pub use source::SourceFile;

/// The expression language a statement is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dialect {
    /// Okta Expression Language (classic, SpEL-based): `String.toLowerCase(user.email)`.
    Okta,
    /// Entra attribute-mapping expressions: `ToLower([mail])`.
    Entra,
    /// Okta Identity Engine expressions ("EL v2"): the same SpEL syntax with methods on
    /// values, `user.profile.email.toLowerCase()`. Its methods run the classic functions.
    Okta2,
}

impl Dialect {
    pub const ALL: [Dialect; 3] = [Dialect::Okta, Dialect::Entra, Dialect::Okta2];

    pub fn from_name(name: &str) -> Option<Dialect> {
        match name {
            "okta" => Some(Dialect::Okta),
            "entra" => Some(Dialect::Entra),
            "okta2" => Some(Dialect::Okta2),
            _ => None,
        }
    }

    /// Whose attributes its mappings usually read, for messages.
    pub fn source_kind(self) -> &'static str {
        match self {
            Dialect::Entra => "Entra ID user",
            Dialect::Okta | Dialect::Okta2 => "Okta profile or LDAP",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dialect::Okta => "okta",
            Dialect::Entra => "entra",
            Dialect::Okta2 => "okta2",
        }
    }

    /// Whether expressions are written in Okta's SpEL syntax (classic EL or EL v2).
    pub fn is_spel(self) -> bool {
        matches!(self, Dialect::Okta | Dialect::Okta2)
    }

    /// Okta accepts `'single'` as well as `"double"` quoted strings.
    pub fn single_quoted_strings(self) -> bool {
        self.is_spel()
    }

    /// Entra escapes with a backslash; Okta doubles the quote.
    pub fn backslash_escapes(self) -> bool {
        self == Dialect::Entra
    }

    /// The name people know the dialect by, for messages.
    pub fn title(self) -> &'static str {
        match self {
            Dialect::Okta => "Okta",
            Dialect::Entra => "Entra",
            Dialect::Okta2 => "Okta Identity Engine",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The dialect a file starts in when it has no `dialect` statement before its first rule.
pub const DEFAULT_DIALECT: Dialect = Dialect::Okta;

/// Parses and checks a `.map` file. Returns the plan, or every diagnostic found.
pub fn compile(file: &SourceFile) -> Result<Plan, Vec<Diagnostic>> {
    let (syntax, mut diagnostics) = parse::parse_file(file, DEFAULT_DIALECT);
    let checked = check::check_file(&syntax, file, diagnostics.is_empty());
    diagnostics.extend(checked.diagnostics);
    diagnostics.sort_by_key(|d| (d.primary.span.start, d.code));
    match checked.plan {
        Some(mut plan) if !diagnostics.iter().any(Diagnostic::is_error) => {
            plan.warnings = diagnostics;
            Ok(plan)
        }
        _ => Err(diagnostics),
    }
}

/// Parses and checks a lone expression (`scimsync eval`).
pub fn compile_expression(text: &str, dialect: Dialect) -> Result<ExprPlan, Vec<Diagnostic>> {
    let expr = parse::parse_expression(text, dialect)?;
    let too_long = (dialect == Dialect::Entra)
        .then(|| check::entra_length(&expr, text))
        .flatten();
    match (check::check_expression(&expr, dialect), too_long) {
        (result, None) => result,
        (Ok(_), Some(too_long)) => Err(vec![too_long]),
        (Err(mut diagnostics), Some(too_long)) => {
            diagnostics.push(too_long);
            Err(diagnostics)
        }
    }
}
