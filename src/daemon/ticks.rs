//! Every target's next tick. Each target runs on its own effective schedule (its
//! `[target.schedule]` over the shared `[schedule]`), with its own jitter, `run_at_start` and
//! `Retry-After` hold-off; the daemon sleeps until the earliest tick and then takes every
//! target due by that instant ([`Ticks::take_due`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::schedule::Schedule;

/// A target's next tick: when it is due by the schedule, and when it fires (after jitter).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tick {
    pub due: DateTime<Utc>,
    pub fires: DateTime<Utc>,
}

/// The first tick of `target` strictly after `after`, logged; `None` when its schedule never
/// fires again.
pub fn next_tick(target: &str, schedule: &Schedule, after: DateTime<Utc>) -> Option<Tick> {
    let Some(due) = schedule.next_after(after) else {
        tracing::warn!(
            target = %target,
            "the target's schedule never fires again; it will not run until a reload changes it"
        );
        return None;
    };
    let fires = due + chrono::Duration::from_std(schedule.jitter()).unwrap_or_default();
    if fires == due {
        tracing::info!(target = %target, next_run = %due.to_rfc3339(), "next run scheduled");
    } else {
        tracing::info!(target = %target, next_run = %fires.to_rfc3339(), due = %due.to_rfc3339(), "next run scheduled (with jitter)");
    }
    Some(Tick { due, fires })
}

/// The next tick once the target asked to be left alone until `until`: the ticks before then
/// are skipped, so the daemon does not knock again while the target asked it to wait.
pub fn after_hold_off(
    target: &str,
    schedule: &Schedule,
    next: Option<Tick>,
    until: DateTime<Utc>,
) -> Option<Tick> {
    match next {
        Some(tick) if tick.fires < until => {
            tracing::warn!(target = %target, until = %until.to_rfc3339(), "the target asked to be left alone until then: the ticks before are skipped");
            next_tick(target, schedule, until)
        }
        other => other,
    }
}

/// One target's schedule and next tick.
#[derive(Debug)]
struct Entry {
    schedule: Schedule,
    next: Option<Tick>,
}

/// The next tick of every scheduled target, by name.
#[derive(Debug, Default)]
pub struct Ticks {
    by_target: BTreeMap<String, Entry>,
}

impl Ticks {
    /// Schedules `target` from `now`: at once when `run_now` (`run_at_start`), else on its
    /// first tick after `now`. Replaces what it had.
    pub fn schedule(
        &mut self,
        target: &str,
        schedule: Schedule,
        run_now: bool,
        now: DateTime<Utc>,
    ) {
        let next = if run_now {
            tracing::info!(target = %target, "running once at start");
            Some(Tick {
                due: now,
                fires: now,
            })
        } else {
            next_tick(target, &schedule, now)
        };
        self.by_target
            .insert(target.to_owned(), Entry { schedule, next });
    }

    /// Stops scheduling every target not in `keep`.
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.by_target.retain(|name, _| keep(name));
    }

    /// Whether `target` is scheduled.
    pub fn contains(&self, target: &str) -> bool {
        self.by_target.contains_key(target)
    }

    /// When the earliest tick fires; `None` when no target will run again.
    pub fn earliest(&self) -> Option<DateTime<Utc>> {
        self.by_target
            .values()
            .filter_map(|e| e.next.map(|t| t.fires))
            .min()
    }

    /// When `target` runs next.
    pub fn next_run(&self, target: &str) -> Option<DateTime<Utc>> {
        self.by_target.get(target)?.next.map(|t| t.fires)
    }

    /// The targets whose tick has fired by `now`, each moved on to its next tick. Ticks missed
    /// while the machine slept are not caught up: one run, then on.
    pub fn take_due(&mut self, now: DateTime<Utc>) -> Vec<String> {
        let mut due = Vec::new();
        for (name, entry) in &mut self.by_target {
            if let Some(tick) = entry.next
                && tick.fires <= now
            {
                entry.next = next_tick(name, &entry.schedule, tick.due.max(now));
                due.push(name.clone());
            }
        }
        due
    }

    /// `target` asked to be left alone until `until`: its ticks before then are skipped.
    pub fn hold_off(&mut self, target: &str, until: DateTime<Utc>) {
        if let Some(entry) = self.by_target.get_mut(target) {
            entry.next = after_hold_off(target, &entry.schedule, entry.next, until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CronExpressions, ScheduleConfig};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn every(cron: &str) -> Schedule {
        Schedule::new(&ScheduleConfig {
            cron: CronExpressions::One(cron.into()),
            run_at_start: false,
            jitter_seconds: 0,
            shutdown_timeout_seconds: 30,
            failure_threshold: 3,
        })
        .unwrap()
    }

    #[test]
    fn ticks_within_a_targets_wait_are_skipped() {
        let schedule = every("0 */15 * * * *");
        let next = next_tick("app", &schedule, at("2026-01-01T10:00:00Z"));
        assert_eq!(next.map(|t| t.fires), Some(at("2026-01-01T10:15:00Z")));
        let deferred = after_hold_off("app", &schedule, next, at("2026-01-01T11:00:30Z"));
        assert_eq!(deferred.map(|t| t.fires), Some(at("2026-01-01T11:15:00Z")));
        let kept = after_hold_off("app", &schedule, next, at("2026-01-01T10:05:00Z"));
        assert_eq!(kept.map(|t| t.fires), Some(at("2026-01-01T10:15:00Z")));
    }

    #[test]
    fn only_the_targets_due_at_the_earliest_tick_are_taken() {
        let start = at("2026-01-01T10:00:00Z");
        let mut ticks = Ticks::default();
        ticks.schedule("hr", every("0 */15 * * * *"), false, start);
        ticks.schedule("crm", every("0 0 * * * *"), false, start);
        ticks.schedule("wiki", every("0 */15 * * * *"), true, start);
        assert_eq!(ticks.earliest(), Some(start));
        assert_eq!(ticks.take_due(start), ["wiki"]);
        assert_eq!(ticks.earliest(), Some(at("2026-01-01T10:15:00Z")));
        assert_eq!(ticks.take_due(at("2026-01-01T10:15:00Z")), ["hr", "wiki"]);
        assert_eq!(ticks.next_run("crm"), Some(at("2026-01-01T11:00:00Z")));
        ticks.hold_off("hr", at("2026-01-01T10:40:00Z"));
        assert_eq!(ticks.next_run("hr"), Some(at("2026-01-01T10:45:00Z")));
        assert_eq!(ticks.next_run("wiki"), Some(at("2026-01-01T10:30:00Z")));
        ticks.retain(|name| name != "wiki");
        assert!(!ticks.contains("wiki"));
        assert_eq!(ticks.earliest(), Some(at("2026-01-01T10:45:00Z")));
    }
}
