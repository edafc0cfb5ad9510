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
