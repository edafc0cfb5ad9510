//! Names in expressions: Entra's bracketed attributes and bare constants, Okta's bare words
//! and `root.property` reads, and the source attributes a mapping reads.

use super::error::NameError;
use super::{Checker, ENTRA_CONSTANTS, OKTA_NAMESPACES, okta, vocabulary};
use crate::mapping::Dialect;
use crate::mapping::functions::{self, Ty};
use crate::mapping::plan::Node;
use crate::mapping::source::Span;
use crate::mapping::syntax::{Expr, ExprKind};
use crate::record::AttrName;
use crate::value::Value;

/// Whether a bare Okta name stands for a user attribute: not `user` itself, a function
/// namespace, or a root that needs its property (`org`, `app`, `appuser`, ...).
fn is_bare_attribute(name: &str) -> bool {
    name != "user"
        && name != "source"
        && !OKTA_NAMESPACES.contains(&name)
        && !functions::okta::TENANT_ROOTS
            .iter()
            .any(|(root, _)| *root == name)
        && !name.eq_ignore_ascii_case(crate::record::APP_USER_PREFIX)
}

impl Checker {
    pub(super) fn bare_name(&mut self, name: &str, span: Span, dialect: Dialect) -> (Node, Ty) {
        let null = (Node::Const(Value::Null), Ty::Any);
        match dialect {
            Dialect::Entra if ENTRA_CONSTANTS.contains(&name) => {
                (Node::Const(Value::from(name)), Ty::Str)
            }
            Dialect::Entra => {
                self.report(NameError::UnknownEntraName {
                    name: name.to_owned(),
                    at: span,
                });
                null
            }
            Dialect::Okta | Dialect::Okta2 if is_bare_attribute(name) => {
                self.bare_okta_attribute(name, span, dialect)
            }
            Dialect::Okta | Dialect::Okta2 => {
                self.report(NameError::NotAValue {
                    name: name.to_owned(),
                    at: span,
                });
                null
            }
        }
    }

    /// A bare name in Okta's language (`firstName`), as Okta's own samples for conditional
    /// expressions write them and admins copy them: read from the source user, with a
    /// warning that names the explicit form.
    fn bare_okta_attribute(&mut self, name: &str, span: Span, dialect: Dialect) -> (Node, Ty) {
        let explicit = if dialect == Dialect::Okta2 {
            format!("user.profile.{name}")
        } else {
            format!("user.{name}")
        };
        self.report(NameError::BareAttribute {
            name: name.to_owned(),
            explicit,
            at: span,
        });
        (self.source_attribute(name, span, dialect), Ty::Any)
    }

    /// `user.a.b` → the record attribute `a.b`.
    pub(super) fn member(&mut self, e: &Expr, dialect: Dialect) -> (Node, Ty) {
        let null = (Node::Const(Value::Null), Ty::Any);
        let mut names = Vec::new();
        let mut cursor = e;
        while let ExprKind::Member { object, name } = &cursor.kind {
            names.push(name.name.as_str());
            cursor = object;
        }
        names.reverse();
        match &cursor.kind {
            ExprKind::Name(root) if dialect.is_spel() && okta::is_root(root) => {
                self.okta_property(root, &names, cursor.span, e.span, dialect)
            }
            ExprKind::Name(root) if OKTA_NAMESPACES.contains(&root.as_str()) => {
                self.report(NameError::FunctionNotCalled {
                    namespace: root.clone(),
                    function: names.join("."),
                    at: e.span,
                });
                null
            }
            _ => {
                let before = self.diagnostics.len();
                self.expr(cursor, dialect);
                if self.diagnostics.len() > before {
                    // The object already failed; one diagnostic is enough.
                    return null;
                }
                self.report(NameError::PropertyOfNonUser { at: e.span });
                null
            }
        }
    }

    /// A source attribute a rule reads: noted for the plan's facts, and a warning when the
    /// name looks like a typo of a standard one.
    pub(super) fn source_attribute(&mut self, name: &str, span: Span, dialect: Dialect) -> Node {
        self.reads.insert(name.to_owned());
        if let Some(meant) = vocabulary::suggestion(name, dialect) {
            self.report(NameError::NonStandardAttribute {
                name: name.to_owned(),
                meant,
                dialect,
                at: span,
            });
        }
        Node::Attr(AttrName::new(name))
    }
}
