//! A rule's options: `always` or `on create`, `default`, `one of` and `as`, each at most
//! once.

use super::Checker;
use super::error::RuleError;
use crate::mapping::plan::{Flow, TargetType};
use crate::mapping::source::Span;
use crate::mapping::syntax::{Constant, Ident, RuleOption};

/// A rule's options as written, each with where it was written.
#[derive(Default)]
pub(super) struct RuleOptions<'a> {
    pub(super) flow: Option<(Flow, Span)>,
    pub(super) default: Option<&'a Constant>,
    pub(super) one_of: Option<(&'a [Constant], Span)>,
    /// `as string`, `as integer`, `as boolean`.
    pub(super) declared_type: Option<(TargetType, Span)>,
}

impl Checker {
    /// Collects the options, reporting repeated or unknown ones; a repeated option's last
    /// `default` or `one of` wins, its first flow.
    pub(super) fn rule_options<'a>(&mut self, options: &'a [RuleOption]) -> RuleOptions<'a> {
        let mut found = RuleOptions::default();
        for option in options {
            match option {
                RuleOption::OnCreate(span) => self.flow(&mut found, Flow::OnCreate, *span),
                RuleOption::Always(span) => self.flow(&mut found, Flow::Always, *span),
                RuleOption::Default(constant) => {
                    if found.default.is_some() {
                        self.report(RuleError::DefaultTwice { at: constant.span });
                    }
                    found.default = Some(constant);
                }
                RuleOption::OneOf { values, span } => {
                    if found.one_of.is_some() {
                        self.report(RuleError::OneOfTwice { at: *span });
                    }
                    found.one_of = Some((values, *span));
                }
                RuleOption::As(name) => {
                    if let Some(declared) = self.declared_type(name) {
                        found.declared_type = Some(declared);
                    }
                }
            }
        }
        found
    }

    fn flow(&mut self, found: &mut RuleOptions, flow: Flow, at: Span) {
        if let Some((_, first)) = found.flow {
            self.report(RuleError::FlowTwice { at, first });
        } else {
            found.flow = Some((flow, at));
        }
    }

    fn declared_type(&mut self, name: &Ident) -> Option<(TargetType, Span)> {
        let declared = TargetType::from_name(&name.name);
        if declared.is_none() {
            self.report(RuleError::UnknownType {
                name: name.name.clone(),
                at: name.span,
            });
        }
        declared.map(|t| (t, name.span))
    }
}
