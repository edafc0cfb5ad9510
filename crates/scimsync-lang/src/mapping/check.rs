//! The checker: resolves names, paths and functions in a syntax tree, checks arity, types,
//! allowed values and the file's structure, and lowers what it checked into a [`Plan`].
//!
//! It reports every error in one pass. A node that fails to resolve becomes a null constant
//! and is not reported again, so one mistake produces one diagnostic.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::Dialect;
use super::diagnostic::{Code, Diagnostic, did_you_mean};
use super::functions::{self, Ty};
use super::pattern::{Anchoring, Pattern};
use super::plan::{
    ExprPlan, Extension, Facts, FallibleRule, Flow, Node, Op, Plan, PlannedRule, TargetType,
};
use super::source::{SourceFile, Span};
use super::syntax::*;
use crate::record::AttrName;
use crate::scim::path::{AttrPath, FilterValue, ValueFilter};
use crate::scim::schema::{self, AttrType, PathProblem};
use crate::value::Value;

mod okta;
mod vocabulary;

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
        checker.select_unique_nested(expr);
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

/// The longest expression Entra's attribute mappings accept, in characters.
pub const ENTRA_MAX_EXPRESSION_CHARS: usize = 10_000;

/// An Entra expression longer than Entra accepts: an error at the first character past the
/// limit. `text` is the source the expression's span points into.
pub fn entra_length(expr: &Expr, text: &str) -> Option<Diagnostic> {
    let written = text.get(expr.span.start..expr.span.end)?;
    let (past, _) = written.char_indices().nth(ENTRA_MAX_EXPRESSION_CHARS)?;
    let length = written.chars().count();
    Some(
        Diagnostic::error(
            Code::ExpressionTooLong,
            Span::new(expr.span.start + past, expr.span.end),
            format!(
                "the expression is {length} characters long; Entra accepts at most {ENTRA_MAX_EXPRESSION_CHARS}"
            ),
        )
        .label("past Entra's limit")
        .help("Entra refuses the mapping: split the logic across rules, or compute the value in the directory"),
    )
}

/// Entra's function that must be a rule's whole expression.
const SELECT_UNIQUE_VALUE: &str = "SelectUniqueValue";

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
    fn error(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// Notes why the expression being checked can fail at run time.
    fn risk(&mut self, why: impl Into<String>) {
        self.risks.insert(why.into());
    }

    fn file(&mut self, file: &MapFile, source: &SourceFile) -> Option<Plan> {
        let mut target_name: Option<(String, Span)> = None;
        let mut extensions: Vec<(Extension, Span)> = Vec::new();
        let mut match_decl: Option<(&PathSyntax, Span)> = None;
        let mut scope_decl: Option<(&Expr, Dialect, Span)> = None;
        let mut rules = Vec::new();
        let mut group_statements = Vec::new();

        for statement in &file.statements {
            match statement {
                Statement::Dialect { .. } => {}
                Statement::Target { name, span } => {
                    if let Some((_, first)) = &target_name {
                        self.duplicate("target", *span, *first);
                    } else {
                        target_name = Some((name.clone(), *span));
                    }
                }
                Statement::Extension {
                    alias,
                    urn,
                    urn_span,
                    span,
                } => {
                    if let Some((_, first)) = extensions.iter().find(|(e, _)| e.alias == alias.name)
                    {
                        let first = *first;
                        self.error(
                            Diagnostic::error(
                                Code::DuplicateStatement,
                                alias.span,
                                format!("extension alias `{}` is declared twice", alias.name),
                            )
                            .label("declared again here")
                            .secondary(first, "first declared here"),
                        );
                    } else if alias.name.eq_ignore_ascii_case("urn") {
                        self.error(
                            Diagnostic::error(
                                Code::BadOption,
                                alias.span,
                                "`urn` cannot be an extension alias",
                            )
                            .label("reserved")
                            .help("paths that start with `urn:` are full URNs; pick another alias"),
                        );
                    } else if !urn.starts_with("urn:") || urn.ends_with(':') {
                        self.error(
                            Diagnostic::error(
                                Code::UnknownExtension,
                                *urn_span,
                                format!("`{urn}` is not a schema URN"),
                            )
                            .label("expected `urn:…`")
                            .help("copy the extension's schema URN from the provider's guide, e.g. `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`"),
                        );
                    } else {
                        extensions.push((
                            Extension {
                                alias: alias.name.clone(),
                                urn: urn.clone(),
                            },
                            *span,
                        ));
                    }
                }
                Statement::Match { path, span } => {
                    if let Some((_, first)) = match_decl {
                        self.duplicate("match", *span, first);
                    } else {
                        match_decl = Some((path, *span));
                    }
                }
                Statement::Scope {
                    expr,
                    dialect,
                    span,
                } => {
                    if let Some((_, _, first)) = scope_decl {
                        self.duplicate("scope", *span, first);
                    } else {
                        scope_decl = Some((expr, *dialect, *span));
                    }
                }
                Statement::Rule(rule) => rules.push(rule),
                Statement::Group(group) => group_statements.push(group),
            }
        }
        let groups = self.group_rules(&group_statements, source);

        let extensions: Vec<Extension> = extensions.into_iter().map(|(e, _)| e).collect();
        let scope_line = scope_decl.map_or(0, |(_, _, span)| source.line_col(span.start).line);
        self.risks.clear();
        let scope = scope_decl.map(|(expr, dialect, _)| {
            let errors_before = self.diagnostics.len();
            let (node, ty) = self.expr(expr, dialect);
            if !matches!(ty, Ty::Bool | Ty::Any) {
                self.error(
                    Diagnostic::error(
                        Code::Type,
                        expr.span,
                        format!("the scope must be a condition, but this is {}", ty.name()),
                    )
                    .label("not true or false")
                    .help("write a condition such as `user.status == \"ACTIVE\"`"),
                );
            } else if self.diagnostics.len() == errors_before
                && constant_truth(&node) == Some(false)
            {
                // A failed name became a null constant: only judge scopes that checked clean.
                self.error(
                    Diagnostic::error(
                        Code::ScopeNeverTrue,
                        expr.span,
                        "this scope is false for every user",
                    )
                    .label("never true")
                    .help("no user would be provisioned and every managed user would be deactivated; fix the condition or remove `scope`"),
                );
            }
            node
        });
        let scope_risks: Vec<FallibleRule> = if self.risks.is_empty() {
            Vec::new()
        } else {
            vec![FallibleRule {
                path: None,
                line: scope_line,
                reasons: std::mem::take(&mut self.risks).into_iter().collect(),
            }]
        };

        let mut planned: Vec<PlannedRule> = Vec::new();
        let mut written: HashMap<AttrPath, Span> = HashMap::new();
        let mut fallible_rules = scope_risks;
        for rule in rules {
            let Some((path, schema_type)) = self.resolve_path(&rule.target, &extensions, true)
            else {
                // Still check the expression, for its own errors. The path may be a misspelt
                // `userName` or match attribute: do not also report those as missing.
                self.complete = false;
                self.expr(&rule.expr, rule.dialect);
                continue;
            };
            if let Some(first) = written.get(&path) {
                let first = *first;
                self.error(
                    Diagnostic::error(
                        Code::DuplicatePath,
                        rule.target.span,
                        format!("`{}` is written by two rules", rule.target),
                    )
                    .label("written again here")
                    .secondary(first, "first written here")
                    .help("keep one rule per SCIM path; combine the logic with a conditional"),
                );
            } else {
                written.insert(path.clone(), rule.target.span);
            }
            self.risks.clear();
            if let Some(planned_rule) = self.rule(
                rule,
                path,
                schema_type,
                source.line_col(rule.span.start).line,
            ) {
                if rule.dialect == Dialect::Entra {
                    self.select_unique_placement(&rule.expr, planned_rule.flow);
                    if let Some(too_long) = entra_length(&rule.expr, &source.text) {
                        self.error(too_long);
                    }
                }
                if !self.risks.is_empty() {
                    fallible_rules.push(FallibleRule {
                        path: Some(AttrPath::clone(&planned_rule.path)),
                        line: planned_rule.line,
                        reasons: std::mem::take(&mut self.risks).into_iter().collect(),
                    });
                }
                planned.push(planned_rule);
            }
        }

        let match_path = match match_decl {
            Some((path, span)) => {
                let resolved = self.resolve_path(path, &extensions, false).map(|(p, _)| p);
                if let Some(p) = &resolved
                    && self.complete
                    && !written.contains_key(p)
                {
                    self.error(
                        Diagnostic::error(
                            Code::Missing,
                            span,
                            format!("no rule writes `{p}`, the match attribute"),
                        )
                        .label("matched on this attribute")
                        .help(format!(
                            "add a rule `{p} <- ...` so each user has a value to match on"
                        )),
                    );
                }
                resolved
            }
            None => Some(AttrPath::core("userName")),
        };
        if let Some(m) = &match_path {
            let unique = planned.iter().find(|r| {
                *r.path == *m
                    && matches!(&r.expr, Node::Call { function, .. } if function.name == "SelectUniqueValue")
            });
            if let (Some(_), Some(span)) = (unique, written.get(m)) {
                self.error(
                    Diagnostic::error(Code::Placement, *span, format!("`SelectUniqueValue` cannot write `{m}`, the match attribute"))
                        .label("the match attribute")
                        .help("Entra does not allow it on a matching attribute: match users on another one, e.g. `match externalId` with `externalId <- [objectId]`"),
                );
            }
        }
        if self.complete && !written.keys().any(|p| p.is_core("userName")) {
            let at = file
                .statements
                .first()
                .map_or(Span::default(), Statement::span);
            self.error(
                Diagnostic::error(Code::Missing, Span::new(at.start, at.start), "no rule writes `userName`")
                    .label("every SCIM user needs a userName")
                    .help("add a rule such as `userName <- user.email` (Okta) or `userName <- [userPrincipalName]` (Entra)"),
            );
        }

        let facts = Facts {
            reads: std::mem::take(&mut self.reads),
            reads_groups: self.reads_groups,
            writes: planned.iter().map(|r| AttrPath::clone(&r.path)).collect(),
            fallible: fallible_rules,
        };
        Some(Plan {
            file: source.name.clone(),
            scope_line,
            target_name: target_name.map(|(n, _)| n),
            extensions,
            match_path: match_path?,
            scope,
            rules: planned,
            facts,
            groups,
            warnings: Vec::new(),
        })
    }

    /// `group` and `groups matching` statements: regexes compile, a name is pushed once.
    fn group_rules(
        &mut self,
        statements: &[&super::syntax::GroupStatement],
        source: &SourceFile,
    ) -> Vec<super::plan::GroupRule> {
        use super::plan::{GroupRule, GroupSelect};
        let mut named: HashMap<String, Span> = HashMap::new();
        let mut rules = Vec::new();
        for statement in statements {
            let select = if statement.matching {
                match regex::Regex::new(&statement.pattern) {
                    Ok(regex) => GroupSelect::Matching(regex),
                    Err(e) => {
                        self.error(
                            Diagnostic::error(
                                Code::BadOption,
                                statement.pattern_span,
                                "this is not a valid regular expression",
                            )
                            .label(
                                e.to_string()
                                    .lines()
                                    .last()
                                    .unwrap_or("invalid")
                                    .trim()
                                    .to_owned(),
                            )
                            .help("`groups matching` takes a regular expression, e.g. \"^b44-\""),
                        );
                        continue;
                    }
                }
            } else {
                let key = statement.pattern.to_lowercase();
                if let Some(first) = named.get(&key) {
                    let first = *first;
                    self.error(
                        Diagnostic::error(
                            Code::DuplicateStatement,
                            statement.pattern_span,
                            format!("group \"{}\" is pushed twice", statement.pattern),
                        )
                        .label("pushed again here")
                        .secondary(first, "first pushed here"),
                    );
                    continue;
                }
                named.insert(key, statement.pattern_span);
                GroupSelect::Named(statement.pattern.clone())
            };
            if statement.matching && statement.display_name.is_some() {
                self.error(
                    Diagnostic::error(
                        Code::BadOption,
                        statement.span,
                        "`as` would give every matching group the same displayName",
                    )
                    .label("several groups, one name")
                    .help("push the group by name: `group \"NAME\" as \"Display name\"`"),
                );
                continue;
            }
            rules.push(GroupRule {
                select,
                display_name: statement.display_name.clone(),
                external_id: statement.external_id.clone(),
                line: source.line_col(statement.span.start).line,
            });
        }
        rules
    }

    fn duplicate(&mut self, what: &str, span: Span, first: Span) {
        self.error(
            Diagnostic::error(
                Code::DuplicateStatement,
                span,
                format!("`{what}` may appear only once"),
            )
            .label("appears again here")
            .secondary(first, "first here"),
        );
    }

    /// Resolves a written path to an [`AttrPath`], with the schema type of its leaf when the
    /// schema is known.
    fn resolve_path(
        &mut self,
        path: &PathSyntax,
        extensions: &[Extension],
        for_writing: bool,
    ) -> Option<(AttrPath, Option<AttrType>)> {
        let filter = path.filter.as_ref().map(|(attr, constant)| ValueFilter {
            attr: attr.clone(),
            value: match &constant.value {
                Value::Bool(b) => FilterValue::Bool(*b),
                other => FilterValue::Str(crate::mapping::eval::entra_text(other)),
            },
        });
        let (schema, name, sub) = match &path.prefix {
            PathPrefix::Core => (None, path.name.clone(), path.sub.clone()),
            PathPrefix::Alias(alias) => {
                let urn = extensions
                    .iter()
                    .find(|e| e.alias == alias.name)
                    .map(|e| e.urn.clone())
                    .or_else(|| {
                        (alias.name == ENTERPRISE_ALIAS).then(|| schema::ENTERPRISE_USER.to_owned())
                    });
                let Some(urn) = urn else {
                    let names: Vec<&str> = extensions.iter().map(|e| e.alias.as_str()).collect();
                    let mut d = Diagnostic::error(
                        Code::UnknownExtension,
                        alias.span,
                        format!("unknown extension alias `{}`", alias.name),
                    )
                    .label("not declared");
                    d = match did_you_mean(
                        &alias.name,
                        names.iter().copied().chain([ENTERPRISE_ALIAS]),
                    ) {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None => d.help(format!(
                            "declare it first: `extension {} = \"urn:…\"`",
                            alias.name
                        )),
                    };
                    self.error(d);
                    return None;
                };
                (Some(urn), path.name.clone(), path.sub.clone())
            }
            PathPrefix::Urn(raw) => {
                let known = extensions
                    .iter()
                    .map(|e| e.urn.as_str())
                    .chain([schema::ENTERPRISE_USER, schema::CORE_USER]);
                let found = known
                    .filter(|urn| {
                        raw.len() > urn.len() + 1
                            && raw[..urn.len()].eq_ignore_ascii_case(urn)
                            && raw.as_bytes()[urn.len()] == b':'
                    })
                    .max_by_key(|urn| urn.len());
                let Some(urn) = found else {
                    let whole_urn = extensions.iter().any(|e| e.urn.eq_ignore_ascii_case(raw));
                    let d = Diagnostic::error(
                        Code::UnknownExtension,
                        path.span,
                        "this path's schema is not declared",
                    )
                    .label("unknown schema URN");
                    self.error(if whole_urn {
                        d.help("a path names an attribute inside the schema: add `:attributeName` after the URN")
                    } else {
                        d.help("declare the extension first: `extension short = \"urn:…\"`, then write `short:attribute`")
                    });
                    return None;
                };
                let rest = &raw[urn.len() + 1..];
                let (name, sub) = match rest.split_once('.') {
                    Some((n, s)) => (n.to_owned(), Some(s.to_owned())),
                    None => (rest.to_owned(), None),
                };
                let schema = (!urn.eq_ignore_ascii_case(schema::CORE_USER)).then(|| urn.to_owned());
                (schema, name, sub)
            }
        };
        let resolved = AttrPath {
            schema,
            name,
            filter,
            sub,
        };
        let Some(known) = schema::known_attributes(resolved.schema.as_deref()) else {
            return Some((resolved, None));
        };
        match schema::resolve(known, &resolved) {
            Ok(def) => Some((resolved, Some(def.ty))),
            Err(PathProblem::ReadOnly { attribute }) if for_writing => {
                self.error(
                    Diagnostic::error(Code::ReadOnlyPath, path.span, format!("`{attribute}` is read-only in SCIM"))
                        .label("the service provider sets this")
                        .help("remove this rule; group membership is pushed with group rules, `id` is assigned by the target"),
                );
                None
            }
            Err(PathProblem::ReadOnly { .. }) => Some((resolved, None)),
            // Entra's `AppRoleAssignmentsComplex` writes every role, whole, to `roles`.
            Err(PathProblem::MissingSubAttribute { attribute, .. })
                if for_writing && attribute == "roles" && resolved.schema.is_none() =>
            {
                Some((resolved, Some(AttrType::Complex)))
            }
            Err(problem) => {
                let (message, candidates) = match problem {
                    PathProblem::UnknownAttribute { candidates } => (
                        format!(
                            "`{}` is not {} attribute",
                            resolved.name,
                            if resolved.schema.is_some() {
                                "an enterprise User"
                            } else {
                                "a core User"
                            }
                        ),
                        candidates,
                    ),
                    PathProblem::UnknownSubAttribute {
                        attribute,
                        candidates,
                    } => (
                        format!(
                            "`{attribute}` has no sub-attribute `{}`",
                            resolved.sub.as_deref().unwrap_or_default()
                        ),
                        candidates,
                    ),
                    PathProblem::FilterOnSingleValued { attribute } => (
                        format!(
                            "`{attribute}` has a single value; a `[...]` filter needs a multi-valued attribute"
                        ),
                        Vec::new(),
                    ),
                    PathProblem::MissingSubAttribute {
                        attribute,
                        candidates,
                    } => (
                        format!("`{attribute}` is complex: name one of its sub-attributes"),
                        candidates,
                    ),
                    PathProblem::NotComplex { attribute } => {
                        (format!("`{attribute}` has no sub-attributes"), Vec::new())
                    }
                    PathProblem::ReadOnly { .. } => unreachable!("handled above"),
                };
                let wrong = resolved
                    .sub
                    .as_deref()
                    .filter(|_| resolved.sub.is_some())
                    .unwrap_or(&resolved.name);
                let mut d = Diagnostic::error(Code::UnknownPath, path.span, message)
                    .label("not in the schema");
                if let Some(s) = did_you_mean(wrong, candidates.iter().copied()) {
                    d = d.help(format!("did you mean `{s}`?"));
                } else if !candidates.is_empty() && candidates.len() <= 8 {
                    d = d.help(format!("one of: {}", candidates.join(", ")));
                }
                self.error(d);
                None
            }
        }
    }

    fn rule(
        &mut self,
        rule: &AttributeRule,
        path: AttrPath,
        schema_type: Option<AttrType>,
        line: usize,
    ) -> Option<PlannedRule> {
        let (expr, ty) = self.expr(&rule.expr, rule.dialect);
        let shown = rule.target.to_string();
        let mut flow: Option<(Flow, Span)> = None;
        let mut default: Option<&Constant> = None;
        let mut one_of: Option<(&[Constant], Span)> = None;
        let mut declared_type: Option<(TargetType, Span)> = None;
        for option in &rule.options {
            match option {
                RuleOption::OnCreate(span) | RuleOption::Always(span) => {
                    let this = if matches!(option, RuleOption::OnCreate(_)) {
                        Flow::OnCreate
                    } else {
                        Flow::Always
                    };
                    if let Some((_, first)) = flow {
                        self.error(
                            Diagnostic::error(
                                Code::BadOption,
                                *span,
                                "a rule is either `always` or `on create`, once",
                            )
                            .label("conflicts")
                            .secondary(first, "already set here"),
                        );
                    } else {
                        flow = Some((this, *span));
                    }
                }
                RuleOption::Default(constant) => {
                    if default.is_some() {
                        self.error(
                            Diagnostic::error(
                                Code::BadOption,
                                constant.span,
                                "`default` is given twice",
                            )
                            .label("again"),
                        );
                    }
                    default = Some(constant);
                }
                RuleOption::OneOf { values, span } => {
                    if one_of.is_some() {
                        self.error(
                            Diagnostic::error(Code::BadOption, *span, "`one of` is given twice")
                                .label("again"),
                        );
                    }
                    one_of = Some((values, *span));
                }
                RuleOption::As(name) => match TargetType::from_name(&name.name) {
                    Some(t) => declared_type = Some((t, name.span)),
                    None => {
                        let mut d = Diagnostic::error(
                            Code::BadOption,
                            name.span,
                            format!("unknown type `{}`", name.name),
                        )
                        .label("not a type");
                        d = match did_you_mean(&name.name, ["string", "integer", "boolean"]) {
                            Some(s) => d.help(format!("did you mean `{s}`?")),
                            None => d.help("write `as string`, `as integer` or `as boolean`"),
                        };
                        self.error(d);
                    }
                },
            }
        }

        let schema_target = schema_type.and_then(|t| match t {
            AttrType::Boolean => Some(TargetType::Boolean),
            AttrType::Integer => Some(TargetType::Integer),
            AttrType::String | AttrType::Reference | AttrType::DateTime | AttrType::Binary => {
                Some(TargetType::String)
            }
            AttrType::Decimal | AttrType::Complex => None,
        });
        let target_type = declared_type.map(|(t, _)| t).or(schema_target);

        // `as` must agree with the schema: `active <- x as integer` would send a number where
        // the target expects true or false.
        if let (Some((declared, span)), Some(schema)) = (declared_type, schema_target)
            && declared != schema
        {
            self.error(
                Diagnostic::error(
                    Code::TargetType,
                    span,
                    format!(
                        "`{shown}` is {} attribute, but this rule converts to {}",
                        article(schema),
                        article(declared)
                    ),
                )
                .label(format!("converts to {}", article(declared)))
                .secondary(
                    rule.target.span,
                    format!("{} in the SCIM schema", article(schema)),
                )
                .help(format!("write `as {}`, or remove `as`", schema.name())),
            );
        }

        // A true/false result never becomes a number, asked for or not.
        if ty == Ty::Bool && target_type == Some(TargetType::Integer) {
            let mut d = Diagnostic::error(
                Code::TargetType,
                rule.expr.span,
                format!("this rule produces true or false, but `{shown}` is an integer"),
            )
            .label("a boolean")
            .help("produce numbers in both branches, e.g. `c ? 1 : 0`");
            d = match declared_type {
                Some((_, span)) => d.secondary(span, "converted to an integer here"),
                None => d.secondary(rule.target.span, "integer attribute"),
            };
            self.error(d);
        }
        // A string-valued rule into a non-string attribute is a mistake unless asked for.
        if let (Some(target), None) = (target_type, declared_type)
            && ty == Ty::Str
            && target != TargetType::String
        {
            self.error(
                Diagnostic::error(
                    Code::TargetType,
                    rule.expr.span,
                    format!(
                        "this rule produces a string, but `{shown}` is {}",
                        article(target)
                    ),
                )
                .label("a string")
                .secondary(rule.target.span, format!("{} attribute", target.name()))
                .help(format!(
                    "convert it explicitly: add `as {}` after the expression",
                    target.name()
                )),
            );
        }

        let allowed: Option<Vec<Value>> = one_of.map(|(values, _)| {
            values
                .iter()
                .map(|c| {
                    target_type
                        .and_then(|t| t.convert(c.value.clone()).ok())
                        .unwrap_or_else(|| c.value.clone())
                })
                .collect()
        });

        // Constant results must fit the target type and the allowed values.
        let mut leaves = Vec::new();
        constant_leaves(&rule.expr, rule.dialect, &mut leaves);
        let default_leaf = default.map(|c| (c.value.clone(), c.span));
        for (value, span) in leaves.into_iter().chain(default_leaf.clone()) {
            if value.is_null() {
                continue;
            }
            let converted = match target_type {
                Some(t) => match t.convert(value.clone()) {
                    Ok(v) => v,
                    Err(why) => {
                        self.error(
                            Diagnostic::error(
                                Code::TargetType,
                                span,
                                format!("`{shown}` takes {}: {why}", article(t)),
                            )
                            .label(format!("not {}", article(t)))
                            .secondary(rule.target.span, format!("{} attribute", t.name())),
                        );
                        continue;
                    }
                },
                None => value,
            };
            if let (Some(allowed), Some((_, one_of_span))) = (&allowed, one_of)
                && !allowed.contains(&converted)
            {
                let list = allowed
                    .iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                self.error(
                    Diagnostic::error(
                        Code::EnumViolation,
                        span,
                        format!("{converted} is not an allowed value for `{shown}`"),
                    )
                    .label("this value can be produced")
                    .secondary(one_of_span, "allowed values declared here")
                    .help(format!("allowed: {list}")),
                );
            }
        }

        // Only results whose static type may not convert can fail here (an attribute may
        // hold a list, a string may not be a number).
        let converts_surely = match target_type {
            Some(TargetType::String) => matches!(ty, Ty::Str | Ty::Int | Ty::Num | Ty::Bool),
            Some(TargetType::Integer) => ty == Ty::Int,
            Some(TargetType::Boolean) => ty == Ty::Bool,
            None => true,
        };
        if let (Some(t), false) = (target_type, converts_surely) {
            self.risk(format!("the result must convert to {}", article(t)));
        }
        if allowed.is_some() {
            self.risk("the result must be one of the allowed values");
        }
        Some(PlannedRule {
            path: Arc::new(path),
            written: shown,
            redacted: expr.redacts(),
            expr,
            flow: flow.map_or(Flow::Always, |(f, _)| f),
            default: default_leaf.map(|(v, _)| v),
            one_of: allowed,
            target_type,
            line,
        })
    }

    /// Resolves and checks one expression: the node to evaluate and its static type.
    fn expr(&mut self, e: &Expr, dialect: Dialect) -> (Node, Ty) {
        let null = (Node::Const(Value::Null), Ty::Any);
        match &e.kind {
            ExprKind::Null => null,
            ExprKind::Bool(b) => (Node::Const(Value::Bool(*b)), Ty::Bool),
            ExprKind::Int(i) => (Node::Const(Value::Int(*i)), Ty::Int),
            ExprKind::Float(f) => (Node::Const(Value::Float(*f)), Ty::Num),
            ExprKind::Str(s) => (Node::Const(Value::Str(s.clone())), Ty::Str),
            ExprKind::Attr(name) => (self.source_attribute(name, e.span, dialect), Ty::Any),
            ExprKind::Name(name) => self.bare_name(name, e.span, dialect),
            ExprKind::Member { .. } => self.member(e, dialect),
            ExprKind::Call {
                receiver,
                name,
                args,
            } => self.call(e, receiver.as_deref(), name, args, dialect),
            ExprKind::Index { object, index } => {
                let (object, _) = self.expr(object, dialect);
                let (index, _) = self.expr(index, dialect);
                self.risk("an index can be out of range");
                (
                    Node::Index {
                        object: Box::new(object),
                        index: Box::new(index),
                        span: e.span,
                    },
                    Ty::Any,
                )
            }
            ExprKind::List(items) => {
                let nodes = items.iter().map(|i| self.expr(i, dialect).0).collect();
                (Node::List(nodes), Ty::List)
            }
            ExprKind::Map(_) => self.okta_stray_map(e),
            ExprKind::Unary { op, operand } => {
                let (node, ty) = self.expr(operand, dialect);
                match op {
                    UnaryOp::Not if ty != Ty::Bool => self.risk("`!` needs true or false"),
                    UnaryOp::Neg if !matches!(ty, Ty::Int | Ty::Num) => {
                        self.risk("`-` needs a number")
                    }
                    _ => {}
                }
                match op {
                    UnaryOp::Not => (Node::Not(Box::new(node), e.span), Ty::Bool),
                    UnaryOp::Neg => (Node::Neg(Box::new(node), e.span), Ty::Num),
                    UnaryOp::Plus => self.okta_unary_plus(node, e.span),
                }
            }
            ExprKind::Binary {
                op,
                op_span,
                lhs,
                rhs,
            } => self.binary(e, *op, *op_span, lhs, rhs, dialect),
            ExprKind::Conditional {
                cond,
                then,
                otherwise,
            } => {
                let (cond, cond_ty) = self.expr(cond, dialect);
                let (then, then_ty) = self.expr(then, dialect);
                let (otherwise, else_ty) = self.expr(otherwise, dialect);
                if cond_ty != Ty::Bool {
                    self.risk("a condition can be null or not true/false");
                }
                let ty = if then_ty == else_ty { then_ty } else { Ty::Any };
                (
                    Node::Conditional {
                        cond: Box::new(cond),
                        then: Box::new(then),
                        otherwise: Box::new(otherwise),
                        span: e.span,
                    },
                    ty,
                )
            }
            ExprKind::Elvis { value, fallback } => {
                let (value, value_ty) = self.expr(value, dialect);
                let (fallback, fallback_ty) = self.expr(fallback, dialect);
                let ty = if value_ty == fallback_ty {
                    value_ty
                } else {
                    Ty::Any
                };
                (Node::Elvis(Box::new(value), Box::new(fallback)), ty)
            }
        }
    }

    fn bare_name(&mut self, name: &str, span: Span, dialect: Dialect) -> (Node, Ty) {
        let null = (Node::Const(Value::Null), Ty::Any);
        match dialect {
            Dialect::Entra if ENTRA_CONSTANTS.contains(&name) => {
                (Node::Const(Value::from(name)), Ty::Str)
            }
            Dialect::Entra => {
                let mut d =
                    Diagnostic::error(Code::UnknownName, span, format!("unknown name `{name}`"))
                        .label("not an attribute or constant");
                d = match did_you_mean(name, ENTRA_CONSTANTS.iter().copied()) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d.help(format!(
                        "Entra attributes are written in brackets: `[{name}]`"
                    )),
                };
                self.error(d);
                null
            }
            Dialect::Okta | Dialect::Okta2 if is_bare_attribute(name) => {
                self.bare_okta_attribute(name, span, dialect)
            }
            Dialect::Okta | Dialect::Okta2 => {
                let help = if name == "user" {
                    "`user` is the whole user; name an attribute, e.g. `user.email`".to_owned()
                } else if OKTA_NAMESPACES.contains(&name) {
                    format!(
                        "`{name}` is a function namespace; call one of its functions, e.g. `String.toLowerCase(user.email)`"
                    )
                } else if let Some(s) = did_you_mean(name, ["user"]) {
                    format!("did you mean `{s}`?")
                } else {
                    format!("Okta reads attributes from the user: write `user.{name}`")
                };
                self.error(
                    Diagnostic::error(Code::UnknownName, span, format!("`{name}` is not a value"))
                        .label("cannot be used here")
                        .help(help),
                );
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
        self.error(
            Diagnostic::warning(
                Code::UnknownName,
                span,
                format!("`{name}` is read as `{explicit}`"),
            )
            .label("a bare name")
            .help(format!(
                "Okta's samples write bare names for the user's attributes; write `{explicit}` to say so"
            )),
        );
        (self.source_attribute(name, span, dialect), Ty::Any)
    }

    /// `user.a.b` → the record attribute `a.b`.
    fn member(&mut self, e: &Expr, dialect: Dialect) -> (Node, Ty) {
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
                self.error(
                    Diagnostic::error(
                        Code::UnknownName,
                        e.span,
                        format!("`{root}.{}` is a function", names.join(".")),
                    )
                    .label("missing its arguments")
                    .help(format!("call it: `{root}.{}(...)`", names.join("."))),
                );
                null
            }
            _ => {
                let before = self.diagnostics.len();
                self.expr(cursor, dialect);
                if self.diagnostics.len() > before {
                    // The object already failed; one diagnostic is enough.
                    return null;
                }
                self.error(
                    Diagnostic::error(
                        Code::UnknownName,
                        e.span,
                        "properties can only be read from `user`",
                    )
                    .label("not an attribute of the user")
                    .help("write the attribute as `user.name`"),
                );
                null
            }
        }
    }

    fn call(
        &mut self,
        e: &Expr,
        receiver: Option<&Expr>,
        name: &Ident,
        args: &[Arg],
        dialect: Dialect,
    ) -> (Node, Ty) {
        let null = (Node::Const(Value::Null), Ty::Any);
        let full_name = match receiver.map(|r| &r.kind) {
            None => name.name.clone(),
            Some(ExprKind::Name(ns))
                if dialect.is_spel() && OKTA_NAMESPACES.contains(&ns.as_str()) =>
            {
                format!("{ns}.{}", name.name)
            }
            Some(ExprKind::Name(root))
                if dialect.is_spel() && root == "user" && name.name == "getInternalProperty" =>
            {
                return self.internal_property(e, args);
            }
            Some(ExprKind::Name(root))
                if dialect.is_spel() && okta::is_group_query(root, &name.name) =>
            {
                return self.okta_group_query(e, &name.name, args, dialect);
            }
            Some(ExprKind::Name(root)) if dialect.is_spel() && root == "user" => {
                format!("user.{}", name.name)
            }
            Some(ExprKind::Name(root)) if dialect == Dialect::Okta2 && root == "DateTime" => {
                return self.okta_static_method(e, name, args);
            }
            Some(_) if dialect == Dialect::Okta2 => {
                return match receiver {
                    Some(r) => self.okta_method(e, r, name, args),
                    None => null,
                };
            }
            Some(_) => {
                let before = self.diagnostics.len();
                if let Some(r) = receiver {
                    self.expr(r, dialect);
                }
                if self.diagnostics.len() > before {
                    // The value already failed; one diagnostic is enough.
                    return null;
                }
                self.error(
                    Diagnostic::error(Code::WrongDialect, name.span, format!("`.{}()` is a method call on a value", name.name))
                        .label("method calls are Okta Identity Engine syntax")
                        .help(format!(
                            "classic Okta EL calls functions with the value as argument, e.g. `String.{}(value, ...)`; for Identity Engine expressions write `dialect okta2`",
                            name.name
                        )),
                );
                return null;
            }
        };
        let span_of_name = receiver.map_or(name.span, |r| r.span.to(name.span));
        if dialect.is_spel() && full_name == "T" {
            self.error(
                Diagnostic::error(
                    Code::WrongDialect,
                    e.span,
                    "type references `T(...)` are SpEL, but Okta expressions do not support them",
                )
                .label("not supported")
                .help("use the String, Arrays, Convert and Time functions instead"),
            );
            return null;
        }

        if let Some(why) = functions::tenant_only(dialect, &full_name) {
            self.error(
                Diagnostic::error(
                    Code::TenantOnlyFunction,
                    span_of_name,
                    format!("`{full_name}` needs an {} tenant", dialect.title()),
                )
                .label("not available outside the tenant")
                .help(format!("scimsync cannot evaluate it: {why}")),
            );
            return null;
        }
        let Some(function) = functions::lookup(dialect, &full_name) else {
            self.unknown_function(&full_name, span_of_name, dialect);
            for arg in args {
                if let Arg::Given(a) = arg {
                    self.expr(a, dialect);
                }
            }
            return null;
        };
        if !function.accepts(args.len()) {
            self.error(
                Diagnostic::error(
                    Code::Arity,
                    e.span,
                    format!(
                        "`{full_name}` takes {}, but {} {} given",
                        function.arity_text(),
                        args.len(),
                        if args.len() == 1 { "was" } else { "were" }
                    ),
                )
                .label("wrong number of arguments")
                .help(format!("call it as `{}`", function.signature)),
            );
        }
        if dialect == Dialect::Entra
            && full_name == "Switch"
            && function.accepts(args.len())
            && args.len() % 2 == 1
        {
            self.error(
                Diagnostic::error(
                    Code::Arity,
                    e.span,
                    format!("`Switch` takes keys and values in pairs, but {} arguments were given", args.len()),
                )
                .label("a key has no value")
                .help("after the source and the default, give key, value, key, value, ...; an even number in all"),
            );
        }
        let nodes = self.call_args(function, &full_name, args, 0, dialect);
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

    /// A source attribute a rule reads: noted for the plan's facts, and a warning when the
    /// name looks like a typo of a standard one.
    fn source_attribute(&mut self, name: &str, span: Span, dialect: Dialect) -> Node {
        self.reads.insert(name.to_owned());
        if let Some(meant) = vocabulary::suggestion(name, dialect) {
            self.error(
                Diagnostic::warning(
                    Code::UnknownName,
                    span,
                    format!("`{name}` is not a standard {} attribute", dialect.source_kind()),
                )
                .label("read from the source as written")
                .help(format!(
                    "did you mean `{meant}`? A custom attribute of this name is fine; a misspelt one is always null"
                )),
            );
        }
        Node::Attr(AttrName::new(name))
    }

    /// Entra `Replace`'s `regexPattern`, when it is a constant, must compile before any user
    /// is mapped.
    fn entra_replace_pattern(&mut self, args: &[Arg]) {
        if let Some(Arg::Given(Expr {
            kind: ExprKind::Str(text),
            span,
        })) = args.get(2)
            && let Err(problem) = Pattern::new(text, Anchoring::Anywhere)
        {
            self.error(
                Diagnostic::error(Code::Type, *span, problem)
                    .label("not a valid regular expression"),
            );
        }
    }

    /// Checks a call's arguments against `function`'s types; `first` is the index of the
    /// first one (1 for an EL v2 method, whose receiver is argument 0).
    fn call_args(
        &mut self,
        function: &'static functions::Function,
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
                        self.error(
                            Diagnostic::error(
                                Code::OmittedArgument,
                                *span,
                                format!("argument {position} of `{full_name}` cannot be left out"),
                            )
                            .label("empty argument")
                            .help(format!("call it as `{}`", function.signature)),
                        );
                    }
                    nodes.push(None);
                }
                Arg::Given(a) => {
                    let (node, ty) = self.expr(a, dialect);
                    let expected = function.arg_type(index);
                    if !ty.fits(expected) {
                        self.error(
                            Diagnostic::error(
                                Code::Type,
                                a.span,
                                format!(
                                    "argument {position} of `{full_name}` should be {}, but this is {}",
                                    expected.name(),
                                    ty.name()
                                ),
                            )
                            .label(ty.name())
                            .help(format!("call it as `{}`", function.signature)),
                        );
                    }
                    nodes.push(Some(node));
                }
            }
        }
        nodes
    }

    /// Entra's `SelectUniqueValue` must be a rule's whole expression, and the rule
    /// create-only: evaluated again on update, the user's own value would count as taken
    /// and the value would change on every sync.
    fn select_unique_placement(&mut self, expr: &Expr, flow: Flow) {
        let at_root = self.select_unique_nested(expr);
        if at_root && flow != Flow::OnCreate {
            self.error(
                Diagnostic::error(Code::BadOption, expr.span, format!("a `{SELECT_UNIQUE_VALUE}` rule must apply `on create` only"))
                    .label("applied on every sync")
                    .help("add `on create`: on update the user's own value would count as taken, so the value would change each run"),
            );
        }
    }

    /// Reports every `SelectUniqueValue` call nested inside another expression; returns
    /// whether the expression itself is one.
    fn select_unique_nested(&mut self, expr: &Expr) -> bool {
        let mut calls = Vec::new();
        calls_named(expr, SELECT_UNIQUE_VALUE, &mut calls);
        let at_root = calls.first() == Some(&expr.span);
        for span in calls.iter().skip(usize::from(at_root)) {
            self.error(
                Diagnostic::error(Code::Placement, *span, format!("`{SELECT_UNIQUE_VALUE}` must be the whole expression of a rule"))
                    .label("nested inside another expression")
                    .help(format!("Entra only evaluates it at the top level: `path <- {SELECT_UNIQUE_VALUE}(rule1, rule2, ...) on create`")),
            );
        }
        at_root
    }

    fn unknown_function(&mut self, name: &str, span: Span, dialect: Dialect) {
        let own = functions::table(dialect).iter().map(|f| f.name);
        let other = Dialect::ALL
            .into_iter()
            .find(|d| *d != dialect)
            .filter(|d| functions::lookup(*d, name).is_some());
        let mut d = Diagnostic::error(
            Code::UnknownFunction,
            span,
            format!("unknown function `{name}`"),
        )
        .label(format!("not an {} function", dialect.title()));
        if let Some(other) = other {
            let equivalent = equivalent(name);
            d = d.help(match equivalent {
                Some(eq) => format!(
                    "`{name}` is an {} function; in the {dialect} dialect use `{eq}`, or switch with `dialect {other}`",
                    other.title()
                ),
                None => format!("`{name}` is an {} function; switch with `dialect {other}`", other.title()),
            });
        } else if let Some(exact) = functions::table(dialect)
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
        {
            d = d.help(format!(
                "{} function names are case-sensitive: write `{}`",
                dialect.title(),
                exact.name
            ));
        } else if let Some(s) = did_you_mean(name, own) {
            d = d.help(format!("did you mean `{s}`?"));
        }
        self.error(d);
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
                self.error(
                    Diagnostic::error(Code::Type, e.span, "`getInternalProperty` takes \"id\" or \"status\"")
                        .label("unsupported property")
                        .help("write `user.getInternalProperty(\"id\")` or `user.getInternalProperty(\"status\")`"),
                );
                (Node::Const(Value::Null), Ty::Any)
            }
        }
    }

    fn binary(
        &mut self,
        e: &Expr,
        op: BinaryOp,
        op_span: Span,
        lhs: &Expr,
        rhs: &Expr,
        dialect: Dialect,
    ) -> (Node, Ty) {
        let (l, lty) = self.expr(lhs, dialect);
        let (r, rty) = self.expr(rhs, dialect);
        let (l, r) = (Box::new(l), Box::new(r));
        let span = e.span;
        let okta = dialect.is_spel();
        let compare = |typed: Op, text: Op| if okta { typed } else { text };
        let node = |op: Op, l, r| Node::Binary {
            op,
            lhs: l,
            rhs: r,
            span,
        };
        match op {
            BinaryOp::Or => {
                if lty != Ty::Bool || rty != Ty::Bool {
                    self.risk("a condition can be null or not true/false");
                }
                (Node::Or(l, r, span), Ty::Bool)
            }
            BinaryOp::And => {
                if lty != Ty::Bool || rty != Ty::Bool {
                    self.risk("a condition can be null or not true/false");
                }
                (Node::And(l, r, span), Ty::Bool)
            }
            BinaryOp::Eq => (node(compare(Op::Eq, Op::TextEq), l, r), Ty::Bool),
            BinaryOp::Ne => (node(compare(Op::Ne, Op::TextNe), l, r), Ty::Bool),
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                if okta {
                    self.risk("values of different types do not compare");
                }
                let (typed, text) = match op {
                    BinaryOp::Lt => (Op::Lt, Op::TextLt),
                    BinaryOp::Le => (Op::Le, Op::TextLe),
                    BinaryOp::Gt => (Op::Gt, Op::TextGt),
                    _ => (Op::Ge, Op::TextGe),
                };
                (node(compare(typed, text), l, r), Ty::Bool)
            }
            BinaryOp::Matches => {
                let compiled = match rhs.kind {
                    ExprKind::Str(ref pattern) => match Pattern::new(pattern, Anchoring::Whole) {
                        Ok(re) => Some(re),
                        Err(why) => {
                            self.error(
                                Diagnostic::error(Code::Type, rhs.span, why)
                                    .label("not a valid regular expression"),
                            );
                            None
                        }
                    },
                    _ => None,
                };
                (
                    Node::Matches {
                        value: l,
                        pattern: r,
                        compiled,
                        span,
                    },
                    Ty::Bool,
                )
            }
            BinaryOp::Assign => {
                self.error(
                    Diagnostic::error(
                        Code::WrongDialect,
                        op_span,
                        "`=` assigns in Okta expressions",
                    )
                    .label("not a comparison")
                    .help("compare with `==`"),
                );
                (Node::Const(Value::Null), Ty::Any)
            }
            BinaryOp::Add => {
                // With a string on either side `+` concatenates, which cannot fail.
                if lty != Ty::Str && rty != Ty::Str {
                    self.risk("`+` fails on values that neither add nor concatenate");
                }
                let ty = if lty == Ty::Str || rty == Ty::Str {
                    Ty::Str
                } else if lty == rty {
                    lty
                } else {
                    Ty::Any
                };
                (node(Op::Add, l, r), ty)
            }
            BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem | BinaryOp::Pow => {
                self.risk("arithmetic can overflow, divide by zero or meet a non-number");
                let op = match op {
                    BinaryOp::Sub => Op::Sub,
                    BinaryOp::Mul => Op::Mul,
                    BinaryOp::Div => Op::Div,
                    BinaryOp::Pow => Op::Pow,
                    _ => Op::Rem,
                };
                (node(op, l, r), if lty == rty { lty } else { Ty::Num })
            }
            BinaryOp::Concat => (node(Op::Concat, l, r), Ty::Str),
        }
    }
}

/// Functions whose result differs from call to call or depends on the outside world: an
/// expression that calls one is never constant.
const IMPURE_FUNCTIONS: &[&str] = &[
    "Now",
    "Guid",
    "RandomString",
    "SelectUniqueValue",
    "Time.now",
];

/// Whether a condition has the same truth for every user: `Some(false)` for `false`,
/// `x && false`, `"a" == "b"`; `None` when it depends on the user (or cannot be evaluated).
fn constant_truth(node: &Node) -> Option<bool> {
    match node {
        Node::And(l, r, _) => match (constant_truth(l), constant_truth(r)) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        Node::Or(l, r, _) => match (constant_truth(l), constant_truth(r)) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        Node::Not(inner, _) => constant_truth(inner).map(|b| !b),
        _ if is_constant(node) => {
            let record = crate::record::Record::default();
            match super::eval::eval(node, &super::eval::Env::new(&record)) {
                Ok(Value::Bool(b)) => Some(b),
                // A null scope leaves every user out, like false.
                Ok(Value::Null) => Some(false),
                Ok(Value::Str(s)) if s.eq_ignore_ascii_case("false") => Some(false),
                Ok(Value::Str(s)) if s.eq_ignore_ascii_case("true") => Some(true),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether a node reads nothing of the user and calls nothing that varies.
fn is_constant(node: &Node) -> bool {
    let mut constant = true;
    node.walk(&mut |n| match n {
        Node::Attr(_) | Node::Groups | Node::SourceId | Node::SourceStatus => constant = false,
        Node::Call { function, .. }
            if function.uses_groups || IMPURE_FUNCTIONS.contains(&function.name) =>
        {
            constant = false
        }
        _ => {}
    });
    constant
}

fn article(t: TargetType) -> &'static str {
    match t {
        TargetType::String => "a string",
        TargetType::Integer => "an integer",
        TargetType::Boolean => "a boolean",
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

/// The literal values an expression can produce directly: its constant leaves through
/// conditionals and the value slots of `IIF`, `Switch` and `Coalesce`.
fn constant_leaves(e: &Expr, dialect: Dialect, out: &mut Vec<(Value, Span)>) {
    match &e.kind {
        ExprKind::Bool(b) => out.push((Value::Bool(*b), e.span)),
        ExprKind::Int(i) => out.push((Value::Int(*i), e.span)),
        ExprKind::Float(f) => out.push((Value::Float(*f), e.span)),
        ExprKind::Str(s) => out.push((Value::Str(s.clone()), e.span)),
        ExprKind::Conditional {
            then, otherwise, ..
        } => {
            constant_leaves(then, dialect, out);
            constant_leaves(otherwise, dialect, out);
        }
        ExprKind::Elvis { value, fallback } => {
            constant_leaves(value, dialect, out);
            constant_leaves(fallback, dialect, out);
        }
        ExprKind::Call {
            receiver: None,
            name,
            args,
        } if dialect == Dialect::Entra => {
            let given = |i: usize| match args.get(i) {
                Some(Arg::Given(a)) => Some(a),
                _ => None,
            };
            let slots: Vec<usize> = match name.name.as_str() {
                "IIF" => vec![1, 2],
                "Switch" => std::iter::once(1)
                    .chain((3..args.len()).step_by(2))
                    .collect(),
                "Coalesce" => (0..args.len()).collect(),
                _ => Vec::new(),
            };
            for slot in slots {
                if let Some(a) = given(slot) {
                    constant_leaves(a, dialect, out);
                }
            }
        }
        _ => {}
    }
}
