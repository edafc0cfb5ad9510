//! The function tables of both dialects.
//!
//! A function is one [`Function`] entry: its name as written, its parameters with their
//! static types, its result type, what sets it apart (purity, placement, redaction...), its
//! documented examples, and an `eval` that receives its arguments lazily through [`Args`]
//! (so `IIF` evaluates only the branch it takes, and Entra's omitted arguments are visible).
//! Adding a function is adding one entry to `okta.rs` or `entra.rs`, written with the one
//! builder in `builder.rs`. The checker, the evaluator and `explain` read this metadata
//! through the methods of [`Function`]; [`reference_table`] renders it for the docs.

mod builder;
pub mod diacritics;
pub mod dotnet_datetime;
pub mod entra;
pub mod iso3166;
pub mod joda;
pub mod okta;
mod reference;

pub use reference::reference_table;

use super::Dialect;
use std::borrow::Cow;

use super::eval::{Env, EvalError, eval, eval_ref};
use super::plan::Node;
use super::source::Span;
use crate::value::Value;

/// Static types, as far as the checker knows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    Any,
    Str,
    Int,
    Num,
    Bool,
    List,
}

impl Ty {
    pub fn name(self) -> &'static str {
        match self {
            Ty::Any => "any value",
            Ty::Str => "a string",
            Ty::Int => "an integer",
            Ty::Num => "a number",
            Ty::Bool => "a boolean",
            Ty::List => "a list",
        }
    }

    /// The static type of a constant.
    pub fn of(value: &Value) -> Ty {
        match value {
            Value::Null => Ty::Any,
            Value::Bool(_) => Ty::Bool,
            Value::Int(_) => Ty::Int,
            Value::Float(_) => Ty::Num,
            Value::Str(_) => Ty::Str,
            Value::List(_) => Ty::List,
            Value::Object(_) => Ty::Any,
        }
    }

    /// Whether a value of type `self` can be passed where `expected` is wanted. Numbers and
    /// strings pass for each other (Entra quotes numbers freely, Okta converts).
    pub fn fits(self, expected: Ty) -> bool {
        use Ty::*;
        matches!(
            (self, expected),
            (Any, _)
                | (_, Any)
                | (Str | Int | Num, Str | Int | Num)
                | (Bool, Bool)
                | (List, List)
                | (Bool, Str)
        ) || self == expected
    }
}

pub type EvalFn = fn(&mut Args<'_>) -> Result<Value, EvalError>;

/// How many times a parameter is passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// Always given.
    Required,
    /// May be left off the end of the call.
    Optional,
    /// Any number of further arguments, none included.
    Repeated,
}

/// One declared parameter of a function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Param {
    /// As the vendor's reference names it: `source`, `culture`.
    pub name: &'static str,
    pub ty: Ty,
    pub kind: ParamKind,
}

/// What a documented example gives.
#[derive(Clone, Copy, Debug)]
pub enum Outcome {
    /// This value, as JSON text.
    Value(&'static str),
    /// A value that varies from call to call (`Guid()`): `sample` is one such value, `check`
    /// tells whether a result has its shape.
    Shape {
        sample: &'static str,
        check: fn(&Value) -> bool,
    },
    /// A run-time failure with this message.
    Fails(&'static str),
}

/// One documented example: an expression, the record and clock it runs with, its outcome.
#[derive(Clone, Copy, Debug)]
pub struct Example {
    pub expr: &'static str,
    /// A flat JSON object: the record's attributes.
    pub record: &'static str,
    /// The clock, RFC 3339.
    pub now: &'static str,
    pub result: Outcome,
}

impl Example {
    /// The clock of examples that do not set one (as in the expression corpus,
    /// `tests/expressions`).
    pub const DEFAULT_NOW: &'static str = "2026-01-01T00:00:00Z";
}

/// One function of a dialect.
#[derive(Debug)]
pub struct Function {
    /// As written in expressions: `String.toLowerCase`, `ToLower`, `isMemberOfGroupName`.
    pub name: &'static str,
    /// How it is called, for messages: `ToLower(source, culture?)`.
    pub signature: &'static str,
    /// Its parameters, in order; the last one's type applies to any further arguments.
    pub params: &'static [Param],
    /// The number of required parameters.
    pub min_args: usize,
    /// `None` when it takes any number of arguments.
    pub max_args: Option<usize>,
    pub returns: Ty,
    /// Whether an argument may be left out in the middle (`Replace([x], , "re", , "", , )`).
    pub omittable: bool,
    /// Whether it can fail for some input (bad number, index out of range...).
    pub fallible: bool,
    /// Whether it reads the record's group memberships.
    pub uses_groups: bool,
    /// Whether a rule that calls it is shown as `[Redact]` (Entra's `Redact`).
    pub redacts: bool,
    /// Whether the same arguments always give the same result (not `Now`, `Guid`...).
    pure: bool,
    /// Whether it must be a rule's whole expression (Entra's `SelectUniqueValue`).
    top_level: bool,
    /// Whether it asks the target which values are taken (Entra's `SelectUniqueValue`).
    asks_target: bool,
    /// Whether it can stop its rule from flowing (Entra's `IgnoreFlowIfNullOrEmpty`).
    ignores_flow: bool,
    examples: &'static [Example],
    pub eval: EvalFn,
}

impl Function {
    /// The expected type of argument `index`; the last parameter's type for any further ones.
    pub fn arg_type(&self, index: usize) -> Ty {
        self.params
            .get(index)
            .or(self.params.last())
            .map_or(Ty::Any, |p| p.ty)
    }

    /// Whether the same arguments always give the same result: false for the clock
    /// (`Now`, `Time.now`), randomness (`Guid`, `RandomString`) and the target's state
    /// (`SelectUniqueValue`). An expression that calls an impure function is never constant.
    pub fn is_pure(&self) -> bool {
        self.pure
    }

    /// Whether it must be a rule's whole expression (Entra's `SelectUniqueValue`).
    pub fn must_be_top_level(&self) -> bool {
        self.top_level
    }

    /// Whether a rule that calls it hides its value from logs and `explain` (Entra's `Redact`).
    pub fn redacts(&self) -> bool {
        self.redacts
    }

    /// Whether evaluating it asks the target which values are already taken, so the sync
    /// must load them (Entra's `SelectUniqueValue`).
    pub fn asks_target(&self) -> bool {
        self.asks_target
    }

    /// Whether, as a rule's whole expression, it can stop the rule from flowing (Entra's
    /// `IgnoreFlowIfNullOrEmpty`).
    pub fn ignores_flow(&self) -> bool {
        self.ignores_flow
    }

    /// Its documented examples, from the vendor's reference where it has some.
    pub fn examples(&self) -> &'static [Example] {
        self.examples
    }

    pub fn accepts(&self, count: usize) -> bool {
        count >= self.min_args && self.max_args.is_none_or(|max| count <= max)
    }

    /// "1 argument", "2 or 3 arguments", "at least 2 arguments".
    pub fn arity_text(&self) -> String {
        let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
        match self.max_args {
            Some(max) if max == self.min_args => format!("{max} {}", plural(max)),
            Some(max) if max == self.min_args + 1 => {
                format!("{} or {max} {}", self.min_args, plural(max))
            }
            Some(max) => format!("{} to {max} {}", self.min_args, plural(max)),
            None => format!("at least {} {}", self.min_args, plural(self.min_args)),
        }
    }
}

/// The functions of a dialect.
pub fn table(dialect: Dialect) -> &'static [Function] {
    match dialect {
        Dialect::Okta | Dialect::Okta2 => okta::FUNCTIONS,
        Dialect::Entra => entra::FUNCTIONS,
    }
}

pub fn lookup(dialect: Dialect, name: &str) -> Option<&'static Function> {
    table(dialect).iter().find(|f| f.name == name)
}

/// Functions that only make sense inside an Okta or Entra tenant, with why and what to use.
pub fn tenant_only(dialect: Dialect, name: &str) -> Option<&'static str> {
    let list: &[(&str, &str)] = match dialect {
        Dialect::Okta | Dialect::Okta2 => okta::TENANT_ONLY,
        Dialect::Entra => entra::TENANT_ONLY,
    };
    list.iter().find(|(n, _)| *n == name).map(|(_, why)| *why)
}

/// A function's arguments, evaluated on demand.
pub struct Args<'a> {
    nodes: &'a [Option<Node>],
    env: &'a Env<'a>,
    /// The call's span, for errors.
    pub span: Span,
}

impl<'a> Args<'a> {
    pub fn new(nodes: &'a [Option<Node>], env: &'a Env<'a>, span: Span) -> Args<'a> {
        Args { nodes, env, span }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn env(&self) -> &Env<'a> {
        self.env
    }

    /// Whether argument `i` was given (present and not left empty).
    pub fn given(&self, i: usize) -> bool {
        matches!(self.nodes.get(i), Some(Some(_)))
    }

    /// Argument `i`; null when absent or left out.
    pub fn value(&mut self, i: usize) -> Result<Value, EvalError> {
        match self.nodes.get(i) {
            Some(Some(node)) => eval(node, self.env),
            _ => Ok(Value::Null),
        }
    }

    /// Argument `i` without a copy when it is a record attribute or a constant; null when
    /// absent or left out.
    pub fn value_ref(&mut self, i: usize) -> Result<Cow<'a, Value>, EvalError> {
        match self.nodes.get(i) {
            Some(Some(node)) => eval_ref(node, self.env),
            _ => Ok(Cow::Owned(Value::Null)),
        }
    }

    /// Argument `i` as a string, `None` when null. Numbers and booleans are rendered.
    pub fn text(&mut self, i: usize) -> Result<Option<String>, EvalError> {
        Ok(match self.value(i)? {
            Value::Null => None,
            Value::Str(s) => Some(s),
            other => Some(super::eval::spel_text(&other)),
        })
    }

    /// Argument `i` as an integer (numbers and numeric strings), `None` when null.
    pub fn int(&mut self, i: usize) -> Result<Option<i64>, EvalError> {
        let span = self.span;
        Ok(match self.value(i)? {
            Value::Null => None,
            Value::Int(n) => Some(n),
            Value::Float(f) if f.fract() == 0.0 => Some(f as i64),
            Value::Str(s) => Some(s.trim().parse::<i64>().map_err(|_| {
                EvalError::new(span, format!("expected a whole number, got \"{s}\""))
            })?),
            other => {
                return Err(EvalError::new(
                    span,
                    format!("expected a whole number, got {other}"),
                ));
            }
        })
    }

    pub fn error(&self, message: impl Into<String>) -> EvalError {
        EvalError::new(self.span, message)
    }
}

/// Applies `f` to a string argument, passing null through.
pub fn map_text(
    args: &mut Args<'_>,
    i: usize,
    f: impl FnOnce(String) -> String,
) -> Result<Value, EvalError> {
    Ok(args.text(i)?.map_or(Value::Null, |s| Value::Str(f(s))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_within_a_dialect() {
        for dialect in Dialect::ALL {
            let mut names: Vec<_> = table(dialect).iter().map(|f| f.name).collect();
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len(), "duplicate function name in {dialect}");
        }
    }

    fn every_function() -> impl Iterator<Item = &'static Function> {
        table(Dialect::Okta)
            .iter()
            .chain(okta::METHOD_ONLY)
            .chain(table(Dialect::Entra))
    }

    #[test]
    fn declared_parameters_appear_in_the_signature() {
        // `user.isMemberOf({'group.profile.name': 'Sales'}, ...)` shows an argument, not a name.
        for function in every_function().filter(|f| !f.signature.contains('{')) {
            for param in function.params {
                assert!(
                    param.kind == ParamKind::Repeated || function.signature.contains(param.name),
                    "`{}` does not mention its parameter `{}`",
                    function.signature,
                    param.name
                );
            }
        }
    }

    /// The checker's former `IMPURE_FUNCTIONS` list and `SelectUniqueValue` name tests, as
    /// metadata: switching the checker to the methods changes nothing.
    #[test]
    fn purity_and_placement_match_the_former_name_lists() {
        let impure: Vec<_> = every_function()
            .filter(|f| !f.is_pure())
            .map(|f| f.name)
            .collect();
        assert_eq!(
            impure,
            [
                "Time.now",
                "Guid",
                "Now",
                "RandomString",
                "SelectUniqueValue"
            ]
        );
        let top_level: Vec<_> = every_function()
            .filter(|f| f.must_be_top_level())
            .map(|f| f.name)
            .collect();
        assert_eq!(top_level, ["SelectUniqueValue"]);
        let asks_target: Vec<_> = every_function()
            .filter(|f| f.asks_target())
            .map(|f| f.name)
            .collect();
        assert_eq!(asks_target, ["SelectUniqueValue"]);
        let redacts: Vec<_> = every_function()
            .filter(|f| f.redacts())
            .map(|f| f.name)
            .collect();
        assert_eq!(redacts, ["Redact"]);
    }

    #[test]
    fn arity_text_reads_well() {
        let f = lookup(Dialect::Entra, "ToLower").unwrap();
        assert_eq!(f.arity_text(), "1 or 2 arguments");
    }
}
