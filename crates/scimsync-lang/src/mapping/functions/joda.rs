//! Joda-Time, as Okta's `Time.*` functions use it: date-time patterns (`yyyy-MM-dd HH:mm:ss`),
//! ISO 8601 text, and time-zone ids including Joda's old three-letter ones (`EST`).
//!
//! Patterns are Joda's, not Java's `SimpleDateFormat` nor strftime: `YYYY` is the year of
//! era (not a week year), `DD` the day of the year, `SSS` milliseconds, `ZZ` an offset with
//! a colon. Text in single quotes is literal, `''` is a quote.

use chrono::format::{Parsed, StrftimeItems};
use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone,
    Timelike, Utc,
};
use chrono_tz::Tz;

/// Joda's names for the old three-letter ids (`DateTimeZone.getConvertedId`): `EST` is New
/// York with daylight saving, as Okta's `Time.now("EST")` example (−04:00 in July) shows.
const LEGACY_IDS: &[(&str, &str)] = &[
    ("GMT", "UTC"),
    ("MET", "CET"),
    ("ECT", "CET"),
    ("MIT", "Pacific/Apia"),
    ("HST", "Pacific/Honolulu"),
    ("AST", "America/Anchorage"),
    ("PST", "America/Los_Angeles"),
    ("MST", "America/Denver"),
    ("PNT", "America/Phoenix"),
    ("CST", "America/Chicago"),
    ("EST", "America/New_York"),
    ("IET", "America/Indiana/Indianapolis"),
    ("PRT", "America/Puerto_Rico"),
    ("CNT", "America/St_Johns"),
    ("AGT", "America/Argentina/Buenos_Aires"),
    ("BET", "America/Sao_Paulo"),
    ("ART", "Africa/Cairo"),
    ("CAT", "Africa/Harare"),
    ("EAT", "Africa/Addis_Ababa"),
    ("NET", "Asia/Yerevan"),
    ("PLT", "Asia/Karachi"),
    ("IST", "Asia/Kolkata"),
    ("BST", "Asia/Dhaka"),
    ("VST", "Asia/Ho_Chi_Minh"),
    ("CTT", "Asia/Shanghai"),
    ("JST", "Asia/Tokyo"),
    ("ACT", "Australia/Darwin"),
    ("AET", "Australia/Sydney"),
    ("SST", "Pacific/Guadalcanal"),
    ("NST", "Pacific/Auckland"),
];

/// A time-zone id: an IANA id or alias (`America/Denver`, `Etc/UTC`, `Zulu`, `GB`) or one of
/// Joda's three-letter ids. Case matters, as in Joda.
pub fn zone(id: &str) -> Option<Tz> {
    let id = LEGACY_IDS
        .iter()
        .find(|(old, _)| *old == id)
        .map_or(id, |(_, new)| *new);
    id.parse::<Tz>().ok()
}

/// ISO 8601 as Joda prints a date-time: milliseconds always, `Z` for UTC, else `±hh:mm`.
pub fn iso<T: TimeZone>(t: &DateTime<T>) -> String
where
    T::Offset: std::fmt::Display,
{
    let offset = t.offset().fix().local_minus_utc();
    let zone = if offset == 0 {
        "Z".to_owned()
    } else {
        offset_text(offset, true)
    };
    format!("{}{zone}", t.format("%Y-%m-%dT%H:%M:%S%.3f"))
}

/// ISO 8601 as java.time's `ZonedDateTime.toString()` prints it (Identity Engine): the
/// seconds and fraction only when there are some, `Z` for UTC, else the offset, then `[zone]`
/// for a named zone: `2015-07-30T23:58:32Z`, `2015-08-01T02:18:37.979+09:00[Asia/Tokyo]`.
pub fn java_time<T: TimeZone>(t: &DateTime<T>, zone: Option<&str>) -> String
where
    T::Offset: std::fmt::Display,
{
    let offset = t.offset().fix().local_minus_utc();
    // LocalTime.toString(): seconds only when there are seconds or a fraction.
    let nanos = t.timestamp_subsec_nanos();
    let mut text = if t.second() == 0 && nanos == 0 {
        t.format("%Y-%m-%dT%H:%M").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S").to_string()
    };
    if nanos != 0 {
        let digits = if nanos.is_multiple_of(1_000_000) {
            format!("{:03}", nanos / 1_000_000)
        } else if nanos.is_multiple_of(1_000) {
            format!("{:06}", nanos / 1_000)
        } else {
            format!("{nanos:09}")
        };
        text.push('.');
        text.push_str(&digits);
    }
    if offset == 0 {
        text.push('Z');
    } else {
        text.push_str(&offset_text(offset, true));
    }
    if let Some(zone) = zone {
        text.push_str(&format!("[{zone}]"));
    }
    text
}

fn offset_text(seconds: i32, colon: bool) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let (h, m) = (seconds.abs() / 3600, seconds.abs() % 3600 / 60);
    if colon {
        format!("{sign}{h:02}:{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}")
    }
}

/// Why a time, a zone or a Joda pattern could not be read; the messages are the evaluator's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JodaError {
    #[error("[{id}] in \"{text}\" is not a time-zone id")]
    NotAZone { id: String, text: String },
    #[error("\"{0}\" is not an ISO 8601 date-time (like 2017-04-11T00:00:00.000Z)")]
    NotIso(String),
    #[error("unclosed quote in the pattern \"{0}\"")]
    UnclosedQuote(String),
    #[error("`{letter}` is not a Joda pattern letter (in \"{pattern}\"); quote literal text: 'T'")]
    UnknownLetter { letter: char, pattern: String },
    #[error(
        "the pattern letter `{0}` cannot be read back from text; Okta's fromStringToIso8601 needs numeric fields"
    )]
    Unreadable(char),
    #[error("\"{text}\" does not match the pattern \"{pattern}\": {error}")]
    Mismatch {
        text: String,
        pattern: String,
        error: chrono::format::ParseError,
    },
    /// A field the pattern lacks could not take its default.
    #[error("{0}")]
    Default(chrono::format::ParseError),
    #[error("\"{text}\" is not a valid date for \"{pattern}\": {error}")]
    InvalidDate {
        text: String,
        pattern: String,
        error: chrono::format::ParseError,
    },
    #[error("\"{text}\" is not a valid time for \"{pattern}\": {error}")]
    InvalidTime {
        text: String,
        pattern: String,
        error: chrono::format::ParseError,
    },
}

/// Reads ISO 8601 text: `2017-04-11T00:00:00Z`, with or without fraction or offset (none
/// means UTC), or a bare date (midnight UTC).
pub fn parse_iso(text: &str) -> Result<DateTime<FixedOffset>, JodaError> {
    parse_zoned(text).map(|(t, _)| t)
}

/// An instant with the offset it was written in, and its zone when the text names one.
pub type Zoned = (DateTime<FixedOffset>, Option<Tz>);

/// Reads ISO 8601 text with java.time's optional region suffix
/// (`2015-08-01T02:18:37.979+09:00[Asia/Tokyo]`): the instant, and the zone when named.
pub fn parse_zoned(text: &str) -> Result<Zoned, JodaError> {
    let text = text.trim();
    match text.find('[') {
        Some(at) if text.ends_with(']') => {
            let id = &text[at + 1..text.len() - 1];
            let tz = zone(id).ok_or_else(|| JodaError::NotAZone {
                id: id.to_owned(),
                text: text.to_owned(),
            })?;
            Ok((parse_offset_iso(&text[..at])?, Some(tz)))
        }
        _ => Ok((parse_offset_iso(text)?, None)),
    }
}

fn parse_offset_iso(text: &str) -> Result<DateTime<FixedOffset>, JodaError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t);
    }
    // java.time leaves out zero seconds: `2026-03-08T07:00-04:00`, `2015-07-30T23:58Z`.
    if let Some((date, time)) = text.split_once('T') {
        let zone_at = time.find(['Z', '+', '-']).unwrap_or(time.len());
        if zone_at == 5 && zone_at < time.len() {
            let with_seconds = format!("{date}T{}:00{}", &time[..zone_at], &time[zone_at..]);
            if let Ok(t) = DateTime::parse_from_rfc3339(&with_seconds) {
                return Ok(t);
            }
        }
    }
    if let Ok(t) = DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Ok(t);
    }
    let utc = Utc.fix();
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(t.and_utc().with_timezone(&utc));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(d.and_time(NaiveTime::MIN).and_utc().with_timezone(&utc));
    }
    Err(JodaError::NotIso(text.to_owned()))
}

/// One piece of a pattern: a field letter repeated `count` times, or literal text.
#[derive(Debug, PartialEq)]
enum Token {
    Field(char, usize),
    Literal(String),
}

fn tokens(pattern: &str) -> Result<Vec<Token>, JodaError> {
    let mut out = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            let mut text = String::new();
            if chars.peek() == Some(&'\'') {
                chars.next();
                out.push(Token::Literal("'".into()));
                continue;
            }
            loop {
                match chars.next() {
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                        text.push('\'');
                    }
                    Some('\'') => break,
                    Some(other) => text.push(other),
                    None => return Err(JodaError::UnclosedQuote(pattern.to_owned())),
                }
            }
            out.push(Token::Literal(text));
        } else if c.is_ascii_alphabetic() {
            if !"GCYxwyeEDMdaKhHkmsSzZ".contains(c) {
                return Err(JodaError::UnknownLetter {
                    letter: c,
                    pattern: pattern.to_owned(),
                });
            }
            let mut count = 1;
            while chars.peek() == Some(&c) {
                chars.next();
                count += 1;
            }
            out.push(Token::Field(c, count));
        } else {
            out.push(Token::Literal(c.to_string()));
        }
    }
    Ok(out)
}

fn padded(n: i64, width: usize) -> String {
    if n < 0 {
        format!("-{:0width$}", -n)
    } else {
        format!("{n:0width$}")
    }
}

/// Whether `pattern` is a Joda pattern (known letters, closed quotes), for the checker.
pub fn pattern_problem(pattern: &str) -> Option<JodaError> {
    tokens(pattern).err()
}

/// Formats `t` with a Joda pattern.
pub fn format(t: &DateTime<Tz>, pattern: &str) -> Result<String, JodaError> {
    let mut out = String::new();
    for token in tokens(pattern)? {
        let (letter, n) = match token {
            Token::Literal(text) => {
                out.push_str(&text);
                continue;
            }
            Token::Field(letter, n) => (letter, n),
        };
        let year = i64::from(t.year());
        let text = match letter {
            'G' => (if year > 0 { "AD" } else { "BC" }).to_owned(),
            'C' => padded(year.abs() / 100, n),
            'y' | 'Y' | 'x' => {
                let y = if letter == 'x' {
                    i64::from(t.iso_week().year())
                } else if letter == 'Y' {
                    year.abs().max(1)
                } else {
                    year
                };
                if n == 2 {
                    padded(y.rem_euclid(100), 2)
                } else {
                    padded(y, n)
                }
            }
            'w' => padded(i64::from(t.iso_week().week()), n),
            'e' => padded(i64::from(t.weekday().number_from_monday()), n),
            'E' => {
                let full = t.format("%A").to_string();
                if n >= 4 { full } else { full[..3].to_owned() }
            }
            'D' => padded(i64::from(t.ordinal()), n),
            'M' if n >= 4 => t.format("%B").to_string(),
            'M' if n == 3 => t.format("%b").to_string(),
            'M' => padded(i64::from(t.month()), n),
            'd' => padded(i64::from(t.day()), n),
            'a' => (if t.hour() < 12 { "AM" } else { "PM" }).to_owned(),
            'K' => padded(i64::from(t.hour() % 12), n),
            'h' => padded(i64::from((t.hour() + 11) % 12 + 1), n),
            'H' => padded(i64::from(t.hour()), n),
            'k' => padded(i64::from(if t.hour() == 0 { 24 } else { t.hour() }), n),
            'm' => padded(i64::from(t.minute()), n),
            's' => padded(i64::from(t.second()), n),
            'S' => {
                // Joda keeps milliseconds: `S` is tenths, `SSS` millis, more digits are zeros.
                let millis = format!("{:03}", t.timestamp_subsec_millis().min(999));
                if n <= 3 {
                    millis[..n].to_owned()
                } else {
                    millis + &"0".repeat(n - 3)
                }
            }
            'z' if n >= 4 => t.timezone().name().to_owned(),
            'z' => t.format("%Z").to_string(),
            'Z' if n >= 3 => t.timezone().name().to_owned(),
            _ => offset_text(t.offset().fix().local_minus_utc(), n == 2),
        };
        out.push_str(&text);
    }
    Ok(out)
}

/// Reads `text` with a Joda pattern. Fields the pattern lacks default as in Joda (1970-01-01,
/// midnight); without an offset in the pattern the time is UTC.
pub fn parse(text: &str, pattern: &str) -> Result<DateTime<Utc>, JodaError> {
    let mut strftime = String::new();
    for token in tokens(pattern)? {
        match token {
            Token::Literal(literal) => strftime.push_str(&literal.replace('%', "%%")),
            Token::Field(letter, n) => strftime.push_str(match (letter, n) {
                ('y' | 'Y', 2) => "%y",
                ('y' | 'Y', _) => "%Y",
                ('x', _) => "%G",
                ('w', _) => "%V",
                ('e', _) => "%u",
                ('E', 4..) => "%A",
                ('E', _) => "%a",
                ('D', _) => "%j",
                ('M', 4..) => "%B",
                ('M', 3) => "%b",
                ('M', _) => "%m",
                ('d', _) => "%d",
                ('a', _) => "%p",
                ('K' | 'h', _) => "%I",
                ('H' | 'k', _) => "%H",
                ('m', _) => "%M",
                ('s', _) => "%S",
                ('S', 1..=3) => "%3f",
                ('S', 4..=6) => "%6f",
                ('S', _) => "%9f",
                ('Z', 1) => "%z",
                ('Z', 2) => "%:z",
                (other, _) => {
                    return Err(JodaError::Unreadable(other));
                }
            }),
        }
    }
    let mut parsed = Parsed::new();
    chrono::format::parse(&mut parsed, text, StrftimeItems::new(&strftime)).map_err(|error| {
        JodaError::Mismatch {
            text: text.to_owned(),
            pattern: pattern.to_owned(),
            error,
        }
    })?;
    let unset = |r: chrono::format::ParseResult<()>| r.map_err(JodaError::Default);
    if parsed.year().is_none() && parsed.year_mod_100().is_none() && parsed.isoyear().is_none() {
        unset(parsed.set_year(1970))?;
    }
    if parsed.month().is_none() && parsed.ordinal().is_none() && parsed.isoweek().is_none() {
        unset(parsed.set_month(1))?;
    }
    if parsed.day().is_none() && parsed.ordinal().is_none() && parsed.isoweek().is_none() {
        unset(parsed.set_day(1))?;
    }
    if parsed.hour_mod_12().is_none() {
        unset(parsed.set_hour(0))?;
    }
    if parsed.minute().is_none() {
        unset(parsed.set_minute(0))?;
    }
    let date = parsed
        .to_naive_date()
        .map_err(|error| JodaError::InvalidDate {
            text: text.to_owned(),
            pattern: pattern.to_owned(),
            error,
        })?;
    let time = parsed
        .to_naive_time()
        .map_err(|error| JodaError::InvalidTime {
            text: text.to_owned(),
            pattern: pattern.to_owned(),
            error,
        })?;
    let local = date.and_time(time);
    let offset = parsed.offset().unwrap_or(0);
    Ok(local.and_utc() - chrono::Duration::seconds(i64::from(offset)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str, zone_id: &str) -> DateTime<Tz> {
        parse_iso(text)
            .unwrap()
            .with_timezone(&zone(zone_id).unwrap())
    }

    #[test]
    fn formats_joda_patterns() {
        let t = at("2015-07-31T17:36:48.979Z", "EST");
        assert_eq!(
            format(&t, "YYYY-MM-dd HH:mm:ss").unwrap(),
            "2015-07-31 13:36:48"
        );
        assert_eq!(
            format(&t, "yy/M/d h:mm a 'at' ZZ").unwrap(),
            "15/7/31 1:36 PM at -04:00"
        );
        assert_eq!(
            format(&t, "EEEE, MMMM d, yyyy; DDD; SSS").unwrap(),
            "Friday, July 31, 2015; 212; 979"
        );
        assert_eq!(
            format(&t, "''HH'' 'o''clock' Z").unwrap(),
            "'13' o'clock -0400"
        );
        assert!(format(&t, "yyyy-MM-ddTHH").is_err());
    }

    #[test]
    fn parses_joda_patterns_into_utc() {
        let t = parse("07/04/2021 14:05", "MM/dd/yyyy HH:mm").unwrap();
        assert_eq!(iso(&t), "2021-07-04T14:05:00.000Z");
        let t = parse("2021-07-04 14:05:00 -0500", "yyyy-MM-dd HH:mm:ss Z").unwrap();
        assert_eq!(iso(&t), "2021-07-04T19:05:00.000Z");
        let t = parse("20210704", "yyyyMMdd").unwrap();
        assert_eq!(iso(&t), "2021-07-04T00:00:00.000Z");
        assert!(parse("2021-13-04", "yyyy-MM-dd").is_err());
        assert!(parse("soon", "yyyy").is_err());
    }

    #[test]
    fn zones_include_joda_legacy_ids() {
        assert_eq!(zone("EST"), Some(Tz::America__New_York));
        assert_eq!(zone("Europe/London"), Some(Tz::Europe__London));
        assert!(zone("Zulu").is_some() && zone("GB").is_some());
        assert_eq!(zone("Mars/Olympus"), None);
        let tokyo = at("2015-07-31T17:18:37.979Z", "Asia/Tokyo");
        assert_eq!(
            java_time(&tokyo, Some("Asia/Tokyo")),
            "2015-08-01T02:18:37.979+09:00[Asia/Tokyo]"
        );
        assert_eq!(
            parse_iso("2015-08-01T02:18:37.979+09:00[Asia/Tokyo]")
                .unwrap()
                .timestamp_millis(),
            1438363117979
        );
        assert_eq!(
            java_time(&at("2015-07-30T23:58:32.000Z", "UTC"), None),
            "2015-07-30T23:58:32Z"
        );
        assert_eq!(
            iso(&at("2015-07-31T17:18:37.979Z", "EST")),
            "2015-07-31T13:18:37.979-04:00"
        );
    }
}
