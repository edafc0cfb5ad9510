//! Unit tests of parsing and lowering.

use super::*;
use crate::mapping::diagnostic::Code;
use crate::mapping::source::Span;
use crate::mapping::syntax::{Arg, RuleOption, Statement};

fn okta(text: &str) -> Expr {
    parse_expression(text, Dialect::Okta).expect("parses")
}

/// A compact rendering of the tree, to assert shapes.
fn sexp(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Null => "null".into(),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Int(i) => i.to_string(),
        ExprKind::Float(f) => f.to_string(),
        ExprKind::Str(s) => format!("{s:?}"),
        ExprKind::Attr(a) => format!("[{a}]"),
        ExprKind::Name(n) => n.clone(),
        ExprKind::Member { object, name } => format!("{}.{}", sexp(object), name.name),
        ExprKind::Call {
            receiver,
            name,
            args,
        } => {
            let args: Vec<String> = args
                .iter()
                .map(|a| match a {
                    Arg::Given(e) => sexp(e),
                    Arg::Omitted(_) => "_".into(),
                })
                .collect();
            match receiver {
                Some(r) => format!("({}.{} {})", sexp(r), name.name, args.join(" ")),
                None => format!("({} {})", name.name, args.join(" ")),
            }
        }
        ExprKind::Index { object, index } => format!("{}[{}]", sexp(object), sexp(index)),
        ExprKind::Map(entries) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|m| format!("{}: {}", m.key, sexp(&m.value)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ExprKind::List(items) => format!(
            "{{{}}}",
            items.iter().map(sexp).collect::<Vec<_>>().join(" ")
        ),
        ExprKind::Unary { op, operand } => format!("({op:?} {})", sexp(operand)),
        ExprKind::Binary { op, lhs, rhs, .. } => {
            format!("({} {} {})", op.symbol(), sexp(lhs), sexp(rhs))
        }
        ExprKind::Conditional {
            cond,
            then,
            otherwise,
        } => {
            format!("(? {} {} {})", sexp(cond), sexp(then), sexp(otherwise))
        }
        ExprKind::Elvis { value, fallback } => {
            format!("(?: {} {})", sexp(value), sexp(fallback))
        }
    }
}

#[test]
fn okta_precedence_follows_spel() {
    assert_eq!(
        sexp(&okta("a || b && !c == d")),
        "(|| a (&& b (== (Not c) d)))"
    );
    assert_eq!(sexp(&okta("x + y == z")), "(== (+ x y) z)");
    assert_eq!(sexp(&okta("c ? a : d ? b : e")), "(? c a (? d b e))");
    assert_eq!(sexp(&okta("user.a ?: 'x'")), "(?: user.a \"x\")");
    assert_eq!(sexp(&okta("a AND b or not c")), "(|| (&& a b) (Not c))");
}

#[test]
fn okta_calls_members_and_literals() {
    assert_eq!(
        sexp(&okta(r#"String.substringBefore(user.email, "@")"#)),
        "(String.substringBefore user.email \"@\")"
    );
    assert_eq!(sexp(&okta("{1, 2.5}[0]")), "{1 2.5}[0]");
    assert_eq!(
        sexp(&okta(r#"'it''s' + "say ""hi""""#)),
        r#"(+ "it's" "say \"hi\"")"#
    );
    assert_eq!(sexp(&okta(r#""C:\dir\""#)), r#""C:\\dir\\""#);
    assert_eq!(sexp(&okta("NULL == True")), "(== null true)");
    assert_eq!(sexp(&okta("{'a.b': 1, c: {2}}")), "{a.b: 1, c: {2}}");
    assert_eq!(sexp(&okta("{x ? 'a' : 'b'}")), "{(? x \"a\" \"b\")}");
    assert_eq!(
        sexp(&okta("2 ^ 3 * 4 div 5 MOD 6")),
        "(% (/ (* (^ 2 3) 4) 5) 6)"
    );
}

#[test]
fn entra_calls_with_omitted_arguments_and_escapes() {
    let e = parse_expression(r#"Replace([mail], "@x.com", , , "", , )"#, Dialect::Entra).unwrap();
    assert_eq!(sexp(&e), r#"(Replace [mail] "@x.com" _ _ "" _ _)"#);
    let e = parse_expression(
        r#"IIF([c]="US", "a\"b\\", BitAnd(&HF, -7))"#,
        Dialect::Entra,
    )
    .unwrap();
    assert_eq!(sexp(&e), r#"(IIF (== [c] "US") "a\"b\\" (BitAnd 15 -7))"#);
    let e = parse_expression("Now()", Dialect::Entra).unwrap();
    assert_eq!(sexp(&e), "(Now )");
    let e = parse_expression("Switch\n([x], , \"1\", \"a\") & [y]", Dialect::Entra).unwrap();
    assert_eq!(sexp(&e), r#"(& (Switch [x] _ "1" "a") [y])"#);
}

#[test]
fn statements_keep_spans_relative_to_the_file() {
    let file = SourceFile::new(
        "m.map",
        "# c\nextension b = \"urn:x:2.0\"\nb:role <- \"a\"\n  one of \"a\", \"b\", on create\n",
    );
    let (map, diagnostics) = parse_file(&file, Dialect::Okta);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let Statement::Rule(rule) = &map.statements[1] else {
        panic!("a rule")
    };
    assert_eq!(file.slice(rule.target.span), "b:role");
    assert_eq!(file.slice(rule.expr.span), "\"a\"");
    assert!(
        matches!(&rule.options[..], [RuleOption::OneOf { values, .. }, RuleOption::OnCreate(_)] if values.len() == 2)
    );
}

#[test]
fn one_broken_statement_does_not_hide_the_next() {
    let file = SourceFile::new(
        "m.map",
        "userName <- (\ntitle <- user.title\ndisplayName <- )\n",
    );
    let (map, diagnostics) = parse_file(&file, Dialect::Okta);
    assert_eq!(diagnostics.len(), 2);
    assert_eq!(map.statements.len(), 1);
}

/// The one diagnostic of an expression that nests too deeply: its primary span.
fn too_deep_at(text: &str, dialect: Dialect) -> Span {
    match parse_expression(text, dialect) {
        Err(diagnostics) => match diagnostics.as_slice() {
            [d] if d.code == Code::TooDeep => d.primary.span,
            other => panic!("one E0007 expected, got {other:?}"),
        },
        Ok(_) => panic!("{} bytes parsed", text.len()),
    }
}

/// The depth of the tree, walked with an explicit stack.
fn depth(e: &Expr) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(e, 1)];
    while let Some((e, d)) = stack.pop() {
        deepest = deepest.max(d);
        let children: Vec<&Expr> = match &e.kind {
            ExprKind::Member { object, .. } => vec![object],
            ExprKind::Call { receiver, args, .. } => receiver
                .iter()
                .map(|r| &**r)
                .chain(args.iter().filter_map(|a| match a {
                    Arg::Given(e) => Some(e),
                    Arg::Omitted(_) => None,
                }))
                .collect(),
            ExprKind::Index { object, index } => vec![object, index],
            ExprKind::List(items) => items.iter().collect(),
            ExprKind::Map(entries) => entries.iter().map(|m| &m.value).collect(),
            ExprKind::Unary { operand, .. } => vec![operand],
            ExprKind::Binary { lhs, rhs, .. } => vec![lhs, rhs],
            ExprKind::Conditional {
                cond,
                then,
                otherwise,
            } => vec![cond, then, otherwise],
            ExprKind::Elvis { value, fallback } => vec![value, fallback],
            _ => Vec::new(),
        };
        stack.extend(children.into_iter().map(|c| (c, d + 1)));
    }
    deepest
}

#[test]
fn chains_may_reach_the_depth_limit() {
    let at_limit = [
        format!("1{}", " + 1".repeat(MAX_DEPTH - 1)),
        format!("{}true", "!".repeat(MAX_DEPTH - 1)),
        format!("user{}", ".a".repeat(MAX_DEPTH - 1)),
    ];
    for text in at_limit {
        assert_eq!(depth(&okta(&text)), MAX_DEPTH, "{}", &text[..10]);
    }
}

/// Each chain one link too long, or far too long, is reported at the first link that does
/// not fit: at the root, MAX_DEPTH - 1 links fit above the first operand.
#[test]
fn chains_past_the_limit_are_reported_at_their_first_link_too_many() {
    use Dialect::*;
    let fit = MAX_DEPTH - 1;
    // (head, link repeated, times, tail, dialect, the link reported, what it underlines)
    let cases = [
        ("1", " + 1", fit + 1, "", Okta, fit, "+"),
        ("1", " + 1", 7000, "", Okta2, fit, "+"),
        ("[a]", " & [a]", 10_000, "", Entra, fit, "&"),
        // `||` is not kept as a pair: the operand after it stands for it.
        ("[a]", " || [a]", 10_000, "", Entra, fit, "[a]"),
        ("", "!", fit + 1, "true", Okta, fit, "!"),
        ("", "!", 50_000, "[a]", Entra, fit, "!"),
        ("user", ".a", fit + 1, "", Okta, fit, ".a"),
        // `.email` is the first suffix.
        (
            "user.email",
            ".trim()",
            20_000,
            "",
            Okta2,
            fit - 1,
            ".trim()",
        ),
    ];
    for (head, link, times, tail, dialect, reported, token) in cases {
        let text = format!("{head}{}{tail}", link.repeat(times));
        let start = head.len() + reported * link.len() + link.find(token).unwrap_or(0);
        let span = too_deep_at(&text, dialect);
        assert_eq!(span, Span::new(start, start + token.len()), "{head}{link}");
    }
}

#[test]
fn levels_add_up_across_brackets_calls_and_chains() {
    // 40 calls, then a chain: the chain's first operand is 40 levels down already.
    let calls = "String.trim(".repeat(40);
    let fits = format!(
        "{calls}'a'{}{}",
        " + 'a'".repeat(MAX_DEPTH - 41),
        ")".repeat(40)
    );
    assert_eq!(depth(&okta(&fits)), MAX_DEPTH);
    let deeper = format!(
        "{calls}'a'{}{}",
        " + 'a'".repeat(MAX_DEPTH - 40),
        ")".repeat(40)
    );
    let first_plus = calls.len() + 4;
    assert_eq!(
        too_deep_at(&deeper, Dialect::Okta).start,
        first_plus + 6 * (MAX_DEPTH - 41)
    );
    // Parentheses are brackets for pest, but no level of the tree.
    let parens = format!("{}1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert_eq!(depth(&okta(&parens)), 1);
    let lists = |n: usize| format!("{}1{}", "{".repeat(n), "}".repeat(n));
    assert_eq!(depth(&okta(&lists(MAX_DEPTH - 1))), MAX_DEPTH);
    assert_eq!(
        too_deep_at(&lists(MAX_DEPTH), Dialect::Okta),
        Span::new(MAX_DEPTH, MAX_DEPTH + 1)
    );
}

#[test]
fn a_statement_too_deep_is_reported_once_and_left_out() {
    let file = SourceFile::new(
        "m.map",
        format!(
            "title <- user.title
userName <- user.email{}
",
            " + 'x'".repeat(7000)
        ),
    );
    let (map, diagnostics) = parse_file(&file, Dialect::Okta);
    assert_eq!(map.statements.len(), 1);
    let [d] = diagnostics.as_slice() else {
        panic!("{diagnostics:?}")
    };
    assert_eq!(d.code, Code::TooDeep);
    assert_eq!(
        file.line_col(d.primary.span.start).to_string(),
        format!("2:{}", 24 + 6 * (MAX_DEPTH - 1))
    );
    assert_eq!(
        d.primary.message,
        format!(
            "chained operator {MAX_DEPTH} of 7000: only {} fit at this depth",
            MAX_DEPTH - 1
        )
    );
}

/// The grammar never hands the lowering a rule it has no case for, so this is reached only
/// through the lowering API: a pair of a rule no expression is made of becomes an internal
/// error at its span (not a silent `null`), and the statement is cut short.
#[test]
fn a_rule_the_lowering_does_not_expect_is_an_internal_error() {
    let Some(arrow) = MapParser::parse(Rule::arrow, "<-")
        .ok()
        .and_then(|mut p| p.next())
    else {
        panic!("`<-` is an arrow")
    };
    let mut diagnostics = Vec::new();
    let mut lower = Lower::new(10, Dialect::Okta, &mut diagnostics);
    let expr = lower.expr(arrow, 1);
    assert_eq!(expr.kind, ExprKind::Null);
    assert!(lower.cut_short);
    let [d] = diagnostics.as_slice() else {
        panic!("{diagnostics:?}")
    };
    assert_eq!(d.code, Code::Internal);
    assert_eq!(d.code.as_str(), "E0000");
    assert_eq!(d.primary.span, Span::new(10, 12));
    assert!(d.message.starts_with("internal error: "), "{}", d.message);
    assert!(
        d.help
            .as_deref()
            .is_some_and(|h| h.contains("please report"))
    );
}

/// The first diagnostic of the file `text`: its code, message and span.
fn first_problem(text: &str) -> (Code, String, Span) {
    let file = SourceFile::new("m.map", text);
    let (_, diagnostics) = parse_file(&file, Dialect::Okta);
    let d = diagnostics.first().expect("a diagnostic");
    (d.code, d.message.clone(), d.primary.span)
}

/// Strings end where the lexer (and the grammar) end them: an Entra `\` does not escape a line
/// break, and a quote inside an Entra `[attribute]` name opens no string.
#[test]
fn unterminated_strings_are_found_at_the_lexer_s_token_boundaries() {
    let text = "dialect entra\nuserName <- \"abc\\\n  & \"d\"\n";
    let quote = text.find("\"abc").unwrap_or_default();
    assert_eq!(
        first_problem(text),
        (
            Code::UnterminatedString,
            "unterminated string".into(),
            Span::new(quote, quote + 5)
        )
    );
    let text = "dialect entra\nuserName <- [a\"b] & F(\n";
    let end = text.len() - 1;
    assert_eq!(
        first_problem(text),
        (Code::Syntax, "unclosed `(`".into(), Span::new(end, end))
    );
}
