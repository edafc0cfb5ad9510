//! `group` and `groups matching` statements: regular expressions compile, a name is pushed
//! once, and only a named group can be given a display name.

use std::collections::HashMap;

use super::Checker;
use super::error::StatementError;
use crate::mapping::plan::{GroupRule, GroupSelect};
use crate::mapping::source::{SourceFile, Span};
use crate::mapping::syntax::GroupStatement;

impl Checker {
    pub(super) fn group_rules(
        &mut self,
        statements: &[&GroupStatement],
        source: &SourceFile,
    ) -> Vec<GroupRule> {
        let mut named: HashMap<String, Span> = HashMap::new();
        let mut rules = Vec::new();
        for statement in statements {
            let Some(select) = self.group_select(statement, &mut named) else {
                continue;
            };
            if statement.matching && statement.display_name.is_some() {
                self.report(StatementError::NamedGroupPattern { at: statement.span });
                continue;
            }
            rules.push(GroupRule {
                select,
                display_name: statement.display_name.clone(),
                external_id: statement.external_id.clone(),
                line: source.line_col(statement.span.start).line,
            });
        }
        rules
    }

    /// Which groups the statement pushes; `None` when its pattern does not compile or its
    /// name was pushed before (`named`: lowercased names and where they were first pushed).
    fn group_select(
        &mut self,
        statement: &GroupStatement,
        named: &mut HashMap<String, Span>,
    ) -> Option<GroupSelect> {
        if statement.matching {
            return match regex::Regex::new(&statement.pattern) {
                Ok(regex) => Some(GroupSelect::Matching(regex)),
                Err(e) => {
                    self.report(StatementError::GroupRegex {
                        problem: e
                            .to_string()
                            .lines()
                            .last()
                            .unwrap_or("invalid")
                            .trim()
                            .to_owned(),
                        at: statement.pattern_span,
                    });
                    None
                }
            };
        }
        let key = statement.pattern.to_lowercase();
        if let Some(first) = named.get(&key) {
            self.report(StatementError::GroupTwice {
                group: statement.pattern.clone(),
                at: statement.pattern_span,
                first: *first,
            });
            return None;
        }
        named.insert(key, statement.pattern_span);
        Some(GroupSelect::Named(statement.pattern.clone()))
    }
}
