//! When the daemon runs: the union of one or more cron expressions (crate `cron`: 6 fields
//! `sec min hour day-of-month month day-of-week`, optional 7th `year`), in UTC, with an
//! optional random delay per tick.

use std::hash::{BuildHasher as _, Hasher as _};
use std::str::FromStr as _;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::ScheduleConfig;

/// A `[schedule]` the daemon cannot tick by.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("cron `{expression}`: {source}")]
    Cron {
        expression: String,
        source: cron::error::Error,
    },
    #[error("[schedule] cron needs at least one expression")]
    Empty,
}

/// A parsed schedule.
#[derive(Clone, Debug)]
pub struct Schedule {
    expressions: Vec<cron::Schedule>,
    jitter: Duration,
}

impl Schedule {
    /// Parses the configured expressions (the config loader has already validated them; this
    /// repeats the check so the daemon never trusts a config it did not load).
    pub fn new(config: &ScheduleConfig) -> Result<Schedule, ScheduleError> {
        let expressions = config
            .cron
            .as_slice()
            .iter()
            .map(|e| {
                cron::Schedule::from_str(e).map_err(|source| ScheduleError::Cron {
                    expression: e.clone(),
                    source,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if expressions.is_empty() {
            return Err(ScheduleError::Empty);
        }
        Ok(Schedule {
            expressions,
            jitter: Duration::from_secs(config.jitter_seconds),
        })
    }

    /// The first tick strictly after `after`, over all expressions; `None` when no
    /// expression fires again (a year field in the past).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.expressions
            .iter()
            .filter_map(|s| s.after(&after).next())
            .min()
    }

    /// A random delay in `0..jitter` for one tick (zero without jitter).
    pub fn jitter(&self) -> Duration {
        let max = u64::try_from(self.jitter.as_millis()).unwrap_or(u64::MAX);
        if max == 0 {
            return Duration::ZERO;
        }
        // RandomState is seeded randomly per instance: enough to spread instances apart,
        // without pulling in a random-number crate for one number per tick.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(Utc::now().timestamp_nanos_opt().unwrap_or(0) as u128);
        Duration::from_millis(hasher.finish() % max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CronExpressions;

    fn schedule(cron: CronExpressions, jitter_seconds: u64) -> Schedule {
        Schedule::new(&ScheduleConfig {
            cron,
            run_at_start: false,
            jitter_seconds,
            shutdown_timeout_seconds: 30,
            failure_threshold: 3,
        })
        .unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn ticks(s: &Schedule, from: &str, n: usize) -> Vec<String> {
        let mut t = at(from);
        (0..n)
            .map(|_| {
                t = s.next_after(t).unwrap();
                t.format("%H:%M:%S").to_string()
            })
            .collect()
    }

    #[test]
    fn star_slash_forty_restarts_every_hour() {
        let s = schedule(CronExpressions::One("0 */40 * * * *".into()), 0);
        assert_eq!(
            ticks(&s, "2026-01-01T00:00:00Z", 4),
            ["00:40:00", "01:00:00", "01:40:00", "02:00:00"]
        );
    }

    #[test]
    fn two_expressions_make_a_true_forty_minute_cycle() {
        let s = schedule(
            CronExpressions::Many(vec!["0 0,40 0/2 * * *".into(), "0 20 1/2 * * *".into()]),
            0,
        );
        assert_eq!(
            ticks(&s, "2026-01-01T00:00:00Z", 6),
            [
                "00:40:00", "01:20:00", "02:00:00", "02:40:00", "03:20:00", "04:00:00"
            ]
        );
    }

    #[test]
    fn jitter_stays_below_its_bound() {
        let s = schedule(CronExpressions::One("* * * * * *".into()), 2);
        for _ in 0..100 {
            assert!(s.jitter() < Duration::from_secs(2));
        }
        let none = schedule(CronExpressions::One("* * * * * *".into()), 0);
        assert_eq!(none.jitter(), Duration::ZERO);
    }
}
