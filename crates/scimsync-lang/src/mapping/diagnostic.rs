//! Diagnostics: what is wrong in a `.map` file or expression, where, and how to fix it.
//!
//! Every diagnostic carries a stable code (never reused, see [`Code`]), a primary label at the
//! offending span, optional secondary labels and a help line. Rendering follows the compiler
//! convention editors and CI problem matchers understand:
//!
//! ```text
//! base44.map:7:13: error[E0201]: unknown function `ToLowr`
//!     |
//!   7 | userName <- ToLowr([mail])
//!     |             ^^^^^^ not an Entra function
//!     = help: did you mean `ToLower`?
//! ```

use std::fmt::Write as _;

use unicode_width::UnicodeWidthStr;

use super::source::{SourceFile, Span};

/// Declares [`Code`] and, from the same list, [`Code::ALL`] and [`Code::summary`]: a code's
/// doc comment is its one-line description, so the documented table cannot miss a code.
macro_rules! codes {
    ($($(#[doc = $doc:literal])+ $name:ident = $number:literal,)+) => {
        /// Stable diagnostic codes. A code keeps its meaning forever; retired codes are not
        /// reused.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $($(#[doc = $doc])+ $name = $number,)+
        }

        impl Code {
            /// Every code, in numeric order.
            pub const ALL: &'static [Code] = &[$(Code::$name),+];

            /// What the code means, in one line (its doc comment).
            pub fn summary(self) -> &'static str {
                match self {
                    $(Code::$name => concat!($($doc),+).trim_ascii(),)+
                }
            }
        }
    };
}

codes! {
    /// The grammar recognised a rule the lowering does not expect: a bug in scimsync, never
    /// in the file.
    Internal = 0,
    /// The text does not follow the grammar (unclosed bracket, missing `<-`, stray token).
    Syntax = 1,
    /// A string has no closing quote.
    UnterminatedString = 2,
    /// An escape sequence that is not valid in this kind of string.
    BadEscape = 3,
    /// A number that does not fit (integers are 64-bit).
    BadNumber = 4,
    /// `dialect` names an unknown dialect.
    UnknownDialect = 5,
    /// A construct of the other dialect, or `=` (assignment) in an Okta expression.
    WrongDialect = 6,
    /// An expression nested more than 64 levels deep (brackets, calls, conditionals, chained
    /// operators; see [Limits](mapping-language.md#limits)).
    TooDeep = 7,

    /// Unknown function (with "did you mean", case hints and cross-dialect equivalents).
    UnknownFunction = 201,
    /// Wrong number of arguments.
    Arity = 202,
    /// A function or root that needs an Okta or Entra tenant (`findDirectoryUser`,
    /// `org.subDomain`), with what to use instead.
    TenantOnlyFunction = 203,
    /// A name that is neither an attribute nor a known constant; as a **warning**, a source
    /// attribute one or two typos away from a standard Entra, Okta or LDAP attribute
    /// (`[userPrincipleName]`, `user.fristName`), or an Entra attribute in the wrong letter case
    /// (Entra names are case-sensitive). Custom attributes are never flagged otherwise; also a
    /// warning: a bare Okta name (`firstName`) read as `user.firstName`. Warnings do not fail
    /// `check` and are logged by `sync` and `daemon` (`eval` prints them on stderr).
    UnknownName = 204,
    /// An argument, operand or scope of the wrong type (a scope that is not a condition).
    Type = 205,
    /// An argument left out where one is required.
    OmittedArgument = 206,
    /// Entra's `SelectUniqueValue` anywhere but as a rule's whole expression, or writing the
    /// match attribute.
    Placement = 207,
    /// An Entra expression longer than Entra's 10,000 characters.
    ExpressionTooLong = 208,

    /// A SCIM path that is not in the core User or enterprise schema (custom extensions accept any
    /// attribute).
    UnknownPath = 301,
    /// An extension alias or URN that was not declared.
    UnknownExtension = 302,
    /// Two rules write the same SCIM path.
    DuplicatePath = 303,
    /// A constant result (a branch of `? :`, `IIF`, `Switch`, `Coalesce`, or the `default`) outside
    /// the rule's `one of` values.
    EnumViolation = 304,
    /// A result that cannot become the attribute's type: a string into an integer or boolean
    /// without `as`, true/false into an integer, a constant that does not convert, an `as` that
    /// contradicts the schema (`active <- x as integer`).
    TargetType = 305,
    /// A rule option that is repeated, contradictory or unknown.
    BadOption = 306,
    /// `target`, `match`, `scope` or an extension alias given twice.
    DuplicateStatement = 307,
    /// Something required is missing: no rule writes `userName` or the `match` attribute.
    Missing = 308,
    /// A path that is read-only in SCIM (`id`, `groups`).
    ReadOnlyPath = 309,
    /// A `scope` that is false for every user (it would provision no one and deactivate every
    /// managed user).
    ScopeNeverTrue = 310,

    /// An expression failed when evaluated (`eval`).
    Evaluation = 401,
}

impl Code {
    pub fn as_str(self) -> String {
        format!("E{:04}", self as u16)
    }

    /// The Markdown table of every code and its meaning, for `docs/diagnostics.md`.
    pub fn table() -> String {
        let mut out = String::from("| code | what is wrong |\n| --- | --- |\n");
        for code in Code::ALL {
            let _ = writeln!(out, "| `{}` | {} |", code.as_str(), code.summary());
        }
        out
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub primary: Label,
    pub secondary: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            primary: Label {
                span,
                message: String::new(),
            },
            secondary: Vec::new(),
            help: None,
        }
    }

    pub fn warning(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, span, message)
        }
    }

    /// Text under the primary caret.
    pub fn label(mut self, message: impl Into<String>) -> Diagnostic {
        self.primary.message = message.into();
        self
    }

    pub fn secondary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders in the `file:line:col: error[E0201]: message` form (rustc's, which editors and
    /// CI problem matchers understand), with the source lines and carets.
    pub fn render(&self, file: &SourceFile) -> String {
        let at = file.line_col(self.primary.span.start);
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut out = format!(
            "{}:{}: {severity}[{}]: {}\n",
            file.name,
            at,
            self.code.as_str(),
            self.message,
        );
        let mut labels: Vec<(&Label, char)> = vec![(&self.primary, '^')];
        labels.extend(self.secondary.iter().map(|l| (l, '-')));
        labels.sort_by_key(|(l, _)| l.span.start);
        let gutter = labels
            .iter()
            .map(|(l, _)| file.line_col(l.span.start).line.to_string().len())
            .max()
            .unwrap_or(1);
        let pad = " ".repeat(gutter);
        let _ = writeln!(out, " {pad} |");
        let mut last_line = 0;
        for (label, marker) in labels {
            let start = file.line_col(label.span.start);
            let line_text = file.line_text(start.line);
            if start.line != last_line {
                let _ = writeln!(out, " {:>gutter$} | {}", start.line, line_text);
                last_line = start.line;
            }
            // Underline up to the end of the span or of its first line, at least one column.
            let prefix: String = line_text.chars().take(start.col - 1).collect();
            let end = file.line_col(label.span.end);
            let underlined: String = if end.line == start.line {
                line_text
                    .chars()
                    .skip(start.col - 1)
                    .take(end.col.saturating_sub(start.col))
                    .collect()
            } else {
                line_text.chars().skip(start.col - 1).collect()
            };
            let width = underlined.width().max(1);
            let marks = marker.to_string().repeat(width);
            let lead = " ".repeat(prefix.width());
            if label.message.is_empty() {
                let _ = writeln!(out, " {pad} | {lead}{marks}");
            } else {
                let _ = writeln!(out, " {pad} | {lead}{marks} {}", label.message);
            }
        }
        if let Some(help) = &self.help {
            let _ = writeln!(out, " {pad} = help: {help}");
        }
        out
    }
}

/// Renders a list of diagnostics, one after another.
pub fn render_all(diagnostics: &[Diagnostic], file: &SourceFile) -> String {
    diagnostics
        .iter()
        .map(|d| d.render(file))
        .collect::<Vec<_>>()
        .join("")
}

/// The closest of `candidates` to `name`, when close enough to be worth suggesting.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = name.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_lowercase()), c))
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_compiler_style() {
        let file = SourceFile::new("x.map", "dialect entra\nuserName <- ToLowr([mail])\n");
        let d = Diagnostic::error(
            Code::UnknownFunction,
            Span::new(26, 32),
            "unknown function `ToLowr`",
        )
        .label("not an Entra function")
        .help("did you mean `ToLower`?");
        assert_eq!(
            d.render(&file),
            "x.map:2:13: error[E0201]: unknown function `ToLowr`\n   |\n 2 | userName <- ToLowr([mail])\n   |             ^^^^^^ not an Entra function\n   = help: did you mean `ToLower`?\n"
        );
    }

    #[test]
    fn every_code_is_listed_once_in_order_with_a_summary() {
        let table = Code::table();
        assert_eq!(table.lines().count(), Code::ALL.len() + 2);
        for pair in Code::ALL.windows(2) {
            assert!(pair[0] < pair[1], "{:?} before {:?}", pair[0], pair[1]);
        }
        for code in Code::ALL {
            let row = format!("| `{}` | {} |", code.as_str(), code.summary());
            assert!(table.lines().any(|l| l == row), "{row}");
            assert!(code.summary().ends_with('.'), "{code:?}");
        }
        assert_eq!(
            Code::Placement.summary(),
            "Entra's `SelectUniqueValue` anywhere but as a rule's whole expression, or writing the match attribute."
        );
        assert!(table.contains("| `E0202` | Wrong number of arguments. |"));
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("ToLowr", ["ToLower", "ToUpper", "Join"]),
            Some("ToLower")
        );
        assert_eq!(did_you_mean("frobnicate", ["ToLower", "Join"]), None);
    }
}
