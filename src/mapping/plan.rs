//! The transform plan: a checked `.map` file compiled into rules whose expressions are
//! resolved trees ([`Node`]), evaluated per user without re-parsing or name lookups.
//!
//! A plan also states its static facts ([`Facts`]): which source attributes it reads (a source
//! can fetch only those), which SCIM paths it writes, and which rules can fail at run time.

use std::collections::BTreeSet;

use regex::Regex;

use super::eval::{Env, EvalError, eval};
use super::functions::Function;
use super::source::Span;
use crate::record::Record;
use crate::scim::path::AttrPath;
use crate::value::Value;

/// A resolved expression.
#[derive(Clone, Debug)]
pub enum Node {
    Const(Value),
    /// A record attribute, by name.
    Attr(String),
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
        compiled: Option<Regex>,
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

/// Binary operators, with the dialect's semantics already chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// SpEL `+`: adds numbers, concatenates when either side is a string.
    Add,
    Sub,
    Mul,
    Div,
    Rem,
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
    pub fn convert(self, value: Value) -> Result<Value, String> {
        let fail = |v: &Value| Err(format!("{v} is not a valid {}", self.name()));
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

/// One compiled attribute rule.
#[derive(Clone, Debug)]
pub struct PlannedRule {
    pub path: AttrPath,
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
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facts {
    /// Source attribute names any rule or the scope reads.
    pub reads: BTreeSet<String>,
    /// Whether group membership is read.
    pub reads_groups: bool,
    /// The SCIM paths the rules write, in rule order.
    pub writes: Vec<AttrPath>,
    /// Paths of rules that can fail for some user (a conversion, an enum, a fallible function).
    pub fallible: Vec<AttrPath>,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub target_name: Option<String>,
    pub extensions: Vec<Extension>,
    /// The attribute that identifies a user on the target.
    pub match_path: AttrPath,
    pub scope: Option<Node>,
    pub rules: Vec<PlannedRule>,
    pub facts: Facts,
    /// Which directory groups are pushed, and as what.
    pub groups: Vec<GroupRule>,
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
}

impl ExprPlan {
    pub fn evaluate(&self, env: &Env<'_>) -> Result<Value, EvalError> {
        eval(&self.node, env)
    }
}

/// One value a rule produced for a user.
#[derive(Clone, Debug, PartialEq)]
pub struct MappedValue {
    pub path: AttrPath,
    pub value: Value,
    pub flow: Flow,
}

/// A user as the plan maps it: the values of every rule that produced one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MappedUser {
    pub values: Vec<MappedValue>,
}

impl MappedUser {
    pub fn get(&self, path: &AttrPath) -> Option<&Value> {
        self.values
            .iter()
            .find(|v| &v.path == path)
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
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for RuleFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "rule `{}` (line {}): {}",
            self.rule, self.line, self.message
        )
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
            let in_scope = eval(scope, env).map_err(|e| RuleFailure {
                rule: "scope".into(),
                line: 0,
                message: e.message,
            })?;
            match in_scope {
                Value::Bool(true) => {}
                Value::Bool(false) | Value::Null => return Ok(Outcome::OutOfScope),
                Value::Str(s) if s.eq_ignore_ascii_case("true") => {}
                Value::Str(s) if s.eq_ignore_ascii_case("false") => return Ok(Outcome::OutOfScope),
                other => {
                    return Err(RuleFailure {
                        rule: "scope".into(),
                        line: 0,
                        message: format!("the scope must be true or false, got {other}"),
                    });
                }
            }
        }
        let mut user = MappedUser {
            values: Vec::with_capacity(self.rules.len()),
        };
        for rule in &self.rules {
            let value = rule.apply(env)?;
            if !value.is_null() {
                user.values.push(MappedValue {
                    path: rule.path.clone(),
                    value,
                    flow: rule.flow,
                });
            }
        }
        Ok(Outcome::Mapped(user))
    }
}

impl PlannedRule {
    /// Evaluates the rule and applies its options: default, type, allowed values.
    pub fn apply(&self, env: &Env<'_>) -> Result<Value, RuleFailure> {
        let fail = |message: String| RuleFailure {
            rule: self.path.to_string(),
            line: self.line,
            message,
        };
        let mut value = eval(&self.expr, env).map_err(|e| fail(e.message))?;
        if value.is_null() {
            if let Some(default) = &self.default {
                value = default.clone();
            }
        }
        if let Some(target) = self.target_type {
            value = target.convert(value).map_err(fail)?;
        }
        if let Some(allowed) = &self.one_of {
            if !value.is_null() && !allowed.contains(&value) {
                let list = allowed
                    .iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(fail(format!(
                    "{value} is not one of the allowed values ({list})"
                )));
            }
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::{SourceFile, compile};

    fn plan(text: &str) -> Plan {
        compile(&SourceFile::new("t.map", text)).expect("compiles")
    }

    fn record(json: serde_json::Value) -> Record {
        Record::from_flat_json("id1".into(), json.as_object().unwrap())
    }

    fn mapped(plan: &Plan, r: &Record) -> Result<Outcome, RuleFailure> {
        plan.evaluate(r, &Env::new(r))
    }

    #[test]
    fn group_statements_select_groups_by_name_or_pattern() {
        let p = plan(
            "userName <- user.email\ngroup \"Base44 Admins\" as \"Admins\", external id \"b44-admins\"\ngroups matching \"^team-\"\n",
        );
        assert_eq!(
            p.pushed_group("base44 admins"),
            Some(PushedGroup {
                display_name: "Admins".into(),
                external_id: Some("b44-admins".into())
            })
        );
        assert_eq!(
            p.pushed_group("team-red"),
            Some(PushedGroup {
                display_name: "team-red".into(),
                external_id: None
            })
        );
        assert_eq!(p.pushed_group("red-team"), None);
        assert_eq!(p.groups[1].line, 3);
    }

    #[test]
    fn group_statement_errors_point_at_the_statement() {
        let file = SourceFile::new(
            "t.map",
            "userName <- user.email\ngroups matching \"(\"\ngroup \"a\"\ngroup \"A\"\ngroups matching \"x\" as \"X\"\n",
        );
        let errors = compile(&file).unwrap_err();
        let rendered: Vec<String> = errors
            .iter()
            .map(|d| {
                format!(
                    "{}: {}",
                    file.line_col(d.primary.span.start).line,
                    d.message
                )
            })
            .collect();
        assert_eq!(
            rendered,
            [
                "2: this is not a valid regular expression",
                "4: group \"A\" is pushed twice",
                "5: `as` would give every matching group the same displayName",
            ]
        );
    }

    #[test]
    fn facts_list_reads_writes_and_fallible_rules() {
        let p = plan(
            "extension b = \"urn:b:2.0\"\nscope user.status == \"ACTIVE\"\nuserName <- user.email\nb:n <- user.n as integer\nb:g <- isMemberOfGroupName(\"x\")\n",
        );
        assert_eq!(
            p.facts.reads.iter().cloned().collect::<Vec<_>>(),
            ["email", "n", "status"]
        );
        assert!(p.facts.reads_groups);
        assert_eq!(
            p.facts
                .writes
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["userName", "urn:b:2.0:n", "urn:b:2.0:g"]
        );
        // userName: a multi-valued attribute would not fit a single string.
        assert_eq!(
            p.facts
                .fallible
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["userName", "urn:b:2.0:n"]
        );
    }

    #[test]
    fn options_default_type_and_allowed_values_apply_in_order() {
        let p = plan(
            "extension b = \"urn:b:2.0\"\nuserName <- user.email\nb:limit <- user.limit as integer, default \"0\"\nb:role <- user.role one of \"a\", \"b\"\n",
        );
        let Ok(Outcome::Mapped(u)) = mapped(
            &p,
            &record(serde_json::json!({"email": "e", "limit": "12", "role": "a"})),
        ) else {
            panic!("maps")
        };
        assert_eq!(
            u.values.iter().map(|v| v.value.clone()).collect::<Vec<_>>(),
            [Value::from("e"), Value::Int(12), Value::from("a")]
        );
        let Ok(Outcome::Mapped(u)) = mapped(&p, &record(serde_json::json!({"email": "e"}))) else {
            panic!("maps")
        };
        assert_eq!(
            u.values.len(),
            2,
            "null role flows nowhere; limit defaults to 0"
        );
        assert_eq!(u.values[1].value, Value::Int(0));
        let failure = mapped(
            &p,
            &record(serde_json::json!({"email": "e", "role": "owner"})),
        )
        .unwrap_err();
        assert_eq!(
            failure.to_string(),
            "rule `urn:b:2.0:role` (line 4): \"owner\" is not one of the allowed values (\"a\", \"b\")"
        );
        let failure = mapped(
            &p,
            &record(serde_json::json!({"email": "e", "limit": "lots"})),
        )
        .unwrap_err();
        assert_eq!(
            failure.to_string(),
            "rule `urn:b:2.0:limit` (line 3): \"lots\" is not a valid integer"
        );
    }

    #[test]
    fn scope_false_is_out_of_scope() {
        let p = plan("scope user.dept == \"IT\"\nuserName <- user.email\n");
        assert_eq!(
            mapped(&p, &record(serde_json::json!({"dept": "HR"}))),
            Ok(Outcome::OutOfScope)
        );
        assert!(matches!(
            mapped(&p, &record(serde_json::json!({"dept": "IT"}))),
            Ok(Outcome::Mapped(_))
        ));
    }
}
