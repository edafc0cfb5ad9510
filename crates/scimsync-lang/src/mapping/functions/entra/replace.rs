//! Entra's `Replace(source, oldValue, regexPattern, regexGroupName, replacementValue,
//! replacementAttributeName, template)`: one function, five behaviours, chosen by which
//! arguments are present. An omitted argument is not `""`: `""` is a legal replacement.
//!
//! Patterns are .NET regular expressions, run by [`Pattern`]: named groups `(?<name>…)`,
//! look-around, back-references and atomic groups included.

use super::super::Args;
use super::args::text_arg;
use crate::mapping::eval::EvalError;
use crate::mapping::pattern::{Anchoring, Pattern, PatternError};
use crate::value::Value;

/// The arguments as the call gave them: `None` = left out.
#[derive(Debug, Default)]
pub struct ReplaceArgs {
    pub source: Option<String>,
    pub old_value: Option<String>,
    pub pattern: Option<String>,
    pub group: Option<String>,
    pub replacement: Option<String>,
    /// The value of the attribute passed as `replacementAttributeName` (`[mobile]`), and
    /// whether the argument was given at all.
    pub replacement_attribute: Option<Option<String>>,
    pub template: Option<String>,
}

/// Why `Replace` failed; the messages are the evaluator's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplaceError {
    #[error("Replace: oldValue must not be empty")]
    EmptyOldValue,
    #[error("Replace: with oldValue, give replacementValue or template")]
    OldValueAlone,
    #[error("Replace: give oldValue or regexPattern")]
    NothingToFind,
    #[error("Replace: with regexGroupName, give replacementValue or replacementAttributeName")]
    GroupAlone,
    #[error("Replace: with regexPattern, give replacementValue")]
    PatternAlone,
    #[error("Replace: the pattern has no group named \"{0}\"")]
    NoSuchGroup(String),
    /// The pattern does not compile.
    #[error("Replace: {0}")]
    Invalid(PatternError),
    /// The pattern gave up on this value (backtracking limit).
    #[error(transparent)]
    GaveUp(PatternError),
}

/// Runs Replace; `Ok(None)` is a null result (nothing to replace in).
pub fn apply(args: ReplaceArgs) -> Result<Option<String>, ReplaceError> {
    if let Some(old) = &args.old_value {
        if old.is_empty() {
            return Err(ReplaceError::EmptyOldValue);
        }
        let Some(source) = &args.source else {
            return Ok(None);
        };
        if let Some(template) = &args.template {
            // Mode 2: the source goes into the template in place of oldValue.
            return Ok(Some(template.replace(old.as_str(), source)));
        }
        if let Some(replacement) = &args.replacement {
            // Mode 1: plain, case-sensitive, every occurrence.
            return Ok(Some(source.replace(old.as_str(), replacement)));
        }
        return Err(ReplaceError::OldValueAlone);
    }
    let Some(pattern) = &args.pattern else {
        return Err(ReplaceError::NothingToFind);
    };
    let regex = Pattern::cached(pattern, Anchoring::Anywhere).map_err(ReplaceError::Invalid)?;
    match (&args.group, &args.replacement, &args.replacement_attribute) {
        (Some(group), None, Some(attribute)) => {
            // Mode 5: the source when it has a value; else the named group of the pattern
            // applied to the replacement attribute.
            if let Some(source) = args.source.as_ref().filter(|s| !s.is_empty()) {
                return Ok(Some(source.clone()));
            }
            let Some(other) = attribute else {
                return Ok(None);
            };
            check_group(&regex, group)?;
            Ok(Some(
                regex
                    .first_group(other, group)
                    .map_err(ReplaceError::GaveUp)?
                    .unwrap_or("")
                    .to_owned(),
            ))
        }
        (Some(group), Some(replacement), _) => {
            // Mode 4: only the text the named group captured is replaced, literally.
            check_group(&regex, group)?;
            let Some(source) = &args.source else {
                return Ok(None);
            };
            let mut out = String::with_capacity(source.len());
            let mut last = 0;
            for span in regex
                .group_spans(source, group)
                .map_err(ReplaceError::GaveUp)?
            {
                out.push_str(&source[last..span.start]);
                out.push_str(replacement);
                last = span.end;
            }
            out.push_str(&source[last..]);
            Ok(Some(out))
        }
        (None, Some(replacement), _) => {
            // Mode 3: Regex.Replace, with .NET substitutions (`${name}`, `$1`, `$$`).
            let Some(source) = &args.source else {
                return Ok(None);
            };
            Ok(Some(
                regex
                    .replace_all(source, &rust_substitution(replacement))
                    .map_err(ReplaceError::GaveUp)?,
            ))
        }
        (Some(_), None, None) => Err(ReplaceError::GroupAlone),
        (None, None, _) => Err(ReplaceError::PatternAlone),
    }
}

fn check_group(regex: &Pattern, group: &str) -> Result<(), ReplaceError> {
    if regex.has_group(group) {
        Ok(())
    } else {
        Err(ReplaceError::NoSuchGroup(group.to_owned()))
    }
}

/// Rewrites a .NET replacement string in the substitution syntax of [`Pattern::replace_all`]: `$1a` in .NET is group 1 then
/// `a` (the crate would read a group named `1a`), `$&` is the whole match, and a `$` that
/// starts no substitution is literal.
fn rust_substitution(dotnet: &str) -> String {
    let mut out = String::with_capacity(dotnet.len());
    let mut chars = dotnet.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        match chars.peek().copied() {
            Some('$') => {
                chars.next();
                out.push_str("$$");
            }
            Some('&') => {
                chars.next();
                out.push_str("${0}");
            }
            Some('{') => {
                let name: String = chars.clone().skip(1).take_while(|c| *c != '}').collect();
                let name_chars = name.chars().count();
                let closed = chars.clone().nth(1 + name_chars) == Some('}');
                if closed && !name.is_empty() {
                    for _ in 0..name_chars + 2 {
                        chars.next();
                    }
                    out.push_str(&format!("${{{name}}}"));
                } else {
                    out.push_str("$$");
                }
            }
            Some(d) if d.is_ascii_digit() => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    digits.push(d);
                    chars.next();
                }
                out.push_str(&format!("${{{digits}}}"));
            }
            _ => out.push_str("$$"),
        }
    }
    out
}

pub(super) fn replace(a: &mut Args<'_>) -> Result<Value, EvalError> {
    let given_text = |a: &mut Args<'_>, i: usize| -> Result<Option<String>, EvalError> {
        Ok(if a.given(i) {
            Some(text_arg(a, i)?.unwrap_or_default())
        } else {
            None
        })
    };
    let args = ReplaceArgs {
        source: text_arg(a, 0)?,
        old_value: given_text(a, 1)?,
        pattern: given_text(a, 2)?,
        group: given_text(a, 3)?,
        replacement: given_text(a, 4)?,
        replacement_attribute: if a.given(5) {
            Some(text_arg(a, 5)?)
        } else {
            None
        },
        template: given_text(a, 6)?,
    };
    apply(args)
        .map(|r| r.map_or(Value::Null, Value::Str))
        .map_err(|e| a.error(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotnet_substitutions_are_translated() {
        assert_eq!(rust_substitution("${phoneNumber}"), "${phoneNumber}");
        assert_eq!(rust_substitution("$1a"), "${1}a");
        assert_eq!(
            rust_substitution("$$ and $& and $x and ${"),
            "$$ and ${0} and $$x and $${"
        );
    }
}
