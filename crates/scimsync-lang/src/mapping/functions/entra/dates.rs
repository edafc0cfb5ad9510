//! VB's `DateAdd` and `DateDiff` intervals, as Entra's date functions use them.
//!
//! `DateDiff` counts the way VB.NET does: years, quarters and months by calendar fields
//! (`2021-08` to `2012-03` is −113 months whatever the days), weeks (`ww`) by Sundays crossed
//! (the docs' −493, where elapsed time would give −492.8), and days, hours, minutes and
//! seconds as whole elapsed units, truncated toward zero.

use super::super::Args;
use super::super::dotnet_datetime::{self, NetDateTime};
use super::args::{date_arg, interval_arg, number_arg, text_arg, whole_number};
use crate::mapping::eval::EvalError;
use crate::value::Value;
use chrono::{Datelike, Duration, Months, NaiveDateTime};

/// A VB date interval name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interval {
    Year,
    Quarter,
    Month,
    /// `y`: day of year; adds and counts days.
    DayOfYear,
    Day,
    /// `w`: weekday; adds days, counts whole weeks of elapsed time.
    Weekday,
    /// `ww`: calendar week.
    Week,
    Hour,
    Minute,
    Second,
}

/// Why `DateAdd` or an interval name failed; the messages are the evaluator's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("\"{0}\" is not a date interval; use yyyy, q, m, y, d, w, ww, h, n or s")]
    UnknownInterval(String),
    #[error("DateAdd: the result is out of the range of dates")]
    OutOfRange,
}

impl Interval {
    pub fn from_name(name: &str) -> Result<Interval, DateError> {
        Ok(match name {
            "yyyy" => Interval::Year,
            "q" => Interval::Quarter,
            "m" => Interval::Month,
            "y" => Interval::DayOfYear,
            "d" => Interval::Day,
            "w" => Interval::Weekday,
            "ww" => Interval::Week,
            "h" => Interval::Hour,
            "n" => Interval::Minute,
            "s" => Interval::Second,
            other => return Err(DateError::UnknownInterval(other.to_owned())),
        })
    }
}

/// `DateAdd(interval, value, date)`. Calendar intervals take whole numbers (VB rounds half to
/// even); month arithmetic keeps the day, clamped to the month's end (Jan 31 + 1 m = Feb 28).
pub fn add(interval: Interval, amount: f64, t: NaiveDateTime) -> Result<NaiveDateTime, DateError> {
    let out_of_range = || DateError::OutOfRange;
    let whole = amount.round_ties_even();
    let months = |n: f64| -> Result<NaiveDateTime, DateError> {
        if n.abs() > 120_000.0 {
            return Err(out_of_range());
        }
        let n = n as i64;
        let delta = Months::new(n.unsigned_abs() as u32);
        if n >= 0 {
            t.checked_add_months(delta)
        } else {
            t.checked_sub_months(delta)
        }
        .ok_or_else(out_of_range)
    };
    let millis = |unit_ms: f64| -> Result<NaiveDateTime, DateError> {
        let ms = (amount * unit_ms).round();
        if !ms.is_finite() || ms.abs() > 3.2e14 {
            return Err(out_of_range());
        }
        t.checked_add_signed(Duration::milliseconds(ms as i64))
            .ok_or_else(out_of_range)
    };
    let result = match interval {
        Interval::Year => months(whole * 12.0)?,
        Interval::Quarter => months(whole * 3.0)?,
        Interval::Month => months(whole)?,
        Interval::DayOfYear | Interval::Day | Interval::Weekday => millis(86_400_000.0)?,
        Interval::Week => millis(7.0 * 86_400_000.0)?,
        Interval::Hour => millis(3_600_000.0)?,
        Interval::Minute => millis(60_000.0)?,
        Interval::Second => millis(1_000.0)?,
    };
    if !(1..=9999).contains(&result.year()) {
        return Err(out_of_range());
    }
    Ok(result)
}

/// `DateDiff(interval, date1, date2)`: `date2 − date1`, positive when date2 is later.
pub fn diff(interval: Interval, date1: NaiveDateTime, date2: NaiveDateTime) -> i64 {
    let elapsed = date2 - date1;
    let year = |t: NaiveDateTime| i64::from(t.year());
    match interval {
        Interval::Year => year(date2) - year(date1),
        Interval::Quarter => {
            let quarter = |t: NaiveDateTime| year(t) * 4 + i64::from(t.month0() / 3);
            quarter(date2) - quarter(date1)
        }
        Interval::Month => {
            let month = |t: NaiveDateTime| year(t) * 12 + i64::from(t.month0());
            month(date2) - month(date1)
        }
        Interval::DayOfYear | Interval::Day => elapsed.num_days(),
        Interval::Weekday => elapsed.num_days() / 7,
        Interval::Week => {
            let sunday = |t: NaiveDateTime| {
                let date = t.date();
                date - Duration::days(i64::from(date.weekday().num_days_from_sunday()))
            };
            (sunday(date2) - sunday(date1)).num_days() / 7
        }
        Interval::Hour => elapsed.num_hours(),
        Interval::Minute => elapsed.num_minutes(),
        Interval::Second => elapsed.num_seconds(),
    }
}

pub(super) fn c_date(a: &mut Args<'_>) -> Result<Value, EvalError> {
    Ok(date_arg(a, 0)?.map_or(Value::Null, |t| Value::Str(dotnet_datetime::entra_date(t))))
}

pub(super) fn date_add(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let interval = interval_arg(a, 0)?;
    let Some(amount) = number_arg(a, 1)? else {
        return Ok(Value::Null);
    };
    let Some(t) = date_arg(a, 2)? else {
        return Ok(Value::Null);
    };
    let result = add(interval, amount, t).map_err(|e| a.error(e.to_string()))?;
    Ok(Value::Str(dotnet_datetime::entra_date(result)))
}

pub(super) fn date_diff(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let interval = interval_arg(a, 0)?;
    match (date_arg(a, 1)?, date_arg(a, 2)?) {
        (Some(d1), Some(d2)) => Ok(Value::Int(diff(interval, d1, d2))),
        _ => Ok(Value::Null),
    }
}

pub(super) fn date_from_num(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let Some(ticks) = whole_number(a, 0)? else {
        return Ok(Value::Null);
    };
    let t =
        dotnet_datetime::from_filetime(ticks).map_err(|e| a.error(format!("DateFromNum: {e}")))?;
    Ok(Value::Str(dotnet_datetime::entra_date(t)))
}

/// `FormatDateTime(source, dateTimeStyles, inputFormat, outputFormat)`, or the three-argument
/// form without styles (Cloud Sync, older Graph schema).
pub(super) fn format_date_time(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let (styles, input, output) = if a.len() == 4 {
        (Some(1), 2, 3)
    } else {
        (None, 1, 2)
    };
    let styles = match styles {
        Some(i) => text_arg(a, i)?,
        None => None,
    };
    let styles = dotnet_datetime::Styles::parse(styles.as_deref().unwrap_or_default())
        .map_err(|e| a.error(format!("FormatDateTime: {e}")))?;
    let (Some(input), Some(output)) = (text_arg(a, input)?, text_arg(a, output)?) else {
        return Err(a.error("FormatDateTime: inputFormat and outputFormat are required"));
    };
    let Some(source) = text_arg(a, 0)? else {
        return Ok(Value::Null);
    };
    let today = a.env().now.date_naive();
    let parsed: NetDateTime = dotnet_datetime::parse_exact(&source, &input, today)
        .map(|p| styles.apply(p))
        .map_err(|e| a.error(format!("FormatDateTime: {e}")))?;
    dotnet_datetime::format(&parsed, &output)
        .map(Value::Str)
        .map_err(|e| a.error(format!("FormatDateTime: {e}")))
}

pub(super) fn now(a: &mut Args<'_>) -> Result<Value, EvalError> {
    Ok(Value::Str(dotnet_datetime::entra_date(
        a.env().now.naive_utc(),
    )))
}

pub(super) fn num_from_date(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let Some(t) = date_arg(a, 0)? else {
        return Ok(Value::Null);
    };
    dotnet_datetime::to_filetime(t)
        .map(Value::Int)
        .map_err(|e| a.error(format!("NumFromDate: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> NaiveDateTime {
        chrono::DateTime::parse_from_rfc3339(text)
            .unwrap()
            .naive_utc()
    }

    #[test]
    fn documented_date_diff_example() {
        let (later, earlier) = (t("2021-08-25T17:41:18Z"), t("2012-03-16T07:00:00Z"));
        assert_eq!(diff(Interval::Day, later, earlier), -3449);
        assert_eq!(diff(Interval::Week, later, earlier), -493);
        assert_eq!(diff(Interval::Weekday, later, earlier), -492);
        assert_eq!(diff(Interval::Month, later, earlier), -113);
        assert_eq!(diff(Interval::Year, later, earlier), -9);
        assert_eq!(diff(Interval::Quarter, later, earlier), -38);
    }

    #[test]
    fn month_addition_clamps_to_the_month_end() {
        let jan31 = t("2021-01-31T00:00:00Z");
        assert_eq!(
            add(Interval::Month, 1.0, jan31),
            Ok(t("2021-02-28T00:00:00Z"))
        );
        assert_eq!(
            add(Interval::Year, -1.0, t("2020-02-29T00:00:00Z")),
            Ok(t("2019-02-28T00:00:00Z"))
        );
        assert_eq!(
            add(Interval::Day, 1.5, jan31),
            Ok(t("2021-02-01T12:00:00Z"))
        );
        assert_eq!(
            add(Interval::Month, 2.5, jan31),
            Ok(t("2021-03-31T00:00:00Z")),
            "2.5 rounds to 2"
        );
        assert!(add(Interval::Year, 9000.0, jan31).is_err());
        assert!(Interval::from_name("days").is_err());
    }
}
