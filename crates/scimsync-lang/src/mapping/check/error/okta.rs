//! Errors in Okta's own constructs: group criteria maps, the roots an expression may read,
//! and Identity Engine methods.

use thiserror::Error;

use super::{Parts, Problem, did_you_mean, was_were};
use crate::mapping::check::okta::{CRITERION_KEYS, EL2_USER_PROPERTIES};
use crate::mapping::diagnostic::{self, Code};
use crate::mapping::functions::Ty;
use crate::mapping::functions::okta::methods;
use crate::mapping::source::Span;

#[derive(Debug, Error)]
pub(in crate::mapping::check) enum OktaError {
    #[error("an inline map is not a value scimsync can use")]
    StrayMap { at: Span },
    #[error("`{query}` needs at least one criterion")]
    NoCriteria {
        query: String,
        signature: &'static str,
        at: Span,
    },
    #[error("each criterion of `{query}` is a map")]
    CriterionNotMap { query: String, at: Span },
    #[error("a criterion matches one property")]
    TwoProperties { at: Span, first: Span },
    #[error("the operator is 'EXACT' or 'STARTS_WITH'")]
    BadOperator { at: Span },
    #[error("`{key}` is known only inside an Okta tenant")]
    TenantCriterion { key: String, at: Span },
    #[error("`{key}` is not a group criterion")]
    UnknownCriterionKey { key: String, at: Span },
    #[error("this criterion names no group property")]
    EmptyCriterion { at: Span },
    #[error("an operator applies to 'group.profile.name' only")]
    OperatorOnId { at: Span },
    #[error("`{root}` exists only inside an Okta tenant")]
    TenantRoot {
        root: String,
        why: &'static str,
        at: Span,
    },
    #[error("unknown name `{root}`")]
    UnknownRoot {
        root: String,
        /// The properties read from it, joined with dots.
        property: String,
        at: Span,
    },
    #[error("`{root}.{property}` is not an Identity Engine user property")]
    NotUserProperty {
        root: String,
        property: String,
        at: Span,
    },
    #[error("unknown function `{name}`")]
    UnknownStaticMethod { name: String, at: Span },
    #[error("`{name}` takes no arguments")]
    StaticMethodArity { name: String, at: Span },
    #[error("unknown method `.{method}()`")]
    UnknownMethod { method: String, at: Span },
    #[error("`.{method}()` applies to {}, but this is {}", .on.name(), .found.name())]
    ReceiverType {
        method: String,
        on: Ty,
        found: Ty,
        at: Span,
        method_at: Span,
    },
    #[error("`.{method}()` takes {}, but {given} {} given", takes(*.min, *.max), was_were(*.given))]
    MethodArity {
        method: String,
        min: usize,
        max: usize,
        given: usize,
        /// The classic function it runs, and that function's signature.
        runs: &'static str,
        signature: &'static str,
        at: Span,
    },
}

impl Problem for OktaError {
    fn parts(&self) -> Parts {
        use OktaError::*;
        match self {
            StrayMap { at } => Parts::error(Code::Type, *at, "a map")
                .help("maps are group criteria: `user.isMemberOf({'group.profile.name': 'Sales'})`; for a list write `{'a', 'b'}`"),
            NoCriteria { signature, at, .. } => Parts::error(Code::Arity, *at, "no criteria")
                .help(format!("call it as `{signature}`")),
            CriterionNotMap { at, .. } => Parts::error(Code::Type, *at, "not a map")
                .help("write `{'group.profile.name': 'Sales'}` or `{'group.id': {'00g1', '00g2'}}`"),
            TwoProperties { at, first } => Parts::error(Code::Type, *at, "second property")
                .secondary(*first, "first property")
                .help("put each property in its own map: `user.isMemberOf({'group.id': '00g1'}, {'group.profile.name': 'Sales'})` (both must hold)"),
            BadOperator { at } => Parts::error(Code::Type, *at, "not an operator")
                .help("write 'operator': 'EXACT' for whole names; without it names match by prefix"),
            TenantCriterion { at, .. } => Parts::error(Code::TenantOnlyFunction, *at, "not available to scimsync")
                .help("scimsync knows each group's name (and id, from Okta exports): match on 'group.profile.name' or 'group.id'"),
            UnknownCriterionKey { key, at } => Parts::error(Code::UnknownName, *at, "unknown key").help(
                match diagnostic::did_you_mean(key, CRITERION_KEYS.iter().copied()) {
                    Some(closest) => did_you_mean(closest),
                    None => "a criterion uses 'group.profile.name' (with an optional 'operator') or 'group.id'".to_owned(),
                },
            ),
            EmptyCriterion { at } => Parts::error(Code::Type, *at, "nothing to match")
                .help("add 'group.profile.name' or 'group.id'"),
            OperatorOnId { at } => Parts::error(Code::Type, *at, "ids match exactly"),
            TenantRoot { why, at, .. } => {
                Parts::error(Code::TenantOnlyFunction, *at, "not available to scimsync").help(*why)
            }
            UnknownRoot { root, property, at } => Parts::error(Code::UnknownName, *at, "not a known root").help(
                match diagnostic::did_you_mean(root, ["user", "source"]) {
                    Some(closest) => did_you_mean(closest),
                    None => format!(
                        "scimsync reads the directory user as `user.{property}`; `{root}.{property}` would read another app's user profile inside an Okta tenant"
                    ),
                },
            ),
            NotUserProperty { root, property, at } => {
                Parts::error(Code::UnknownName, *at, "not a user property").help(if property == "profile" {
                    "name an attribute: `user.profile.email`".to_owned()
                } else {
                    format!(
                        "Identity Engine reads profile attributes under `profile`: `{root}.profile.{property}` (beside it only {})",
                        EL2_USER_PROPERTIES
                            .iter()
                            .map(|p| format!("`{p}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
            }
            UnknownStaticMethod { at, .. } => Parts::error(Code::UnknownFunction, *at, "not an Identity Engine function")
                .help("`DateTime.now()` is the one static DateTime function; the others are methods on a time, e.g. `user.profile.startDate.parseStringTime().plusDays(1)`"),
            StaticMethodArity { at, .. } => Parts::error(Code::Arity, *at, "wrong number of arguments")
                .help("call it as `DateTime.now()`; format it with `.toString(\"yyyy-MM-dd\")` or move it with `.toZone(\"America/New_York\")`"),
            UnknownMethod { method, at } => Parts::error(Code::UnknownFunction, *at, "not an Identity Engine method").help(
                match diagnostic::did_you_mean(method, methods::METHODS.iter().map(|m| m.name)) {
                    Some(closest) => format!("did you mean `.{closest}()`?"),
                    None => "methods on strings include `.toLowerCase()`, `.substringBefore(\"@\")`, `.replace(a, b)`; on lists `.contains(x)`, `.size()`".to_owned(),
                },
            ),
            ReceiverType {
                found,
                at,
                method_at,
                ..
            } => Parts::error(Code::Type, *at, found.name()).secondary(*method_at, "method called here"),
            MethodArity {
                runs,
                signature,
                at,
                ..
            } => Parts::error(Code::Arity, *at, "wrong number of arguments")
                .help(format!("it runs `{runs}`: {signature}")),
        }
    }
}

/// How many arguments a method takes: "no arguments", "1 argument", "1 or 2 arguments".
fn takes(min: usize, max: usize) -> String {
    let count = |n: usize| match n {
        0 => "no arguments".to_owned(),
        1 => "1 argument".to_owned(),
        n => format!("{n} arguments"),
    };
    if min == max {
        count(max)
    } else {
        format!("{min} or {}", count(max))
    }
}
