//! Lowering of statements: declarations, rules and their options, SCIM paths, and the `.map`
//! file's own constants (JSON-style strings, numbers, booleans, null).

use pest::iterators::Pair;

use super::{Lower, Rule};
use crate::mapping::Dialect;
use crate::mapping::diagnostic::{Code, Diagnostic};
use crate::mapping::lex::{self, Quoting};
use crate::mapping::source::Span;
use crate::mapping::syntax::{
    AttributeRule, Constant, GroupStatement, PathPrefix, PathSyntax, RuleOption, Statement,
};
use crate::value::Value;

impl Lower<'_> {
    pub(super) fn statement(&mut self, pair: Pair<Rule>) -> Option<Statement> {
        let inner = pair.into_inner().next()?;
        let span = self.span(&inner);
        let statement = match inner.as_rule() {
            Rule::dialect_decl => {
                let name = inner.into_inner().nth(1)?;
                match Dialect::from_name(name.as_str()) {
                    Some(dialect) => Statement::Dialect { dialect, span },
                    None => {
                        self.diagnostics.push(
                            Diagnostic::error(
                                Code::UnknownDialect,
                                self.span(&name),
                                format!("unknown dialect `{}`", name.as_str()),
                            )
                            .label("not a dialect")
                            .help("write `dialect okta`, `dialect okta2` (Identity Engine) or `dialect entra`"),
                        );
                        return None;
                    }
                }
            }
            Rule::target_decl => {
                let text = inner.into_inner().nth(1)?;
                Statement::Target {
                    name: self.text(text)?,
                    span,
                }
            }
            Rule::extension_decl => {
                let mut parts = inner.into_inner().skip(1);
                let alias = self.ident(parts.next()?);
                let urn = parts.next()?;
                let urn_span = self.span(&urn);
                Statement::Extension {
                    alias,
                    urn: self.text(urn)?,
                    urn_span,
                    span,
                }
            }
            Rule::match_decl => Statement::Match {
                path: self.path(inner.into_inner().nth(1)?)?,
                span,
            },
            Rule::group_decl | Rule::groups_decl => {
                let matching = inner.as_rule() == Rule::groups_decl;
                let mut parts = inner.into_inner().filter(|p| {
                    !matches!(
                        p.as_rule(),
                        Rule::kw_group | Rule::kw_groups | Rule::kw_matching
                    )
                });
                let pattern = parts.next()?;
                let pattern_span = self.span(&pattern);
                let mut group = GroupStatement {
                    pattern: self.text(pattern)?,
                    pattern_span,
                    matching,
                    display_name: None,
                    external_id: None,
                    span,
                };
                for option in parts.next()?.into_inner() {
                    let rule = option.as_rule();
                    let value = option.into_inner().last()?;
                    let value = self.text(value)?;
                    match rule {
                        Rule::group_as => group.display_name = Some(value),
                        _ => group.external_id = Some(value),
                    }
                }
                Statement::Group(group)
            }
            Rule::okta_scope | Rule::entra_scope => Statement::Scope {
                expr: self.expr(inner.into_inner().nth(1)?, 1),
                dialect: self.dialect,
                span,
            },
            Rule::okta_rule | Rule::entra_rule => {
                let mut parts = inner.into_inner();
                let target = self.path(parts.next()?)?;
                let _arrow = parts.next()?;
                let expr = self.expr(parts.next()?, 1);
                let options = parts.next().map(|o| self.options(o)).unwrap_or_default();
                Statement::Rule(AttributeRule {
                    target,
                    expr,
                    dialect: self.dialect,
                    options,
                    span,
                })
            }
            other => {
                self.unexpected(other, span);
                return None;
            }
        };
        Some(statement)
    }

    /// A `.map` string: JSON escapes.
    pub(super) fn text(&mut self, pair: Pair<Rule>) -> Option<String> {
        let span = self.span(&pair);
        match lex::string_value(pair.as_str(), Quoting::Map) {
            Ok(s) => Some(s),
            Err(lex::BadEscape) => {
                self.diagnostics.push(
                    Diagnostic::error(Code::BadEscape, span, "invalid escape sequence in string")
                        .label("here")
                        .help("strings outside expressions use JSON escapes: `\\\"`, `\\\\`, `\\n`, `\\u00e9`"),
                );
                None
            }
        }
    }

    pub(super) fn constant(&mut self, pair: Pair<Rule>) -> Option<Constant> {
        let span = self.span(&pair);
        let value = match pair.as_rule() {
            Rule::text => Value::Str(self.text(pair)?),
            Rule::number | Rule::signed_number => self.number(&pair)?,
            Rule::boolean => Value::Bool(pair.as_str().eq_ignore_ascii_case("true")),
            Rule::null => Value::Null,
            other => {
                self.unexpected(other, span);
                return None;
            }
        };
        Some(Constant { value, span })
    }

    pub(super) fn number(&mut self, pair: &Pair<Rule>) -> Option<Value> {
        let text = pair.as_str();
        let parsed = lex::number_value(text);
        if parsed.is_none() {
            self.diagnostics.push(
                Diagnostic::error(
                    Code::BadNumber,
                    self.span(pair),
                    format!("number `{text}` is out of range"),
                )
                .label("too large")
                .help("integers must fit in 64 bits"),
            );
        }
        parsed
    }

    pub(super) fn path(&mut self, pair: Pair<Rule>) -> Option<PathSyntax> {
        let span = self.span(&pair);
        let inner = pair.into_inner().next()?;
        match inner.as_rule() {
            Rule::urn_path => Some(PathSyntax {
                prefix: PathPrefix::Urn(inner.as_str().to_owned()),
                name: String::new(),
                filter: None,
                sub: None,
                span,
            }),
            Rule::aliased_path => {
                let mut parts = inner.into_inner();
                let alias = self.ident(parts.next()?);
                self.attr_chain(parts.next()?, PathPrefix::Alias(alias), span)
            }
            _ => {
                let chain = inner.into_inner().next()?;
                self.attr_chain(chain, PathPrefix::Core, span)
            }
        }
    }

    pub(super) fn attr_chain(
        &mut self,
        pair: Pair<Rule>,
        prefix: PathPrefix,
        span: Span,
    ) -> Option<PathSyntax> {
        let mut name = String::new();
        let mut filter = None;
        let mut sub = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::value_filter => {
                    let mut f = part.into_inner();
                    let attr = f.next()?.as_str().to_owned();
                    let value = self.constant(f.next()?)?;
                    filter = Some((attr, value));
                }
                _ if name.is_empty() => name = part.as_str().to_owned(),
                _ => sub = Some(part.as_str().to_owned()),
            }
        }
        Some(PathSyntax {
            prefix,
            name,
            filter,
            sub,
            span,
        })
    }

    pub(super) fn options(&mut self, pair: Pair<Rule>) -> Vec<RuleOption> {
        let mut options = Vec::new();
        for option in pair.into_inner() {
            let span = self.span(&option);
            let parsed = match option.as_rule() {
                Rule::opt_on_create => Some(RuleOption::OnCreate(span)),
                Rule::opt_always => Some(RuleOption::Always(span)),
                Rule::opt_default => option
                    .into_inner()
                    .nth(1)
                    .and_then(|c| self.constant(c))
                    .map(RuleOption::Default),
                Rule::opt_one_of => {
                    let values = option
                        .into_inner()
                        .skip(2)
                        .filter_map(|c| self.constant(c))
                        .collect();
                    Some(RuleOption::OneOf { values, span })
                }
                Rule::opt_as => option
                    .into_inner()
                    .nth(1)
                    .map(|t| RuleOption::As(self.ident(t))),
                other => {
                    self.unexpected(other, span);
                    None
                }
            };
            options.extend(parsed);
        }
        options
    }
}
