//! The syntax tree of `.map` files and expressions, as written: names are not resolved yet,
//! and every node keeps its span for diagnostics. Built by `parse`, read by `check`.

use super::Dialect;
use super::source::Span;

#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// Entra attribute reference `[name]`.
    Attr(String),
    /// A bare name: an Okta root (`user`, `String`) or an Entra constant (`vbTextCompare`).
    Name(String),
    /// `object.name`.
    Member {
        object: Box<Expr>,
        name: Ident,
    },
    /// `name(args)` when `receiver` is `None`, else `receiver.name(args)`.
    Call {
        receiver: Option<Box<Expr>>,
        name: Ident,
        args: Vec<Arg>,
    },
    Index {
        object: Box<Expr>,
        index: Box<Expr>,
    },
    List(Vec<Expr>),
    /// A SpEL inline map `{'key': value}`: Okta's group criteria.
    Map(Vec<MapEntry>),
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        op_span: Span,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `cond ? then : otherwise`.
    Conditional {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    /// `value ?: fallback`.
    Elvis {
        value: Box<Expr>,
        fallback: Box<Expr>,
    },
}

/// One `key: value` of an inline map; the key as written, unquoted.
#[derive(Clone, Debug, PartialEq)]
pub struct MapEntry {
    pub key: String,
    pub key_span: Span,
    pub value: Expr,
}

/// An argument slot. Entra allows leaving one empty (`Replace([x], , "re", , "", , )`), which is
/// not the same as passing `""`.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    Given(Expr),
    Omitted(Span),
}

impl Arg {
    pub fn span(&self) -> Span {
        match self {
            Arg::Given(e) => e.span,
            Arg::Omitted(s) => *s,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Neg,
    /// SpEL unary `+`: a number as it is.
    Plus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// Okta `matches`: a full regular-expression match.
    Matches,
    /// A single `=` in the Okta dialect, an assignment in SpEL: reported by the checker.
    Assign,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    /// SpEL `^`: power.
    Pow,
    /// Entra `&`.
    Concat,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "||",
            BinaryOp::And => "&&",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Matches => "matches",
            BinaryOp::Assign => "=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
            BinaryOp::Pow => "^",
            BinaryOp::Concat => "&",
        }
    }
}

/// A SCIM path as written in the file, before extension aliases are resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct PathSyntax {
    pub prefix: PathPrefix,
    /// For `Core` and `Alias`: the attribute chain. For `Urn`: empty (the split between URN
    /// and attribute needs the declared extensions).
    pub name: String,
    pub filter: Option<(String, Constant)>,
    pub sub: Option<String>,
    pub span: Span,
}

impl std::fmt::Display for PathSyntax {
    /// The path as the file writes it (`b44:role`), for messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.prefix {
            PathPrefix::Urn(raw) => return f.write_str(raw),
            PathPrefix::Alias(alias) => write!(f, "{}:", alias.name)?,
            PathPrefix::Core => {}
        }
        f.write_str(&self.name)?;
        if let Some((attr, value)) = &self.filter {
            write!(f, "[{attr} eq {}]", value.value)?;
        }
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum PathPrefix {
    Core,
    Alias(Ident),
    /// A fully written `urn:…:attr` path, raw.
    Urn(String),
}

/// A constant in the `.map` file's own syntax (rule options, path filters).
#[derive(Clone, Debug, PartialEq)]
pub struct Constant {
    pub value: crate::value::Value,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RuleOption {
    OnCreate(Span),
    Always(Span),
    Default(Constant),
    OneOf { values: Vec<Constant>, span: Span },
    As(Ident),
}

#[derive(Clone, Debug, PartialEq)]
pub struct AttributeRule {
    pub target: PathSyntax,
    pub expr: Expr,
    pub dialect: Dialect,
    pub options: Vec<RuleOption>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Statement {
    Dialect {
        dialect: Dialect,
        span: Span,
    },
    Target {
        name: String,
        span: Span,
    },
    Extension {
        alias: Ident,
        urn: String,
        urn_span: Span,
        span: Span,
    },
    Match {
        path: PathSyntax,
        span: Span,
    },
    Scope {
        expr: Expr,
        dialect: Dialect,
        span: Span,
    },
    Rule(AttributeRule),
    /// `group "NAME" …` or `groups matching "REGEX" …`.
    Group(GroupStatement),
}

/// A statement that pushes directory groups.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupStatement {
    /// The name (`group`) or the regular expression (`groups matching`).
    pub pattern: String,
    pub pattern_span: Span,
    /// Whether `pattern` is a regular expression.
    pub matching: bool,
    /// `as "..."`: the displayName on the target.
    pub display_name: Option<String>,
    /// `external id "..."`.
    pub external_id: Option<String>,
    pub span: Span,
}

impl Statement {
    /// The whole statement's span.
    pub fn span(&self) -> Span {
        match self {
            Statement::Dialect { span, .. }
            | Statement::Target { span, .. }
            | Statement::Extension { span, .. }
            | Statement::Match { span, .. }
            | Statement::Scope { span, .. } => *span,
            Statement::Rule(rule) => rule.span,
            Statement::Group(group) => group.span,
        }
    }
}

/// A parsed `.map` file: its statements in source order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MapFile {
    pub statements: Vec<Statement>,
}

impl MapFile {
    /// Whether two trees say the same thing: equal in every node, spans aside. `fmt` uses it
    /// to prove that a new layout kept the meaning.
    pub fn same_shape(&self, other: &MapFile) -> bool {
        self.without_spans() == other.without_spans()
    }

    fn without_spans(&self) -> MapFile {
        let mut file = self.clone();
        file.statements.iter_mut().for_each(Spanned::erase_spans);
        file
    }
}

/// Blanking every span of a node, so that the derived `PartialEq` compares nodes only (as
/// cedar-policy's `Node<T>` does).
trait Spanned {
    fn erase_spans(&mut self);
}

impl Spanned for Span {
    fn erase_spans(&mut self) {
        *self = Span::default();
    }
}

impl<T: Spanned> Spanned for Option<T> {
    fn erase_spans(&mut self) {
        self.iter_mut().for_each(T::erase_spans);
    }
}

impl<T: Spanned> Spanned for Vec<T> {
    fn erase_spans(&mut self) {
        self.iter_mut().for_each(T::erase_spans);
    }
}

impl<T: Spanned> Spanned for Box<T> {
    fn erase_spans(&mut self) {
        T::erase_spans(self);
    }
}

impl Spanned for Ident {
    fn erase_spans(&mut self) {
        self.span.erase_spans();
    }
}

impl Spanned for Constant {
    fn erase_spans(&mut self) {
        self.span.erase_spans();
    }
}

impl Spanned for Expr {
    fn erase_spans(&mut self) {
        self.span.erase_spans();
        self.kind.erase_spans();
    }
}

impl Spanned for ExprKind {
    fn erase_spans(&mut self) {
        match self {
            ExprKind::Null
            | ExprKind::Bool(_)
            | ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Str(_)
            | ExprKind::Attr(_)
            | ExprKind::Name(_) => {}
            ExprKind::Member { object, name } => {
                object.erase_spans();
                name.erase_spans();
            }
            ExprKind::Call {
                receiver,
                name,
                args,
            } => {
                receiver.erase_spans();
                name.erase_spans();
                args.erase_spans();
            }
            ExprKind::Index { object, index } => {
                object.erase_spans();
                index.erase_spans();
            }
            ExprKind::List(items) => items.erase_spans(),
            ExprKind::Map(entries) => entries.erase_spans(),
            ExprKind::Unary { operand, .. } => operand.erase_spans(),
            ExprKind::Binary {
                op_span, lhs, rhs, ..
            } => {
                op_span.erase_spans();
                lhs.erase_spans();
                rhs.erase_spans();
            }
            ExprKind::Conditional {
                cond,
                then,
                otherwise,
            } => {
                cond.erase_spans();
                then.erase_spans();
                otherwise.erase_spans();
            }
            ExprKind::Elvis { value, fallback } => {
                value.erase_spans();
                fallback.erase_spans();
            }
        }
    }
}

impl Spanned for MapEntry {
    fn erase_spans(&mut self) {
        self.key_span.erase_spans();
        self.value.erase_spans();
    }
}

impl Spanned for Arg {
    fn erase_spans(&mut self) {
        match self {
            Arg::Given(expr) => expr.erase_spans(),
            Arg::Omitted(span) => span.erase_spans(),
        }
    }
}

impl Spanned for PathSyntax {
    fn erase_spans(&mut self) {
        if let PathPrefix::Alias(alias) = &mut self.prefix {
            alias.erase_spans();
        }
        if let Some((_, value)) = &mut self.filter {
            value.erase_spans();
        }
        self.span.erase_spans();
    }
}

impl Spanned for RuleOption {
    fn erase_spans(&mut self) {
        match self {
            RuleOption::OnCreate(span) | RuleOption::Always(span) => span.erase_spans(),
            RuleOption::Default(constant) => constant.erase_spans(),
            RuleOption::OneOf { values, span } => {
                values.erase_spans();
                span.erase_spans();
            }
            RuleOption::As(name) => name.erase_spans(),
        }
    }
}

impl Spanned for Statement {
    fn erase_spans(&mut self) {
        match self {
            Statement::Dialect { span, .. } | Statement::Target { span, .. } => span.erase_spans(),
            Statement::Extension {
                alias,
                urn_span,
                span,
                ..
            } => {
                alias.erase_spans();
                urn_span.erase_spans();
                span.erase_spans();
            }
            Statement::Match { path, span } => {
                path.erase_spans();
                span.erase_spans();
            }
            Statement::Scope { expr, span, .. } => {
                expr.erase_spans();
                span.erase_spans();
            }
            Statement::Rule(rule) => {
                rule.target.erase_spans();
                rule.expr.erase_spans();
                rule.options.erase_spans();
                rule.span.erase_spans();
            }
            Statement::Group(group) => {
                group.pattern_span.erase_spans();
                group.span.erase_spans();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(name: &str, at: usize) -> Expr {
        Expr {
            kind: ExprKind::Name(name.into()),
            span: Span::new(at, at + name.len()),
        }
    }

    fn rule(expr: Expr, at: usize) -> MapFile {
        MapFile {
            statements: vec![Statement::Scope {
                expr,
                dialect: Dialect::Okta,
                span: Span::new(at, at + 10),
            }],
        }
    }

    #[test]
    fn same_shape_ignores_spans_but_not_nodes() {
        assert!(rule(name("user", 6), 0).same_shape(&rule(name("user", 9), 3)));
        assert!(!rule(name("user", 6), 0).same_shape(&rule(name("users", 6), 0)));
        let negated = |at| Expr {
            kind: ExprKind::Unary {
                op: UnaryOp::Not,
                operand: Box::new(name("x", at + 1)),
            },
            span: Span::new(at, at + 2),
        };
        assert!(rule(negated(0), 0).same_shape(&rule(negated(5), 1)));
        assert!(!rule(negated(0), 0).same_shape(&rule(name("x", 0), 0)));
    }
}
