//! Which attributes compare without regard to case (`caseExact: false`, RFC 7643 §2.2), so a
//! value that differs from the target's only in case is not written: a target that lower-cases
//! e-mails would otherwise be "updated" on every run.
//!
//! Without the target's word, RFC 7643's own schema (§8.7.1) decides for the attributes whose
//! case never matters to a SaaS app: `userName` and `emails.value`. Every other attribute is
//! taken as case-exact, so a name re-spelt `ada` → `Ada` is still written. When a run meets a
//! value that differs only in case, it asks the target's `/Schemas` once
//! ([`CaseRules::from_schemas`]), which then decides for every attribute it lists.

use std::collections::HashMap;

use serde_json::Value as Json;

use scimsync_lang::scim::path::{AttrPath, get_ci};
use scimsync_lang::scim::resource::{same_value, same_value_ignoring_case};
use scimsync_lang::scim::schema::CORE_USER;
use scimsync_lang::value::Value;

/// RFC 7643 §8.7.1's `caseExact: false` attributes that scimsync applies without `/Schemas`.
const RFC_CASE_INSENSITIVE: &[&str] = &["username", "emails.value"];

/// `caseExact` by attribute (`schema:name[.sub]`, lower case).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseRules {
    case_exact: HashMap<String, bool>,
    /// Whether the rules come from the target's `/Schemas` (else RFC 7643's defaults).
    pub from_target: bool,
}

impl Default for CaseRules {
    fn default() -> Self {
        CaseRules::rfc_defaults()
    }
}

/// How a desired value compares with the target's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    Same,
    /// Equal but for case, and the attribute is not case-exact: nothing to write.
    SameIgnoringCase,
    /// Equal but for case, and the attribute is case-exact: written.
    DiffersInCase,
    Different,
}

impl Comparison {
    /// Whether the target's value has to be written.
    pub fn needs_write(self) -> bool {
        matches!(self, Comparison::DiffersInCase | Comparison::Different)
    }

    /// Whether the values differ only in case (written or not).
    pub fn case_only(self) -> bool {
        matches!(
            self,
            Comparison::SameIgnoringCase | Comparison::DiffersInCase
        )
    }
}

impl CaseRules {
    /// RFC 7643's defaults for the attributes scimsync applies without asking the target.
    pub fn rfc_defaults() -> CaseRules {
        CaseRules {
            case_exact: RFC_CASE_INSENSITIVE
                .iter()
                .map(|name| (key(CORE_USER, name), false))
                .collect(),
            from_target: false,
        }
    }

    /// The target's `caseExact` for every attribute and sub-attribute its `/Schemas` lists
    /// (RFC 7643 §2.2: `false` when left out); RFC 7643's defaults for the rest.
    pub fn from_schemas(schemas: &[Json]) -> CaseRules {
        let mut rules = CaseRules::rfc_defaults();
        rules.from_target = true;
        for schema in schemas {
            let Some(urn) = get_ci(schema, "id").and_then(Json::as_str) else {
                continue;
            };
            for attribute in list(schema, "attributes") {
                let Some(name) = get_ci(attribute, "name").and_then(Json::as_str) else {
                    continue;
                };
                rules.declare(urn, name, attribute);
                for sub in list(attribute, "subAttributes") {
                    if let Some(sub_name) = get_ci(sub, "name").and_then(Json::as_str) {
                        rules.declare(urn, &format!("{name}.{sub_name}"), sub);
                    }
                }
            }
        }
        rules
    }

    fn declare(&mut self, urn: &str, name: &str, definition: &Json) {
        let exact = get_ci(definition, "caseExact")
            .and_then(Json::as_bool)
            .unwrap_or(false);
        self.case_exact.insert(key(urn, name), exact);
    }

    /// Whether case matters in the values of `path` (`true` unless a schema says otherwise).
    pub fn is_case_exact(&self, path: &AttrPath) -> bool {
        let urn = path.schema.as_deref().unwrap_or(CORE_USER);
        let name = match &path.sub {
            Some(sub) => format!("{}.{sub}", path.name),
            None => path.name.clone(),
        };
        self.case_exact
            .get(&key(urn, &name))
            .copied()
            .unwrap_or(true)
    }

    /// Compares a desired value of `path` with the target's.
    pub fn compare(&self, path: &AttrPath, desired: &Value, actual: Option<&Json>) -> Comparison {
        if same_value(desired, actual) {
            Comparison::Same
        } else if !same_value_ignoring_case(desired, actual) {
            Comparison::Different
        } else if self.is_case_exact(path) {
            Comparison::DiffersInCase
        } else {
            Comparison::SameIgnoringCase
        }
    }
}

fn key(urn: &str, name: &str) -> String {
    format!("{urn}:{name}").to_lowercase()
}

fn list<'a>(json: &'a Json, field: &str) -> impl Iterator<Item = &'a Json> {
    get_ci(json, field)
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `emails[type eq "work"].value`.
    fn work_email() -> AttrPath {
        AttrPath::core_filtered("emails", "type", "work", "value")
    }

    #[test]
    fn rfc_defaults_ignore_case_in_user_name_and_emails_only() {
        let rules = CaseRules::rfc_defaults();
        let ada = Value::from("Ada.Lovelace@Example.COM");
        let stored = json!("ada.lovelace@example.com");
        assert_eq!(
            rules.compare(&work_email(), &ada, Some(&stored)),
            Comparison::SameIgnoringCase
        );
        assert_eq!(
            rules.compare(&AttrPath::core("userName"), &ada, Some(&stored)),
            Comparison::SameIgnoringCase
        );
        assert_eq!(
            rules.compare(&AttrPath::core("displayName"), &ada, Some(&stored)),
            Comparison::DiffersInCase
        );
        assert_eq!(
            rules.compare(&work_email(), &Value::from("b@x"), Some(&stored)),
            Comparison::Different
        );
    }

    #[test]
    fn the_targets_schema_decides_for_what_it_lists() {
        let schemas = [json!({"id": CORE_USER, "attributes": [
            {"name": "displayName", "type": "string", "caseExact": false},
            {"name": "userName", "type": "string", "caseExact": true},
            {"name": "emails", "type": "complex", "subAttributes": [{"name": "value", "type": "string"}]},
        ]})];
        let rules = CaseRules::from_schemas(&schemas);
        assert!(rules.from_target);
        assert!(!rules.is_case_exact(&AttrPath::core("displayName")));
        assert!(rules.is_case_exact(&AttrPath::core("userName")));
        assert!(!rules.is_case_exact(&work_email()));
        assert!(rules.is_case_exact(&AttrPath::core("title")));
    }
}
