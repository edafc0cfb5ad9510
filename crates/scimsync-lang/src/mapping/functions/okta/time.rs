//! `Time.*` ("Time functions" in
//! <https://developer.okta.com/docs/reference/okta-expression-language/>) and the EL v2
//! date-time methods that have no
//! classic twin (`toZone`, `plusDays`, `withinDays`...). Inputs and outputs are strings:
//! ISO 8601 as Joda prints it (`2015-07-31T17:18:37.979Z`), Unix and Windows timestamps as
//! digit strings.
//!
//! The clock is the evaluation's (`Env::now`), which `scimsync eval --now` fixes.
//! Unix timestamps are **milliseconds**, as Okta runs them in production (KB "derived
//! dates", EL v2 `parseUnixTime`); an unmerged docs PR that shows seconds is not followed.
//! Okta warns that empty strings give "unexpected behavior"; scimsync treats `""` like null:
//! nothing flows.

use chrono::{DateTime, Days, Duration, FixedOffset, Offset, Utc};
use chrono_tz::Tz;

use super::super::Args;
use super::super::joda;
use crate::mapping::eval::EvalError;
use crate::value::Value;

/// Milliseconds between 1601-01-01 (Windows FILETIME epoch) and 1970-01-01.
const WINDOWS_EPOCH_OFFSET_MS: i64 = 11_644_473_600_000;

/// Argument `i` as text, `None` for null or blank.
fn text(a: &mut Args<'_>, i: usize) -> Result<Option<String>, EvalError> {
    Ok(a.text(i)?.filter(|s| !s.trim().is_empty()))
}

fn zone(a: &Args<'_>, id: &str) -> Result<Tz, EvalError> {
    joda::zone(id).ok_or_else(|| {
        a.error(format!(
            "\"{id}\" is not a time-zone id; use an IANA id like \"America/New_York\" or \"Etc/UTC\""
        ))
    })
}

fn iso_arg(a: &mut Args<'_>, i: usize) -> Result<Option<DateTime<FixedOffset>>, EvalError> {
    match text(a, i)? {
        None => Ok(None),
        Some(t) => joda::parse_iso(&t)
            .map(Some)
            .map_err(|why| a.error(why.to_string())),
    }
}

/// An ISO argument that may name its zone (`...+09:00[Asia/Tokyo]`, from EL v2's `toZone`).
fn zoned_arg(a: &mut Args<'_>, i: usize) -> Result<Option<joda::Zoned>, EvalError> {
    match text(a, i)? {
        None => Ok(None),
        Some(t) => joda::parse_zoned(&t)
            .map(Some)
            .map_err(|why| a.error(why.to_string())),
    }
}

fn digits(a: &Args<'_>, what: &str, t: &str) -> Result<i64, EvalError> {
    t.trim().parse::<i64>().map_err(|_| {
        a.error(format!(
            "\"{t}\" is not a {what} timestamp (a whole number)"
        ))
    })
}

fn utc_from_millis(a: &Args<'_>, millis: Option<i64>) -> Result<Value, EvalError> {
    millis
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .map(|t| Value::Str(joda::iso(&t)))
        .ok_or_else(|| a.error("the timestamp is out of range"))
}

/// `t` in a Joda pattern, or the pattern's problem as the call's error.
fn formatted(a: &Args<'_>, t: &DateTime<Tz>, pattern: &str) -> Result<Value, EvalError> {
    joda::format(t, pattern)
        .map(Value::Str)
        .map_err(|why| a.error(why.to_string()))
}

/// `Time.now([timeZoneId [, format]])`: ISO 8601 in UTC, or in the zone, or formatted.
pub fn now(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let now = a.env().now;
    let Some(zone_id) = a.text(0)? else {
        return Ok(Value::Str(joda::iso(&now)));
    };
    let local = now.with_timezone(&zone(a, &zone_id)?);
    match a.text(1)? {
        None => Ok(Value::Str(joda::iso(&local))),
        Some(pattern) => formatted(a, &local, &pattern),
    }
}

/// `Time.fromWindowsToIso8601(ticks)`: 100 ns ticks since 1601 (LDAP `pwdLastSet`,
/// `accountExpires`).
pub fn from_windows_to_iso8601(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let Some(t) = text(a, 0)? else {
        return Ok(Value::Null);
    };
    let ticks = digits(a, "Windows", &t)?;
    utc_from_millis(a, Some(ticks.div_euclid(10_000) - WINDOWS_EPOCH_OFFSET_MS))
}

/// `Time.fromUnixToIso8601(millis)`.
pub fn from_unix_to_iso8601(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let Some(t) = text(a, 0)? else {
        return Ok(Value::Null);
    };
    let millis = digits(a, "Unix", &t)?;
    utc_from_millis(a, Some(millis))
}

/// `Time.fromStringToIso8601(time, jodaPattern)`; EL v2's `parseStringTime()` without a
/// pattern reads ISO 8601.
pub fn from_string_to_iso8601(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let Some(t) = text(a, 0)? else {
        return Ok(Value::Null);
    };
    let parsed = match a.text(1)? {
        Some(pattern) => joda::parse(&t, &pattern),
        None => joda::parse_iso(&t).map(|t| t.with_timezone(&Utc)),
    };
    parsed
        .map(|t| Value::Str(joda::iso(&t)))
        .map_err(|why| a.error(why.to_string()))
}

/// `Time.fromIso8601ToWindows(iso)`: ticks, as a string.
pub fn from_iso8601_to_windows(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let Some(t) = iso_arg(a, 0)? else {
        return Ok(Value::Null);
    };
    // i128: a year far in the future would overflow 64 bits of 100 ns ticks.
    let ticks = (i128::from(t.timestamp_millis()) + i128::from(WINDOWS_EPOCH_OFFSET_MS)) * 10_000;
    Ok(Value::Str(ticks.to_string()))
}

/// `Time.fromIso8601ToUnix(iso)`: milliseconds, as a string.
pub fn from_iso8601_to_unix(a: &mut Args<'_>) -> Result<Value, EvalError> {
    Ok(match iso_arg(a, 0)? {
        None => Value::Null,
        Some(t) => Value::Str(t.timestamp_millis().to_string()),
    })
}

/// `Time.fromIso8601ToString(iso, jodaPattern)`: formatted in UTC. EL v2's `toString()`
/// without a pattern prints the time as java.time does (`2015-07-30T23:58:32Z`).
pub fn from_iso8601_to_string(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let Some((t, zone)) = zoned_arg(a, 0)? else {
        return Ok(Value::Null);
    };
    // A time that names its zone (EL v2 `toZone`) is shown in it; others in UTC.
    let local = t.with_timezone(&zone.unwrap_or(Tz::UTC));
    match a.text(1)? {
        None if zone.is_some() => Ok(Value::Str(joda::java_time(&local, zone.map(|z| z.name())))),
        None => Ok(Value::Str(joda::java_time(&t, None))),
        Some(pattern) => formatted(a, &local, &pattern),
    }
}

/// EL v2 `toZone(zoneId)`: the same instant in another zone, printed as java.time prints a
/// `ZonedDateTime` (`2015-08-01T02:18:37.979+09:00[Asia/Tokyo]`); the other time methods
/// read that form back.
pub fn to_zone(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let Some(t) = iso_arg(a, 0)? else {
        return Ok(Value::Null);
    };
    let Some(zone_id) = a.text(1)? else {
        return Err(a.error("toZone: the zone id is null"));
    };
    let tz = zone(a, &zone_id)?;
    Ok(Value::Str(joda::java_time(
        &t.with_timezone(&tz),
        Some(tz.name()),
    )))
}

/// EL v2 `plusDays(n)`, `minusHours(n)`...: `SECONDS` is the unit, `SIGN` the direction.
/// In a named zone, days move the local date and keep the local time across daylight-saving
/// changes, as java.time's `plusDays` does; hours, minutes and seconds are exact durations.
pub fn shift<const SECONDS: i64, const SIGN: i64>(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let Some((t, zone)) = zoned_arg(a, 0)? else {
        return Ok(Value::Null);
    };
    let Some(n) = a.int(1)? else {
        return Err(a.error("the amount to add is null"));
    };
    let out_of_range = || a.error("the date-time is out of range");
    let amount = n.checked_mul(SIGN).ok_or_else(out_of_range)?;
    let by_duration = |t: DateTime<Tz>| {
        amount
            .checked_mul(SECONDS)
            .and_then(Duration::try_seconds)
            .and_then(|d| t.checked_add_signed(d))
    };
    let local = t.with_timezone(&zone.unwrap_or(Tz::UTC));
    let moved = match zone {
        Some(_) if SECONDS == 86_400 => {
            let days = Days::new(amount.unsigned_abs());
            if amount >= 0 {
                local.checked_add_days(days)
            } else {
                local.checked_sub_days(days)
            }
        }
        _ => by_duration(local),
    }
    .ok_or_else(out_of_range)?;
    Ok(Value::Str(match zone {
        Some(z) => joda::java_time(&moved, Some(z.name())),
        None => joda::iso(&moved.with_timezone(&t.offset().fix())),
    }))
}

/// EL v2 `withinDays(n)`, `withinHours(n)`...: whether the time is at most `n` units away
/// from now, before or after.
pub fn within<const SECONDS: i64>(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let Some(t) = iso_arg(a, 0)? else {
        return Ok(Value::Bool(false));
    };
    let Some(n) = a.int(1)? else {
        return Err(a.error("the amount is null"));
    };
    let distance = (t.timestamp_millis() - a.env().now.timestamp_millis()).abs();
    Ok(Value::Bool(
        i128::from(distance) <= i128::from(n) * i128::from(SECONDS) * 1000,
    ))
}
