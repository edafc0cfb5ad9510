//! Errors in a rule's options (`always`, `on create`, `default`, `one of`, `as`) and in what
//! its results become: the target's type and the allowed values.

use thiserror::Error;

use super::{Parts, Problem, did_you_mean};
use crate::mapping::diagnostic::{self, Code};
use crate::mapping::plan::{ConversionError, TargetType};
use crate::mapping::source::Span;
use crate::value::Value;

#[derive(Debug, Error)]
pub(in crate::mapping::check) enum RuleError {
    #[error("a rule is either `always` or `on create`, once")]
    FlowTwice { at: Span, first: Span },
    #[error("`default` is given twice")]
    DefaultTwice { at: Span },
    #[error("`one of` is given twice")]
    OneOfTwice { at: Span },
    #[error("unknown type `{name}`")]
    UnknownType { name: String, at: Span },
    /// `as` disagrees with the schema: `active <- x as integer`.
    #[error("`{target}` is {} attribute, but this rule converts to {}", article(*.schema), article(*.declared))]
    AsConflictsWithSchema {
        target: String,
        schema: TargetType,
        declared: TargetType,
        at: Span,
        target_at: Span,
    },
    #[error("this rule produces true or false, but `{target}` is an integer")]
    BooleanIntoInteger {
        target: String,
        /// Where `as integer` asks for the conversion, if it does.
        declared_at: Option<Span>,
        at: Span,
        target_at: Span,
    },
    #[error("this rule produces a string, but `{target}` is {}", article(*.target_type))]
    StringIntoNonString {
        target: String,
        target_type: TargetType,
        at: Span,
        target_at: Span,
    },
    #[error("`{target}` takes {}: {why}", article(*.target_type))]
    ConstantDoesNotConvert {
        target: String,
        target_type: TargetType,
        why: ConversionError,
        at: Span,
        target_at: Span,
    },
    #[error("{value} is not an allowed value for `{target}`")]
    NotAllowed {
        target: String,
        value: Value,
        allowed: Vec<Value>,
        at: Span,
        one_of_at: Span,
    },
}

/// The types `as` accepts.
const TYPE_NAMES: [&str; 3] = ["string", "integer", "boolean"];

impl Problem for RuleError {
    fn parts(&self) -> Parts {
        use RuleError::*;
        match self {
            FlowTwice { at, first } => Parts::error(Code::BadOption, *at, "conflicts")
                .secondary(*first, "already set here"),
            DefaultTwice { at } | OneOfTwice { at } => Parts::error(Code::BadOption, *at, "again"),
            UnknownType { name, at } => Parts::error(Code::BadOption, *at, "not a type").help(
                match diagnostic::did_you_mean(name, TYPE_NAMES) {
                    Some(closest) => did_you_mean(closest),
                    None => "write `as string`, `as integer` or `as boolean`".to_owned(),
                },
            ),
            AsConflictsWithSchema {
                schema,
                declared,
                at,
                target_at,
                ..
            } => Parts::error(
                Code::TargetType,
                *at,
                format!("converts to {}", article(*declared)),
            )
            .secondary(
                *target_at,
                format!("{} in the SCIM schema", article(*schema)),
            )
            .help(format!("write `as {}`, or remove `as`", schema.name())),
            BooleanIntoInteger {
                declared_at,
                at,
                target_at,
                ..
            } => {
                let parts = Parts::error(Code::TargetType, *at, "a boolean")
                    .help("produce numbers in both branches, e.g. `c ? 1 : 0`");
                match declared_at {
                    Some(span) => parts.secondary(*span, "converted to an integer here"),
                    None => parts.secondary(*target_at, "integer attribute"),
                }
            }
            StringIntoNonString {
                target_type,
                at,
                target_at,
                ..
            } => Parts::error(Code::TargetType, *at, "a string")
                .secondary(*target_at, format!("{} attribute", target_type.name()))
                .help(format!(
                    "convert it explicitly: add `as {}` after the expression",
                    target_type.name()
                )),
            ConstantDoesNotConvert {
                target_type,
                at,
                target_at,
                ..
            } => Parts::error(
                Code::TargetType,
                *at,
                format!("not {}", article(*target_type)),
            )
            .secondary(*target_at, format!("{} attribute", target_type.name())),
            NotAllowed {
                allowed,
                at,
                one_of_at,
                ..
            } => Parts::error(Code::EnumViolation, *at, "this value can be produced")
                .secondary(*one_of_at, "allowed values declared here")
                .help(format!(
                    "allowed: {}",
                    allowed
                        .iter()
                        .map(Value::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
        }
    }
}

/// The type with its article, for messages: "an integer".
pub(in crate::mapping::check) fn article(t: TargetType) -> &'static str {
    match t {
        TargetType::String => "a string",
        TargetType::Integer => "an integer",
        TargetType::Boolean => "a boolean",
    }
}
