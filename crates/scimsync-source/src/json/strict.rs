//! One record's JSON text parsed into a [`serde_json::Value`] that refuses a key appearing
//! twice in one object, at any depth. serde_json's own `Value` keeps the last of two equal
//! keys, so a record saying `"email"` twice would silently lose one of them. The check is the
//! map insert that building the value does anyway (through the entry API): no second pass over
//! the record, no extra allocation while the record is sound.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Number, Value as Json};

/// Why a record's text could not be parsed.
#[derive(Debug)]
pub enum ParseError {
    /// Not JSON; serde_json's error knows where.
    Syntax(serde_json::Error),
    /// A key that appears twice in one object, as a path from the record's top
    /// (`profile.email`, `groups[1].name`).
    DuplicateKey(String),
}

/// Parses one JSON value (a whole record), refusing duplicate keys.
pub fn parse(text: &[u8]) -> Result<Json, ParseError> {
    let mut duplicate = None;
    let mut deserializer = serde_json::Deserializer::from_slice(text);
    let parsed = Strict {
        duplicate: &mut duplicate,
    }
    .deserialize(&mut deserializer)
    .and_then(|json| deserializer.end().map(|()| json));
    match (parsed, duplicate) {
        (Ok(json), _) => Ok(json),
        (Err(_), Some(steps)) => Err(ParseError::DuplicateKey(render(&steps))),
        (Err(error), None) => Err(ParseError::Syntax(error)),
    }
}

/// One step of the path to a duplicate key.
#[derive(Debug)]
enum Step {
    Key(String),
    Index(usize),
}

/// The path, outermost step first (`steps` are innermost first, as the error unwound).
fn render(steps: &[Step]) -> String {
    let mut path = String::new();
    for step in steps.iter().rev() {
        match step {
            Step::Key(key) if path.is_empty() => path.push_str(key),
            Step::Key(key) => {
                path.push('.');
                path.push_str(key);
            }
            Step::Index(i) => path.push_str(&format!("[{i}]")),
        }
    }
    path
}

/// Builds a value as serde_json's own visitor does; on a duplicate key it fails and leaves
/// the key's path in `duplicate`, each enclosing object or array adding its step as the error
/// passes through it.
struct Strict<'a> {
    duplicate: &'a mut Option<Vec<Step>>,
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Json;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Strict<'_> {
    /// Adds the step an error came through, when the error is a duplicate key.
    fn through<T, E>(&mut self, step: impl FnOnce() -> Step, result: Result<T, E>) -> Result<T, E> {
        if result.is_err()
            && let Some(steps) = self.duplicate.as_mut()
        {
            steps.push(step());
        }
        result
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Json, E> {
        Ok(Json::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Json, E> {
        Ok(Json::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Json, E> {
        Ok(Json::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Json, E> {
        Ok(Number::from_f64(value).map_or(Json::Null, Json::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Json, E> {
        Ok(Json::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Json, E> {
        Ok(Json::String(value))
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        loop {
            let element = seq.next_element_seed(Strict {
                duplicate: &mut *self.duplicate,
            });
            let index = items.len();
            match self.through(|| Step::Index(index), element)? {
                Some(item) => items.push(item),
                None => return Ok(Json::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut access: A) -> Result<Json, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let value = access.next_value_seed(Strict {
                duplicate: &mut *self.duplicate,
            });
            let value = self.through(|| Step::Key(key.clone()), value)?;
            match map.entry(key) {
                Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                Entry::Occupied(taken) => {
                    *self.duplicate = Some(vec![Step::Key(taken.key().clone())]);
                    return Err(A::Error::custom("duplicate key"));
                }
            }
        }
        Ok(Json::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn duplicate(text: &str) -> String {
        match parse(text.as_bytes()) {
            Err(ParseError::DuplicateKey(path)) => path,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn values_are_what_serde_json_makes_of_them() {
        let text = r#"{"b": [1, -2, 3.5, 1e300, 18446744073709551615, "x", true, null, {}], "a": {"c": {"d": []}}}"#;
        let strict = parse(text.as_bytes()).unwrap();
        assert_eq!(strict, serde_json::from_str::<Json>(text).unwrap());
        let keys: Vec<&String> = strict.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["b", "a"], "the record's order is kept");
        assert_eq!(parse(b"\"x\"").unwrap(), json!("x"));
    }

    #[test]
    fn a_duplicate_key_is_named_by_its_path_at_any_depth() {
        assert_eq!(duplicate(r#"{"email": "a", "email": "b"}"#), "email");
        assert_eq!(
            duplicate(r#"{"id": 1, "profile": {"email": "a", "login": "x", "email": "b"}}"#),
            "profile.email"
        );
        assert_eq!(
            duplicate(r#"{"groups": [{"name": "a"}, {"name": "b", "name": "c"}]}"#),
            "groups[1].name"
        );
        assert_eq!(duplicate(r#"[[{"k": 1, "k": 1}]]"#), "[0][0].k");
        // Equal keys in different objects are not duplicates.
        assert!(parse(br#"{"a": {"k": 1}, "b": {"k": 2}, "k": 3}"#).is_ok());
    }

    #[test]
    fn broken_json_is_a_syntax_error_with_its_position() {
        let Err(ParseError::Syntax(error)) = parse(b"{\"a\": {\"b\": 1,}}") else {
            panic!("a syntax error")
        };
        assert_eq!((error.line(), error.column()), (1, 15));
        assert!(matches!(parse(b"{} x"), Err(ParseError::Syntax(_))));
    }
}
