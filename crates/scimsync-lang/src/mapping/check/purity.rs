//! Whether an expression is the same for every user: it reads nothing of the user and calls
//! nothing that varies. Used to find a `scope` that is never true.

use crate::mapping::eval::{Env, eval};
use crate::mapping::plan::Node;
use crate::record::Record;
use crate::value::Value;

/// Whether a condition has the same truth for every user: `Some(false)` for `false`,
/// `x && false`, `"a" == "b"`; `None` when it depends on the user (or cannot be evaluated).
pub(super) fn constant_truth(node: &Node) -> Option<bool> {
    match node {
        Node::And(l, r, _) => match (constant_truth(l), constant_truth(r)) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        Node::Or(l, r, _) => match (constant_truth(l), constant_truth(r)) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        Node::Not(inner, _) => constant_truth(inner).map(|b| !b),
        _ if is_constant(node) => {
            let record = Record::default();
            match eval(node, &Env::new(&record)) {
                Ok(Value::Bool(b)) => Some(b),
                // A null scope leaves every user out, like false.
                Ok(Value::Null) => Some(false),
                Ok(Value::Str(s)) if s.eq_ignore_ascii_case("false") => Some(false),
                Ok(Value::Str(s)) if s.eq_ignore_ascii_case("true") => Some(true),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether a node reads nothing of the user and calls nothing that varies.
fn is_constant(node: &Node) -> bool {
    let mut constant = true;
    node.walk(&mut |n| match n {
        Node::Attr(_) | Node::Groups | Node::SourceId | Node::SourceStatus => constant = false,
        Node::Call { function, .. } if function.uses_groups || !function.is_pure() => {
            constant = false
        }
        _ => {}
    });
    constant
}
