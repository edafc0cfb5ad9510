//! Errors in the file's statements: declarations that repeat or are malformed, a scope that
//! is not a usable condition, what the mapping needs but lacks, and group statements.

use thiserror::Error;

use super::{Parts, Problem};
use crate::mapping::diagnostic::Code;
use crate::mapping::functions::Ty;
use crate::mapping::source::Span;
use crate::scim::path::AttrPath;

#[derive(Debug, Error)]
pub(in crate::mapping::check) enum StatementError {
    #[error("`{what}` may appear only once")]
    Repeated {
        what: &'static str,
        at: Span,
        first: Span,
    },
    #[error("extension alias `{alias}` is declared twice")]
    AliasTwice {
        alias: String,
        at: Span,
        first: Span,
    },
    #[error("`urn` cannot be an extension alias")]
    ReservedAlias { at: Span },
    #[error("`{urn}` is not a schema URN")]
    NotAUrn { urn: String, at: Span },
    #[error("the scope must be a condition, but this is {}", .found.name())]
    ScopeNotCondition { found: Ty, at: Span },
    #[error("this scope is false for every user")]
    ScopeNeverTrue { at: Span },
    #[error("`{written}` is written by two rules")]
    PathWrittenTwice {
        written: String,
        at: Span,
        first: Span,
    },
    #[error("no rule writes `{path}`, the match attribute")]
    MatchNotWritten { path: AttrPath, at: Span },
    #[error("no rule writes `userName`")]
    UserNameNotWritten { at: Span },
    #[error("this is not a valid regular expression")]
    GroupRegex { problem: String, at: Span },
    #[error("group \"{group}\" is pushed twice")]
    GroupTwice {
        group: String,
        at: Span,
        first: Span,
    },
    #[error("`as` would give every matching group the same displayName")]
    NamedGroupPattern { at: Span },
}

impl Problem for StatementError {
    fn parts(&self) -> Parts {
        use StatementError::*;
        match self {
            Repeated { at, first, .. } => {
                Parts::error(Code::DuplicateStatement, *at, "appears again here")
                    .secondary(*first, "first here")
            }
            AliasTwice { at, first, .. } => {
                Parts::error(Code::DuplicateStatement, *at, "declared again here")
                    .secondary(*first, "first declared here")
            }
            ReservedAlias { at } => Parts::error(Code::BadOption, *at, "reserved")
                .help("paths that start with `urn:` are full URNs; pick another alias"),
            NotAUrn { at, .. } => Parts::error(Code::UnknownExtension, *at, "expected `urn:…`")
                .help("copy the extension's schema URN from the provider's guide, e.g. `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`"),
            ScopeNotCondition { at, .. } => Parts::error(Code::Type, *at, "not true or false")
                .help("write a condition such as `user.status == \"ACTIVE\"`"),
            ScopeNeverTrue { at } => Parts::error(Code::ScopeNeverTrue, *at, "never true")
                .help("no user would be provisioned and every managed user would be deactivated; fix the condition or remove `scope`"),
            PathWrittenTwice { at, first, .. } => {
                Parts::error(Code::DuplicatePath, *at, "written again here")
                    .secondary(*first, "first written here")
                    .help("keep one rule per SCIM path; combine the logic with a conditional")
            }
            MatchNotWritten { path, at } => {
                Parts::error(Code::Missing, *at, "matched on this attribute").help(format!(
                    "add a rule `{path} <- ...` so each user has a value to match on"
                ))
            }
            UserNameNotWritten { at } => Parts::error(Code::Missing, *at, "every SCIM user needs a userName")
                .help("add a rule such as `userName <- user.email` (Okta) or `userName <- [userPrincipalName]` (Entra)"),
            GroupRegex { problem, at } => Parts::error(Code::BadOption, *at, problem)
                .help("`groups matching` takes a regular expression, e.g. \"^b44-\""),
            GroupTwice { at, first, .. } => {
                Parts::error(Code::DuplicateStatement, *at, "pushed again here")
                    .secondary(*first, "first pushed here")
            }
            NamedGroupPattern { at } => Parts::error(Code::BadOption, *at, "several groups, one name")
                .help("push the group by name: `group \"NAME\" as \"Display name\"`"),
        }
    }
}
