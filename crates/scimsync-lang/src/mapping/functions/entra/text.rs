//! Entra's string functions, VB-style: 1-based positions, `""` rather than failure for a
//! missing string where Entra documents it, and .NET's character-by-character case mapping.
//!
//! Positions count characters (Unicode scalar values); .NET counts UTF-16 code units, which
//! is the same for every character outside the astral planes (emoji, rare CJK).

use base64::Engine as _;

/// `Left(string, numChars)`: the first `count` characters; a negative count keeps the whole
/// string.
pub fn left(text: &str, count: i64) -> String {
    match usize::try_from(count) {
        Ok(n) => text.chars().take(n).collect(),
        Err(_) => text.to_owned(),
    }
}

/// Why a text function failed; the messages are the evaluator's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TextError {
    #[error("{function}: start must be 1 or more (positions are 1-based), got {start}")]
    Start { function: &'static str, start: i64 },
    #[error("Mid: length must not be negative, got {0}")]
    NegativeLength(i64),
    #[error("\"{text}\" is not Base64: {error}")]
    NotBase64 {
        text: String,
        error: base64::DecodeError,
    },
    #[error("the bytes are not UTF-8 text")]
    NotUtf8,
    #[error("UTF-16 text needs an even number of bytes")]
    OddUtf16,
    #[error("\"{0}\" is not an encoding; use UTF8, ASCII or Unicode")]
    UnknownEncoding(String),
}

/// `Mid(source, start, length)`: `length` characters from the 1-based `start`, or to the end
/// when `length` is `None` or runs past it; `""` when `start` is past the end.
pub fn mid(text: &str, start: i64, length: Option<i64>) -> Result<String, TextError> {
    if start < 1 {
        return Err(TextError::Start {
            function: "Mid",
            start,
        });
    }
    let skip = usize::try_from(start - 1).unwrap_or(usize::MAX);
    let rest = text.chars().skip(skip);
    match length {
        None => Ok(rest.collect()),
        Some(n) if n < 0 => Err(TextError::NegativeLength(n)),
        Some(n) => Ok(rest
            .take(usize::try_from(n).unwrap_or(usize::MAX))
            .collect()),
    }
}

/// `Word(string, wordNumber, delimiters)`: the 1-based `number`th word, words being separated
/// by any of the `delimiters` characters (runs of them count once). `""` when there is no
/// such word.
pub fn word(text: &str, number: i64, delimiters: &str) -> String {
    let Some(Ok(index)) = number.checked_sub(1).map(usize::try_from) else {
        return String::new();
    };
    text.split(|c| delimiters.contains(c))
        .filter(|w| !w.is_empty())
        .nth(index)
        .unwrap_or_default()
        .to_owned()
}

/// How `InStr` compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compare {
    /// `vbBinaryCompare` (0), the default: exact.
    Binary,
    /// `vbTextCompare` (1): case-insensitive.
    Text,
}

impl Compare {
    pub fn from_name(name: &str) -> Option<Compare> {
        match name.trim() {
            "vbBinaryCompare" | "0" => Some(Compare::Binary),
            "vbTextCompare" | "1" => Some(Compare::Text),
            _ => None,
        }
    }
}

/// `InStr(value1, value2, start, compareType)`: the 1-based position of `needle` in `haystack`
/// from `start`, 0 when absent. An empty needle is found at `start`, like VB.
pub fn instr(haystack: &str, needle: &str, start: i64, compare: Compare) -> Result<i64, TextError> {
    if start < 1 {
        return Err(TextError::Start {
            function: "InStr",
            start,
        });
    }
    let fold = |s: &str| -> Vec<char> {
        match compare {
            Compare::Binary => s.chars().collect(),
            Compare::Text => s.chars().map(lower_char).collect(),
        }
    };
    let (hay, needle) = (fold(haystack), fold(needle));
    let from = usize::try_from(start - 1).unwrap_or(usize::MAX);
    if from > hay.len() {
        return Ok(0);
    }
    if needle.is_empty() {
        return Ok(start);
    }
    Ok(hay[from..]
        .windows(needle.len())
        .position(|w| w == needle.as_slice())
        .map_or(0, |i| (from + i + 1) as i64))
}

/// `PCase(source, wordSeparators)`: each word's first letter upper case, every other letter
/// lower case — all-caps words too, unlike raw .NET `ToTitleCase`.
///
/// Without separators, words follow .NET `ToTitleCase`: a word starts at a letter after
/// white space, punctuation or a symbol; digits, apostrophes and combining marks inside a
/// word keep it going (`o'neil` → `O'neil`, `3rd` → `3Rd`). With separators, only those
/// characters separate words and a word's first character is upper-cased whatever it is.
pub fn pcase(text: &str, separators: Option<&str>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_word = false;
    for c in text.chars() {
        match separators {
            Some(separators) if separators.contains(c) => {
                in_word = false;
                out.push(c);
            }
            Some(_) => {
                push_case(&mut out, c, !in_word);
                in_word = true;
            }
            None if c.is_alphabetic() => {
                push_case(&mut out, c, !in_word);
                in_word = true;
            }
            None => {
                let joins_word = c.is_numeric() || c == '\'' || is_combining_mark(c);
                in_word &= joins_word;
                out.push(c);
            }
        }
    }
    out
}

fn push_case(out: &mut String, c: char, upper: bool) {
    out.push(if upper { upper_char(c) } else { lower_char(c) });
}

fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

/// .NET maps case one character at a time: a character whose mapping is longer (`ß` → `SS`)
/// is left as it is.
fn upper_char(c: char) -> char {
    let mut mapped = c.to_uppercase();
    match (mapped.next(), mapped.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

fn lower_char(c: char) -> char {
    let mut mapped = c.to_lowercase();
    match (mapped.next(), mapped.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// Whether a culture name (`tr-TR`, `az`) uses the Turkic dotted and dotless i.
fn turkic(culture: Option<&str>) -> bool {
    culture.is_some_and(|c| {
        let language = c.split(['-', '_']).next().unwrap_or_default();
        language.eq_ignore_ascii_case("tr") || language.eq_ignore_ascii_case("az")
    })
}

/// `ToUpper(source, culture)`: invariant culture unless a Turkic culture is named.
pub fn to_upper(text: &str, culture: Option<&str>) -> String {
    let turkic = turkic(culture);
    text.chars()
        .map(|c| match c {
            'i' if turkic => 'İ',
            c => upper_char(c),
        })
        .collect()
}

/// `ToLower(source, culture)`.
pub fn to_lower(text: &str, culture: Option<&str>) -> String {
    let turkic = turkic(culture);
    text.chars()
        .map(|c| match c {
            'I' if turkic => 'ı',
            'İ' if turkic => 'i',
            c => lower_char(c),
        })
        .collect()
}

/// `StripSpaces(source)`: removes every space character (only `" "`, not tabs or newlines).
pub fn strip_spaces(text: &str) -> String {
    text.chars().filter(|c| *c != ' ').collect()
}

/// `ConvertToBase64(source)`: Base64 of the UTF-16LE bytes, as .NET's `Encoding.Unicode`.
pub fn base64_utf16le(text: &str) -> String {
    let bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `ConvertToUTF8Hex(source)`: the UTF-8 bytes as upper-case hex digits.
pub fn utf8_hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02X}")).collect()
}

/// `ConvertFromBase64(source, encoding)`: `UTF8`, `ASCII` or `Unicode` (UTF-16LE) text.
pub fn from_base64(text: &str, encoding: &str) -> Result<String, TextError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|error| TextError::NotBase64 {
            text: text.to_owned(),
            error,
        })?;
    match encoding {
        "UTF8" => String::from_utf8(bytes).map_err(|_| TextError::NotUtf8),
        "ASCII" => Ok(bytes
            .iter()
            .map(|b| if b.is_ascii() { char::from(*b) } else { '?' })
            .collect()),
        "Unicode" => {
            if bytes.len() % 2 != 0 {
                return Err(TextError::OddUtf16);
            }
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
                .collect();
            Ok(String::from_utf16_lossy(&units))
        }
        other => Err(TextError::UnknownEncoding(other.to_owned())),
    }
}

/// `DNComponent(dn, n)`: the value of the n-th (1-based) component of a distinguished name,
/// `cn=Joe\, Jr.,ou=Sales` → 1: `Joe, Jr.`. `None` when there is no such component.
pub fn dn_component(dn: &str, number: i64) -> Option<String> {
    let index = usize::try_from(number.checked_sub(1)?).ok()?;
    let mut components = Vec::new();
    let mut current = String::new();
    let mut chars = dn.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(escaped) = chars.next() {
                    current.push(escaped);
                }
            }
            ',' => components.push(std::mem::take(&mut current)),
            other => current.push(other),
        }
    }
    components.push(current);
    let component = components.get(index)?;
    let (_, value) = component.split_once('=')?;
    Some(value.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcase_follows_title_case_rules_and_lowers_all_caps() {
        assert_eq!(
            pcase("PABLO GONSALVES (SECOND)", None),
            "Pablo Gonsalves (Second)"
        );
        assert_eq!(pcase("PINTO-DE'SILVA", Some(" '-")), "Pinto-De'Silva");
        assert_eq!(pcase("PINTO-DE'SILVA", None), "Pinto-De'silva");
        assert_eq!(pcase("o'neil 3rd mcdonald", None), "O'neil 3Rd Mcdonald");
        assert_eq!(pcase("élodie ÉCLAIR", None), "Élodie Éclair");
        assert_eq!(pcase("  two  spaces ", None), "  Two  Spaces ");
        assert_eq!(pcase("a.b/c_d", Some(".")), "A.B/c_d");
    }

    #[test]
    fn case_mapping_is_per_character_like_dotnet() {
        assert_eq!(to_upper("straße", None), "STRAßE");
        assert_eq!(to_upper("istanbul", Some("tr-TR")), "İSTANBUL");
        assert_eq!(to_lower("ISTANBUL", Some("tr")), "ıstanbul");
        assert_eq!(to_lower("ISTANBUL", Some("en-US")), "istanbul");
    }

    #[test]
    fn instr_positions_are_one_based() {
        assert_eq!(
            instr("The quick brown fox", "quick", 1, Compare::Binary),
            Ok(5)
        );
        assert_eq!(instr("repEated", "e", 3, Compare::Binary), Ok(7));
        assert_eq!(instr("repEated", "e", 3, Compare::Text), Ok(4));
        assert_eq!(instr("abc", "", 2, Compare::Binary), Ok(2));
        assert_eq!(instr("abc", "c", 4, Compare::Binary), Ok(0));
        assert_eq!(instr("abc", "c", 9, Compare::Binary), Ok(0));
        assert!(instr("abc", "c", 0, Compare::Binary).is_err());
    }

    #[test]
    fn encodings_match_dotnet() {
        assert_eq!(
            base64_utf16le("Hello world!"),
            "SABlAGwAbABvACAAdwBvAHIAbABkACEA"
        );
        assert_eq!(utf8_hex("Hello world!"), "48656C6C6F20776F726C6421");
        assert_eq!(utf8_hex("é"), "C3A9");
    }
}
