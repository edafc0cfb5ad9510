//! The Okta part of the checker: the roots an Okta expression may read (`user`, `source`, EL
//! v2's `user.profile`) and those it may not; EL v2 method calls, which resolve to the classic
//! function entries (see `functions::okta::methods`); group criteria maps for
//! `user.isMemberOf`/`user.getGroups`; and constant arguments (regular expressions, zone ids,
//! Joda patterns) checked before any run.

use super::Checker;
use super::error::{CallError, OktaError};
use crate::mapping::Dialect;
use crate::mapping::functions::okta::{self, methods};
use crate::mapping::functions::{Function, Ty, joda};
use crate::mapping::pattern::{Anchoring, Pattern};
use crate::mapping::plan::Node;
use crate::mapping::source::Span;
use crate::mapping::syntax::{Arg, Expr, ExprKind, Ident, MapEntry};
use crate::record::APP_USER_PREFIX;
use crate::value::Value;

/// EL v2 user properties outside the profile: `user.id` and `user.status` are the record's
/// identity and status; the timestamps are read from the record (Okta exports carry them
/// beside the profile).
pub(super) const EL2_USER_PROPERTIES: &[&str] = &[
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

/// `user.isMemberOf(...)` and `user.getGroups(...)`: group queries with map criteria.
pub(super) fn is_group_query(root: &str, method: &str) -> bool {
    root == "user" && matches!(method, "isMemberOf" | "getGroups")
}

/// The keys a group criterion may use in scimsync, for "did you mean".
pub(super) const CRITERION_KEYS: &[&str] = &["group.profile.name", "group.id", "operator"];

/// A group criterion's property: the record field it matches (`name` or `id`), the
/// values node, and where its key is written.
type Property = (&'static str, Node, Span);

impl Checker {
    /// An inline map anywhere but in a group query.
    pub(super) fn okta_stray_map(&mut self, e: &Expr) -> (Node, Ty) {
        self.report(OktaError::StrayMap { at: e.span });
        (Node::Const(Value::Null), Ty::Any)
    }

    /// `user.isMemberOf({...}, ...)` / `user.getGroups({...}, ...)`: each map becomes a
    /// criterion `[field, values, operator]` for `functions::okta` to match against the
    /// record's groups (names, and ids when the source has them).
    pub(super) fn okta_group_query(
        &mut self,
        e: &Expr,
        method: &str,
        args: &[Arg],
        dialect: Dialect,
    ) -> (Node, Ty) {
        let null = (Node::Const(Value::Null), Ty::Any);
        let query = format!("user.{method}");
        let Some(function) = okta::any(&query) else {
            return null;
        };
        if args.is_empty() {
            self.report(OktaError::NoCriteria {
                query,
                signature: function.signature,
                at: e.span,
            });
            return null;
        }
        let mut criteria = Vec::new();
        let before = self.diagnostics.len();
        for arg in args {
            let Arg::Given(criterion) = arg else { continue };
            let ExprKind::Map(entries) = &criterion.kind else {
                self.expr(criterion, dialect);
                self.report(OktaError::CriterionNotMap {
                    query: query.clone(),
                    at: criterion.span,
                });
                continue;
            };
            let (property, operator) = self.criterion_entries(entries, dialect);
            if let Some(criterion) = self.criterion(criterion.span, property, operator, before) {
                criteria.push(Some(criterion));
            }
        }
        if self.diagnostics.len() > before {
            return null;
        }
        self.okta_call(function, criteria, e.span)
    }

    /// The property and the operator a criterion map names, reporting unknown, repeated and
    /// tenant-only keys and operators other than 'EXACT' and 'STARTS_WITH'.
    fn criterion_entries(
        &mut self,
        entries: &[MapEntry],
        dialect: Dialect,
    ) -> (Option<Property>, Option<(String, Span)>) {
        let mut property: Option<Property> = None;
        let mut operator: Option<(String, Span)> = None;
        for entry in entries {
            match entry.key.as_str() {
                key @ ("group.profile.name" | "group.id") => {
                    let (node, _) = self.expr(&entry.value, dialect);
                    let name = if key == "group.id" { "id" } else { "name" };
                    if let Some((_, _, first)) = &property {
                        self.report(OktaError::TwoProperties {
                            at: entry.key_span,
                            first: *first,
                        });
                    } else {
                        property = Some((name, node, entry.key_span));
                    }
                }
                "operator" => match &entry.value.kind {
                    ExprKind::Str(op) if op == "EXACT" || op == "STARTS_WITH" => {
                        operator = Some((op.clone(), entry.value.span));
                    }
                    _ => self.report(OktaError::BadOperator {
                        at: entry.value.span,
                    }),
                },
                key @ ("group.type" | "group.source.id") => {
                    self.report(OktaError::TenantCriterion {
                        key: key.to_owned(),
                        at: entry.key_span,
                    })
                }
                other => self.report(OktaError::UnknownCriterionKey {
                    key: other.to_owned(),
                    at: entry.key_span,
                }),
            }
        }
        (property, operator)
    }

    /// The criterion `[field, values, operator]` from a map's property and operator; names
    /// match by prefix unless the operator says 'EXACT', ids always exactly. `before` is
    /// the diagnostic count when the query started: an empty map is reported only when
    /// nothing else was.
    fn criterion(
        &mut self,
        at: Span,
        property: Option<Property>,
        operator: Option<(String, Span)>,
        before: usize,
    ) -> Option<Node> {
        match (property, operator) {
            (None, _) => {
                if self.diagnostics.len() == before {
                    self.report(OktaError::EmptyCriterion { at });
                }
                None
            }
            (Some(("id", _, _)), Some((_, span))) => {
                self.report(OktaError::OperatorOnId { at: span });
                None
            }
            (Some((name, node, _)), operator) => {
                let operator = operator.map_or("STARTS_WITH".to_owned(), |(op, _)| op);
                Some(Node::List(vec![
                    Node::Const(Value::from(name)),
                    node,
                    Node::Const(Value::Str(if name == "id" {
                        "EXACT".to_owned()
                    } else {
                        operator
                    })),
                ]))
            }
        }
    }

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
        let attribute =
            |this: &mut Checker, key: String| (this.source_attribute(&key, span, dialect), Ty::Any);
        // The app user's profile, which Okta app-user exports carry (`GET /apps/{id}/users`);
        // Okta's help pages also write it `appUser`.
        if root == APP_USER_PREFIX || root == "appUser" {
            return attribute(self, format!("{APP_USER_PREFIX}.{}", names.join(".")));
        }
        if let Some((_, why)) = okta::TENANT_ROOTS.iter().find(|(r, _)| *r == root) {
            self.report(OktaError::TenantRoot {
                root: root.to_owned(),
                why,
                at: root_span,
            });
            return null;
        }
        if root != "user" && root != "source" {
            self.report(OktaError::UnknownRoot {
                root: root.to_owned(),
                property: names.join("."),
                at: root_span,
            });
            return null;
        }
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
                self.report(OktaError::NotUserProperty {
                    root: root.to_owned(),
                    property: names.join("."),
                    at: span,
                });
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
            self.report(OktaError::UnknownStaticMethod {
                name: full,
                at: name.span,
            });
            return (Node::Const(Value::Null), Ty::Any);
        };
        if !function.accepts(args.len()) {
            self.report(OktaError::StaticMethodArity {
                name: full.clone(),
                at: e.span,
            });
        }
        let nodes = self.call_args(function, &full, args, 0, Dialect::Okta2);
        self.okta_call(function, nodes, e.span)
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
            self.report(OktaError::UnknownMethod {
                method: name.name.clone(),
                at: name.span,
            });
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
            self.report(OktaError::ReceiverType {
                method: name.name.clone(),
                on: method.on,
                found: receiver_ty,
                at: receiver.span,
                method_at: name.span,
            });
        }
        if args.len() < method.min_args || args.len() > method.max_args {
            self.report(OktaError::MethodArity {
                method: name.name.clone(),
                min: method.min_args,
                max: method.max_args,
                given: args.len(),
                runs: function.name,
                signature: function.signature,
                at: e.span,
            });
        }
        let mut nodes = vec![Some(receiver_node)];
        nodes.extend(self.call_args(function, &shown, args, 1, Dialect::Okta2));
        self.okta_constant_args(function, args, 1);
        self.okta_call(function, nodes, e.span)
    }

    /// Checks constant arguments that would otherwise fail only at run time: regular
    /// expressions, time-zone ids and Joda patterns. `first` is the function index of
    /// `args[0]` (1 for a method, whose receiver is argument 0).
    pub(super) fn okta_constant_args(&mut self, function: &Function, args: &[Arg], first: usize) {
        #[derive(Clone, Copy)]
        enum Kind {
            Regex,
            Zone,
            Pattern,
        }
        let expected: &[(usize, Kind)] = match function.name {
            "isMemberOfGroupNameRegex" => &[(0, Kind::Regex)],
            "Time.now" => &[(0, Kind::Zone), (1, Kind::Pattern)],
            "Time.fromStringToIso8601" | "Time.fromIso8601ToString" => &[(1, Kind::Pattern)],
            "toZone" => &[(1, Kind::Zone)],
            _ => return,
        };
        for (index, kind) in expected {
            let Some(Arg::Given(Expr {
                kind: ExprKind::Str(text),
                span,
            })) = index.checked_sub(first).and_then(|i| args.get(i))
            else {
                continue;
            };
            let at = *span;
            let error = match kind {
                Kind::Regex => Pattern::compile(text, Anchoring::Whole)
                    .err()
                    .map(|problem| CallError::Regex { problem, at }),
                Kind::Zone => joda::zone(text).is_none().then(|| CallError::Zone {
                    zone: text.clone(),
                    at,
                }),
                Kind::Pattern => joda::pattern_problem(text)
                    .map(|problem| CallError::JodaPattern { problem, at }),
            };
            if let Some(error) = error {
                self.report(error);
            }
        }
    }

    /// SpEL's unary `+x`: the number itself, an error for anything else.
    pub(super) fn okta_unary_plus(&mut self, operand: Node, span: Span) -> (Node, Ty) {
        match okta::any(okta::UNARY_PLUS) {
            Some(function) => self.okta_call(function, vec![Some(operand)], span),
            None => (Node::Const(Value::Null), Ty::Any),
        }
    }

    /// The call node, noting what the function reads and whether it can fail.
    fn okta_call(
        &mut self,
        function: &'static Function,
        args: Vec<Option<Node>>,
        span: Span,
    ) -> (Node, Ty) {
        self.reads_groups |= function.uses_groups;
        if function.fallible {
            self.risk(format!("`{}` fails for some inputs", function.name));
        }
        (
            Node::Call {
                function,
                args,
                span,
            },
            function.returns,
        )
    }
}
