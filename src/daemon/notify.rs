//! Talking to systemd (`Type=notify`): `READY=1` once the daemon is ready, `STATUS=` with the
//! last run's outcome, `RELOADING=1` around SIGHUP, `STOPPING=1` on shutdown, and `WATCHDOG=1`
//! pings when the unit sets `WatchdogSec=`. Uses the `sd-notify` crate (a small, maintained
//! implementation of the datagram protocol, including abstract sockets); outside systemd
//! (`$NOTIFY_SOCKET` unset) every call does nothing.

use std::time::Duration;

use sd_notify::NotifyState;

fn send(states: &[NotifyState<'_>]) {
    if let Err(error) = sd_notify::notify(states) {
        tracing::warn!(%error, "cannot notify systemd");
    }
}

pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

pub fn status(status: &str) {
    send(&[NotifyState::Status(status)]);
}

pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(_) => send(&[NotifyState::Reloading]),
    }
}

pub fn stopping(status: &str) {
    send(&[NotifyState::Stopping, NotifyState::Status(status)]);
}

pub fn watchdog() {
    send(&[NotifyState::Watchdog]);
}

/// How often to ping the watchdog: half the unit's `WatchdogSec=`, as sd_watchdog_enabled(3)
/// recommends; `None` when no watchdog is configured for this process.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled().map(|timeout| (timeout / 2).max(Duration::from_millis(100)))
}
