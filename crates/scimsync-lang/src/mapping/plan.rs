//! The transform plan: a checked `.map` file compiled into rules whose expressions are
//! resolved trees ([`Node`]), evaluated per user without re-parsing or name lookups.
//!
//! A plan also states its static facts ([`Facts`]): which source attributes it reads (a source
//! can fetch only those), which SCIM paths it writes, and which rules can fail at run time.

use std::collections::BTreeSet;
use std::sync::Arc;

use regex::Regex;

use super::eval::{Env, EvalError, eval};
use super::functions::Function;
use super::pattern::Pattern;
use super::source::Span;
use crate::record::{AttrName, Record};
use crate::scim::path::AttrPath;
use crate::value::Value;

/// A resolved expression.
#[derive(Clone, Debug)]
pub enum Node {
    Const(Value),
    /// A record attribute, by name.
    Attr(AttrName),
    /// The record's group names, as a list.
    Groups,
    /// `user.getInternalProperty("id")`: the source identity.
    SourceId,
    /// `user.getInternalProperty("status")` / the source's enabled flag as Okta reports it.
    SourceStatus,
    Call {
        function: &'static Function,
        /// `None` for an argument the expression left out (Entra `Replace([x], , "re", , "", , )`).
        args: Vec<Option<Node>>,
        span: Span,
    },
    Not(Box<Node>, Span),
    Neg(Box<Node>, Span),
    And(Box<Node>, Box<Node>, Span),
    Or(Box<Node>, Box<Node>, Span),
    Binary {
        op: Op,
        lhs: Box<Node>,
        rhs: Box<Node>,
        span: Span,
    },
    /// `a matches "re"`, with the pattern compiled ahead when it is a constant.
    Matches {
        value: Box<Node>,
        pattern: Box<Node>,
        compiled: Option<Pattern>,
        span: Span,
    },
    Conditional {
        cond: Box<Node>,
        then: Box<Node>,
        otherwise: Box<Node>,
        span: Span,
    },
    Elvis(Box<Node>, Box<Node>),
    Index {
        object: Box<Node>,
        index: Box<Node>,
        span: Span,
    },
    List(Vec<Node>),
}

impl Node {
    /// Calls `visit` on this node and on every node below it, parents first.
    pub fn walk(&self, visit: &mut impl FnMut(&Node)) {
        visit(self);
        match self {
            Node::Const(_) | Node::Attr(_) | Node::Groups | Node::SourceId | Node::SourceStatus => {
            }
            Node::Call { args, .. } => args.iter().flatten().for_each(|a| a.walk(visit)),
            Node::Not(inner, _) | Node::Neg(inner, _) => inner.walk(visit),
            Node::And(l, r, _) | Node::Or(l, r, _) | Node::Elvis(l, r) => {
                l.walk(visit);
                r.walk(visit);
            }
            Node::Binary { lhs, rhs, .. } => {
                lhs.walk(visit);
                rhs.walk(visit);
            }
            Node::Matches { value, pattern, .. } => {
                value.walk(visit);
                pattern.walk(visit);
            }
            Node::Conditional {
                cond,
                then,
                otherwise,
                ..
            } => {
                cond.walk(visit);
                then.walk(visit);
                otherwise.walk(visit);
            }
            Node::Index { object, index, .. } => {
                object.walk(visit);
                index.walk(visit);
            }
            Node::List(items) => items.iter().for_each(|i| i.walk(visit)),
        }
    }

    /// Whether the expression hides its result from logs: Entra's `Redact` anywhere in it.
    pub fn redacts(&self) -> bool {
        let mut found = false;
        self.walk(&mut |n| {
            found |= matches!(n, Node::Call { function, .. } if function.redacts);
        });
        found
    }

    /// The record attributes this expression reads, in first-read order, without repeats;
    /// group membership reads as `groups`, the source status as `status`, the id as `id`.
    pub fn inputs(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        self.walk(&mut |n| {
            let name = match n {
                Node::Attr(name) => name.as_str(),
                Node::Groups => crate::record::GROUPS_KEY,
                Node::Call { function, .. } if function.uses_groups => crate::record::GROUPS_KEY,
                Node::SourceStatus => "status",
                Node::SourceId => "id",
                _ => return,
            };
            if !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        });
        names
    }
}

/// What scimsync prints in place of a redacted value, as Entra's provisioning logs do.
pub const REDACTED: &str = "[Redact]";

/// Binary operators, with the dialect's semantics already chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// SpEL `+`: adds numbers, concatenates when either side is a string.
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    /// SpEL `^`.
    Pow,
    /// Okta (SpEL) comparisons: typed.
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// Entra comparisons: values compared as text, numerically when both are numbers.
    TextEq,
    TextNe,
    TextLt,
    TextLe,
    TextGt,
    TextGe,
    /// Entra `&`.
    Concat,
}

/// Whether a rule is applied on every sync or only when the user is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Always,
    OnCreate,
}

/// The type a rule's value is converted to before it is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetType {
    String,
    Integer,
    Boolean,
}

impl TargetType {
    pub fn from_name(name: &str) -> Option<TargetType> {
        match name {
            "string" => Some(TargetType::String),
            "integer" => Some(TargetType::Integer),
            "boolean" => Some(TargetType::Boolean),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TargetType::String => "string",
            TargetType::Integer => "integer",
            TargetType::Boolean => "boolean",
        }
    }

    /// Converts a rule result. Null stays null; so does `""` for integers and booleans, since
    /// an empty directory field means "no value", not zero or false.
    pub fn convert(self, value: Value) -> Result<Value, ConversionError> {
        let fail = |v: &Value| {
            Err(ConversionError {
                value: v.clone(),
                target: self,
            })
        };
        match (self, value) {
            (_, Value::Null) => Ok(Value::Null),
            (TargetType::String, Value::Str(s)) => Ok(Value::Str(s)),
            (TargetType::String, Value::Int(i)) => Ok(Value::Str(i.to_string())),
            (TargetType::String, Value::Float(f)) => Ok(Value::Str(f.to_string())),
            (TargetType::String, Value::Bool(b)) => Ok(Value::Str(b.to_string())),
            (TargetType::Integer, Value::Int(i)) => Ok(Value::Int(i)),
            (TargetType::Integer, Value::Float(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                Ok(Value::Int(f as i64))
            }
            (TargetType::Integer, Value::Str(s)) if s.trim().is_empty() => Ok(Value::Null),
            (TargetType::Integer, Value::Str(s)) => match s.trim().parse::<i64>() {
                Ok(i) => Ok(Value::Int(i)),
                Err(_) => fail(&Value::Str(s)),
            },
            (TargetType::Boolean, Value::Bool(b)) => Ok(Value::Bool(b)),
            (TargetType::Boolean, Value::Str(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "" => Ok(Value::Null),
                "true" | "1" | "yes" => Ok(Value::Bool(true)),
                "false" | "0" | "no" => Ok(Value::Bool(false)),
                _ => fail(&Value::Str(s)),
            },
            (TargetType::Boolean, Value::Int(i @ (0 | 1))) => Ok(Value::Bool(i == 1)),
            (
                TargetType::String | TargetType::Integer | TargetType::Boolean,
                Value::List(items),
            ) if items.len() == 1 => self.convert(items.into_iter().next().unwrap_or_default()),
            (_, other) => fail(&other),
        }
    }
}

/// A rule result that does not fit the rule's declared target type.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{value} is not a valid {}", target.name())]
pub struct ConversionError {
    pub value: Value,
    pub target: TargetType,
}

/// One compiled attribute rule.
#[derive(Clone, Debug)]
pub struct PlannedRule {
    pub path: Arc<AttrPath>,
    /// The path as the file writes it (`b44:role`), for messages.
    pub written: String,
    /// Whether the value is shown as `[Redact]` in diffs, explanations and messages (the
    /// expression uses `Redact`); it is still sent.
    pub redacted: bool,
    pub expr: Node,
    pub flow: Flow,
    pub default: Option<Value>,
    pub one_of: Option<Vec<Value>>,
    pub target_type: Option<TargetType>,
    /// 1-based line of the rule in its file, for messages.
    pub line: usize,
}

/// An extension schema the file declares.
#[derive(Clone, Debug, PartialEq)]
pub struct Extension {
    pub alias: String,
    pub urn: String,
}

/// What a plan does, known without running it.
///
/// Sources use `reads` and `reads_groups` to fetch only what the mapping needs (an LDAP
/// search requests exactly these attributes); `writes` is every SCIM path a user can get;
/// `fallible` lists the rules that can skip a user at run time, and why.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facts {
    /// Source attribute names any rule or the scope reads, as the record names them
    /// (`user.address.city` reads `address.city`; `getInternalProperty("status")` reads
    /// `status`).
    pub reads: BTreeSet<String>,
    /// Whether group membership is read (a group function appears somewhere).
    pub reads_groups: bool,
    /// The SCIM paths the rules write, in rule order.
    pub writes: Vec<AttrPath>,
    /// The rules (and the scope) that can fail for some user, in file order.
    pub fallible: Vec<FallibleRule>,
}

/// A rule that can fail at run time, which skips the user it fails for.
#[derive(Clone, Debug, PartialEq)]
pub struct FallibleRule {
    /// The path the rule writes; `None` for the scope.
    pub path: Option<AttrPath>,
    /// 1-based line of the rule in its file.
    pub line: usize,
    /// Why it can fail, in plain words (`the result must convert to an integer`), sorted.
    pub reasons: Vec<String>,
}

impl std::fmt::Display for FallibleRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.path {
            Some(path) => write!(f, "`{path}`")?,
            None => f.write_str("scope")?,
        }
        write!(f, " (line {}): {}", self.line, self.reasons.join("; "))
    }
}

#[derive(Clone, Debug)]
pub struct Plan {
    /// The `.map` file's name as it was given, for messages.
    pub file: String,
    /// 1-based line of the `scope` statement (0 when there is none).
    pub scope_line: usize,
    pub target_name: Option<String>,
    pub extensions: Vec<Extension>,
    /// The attribute that identifies a user on the target.
    pub match_path: AttrPath,
    pub scope: Option<Node>,
    pub rules: Vec<PlannedRule>,
    pub facts: Facts,
    /// Which directory groups are pushed, and as what.
    pub groups: Vec<GroupRule>,
    /// What the checker found suspicious but not wrong (a source attribute that looks
    /// misspelt), for `check` and the run's log.
    pub warnings: Vec<super::Diagnostic>,
}

/// One `group` / `groups matching` statement: directory groups pushed to the target.
#[derive(Clone, Debug)]
pub struct GroupRule {
    pub select: GroupSelect,
    /// The target displayName (`as "..."`); default: the directory group's name.
    pub display_name: Option<String>,
    /// The target externalId (`external id "..."`); default: none is sent.
    pub external_id: Option<String>,
    /// 1-based line of the statement, for messages.
    pub line: usize,
}

/// Which directory groups a [`GroupRule`] selects, by name.
#[derive(Clone, Debug)]
pub enum GroupSelect {
    /// Exactly this name (case-insensitive, as directory group names are).
    Named(String),
    /// Every name the regular expression matches (anywhere; anchor it with `^…$`).
    Matching(Regex),
}

/// How a selected directory group appears on the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedGroup {
    pub display_name: String,
    pub external_id: Option<String>,
}

impl GroupRule {
    pub fn selects(&self, name: &str) -> bool {
        match &self.select {
            GroupSelect::Named(wanted) => wanted.eq_ignore_ascii_case(name),
            GroupSelect::Matching(regex) => regex.is_match(name),
        }
    }
}

/// A compiled lone expression.
#[derive(Clone, Debug)]
pub struct ExprPlan {
    pub node: Node,
    /// What the checker warned about (a bare Okta name read from the user, a likely typo).
    pub warnings: Vec<super::diagnostic::Diagnostic>,
}

impl ExprPlan {
    /// Evaluates the expression. `IgnoreFlowIfNullOrEmpty` stopping the flow gives null here:
    /// a lone expression has no attribute to leave out.
    pub fn evaluate(&self, env: &Env<'_>) -> Result<Value, EvalError> {
        match eval(&self.node, env) {
            Err(e) if e.ignore_flow => Ok(Value::Null),
            other => other,
        }
    }
}

/// One value a rule produced for a user.
#[derive(Clone, Debug, PartialEq)]
pub struct MappedValue {
    /// Shared with the rule that produced it: a user's values cost no path copies.
    pub path: Arc<AttrPath>,
    pub value: Value,
    pub flow: Flow,
    /// Shown as `[Redact]` wherever scimsync prints values; sent as it is.
    pub redacted: bool,
}

/// A user as the plan maps it: the values of every rule that produced one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MappedUser {
    pub values: Vec<MappedValue>,
}

impl MappedUser {
    /// The values as scimsync shows them: those of rules that use `Redact` as `[Redact]`.
    pub fn shown(&self) -> std::borrow::Cow<'_, MappedUser> {
        if !self.values.iter().any(|v| v.redacted) {
            return std::borrow::Cow::Borrowed(self);
        }
        let mut shown = self.clone();
        for value in shown.values.iter_mut().filter(|v| v.redacted) {
            value.value = Value::from(REDACTED);
        }
        std::borrow::Cow::Owned(shown)
    }

    pub fn get(&self, path: &AttrPath) -> Option<&Value> {
        self.values
            .iter()
            .find(|v| *v.path == *path)
            .map(|v| &v.value)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The scope condition is false for this user.
    OutOfScope,
    Mapped(MappedUser),
}

/// A rule that failed for one user: the user is skipped, the others go on.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleFailure {
    /// The path the rule writes, or `scope`.
    pub rule: String,
    /// The `.map` file (empty when unknown, as for a lone rule applied by itself).
    pub file: String,
    pub line: usize,
    /// What went wrong, quoting the offending value.
    pub message: String,
}

impl std::fmt::Display for RuleFailure {
    /// `rule `b44:role` (base44.map:9): "owner" is not one of the allowed values (...)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rule = if self.rule == "scope" {
            "scope".to_owned()
        } else {
            format!("rule `{}`", self.rule)
        };
        if self.file.is_empty() {
            write!(f, "{rule} (line {}): {}", self.line, self.message)
        } else {
            write!(f, "{rule} ({}:{}): {}", self.file, self.line, self.message)
        }
    }
}

impl Plan {
    /// Whether directory group `name` is pushed, and as what; the first rule that selects it
    /// decides.
    pub fn pushed_group(&self, name: &str) -> Option<PushedGroup> {
        self.groups
            .iter()
            .find(|rule| rule.selects(name))
            .map(|rule| PushedGroup {
                display_name: rule.display_name.clone().unwrap_or_else(|| name.to_owned()),
                external_id: rule.external_id.clone(),
            })
    }

    /// Extension aliases and their URNs, including the built-in `enterprise` alias unless the
    /// file declares that name itself.
    pub fn aliases(&self) -> Vec<(String, String)> {
        let mut aliases: Vec<(String, String)> = self
            .extensions
            .iter()
            .map(|e| (e.alias.clone(), e.urn.clone()))
            .collect();
        if !aliases
            .iter()
            .any(|(a, _)| a == super::check::ENTERPRISE_ALIAS)
        {
            aliases.push((
                super::check::ENTERPRISE_ALIAS.to_owned(),
                crate::scim::schema::ENTERPRISE_USER.to_owned(),
            ));
        }
        aliases
    }

    /// Maps one record. Null results flow nowhere: the attribute is left out.
    pub fn evaluate(&self, record: &Record, env: &Env<'_>) -> Result<Outcome, RuleFailure> {
        debug_assert!(std::ptr::eq(env.record, record));
        if let Some(scope) = &self.scope {
            let scope_failure = |message: String| RuleFailure {
                rule: "scope".into(),
                file: self.file.clone(),
                line: self.scope_line,
                message,
            };
            let in_scope = eval(scope, env).map_err(|e| scope_failure(e.message))?;
            match in_scope {
                Value::Bool(true) => {}
                Value::Bool(false) | Value::Null => return Ok(Outcome::OutOfScope),
                Value::Str(s) if s.eq_ignore_ascii_case("true") => {}
                Value::Str(s) if s.eq_ignore_ascii_case("false") => return Ok(Outcome::OutOfScope),
                other => {
                    return Err(scope_failure(format!(
                        "the scope must be true or false, got {other}"
                    )));
                }
            }
        }
        let mut user = MappedUser {
            values: Vec::with_capacity(self.rules.len()),
        };
        for rule in &self.rules {
            let value = rule.apply(env).map_err(|failure| RuleFailure {
                file: self.file.clone(),
                ..failure
            })?;
            if !value.is_null() {
                user.values.push(MappedValue {
                    path: rule.path.clone(),
                    value,
                    flow: rule.flow,
                    redacted: rule.redacted,
                });
            }
        }
        // A run keeps every user's values until it is diffed: a user some rules gave nothing
        // for gets a vector of its exact size (shrinking in place would keep the block).
        if user.values.len() < user.values.capacity() {
            user.values = user.values.drain(..).collect();
        }
        Ok(Outcome::Mapped(user))
    }
}

impl PlannedRule {
    /// Evaluates the rule and applies its options: default, type, allowed values.
    pub fn apply(&self, env: &Env<'_>) -> Result<Value, RuleFailure> {
        let fail = |message: String| RuleFailure {
            rule: self.written.clone(),
            file: String::new(),
            line: self.line,
            // Messages quote the offending value; a redacted rule's value stays unseen.
            message: if self.redacted {
                format!(
                    "the rule failed on its value, which is not shown ({REDACTED}); `scimsync eval` the expression on this user to see why"
                )
            } else {
                message
            },
        };
        let env = Env {
            target: Some(&self.path),
            ..*env
        };
        let mut value = match eval(&self.expr, &env) {
            // `IgnoreFlowIfNullOrEmpty`: the attribute does not flow, not even its default.
            Err(e) if e.ignore_flow => return Ok(Value::Null),
            other => other.map_err(|e| fail(e.message))?,
        };
        if value.is_null()
            && let Some(default) = &self.default
        {
            value = default.clone();
        }
        if let Some(target) = self.target_type {
            value = target.convert(value).map_err(|e| fail(e.to_string()))?;
        }
        if let Some(allowed) = &self.one_of
            && !value.is_null()
            && !allowed.contains(&value)
        {
            let list = allowed
                .iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            return Err(fail(format!(
                "{value} is not one of the allowed values ({list})"
            )));
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests;
