//! Staying within what a target allows: a concurrency limit, a requests-per-second budget,
//! and the retry policy for failures that pass (429, 5xx, resets, timeouts).
//!
//! Every request, reads included, takes a slot from one [`Throttle`] per target. A 429 pauses
//! the whole throttle until the server's `Retry-After` (or a backoff) has passed, so the
//! requests in flight do not each run into the limit again: no 429 storms. A `Retry-After`
//! longer than the policy's `max` is not shortened and hammered: the throttle is
//! [held off](HeldOff) and nothing more is sent to that target in this run.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};

use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// How often and how long to retry.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Tries after the first.
    pub max_retries: u32,
    /// First backoff; doubled on every further try.
    pub base: Duration,
    /// Upper bound of one wait; a server asking for a longer `Retry-After` is not sent
    /// anything more (see [`HeldOff`]).
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            base: Duration::from_millis(250),
            max: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Exponential backoff with "full jitter" between half and all of the step, so clients
    /// that failed together do not come back together.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let step = self
            .base
            .saturating_mul(2u32.saturating_pow(attempt.min(16)))
            .min(self.max);
        step.mul_f64(0.5 + fastrand::f64() * 0.5)
    }

    /// The wait after a 429 or 503: the server's `Retry-After` when it gave one, else the
    /// backoff. `None` when the server asks for longer than `max`: waiting less and trying
    /// again would only hammer it.
    pub fn after(&self, retry_after: Option<Duration>, attempt: u32) -> Option<Duration> {
        match retry_after {
            None => Some(self.backoff(attempt)),
            Some(asked) if asked <= self.max => Some(asked),
            Some(_) => None,
        }
    }
}

/// A target that asked for a longer pause than the retry policy's `max`: nothing more is sent
/// to it until the run ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeldOff {
    /// What the target asked for (`Retry-After`).
    pub wait: Duration,
    /// The policy's longest wait (`max_backoff_seconds`).
    pub cap: Duration,
    /// When the target's wait ends.
    pub until: DateTime<Utc>,
}

impl HeldOff {
    pub fn new(wait: Duration, cap: Duration, now: DateTime<Utc>) -> HeldOff {
        HeldOff {
            wait,
            cap,
            until: now + chrono::Duration::from_std(wait).unwrap_or(chrono::TimeDelta::MAX),
        }
    }

    /// The wait in whole seconds, rounded up (an HTTP date is rarely a whole number of
    /// seconds away).
    pub fn wait_seconds(&self) -> u64 {
        self.wait.as_secs() + u64::from(self.wait.subsec_nanos() > 0)
    }
}

impl std::fmt::Display for HeldOff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the target asks to wait {} s, more than max_backoff_seconds ({} s); nothing more was sent to it",
            self.wait_seconds(),
            self.cap.as_secs()
        )
    }
}

/// Parses `Retry-After` (RFC 9110 §10.2.3): delay seconds or an HTTP date in any of its three
/// forms (IMF-fixdate, RFC 850, asctime).
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = DateTime::<Utc>::from(httpdate::parse_http_date(value).ok()?);
    Some((date - now).to_std().unwrap_or(Duration::ZERO))
}

/// Slots a late schedule may catch up on at once (a burst of at most this many requests).
const CATCH_UP: u32 = 5;

/// The per-target gate every request passes.
#[derive(Clone, Debug)]
pub struct Throttle {
    permits: Arc<Semaphore>,
    pace: Arc<Mutex<Pace>>,
    held_off: Arc<OnceLock<HeldOff>>,
}

#[derive(Debug)]
struct Pace {
    /// Time between two request starts; zero without a budget.
    interval: Duration,
    /// When the next request may start.
    next: Instant,
}

impl Throttle {
    pub fn new(concurrency: usize, requests_per_second: Option<f64>) -> Throttle {
        let interval = requests_per_second
            .filter(|r| r.is_finite() && *r > 0.0)
            .map_or(Duration::ZERO, |r| Duration::from_secs_f64(1.0 / r));
        Throttle {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            pace: Arc::new(Mutex::new(Pace {
                interval,
                next: Instant::now(),
            })),
            held_off: Arc::new(OnceLock::new()),
        }
    }

    /// Sends nothing more to the target (its `Retry-After` was over the policy's `max`); the
    /// first hold-off is the one kept.
    pub fn hold_off(&self, held: HeldOff) -> HeldOff {
        *self.held_off.get_or_init(|| held)
    }

    /// Whether, and why, the target is no longer sent anything.
    pub fn held_off(&self) -> Option<HeldOff> {
        self.held_off.get().copied()
    }

    /// Waits for a free slot and for the request's turn in the budget. The permit is held
    /// until the response has been read.
    #[allow(
        clippy::expect_used,
        reason = "the semaphore is owned by the throttle and never closed"
    )]
    pub async fn acquire(&self) -> OwnedSemaphorePermit {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .expect("the throttle's semaphore is never closed");
        let start = {
            let mut pace = self.pace.lock().await;
            let now = Instant::now();
            // The schedule is kept, so a request that started late (a busy machine oversleeps)
            // is made up by the next ones; after an idle spell at most CATCH_UP slots are.
            if now > pace.next + pace.interval * CATCH_UP {
                pace.next = now;
            }
            let start = pace.next;
            pace.next = start + pace.interval;
            start
        };
        // Without a budget (or when the slot is already here) no timer is involved at all.
        if start > Instant::now() {
            tokio::time::sleep_until(start).await;
        }
        permit
    }

    /// Holds every request back for `wait` (after a 429).
    pub async fn pause(&self, wait: Duration) {
        let mut pace = self.pace.lock().await;
        let until = Instant::now() + wait;
        if pace.next < until {
            pace.next = until;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_and_as_a_date() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 31 Dec 2025 23:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn retry_after_dates_in_all_three_http_forms() {
        let now = chrono::DateTime::parse_from_rfc3339("1994-11-06T08:49:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        for date in [
            "Sun, 06 Nov 1994 08:49:37 GMT",  // IMF-fixdate
            "Sunday, 06-Nov-94 08:49:37 GMT", // RFC 850
            "Sun Nov  6 08:49:37 1994",       // asctime
        ] {
            assert_eq!(
                parse_retry_after(date, now),
                Some(Duration::from_secs(37)),
                "{date}"
            );
        }
    }

    #[test]
    fn a_retry_after_over_the_cap_is_not_shortened() {
        let policy = RetryPolicy {
            max_retries: 5,
            base: Duration::from_millis(100),
            max: Duration::from_secs(60),
        };
        assert_eq!(
            policy.after(Some(Duration::from_secs(60)), 0),
            Some(Duration::from_secs(60))
        );
        assert_eq!(policy.after(Some(Duration::from_secs(3600)), 0), None);
        let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let held = HeldOff::new(Duration::from_millis(3_599_200), policy.max, now);
        assert_eq!(held.until.timestamp_millis(), 1_700_003_599_200);
        assert_eq!(
            held.to_string(),
            "the target asks to wait 3600 s, more than max_backoff_seconds (60 s); nothing more was sent to it"
        );
        let throttle = Throttle::new(1, None);
        assert_eq!(throttle.held_off(), None);
        throttle.hold_off(held);
        throttle.hold_off(HeldOff::new(Duration::from_secs(9), policy.max, now));
        assert_eq!(throttle.clone().held_off(), Some(held), "the first is kept");
    }

    #[test]
    fn backoff_grows_and_is_bounded() {
        let policy = RetryPolicy {
            max_retries: 5,
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        for attempt in 0..10 {
            let d = policy.backoff(attempt);
            let step = Duration::from_millis(100 * 2u64.pow(attempt)).min(Duration::from_secs(1));
            assert!(d >= step / 2 && d <= step, "{attempt}: {d:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_budget_spaces_requests() {
        let throttle = Throttle::new(8, Some(10.0));
        let start = Instant::now();
        for _ in 0..5 {
            drop(throttle.acquire().await);
        }
        // Five starts at 10/s: the fifth starts 400 ms after the first.
        assert_eq!(start.elapsed(), Duration::from_millis(400));
        // A late start is made up by the next requests, within CATCH_UP slots.
        tokio::time::advance(Duration::from_millis(350)).await;
        let late = Instant::now();
        for _ in 0..3 {
            drop(throttle.acquire().await);
        }
        assert_eq!(
            late.elapsed(),
            Duration::ZERO,
            "slots 500, 600, 700 ms are past"
        );
        drop(throttle.acquire().await);
        assert_eq!(late.elapsed(), Duration::from_millis(50));
        throttle.pause(Duration::from_secs(2)).await;
        let before = Instant::now();
        drop(throttle.acquire().await);
        assert_eq!(before.elapsed(), Duration::from_secs(2));
    }
}
