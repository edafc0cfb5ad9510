//! LDAP attribute values made usable: binary identifiers as the strings admins know, and the
//! Active Directory / OpenLDAP / 389 attributes that say whether an account may be used.
//!
//! Everything here is pure, so the rules are unit-tested without a server.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use scimsync_lang::value::Value;

/// An attribute value that cannot be read as its attribute's kind says it should.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("a GUID has 16 bytes, this one {0}")]
    GuidLength(usize),
    #[error("a SID has at least 8 bytes, this one {0}")]
    SidTooShort(usize),
    #[error("a SID with {sub_authorities} sub-authorities has {expected} bytes, this one {actual}")]
    SidLength {
        sub_authorities: usize,
        expected: usize,
        actual: usize,
    },
    #[error("accountExpires `{0}` is not a number")]
    AccountExpiresNotANumber(String),
    #[error("accountExpires `{0}` is out of range")]
    AccountExpiresOutOfRange(String),
    #[error("userAccountControl `{0}` is not a number")]
    UserAccountControlNotANumber(String),
    #[error("shadowExpire `{0}` is not a number")]
    ShadowExpireNotANumber(String),
}

/// Attributes whose values are binary and have a canonical text form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryKind {
    /// A GUID (`objectGUID`, `msExchMailboxGuid`): the registry-format string
    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, with Microsoft's mixed-endian layout.
    Guid,
    /// A security identifier (`objectSid`): `S-1-5-21-...`.
    Sid,
    /// Any other binary value: base64.
    Opaque,
}

/// How the values of `name` are to be read: `None` for text.
pub fn binary_kind(name: &str) -> Option<BinaryKind> {
    let bare = name.split(';').next().unwrap_or(name);
    if bare.eq_ignore_ascii_case("objectGUID") || bare.eq_ignore_ascii_case("msExchMailboxGuid") {
        Some(BinaryKind::Guid)
    } else if bare.eq_ignore_ascii_case("objectSid") || bare.eq_ignore_ascii_case("sIDHistory") {
        Some(BinaryKind::Sid)
    } else if name
        .split(';')
        .skip(1)
        .any(|o| o.eq_ignore_ascii_case("binary"))
        || bare.eq_ignore_ascii_case("jpegPhoto")
        || bare.eq_ignore_ascii_case("thumbnailPhoto")
        || bare.eq_ignore_ascii_case("userCertificate")
    {
        Some(BinaryKind::Opaque)
    } else {
        None
    }
}

/// The text form of one binary value.
pub fn decode_binary(kind: BinaryKind, bytes: &[u8]) -> Result<String, ValueError> {
    match kind {
        BinaryKind::Guid => guid(bytes),
        BinaryKind::Sid => sid(bytes),
        BinaryKind::Opaque => Ok(base64(bytes)),
    }
}

/// `objectGUID`: 16 bytes; the first three fields are little-endian.
pub fn guid(bytes: &[u8]) -> Result<String, ValueError> {
    let b: &[u8; 16] = bytes
        .try_into()
        .map_err(|_| ValueError::GuidLength(bytes.len()))?;
    Ok(format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[3],
        b[2],
        b[1],
        b[0],
        b[5],
        b[4],
        b[7],
        b[6],
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    ))
}

/// `objectSid`: revision, sub-authority count, 48-bit big-endian authority, then
/// little-endian 32-bit sub-authorities.
pub fn sid(bytes: &[u8]) -> Result<String, ValueError> {
    if bytes.len() < 8 {
        return Err(ValueError::SidTooShort(bytes.len()));
    }
    let count = usize::from(bytes[1]);
    if bytes.len() != 8 + 4 * count {
        return Err(ValueError::SidLength {
            sub_authorities: count,
            expected: 8 + 4 * count,
            actual: bytes.len(),
        });
    }
    let authority = bytes[2..8]
        .iter()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    let mut text = format!("S-{}-{authority}", bytes[0]);
    for chunk in bytes[8..].chunks_exact(4) {
        let sub = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        text.push_str(&format!("-{sub}"));
    }
    Ok(text)
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `userAccountControl` bit 0x2: the account is disabled.
const UAC_ACCOUNTDISABLE: i64 = 0x2;

/// Ticks of 100 ns between 1601-01-01 (Windows FILETIME epoch) and the Unix epoch.
const FILETIME_UNIX_OFFSET: i64 = 116_444_736_000_000_000;

/// AD `accountExpires`: FILETIME ticks; 0 and 0x7FFFFFFFFFFFFFFF mean "never".
pub fn account_expires(text: &str) -> Result<Option<DateTime<Utc>>, ValueError> {
    let ticks: i64 = text
        .trim()
        .parse()
        .map_err(|_| ValueError::AccountExpiresNotANumber(text.to_owned()))?;
    if ticks <= 0 || ticks == i64::MAX {
        return Ok(None);
    }
    let since_unix = ticks - FILETIME_UNIX_OFFSET;
    let secs = since_unix.div_euclid(10_000_000);
    let nanos = (since_unix.rem_euclid(10_000_000) * 100) as u32;
    DateTime::from_timestamp(secs, nanos)
        .map(Some)
        .ok_or_else(|| ValueError::AccountExpiresOutOfRange(text.to_owned()))
}

/// An LDAP GeneralizedTime (`20240131120000Z`, fractions allowed).
pub fn generalized_time(text: &str) -> Option<DateTime<Utc>> {
    let digits = text.trim().trim_end_matches('Z');
    let main = digits.split(['.', ',']).next().unwrap_or(digits);
    NaiveDateTime::parse_from_str(main, "%Y%m%d%H%M%S")
        .ok()
        .map(|t| t.and_utc())
}

/// OpenLDAP ppolicy's marker for an account locked by an administrator until unlocked.
const PPOLICY_PERMANENT_LOCK: &str = "000001010000Z";

/// The attributes that decide whether an account is enabled, as read from one entry.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccountStatus<'a> {
    pub user_account_control: Option<&'a str>,
    pub account_expires: Option<&'a str>,
    pub ns_account_lock: Option<&'a str>,
    pub pwd_account_locked_time: Option<&'a str>,
    pub shadow_expire: Option<&'a str>,
}

/// The attribute names [`AccountStatus`] reads; always requested.
pub const STATUS_ATTRIBUTES: &[&str] = &[
    "userAccountControl",
    "accountExpires",
    "nsAccountLock",
    "pwdAccountLockedTime",
    "shadowExpire",
];

impl AccountStatus<'_> {
    /// Whether the account is enabled at `now`. Anything that says "disabled" wins:
    /// AD's disabled bit, an expiry in the past (AD `accountExpires`, `shadowExpire`),
    /// 389's `nsAccountLock: TRUE`, or an administrative ppolicy lock. A temporary lockout
    /// after failed logins (ppolicy with a time) keeps the account active, as Okta's
    /// `LOCKED_OUT` does: the person is still employed.
    pub fn active(&self, now: DateTime<Utc>) -> Result<bool, ValueError> {
        if let Some(uac) = self.user_account_control {
            let flags: i64 = uac
                .trim()
                .parse()
                .map_err(|_| ValueError::UserAccountControlNotANumber(uac.to_owned()))?;
            if flags & UAC_ACCOUNTDISABLE != 0 {
                return Ok(false);
            }
        }
        if let Some(expires) = self.account_expires
            && account_expires(expires)?.is_some_and(|at| at <= now)
        {
            return Ok(false);
        }
        if self
            .ns_account_lock
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        {
            return Ok(false);
        }
        if self
            .pwd_account_locked_time
            .is_some_and(|v| v.trim() == PPOLICY_PERMANENT_LOCK)
        {
            return Ok(false);
        }
        if let Some(days) = self.shadow_expire {
            let days: i64 = days
                .trim()
                .parse()
                .map_err(|_| ValueError::ShadowExpireNotANumber(days.to_owned()))?;
            // -1 (and absent) means "never"; otherwise days since 1970-01-01.
            if days >= 0 {
                let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
                let expiry = epoch + chrono::Days::new(days.unsigned_abs());
                if expiry <= now.date_naive() {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}

/// The value an `accountExpires` attribute shows to mappings: RFC 3339, or null for never.
pub fn account_expires_value(text: &str) -> Value {
    match account_expires(text) {
        Ok(Some(at)) => Value::Str(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        Ok(None) => Value::Null,
        Err(_) => Value::Str(text.to_owned()),
    }
}

/// One step of Active Directory range retrieval: `member;range=0-1499` names `member`,
/// starting at 0, with more to fetch after 1499 (`None` once the server says `*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RangeStep<'a> {
    pub attribute: &'a str,
    pub next_start: Option<u64>,
}

/// Parses an attribute description with a `range=` option; `None` when there is none.
pub fn range_step(description: &str) -> Option<RangeStep<'_>> {
    let mut parts = description.split(';');
    let attribute = parts.next()?;
    let range = parts.find_map(|o| {
        o.get(..6)
            .filter(|p| p.eq_ignore_ascii_case("range="))
            .map(|_| &o[6..])
    })?;
    let (_, high) = range.split_once('-')?;
    let next_start = if high == "*" {
        None
    } else {
        Some(high.parse::<u64>().ok()? + 1)
    };
    Some(RangeStep {
        attribute,
        next_start,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_guid_uses_microsofts_byte_order() {
        // ldapsearch shows these bytes as base64 "ZPXVEm0gSEuRTrZwP3iKWA=="; Python's
        // uuid.UUID(bytes_le=...) agrees on the string.
        let bytes = [
            0x64, 0xf5, 0xd5, 0x12, 0x6d, 0x20, 0x48, 0x4b, 0x91, 0x4e, 0xb6, 0x70, 0x3f, 0x78,
            0x8a, 0x58,
        ];
        assert_eq!(
            guid(&bytes).unwrap(),
            "12d5f564-206d-4b48-914e-b6703f788a58"
        );
        assert_eq!(
            guid(&bytes[..15]).unwrap_err().to_string(),
            "a GUID has 16 bytes, this one 15"
        );
    }

    #[test]
    fn object_sid_reads_as_s_1_5() {
        // S-1-5-21-3623811015-3361044348-30300820-1013
        let bytes = [
            1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 0xc7, 0xf7, 0xfe, 0xd7, 0x7c, 0x77, 0x55, 0xc8,
            0x94, 0x5a, 0xce, 0x01, 0xf5, 0x03, 0, 0,
        ];
        assert_eq!(
            sid(&bytes).unwrap(),
            "S-1-5-21-3623811015-3361044348-30300820-1013"
        );
        assert!(sid(&bytes[..20]).is_err());
    }

    #[test]
    fn binary_kinds_by_name_and_option() {
        assert_eq!(binary_kind("objectguid"), Some(BinaryKind::Guid));
        assert_eq!(binary_kind("objectSid"), Some(BinaryKind::Sid));
        assert_eq!(
            binary_kind("userCertificate;binary"),
            Some(BinaryKind::Opaque)
        );
        assert_eq!(binary_kind("mail"), None);
        assert_eq!(base64(b"Zo\xc3\xab!"), "Wm/DqyE=");
        assert_eq!(base64(b"ab"), "YWI=");
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn account_expires_is_filetime_with_never_values() {
        assert_eq!(account_expires("0").unwrap(), None);
        assert_eq!(account_expires("9223372036854775807").unwrap(), None);
        // 2025-01-01T00:00:00Z
        assert_eq!(
            account_expires("133801632000000000").unwrap(),
            Some(at("2025-01-01T00:00:00Z"))
        );
        assert_eq!(
            account_expires_value("133801632000000000"),
            Value::from("2025-01-01T00:00:00Z")
        );
        assert!(account_expires("soon").is_err());
    }

    #[test]
    fn disabled_expired_and_locked_accounts_are_inactive() {
        let now = at("2026-06-01T00:00:00Z");
        let enabled = AccountStatus {
            user_account_control: Some("512"),
            account_expires: Some("0"),
            ..Default::default()
        };
        assert_eq!(enabled.active(now), Ok(true));
        let disabled = AccountStatus {
            user_account_control: Some("514"),
            ..Default::default()
        };
        assert_eq!(disabled.active(now), Ok(false));
        let expired = AccountStatus {
            account_expires: Some("133801632000000000"),
            ..Default::default()
        };
        assert_eq!(expired.active(now), Ok(false));
        let locked_389 = AccountStatus {
            ns_account_lock: Some("TRUE"),
            ..Default::default()
        };
        assert_eq!(locked_389.active(now), Ok(false));
        let admin_locked = AccountStatus {
            pwd_account_locked_time: Some("000001010000Z"),
            ..Default::default()
        };
        assert_eq!(admin_locked.active(now), Ok(false));
        let temporarily_locked = AccountStatus {
            pwd_account_locked_time: Some("20260531120000Z"),
            ..Default::default()
        };
        assert_eq!(temporarily_locked.active(now), Ok(true));
        // 2026-05-31 is day 20604 since 1970-01-01.
        let shadow_expired = AccountStatus {
            shadow_expire: Some("20604"),
            ..Default::default()
        };
        assert_eq!(shadow_expired.active(now), Ok(false));
        let shadow_never = AccountStatus {
            shadow_expire: Some("-1"),
            ..Default::default()
        };
        assert_eq!(shadow_never.active(now), Ok(true));
        let garbage = AccountStatus {
            user_account_control: Some("x"),
            ..Default::default()
        };
        assert_eq!(
            garbage.active(now).map_err(|e| e.to_string()),
            Err("userAccountControl `x` is not a number".into())
        );
    }

    #[test]
    fn range_options_say_where_to_continue() {
        assert_eq!(
            range_step("member;range=0-1499"),
            Some(RangeStep {
                attribute: "member",
                next_start: Some(1500)
            })
        );
        assert_eq!(
            range_step("member;Range=1500-*"),
            Some(RangeStep {
                attribute: "member",
                next_start: None
            })
        );
        assert_eq!(range_step("member"), None);
        assert_eq!(range_step("member;binary"), None);
        assert_eq!(
            generalized_time("20240131120000.5Z"),
            Some(at("2024-01-31T12:00:00Z"))
        );
    }
}
