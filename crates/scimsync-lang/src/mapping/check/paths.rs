//! SCIM paths as rules and `match` write them: the prefix resolved to a schema (core, a
//! declared alias, or a URN), then the path checked against the User schema when the schema
//! is known.

use super::error::{PathError, PathSuggestion};
use super::{Checker, ENTERPRISE_ALIAS};
use crate::mapping::diagnostic::did_you_mean;
use crate::mapping::eval::entra_text;
use crate::mapping::plan::Extension;
use crate::mapping::syntax::{Ident, PathPrefix, PathSyntax};
use crate::scim::path::{AttrPath, FilterValue, ValueFilter};
use crate::scim::schema::{self, AttrType, PathProblem};
use crate::value::Value;

/// A path's schema URN (`None` for the core User), attribute name and sub-attribute.
type Located = (Option<String>, String, Option<String>);

impl Checker {
    /// Resolves a written path to an [`AttrPath`], with the schema type of its leaf when the
    /// schema is known.
    pub(super) fn resolve_path(
        &mut self,
        path: &PathSyntax,
        extensions: &[Extension],
        for_writing: bool,
    ) -> Option<(AttrPath, Option<AttrType>)> {
        let (schema, name, sub) = match &path.prefix {
            PathPrefix::Core => (None, path.name.clone(), path.sub.clone()),
            PathPrefix::Alias(alias) => {
                let urn = self.alias_urn(alias, extensions)?;
                (Some(urn), path.name.clone(), path.sub.clone())
            }
            PathPrefix::Urn(raw) => self.locate_urn_path(path, raw, extensions)?,
        };
        let resolved = AttrPath {
            schema,
            name,
            filter: value_filter(path),
            sub,
        };
        match schema::known_attributes(resolved.schema.as_deref()) {
            Some(known) => self.against_schema(path, resolved, known, for_writing),
            None => Some((resolved, None)),
        }
    }

    /// The URN an alias stands for: a declared one, or `enterprise`.
    fn alias_urn(&mut self, alias: &Ident, extensions: &[Extension]) -> Option<String> {
        let urn = extensions
            .iter()
            .find(|e| e.alias == alias.name)
            .map(|e| e.urn.clone())
            .or_else(|| {
                (alias.name == ENTERPRISE_ALIAS).then(|| schema::ENTERPRISE_USER.to_owned())
            });
        if urn.is_none() {
            let declared = extensions.iter().map(|e| e.alias.as_str());
            self.report(PathError::UnknownAlias {
                alias: alias.name.clone(),
                closest: did_you_mean(&alias.name, declared.chain([ENTERPRISE_ALIAS]))
                    .map(str::to_owned),
                at: alias.span,
            });
        }
        urn
    }

    /// `urn:…:attribute.sub`: the longest known URN the path starts with, and the attribute
    /// after it.
    fn locate_urn_path(
        &mut self,
        path: &PathSyntax,
        raw: &str,
        extensions: &[Extension],
    ) -> Option<Located> {
        let known = extensions
            .iter()
            .map(|e| e.urn.as_str())
            .chain([schema::ENTERPRISE_USER, schema::CORE_USER]);
        let found = known
            .filter(|urn| {
                raw.len() > urn.len() + 1
                    && raw[..urn.len()].eq_ignore_ascii_case(urn)
                    && raw.as_bytes()[urn.len()] == b':'
            })
            .max_by_key(|urn| urn.len());
        let Some(urn) = found else {
            self.report(PathError::UndeclaredSchema {
                whole_urn: extensions.iter().any(|e| e.urn.eq_ignore_ascii_case(raw)),
                at: path.span,
            });
            return None;
        };
        let rest = &raw[urn.len() + 1..];
        let (name, sub) = match rest.split_once('.') {
            Some((n, s)) => (n.to_owned(), Some(s.to_owned())),
            None => (rest.to_owned(), None),
        };
        let schema = (!urn.eq_ignore_ascii_case(schema::CORE_USER)).then(|| urn.to_owned());
        Some((schema, name, sub))
    }

    /// Checks a resolved path against the schema's attributes: its leaf's type, or an error.
    fn against_schema(
        &mut self,
        path: &PathSyntax,
        resolved: AttrPath,
        known: &'static [schema::AttrDef],
        for_writing: bool,
    ) -> Option<(AttrPath, Option<AttrType>)> {
        match schema::resolve(known, &resolved) {
            Ok(def) => Some((resolved, Some(def.ty))),
            Err(PathProblem::ReadOnly { attribute }) if for_writing => {
                self.report(PathError::ReadOnly {
                    attribute,
                    at: path.span,
                });
                None
            }
            Err(PathProblem::ReadOnly { .. }) => Some((resolved, None)),
            // Entra's `AppRoleAssignmentsComplex` writes every role, whole, to `roles`.
            Err(PathProblem::MissingSubAttribute { attribute, .. })
                if for_writing && attribute == "roles" && resolved.schema.is_none() =>
            {
                Some((resolved, Some(AttrType::Complex)))
            }
            Err(problem) => {
                if let Some(error) = not_in_schema(path, &resolved, problem) {
                    self.report(error);
                }
                None
            }
        }
    }
}

/// The error for a path the schema does not have (`None` for a read-only one, which is
/// not a problem of this kind).
fn not_in_schema(
    path: &PathSyntax,
    resolved: &AttrPath,
    problem: PathProblem,
) -> Option<PathError> {
    let at = path.span;
    let wrong = resolved.sub.as_deref().unwrap_or(&resolved.name);
    Some(match problem {
        PathProblem::UnknownAttribute { candidates } => PathError::UnknownAttribute {
            name: resolved.name.clone(),
            in_extension: resolved.schema.is_some(),
            suggestion: PathSuggestion::new(wrong, &candidates),
            at,
        },
        PathProblem::UnknownSubAttribute {
            attribute,
            candidates,
        } => PathError::UnknownSubAttribute {
            attribute,
            sub: resolved.sub.clone().unwrap_or_default(),
            suggestion: PathSuggestion::new(wrong, &candidates),
            at,
        },
        PathProblem::FilterOnSingleValued { attribute } => {
            PathError::FilterOnSingleValued { attribute, at }
        }
        PathProblem::MissingSubAttribute {
            attribute,
            candidates,
        } => PathError::MissingSubAttribute {
            attribute,
            suggestion: PathSuggestion::new(wrong, &candidates),
            at,
        },
        PathProblem::NotComplex { attribute } => PathError::NotComplex { attribute, at },
        PathProblem::ReadOnly { .. } => return None,
    })
}

/// The `[attr eq value]` filter of a path, if it has one.
fn value_filter(path: &PathSyntax) -> Option<ValueFilter> {
    path.filter.as_ref().map(|(attr, constant)| ValueFilter {
        attr: attr.clone(),
        value: match &constant.value {
            Value::Bool(b) => FilterValue::Bool(*b),
            other => FilterValue::Str(entra_text(other)),
        },
    })
}
