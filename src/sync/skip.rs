//! Why a user, or a user's membership in a pushed group, is left out of a run. Typed so that
//! the engine compares and counts reasons by what they are, and text is made only where a
//! report, a dry-run diff or the JSON output shows one (always the same words).

use std::fmt;

use chrono::{DateTime, Utc};
use scimsync_lang::mapping::plan::RuleFailure;
use scimsync_lang::scim::path::AttrPath;
use serde::{Serialize, Serializer};

use super::diff::Action;

/// Why a desired user is left out of this run.
#[derive(Clone, Debug, PartialEq)]
pub enum SkipReason {
    /// A rule failed for this user.
    RuleFailed(RuleFailure),
    /// The mapping gave no `userName`.
    NoUserName,
    /// The mapping gave no value for the attribute users are matched on.
    NoMatchValue { match_path: AttrPath },
    /// Another source user maps to the same match value in this read.
    SameMatchValue {
        match_path: AttrPath,
        value: String,
        other: String,
    },
    /// The target user with this match value is managed for another, still active, source
    /// user.
    HeldByOther {
        match_path: String,
        value: String,
        other: String,
    },
    /// The action is switched off in `[sync.actions]`.
    ActionOff(Action),
    /// The user left the source, and `deactivate` is off.
    LeftButDeactivateOff,
    /// The target refused this action for the user before; not retried until the user
    /// changes or is forgotten.
    Refused {
        action: Action,
        at: DateTime<Utc>,
        status: Option<u16>,
        detail: String,
    },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::RuleFailed(failure) => write!(f, "{failure}"),
            SkipReason::NoUserName => f.write_str("no value for `userName`"),
            SkipReason::NoMatchValue { match_path } => {
                write!(f, "no value for the match attribute `{match_path}`")
            }
            SkipReason::SameMatchValue {
                match_path,
                value,
                other,
            } => write!(
                f,
                "`{match_path}` is \"{value}\", the same as source user {other}; if both are one person (re-created in the source), deactivate or remove the old one there and this one takes the account over"
            ),
            SkipReason::HeldByOther {
                match_path,
                value,
                other,
            } => write!(
                f,
                "the target user with `{match_path}` \"{value}\" is managed for source user {other}, which is still active in the source; if both are one person, run `scimsync state forget --config <file> {other}` and this user takes the account over on the next run"
            ),
            SkipReason::ActionOff(action) => {
                let action = action.verb();
                write!(f, "would {action}, but `{action}` is off in [sync.actions]")
            }
            SkipReason::LeftButDeactivateOff => f.write_str(
                "left the source; would deactivate, but `deactivate` is off in [sync.actions]",
            ),
            SkipReason::Refused {
                action,
                at,
                status,
                detail,
            } => {
                let status = status.map_or_else(String::new, |s| format!("HTTP {s}: "));
                write!(
                    f,
                    "not retried: the target refused to {} this user on {} ({status}{detail}); it is tried again when the user's mapped values change, or after `scimsync state forget`",
                    action.verb(),
                    at.format("%Y-%m-%d %H:%M UTC"),
                )
            }
        }
    }
}

/// Why a member of a pushed group is not pushed with it.
#[derive(Clone, Debug, PartialEq)]
pub enum MemberSkipReason {
    Inactive,
    OutOfScope,
    /// The user is skipped, and so is each of its memberships.
    Skipped(SkipReason),
    /// The user's create failed in this run.
    UserNotCreated,
}

impl fmt::Display for MemberSkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemberSkipReason::Inactive => f.write_str("the user is inactive"),
            MemberSkipReason::OutOfScope => f.write_str("the user is out of scope"),
            MemberSkipReason::Skipped(why) => write!(f, "the user is skipped ({why})"),
            MemberSkipReason::UserNotCreated => {
                f.write_str("the user could not be created on the target")
            }
        }
    }
}

/// Reasons appear in the JSON report as the sentence the text report shows.
impl Serialize for SkipReason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl Serialize for MemberSkipReason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}
