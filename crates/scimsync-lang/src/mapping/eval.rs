//! Evaluates resolved expressions ([`Node`]) over one record.
//!
//! Errors are values of [`EvalError`] with the span of the failing node: a rule that fails for
//! one user skips that user, never the run, and nothing here may panic on any input.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

use super::pattern::{Anchoring, Pattern};
use super::plan::{Node, Op};
use super::source::Span;
use crate::record::Record;
use crate::scim::path::AttrPath;
use crate::value::Value;

/// What an expression can see: the record, the clock (fixed by `--now` in tests), and, for
/// Entra's `SelectUniqueValue`, a way to ask whether a value is already taken on the target.
#[derive(Clone, Copy, Debug)]
pub struct Env<'r> {
    pub record: &'r Record,
    pub now: DateTime<Utc>,
    /// Whether a value is already used on the target. `None` (a lone `eval`, `map` without a
    /// target): nothing counts as taken.
    pub unique: Option<&'r dyn UniquenessOracle>,
    /// The SCIM path of the rule being evaluated; set by the plan for each rule.
    pub target: Option<&'r AttrPath>,
}

impl<'r> Env<'r> {
    pub fn new(record: &'r Record) -> Env<'r> {
        Env::at(record, Utc::now())
    }

    /// An environment with a fixed clock and no uniqueness oracle.
    pub fn at(record: &'r Record, now: DateTime<Utc>) -> Env<'r> {
        Env {
            record,
            now,
            unique: None,
            target: None,
        }
    }

    /// Whether `value` is already taken at the current rule's path. Without an oracle or a
    /// rule path nothing is taken.
    pub fn is_taken(&self, value: &str) -> bool {
        match (self.unique, self.target) {
            (Some(oracle), Some(path)) => oracle.is_taken(path, value),
            _ => false,
        }
    }
}

/// Answers "is this value already used by another user on the target?" for
/// `SelectUniqueValue`. The language core does no I/O: the sync layer supplies this from
/// the target users it has already listed.
pub trait UniquenessOracle: std::fmt::Debug {
    fn is_taken(&self, path: &AttrPath, value: &str) -> bool;
}

#[derive(Clone, Debug, PartialEq)]
pub struct EvalError {
    pub message: String,
    pub span: Span,
    /// Not a failure: `IgnoreFlowIfNullOrEmpty` met a null or empty value, so the rule must
    /// not flow at all (no value, no default). It travels the error path so that it stops
    /// the whole rule wherever the call is nested.
    pub ignore_flow: bool,
}

impl EvalError {
    pub fn new(span: Span, message: impl Into<String>) -> EvalError {
        EvalError {
            message: message.into(),
            span,
            ignore_flow: false,
        }
    }

    /// The signal of `IgnoreFlowIfNullOrEmpty`: the rule does not flow.
    pub fn ignore_flow(span: Span) -> EvalError {
        EvalError {
            message: "IgnoreFlowIfNullOrEmpty: the value is null or empty, so the attribute does not flow".into(),
            span,
            ignore_flow: true,
        }
    }
}

pub fn eval(node: &Node, env: &Env<'_>) -> Result<Value, EvalError> {
    Ok(match node {
        Node::Const(v) => v.clone(),
        Node::Attr(name) => env.record.get_named(name).clone(),
        Node::Groups => Value::List(
            env.record
                .groups
                .iter()
                .map(|g| Value::from(g.as_str()))
                .collect(),
        ),
        Node::SourceId => Value::from(env.record.id.as_str()),
        Node::SourceStatus => source_status(env),
        Node::Call {
            function,
            args,
            span,
        } => {
            let mut call = super::functions::Args::new(args, env, *span);
            (function.eval)(&mut call)?
        }
        Node::Not(operand, span) => Value::Bool(!truth(&eval(operand, env)?, *span)?),
        Node::Neg(operand, span) => negate(eval(operand, env)?, *span)?,
        Node::And(lhs, rhs, span) => {
            Value::Bool(truth(&eval(lhs, env)?, *span)? && truth(&eval(rhs, env)?, *span)?)
        }
        Node::Or(lhs, rhs, span) => {
            Value::Bool(truth(&eval(lhs, env)?, *span)? || truth(&eval(rhs, env)?, *span)?)
        }
        Node::Binary { op, lhs, rhs, span } => {
            binary(*op, eval(lhs, env)?, eval(rhs, env)?, *span)?
        }
        Node::Matches {
            value,
            pattern,
            compiled,
            span,
        } => matches(value, pattern, compiled.as_ref(), *span, env)?,
        Node::Conditional {
            cond,
            then,
            otherwise,
            span,
        } => {
            if truth(&eval(cond, env)?, *span)? {
                eval(then, env)?
            } else {
                eval(otherwise, env)?
            }
        }
        Node::Elvis(value, fallback) => {
            let value = eval(value, env)?;
            if value.is_null_or_empty() {
                eval(fallback, env)?
            } else {
                value
            }
        }
        Node::Index {
            object,
            index,
            span,
        } => index_into(eval(object, env)?, eval(index, env)?, *span)?,
        Node::List(items) => Value::List(
            items
                .iter()
                .map(|n| eval(n, env))
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// Okta's `user.status`: the source's own status when it has one, else from the active flag.
fn source_status(env: &Env<'_>) -> Value {
    env.record.attrs.get("status").cloned().unwrap_or_else(|| {
        Value::from(if env.record.active {
            "ACTIVE"
        } else {
            "DEPROVISIONED"
        })
    })
}

/// Unary minus: integers (failing on overflow) and floats.
fn negate(value: Value, span: Span) -> Result<Value, EvalError> {
    match value {
        Value::Int(i) => i
            .checked_neg()
            .map(Value::Int)
            .ok_or_else(|| EvalError::new(span, "integer overflow")),
        Value::Float(f) => Ok(Value::Float(-f)),
        other => Err(EvalError::new(
            span,
            format!("cannot negate {}", other.kind()),
        )),
    }
}

/// SpEL's `value matches "pattern"`: the whole text must match. A constant pattern was
/// compiled by the checker; another is compiled (and cached) here.
fn matches(
    value: &Node,
    pattern: &Node,
    compiled: Option<&Pattern>,
    span: Span,
    env: &Env<'_>,
) -> Result<Value, EvalError> {
    // SpEL reads the left side as text and refuses null.
    let text = match eval(value, env)? {
        Value::Null => {
            return Err(EvalError::new(
                span,
                "`matches` needs text on its left, but the value is null; test it first: `x != null and x matches \"...\"`",
            ));
        }
        Value::List(_) => {
            return Err(EvalError::new(
                span,
                "`matches` needs text on its left, not a list",
            ));
        }
        other => spel_text(&other),
    };
    let text = text.as_str();
    let is_match = match compiled {
        Some(pattern) => pattern.is_match(text),
        None => {
            let pattern = eval(pattern, env)?;
            let Some(pattern) = pattern.as_str() else {
                return Err(EvalError::new(
                    span,
                    format!(
                        "`matches` needs a regular expression on its right, but this is {}",
                        pattern.kind()
                    ),
                ));
            };
            Pattern::cached(pattern, Anchoring::Whole).and_then(|pattern| pattern.is_match(text))
        }
    };
    Ok(Value::Bool(
        is_match.map_err(|e| EvalError::new(span, e.to_string()))?,
    ))
}

/// `object[index]`: a list element or a character, 0-based; null stays null.
fn index_into(object: Value, index: Value, span: Span) -> Result<Value, EvalError> {
    let out_of_range = |i: i64| EvalError::new(span, format!("index {i} is out of range"));
    match (object, index) {
        (Value::Null, _) => Ok(Value::Null),
        (Value::List(items), Value::Int(i)) => usize::try_from(i)
            .ok()
            .and_then(|i| items.get(i).cloned())
            .ok_or_else(|| out_of_range(i)),
        (Value::Str(s), Value::Int(i)) => usize::try_from(i)
            .ok()
            .and_then(|i| s.chars().nth(i))
            .map(|c| Value::Str(c.to_string()))
            .ok_or_else(|| out_of_range(i)),
        (object, index) => Err(EvalError::new(
            span,
            format!("cannot index {} with {}", object.kind(), index.kind()),
        )),
    }
}

/// Evaluates without copying what the record or the plan already holds: an attribute or a
/// constant comes back borrowed, for functions that only look at their argument.
pub fn eval_ref<'a>(node: &'a Node, env: &Env<'a>) -> Result<Cow<'a, Value>, EvalError> {
    match node {
        Node::Const(v) => Ok(Cow::Borrowed(v)),
        Node::Attr(name) => Ok(Cow::Borrowed(env.record.get_named(name))),
        other => eval(other, env).map(Cow::Owned),
    }
}

/// A condition's truth. Okta conditions must be booleans; Entra passes `"True"`/`"False"`.
pub fn truth(value: &Value, span: Span) -> Result<bool, EvalError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::Str(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::Str(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        Value::Null => Err(EvalError::new(
            span,
            "the condition is null; test for null first (`x != null && ...`)",
        )),
        other => Err(EvalError::new(
            span,
            format!("expected true or false, got {other}"),
        )),
    }
}

fn binary(op: Op, lhs: Value, rhs: Value, span: Span) -> Result<Value, EvalError> {
    use std::cmp::Ordering;
    let unsupported = |lhs: &Value, rhs: &Value| {
        EvalError::new(
            span,
            format!(
                "cannot apply this operator to {} and {}",
                lhs.kind(),
                rhs.kind()
            ),
        )
    };
    Ok(match op {
        Op::Add => match (&lhs, &rhs) {
            (Value::Str(_), _) | (_, Value::Str(_)) => {
                Value::Str(spel_text(&lhs) + &spel_text(&rhs))
            }
            _ => arithmetic(op, &lhs, &rhs, span).ok_or_else(|| unsupported(&lhs, &rhs))??,
        },
        Op::Sub | Op::Mul | Op::Div | Op::Rem | Op::Pow => {
            arithmetic(op, &lhs, &rhs, span).ok_or_else(|| unsupported(&lhs, &rhs))??
        }
        Op::Eq => Value::Bool(typed_cmp(&lhs, &rhs) == Some(Ordering::Equal)),
        Op::Ne => Value::Bool(typed_cmp(&lhs, &rhs) != Some(Ordering::Equal)),
        Op::Lt | Op::Le | Op::Gt | Op::Ge => {
            let ord = typed_cmp(&lhs, &rhs).ok_or_else(|| unsupported(&lhs, &rhs))?;
            Value::Bool(order_holds(op, ord))
        }
        Op::TextEq => Value::Bool(text_cmp(&lhs, &rhs) == Ordering::Equal),
        Op::TextNe => Value::Bool(text_cmp(&lhs, &rhs) != Ordering::Equal),
        Op::TextLt | Op::TextLe | Op::TextGt | Op::TextGe => {
            Value::Bool(order_holds(op, text_cmp(&lhs, &rhs)))
        }
        Op::Concat => Value::Str(entra_text(&lhs) + &entra_text(&rhs)),
    })
}

fn order_holds(op: Op, ord: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        Op::Lt | Op::TextLt => ord == Less,
        Op::Le | Op::TextLe => ord != Greater,
        Op::Gt | Op::TextGt => ord == Greater,
        _ => ord != Less,
    }
}

fn arithmetic(op: Op, lhs: &Value, rhs: &Value, span: Span) -> Option<Result<Value, EvalError>> {
    let overflow = || EvalError::new(span, "integer overflow or division by zero");
    match (lhs, rhs) {
        (Value::Int(a), Value::Int(b)) => Some(
            match op {
                Op::Add => a.checked_add(*b),
                Op::Sub => a.checked_sub(*b),
                Op::Mul => a.checked_mul(*b),
                Op::Div => a.checked_div(*b),
                // A negative exponent gives a fraction, as Java's Math.pow does.
                Op::Pow if *b < 0 => return Some(Ok(Value::Float((*a as f64).powf(*b as f64)))),
                Op::Pow => u32::try_from(*b).ok().and_then(|b| a.checked_pow(b)),
                _ => a.checked_rem(*b),
            }
            .map(Value::Int)
            .ok_or_else(overflow),
        ),
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            let (a, b) = (number(lhs)?, number(rhs)?);
            Some(Ok(Value::Float(match op {
                Op::Add => a + b,
                Op::Sub => a - b,
                Op::Mul => a * b,
                Op::Div => a / b,
                Op::Pow => a.powf(b),
                _ => a % b,
            })))
        }
        _ => None,
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// SpEL's `==`: what `Arrays.contains` and `Arrays.remove` use to find an element.
pub fn spel_equal(lhs: &Value, rhs: &Value) -> bool {
    typed_cmp(lhs, rhs) == Some(std::cmp::Ordering::Equal)
}

/// SpEL's typed comparison: numbers numerically, strings lexically, booleans, nulls equal to
/// each other and below everything; different kinds do not compare.
fn typed_cmp(lhs: &Value, rhs: &Value) -> Option<std::cmp::Ordering> {
    use std::cmp::Ordering;
    match (lhs, rhs) {
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        (Value::Null, _) => Some(Ordering::Less),
        (_, Value::Null) => Some(Ordering::Greater),
        (Value::Str(a), Value::Str(b)) => Some(a.cmp(b)),
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        (Value::List(a), Value::List(b)) => (a == b).then_some(Ordering::Equal),
        _ => number(lhs)?.partial_cmp(&number(rhs)?),
    }
}

/// Entra compares as text (numbers numerically when both sides read as numbers); null is
/// treated as the empty string rather than failing the whole rule.
fn text_cmp(lhs: &Value, rhs: &Value) -> std::cmp::Ordering {
    let (a, b) = (entra_text(lhs), entra_text(rhs));
    match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
        _ => a.cmp(&b),
    }
}

/// How SpEL renders a value in a string concatenation (`null` prints as `null`).
pub fn spel_text(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Str(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::List(items) => format!(
            "[{}]",
            items.iter().map(spel_text).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(_) => v.to_json().to_string(),
    }
}

/// How Entra renders a value as a string: booleans as `True`/`False`, null as empty.
pub fn entra_text(v: &Value) -> String {
    entra_str(v).into_owned()
}

/// [`entra_text`], borrowing a string value instead of copying it.
pub fn entra_str(v: &Value) -> Cow<'_, str> {
    match v {
        Value::Null => Cow::Borrowed(""),
        Value::Str(s) => Cow::Borrowed(s),
        Value::Bool(true) => Cow::Borrowed("True"),
        Value::Bool(false) => Cow::Borrowed("False"),
        Value::Int(i) => Cow::Owned(i.to_string()),
        Value::Float(f) => Cow::Owned(f.to_string()),
        Value::List(items) => items.first().map(entra_str).unwrap_or_default(),
        Value::Object(_) => Cow::Owned(v.to_json().to_string()),
    }
}
