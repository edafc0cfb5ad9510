//! SCIM attribute paths (RFC 7644 §3.10, restricted to what a mapping can target):
//! `userName`, `name.givenName`, `emails[type eq "work"].value`, and extension leaves
//! `urn:…:2.0:creditLimit`.
//!
//! Paths are always rendered fully qualified for extensions. A bare extension URN that ends in
//! a version (`…:user:2.0`) is not a valid RFC 7644 path (the parser reads `2.0` as the
//! attribute name), so scimsync never sends one.

use std::fmt;

use serde_json::Value as Json;

/// The `[attr eq value]` part of a path into a multi-valued attribute.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueFilter {
    pub attr: String,
    pub value: FilterValue,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FilterValue {
    Str(String),
    Bool(bool),
}

impl FilterValue {
    fn to_json(&self) -> Json {
        match self {
            FilterValue::Str(s) => Json::String(s.clone()),
            FilterValue::Bool(b) => Json::Bool(*b),
        }
    }

    /// SCIM string comparison in filters is case-insensitive unless the attribute is
    /// `caseExact`; `type` and `primary` never are.
    fn matches(&self, json: &Json) -> bool {
        match (self, json) {
            (FilterValue::Str(want), Json::String(have)) => want.eq_ignore_ascii_case(have),
            (FilterValue::Bool(want), Json::Bool(have)) => want == have,
            _ => false,
        }
    }
}

/// A path to one attribute value of a User resource.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttrPath {
    /// The extension schema URN; `None` for the core User schema.
    pub schema: Option<String>,
    /// Top-level attribute name within the schema.
    pub name: String,
    pub filter: Option<ValueFilter>,
    pub sub: Option<String>,
}

impl AttrPath {
    /// `name[attr eq "value"].sub` in the core User schema, e.g. the work email.
    pub fn core_filtered(name: &str, attr: &str, value: &str, sub: &str) -> AttrPath {
        AttrPath {
            schema: None,
            name: name.to_owned(),
            filter: Some(ValueFilter {
                attr: attr.to_owned(),
                value: FilterValue::Str(value.to_owned()),
            }),
            sub: Some(sub.to_owned()),
        }
    }

    pub fn core(name: &str) -> AttrPath {
        AttrPath {
            schema: None,
            name: name.to_owned(),
            filter: None,
            sub: None,
        }
    }

    /// Whether this is the same attribute as a core attribute called `name`
    /// (attribute names are case-insensitive in SCIM).
    pub fn is_core(&self, name: &str) -> bool {
        self.schema.is_none()
            && self.filter.is_none()
            && self.sub.is_none()
            && self.name.eq_ignore_ascii_case(name)
    }

    /// The value at this path in a resource, if any. Attribute names match case-insensitively,
    /// as RFC 7643 §2.1 requires.
    pub fn get<'a>(&self, resource: &'a Json) -> Option<&'a Json> {
        let container = match &self.schema {
            Some(urn) => get_ci(resource, urn)?,
            None => resource,
        };
        let attr = get_ci(container, &self.name)?;
        let holder = match &self.filter {
            Some(filter) => attr
                .as_array()?
                .iter()
                .find(|item| get_ci(item, &filter.attr).is_some_and(|v| filter.value.matches(v)))?,
            None => attr,
        };
        let value = match &self.sub {
            Some(sub) => get_ci(holder, sub)?,
            None => holder,
        };
        (!value.is_null()).then_some(value)
    }

    /// Writes `value` at this path, creating the containers (extension object, complex
    /// attribute, filtered element of a multi-valued attribute) that are missing.
    pub fn set(&self, resource: &mut Json, value: Json) {
        let container = match &self.schema {
            Some(urn) => object_entry(resource, urn),
            None => as_object(resource),
        };
        let target = match &self.filter {
            Some(filter) => filtered_element(container, &self.name, filter),
            None if self.sub.is_some() => object_entry(container, &self.name),
            None => {
                as_object_map(container).insert(self.name.clone(), value);
                return;
            }
        };
        match &self.sub {
            Some(sub) => {
                as_object_map(target).insert(sub.clone(), value);
            }
            None => *target = value,
        }
    }

    /// The element a filtered path addresses, as a new multi-valued item: what an `add`
    /// operation carries when the target has no matching element yet.
    pub fn new_element(&self, value: Json) -> Option<Json> {
        let filter = self.filter.as_ref()?;
        let mut element = serde_json::Map::new();
        element.insert(filter.attr.clone(), filter.value.to_json());
        match &self.sub {
            Some(sub) => {
                element.insert(sub.clone(), value);
            }
            None => return Some(value),
        }
        Some(Json::Object(element))
    }

    /// The path of the multi-valued attribute itself (without filter and sub-attribute).
    pub fn attribute_path(&self) -> AttrPath {
        AttrPath {
            schema: self.schema.clone(),
            name: self.name.clone(),
            filter: None,
            sub: None,
        }
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.schema {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{} eq {}]", filter.attr, filter.value.to_json())?;
        }
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// Case-insensitive member lookup on a JSON object.
pub fn get_ci<'a>(json: &'a Json, key: &str) -> Option<&'a Json> {
    let object = json.as_object()?;
    object.get(key).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// Makes `json` an object if it is not one, and returns it.
fn as_object(json: &mut Json) -> &mut Json {
    if !json.is_object() {
        *json = Json::Object(serde_json::Map::new());
    }
    json
}

fn as_object_map(json: &mut Json) -> &mut serde_json::Map<String, Json> {
    match as_object(json) {
        Json::Object(object) => object,
        _ => unreachable!("as_object returns an object"),
    }
}

/// The member `key` of `json` as an object, created (or replaced) if needed.
fn object_entry<'a>(json: &'a mut Json, key: &str) -> &'a mut Json {
    let entry = as_object_map(json)
        .entry(key.to_owned())
        .or_insert_with(|| Json::Object(serde_json::Map::new()));
    as_object(entry)
}

/// The element of multi-valued attribute `name` that `filter` selects, appended if missing.
fn filtered_element<'a>(json: &'a mut Json, name: &str, filter: &ValueFilter) -> &'a mut Json {
    let list = as_object_map(json)
        .entry(name.to_owned())
        .or_insert_with(|| Json::Array(Vec::new()));
    if !list.is_array() {
        *list = Json::Array(Vec::new());
    }
    let Json::Array(items) = list else {
        unreachable!("just made an array")
    };
    let found = items
        .iter()
        .position(|item| get_ci(item, &filter.attr).is_some_and(|v| filter.value.matches(v)));
    let index = found.unwrap_or_else(|| {
        let mut element = serde_json::Map::new();
        element.insert(filter.attr.clone(), filter.value.to_json());
        items.push(Json::Object(element));
        items.len() - 1
    });
    &mut items[index]
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// `emails[type eq "work"].value`, for tests here and elsewhere.
    fn work_email() -> AttrPath {
        AttrPath::core_filtered("emails", "type", "work", "value")
    }

    #[test]
    fn renders_rfc7644_paths() {
        assert_eq!(work_email().to_string(), r#"emails[type eq "work"].value"#);
        let ext = AttrPath {
            schema: Some("urn:base44:params:scim:schemas:extension:user:2.0".into()),
            name: "creditLimit".into(),
            filter: None,
            sub: None,
        };
        assert_eq!(
            ext.to_string(),
            "urn:base44:params:scim:schemas:extension:user:2.0:creditLimit"
        );
    }

    #[test]
    fn set_then_get_round_trips() {
        let mut user = json!({});
        work_email().set(&mut user, json!("a@x"));
        AttrPath {
            schema: None,
            name: "name".into(),
            filter: None,
            sub: Some("givenName".into()),
        }
        .set(&mut user, json!("Ann"));
        AttrPath {
            schema: Some("urn:x:2.0".into()),
            name: "role".into(),
            filter: None,
            sub: None,
        }
        .set(&mut user, json!("admin"));
        assert_eq!(
            user,
            json!({"emails": [{"type": "work", "value": "a@x"}], "name": {"givenName": "Ann"}, "urn:x:2.0": {"role": "admin"}})
        );
        assert_eq!(work_email().get(&user), Some(&json!("a@x")));
    }

    #[test]
    fn get_is_case_insensitive_and_ignores_other_elements() {
        let user =
            json!({"Emails": [{"type": "home", "value": "h"}, {"Type": "Work", "Value": "w"}]});
        assert_eq!(work_email().get(&user), Some(&json!("w")));
        assert_eq!(AttrPath::core("userName").get(&user), None);
    }
}
