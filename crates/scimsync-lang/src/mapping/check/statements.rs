//! The file as a whole: gathers the one-off declarations (`target`, `extension`, `match`,
//! `scope`), checks the rules and groups, what the mapping must have (`userName`, a rule for
//! the match attribute), and assembles the [`Plan`].

use std::collections::HashMap;

use super::Checker;
use super::error::StatementError;
use crate::mapping::Dialect;
use crate::mapping::plan::{Extension, Facts, Plan, PlannedRule};
use crate::mapping::source::{SourceFile, Span};
use crate::mapping::syntax::{
    AttributeRule, Expr, GroupStatement, Ident, MapFile, PathSyntax, Statement,
};
use crate::scim::path::AttrPath;

/// The statements of a file, sorted by kind; a repeated one-off declaration is reported and
/// its first occurrence kept.
#[derive(Default)]
struct Declarations<'a> {
    target_name: Option<(String, Span)>,
    extensions: Vec<(Extension, Span)>,
    match_decl: Option<(&'a PathSyntax, Span)>,
    scope_decl: Option<(&'a Expr, Dialect, Span)>,
    rules: Vec<&'a AttributeRule>,
    groups: Vec<&'a GroupStatement>,
}

/// Where each SCIM path is first written.
pub(super) type Written = HashMap<AttrPath, Span>;

/// The planned rules of a file and where each path is first written.
pub(super) type CheckedRules = (Vec<PlannedRule>, Written);

impl Checker {
    pub(super) fn file(&mut self, file: &MapFile, source: &SourceFile) -> Option<Plan> {
        let declared = self.declarations(file);
        let groups = self.group_rules(&declared.groups, source);
        let extensions: Vec<Extension> = declared.extensions.into_iter().map(|(e, _)| e).collect();
        let scope_line = declared
            .scope_decl
            .map_or(0, |(_, _, span)| source.line_col(span.start).line);
        let (scope, mut fallible) = self.scope(declared.scope_decl, scope_line);
        let (planned, written) = self.rules(&declared.rules, &extensions, source, &mut fallible);
        let match_path = self.match_path(declared.match_decl, &extensions, &written);
        if let Some(m) = &match_path {
            self.select_unique_on_match(m, &planned, &written);
        }
        self.user_name_written(file, &written);

        let facts = Facts {
            reads: std::mem::take(&mut self.reads),
            reads_groups: self.reads_groups,
            writes: planned.iter().map(|r| AttrPath::clone(&r.path)).collect(),
            fallible,
        };
        Some(Plan {
            file: source.name.clone(),
            scope_line,
            target_name: declared.target_name.map(|(n, _)| n),
            extensions,
            match_path: match_path?,
            scope,
            rules: planned,
            facts,
            groups,
            warnings: Vec::new(),
        })
    }

    /// Sorts the statements by kind, reporting repeated declarations.
    fn declarations<'a>(&mut self, file: &'a MapFile) -> Declarations<'a> {
        let mut declared = Declarations::default();
        for statement in &file.statements {
            match statement {
                Statement::Dialect { .. } => {}
                Statement::Target { name, span } => {
                    if let Some((_, first)) = &declared.target_name {
                        self.repeated("target", *span, *first);
                    } else {
                        declared.target_name = Some((name.clone(), *span));
                    }
                }
                Statement::Extension {
                    alias,
                    urn,
                    urn_span,
                    span,
                } => self.extension(&mut declared.extensions, alias, urn, *urn_span, *span),
                Statement::Match { path, span } => {
                    if let Some((_, first)) = declared.match_decl {
                        self.repeated("match", *span, first);
                    } else {
                        declared.match_decl = Some((path, *span));
                    }
                }
                Statement::Scope {
                    expr,
                    dialect,
                    span,
                } => {
                    if let Some((_, _, first)) = declared.scope_decl {
                        self.repeated("scope", *span, first);
                    } else {
                        declared.scope_decl = Some((expr, *dialect, *span));
                    }
                }
                Statement::Rule(rule) => declared.rules.push(rule),
                Statement::Group(group) => declared.groups.push(group),
            }
        }
        declared
    }

    /// `extension alias = "urn:…"`: declared once, not `urn`, and a URN.
    fn extension(
        &mut self,
        extensions: &mut Vec<(Extension, Span)>,
        alias: &Ident,
        urn: &str,
        urn_span: Span,
        span: Span,
    ) {
        if let Some((_, first)) = extensions.iter().find(|(e, _)| e.alias == alias.name) {
            self.report(StatementError::AliasTwice {
                alias: alias.name.clone(),
                at: alias.span,
                first: *first,
            });
        } else if alias.name.eq_ignore_ascii_case("urn") {
            self.report(StatementError::ReservedAlias { at: alias.span });
        } else if !urn.starts_with("urn:") || urn.ends_with(':') {
            self.report(StatementError::NotAUrn {
                urn: urn.to_owned(),
                at: urn_span,
            });
        } else {
            extensions.push((
                Extension {
                    alias: alias.name.clone(),
                    urn: urn.to_owned(),
                },
                span,
            ));
        }
    }

    fn repeated(&mut self, what: &'static str, at: Span, first: Span) {
        self.report(StatementError::Repeated { what, at, first });
    }

    /// The path users are matched on (`userName` unless `match` says otherwise), which some
    /// rule must write.
    fn match_path(
        &mut self,
        match_decl: Option<(&PathSyntax, Span)>,
        extensions: &[Extension],
        written: &Written,
    ) -> Option<AttrPath> {
        let Some((path, span)) = match_decl else {
            return Some(AttrPath::core("userName"));
        };
        let resolved = self.resolve_path(path, extensions, false).map(|(p, _)| p);
        if let Some(p) = &resolved
            && self.complete
            && !written.contains_key(p)
        {
            self.report(StatementError::MatchNotWritten {
                path: p.clone(),
                at: span,
            });
        }
        resolved
    }

    /// Every SCIM user needs a `userName`: reported at the start of the file.
    fn user_name_written(&mut self, file: &MapFile, written: &Written) {
        if self.complete && !written.keys().any(|p| p.is_core("userName")) {
            let at = file
                .statements
                .first()
                .map_or(Span::default(), Statement::span);
            self.report(StatementError::UserNameNotWritten {
                at: Span::new(at.start, at.start),
            });
        }
    }
}
