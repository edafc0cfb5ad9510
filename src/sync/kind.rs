//! Which kind of run a target gets, and why: **full** (list the whole target, repair drift,
//! adopt) or **incremental** (trust the state: only changed, new and departed users cost
//! requests). Pure: the state, the target's `full_reconcile` and the flags come in.
//!
//! A run is full on the first run, on `sync --full`, when `full_reconcile` is due, when the
//! target's filtering cannot be trusted for lookups (see [`crate::state::reconcile`]), and
//! when the mapping picks values among the target's users (`SelectUniqueValue` needs the
//! listing). Otherwise it is incremental.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::state::reconcile::{Filtering, Reconcile};

/// `full_reconcile`: when a full run is due after the last one.
#[derive(Clone, Debug, PartialEq)]
pub enum FullReconcile {
    /// This long after the last full run (`"24h"`, the default).
    Every(Duration),
    /// At the first tick of this cron expression after the last full run (6 fields, UTC).
    Cron(CronText),
    /// Every run is full (`"always"`, or a zero duration): today's behaviour.
    Always,
    /// Only the first run and `sync --full` are full (`"never"`).
    Never,
}

/// A parsed cron expression with the text it was written as.
#[derive(Clone, Debug)]
pub struct CronText {
    pub text: String,
    schedule: Box<cron::Schedule>,
}

impl PartialEq for CronText {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Default for FullReconcile {
    fn default() -> Self {
        FullReconcile::Every(Duration::from_secs(24 * 3600))
    }
}

/// Why `full_reconcile` cannot be read.
#[derive(Debug, thiserror::Error)]
#[error(
    "full_reconcile `{0}` is neither a duration (\"24h\"), a cron expression (\"0 0 3 * * *\"), \"always\" nor \"never\""
)]
pub struct NotASchedule(pub String);

impl std::str::FromStr for FullReconcile {
    type Err = NotASchedule;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "always" => return Ok(FullReconcile::Always),
            "never" => return Ok(FullReconcile::Never),
            _ => {}
        }
        if let Ok(every) = humantime::parse_duration(text.trim()) {
            return Ok(if every.is_zero() {
                FullReconcile::Always
            } else {
                FullReconcile::Every(every)
            });
        }
        cron::Schedule::from_str(text.trim())
            .map(|schedule| {
                FullReconcile::Cron(CronText {
                    text: text.trim().to_owned(),
                    schedule: Box::new(schedule),
                })
            })
            .map_err(|_| NotASchedule(text.to_owned()))
    }
}

impl<'de> serde::Deserialize<'de> for FullReconcile {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl FullReconcile {
    /// When the next full run is due after one completed at `last`; `None` for never.
    pub fn next_after(&self, last: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            FullReconcile::Every(every) => {
                Some(last + chrono::Duration::from_std(*every).unwrap_or(chrono::Duration::MAX))
            }
            FullReconcile::Cron(cron) => cron.schedule.after(&last).next(),
            FullReconcile::Always => Some(last),
            FullReconcile::Never => None,
        }
    }
}

/// Why a run lists the whole target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum FullReason {
    /// No full run has completed for this target yet.
    FirstRun,
    /// `sync --full`.
    Asked,
    /// `full_reconcile` is due.
    Due {
        #[serde(rename = "lastFull")]
        last_full: DateTime<Utc>,
    },
    /// `full_reconcile = "always"`.
    Always,
    /// `/ServiceProviderConfig` says `filter.supported = false`.
    FilterUnsupported,
    /// A filter answer held users the filter does not select.
    FilterUnreliable { detail: String },
    /// The mapping uses `SelectUniqueValue`, which picks values among the target's users.
    MappingReadsTarget,
}

/// The kind of a target's run, with what decided it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum RunKind {
    Full(FullReason),
    Incremental {
        #[serde(rename = "lastFull")]
        last_full: DateTime<Utc>,
        /// `None` with `full_reconcile = "never"`.
        #[serde(rename = "nextFull")]
        next_full: Option<DateTime<Utc>>,
    },
    /// `sync --user`: one source user, looked up on the target (no listing).
    #[serde(rename = "one_user")]
    OneUser {
        #[serde(rename = "sourceId")]
        source_id: String,
    },
}

/// A run kind as a report shows it: the kind, and the line that says why (worded at the
/// run's start, so "due in 21 h" is counted from then).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Decided {
    #[serde(flatten)]
    pub kind: RunKind,
    pub why: String,
}

impl Decided {
    pub fn new(kind: RunKind, now: DateTime<Utc>) -> Decided {
        let why = kind.describe(now);
        Decided { kind, why }
    }
}

impl Default for RunKind {
    fn default() -> Self {
        RunKind::Full(FullReason::FirstRun)
    }
}

/// What decides a target's run kind besides its state.
#[derive(Clone, Copy, Debug)]
pub struct Asked<'a> {
    /// `sync --full`.
    pub full: bool,
    pub schedule: &'a FullReconcile,
    /// The mapping reads the target's users (`SelectUniqueValue`).
    pub mapping_reads_target: bool,
    pub now: DateTime<Utc>,
}

/// The run kind for a target whose state remembers `reconcile`.
pub fn decide(reconcile: &Reconcile, asked: Asked<'_>) -> RunKind {
    let full = |reason| RunKind::Full(reason);
    if asked.full {
        return full(FullReason::Asked);
    }
    let Some(last_full) = reconcile.last_full else {
        return full(FullReason::FirstRun);
    };
    if asked.mapping_reads_target {
        return full(FullReason::MappingReadsTarget);
    }
    if *asked.schedule == FullReconcile::Always {
        return full(FullReason::Always);
    }
    // Before the filtering verdict: a scheduled full run clears it (see `clears_verdict`).
    let next_full = asked.schedule.next_after(last_full);
    if next_full.is_some_and(|next| next <= asked.now) {
        return full(FullReason::Due { last_full });
    }
    match &reconcile.filter {
        Some(Filtering::Unsupported) => return full(FullReason::FilterUnsupported),
        Some(Filtering::Unreliable { detail }) => {
            return full(FullReason::FilterUnreliable {
                detail: detail.clone(),
            });
        }
        Some(Filtering::Works) | None => {}
    }
    RunKind::Incremental {
        last_full,
        next_full,
    }
}

impl RunKind {
    pub fn is_full(&self) -> bool {
        matches!(self, RunKind::Full(_))
    }

    /// A full run made for another reason than the filtering verdict forgets the verdict
    /// once it completes: the next run that needs a lookup asks the target again (its
    /// `/ServiceProviderConfig`, and every answer checked), so a target fixed since is
    /// trusted again, and one still broken sends that run back to a listing.
    pub fn clears_verdict(&self) -> bool {
        !matches!(
            self,
            RunKind::Full(FullReason::FilterUnsupported | FullReason::FilterUnreliable { .. })
                | RunKind::Incremental { .. }
                | RunKind::OneUser { .. }
        )
    }

    /// One line for people: `incremental: last full run 2026-12-07 09:00 UTC, next full run
    /// due in 21 h`, `full: first run`, ...
    pub fn describe(&self, now: DateTime<Utc>) -> String {
        let when = |at: &DateTime<Utc>| at.format("%Y-%m-%d %H:%M UTC").to_string();
        match self {
            RunKind::Incremental {
                last_full,
                next_full,
            } => {
                let next = match next_full {
                    Some(next) => format!("next full run due in {}", until(now, *next)),
                    None => "next full run only with --full (full_reconcile = \"never\")".into(),
                };
                format!("incremental: last full run {}, {next}", when(last_full))
            }
            RunKind::OneUser { source_id } => {
                format!("one user: source id {source_id} (sync --user)")
            }
            RunKind::Full(reason) => format!(
                "full: {}",
                match reason {
                    FullReason::FirstRun => "first run".to_owned(),
                    FullReason::Asked => "--full".to_owned(),
                    FullReason::Due { last_full } => format!(
                        "full_reconcile due (last full run {})",
                        when(last_full)
                    ),
                    FullReason::Always => "full_reconcile = \"always\"".to_owned(),
                    FullReason::FilterUnsupported =>
                        "target does not support filtering (/ServiceProviderConfig filter.supported = false)"
                            .to_owned(),
                    FullReason::FilterUnreliable { detail } =>
                        format!("target's filter answers are unreliable ({detail})"),
                    FullReason::MappingReadsTarget =>
                        "the mapping picks unique values among the target's users (SelectUniqueValue)"
                            .to_owned(),
                }
            ),
        }
    }
}

/// `21 h`, `45 min`, `2 d` (rounded up, so "due in 0 min" never shows for a future time).
fn until(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    let minutes = (then - now)
        .num_seconds()
        .max(0)
        .unsigned_abs()
        .div_ceil(60);
    match minutes {
        m if m < 60 => format!("{m} min"),
        m if m < 48 * 60 => format!("{} h", m.div_ceil(60)),
        m => format!("{} d", m.div_ceil(24 * 60)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn asked<'a>(schedule: &'a FullReconcile, now: &str) -> Asked<'a> {
        Asked {
            full: false,
            schedule,
            mapping_reads_target: false,
            now: at(now),
        }
    }

    fn after_full(last: &str) -> Reconcile {
        Reconcile {
            last_full: Some(at(last)),
            filter: Some(Filtering::Works),
        }
    }

    #[test]
    fn the_first_run_and_full_are_full_then_runs_are_incremental_until_due() {
        let daily = FullReconcile::default();
        let now = "2026-12-07T12:00:00Z";
        assert_eq!(
            decide(&Reconcile::default(), asked(&daily, now)).describe(at(now)),
            "full: first run"
        );
        let state = after_full("2026-12-07T09:00:00Z");
        let kind = decide(&state, asked(&daily, now));
        assert_eq!(
            kind.describe(at(now)),
            "incremental: last full run 2026-12-07 09:00 UTC, next full run due in 21 h"
        );
        let forced = Asked {
            full: true,
            ..asked(&daily, now)
        };
        assert_eq!(decide(&state, forced).describe(at(now)), "full: --full");
        let later = "2026-12-08T09:00:00Z";
        assert_eq!(
            decide(&state, asked(&daily, later)).describe(at(later)),
            "full: full_reconcile due (last full run 2026-12-07 09:00 UTC)"
        );
    }

    #[test]
    fn filtering_verdicts_and_the_mapping_keep_runs_full() {
        let daily = FullReconcile::default();
        let now = "2026-12-07T12:00:00Z";
        let mut state = after_full("2026-12-07T09:00:00Z");
        state.filter = Some(Filtering::Unsupported);
        assert_eq!(
            decide(&state, asked(&daily, now)),
            RunKind::Full(FullReason::FilterUnsupported)
        );
        state.filter = None;
        let unique = Asked {
            mapping_reads_target: true,
            ..asked(&daily, now)
        };
        assert_eq!(
            decide(&state, unique),
            RunKind::Full(FullReason::MappingReadsTarget)
        );
    }

    #[test]
    fn schedules_parse_from_durations_cron_and_words() {
        assert_eq!(
            "90m".parse::<FullReconcile>().unwrap(),
            FullReconcile::Every(Duration::from_secs(5400))
        );
        assert_eq!(
            "0s".parse::<FullReconcile>().unwrap(),
            FullReconcile::Always
        );
        assert_eq!(
            "never".parse::<FullReconcile>().unwrap(),
            FullReconcile::Never
        );
        let nightly: FullReconcile = "0 0 3 * * *".parse().unwrap();
        assert_eq!(
            nightly.next_after(at("2026-12-07T09:00:00Z")),
            Some(at("2026-12-08T03:00:00Z"))
        );
        let never = FullReconcile::Never;
        let now = "2027-06-01T00:00:00Z";
        assert_eq!(
            decide(&after_full("2026-12-07T09:00:00Z"), asked(&never, now)).describe(at(now)),
            "incremental: last full run 2026-12-07 09:00 UTC, next full run only with --full (full_reconcile = \"never\")"
        );
        assert!(
            "weekly"
                .parse::<FullReconcile>()
                .unwrap_err()
                .to_string()
                .contains("neither a duration")
        );
    }
}
