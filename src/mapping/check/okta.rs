//! Okta-specific name resolution for the checker: the roots an Okta expression may read
//! (`user`, `source`, and EL v2's `user.profile`), and EL v2 method calls, which resolve to the
//! classic function entries (see `functions::okta::methods`).

use super::{Checker, Node, Ty};
use crate::mapping::Dialect;
use crate::mapping::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::mapping::functions::okta::{self, methods};
use crate::mapping::source::Span;
use crate::mapping::syntax::{Arg, Expr, Ident};
use crate::value::Value;

/// EL v2 user properties outside the profile: `user.id` and `user.status` are the record's
/// identity and status; the timestamps are read from the record (Okta exports carry them
/// beside the profile).
const EL2_USER_PROPERTIES: &[&str] = &[
    "id",
    "status",
    "created",
    "lastUpdated",
    "passwordChanged",
    "lastLogin",
];

/// Whether `root.x` is resolved here: every root but the function namespaces (`String.len`
/// written without its arguments is the checker's to report).
pub(super) fn is_root(root: &str) -> bool {
    !super::OKTA_NAMESPACES.contains(&root)
}

impl Checker {
    /// `root.a.b`: a user attribute, the source id or status, or an error for a tenant root.
    pub(super) fn okta_property(
        &mut self,
        root: &str,
        names: &[&str],
        root_span: Span,
        span: Span,
        dialect: Dialect,
    ) -> (Node, Ty) {
        let null = (Node::Const(Value::Null), Ty::Any);
        if let Some((_, why)) = okta::TENANT_ROOTS.iter().find(|(r, _)| *r == root) {
            self.error(
                Diagnostic::error(
                    Code::TenantOnlyFunction,
                    root_span,
                    format!("`{root}` exists only inside an Okta tenant"),
                )
                .label("not available to scimsync")
                .help((*why).to_owned()),
            );
            return null;
        }
        if root != "user" && root != "source" {
            let mut d = Diagnostic::error(
                Code::UnknownName,
                root_span,
                format!("unknown name `{root}`"),
            )
            .label("not a known root");
            d = match did_you_mean(root, ["user", "source"]) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!(
                    "scimsync reads the directory user as `user.{}`; `{root}.{}` would read another app's user profile inside an Okta tenant",
                    names.join("."),
                    names.join(".")
                )),
            };
            self.error(d);
            return null;
        }
        let attribute = |this: &mut Checker, key: String| {
            this.reads.insert(key.clone());
            (Node::Attr(key), Ty::Any)
        };
        if dialect != Dialect::Okta2 {
            return attribute(self, names.join("."));
        }
        // EL v2: profile attributes under `user.profile`, a few properties beside it.
        match names {
            ["profile", rest @ ..] if !rest.is_empty() => attribute(self, rest.join(".")),
            ["id"] => (Node::SourceId, Ty::Str),
            ["status"] => {
                self.reads.insert("status".into());
                (Node::SourceStatus, Ty::Str)
            }
            [timestamp] if EL2_USER_PROPERTIES.contains(timestamp) => {
                attribute(self, (*timestamp).to_owned())
            }
            _ => {
                let written = names.join(".");
                let mut d = Diagnostic::error(
                    Code::UnknownName,
                    span,
                    format!("`{root}.{written}` is not an Identity Engine user property"),
                )
                .label("not a user property");
                d = if names == ["profile"] {
                    d.help("name an attribute: `user.profile.email`")
                } else {
                    d.help(format!(
                        "Identity Engine reads profile attributes under `profile`: `{root}.profile.{written}` (beside it only {})",
                        EL2_USER_PROPERTIES
                            .iter()
                            .map(|p| format!("`{p}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                };
                self.error(d);
                null
            }
        }
    }

    /// EL v2 `DateTime.now()`.
    pub(super) fn okta_static_method(
        &mut self,
        e: &Expr,
        name: &Ident,
        args: &[Arg],
    ) -> (Node, Ty) {
        let full = format!("DateTime.{}", name.name);
        let Some(function) = methods::STATIC_METHODS
            .iter()
            .find(|(n, _)| *n == full)
            .and_then(|(_, f)| okta::any(f))
        else {
            self.error(
                Diagnostic::error(Code::UnknownFunction, name.span, format!("unknown function `{full}`"))
                    .label("not an Identity Engine function")
                    .help("`DateTime.now()` is the one static DateTime function; the others are methods on a time, e.g. `user.profile.startDate.parseStringTime().plusDays(1)`"),
            );
            return (Node::Const(Value::Null), Ty::Any);
        };
        if !function.accepts(args.len()) {
            self.error(
                Diagnostic::error(Code::Arity, e.span, format!("`{full}` takes no arguments"))
                    .label("wrong number of arguments")
                    .help("call it as `DateTime.now()`; format it with `.toString(\"yyyy-MM-dd\")` or move it with `.toZone(\"America/New_York\")`"),
            );
        }
        let nodes = self.call_args(function, &full, args, 0, Dialect::Okta2);
        self.fallible |= function.fallible;
        (
            Node::Call {
                function,
                args: nodes,
                span: e.span,
            },
            function.returns,
        )
    }

    /// EL v2 `value.method(args)`: the classic function with the value as argument 0.
    pub(super) fn okta_method(
        &mut self,
        e: &Expr,
        receiver: &Expr,
        name: &Ident,
        args: &[Arg],
    ) -> (Node, Ty) {
        let null = (Node::Const(Value::Null), Ty::Any);
        let before = self.diagnostics.len();
        let (receiver_node, receiver_ty) = self.expr(receiver, Dialect::Okta2);
        let shown = format!(".{}()", name.name);
        let Some(method) = methods::resolve(&name.name, receiver_ty) else {
            let mut d = Diagnostic::error(
                Code::UnknownFunction,
                name.span,
                format!("unknown method `{shown}`"),
            )
            .label("not an Identity Engine method");
            d = match did_you_mean(&name.name, methods::METHODS.iter().map(|m| m.name)) {
                Some(s) => d.help(format!("did you mean `.{s}()`?")),
                None => d.help("methods on strings include `.toLowerCase()`, `.substringBefore(\"@\")`, `.replace(a, b)`; on lists `.contains(x)`, `.size()`"),
            };
            self.error(d);
            for arg in args {
                if let Arg::Given(a) = arg {
                    self.expr(a, Dialect::Okta2);
                }
            }
            return null;
        };
        let Some(function) = okta::any(method.function) else {
            return null;
        };
        if self.diagnostics.len() == before
            && method.on != Ty::Any
            && receiver_ty != Ty::Any
            && !receiver_ty.fits(method.on)
        {
            self.error(
                Diagnostic::error(
                    Code::Type,
                    receiver.span,
                    format!(
                        "`{shown}` applies to {}, but this is {}",
                        method.on.name(),
                        receiver_ty.name()
                    ),
                )
                .label(receiver_ty.name())
                .secondary(name.span, "method called here"),
            );
        }
        if args.len() < method.min_args || args.len() > method.max_args {
            let count = |n: usize| match n {
                0 => "no arguments".to_owned(),
                1 => "1 argument".to_owned(),
                n => format!("{n} arguments"),
            };
            let takes = if method.min_args == method.max_args {
                count(method.max_args)
            } else {
                format!("{} or {}", method.min_args, count(method.max_args))
            };
            self.error(
                Diagnostic::error(
                    Code::Arity,
                    e.span,
                    format!(
                        "`{shown}` takes {takes}, but {} {} given",
                        args.len(),
                        if args.len() == 1 { "was" } else { "were" }
                    ),
                )
                .label("wrong number of arguments")
                .help(format!(
                    "it runs `{}`: {}",
                    function.name, function.signature
                )),
            );
        }
        let mut nodes = vec![Some(receiver_node)];
        nodes.extend(self.call_args(function, &shown, args, 1, Dialect::Okta2));
        self.reads_groups |= function.uses_groups;
        self.fallible |= function.fallible;
        (
            Node::Call {
                function,
                args: nodes,
                span: e.span,
            },
            function.returns,
        )
    }
}
