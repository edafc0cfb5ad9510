//! Target discovery (RFC 7643 §5–7): what a service provider says about itself in
//! `/ServiceProviderConfig`, `/Schemas` and `/ResourceTypes`, compared with the paths a
//! mapping writes. Pure: the three documents come in, findings go out.

use serde::Serialize;
use serde_json::Value as Json;

use scimsync_lang::scim::path::{AttrPath, get_ci};
use scimsync_lang::scim::schema::CORE_USER;

/// The optional features a target supports.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Features {
    pub patch: bool,
    pub bulk: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bulk_max_operations: Option<u64>,
    /// Bytes of one bulk request's body at most.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bulk_max_payload_size: Option<u64>,
    pub filter: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_max_results: Option<u64>,
    pub etag: bool,
    pub sort: bool,
    pub change_password: bool,
    /// `authenticationSchemes[].type`.
    pub authentication: Vec<String>,
}

/// A mapped path the target does not take as written.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Finding {
    /// The target's User resource type does not list the extension schema.
    MissingSchema { path: String, schema: String },
    /// The schema has no such attribute (or sub-attribute).
    MissingAttribute { path: String, schema: String },
    /// The attribute exists with another type.
    WrongType {
        path: String,
        expected: String,
        target: String,
    },
    /// The target marks the attribute read-only: writes are ignored or refused.
    ReadOnly { path: String },
    /// The target only accepts the attribute on create (`immutable`).
    Immutable { path: String },
}

impl Finding {
    /// Whether the mapping cannot work as written (as opposed to a warning).
    pub fn is_error(&self) -> bool {
        !matches!(self, Finding::Immutable { .. })
    }

    pub fn message(&self) -> String {
        match self {
            Finding::MissingSchema { path, schema } => format!(
                "{path}: the target's User resource type does not offer the extension {schema}"
            ),
            Finding::MissingAttribute { path, schema } => {
                format!("{path}: the target's schema {schema} has no such attribute")
            }
            Finding::WrongType {
                path,
                expected,
                target,
            } => format!("{path}: the mapping writes {expected}, the target declares {target}"),
            Finding::ReadOnly { path } => format!("{path}: the target declares it readOnly"),
            Finding::Immutable { path } => format!(
                "{path}: the target declares it immutable (accepted on create only); map it `on create`"
            ),
        }
    }
}

/// Reads `/ServiceProviderConfig`.
pub fn features(config: &Json) -> Features {
    let supported = |key: &str| {
        get_ci(config, key)
            .and_then(|f| get_ci(f, "supported"))
            .and_then(Json::as_bool)
            .unwrap_or(false)
    };
    let number = |key: &str, field: &str| {
        get_ci(config, key)
            .and_then(|f| get_ci(f, field))
            .and_then(Json::as_u64)
    };
    Features {
        patch: supported("patch"),
        bulk: supported("bulk"),
        bulk_max_operations: number("bulk", "maxOperations"),
        bulk_max_payload_size: number("bulk", "maxPayloadSize"),
        filter: supported("filter"),
        filter_max_results: number("filter", "maxResults"),
        etag: supported("etag"),
        sort: supported("sort"),
        change_password: supported("changePassword"),
        authentication: get_ci(config, "authenticationSchemes")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|s| get_ci(s, "type").and_then(Json::as_str).map(str::to_owned))
            .collect(),
    }
}

impl Features {
    /// What one bulk request may hold, when the target takes bulk requests at all. A target
    /// that leaves a limit out gets conservative ones (RFC 7644 gives no default): 100
    /// operations, 1 MiB.
    pub fn bulk_limits(&self) -> Option<crate::bulk::BulkLimits> {
        if !self.bulk {
            return None;
        }
        let limit = |n: Option<u64>, default: usize| {
            n.map_or(default, |n| usize::try_from(n).unwrap_or(usize::MAX))
        };
        let limits = crate::bulk::BulkLimits {
            max_operations: limit(self.bulk_max_operations, 100),
            max_payload_size: limit(self.bulk_max_payload_size, 1 << 20),
        };
        (limits.max_operations > 0 && limits.max_payload_size > 0).then_some(limits)
    }
}

/// The resources of a list response (or a bare array, which some servers return).
pub fn resources(document: &Json) -> Vec<Json> {
    match document {
        Json::Array(items) => items.clone(),
        other => get_ci(other, "Resources")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default(),
    }
}

/// Checks each written path (with the SCIM type the mapping produces, when known) against the
/// target's schemas.
pub fn check_paths(
    writes: &[(AttrPath, Option<&'static str>)],
    schemas: &[Json],
    resource_types: &[Json],
) -> Vec<Finding> {
    let user_type = resource_types.iter().find(|t| {
        get_ci(t, "name")
            .and_then(Json::as_str)
            .is_some_and(|n| n.eq_ignore_ascii_case("User"))
    });
    let offered: Vec<String> = user_type
        .map(|t| {
            let main = get_ci(t, "schema")
                .and_then(Json::as_str)
                .map(str::to_owned)
                .into_iter();
            let extensions = get_ci(t, "schemaExtensions")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .filter_map(|e| {
                    get_ci(e, "schema")
                        .and_then(Json::as_str)
                        .map(str::to_owned)
                });
            main.chain(extensions).collect()
        })
        .unwrap_or_else(|| vec![CORE_USER.to_owned()]);
    let mut findings = Vec::new();
    for (path, expected) in writes {
        let shown = path.to_string();
        let schema_id = path.schema.clone().unwrap_or_else(|| CORE_USER.to_owned());
        if !offered.iter().any(|o| o.eq_ignore_ascii_case(&schema_id)) {
            findings.push(Finding::MissingSchema {
                path: shown,
                schema: schema_id,
            });
            continue;
        }
        let schema = schemas.iter().find(|s| {
            get_ci(s, "id")
                .and_then(Json::as_str)
                .is_some_and(|id| id.eq_ignore_ascii_case(&schema_id))
        });
        let find = |list: Option<&Json>, name: &str| -> Option<Json> {
            list.and_then(Json::as_array)?
                .iter()
                .find(|a| {
                    get_ci(a, "name")
                        .and_then(Json::as_str)
                        .is_some_and(|n| n.eq_ignore_ascii_case(name))
                })
                .cloned()
        };
        let top = schema
            .and_then(|s| find(get_ci(s, "attributes"), &path.name))
            .or_else(|| common_attribute(path));
        let leaf = match (&top, &path.sub) {
            (Some(top), Some(sub)) => find(get_ci(top, "subAttributes"), sub),
            (top, None) => top.clone(),
            (None, Some(_)) => None,
        };
        let Some(leaf) = leaf else {
            findings.push(Finding::MissingAttribute {
                path: shown,
                schema: schema_id,
            });
            continue;
        };
        let declared = get_ci(&leaf, "type")
            .and_then(Json::as_str)
            .unwrap_or("string");
        if let Some(expected) = expected
            && !compatible(expected, declared)
        {
            findings.push(Finding::WrongType {
                path: shown.clone(),
                expected: (*expected).to_owned(),
                target: declared.to_owned(),
            });
        }
        match get_ci(&leaf, "mutability").and_then(Json::as_str) {
            Some(m) if m.eq_ignore_ascii_case("readOnly") => {
                findings.push(Finding::ReadOnly { path: shown });
            }
            Some(m) if m.eq_ignore_ascii_case("immutable") => {
                findings.push(Finding::Immutable { path: shown });
            }
            _ => {}
        }
    }
    findings
}

/// RFC 7643 §3.1: `id`, `externalId` and `meta` belong to every resource, and servers need
/// not list them in `/Schemas`; a core path to one of them is taken as RFC 7643 defines it.
fn common_attribute(path: &AttrPath) -> Option<Json> {
    let core = path
        .schema
        .as_deref()
        .is_none_or(|s| s.eq_ignore_ascii_case(CORE_USER));
    let (mutability, ty) = match path.name.to_ascii_lowercase().as_str() {
        "id" => ("readOnly", "string"),
        "externalid" => ("readWrite", "string"),
        "meta" => ("readOnly", "complex"),
        _ => return None,
    };
    (core && path.sub.is_none())
        .then(|| serde_json::json!({"name": path.name, "type": ty, "mutability": mutability}))
}

/// Whether a value of SCIM type `expected` fits an attribute declared `declared`.
fn compatible(expected: &str, declared: &str) -> bool {
    let same = |a: &str| expected.eq_ignore_ascii_case(a) && declared.eq_ignore_ascii_case(a);
    expected.eq_ignore_ascii_case(declared)
        // Strings fit the string-like types (references, dates and binaries are strings on the wire).
        || (expected.eq_ignore_ascii_case("string")
            && ["reference", "dateTime", "binary"].iter().any(|t| declared.eq_ignore_ascii_case(t)))
        || (expected.eq_ignore_ascii_case("integer") && declared.eq_ignore_ascii_case("decimal"))
        || same("complex")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bulk_limits_come_from_the_config_with_defaults_for_what_it_leaves_out() {
        let limits = |spc: Json| features(&spc).bulk_limits();
        assert_eq!(
            limits(
                json!({"bulk": {"supported": true, "maxOperations": 1000, "maxPayloadSize": 1048576}})
            ),
            Some(crate::bulk::BulkLimits {
                max_operations: 1000,
                max_payload_size: 1_048_576
            })
        );
        assert_eq!(
            limits(json!({"bulk": {"supported": true}})),
            Some(crate::bulk::BulkLimits {
                max_operations: 100,
                max_payload_size: 1 << 20
            })
        );
        assert_eq!(
            limits(json!({"bulk": {"supported": true, "maxOperations": 0}})),
            None
        );
        assert_eq!(
            limits(json!({"bulk": {"supported": false, "maxOperations": 10}})),
            None
        );
        assert_eq!(limits(json!({})), None);
    }

    #[test]
    fn reports_missing_wrong_and_read_only_paths() {
        let schemas = vec![
            json!({"id": CORE_USER, "attributes": [
                {"name": "userName", "type": "string", "mutability": "readWrite"},
                {"name": "name", "type": "complex", "subAttributes": [{"name": "givenName", "type": "string"}]},
                {"name": "groups", "type": "complex", "mutability": "readOnly"},
            ]}),
            json!({"id": "urn:b44:2.0", "attributes": [{"name": "creditLimit", "type": "integer"}]}),
        ];
        let types = vec![json!({"name": "User", "schema": CORE_USER,
            "schemaExtensions": [{"schema": "urn:b44:2.0", "required": false}]})];
        let ext = |name: &str, schema: &str| AttrPath {
            schema: Some(schema.into()),
            name: name.into(),
            filter: None,
            sub: None,
        };
        let given = AttrPath {
            schema: None,
            name: "name".into(),
            filter: None,
            sub: Some("givenName".into()),
        };
        let writes = vec![
            (AttrPath::core("userName"), Some("string")),
            (given, Some("string")),
            (AttrPath::core("title"), Some("string")),
            (ext("creditLimit", "urn:b44:2.0"), Some("string")),
            (ext("role", "urn:other:2.0"), None),
            (AttrPath::core("groups"), None),
            // Common attributes (RFC 7643 §3.1) are not listed in /Schemas, and exist.
            (AttrPath::core("externalId"), Some("string")),
        ];
        let findings = check_paths(&writes, &schemas, &types);
        assert_eq!(
            findings.iter().map(Finding::message).collect::<Vec<_>>(),
            [
                format!("title: the target's schema {CORE_USER} has no such attribute"),
                "urn:b44:2.0:creditLimit: the mapping writes string, the target declares integer".into(),
                "urn:other:2.0:role: the target's User resource type does not offer the extension urn:other:2.0".into(),
                "groups: the target declares it readOnly".into(),
            ]
        );
        let spc = json!({"patch": {"supported": true}, "bulk": {"supported": true, "maxOperations": 1000},
            "filter": {"supported": true, "maxResults": 200}, "etag": {"supported": false},
            "authenticationSchemes": [{"type": "oauthbearertoken"}]});
        let f = features(&spc);
        assert!(f.patch && f.bulk && f.filter && !f.etag);
        assert_eq!(
            (f.filter_max_results, f.bulk_max_operations),
            (Some(200), Some(1000))
        );
        assert_eq!(f.authentication, ["oauthbearertoken"]);
    }
}
