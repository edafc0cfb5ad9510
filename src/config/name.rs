//! Target names: they become file names (`state/<name>.json`), metric labels, `/healthz/<name>`
//! paths and `--target` arguments, so they are short, plain and unique.

/// The longest name a target may have.
pub const MAX_LEN: usize = 64;

/// What is wrong with a target's name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("every [[target]] needs a `name`")]
    Missing,
    #[error("target name `{0}` is empty")]
    Empty(String),
    #[error("target name `{name}` is longer than {MAX_LEN} characters")]
    TooLong { name: String },
    #[error(
        "target name `{0}` may only hold ASCII letters, digits, `-`, `_` and `.`, and must start with a letter or digit"
    )]
    Characters(String),
    #[error("two targets are named `{0}` (names are compared ignoring case, as file names may be)")]
    Duplicate(String),
}

/// Checks one name on its own.
pub fn validate(name: &str) -> Result<(), NameError> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Err(NameError::Empty(name.to_owned()));
    };
    if name.chars().count() > MAX_LEN {
        return Err(NameError::TooLong {
            name: name.to_owned(),
        });
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if !first.is_ascii_alphanumeric() || !chars.all(allowed) {
        return Err(NameError::Characters(name.to_owned()));
    }
    Ok(())
}

/// Checks that no two names are the same, ignoring ASCII case.
pub fn unique<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<(), NameError> {
    let mut seen = std::collections::HashSet::new();
    for name in names {
        if !seen.insert(name.to_ascii_lowercase()) {
            return Err(NameError::Duplicate(name.to_owned()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_files_and_labels() {
        for good in ["base44", "Activepieces", "app-1", "a.b_c", "9"] {
            assert_eq!(validate(good), Ok(()), "{good}");
        }
        assert_eq!(validate(""), Err(NameError::Empty(String::new())));
        for bad in [".hidden", "-x", "a/b", "a b", "..", "é", "a\"b", "a{b}"] {
            assert_eq!(
                validate(bad),
                Err(NameError::Characters(bad.to_owned())),
                "{bad}"
            );
        }
        assert!(matches!(
            validate(&"a".repeat(65)),
            Err(NameError::TooLong { .. })
        ));
        assert_eq!(
            unique(["a", "b", "A"]),
            Err(NameError::Duplicate("A".to_owned()))
        );
    }
}
