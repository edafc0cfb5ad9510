//! Attribute rules: each writes a SCIM path once, and what its expression produces must
//! become the target's type (from `as` or the schema) and fit its `one of` values. Rules are
//! lowered into [`PlannedRule`]s, with why each can fail at run time.

use std::sync::Arc;

use super::Checker;
use super::error::{RuleError, StatementError, article};
use super::options::RuleOptions;
use super::statements::{CheckedRules, Written};
use crate::mapping::Dialect;
use crate::mapping::functions::Ty;
use crate::mapping::plan::{Extension, FallibleRule, Flow, PlannedRule, TargetType};
use crate::mapping::source::{SourceFile, Span};
use crate::mapping::syntax::{Arg, AttributeRule, Expr, ExprKind};
use crate::scim::path::AttrPath;
use crate::scim::schema::AttrType;
use crate::value::Value;

impl Checker {
    /// Checks every rule; the fallible ones are added to `fallible`.
    pub(super) fn rules(
        &mut self,
        rules: &[&AttributeRule],
        extensions: &[Extension],
        source: &SourceFile,
        fallible: &mut Vec<FallibleRule>,
    ) -> CheckedRules {
        let mut planned: Vec<PlannedRule> = Vec::new();
        let mut written = Written::new();
        for rule in rules {
            let Some((path, schema_type)) = self.resolve_path(&rule.target, extensions, true)
            else {
                // Still check the expression, for its own errors. The path may be a misspelt
                // `userName` or match attribute: do not also report those as missing.
                self.complete = false;
                self.expr(&rule.expr, rule.dialect);
                continue;
            };
            self.written_once(rule, &path, &mut written);
            self.risks.clear();
            let line = source.line_col(rule.span.start).line;
            let planned_rule = self.rule(rule, path, schema_type, line);
            if rule.dialect == Dialect::Entra {
                self.select_unique_placement(&rule.expr, planned_rule.flow);
                if let Some(too_long) = super::entra_length(&rule.expr, &source.text) {
                    self.diagnostics.push(too_long);
                }
            }
            if !self.risks.is_empty() {
                fallible.push(FallibleRule {
                    path: Some(AttrPath::clone(&planned_rule.path)),
                    line: planned_rule.line,
                    reasons: std::mem::take(&mut self.risks).into_iter().collect(),
                });
            }
            planned.push(planned_rule);
        }
        (planned, written)
    }

    /// Notes where `path` is written, reporting a second rule for it.
    fn written_once(&mut self, rule: &AttributeRule, path: &AttrPath, written: &mut Written) {
        if let Some(first) = written.get(path) {
            self.report(StatementError::PathWrittenTwice {
                written: rule.target.to_string(),
                at: rule.target.span,
                first: *first,
            });
        } else {
            written.insert(path.clone(), rule.target.span);
        }
    }

    fn rule(
        &mut self,
        rule: &AttributeRule,
        path: AttrPath,
        schema_type: Option<AttrType>,
        line: usize,
    ) -> PlannedRule {
        let (expr, ty) = self.expr(&rule.expr, rule.dialect);
        let options = self.rule_options(&rule.options);
        let target_type = self.target_type(rule, &options, schema_type.and_then(schema_target), ty);
        let allowed = options
            .one_of
            .map(|(values, _)| allowed_values(values, target_type));
        self.constant_results(rule, &options, target_type, allowed.as_deref());
        self.conversion_risks(ty, target_type);
        if allowed.is_some() {
            self.risk("the result must be one of the allowed values");
        }
        PlannedRule {
            path: Arc::new(path),
            written: rule.target.to_string(),
            redacted: expr.redacts(),
            expr,
            flow: options.flow.map_or(Flow::Always, |(f, _)| f),
            default: options.default.map(|c| c.value.clone()),
            one_of: allowed,
            target_type,
            line,
        }
    }

    /// The type the rule's result becomes (`as`, else the schema's), reporting results of a
    /// static type that cannot or should not become it.
    fn target_type(
        &mut self,
        rule: &AttributeRule,
        options: &RuleOptions,
        schema_target: Option<TargetType>,
        ty: Ty,
    ) -> Option<TargetType> {
        let declared_type = options.declared_type;
        let target_type = declared_type.map(|(t, _)| t).or(schema_target);
        let target = || rule.target.to_string();
        // `as` must agree with the schema: `active <- x as integer` would send a number where
        // the target expects true or false.
        if let (Some((declared, at)), Some(schema)) = (declared_type, schema_target)
            && declared != schema
        {
            self.report(RuleError::AsConflictsWithSchema {
                target: target(),
                schema,
                declared,
                at,
                target_at: rule.target.span,
            });
        }
        // A true/false result never becomes a number, asked for or not.
        if ty == Ty::Bool && target_type == Some(TargetType::Integer) {
            self.report(RuleError::BooleanIntoInteger {
                target: target(),
                declared_at: declared_type.map(|(_, span)| span),
                at: rule.expr.span,
                target_at: rule.target.span,
            });
        }
        // A string-valued rule into a non-string attribute is a mistake unless asked for.
        if let (Some(target_type), None) = (target_type, declared_type)
            && ty == Ty::Str
            && target_type != TargetType::String
        {
            self.report(RuleError::StringIntoNonString {
                target: target(),
                target_type,
                at: rule.expr.span,
                target_at: rule.target.span,
            });
        }
        target_type
    }

    /// Constant results (the expression's literal leaves and the `default`) must fit the
    /// target type and the allowed values.
    fn constant_results(
        &mut self,
        rule: &AttributeRule,
        options: &RuleOptions,
        target_type: Option<TargetType>,
        allowed: Option<&[Value]>,
    ) {
        let mut leaves = Vec::new();
        constant_leaves(&rule.expr, rule.dialect, &mut leaves);
        let default_leaf = options.default.map(|c| (c.value.clone(), c.span));
        for (value, at) in leaves.into_iter().chain(default_leaf) {
            if value.is_null() {
                continue;
            }
            let converted = match target_type {
                Some(t) => match t.convert(value) {
                    Ok(v) => v,
                    Err(why) => {
                        self.report(RuleError::ConstantDoesNotConvert {
                            target: rule.target.to_string(),
                            target_type: t,
                            why,
                            at,
                            target_at: rule.target.span,
                        });
                        continue;
                    }
                },
                None => value,
            };
            if let (Some(allowed), Some((_, one_of_at))) = (allowed, options.one_of)
                && !allowed.contains(&converted)
            {
                self.report(RuleError::NotAllowed {
                    target: rule.target.to_string(),
                    value: converted,
                    allowed: allowed.to_vec(),
                    at,
                    one_of_at,
                });
            }
        }
    }

    /// Only results whose static type may not convert can fail here (an attribute may hold
    /// a list, a string may not be a number).
    fn conversion_risks(&mut self, ty: Ty, target_type: Option<TargetType>) {
        let converts_surely = match target_type {
            Some(TargetType::String) => matches!(ty, Ty::Str | Ty::Int | Ty::Num | Ty::Bool),
            Some(TargetType::Integer) => ty == Ty::Int,
            Some(TargetType::Boolean) => ty == Ty::Bool,
            None => true,
        };
        if let (Some(t), false) = (target_type, converts_surely) {
            self.risk(format!("the result must convert to {}", article(t)));
        }
    }
}

/// The type a schema attribute's values are sent as, when a rule can produce it.
fn schema_target(t: AttrType) -> Option<TargetType> {
    match t {
        AttrType::Boolean => Some(TargetType::Boolean),
        AttrType::Integer => Some(TargetType::Integer),
        AttrType::String | AttrType::Reference | AttrType::DateTime | AttrType::Binary => {
            Some(TargetType::String)
        }
        AttrType::Decimal | AttrType::Complex => None,
    }
}

/// The `one of` values, converted to the target type where they convert.
fn allowed_values(
    values: &[crate::mapping::syntax::Constant],
    target_type: Option<TargetType>,
) -> Vec<Value> {
    values
        .iter()
        .map(|c| {
            target_type
                .and_then(|t| t.convert(c.value.clone()).ok())
                .unwrap_or_else(|| c.value.clone())
        })
        .collect()
}

/// The literal values an expression can produce directly: its constant leaves through
/// conditionals and the value slots of `IIF`, `Switch` and `Coalesce`.
fn constant_leaves(e: &Expr, dialect: Dialect, out: &mut Vec<(Value, Span)>) {
    match &e.kind {
        ExprKind::Bool(b) => out.push((Value::Bool(*b), e.span)),
        ExprKind::Int(i) => out.push((Value::Int(*i), e.span)),
        ExprKind::Float(f) => out.push((Value::Float(*f), e.span)),
        ExprKind::Str(s) => out.push((Value::Str(s.clone()), e.span)),
        ExprKind::Conditional {
            then, otherwise, ..
        } => {
            constant_leaves(then, dialect, out);
            constant_leaves(otherwise, dialect, out);
        }
        ExprKind::Elvis { value, fallback } => {
            constant_leaves(value, dialect, out);
            constant_leaves(fallback, dialect, out);
        }
        ExprKind::Call {
            receiver: None,
            name,
            args,
        } if dialect == Dialect::Entra => {
            let given = |i: usize| match args.get(i) {
                Some(Arg::Given(a)) => Some(a),
                _ => None,
            };
            let slots: Vec<usize> = match name.name.as_str() {
                "IIF" => vec![1, 2],
                "Switch" => std::iter::once(1)
                    .chain((3..args.len()).step_by(2))
                    .collect(),
                "Coalesce" => (0..args.len()).collect(),
                _ => Vec::new(),
            };
            for slot in slots {
                if let Some(a) = given(slot) {
                    constant_leaves(a, dialect, out);
                }
            }
        }
        _ => {}
    }
}
