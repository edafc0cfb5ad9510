//! Function calls: the callee resolved (an Entra function, an Okta namespace function, a
//! `user.` query or an EL v2 method), then checked for tenant-only functions, arity and
//! argument types, and lowered into a call node.

use super::error::{CallError, FunctionHint};
use super::{Checker, OKTA_NAMESPACES, okta};
use crate::mapping::Dialect;
use crate::mapping::diagnostic::did_you_mean;
use crate::mapping::functions::{self, Function, Ty};
use crate::mapping::pattern::{Anchoring, Pattern};
use crate::mapping::plan::Node;
use crate::mapping::source::Span;
use crate::mapping::syntax::{Arg, Expr, ExprKind, Ident};
use crate::value::Value;

/// What a call's receiver and name stand for.
enum Callee {
    /// A function to look up by this full name (`ToLower`, `String.toLowerCase`).
    Named(String),
    /// A call checked on its own path (a group query, a method, or an error).
    Checked((Node, Ty)),
}

impl Checker {
    pub(super) fn call(
        &mut self,
        e: &Expr,
        receiver: Option<&Expr>,
        name: &Ident,
        args: &[Arg],
        dialect: Dialect,
    ) -> (Node, Ty) {
        match self.callee(e, receiver, name, args, dialect) {
            Callee::Named(full_name) => {
                let span_of_name = receiver.map_or(name.span, |r| r.span.to(name.span));
                self.function_call(e, &full_name, span_of_name, args, dialect)
            }
            Callee::Checked(checked) => checked,
        }
    }

    fn callee(
        &mut self,
        e: &Expr,
        receiver: Option<&Expr>,
        name: &Ident,
        args: &[Arg],
        dialect: Dialect,
    ) -> Callee {
        let Some(receiver) = receiver else {
            return Callee::Named(name.name.clone());
        };
        let spel = dialect.is_spel();
        Callee::Checked(match &receiver.kind {
            ExprKind::Name(ns) if spel && OKTA_NAMESPACES.contains(&ns.as_str()) => {
                return Callee::Named(format!("{ns}.{}", name.name));
            }
            ExprKind::Name(root)
                if spel && root == "user" && name.name == "getInternalProperty" =>
            {
                self.internal_property(e, args)
            }
            ExprKind::Name(root) if spel && okta::is_group_query(root, &name.name) => {
                self.okta_group_query(e, &name.name, args, dialect)
            }
            ExprKind::Name(root) if spel && root == "user" => {
                return Callee::Named(format!("user.{}", name.name));
            }
            ExprKind::Name(root) if dialect == Dialect::Okta2 && root == "DateTime" => {
                self.okta_static_method(e, name, args)
            }
            _ if dialect == Dialect::Okta2 => self.okta_method(e, receiver, name, args),
            _ => self.method_outside_okta2(receiver, name, dialect),
        })
    }

    /// `value.method()` outside EL v2: the value's own errors, or that methods are EL v2's.
    fn method_outside_okta2(
        &mut self,
        receiver: &Expr,
        name: &Ident,
        dialect: Dialect,
    ) -> (Node, Ty) {
        let before = self.diagnostics.len();
        self.expr(receiver, dialect);
        // When the value already failed, one diagnostic is enough.
        if self.diagnostics.len() == before {
            self.report(CallError::MethodInClassicOkta {
                method: name.name.clone(),
                at: name.span,
            });
        }
        (Node::Const(Value::Null), Ty::Any)
    }

    /// A call of the function `full_name`: known in the dialect, evaluable outside a tenant,
    /// given arguments of the right number and types.
    fn function_call(
        &mut self,
        e: &Expr,
        full_name: &str,
        span_of_name: Span,
        args: &[Arg],
        dialect: Dialect,
    ) -> (Node, Ty) {
        let null = (Node::Const(Value::Null), Ty::Any);
        if dialect.is_spel() && full_name == "T" {
            self.report(CallError::TypeReference { at: e.span });
            return null;
        }
        if let Some(why) = functions::tenant_only(dialect, full_name) {
            self.report(CallError::TenantOnly {
                name: full_name.to_owned(),
                dialect,
                why,
                at: span_of_name,
            });
            return null;
        }
        let Some(function) = functions::lookup(dialect, full_name) else {
            self.unknown_function(full_name, span_of_name, dialect);
            for arg in args {
                if let Arg::Given(a) = arg {
                    self.expr(a, dialect);
                }
            }
            return null;
        };
        self.arity(function, full_name, args.len(), e.span, dialect);
        let nodes = self.call_args(function, full_name, args, 0, dialect);
        if dialect.is_spel() {
            self.okta_constant_args(function, args, 0);
        } else if full_name == "Replace" {
            self.entra_replace_pattern(args);
        }
        if function.uses_groups {
            self.reads_groups = true;
        }
        if function.fallible {
            self.risk(format!("`{full_name}` fails for some inputs"));
        }
        (
            Node::Call {
                function,
                args: nodes,
                span: e.span,
            },
            function.returns,
        )
    }

    /// The number of arguments, and Entra `Switch`'s key-value pairs.
    fn arity(
        &mut self,
        function: &Function,
        full_name: &str,
        given: usize,
        at: Span,
        dialect: Dialect,
    ) {
        if !function.accepts(given) {
            self.report(CallError::Arity {
                name: full_name.to_owned(),
                takes: function.arity_text(),
                given,
                signature: function.signature,
                at,
            });
        } else if dialect == Dialect::Entra && full_name == "Switch" && given % 2 == 1 {
            self.report(CallError::SwitchPairs { given, at });
        }
    }

    /// Entra `Replace`'s `regexPattern`, when it is a constant, must compile before any user
    /// is mapped.
    fn entra_replace_pattern(&mut self, args: &[Arg]) {
        if let Some(Arg::Given(Expr {
            kind: ExprKind::Str(text),
            span,
        })) = args.get(2)
            && let Err(problem) = Pattern::compile(text, Anchoring::Anywhere)
        {
            self.report(CallError::Regex { problem, at: *span });
        }
    }

    /// Checks a call's arguments against `function`'s types; `first` is the index of the
    /// first one (1 for an EL v2 method, whose receiver is argument 0).
    pub(super) fn call_args(
        &mut self,
        function: &'static Function,
        full_name: &str,
        args: &[Arg],
        first: usize,
        dialect: Dialect,
    ) -> Vec<Option<Node>> {
        let mut nodes = Vec::with_capacity(args.len());
        for (index, arg) in args.iter().enumerate() {
            let (position, index) = (index + 1, index + first);
            match arg {
                Arg::Omitted(span) => {
                    if !function.omittable && index < function.min_args {
                        self.report(CallError::Omitted {
                            name: full_name.to_owned(),
                            position,
                            signature: function.signature,
                            at: *span,
                        });
                    }
                    nodes.push(None);
                }
                Arg::Given(a) => {
                    let (node, ty) = self.expr(a, dialect);
                    let expected = function.arg_type(index);
                    if !ty.fits(expected) {
                        self.report(CallError::ArgumentType {
                            name: full_name.to_owned(),
                            position,
                            expected,
                            found: ty,
                            signature: function.signature,
                            at: a.span,
                        });
                    }
                    nodes.push(Some(node));
                }
            }
        }
        nodes
    }

    fn unknown_function(&mut self, name: &str, at: Span, dialect: Dialect) {
        self.report(CallError::UnknownFunction {
            name: name.to_owned(),
            dialect,
            hint: function_hint(name, dialect),
            at,
        });
    }

    fn internal_property(&mut self, e: &Expr, args: &[Arg]) -> (Node, Ty) {
        match args {
            [
                Arg::Given(Expr {
                    kind: ExprKind::Str(p),
                    ..
                }),
            ] if p == "id" => (Node::SourceId, Ty::Str),
            [
                Arg::Given(Expr {
                    kind: ExprKind::Str(p),
                    ..
                }),
            ] if p == "status" => {
                self.reads.insert("status".into());
                (Node::SourceStatus, Ty::Str)
            }
            _ => {
                self.report(CallError::InternalProperty { at: e.span });
                (Node::Const(Value::Null), Ty::Any)
            }
        }
    }
}

/// What an unknown function name may have meant: another dialect's function, this dialect's
/// in another letter case, or a close name.
fn function_hint(name: &str, dialect: Dialect) -> FunctionHint {
    let other = Dialect::ALL
        .into_iter()
        .find(|d| *d != dialect)
        .filter(|d| functions::lookup(*d, name).is_some());
    let own = functions::table(dialect);
    if let Some(other) = other {
        FunctionHint::OtherDialect {
            other,
            equivalent: equivalent(name),
        }
    } else if let Some(exact) = own.iter().find(|f| f.name.eq_ignore_ascii_case(name)) {
        FunctionHint::Case(exact.name)
    } else if let Some(closest) = did_you_mean(name, own.iter().map(|f| f.name)) {
        FunctionHint::Closest(closest)
    } else {
        FunctionHint::Nothing
    }
}

/// The same function in the other dialect, for "did you mean" across dialects.
fn equivalent(name: &str) -> Option<&'static str> {
    const PAIRS: &[(&str, &str)] = &[
        ("ToLower", "String.toLowerCase"),
        ("ToUpper", "String.toUpperCase"),
        ("Append", "String.append"),
        ("Join", "String.join"),
        ("IIF", "c ? a : b"),
        ("Coalesce", "a ?: b"),
    ];
    PAIRS.iter().find_map(|(entra, okta)| {
        if *entra == name {
            Some(*okta)
        } else if *okta == name {
            Some(*entra)
        } else {
            None
        }
    })
}
