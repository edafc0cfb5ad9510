//! Entra's random values: `Guid()` and `RandomString(...)`, for one-time passwords and
//! unique ids. Backed by the operating system's randomness (`rand`'s thread RNG).

use super::super::Args;
use super::args::{text_arg, whole_number};
use crate::mapping::eval::EvalError;
use crate::value::Value;
use rand::RngExt as _;
use rand::seq::SliceRandom as _;

/// A random (version 4) GUID in .NET's default `D` format: 32 lower-case hex digits in
/// groups 8-4-4-4-12.
pub fn new_guid() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill(&mut bytes[..]);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The characters `RandomString` draws from, by class.
pub const DIGITS: &str = "0123456789";
/// ASCII punctuation: Entra does not list its special characters; its own example avoids
/// `?` and `,`, so they are among them.
pub const SPECIALS: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
pub const CAPITALS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
pub const LOWERS: &str = "abcdefghijklmnopqrstuvwxyz";

/// The most characters `RandomString` makes.
pub const MAX_LENGTH: i64 = 256;

/// What `RandomString` was asked for.
#[derive(Clone, Debug, Default)]
pub struct Spec {
    pub length: i64,
    pub min_numbers: i64,
    pub min_special: i64,
    pub min_capital: i64,
    pub min_lower: i64,
    pub avoid: String,
}

/// Why `RandomString` cannot make a string; the messages are the evaluator's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RandomError {
    #[error("RandomString: length must be between 1 and {MAX_LENGTH}, got {0}")]
    Length(i64),
    #[error("RandomString: {name} must not be negative, got {min}")]
    NegativeMinimum { name: &'static str, min: i64 },
    #[error("RandomString: the minimums add up to {required}, more than the length {length}")]
    MinimumsTooLong { required: i64, length: i64 },
    #[error("RandomString: {name} is {min} but every such character is to be avoided")]
    ClassAvoided { name: &'static str, min: i64 },
    #[error("RandomString: every character is to be avoided")]
    AllAvoided,
}

/// `RandomString(length, minNumbers, minSpecial, minCapital, minLower, charactersToAvoid)`:
/// at least the given number of each class, the rest from all classes, shuffled, none of
/// the avoided characters.
pub fn generate(spec: &Spec) -> Result<String, RandomError> {
    let minima = [
        (spec.min_numbers, DIGITS, "minNumbers"),
        (spec.min_special, SPECIALS, "minSpecial"),
        (spec.min_capital, CAPITALS, "minCapital"),
        (spec.min_lower, LOWERS, "minLower"),
    ];
    if !(1..=MAX_LENGTH).contains(&spec.length) {
        return Err(RandomError::Length(spec.length));
    }
    let mut required = 0;
    for (min, _, name) in minima {
        if min < 0 {
            return Err(RandomError::NegativeMinimum { name, min });
        }
        required = min.saturating_add(required);
    }
    if required > spec.length {
        return Err(RandomError::MinimumsTooLong {
            required,
            length: spec.length,
        });
    }
    let pool =
        |class: &str| -> Vec<char> { class.chars().filter(|c| !spec.avoid.contains(*c)).collect() };
    let mut rng = rand::rng();
    let mut out: Vec<char> = Vec::with_capacity(spec.length as usize);
    for (min, class, name) in minima {
        let chars = pool(class);
        if min > 0 && chars.is_empty() {
            return Err(RandomError::ClassAvoided { name, min });
        }
        for _ in 0..min {
            out.push(chars[rng.random_range(0..chars.len())]);
        }
    }
    let all: Vec<char> = minima
        .iter()
        .flat_map(|(_, class, _)| pool(class))
        .collect();
    if all.is_empty() {
        return Err(RandomError::AllAvoided);
    }
    while (out.len() as i64) < spec.length {
        out.push(all[rng.random_range(0..all.len())]);
    }
    out.shuffle(&mut rng);
    Ok(out.into_iter().collect())
}

pub(super) fn guid(_: &mut Args<'_>) -> Result<Value, EvalError> {
    Ok(Value::Str(new_guid()))
}

pub(super) fn random_string(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let mut counts = [0i64; 5];
    for (i, count) in counts.iter_mut().enumerate() {
        *count = whole_number(a, i)?.unwrap_or(0);
    }
    let spec = Spec {
        length: counts[0],
        min_numbers: counts[1],
        min_special: counts[2],
        min_capital: counts[3],
        min_lower: counts[4],
        avoid: text_arg(a, 5)?.unwrap_or_default(),
    };
    generate(&spec)
        .map(Value::Str)
        .map_err(|e| a.error(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_have_the_v4_shape() {
        let re = regex::Regex::new(
            "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
        )
        .unwrap();
        for _ in 0..100 {
            let g = new_guid();
            assert!(re.is_match(&g), "{g}");
        }
        assert_ne!(new_guid(), new_guid());
    }

    #[test]
    fn random_strings_meet_their_minimums() {
        let spec = Spec {
            length: 10,
            min_numbers: 2,
            min_special: 2,
            min_capital: 2,
            min_lower: 1,
            avoid: "?,".into(),
        };
        for _ in 0..200 {
            let s = generate(&spec).unwrap();
            assert_eq!(s.chars().count(), 10);
            let count = |class: &str| s.chars().filter(|c| class.contains(*c)).count();
            assert!(count(DIGITS) >= 2 && count(SPECIALS) >= 2, "{s}");
            assert!(count(CAPITALS) >= 2 && count(LOWERS) >= 1, "{s}");
            assert!(!s.contains(['?', ',']), "{s}");
        }
    }

    #[test]
    fn impossible_requests_fail() {
        let spec = |length, min_numbers, avoid: &str| Spec {
            length,
            min_numbers,
            avoid: avoid.into(),
            ..Spec::default()
        };
        assert!(generate(&spec(0, 0, "")).is_err());
        assert!(generate(&spec(257, 0, "")).is_err());
        assert!(generate(&spec(3, 4, "")).is_err());
        assert!(generate(&spec(3, -1, "")).is_err());
        assert!(generate(&spec(3, 1, DIGITS)).is_err());
        assert_eq!(generate(&spec(256, 0, "")).map(|s| s.len()), Ok(256));
    }
}
