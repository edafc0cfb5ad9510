//! The Okta part of the checker: the roots an Okta expression may read (`user`, `source`, EL
//! v2's `user.profile`) and those it may not; EL v2 method calls, which resolve to the classic
//! function entries (see `functions::okta::methods`); group criteria maps for
//! `user.isMemberOf`/`user.getGroups`; and constant arguments (regular expressions, zone ids,
//! Joda patterns) checked before any run.

use super::{Checker, Node, Ty};
use crate::mapping::Dialect;
use crate::mapping::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::mapping::functions::okta::{self, methods};
use crate::mapping::functions::{Function, joda};
use crate::mapping::pattern::{Anchoring, Pattern};
use crate::mapping::source::Span;
use crate::mapping::syntax::{Arg, Expr, ExprKind, Ident};
use crate::record::APP_USER_PREFIX;
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

/// `user.isMemberOf(...)` and `user.getGroups(...)`: group queries with map criteria.
pub(super) fn is_group_query(root: &str, method: &str) -> bool {
    root == "user" && matches!(method, "isMemberOf" | "getGroups")
}

/// The keys a group criterion may use in scimsync, for "did you mean".
const CRITERION_KEYS: &[&str] = &["group.profile.name", "group.id", "operator"];

impl Checker {
    /// An inline map anywhere but in a group query.
    pub(super) fn okta_stray_map(&mut self, e: &Expr) -> (Node, Ty) {
        self.error(
            Diagnostic::error(Code::Type, e.span, "an inline map is not a value scimsync can use")
                .label("a map")
                .help("maps are group criteria: `user.isMemberOf({'group.profile.name': 'Sales'})`; for a list write `{'a', 'b'}`"),
        );
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
        let full = format!("user.{method}");
        let Some(function) = okta::any(&full) else {
            return null;
        };
        if args.is_empty() {
            self.error(
                Diagnostic::error(
                    Code::Arity,
                    e.span,
                    format!("`{full}` needs at least one criterion"),
                )
                .label("no criteria")
                .help(format!("call it as `{}`", function.signature)),
            );
            return null;
        }
        let mut criteria = Vec::new();
        let before = self.diagnostics.len();
        for arg in args {
            let Arg::Given(criterion) = arg else { continue };
            let ExprKind::Map(entries) = &criterion.kind else {
                self.expr(criterion, dialect);
                self.error(
                    Diagnostic::error(Code::Type, criterion.span, format!("each criterion of `{full}` is a map"))
                        .label("not a map")
                        .help("write `{'group.profile.name': 'Sales'}` or `{'group.id': {'00g1', '00g2'}}`"),
                );
                continue;
            };
            let mut field: Option<(&'static str, Node, Span)> = None;
            let mut operator: Option<(String, Span)> = None;
            for entry in entries {
                match entry.key.as_str() {
                    key @ ("group.profile.name" | "group.id") => {
                        let (node, _) = self.expr(&entry.value, dialect);
                        let name = if key == "group.id" { "id" } else { "name" };
                        if let Some((_, _, first)) = &field {
                            let first = *first;
                            self.error(
                                Diagnostic::error(Code::Type, entry.key_span, "a criterion matches one property")
                                    .label("second property")
                                    .secondary(first, "first property")
                                    .help("put each property in its own map: `user.isMemberOf({'group.id': '00g1'}, {'group.profile.name': 'Sales'})` (both must hold)"),
                            );
                        } else {
                            field = Some((name, node, entry.key_span));
                        }
                    }
                    "operator" => match &entry.value.kind {
                        ExprKind::Str(op) if op == "EXACT" || op == "STARTS_WITH" => {
                            operator = Some((op.clone(), entry.value.span));
                        }
                        _ => self.error(
                            Diagnostic::error(Code::Type, entry.value.span, "the operator is 'EXACT' or 'STARTS_WITH'")
                                .label("not an operator")
                                .help("write 'operator': 'EXACT' for whole names; without it names match by prefix"),
                        ),
                    },
                    key @ ("group.type" | "group.source.id") => self.error(
                        Diagnostic::error(Code::TenantOnlyFunction, entry.key_span, format!("`{key}` is known only inside an Okta tenant"))
                            .label("not available to scimsync")
                            .help("scimsync knows each group's name (and id, from Okta exports): match on 'group.profile.name' or 'group.id'"),
                    ),
                    other => {
                        let mut d = Diagnostic::error(Code::UnknownName, entry.key_span, format!("`{other}` is not a group criterion"))
                            .label("unknown key");
                        d = match did_you_mean(other, CRITERION_KEYS.iter().copied()) {
                            Some(s) => d.help(format!("did you mean `{s}`?")),
                            None => d.help("a criterion uses 'group.profile.name' (with an optional 'operator') or 'group.id'"),
                        };
                        self.error(d);
                    }
                }
            }
            match (field, operator) {
                (None, _) => {
                    if self.diagnostics.len() == before {
                        self.error(
                            Diagnostic::error(
                                Code::Type,
                                criterion.span,
                                "this criterion names no group property",
                            )
                            .label("nothing to match")
                            .help("add 'group.profile.name' or 'group.id'"),
                        );
                    }
                }
                (Some(("id", _, _)), Some((_, span))) => self.error(
                    Diagnostic::error(
                        Code::Type,
                        span,
                        "an operator applies to 'group.profile.name' only",
                    )
                    .label("ids match exactly"),
                ),
                (Some((name, node, _)), operator) => {
                    let operator = operator.map_or("STARTS_WITH".to_owned(), |(op, _)| op);
                    criteria.push(Some(Node::List(vec![
                        Node::Const(Value::from(name)),
                        node,
                        Node::Const(Value::Str(if name == "id" {
                            "EXACT".to_owned()
                        } else {
                            operator
                        })),
                    ])));
                }
            }
        }
        if self.diagnostics.len() > before {
            return null;
        }
        self.okta_call(function, criteria, e.span)
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
            let problem = match kind {
                Kind::Regex => Pattern::new(text, Anchoring::Whole).err(),
                Kind::Zone => joda::zone(text).is_none().then(|| {
                    format!("\"{text}\" is not a time-zone id; use an IANA id like \"America/New_York\" or \"Etc/UTC\"")
                }),
                Kind::Pattern => joda::check_pattern(text).err(),
            };
            if let Some(problem) = problem {
                let label = match kind {
                    Kind::Regex => "not a valid regular expression",
                    Kind::Zone => "unknown time zone",
                    Kind::Pattern => "not a Joda date-time pattern",
                };
                self.error(Diagnostic::error(Code::Type, *span, problem).label(label));
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
