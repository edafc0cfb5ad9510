//! Errors in the SCIM paths rules write and `match` names: undeclared extensions, and paths
//! the User schema does not have or does not let a client write.

use thiserror::Error;

use super::{Parts, Problem, did_you_mean};
use crate::mapping::diagnostic::{self, Code};
use crate::mapping::source::Span;

#[derive(Debug, Error)]
pub(in crate::mapping::check) enum PathError {
    #[error("unknown extension alias `{alias}`")]
    UnknownAlias {
        alias: String,
        /// The closest declared alias (or `enterprise`).
        closest: Option<String>,
        at: Span,
    },
    #[error("this path's schema is not declared")]
    UndeclaredSchema {
        /// Whether the path is a declared URN alone, without an attribute after it.
        whole_urn: bool,
        at: Span,
    },
    #[error("`{attribute}` is read-only in SCIM")]
    ReadOnly { attribute: &'static str, at: Span },
    #[error("`{name}` is not {} attribute", if *.in_extension { "an enterprise User" } else { "a core User" })]
    UnknownAttribute {
        name: String,
        in_extension: bool,
        suggestion: PathSuggestion,
        at: Span,
    },
    #[error("`{attribute}` has no sub-attribute `{sub}`")]
    UnknownSubAttribute {
        attribute: &'static str,
        sub: String,
        suggestion: PathSuggestion,
        at: Span,
    },
    #[error("`{attribute}` has a single value; a `[...]` filter needs a multi-valued attribute")]
    FilterOnSingleValued { attribute: &'static str, at: Span },
    #[error("`{attribute}` is complex: name one of its sub-attributes")]
    MissingSubAttribute {
        attribute: &'static str,
        suggestion: PathSuggestion,
        at: Span,
    },
    #[error("`{attribute}` has no sub-attributes")]
    NotComplex { attribute: &'static str, at: Span },
}

/// What to suggest for a name the schema does not have.
#[derive(Debug)]
pub(in crate::mapping::check) enum PathSuggestion {
    /// A close name.
    Closest(&'static str),
    /// A short list of every name that would do.
    OneOf(Vec<&'static str>),
    Nothing,
}

impl PathSuggestion {
    /// The closest of `candidates` to `wrong`, or all of them when there are few.
    pub(in crate::mapping::check) fn new(wrong: &str, candidates: &[&'static str]) -> Self {
        if let Some(closest) = diagnostic::did_you_mean(wrong, candidates.iter().copied()) {
            PathSuggestion::Closest(closest)
        } else if !candidates.is_empty() && candidates.len() <= 8 {
            PathSuggestion::OneOf(candidates.to_vec())
        } else {
            PathSuggestion::Nothing
        }
    }

    fn help(&self) -> Option<String> {
        match self {
            PathSuggestion::Closest(name) => Some(did_you_mean(name)),
            PathSuggestion::OneOf(names) => Some(format!("one of: {}", names.join(", "))),
            PathSuggestion::Nothing => None,
        }
    }
}

impl Problem for PathError {
    fn parts(&self) -> Parts {
        use PathError::*;
        match self {
            UnknownAlias { alias, closest, at } => {
                Parts::error(Code::UnknownExtension, *at, "not declared").help(match closest {
                    Some(closest) => did_you_mean(closest),
                    None => format!("declare it first: `extension {alias} = \"urn:…\"`"),
                })
            }
            UndeclaredSchema { whole_urn, at } => {
                Parts::error(Code::UnknownExtension, *at, "unknown schema URN").help(if *whole_urn {
                    "a path names an attribute inside the schema: add `:attributeName` after the URN"
                } else {
                    "declare the extension first: `extension short = \"urn:…\"`, then write `short:attribute`"
                })
            }
            ReadOnly { at, .. } => Parts::error(Code::ReadOnlyPath, *at, "the service provider sets this")
                .help("remove this rule; group membership is pushed with group rules, `id` is assigned by the target"),
            UnknownAttribute { suggestion, at, .. }
            | UnknownSubAttribute { suggestion, at, .. }
            | MissingSubAttribute { suggestion, at, .. } => not_in_schema(*at, suggestion),
            FilterOnSingleValued { at, .. } | NotComplex { at, .. } => {
                not_in_schema(*at, &PathSuggestion::Nothing)
            }
        }
    }
}

fn not_in_schema(at: Span, suggestion: &PathSuggestion) -> Parts {
    let parts = Parts::error(Code::UnknownPath, at, "not in the schema");
    match suggestion.help() {
        Some(help) => parts.help(help),
        None => parts,
    }
}
