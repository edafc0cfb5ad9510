//! The deactivation threshold: a run that would deactivate or delete more users than the
//! admin allows stops before its first write, and says how to allow it. An empty source never
//! deactivates anyone, whatever the threshold.
//!
//! The limits hold over a rolling window (`[sync.safety] window`, a day by default), not per
//! run: the removals scimsync already made within it count, and the percentage is of the
//! managed users that were active at the window's start. A source that shrinks by a few
//! percent every run is stopped once the window's total passes the limit.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::settings::{LimitsFrom, SafetyConfig};
use crate::state::State;

/// A run that would remove too many users.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Violation {
    /// Deactivations and deletions the run would make.
    pub removals: usize,
    /// Managed users that were active at the window's start (or at its peak, when users
    /// were added since).
    pub managed: usize,
    /// Removals scimsync already made within the window.
    pub already_removed: usize,
    pub window_seconds: u64,
    pub max_deactivations: usize,
    pub max_deactivation_percent: f64,
    /// Whether the source delivered no users at all (then nothing allows it).
    pub empty_source: bool,
    /// Where the limits were set, for the message to say where to raise them.
    #[serde(skip)]
    pub limits_from: LimitsFrom,
}

impl Violation {
    pub fn message(&self) -> String {
        if self.empty_source {
            return format!(
                "the source has no users, which would deactivate {} managed user(s); check the export or directory",
                self.removals
            );
        }
        let total = self.removals + self.already_removed;
        let percent = percent(total, self.managed);
        let window = window_text(self.window_seconds);
        let (what, per) = if self.already_removed == 0 {
            (
                format!(
                    "this run would deactivate or delete {} of {} managed users ({percent:.0}%)",
                    self.removals, self.managed
                ),
                String::new(),
            )
        } else {
            (
                format!(
                    "this run would deactivate or delete {} users, and {} were already deactivated or deleted in the last {window}: {total} of {} managed active users ({percent:.0}%)",
                    self.removals, self.already_removed, self.managed
                ),
                format!(" per {window}"),
            )
        };
        format!(
            "{what}, above the threshold ({} users or {}%{per}); nothing was written. If this is intended, run once with --allow-mass-deactivation, or raise {}",
            self.max_deactivations,
            self.max_deactivation_percent,
            where_to_raise(&self.limits_from)
        )
    }
}

/// `max_deactivations / max_deactivation_percent in TABLE`, or each limit with its own table
/// when they were set in different ones.
fn where_to_raise(from: &LimitsFrom) -> String {
    if from.max_deactivations == from.max_deactivation_percent {
        return format!(
            "max_deactivations / max_deactivation_percent in {}",
            from.max_deactivations
        );
    }
    format!(
        "max_deactivations in {} / max_deactivation_percent in {}",
        from.max_deactivations, from.max_deactivation_percent
    )
}

/// `86400` as "24 h", `5400` as "90 min".
fn window_text(seconds: u64) -> String {
    match seconds {
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        100.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// What the window holds before this run: the removals already made in it, and the managed
/// users active at its start (or, when more were added since, at its peak).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowSoFar {
    pub already_removed: usize,
    pub baseline: usize,
    pub length: Duration,
}

impl WindowSoFar {
    /// The window ending at `now`, as `state` recorded it (after [`State::start_window`]).
    pub fn of(state: &State, now: DateTime<Utc>, length: Duration) -> WindowSoFar {
        let start = now - chrono::Duration::from_std(length).unwrap_or(chrono::Duration::MAX);
        WindowSoFar {
            already_removed: state.removals_since(start),
            baseline: state
                .peak_active_since(start)
                .unwrap_or_else(|| state.active_users()),
            length,
        }
    }
}

/// Checks a run's removals, with those already made in the window, against the threshold.
pub fn check(
    config: &SafetyConfig,
    removals: usize,
    window: WindowSoFar,
    source_count: usize,
) -> Option<Violation> {
    let violation = |empty_source| Violation {
        removals,
        managed: window.baseline,
        already_removed: window.already_removed,
        window_seconds: window.length.as_secs(),
        max_deactivations: config.max_deactivations,
        max_deactivation_percent: config.max_deactivation_percent,
        empty_source,
        limits_from: config.from.clone(),
    };
    if removals == 0 {
        return None;
    }
    if source_count == 0 {
        return Some(violation(true));
    }
    let total = removals + window.already_removed;
    let over = total > config.always_allowed
        && (total > config.max_deactivations
            || percent(total, window.baseline) > config.max_deactivation_percent);
    over.then(|| violation(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_run(active: usize) -> WindowSoFar {
        WindowSoFar {
            already_removed: 0,
            baseline: active,
            length: Duration::from_secs(86_400),
        }
    }

    #[test]
    fn thresholds() {
        let config = SafetyConfig::default(); // 50 users, 20 %, 5 always allowed
        assert_eq!(
            check(&config, 5, one_run(10), 10),
            None,
            "a handful is always allowed"
        );
        assert!(
            check(&config, 6, one_run(10), 10).is_some(),
            "60 % is too many"
        );
        assert_eq!(check(&config, 6, one_run(100), 100), None);
        assert!(
            check(&config, 51, one_run(1000), 1000).is_some(),
            "above the absolute cap"
        );
        let empty = check(&config, 1, one_run(10), 0).unwrap();
        assert!(empty.empty_source && empty.message().contains("no users"));
        assert_eq!(
            check(&config, 30, one_run(100), 100).unwrap().message(),
            "this run would deactivate or delete 30 of 100 managed users (30%), above the threshold (50 users or 20%); nothing was written. If this is intended, run once with --allow-mass-deactivation, or raise max_deactivations / max_deactivation_percent in [sync.safety]"
        );
    }

    #[test]
    fn the_refusal_names_the_tables_the_limits_came_from() {
        use crate::sync::settings::SafetyTable;
        let mut config = SafetyConfig::default();
        let tail = |config: &SafetyConfig| {
            let message = check(config, 30, one_run(100), 100).unwrap().message();
            message
                .split_once("or raise ")
                .map(|(_, tail)| tail.to_owned())
                .unwrap()
        };
        config.from = LimitsFrom {
            max_deactivations: SafetyTable::Target("crm".into()),
            max_deactivation_percent: SafetyTable::Target("crm".into()),
        };
        assert_eq!(
            tail(&config),
            "max_deactivations / max_deactivation_percent in [target.sync.safety] of target \"crm\""
        );
        config.from.max_deactivations = SafetyTable::Defaults;
        assert_eq!(
            tail(&config),
            "max_deactivations in [defaults.sync.safety] / max_deactivation_percent in [target.sync.safety] of target \"crm\""
        );
        config.from = LimitsFrom::default();
        assert_eq!(
            tail(&config),
            "max_deactivations / max_deactivation_percent in [sync.safety]"
        );
    }

    #[test]
    fn removals_already_made_in_the_window_count() {
        let config = SafetyConfig::default();
        let window = WindowSoFar {
            already_removed: 40,
            baseline: 200,
            length: Duration::from_secs(86_400),
        };
        // 40 more of the 200 active at the window's start: 40 %, although this run alone is 20 %.
        assert_eq!(
            check(&config, 40, window, 160).unwrap().message(),
            "this run would deactivate or delete 40 users, and 40 were already deactivated or deleted in the last 24 h: 80 of 200 managed active users (40%), above the threshold (50 users or 20% per 24 h); nothing was written. If this is intended, run once with --allow-mass-deactivation, or raise max_deactivations / max_deactivation_percent in [sync.safety]"
        );
        assert_eq!(check(&config, 0, window, 160), None, "nothing to remove");
    }

    #[test]
    fn the_window_baseline_is_the_count_at_its_start() {
        let day = chrono::Duration::hours(24);
        let t0 = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut state = State::new("http://t");
        for i in 0..200 {
            state.users.insert(
                format!("u{i}"),
                crate::state::ManagedUser::new(format!("t{i}"), format!("u{i}@x"), true),
            );
        }
        state.start_window(t0, day);
        // Run 1 removes 40, and notes the count it leaves.
        for i in 0..40 {
            state.users.get_mut(&format!("u{i}")).unwrap().active = false;
            state.removals.push(crate::state::Removal {
                source: format!("u{i}"),
                at: t0,
            });
        }
        state.note_active(t0 + chrono::Duration::minutes(1));
        let t1 = t0 + chrono::Duration::hours(6);
        state.start_window(t1, day);
        let window = WindowSoFar::of(&state, t1, Duration::from_secs(86_400));
        assert_eq!(
            window,
            WindowSoFar {
                already_removed: 40,
                baseline: 200,
                length: Duration::from_secs(86_400)
            }
        );
        // A day after run 1, its removals and its count have left the window.
        let t2 = t0 + chrono::Duration::hours(25);
        state.start_window(t2, day);
        let window = WindowSoFar::of(&state, t2, Duration::from_secs(86_400));
        assert_eq!((window.already_removed, window.baseline), (0, 160));
        assert_eq!(state.removals, []);
        assert_eq!(
            state
                .active_counts
                .iter()
                .map(|c| c.active)
                .collect::<Vec<_>>(),
            [160],
            "the count in force at the window's start is kept, older ones dropped"
        );
    }
}
