//! Date and time text the way .NET reads and writes it, for Entra's date functions.
//!
//! Entra's expression engine is .NET running on UTC servers: `FormatDateTime` is
//! `DateTime.ParseExact` + `ToString` with custom format strings (`yyyyMMddHHmmss.fZ`), every
//! date a function returns is rendered in the en-US general format `M/d/yyyy h:mm:ss tt`, and
//! `accountExpires`-style numbers are Windows FILETIMEs. "Local time" is UTC throughout, as it
//! is on Entra's servers.

use std::sync::LazyLock;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use regex::Regex;

/// .NET's `DateTime.Kind`: what the value's clock is. Only `K` output tells them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// No zone was given: the wall time as written.
    Unspecified,
    /// Parsed from a `Z` designator (`K`) with `RoundtripKind`, or adjusted to UTC.
    Utc,
    /// Parsed from an offset: converted to the server's local time, which is UTC.
    Local,
}

/// A parsed date: wall-clock time (already converted to UTC when the text had an offset).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetDateTime {
    pub wall: NaiveDateTime,
    pub kind: Kind,
}

/// .NET `DateTimeStyles` for `FormatDateTime`. Left out, Entra uses `RoundtripKind`,
/// `AllowLeadingWhite` and `AllowTrailingWhite`; white space around the text is always
/// allowed here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Styles {
    adjust_to_universal: bool,
    assume: bool,
}

/// Why a date, a date format or a FILETIME could not be read; the messages are the
/// evaluator's (callers prefix the function's name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateTimeError {
    #[error("\"{0}\" is not a DateTimeStyles value")]
    UnknownStyle(String),
    #[error(
        "\"{0}\" is not a date (expected e.g. 2021-08-25, 2021-08-25T17:41:18-07:00 or 8/25/2021 5:41:18 PM)"
    )]
    NotADate(String),
    #[error("{0} (UTC) is outside the range a FILETIME number can hold (years 1601 to 9999)")]
    OutsideFiletime(NaiveDateTime),
    #[error("{0} is not a FILETIME between the years 1601 and 9999")]
    NotAFiletime(i64),
    #[error("the date format is empty")]
    EmptyFormat,
    #[error("\"{0}\" is not a standard date format")]
    UnknownStandardFormat(String),
    #[error("`{0}` can be repeated at most 7 times")]
    TooManyRepeats(char),
    #[error("the quote {0} in the date format is not closed")]
    UnclosedQuote(char),
    #[error("the date format ends with a lone `\\`")]
    LoneBackslash,
    #[error("\"{0}\" is not a valid date")]
    InvalidDate(String),
    #[error("\"{text}\" does not match the date format \"{pattern}\"")]
    Mismatch { text: String, pattern: String },
}

impl DateTimeError {
    fn mismatch(text: &str, pattern: &str) -> DateTimeError {
        DateTimeError::Mismatch {
            text: text.to_owned(),
            pattern: pattern.to_owned(),
        }
    }
}

impl Styles {
    /// Names separated by commas or `|` (`"AssumeUniversal, AdjustToUniversal"`).
    pub fn parse(text: &str) -> Result<Styles, DateTimeError> {
        let mut styles = Styles::default();
        for name in text
            .split([',', '|'])
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            match name.to_ascii_lowercase().as_str() {
                "adjusttouniversal" => styles.adjust_to_universal = true,
                "assumeuniversal" | "assumelocal" => styles.assume = true,
                "none"
                | "roundtripkind"
                | "allowleadingwhite"
                | "allowtrailingwhite"
                | "allowinnerwhite"
                | "allowwhitespaces"
                | "nocurrentdatedefault" => {}
                _ => return Err(DateTimeError::UnknownStyle(name.to_owned())),
            }
        }
        Ok(styles)
    }

    /// A time without a zone is assumed to be local (= UTC) when asked; adjusting makes
    /// the result a UTC time (`K` renders `Z`).
    pub fn apply(self, parsed: NetDateTime) -> NetDateTime {
        let kind = match parsed.kind {
            Kind::Unspecified if !self.assume => Kind::Unspecified,
            _ if self.adjust_to_universal => Kind::Utc,
            Kind::Utc => Kind::Utc,
            _ => Kind::Local,
        };
        NetDateTime { kind, ..parsed }
    }
}

/// Entra's rendering of every date it produces (.NET en-US `G`).
pub const ENTRA_DATE_FORMAT: &str = "M/d/yyyy h:mm:ss tt";

/// Renders a UTC time the way Entra's date functions return it: `3/16/2020 7:00:00 AM`.
pub fn entra_date(utc: NaiveDateTime) -> String {
    let hour12 = match utc.hour() % 12 {
        0 => 12,
        h => h,
    };
    format!(
        "{}/{}/{} {}:{:02}:{:02} {}",
        utc.month(),
        utc.day(),
        utc.year(),
        hour12,
        utc.minute(),
        utc.second(),
        if utc.hour() < 12 { "AM" } else { "PM" }
    )
}

#[allow(
    clippy::expect_used,
    reason = "a constant pattern; the unit tests compile it"
)]
static ISO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$",
    )
    .expect("valid regex")
});

#[allow(
    clippy::expect_used,
    reason = "a constant pattern; the unit tests compile it"
)]
static US: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?(?:\s*([AaPp][Mm]))?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$",
    )
    .expect("valid regex")
});

/// `CDate`: reads a date the way .NET's `DateTime.Parse` reads the forms directories hold —
/// ISO 8601 (`2009-06-15T01:45:30-07:00`, also a date with only an offset, `2020-03-16-07:00`)
/// and US (`8/25/2021 5:41:18 PM`) — and returns it in UTC. Text without a zone is taken as
/// UTC, the server's local time.
pub fn parse_loose(text: &str) -> Result<NaiveDateTime, DateTimeError> {
    let text = text.trim();
    let invalid = || DateTimeError::NotADate(text.to_owned());
    let (caps, year, month, day, ampm) = if let Some(c) = ISO.captures(text) {
        (c, 1, 2, 3, None)
    } else if let Some(c) = US.captures(text) {
        (c, 3, 1, 2, Some(8))
    } else {
        return Err(invalid());
    };
    let num = |i: usize| -> u32 { caps.get(i).map_or(0, |m| m.as_str().parse().unwrap_or(0)) };
    let date =
        NaiveDate::from_ymd_opt(num(year) as i32, num(month), num(day)).ok_or_else(invalid)?;
    let mut hour = num(4);
    if let Some(flag) = ampm.and_then(|i| caps.get(i)) {
        if !(1..=12).contains(&hour) {
            return Err(invalid());
        }
        let pm = flag.as_str().eq_ignore_ascii_case("pm");
        hour = hour % 12 + if pm { 12 } else { 0 };
    }
    let fraction = caps.get(7).map_or(0, |m| fraction_nanos(m.as_str()));
    let time = NaiveTime::from_hms_nano_opt(hour, num(5), num(6), fraction).ok_or_else(invalid)?;
    let zone = if ampm.is_some() { 9 } else { 8 };
    let offset = match caps.get(zone) {
        Some(z) => parse_offset(z.as_str()).ok_or_else(invalid)?,
        None => 0,
    };
    Ok(date.and_time(time) - Duration::seconds(i64::from(offset)))
}

/// `Z`, `+hh`, `+hhmm`, `+hh:mm` → seconds east of UTC.
fn parse_offset(text: &str) -> Option<i32> {
    if text.eq_ignore_ascii_case("z") {
        return Some(0);
    }
    let sign = if text.starts_with('-') { -1 } else { 1 };
    let digits: String = text.chars().skip(1).filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = digits.split_at(digits.len().min(2));
    let hours: i32 = h.parse().ok()?;
    let minutes: i32 = if m.is_empty() { 0 } else { m.parse().ok()? };
    (hours <= 14 && minutes < 60).then_some(sign * (hours * 3600 + minutes * 60))
}

/// Up to 7 fraction digits (.NET ticks) → nanoseconds.
fn fraction_nanos(digits: &str) -> u32 {
    let padded = format!("{digits:0<9}");
    padded[..9].parse().unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// FILETIME

/// Seconds from 1601-01-01 (FILETIME epoch) to 1970-01-01.
const FILETIME_UNIX_OFFSET: i64 = 11_644_473_600;
const TICKS_PER_SECOND: i64 = 10_000_000;

/// `NumFromDate`: a UTC time as a Windows FILETIME (100 ns ticks since 1601-01-01 UTC).
/// Like .NET's `ToFileTimeUtc`, times before 1601 or after 9999 are out of range.
pub fn to_filetime(utc: NaiveDateTime) -> Result<i64, DateTimeError> {
    if !(1601..=9999).contains(&utc.year()) {
        return Err(DateTimeError::OutsideFiletime(utc));
    }
    let seconds = utc.and_utc().timestamp() + FILETIME_UNIX_OFFSET;
    Ok(seconds * TICKS_PER_SECOND + i64::from(utc.nanosecond() / 100))
}

/// `DateFromNum`: a FILETIME back to a UTC time.
pub fn from_filetime(ticks: i64) -> Result<NaiveDateTime, DateTimeError> {
    let out_of_range = || DateTimeError::NotAFiletime(ticks);
    if ticks < 0 {
        return Err(out_of_range());
    }
    let seconds = ticks / TICKS_PER_SECOND - FILETIME_UNIX_OFFSET;
    let nanos = (ticks % TICKS_PER_SECOND) as u32 * 100;
    let time = chrono::DateTime::from_timestamp(seconds, nanos)
        .ok_or_else(out_of_range)?
        .naive_utc();
    if time.year() > 9999 {
        return Err(out_of_range());
    }
    Ok(time)
}

// ---------------------------------------------------------------------------------------------
// Custom format strings

/// One element of a .NET custom date and time format string.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Literal(String),
    Day(usize),
    Month(usize),
    Year(usize),
    Hour12(usize),
    Hour24(usize),
    Minute(usize),
    Second(usize),
    /// `f`…`fffffff` (exact digits) or `F`…`FFFFFFF` (trailing zeros dropped).
    Fraction {
        digits: usize,
        trim: bool,
    },
    AmPm(usize),
    /// `z`, `zz`, `zzz`.
    Offset(usize),
    /// `K`.
    Zone,
    /// `g`, `gg`: the era.
    Era,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// A standard (one-letter) format as its en-US custom pattern; Entra renders en-US.
fn standard_pattern(letter: char) -> Option<&'static str> {
    Some(match letter {
        'd' => "M/d/yyyy",
        'D' => "dddd, MMMM d, yyyy",
        'f' => "dddd, MMMM d, yyyy h:mm tt",
        'F' => "dddd, MMMM d, yyyy h:mm:ss tt",
        'g' => "M/d/yyyy h:mm tt",
        'G' => "M/d/yyyy h:mm:ss tt",
        'm' | 'M' => "MMMM d",
        'o' | 'O' => "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
        'r' | 'R' => "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
        's' => "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
        't' => "h:mm tt",
        'T' => "h:mm:ss tt",
        'u' => "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
        'y' | 'Y' => "MMMM yyyy",
        _ => return None,
    })
}

fn tokenize(format: &str) -> Result<Vec<Token>, DateTimeError> {
    if format.is_empty() {
        return Err(DateTimeError::EmptyFormat);
    }
    let mut chars = format.chars().peekable();
    if format.chars().count() == 1 {
        let letter = format.chars().next().unwrap_or_default();
        return match standard_pattern(letter) {
            Some(pattern) => tokenize(pattern),
            None => Err(DateTimeError::UnknownStandardFormat(format.to_owned())),
        };
    }
    let mut tokens = Vec::new();
    let mut literal = String::new();
    let flush = |literal: &mut String, tokens: &mut Vec<Token>| {
        if !literal.is_empty() {
            tokens.push(Token::Literal(std::mem::take(literal)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            'd' | 'f' | 'F' | 'g' | 'h' | 'H' | 'K' | 'm' | 'M' | 's' | 't' | 'y' | 'z' => {
                let mut n = 1;
                while chars.peek() == Some(&c) {
                    chars.next();
                    n += 1;
                }
                flush(&mut literal, &mut tokens);
                tokens.push(match c {
                    'd' => Token::Day(n),
                    'M' => Token::Month(n),
                    'y' => Token::Year(n),
                    'h' => Token::Hour12(n.min(2)),
                    'H' => Token::Hour24(n.min(2)),
                    'm' => Token::Minute(n.min(2)),
                    's' => Token::Second(n.min(2)),
                    'f' | 'F' if n > 7 => {
                        return Err(DateTimeError::TooManyRepeats(c));
                    }
                    'f' => Token::Fraction {
                        digits: n,
                        trim: false,
                    },
                    'F' => Token::Fraction {
                        digits: n,
                        trim: true,
                    },
                    't' => Token::AmPm(n.min(2)),
                    'z' => Token::Offset(n.min(3)),
                    'K' => Token::Zone,
                    _ => Token::Era,
                });
            }
            '\'' | '"' => {
                let mut closed = false;
                while let Some(q) = chars.next() {
                    if q == c {
                        closed = true;
                        break;
                    }
                    if q == '\\' {
                        if let Some(escaped) = chars.next() {
                            literal.push(escaped);
                        }
                    } else {
                        literal.push(q);
                    }
                }
                if !closed {
                    return Err(DateTimeError::UnclosedQuote(c));
                }
            }
            '\\' => match chars.next() {
                Some(escaped) => literal.push(escaped),
                None => return Err(DateTimeError::LoneBackslash),
            },
            '%' => {}
            other => literal.push(other),
        }
    }
    flush(&mut literal, &mut tokens);
    Ok(tokens)
}

/// Renders `value` with a .NET format string (custom, or a one-letter standard format).
pub fn format(value: &NetDateTime, pattern: &str) -> Result<String, DateTimeError> {
    let t = value.wall;
    let mut out = String::new();
    for token in tokenize(pattern)? {
        match token {
            Token::Literal(s) => out.push_str(&s),
            Token::Day(1) => out.push_str(&t.day().to_string()),
            Token::Day(2) => out.push_str(&format!("{:02}", t.day())),
            Token::Day(3) => out.push_str(&DAYS[t.weekday().num_days_from_sunday() as usize][..3]),
            Token::Day(_) => out.push_str(DAYS[t.weekday().num_days_from_sunday() as usize]),
            Token::Month(1) => out.push_str(&t.month().to_string()),
            Token::Month(2) => out.push_str(&format!("{:02}", t.month())),
            Token::Month(3) => out.push_str(&MONTHS[t.month0() as usize][..3]),
            Token::Month(_) => out.push_str(MONTHS[t.month0() as usize]),
            Token::Year(1) => out.push_str(&(t.year() % 100).to_string()),
            Token::Year(2) => out.push_str(&format!("{:02}", t.year() % 100)),
            Token::Year(n) => out.push_str(&format!("{:0n$}", t.year())),
            Token::Hour12(n) => {
                let h = match t.hour() % 12 {
                    0 => 12,
                    h => h,
                };
                out.push_str(&format!("{h:0n$}"));
            }
            Token::Hour24(n) => out.push_str(&format!("{:0n$}", t.hour())),
            Token::Minute(n) => out.push_str(&format!("{:0n$}", t.minute())),
            Token::Second(n) => out.push_str(&format!("{:0n$}", t.second())),
            Token::Fraction { digits, trim } => {
                let ticks = format!("{:07}", t.nanosecond().min(999_999_999) / 100);
                let mut shown = ticks[..digits].to_owned();
                if trim {
                    shown.truncate(shown.trim_end_matches('0').len());
                    if shown.is_empty() && out.ends_with('.') {
                        out.pop();
                    }
                }
                out.push_str(&shown);
            }
            Token::AmPm(n) => {
                let marker = if t.hour() < 12 { "AM" } else { "PM" };
                out.push_str(&marker[..n]);
            }
            // Local and unspecified times are the server's local time, which is UTC.
            Token::Offset(1) => out.push_str("+0"),
            Token::Offset(2) => out.push_str("+00"),
            Token::Offset(_) => out.push_str("+00:00"),
            Token::Zone => out.push_str(match value.kind {
                Kind::Utc => "Z",
                Kind::Local => "+00:00",
                Kind::Unspecified => "",
            }),
            Token::Era => out.push_str("A.D."),
        }
    }
    Ok(out)
}

/// Reads `text` with a .NET format string, like `DateTime.ParseExact` with the styles Entra
/// uses by default (`RoundtripKind`, leading and trailing white space allowed). A parsed
/// offset converts the time to UTC. Date parts the format lacks come from `today`.
pub fn parse_exact(
    text: &str,
    pattern: &str,
    today: NaiveDate,
) -> Result<NetDateTime, DateTimeError> {
    let tokens = tokenize(pattern)?;
    let mismatch = || DateTimeError::mismatch(text, pattern);
    let mut rest = text.trim();
    let mut fields = Fields::default();
    for token in &tokens {
        match token {
            Token::Literal(s) => rest = rest.strip_prefix(s.as_str()).ok_or_else(mismatch)?,
            Token::Day(n @ (1 | 2)) => {
                fields.day = Some(take_digits(&mut rest, *n).ok_or_else(mismatch)?)
            }
            Token::Day(n) => {
                fields.weekday = Some(take_name(&mut rest, &DAYS, *n == 3).ok_or_else(mismatch)?);
            }
            Token::Month(n @ (1 | 2)) => {
                fields.month = Some(take_digits(&mut rest, *n).ok_or_else(mismatch)?)
            }
            Token::Month(n) => {
                let index = take_name(&mut rest, &MONTHS, *n == 3).ok_or_else(mismatch)?;
                fields.month = Some(index as u32 + 1);
            }
            Token::Year(n) => {
                let (min, max) = match n {
                    1 => (1, 2),
                    2 => (2, 2),
                    n => (*n, (*n).max(4)),
                };
                let digits = take_digit_run(&mut rest, min, max).ok_or_else(mismatch)?;
                let value: u32 = digits.parse().map_err(|_| mismatch())?;
                fields.year = Some(if digits.len() <= 2 {
                    // .NET's two-digit year window: 00–49 → 2000s, 50–99 → 1900s.
                    if value < 50 {
                        2000 + value
                    } else {
                        1900 + value
                    }
                } else {
                    value
                });
            }
            Token::Hour12(n) => {
                fields.hour12 = Some(take_digits(&mut rest, *n).ok_or_else(mismatch)?)
            }
            Token::Hour24(n) => {
                fields.hour = Some(take_digits(&mut rest, *n).ok_or_else(mismatch)?)
            }
            Token::Minute(n) => fields.minute = take_digits(&mut rest, *n).ok_or_else(mismatch)?,
            Token::Second(n) => fields.second = take_digits(&mut rest, *n).ok_or_else(mismatch)?,
            Token::Fraction { digits, trim } => {
                let min = if *trim { 0 } else { *digits };
                let run = take_digit_run(&mut rest, min, *digits).ok_or_else(mismatch)?;
                fields.nanos = if run.is_empty() {
                    0
                } else {
                    fraction_nanos(&run)
                };
            }
            Token::AmPm(n) => {
                let candidates: [&str; 2] = if *n == 1 { ["A", "P"] } else { ["AM", "PM"] };
                let upper = rest.to_ascii_uppercase();
                let index = candidates
                    .iter()
                    .position(|c| upper.starts_with(c))
                    .ok_or_else(mismatch)?;
                rest = &rest[candidates[index].len()..];
                fields.pm = Some(index == 1);
            }
            Token::Offset(n) => {
                let len = match n {
                    1 | 2 => rest
                        .chars()
                        .take(3)
                        .take_while(|c| "+-0123456789".contains(*c))
                        .count(),
                    _ => 6,
                };
                let piece = rest.get(..len).ok_or_else(mismatch)?;
                let valid = piece.starts_with(['+', '-'])
                    && (*n < 3 || piece.as_bytes().get(3) == Some(&b':'));
                if !valid {
                    return Err(mismatch());
                }
                fields.offset = Some(parse_offset(piece).ok_or_else(mismatch)?);
                rest = &rest[len..];
            }
            Token::Zone => {
                if let Some(r) = rest.strip_prefix(['Z', 'z']) {
                    rest = r;
                    fields.utc = true;
                } else if rest.starts_with(['+', '-']) {
                    let piece = rest.get(..6).ok_or_else(mismatch)?;
                    fields.offset = Some(parse_offset(piece).ok_or_else(mismatch)?);
                    rest = &rest[6..];
                }
            }
            Token::Era => {
                rest = rest
                    .strip_prefix("A.D.")
                    .or_else(|| rest.strip_prefix("AD"))
                    .ok_or_else(mismatch)?
            }
        }
    }
    if !rest.is_empty() {
        return Err(mismatch());
    }
    fields
        .build(today)
        .ok_or_else(|| DateTimeError::InvalidDate(text.to_owned()))
}

#[derive(Default)]
struct Fields {
    year: Option<u32>,
    month: Option<u32>,
    day: Option<u32>,
    weekday: Option<usize>,
    hour: Option<u32>,
    hour12: Option<u32>,
    pm: Option<bool>,
    minute: u32,
    second: u32,
    nanos: u32,
    offset: Option<i32>,
    utc: bool,
}

impl Fields {
    fn build(self, today: NaiveDate) -> Option<NetDateTime> {
        let no_date = self.year.is_none() && self.month.is_none() && self.day.is_none();
        let date = if no_date {
            today
        } else {
            NaiveDate::from_ymd_opt(
                self.year.map_or(today.year(), |y| y as i32),
                self.month.unwrap_or(1),
                self.day.unwrap_or(1),
            )?
        };
        if let Some(weekday) = self.weekday
            && date.weekday().num_days_from_sunday() as usize != weekday
        {
            return None;
        }
        let hour = match (self.hour, self.hour12, self.pm) {
            (Some(h), _, _) => h,
            (None, Some(h), pm) if (1..=12).contains(&h) => {
                h % 12 + if pm == Some(true) { 12 } else { 0 }
            }
            (None, Some(_), _) => return None,
            (None, None, Some(true)) => 12,
            (None, None, _) => 0,
        };
        let time = NaiveTime::from_hms_nano_opt(hour, self.minute, self.second, self.nanos)?;
        let wall = date.and_time(time);
        Some(match self.offset {
            Some(offset) => NetDateTime {
                wall: wall - Duration::seconds(i64::from(offset)),
                kind: Kind::Local,
            },
            None if self.utc => NetDateTime {
                wall,
                kind: Kind::Utc,
            },
            None => NetDateTime {
                wall,
                kind: Kind::Unspecified,
            },
        })
    }
}

/// One- or two-digit field: `d`/`M`/`h`/`H`/`m`/`s` take 1 or 2 digits, doubled ones exactly 2.
fn take_digits(rest: &mut &str, count: usize) -> Option<u32> {
    let run = take_digit_run(rest, count, 2)?;
    run.parse().ok()
}

fn take_digit_run(rest: &mut &str, min: usize, max: usize) -> Option<String> {
    let run: String = rest
        .chars()
        .take(max)
        .take_while(char::is_ascii_digit)
        .collect();
    if run.len() < min {
        return None;
    }
    *rest = &rest[run.len()..];
    Some(run)
}

/// A month or day name (its first three letters when `abbreviated`), case-insensitively;
/// its index.
fn take_name(rest: &mut &str, names: &[&'static str], abbreviated: bool) -> Option<usize> {
    let shown = |name: &'static str| if abbreviated { &name[..3] } else { name };
    let index = names.iter().position(|name| {
        let name = shown(name);
        rest.get(..name.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(name))
    })?;
    *rest = &rest[shown(names[index]).len()..];
    Some(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> NaiveDateTime {
        chrono::DateTime::parse_from_rfc3339(text)
            .unwrap()
            .naive_utc()
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
    }

    #[test]
    fn renders_entra_dates_in_en_us_general_format() {
        for (time, shown) in [
            ("2020-03-16T07:00:00Z", "3/16/2020 7:00:00 AM"),
            ("2021-06-29T16:00:00Z", "6/29/2021 4:00:00 PM"),
            ("2021-06-29T00:05:09Z", "6/29/2021 12:05:09 AM"),
            ("2021-06-29T12:00:00Z", "6/29/2021 12:00:00 PM"),
        ] {
            assert_eq!(entra_date(utc(time)), shown);
        }
    }

    #[test]
    fn loose_parsing_reads_iso_us_and_offsets() {
        let cases = [
            ("2020-03-16-07:00", "2020-03-16T07:00:00Z"),
            ("2021-06-30+08:00", "2021-06-29T16:00:00Z"),
            ("2009-06-15T01:45:30-07:00", "2009-06-15T08:45:30Z"),
            ("8/25/2021 5:41:18 PM", "2021-08-25T17:41:18Z"),
            ("8/25/2021 12:00:00 AM", "2021-08-25T00:00:00Z"),
            ("2021-08-24", "2021-08-24T00:00:00Z"),
            ("2021-08-24T10:11:12.5Z", "2021-08-24T10:11:12.5Z"),
            ("2021-12-31 23:59:59-08:00", "2022-01-01T07:59:59Z"),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_loose(text), Ok(utc(expected)), "{text}");
        }
        for bad in [
            "",
            "yesterday",
            "2021-02-30",
            "13/1/2021",
            "8/25/2021 13:00:00 PM",
        ] {
            assert!(parse_loose(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn custom_formats_round_trip() {
        let parsed = parse_exact("20150123105347.1Z", "yyyyMMddHHmmss.fZ", today()).unwrap();
        assert_eq!(parsed.wall, utc("2015-01-23T10:53:47.1Z"));
        assert_eq!(parsed.kind, Kind::Unspecified);
        assert_eq!(format(&parsed, "yyyy-MM-dd").unwrap(), "2015-01-23");
        assert_eq!(
            format(&parsed, "dddd, MMMM d, yyyy h:mm tt").unwrap(),
            "Friday, January 23, 2015 10:53 AM"
        );
        assert_eq!(
            format(&parsed, "yy-M-d H:m:s.fff FFF").unwrap(),
            "15-1-23 10:53:47.100 1"
        );
        assert_eq!(
            format(&parsed, "'Day' dd 'of' MMM").unwrap(),
            "Day 23 of Jan"
        );
        assert_eq!(format(&parsed, "o").unwrap(), "2015-01-23T10:53:47.1000000");
        assert_eq!(format(&parsed, "s").unwrap(), "2015-01-23T10:53:47");

        let zoned = parse_exact("2021-12-31+08:00", "yyyy-MM-ddzzz", today()).unwrap();
        assert_eq!(
            zoned.wall,
            utc("2021-12-30T16:00:00Z"),
            "offsets convert to server time (UTC)"
        );
        assert_eq!(format(&zoned, "yyyy-MM-ddK").unwrap(), "2021-12-30+00:00");
        let z = parse_exact("2021-12-31T10:00:00Z", "yyyy-MM-ddTHH:mm:ssK", today()).unwrap();
        assert_eq!(format(&z, "HH:mm K").unwrap(), "10:00 Z");
        let whole_seconds = parse_exact("10:00:00", "HH:mm:ss.FFF", today());
        assert!(whole_seconds.is_err(), "the literal `.` is still required");
        let time_only = parse_exact("7:05 PM", "h:mm tt", today()).unwrap();
        assert_eq!(time_only.wall, utc("2026-01-01T19:05:00Z"));
    }

    #[test]
    fn exact_parsing_rejects_what_does_not_match() {
        for (text, pattern) in [
            ("2015-01-23", "yyyyMMdd"),
            ("2015-02-30", "yyyy-MM-dd"),
            ("2015-01-23x", "yyyy-MM-dd"),
            ("Monday 2015-01-23", "dddd yyyy-MM-dd"),
        ] {
            assert!(
                parse_exact(text, pattern, today()).is_err(),
                "{text} / {pattern}"
            );
        }
        assert!(tokenize("'open").is_err());
        assert!(tokenize("ffffffff").is_err());
        assert!(tokenize("Q").is_err());
    }

    #[test]
    fn filetimes_convert_both_ways() {
        let t = from_filetime(129_699_324_000_000_000).unwrap();
        assert_eq!(t, utc("2012-01-01T23:00:00Z"));
        assert_eq!(to_filetime(t), Ok(129_699_324_000_000_000));
        assert!(to_filetime(utc("1600-12-31T23:59:59Z")).is_err());
        assert!(from_filetime(-1).is_err());
        assert!(from_filetime(i64::MAX).is_err());
    }
}
