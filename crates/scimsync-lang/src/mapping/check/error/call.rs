//! Errors in function calls and operators: unknown or tenant-only functions, arity, argument
//! types, constant arguments that cannot work, constructs of another dialect, and where
//! Entra allows `SelectUniqueValue` and how long an Entra expression may be.

use thiserror::Error;

use super::{Parts, Problem, did_you_mean, was_were};
use crate::mapping::Dialect;
use crate::mapping::check::placement::ENTRA_MAX_EXPRESSION_CHARS;
use crate::mapping::diagnostic::Code;
use crate::mapping::functions::Ty;
use crate::mapping::functions::joda::JodaError;
use crate::mapping::pattern::PatternError;
use crate::mapping::source::Span;
use crate::scim::path::AttrPath;

#[derive(Debug, Error)]
pub(in crate::mapping::check) enum CallError {
    #[error("unknown function `{name}`")]
    UnknownFunction {
        name: String,
        dialect: Dialect,
        hint: FunctionHint,
        at: Span,
    },
    #[error("`{name}` needs an {} tenant", .dialect.title())]
    TenantOnly {
        name: String,
        dialect: Dialect,
        /// Why scimsync cannot evaluate it.
        why: &'static str,
        at: Span,
    },
    #[error("`{name}` takes {takes}, but {given} {} given", was_were(*.given))]
    Arity {
        name: String,
        takes: String,
        given: usize,
        signature: &'static str,
        at: Span,
    },
    #[error("`Switch` takes keys and values in pairs, but {given} arguments were given")]
    SwitchPairs { given: usize, at: Span },
    #[error("argument {position} of `{name}` cannot be left out")]
    Omitted {
        name: String,
        position: usize,
        signature: &'static str,
        at: Span,
    },
    #[error("argument {position} of `{name}` should be {}, but this is {}", .expected.name(), .found.name())]
    ArgumentType {
        name: String,
        position: usize,
        expected: Ty,
        found: Ty,
        signature: &'static str,
        at: Span,
    },
    #[error("`getInternalProperty` takes \"id\" or \"status\"")]
    InternalProperty { at: Span },
    /// A constant regular expression that does not compile.
    #[error("{problem}")]
    Regex { problem: PatternError, at: Span },
    #[error(
        "\"{zone}\" is not a time-zone id; use an IANA id like \"America/New_York\" or \"Etc/UTC\""
    )]
    Zone { zone: String, at: Span },
    #[error("{problem}")]
    JodaPattern { problem: JodaError, at: Span },
    /// Classic Okta EL has no method calls on values.
    #[error("`.{method}()` is a method call on a value")]
    MethodInClassicOkta { method: String, at: Span },
    #[error("type references `T(...)` are SpEL, but Okta expressions do not support them")]
    TypeReference { at: Span },
    #[error("`=` assigns in Okta expressions")]
    Assignment { at: Span },
    #[error(
        "the expression is {length} characters long; Entra accepts at most {ENTRA_MAX_EXPRESSION_CHARS}"
    )]
    EntraTooLong { length: usize, at: Span },
    #[error("`{function}` must be the whole expression of a rule")]
    SelectUniqueNested { function: &'static str, at: Span },
    #[error("a `{function}` rule must apply `on create` only")]
    SelectUniqueOnUpdate { function: &'static str, at: Span },
    #[error("`{function}` cannot write `{path}`, the match attribute")]
    SelectUniqueMatched {
        function: &'static str,
        path: AttrPath,
        at: Span,
    },
}

/// What an unknown function name may have meant.
#[derive(Debug)]
pub(in crate::mapping::check) enum FunctionHint {
    /// A function of another dialect, with this dialect's equivalent when there is one.
    OtherDialect {
        other: Dialect,
        equivalent: Option<&'static str>,
    },
    /// This dialect's function, written in another letter case.
    Case(&'static str),
    Closest(&'static str),
    Nothing,
}

impl Problem for CallError {
    fn parts(&self) -> Parts {
        use CallError::*;
        match self {
            UnknownFunction {
                name,
                dialect,
                hint,
                at,
            } => unknown_function(name, *dialect, hint, *at),
            TenantOnly { why, at, .. } => {
                Parts::error(Code::TenantOnlyFunction, *at, "not available outside the tenant")
                    .help(format!("scimsync cannot evaluate it: {why}"))
            }
            Arity { signature, at, .. } => {
                Parts::error(Code::Arity, *at, "wrong number of arguments")
                    .help(format!("call it as `{signature}`"))
            }
            SwitchPairs { at, .. } => Parts::error(Code::Arity, *at, "a key has no value")
                .help("after the source and the default, give key, value, key, value, ...; an even number in all"),
            Omitted { signature, at, .. } => {
                Parts::error(Code::OmittedArgument, *at, "empty argument")
                    .help(format!("call it as `{signature}`"))
            }
            ArgumentType {
                found,
                signature,
                at,
                ..
            } => Parts::error(Code::Type, *at, found.name())
                .help(format!("call it as `{signature}`")),
            InternalProperty { at } => Parts::error(Code::Type, *at, "unsupported property")
                .help("write `user.getInternalProperty(\"id\")` or `user.getInternalProperty(\"status\")`"),
            Regex { at, .. } => Parts::error(Code::Type, *at, "not a valid regular expression"),
            Zone { at, .. } => Parts::error(Code::Type, *at, "unknown time zone"),
            JodaPattern { at, .. } => Parts::error(Code::Type, *at, "not a Joda date-time pattern"),
            MethodInClassicOkta { method, at } => Parts::error(
                Code::WrongDialect,
                *at,
                "method calls are Okta Identity Engine syntax",
            )
            .help(format!(
                "classic Okta EL calls functions with the value as argument, e.g. `String.{method}(value, ...)`; for Identity Engine expressions write `dialect okta2`"
            )),
            TypeReference { at } => Parts::error(Code::WrongDialect, *at, "not supported")
                .help("use the String, Arrays, Convert and Time functions instead"),
            Assignment { at } => Parts::error(Code::WrongDialect, *at, "not a comparison")
                .help("compare with `==`"),
            EntraTooLong { at, .. } => Parts::error(Code::ExpressionTooLong, *at, "past Entra's limit")
                .help("Entra refuses the mapping: split the logic across rules, or compute the value in the directory"),
            SelectUniqueNested { function, at } => Parts::error(Code::Placement, *at, "nested inside another expression")
                .help(format!("Entra only evaluates it at the top level: `path <- {function}(rule1, rule2, ...) on create`")),
            SelectUniqueOnUpdate { at, .. } => Parts::error(Code::BadOption, *at, "applied on every sync")
                .help("add `on create`: on update the user's own value would count as taken, so the value would change each run"),
            SelectUniqueMatched { at, .. } => Parts::error(Code::Placement, *at, "the match attribute")
                .help("Entra does not allow it on a matching attribute: match users on another one, e.g. `match externalId` with `externalId <- [objectId]`"),
        }
    }
}

fn unknown_function(name: &str, dialect: Dialect, hint: &FunctionHint, at: Span) -> Parts {
    let parts = Parts::error(
        Code::UnknownFunction,
        at,
        format!("not an {} function", dialect.title()),
    );
    let help = match hint {
        FunctionHint::OtherDialect {
            other,
            equivalent: Some(equivalent),
        } => format!(
            "`{name}` is an {} function; in the {dialect} dialect use `{equivalent}`, or switch with `dialect {other}`",
            other.title()
        ),
        FunctionHint::OtherDialect {
            other,
            equivalent: None,
        } => format!(
            "`{name}` is an {} function; switch with `dialect {other}`",
            other.title()
        ),
        FunctionHint::Case(exact) => format!(
            "{} function names are case-sensitive: write `{exact}`",
            dialect.title()
        ),
        FunctionHint::Closest(closest) => did_you_mean(closest),
        FunctionHint::Nothing => return parts,
    };
    parts.help(help)
}
