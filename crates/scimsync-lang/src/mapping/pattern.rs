//! Regular expressions as the dialects read them.
//!
//! Okta's patterns are Java's and Entra's are .NET's: both have look-around, back-references
//! and atomic groups, which the `regex` crate leaves out. `fancy-regex` runs those parts by
//! backtracking and hands every other pattern (or part) to `regex`'s linear-time engine, so
//! plain patterns lose nothing. Backtracking is bounded: a pattern that runs away on one
//! user's value fails that user's rule, as .NET's match timeout does, never the run.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use fancy_regex::Regex;

/// Where a pattern has to match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchoring {
    /// The whole value: SpEL `matches` and Okta's group regexes (Java `String.matches`).
    Whole,
    /// Anywhere in the value: Entra `Replace` (.NET `Regex.Replace`).
    Anywhere,
}

/// A compiled pattern; cheap to clone.
#[derive(Clone, Debug)]
pub struct Pattern {
    regex: Arc<Regex>,
    /// The pattern as the user wrote it, for messages.
    written: Arc<str>,
}

/// Why a pattern cannot be used: it does not compile, or it ran away on a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("`{pattern}` is not a valid regular expression: {why}")]
    Invalid { pattern: String, why: String },
    #[error(
        "the regular expression `{pattern}` gave up on this value ({detail}); simplify the pattern"
    )]
    GaveUp { pattern: String, detail: String },
}

impl Pattern {
    pub fn compile(pattern: &str, anchoring: Anchoring) -> Result<Pattern, PatternError> {
        // Compile what the user wrote first, so an error quotes their pattern, not ours.
        let alone = Regex::new(pattern).map_err(|e| invalid(pattern, &e))?;
        let regex = match anchoring {
            Anchoring::Anywhere => alone,
            Anchoring::Whole => {
                Regex::new(&format!(r"\A(?:{pattern})\z")).map_err(|e| invalid(pattern, &e))?
            }
        };
        Ok(Pattern {
            regex: Arc::new(regex),
            written: pattern.into(),
        })
    }

    /// [`Pattern::compile`], compiled once per thread for a pattern that is only known at run
    /// time (an attribute holds it): the same rule runs for every user of a sync.
    pub fn cached(pattern: &str, anchoring: Anchoring) -> Result<Pattern, PatternError> {
        const KEEP: usize = 64;
        thread_local! {
            // One map per anchoring, so a lookup borrows the pattern instead of copying it.
            static CACHE: RefCell<[HashMap<String, Pattern>; 2]> = RefCell::default();
        }
        let slot = match anchoring {
            Anchoring::Whole => 0,
            Anchoring::Anywhere => 1,
        };
        CACHE.with(|cache| {
            if let Some(found) = cache.borrow()[slot].get(pattern) {
                return Ok(found.clone());
            }
            let compiled = Pattern::compile(pattern, anchoring)?;
            let map = &mut cache.borrow_mut()[slot];
            if map.len() >= KEEP {
                map.clear();
            }
            map.insert(pattern.to_owned(), compiled.clone());
            Ok(compiled)
        })
    }

    pub fn is_match(&self, text: &str) -> Result<bool, PatternError> {
        self.regex.is_match(text).map_err(|e| self.gave_up(&e))
    }

    pub fn has_group(&self, name: &str) -> bool {
        self.regex.capture_names().flatten().any(|n| n == name)
    }

    /// What group `name` captured in the first match, if anything.
    pub fn first_group<'t>(
        &self,
        text: &'t str,
        name: &str,
    ) -> Result<Option<&'t str>, PatternError> {
        let captures = self.regex.captures(text).map_err(|e| self.gave_up(&e))?;
        Ok(captures.and_then(|c| c.name(name)).map(|m| m.as_str()))
    }

    /// Where group `name` matched, over every match, in order.
    pub fn group_spans(
        &self,
        text: &str,
        name: &str,
    ) -> Result<Vec<std::ops::Range<usize>>, PatternError> {
        let mut spans = Vec::new();
        for captures in self.regex.captures_iter(text) {
            let captures = captures.map_err(|e| self.gave_up(&e))?;
            if let Some(m) = captures.name(name) {
                spans.push(m.range());
            }
        }
        Ok(spans)
    }

    /// Every match replaced by `substitution`, which names groups as `$1`, `${name}` and
    /// writes a dollar as `$$`.
    pub fn replace_all(&self, text: &str, substitution: &str) -> Result<String, PatternError> {
        self.regex
            .try_replacen(text, 0, substitution)
            .map(|replaced| replaced.into_owned())
            .map_err(|e| self.gave_up(&e))
    }

    fn gave_up(&self, error: &fancy_regex::Error) -> PatternError {
        PatternError::GaveUp {
            pattern: self.written.to_string(),
            detail: error.to_string(),
        }
    }
}

fn invalid(pattern: &str, error: &fancy_regex::Error) -> PatternError {
    let why = match error {
        fancy_regex::Error::ParseError(at, kind) => {
            let kind = lower_first(&kind.to_string());
            match pattern.get(..*at) {
                Some(before) if *at < pattern.len() => {
                    format!("{kind} (at character {})", before.chars().count() + 1)
                }
                _ => format!("{kind} (at the end)"),
            }
        }
        fancy_regex::Error::CompileError(kind) => lower_first(&kind.to_string()),
        other => other.to_string(),
    };
    PatternError::Invalid {
        pattern: pattern.to_owned(),
        why,
    }
}

/// fancy-regex's messages are capitalised phrases; ours continue a sentence.
fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_and_dotnet_constructs_work() {
        let whole = |p: &str| Pattern::compile(p, Anchoring::Whole).expect("valid");
        let anywhere = |p: &str| Pattern::compile(p, Anchoring::Anywhere).expect("valid");
        // Look-ahead and look-behind.
        assert_eq!(whole(r"(?=.*\d)[a-z0-9]+").is_match("abc1"), Ok(true));
        assert_eq!(whole(r"(?=.*\d)[a-z0-9]+").is_match("abc"), Ok(false));
        assert_eq!(
            anywhere(r"(?<=@)[^.]+").first_group("a@contoso.com", "x"),
            Ok(None)
        );
        assert_eq!(
            anywhere(r"(?<=@)[^.]+").replace_all("a@contoso.com", "example"),
            Ok("a@example.com".to_owned())
        );
        // Back-references and atomic groups.
        assert_eq!(whole(r"(\w)\1+").is_match("aaa"), Ok(true));
        assert_eq!(whole(r"(\w)\1+").is_match("aab"), Ok(false));
        assert_eq!(whole(r"(?>a+)b").is_match("aaab"), Ok(true));
        // Possessive quantifiers (Java): `a*+` keeps every `a`, so the last `a` cannot match.
        assert_eq!(whole(r"a*+a").is_match("aaa"), Ok(false));
        assert_eq!(whole(r"a*a").is_match("aaa"), Ok(true));
        // Whole means the whole value, anywhere means anywhere.
        assert_eq!(whole("eng").is_match("engineer"), Ok(false));
        assert_eq!(anywhere("eng").is_match("engineer"), Ok(true));
        // Named groups, .NET style.
        let phone = anywhere(r"\((?<area>\d{3})\) (?<rest>\d{3}-\d{4})");
        assert!(phone.has_group("area"));
        assert_eq!(
            phone.replace_all("(425) 555-0100", "${area}-${rest}"),
            Ok("425-555-0100".to_owned())
        );
        assert_eq!(
            phone.group_spans("(425) 555-0100 (206) 555-0199", "area"),
            Ok(vec![1..4, 16..19])
        );
    }

    #[test]
    fn java_only_classes_are_refused_not_misread() {
        let error = Pattern::compile(r"\p{javaLowerCase}+", Anchoring::Whole)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(r"`\p{javaLowerCase}+` is not a valid regular expression: "),
            "{error}"
        );
    }

    #[test]
    fn errors_quote_the_pattern_as_written() {
        let error = Pattern::compile("(", Anchoring::Whole)
            .unwrap_err()
            .to_string();
        assert!(
            error
                == "`(` is not a valid regular expression: opening parenthesis without closing parenthesis (at the end)",
            "{error}"
        );
    }

    #[test]
    fn a_runaway_pattern_fails_the_value_not_the_process() {
        // Catastrophic backtracking forced through a back-reference (no linear engine).
        let pattern = Pattern::compile(r"(a|a)+\1b", Anchoring::Whole).expect("valid");
        let error = pattern.is_match(&"a".repeat(64)).unwrap_err().to_string();
        assert!(
            error.starts_with(r"the regular expression `(a|a)+\1b` gave up on this value ("),
            "{error}"
        );
    }
}
