//! The checker's errors as types. Each phase has an enum whose variants carry what went wrong
//! (names, spans, expected and found types, suggestions); a variant's `#[error]` text is the
//! message and its arm in [`Problem::parts`] the code, labels and help, so the three cannot
//! drift apart. The checker only builds variants; [`Problem::into_diagnostic`] is the one
//! conversion into the [`Diagnostic`] that is rendered.
//!
//! The shape follows Vector VRL's `DiagnosticMessage` (code, message, labels, notes per error
//! type) and cedar-policy's validation errors (`#[error]` plus code and help per variant).

use crate::mapping::diagnostic::{Code, Diagnostic, Label, Severity};
use crate::mapping::source::Span;

mod call;
mod name;
mod okta;
mod path;
mod rule;
mod statement;

pub(super) use call::{CallError, FunctionHint};
pub(super) use name::NameError;
pub(super) use okta::OktaError;
pub(super) use path::{PathError, PathSuggestion};
pub(super) use rule::{RuleError, article};
pub(super) use statement::StatementError;

/// A check error or warning: its message is its `Display` text, the rest comes from
/// [`Problem::parts`].
pub(super) trait Problem: std::error::Error {
    /// The code, severity, labels and help of this problem.
    fn parts(&self) -> Parts;

    /// The diagnostic to render: the single place a problem becomes one.
    fn into_diagnostic(self) -> Diagnostic
    where
        Self: Sized,
    {
        let Parts {
            code,
            severity,
            span,
            label,
            secondary,
            help,
        } = self.parts();
        Diagnostic {
            code,
            severity,
            message: self.to_string(),
            primary: Label {
                span,
                message: label,
            },
            secondary: secondary.into_iter().collect(),
            help,
        }
    }
}

/// Everything of a diagnostic but its message.
pub(super) struct Parts {
    code: Code,
    severity: Severity,
    span: Span,
    label: String,
    secondary: Option<Label>,
    help: Option<String>,
}

impl Parts {
    /// An error with `label` under the caret at `span`.
    pub(super) fn error(code: Code, span: Span, label: impl Into<String>) -> Parts {
        Parts {
            code,
            severity: Severity::Error,
            span,
            label: label.into(),
            secondary: None,
            help: None,
        }
    }

    pub(super) fn warning(code: Code, span: Span, label: impl Into<String>) -> Parts {
        Parts {
            severity: Severity::Warning,
            ..Parts::error(code, span, label)
        }
    }

    /// The one secondary label: a related place, such as the first of two declarations.
    pub(super) fn secondary(mut self, span: Span, message: impl Into<String>) -> Parts {
        self.secondary = Some(Label {
            span,
            message: message.into(),
        });
        self
    }

    pub(super) fn help(mut self, help: impl Into<String>) -> Parts {
        self.help = Some(help.into());
        self
    }
}

/// "did you mean `x`?", the help of every close-name suggestion.
pub(super) fn did_you_mean(name: &str) -> String {
    format!("did you mean `{name}`?")
}

/// "was" or "were", after a count of arguments.
pub(super) fn was_were(count: usize) -> &'static str {
    if count == 1 { "was" } else { "were" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::source::SourceFile;

    #[test]
    fn a_variant_renders_its_code_message_labels_and_help() {
        let file = SourceFile::new("x.map", "target a\ntarget b\n");
        let error = StatementError::Repeated {
            what: "target",
            at: Span::new(9, 17),
            first: Span::new(0, 8),
        };
        let diagnostic = error.into_diagnostic();
        assert_eq!(diagnostic.code, Code::DuplicateStatement);
        assert!(diagnostic.is_error());
        assert_eq!(
            diagnostic.render(&file),
            "x.map:2:1: error[E0307]: `target` may appear only once\n   |\n 1 | target a\n   | -------- first here\n 2 | target b\n   | ^^^^^^^^ appears again here\n"
        );
    }

    #[test]
    fn warnings_and_suggestions_come_from_the_variant() {
        let warning = NameError::BareAttribute {
            name: "firstName".into(),
            explicit: "user.firstName".into(),
            at: Span::new(0, 9),
        }
        .into_diagnostic();
        assert!(!warning.is_error());
        assert_eq!(warning.message, "`firstName` is read as `user.firstName`");

        let closest = PathError::UnknownAttribute {
            name: "userNme".into(),
            in_extension: false,
            suggestion: PathSuggestion::new("userNme", &["userName", "title"]),
            at: Span::new(0, 7),
        }
        .into_diagnostic();
        assert_eq!(closest.code, Code::UnknownPath);
        assert_eq!(closest.message, "`userNme` is not a core User attribute");
        assert_eq!(closest.help.as_deref(), Some("did you mean `userName`?"));

        let few = PathSuggestion::new("zzz", &["value", "type"]);
        assert!(matches!(few, PathSuggestion::OneOf(ref names) if names == &["value", "type"]));
    }
}
