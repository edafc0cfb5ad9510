//! The values that flow through scimsync: directory attributes, expression results and
//! SCIM attribute values all share this one small model.
//!
//! It is deliberately closer to JSON than to either Okta's (Java) or Entra's (.NET) value model:
//! the dialects differ in how they *render* values (Entra prints booleans as `True`), not in
//! what a value is, so rendering lives with the dialect and the model stays neutral.

use std::fmt;

/// A single value or a list of values (multi-valued directory attributes).
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    /// Absent: a never-populated attribute, or an expression that yields nothing.
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Value>),
    /// A complex value built by an expression (Entra's `AppRoleAssignmentsComplex` roles),
    /// its members in the order they are sent.
    Object(Vec<(String, Value)>),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Null or the empty string: the "no value" test both Okta and Entra offer.
    pub fn is_null_or_empty(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Str(s) => s.is_empty(),
            _ => false,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A short, stable name of the value's kind, used in diagnostics.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Object(_) => "object",
        }
    }

    /// Converts from JSON. Objects have no place in the model: sources flatten them into
    /// dotted attribute names before they get here, so one that slips through becomes its
    /// JSON text rather than being dropped silently.
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Array(items) => {
                Value::List(items.iter().map(Value::from_json).collect())
            }
            serde_json::Value::Object(_) => Value::Str(json.to_string()),
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Str(s) => serde_json::Value::String(s.clone()),
            Value::List(items) => {
                serde_json::Value::Array(items.iter().map(Value::to_json).collect())
            }
            Value::Object(members) => serde_json::Value::Object(
                members
                    .iter()
                    .map(|(name, value)| (name.clone(), value.to_json()))
                    .collect(),
            ),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

/// Displays a value the way diffs and diagnostics quote it: JSON notation.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_round_trip_keeps_kinds() {
        let j = json!([null, true, 3, 2.5, "x", ["y"]]);
        let v = Value::from_json(&j);
        assert_eq!(
            v,
            Value::List(vec![
                Value::Null,
                Value::Bool(true),
                Value::Int(3),
                Value::Float(2.5),
                Value::from("x"),
                Value::List(vec![Value::from("y")]),
            ])
        );
        assert_eq!(v.to_json(), j);
    }

    #[test]
    fn empty_string_is_not_null() {
        assert!(!Value::from("").is_null());
        assert!(Value::from("").is_null_or_empty());
        assert!(Value::Null.is_null_or_empty());
    }
}
