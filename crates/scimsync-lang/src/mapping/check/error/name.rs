//! Errors and warnings about names: bare words, `root.property` reads, and source attributes
//! that look like misspelt standard ones.

use thiserror::Error;

use super::{Parts, Problem, did_you_mean};
use crate::mapping::Dialect;
use crate::mapping::check::{ENTRA_CONSTANTS, OKTA_NAMESPACES};
use crate::mapping::diagnostic::{self, Code};
use crate::mapping::source::Span;

#[derive(Debug, Error)]
pub(in crate::mapping::check) enum NameError {
    /// An Entra bare word that is not one of its constants.
    #[error("unknown name `{name}`")]
    UnknownEntraName { name: String, at: Span },
    /// An Okta bare word that names no value: `user`, a namespace, or an unknown word.
    #[error("`{name}` is not a value")]
    NotAValue { name: String, at: Span },
    /// Warning: an Okta bare name read as a user attribute.
    #[error("`{name}` is read as `{explicit}`")]
    BareAttribute {
        name: String,
        explicit: String,
        at: Span,
    },
    /// `String.toLowerCase` without its arguments.
    #[error("`{namespace}.{function}` is a function")]
    FunctionNotCalled {
        namespace: String,
        function: String,
        at: Span,
    },
    #[error("properties can only be read from `user`")]
    PropertyOfNonUser { at: Span },
    /// Warning: a source attribute one slip away from a standard one.
    #[error("`{name}` is not a standard {} attribute", .dialect.source_kind())]
    NonStandardAttribute {
        name: String,
        meant: &'static str,
        dialect: Dialect,
        at: Span,
    },
}

impl Problem for NameError {
    fn parts(&self) -> Parts {
        use NameError::*;
        match self {
            UnknownEntraName { name, at } => {
                Parts::error(Code::UnknownName, *at, "not an attribute or constant").help(
                    match diagnostic::did_you_mean(name, ENTRA_CONSTANTS.iter().copied()) {
                        Some(closest) => did_you_mean(closest),
                        None => format!("Entra attributes are written in brackets: `[{name}]`"),
                    },
                )
            }
            NotAValue { name, at } => {
                Parts::error(Code::UnknownName, *at, "cannot be used here").help(not_a_value_help(name))
            }
            BareAttribute { explicit, at, .. } => Parts::warning(Code::UnknownName, *at, "a bare name")
                .help(format!(
                    "Okta's samples write bare names for the user's attributes; write `{explicit}` to say so"
                )),
            FunctionNotCalled {
                namespace,
                function,
                at,
            } => Parts::error(Code::UnknownName, *at, "missing its arguments")
                .help(format!("call it: `{namespace}.{function}(...)`")),
            PropertyOfNonUser { at } => {
                Parts::error(Code::UnknownName, *at, "not an attribute of the user")
                    .help("write the attribute as `user.name`")
            }
            NonStandardAttribute { meant, at, .. } => {
                Parts::warning(Code::UnknownName, *at, "read from the source as written").help(format!(
                    "did you mean `{meant}`? A custom attribute of this name is fine; a misspelt one is always null"
                ))
            }
        }
    }
}

/// What an Okta bare word that is not a value should have been.
fn not_a_value_help(name: &str) -> String {
    if name == "user" {
        "`user` is the whole user; name an attribute, e.g. `user.email`".to_owned()
    } else if OKTA_NAMESPACES.contains(&name) {
        format!(
            "`{name}` is a function namespace; call one of its functions, e.g. `String.toLowerCase(user.email)`"
        )
    } else if let Some(closest) = diagnostic::did_you_mean(name, ["user"]) {
        did_you_mean(closest)
    } else {
        format!("Okta reads attributes from the user: write `user.{name}`")
    }
}
