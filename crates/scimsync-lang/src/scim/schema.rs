//! What scimsync knows about the User schemas without asking a target: the RFC 7643 core
//! User (§4.1) and the enterprise extension (§4.3). The checker uses it to reject paths that
//! do not exist and to learn each attribute's type; custom extensions are declared in the
//! `.map` file.

use crate::scim::path::AttrPath;

pub const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// RFC 7643 §2.3 data types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

impl AttrType {
    pub fn name(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutability {
    ReadWrite,
    ReadOnly,
    Immutable,
    WriteOnly,
}

#[derive(Debug)]
pub struct AttrDef {
    pub name: &'static str,
    pub ty: AttrType,
    pub multi_valued: bool,
    pub mutability: Mutability,
    pub sub_attributes: &'static [AttrDef],
}

const fn attr(name: &'static str, ty: AttrType) -> AttrDef {
    AttrDef {
        name,
        ty,
        multi_valued: false,
        mutability: Mutability::ReadWrite,
        sub_attributes: &[],
    }
}

const fn read_only(name: &'static str, ty: AttrType) -> AttrDef {
    AttrDef {
        mutability: Mutability::ReadOnly,
        ..attr(name, ty)
    }
}

const fn complex(name: &'static str, subs: &'static [AttrDef]) -> AttrDef {
    AttrDef {
        sub_attributes: subs,
        ..attr(name, AttrType::Complex)
    }
}

const fn multi(name: &'static str, subs: &'static [AttrDef]) -> AttrDef {
    AttrDef {
        multi_valued: true,
        ..complex(name, subs)
    }
}

use AttrType::{Binary, Boolean, Reference, String as Str};

const MULTI_SUBS: &[AttrDef] = &[
    attr("value", Str),
    attr("display", Str),
    attr("type", Str),
    attr("primary", Boolean),
];
const PHOTO_SUBS: &[AttrDef] = &[
    attr("value", Reference),
    attr("display", Str),
    attr("type", Str),
    attr("primary", Boolean),
];
const CERT_SUBS: &[AttrDef] = &[
    attr("value", Binary),
    attr("display", Str),
    attr("type", Str),
    attr("primary", Boolean),
];
const ADDRESS_SUBS: &[AttrDef] = &[
    attr("formatted", Str),
    attr("streetAddress", Str),
    attr("locality", Str),
    attr("region", Str),
    attr("postalCode", Str),
    attr("country", Str),
    attr("type", Str),
    attr("primary", Boolean),
];
const GROUP_REF_SUBS: &[AttrDef] = &[
    read_only("value", Str),
    read_only("$ref", Reference),
    read_only("display", Str),
    read_only("type", Str),
];
const NAME_SUBS: &[AttrDef] = &[
    attr("formatted", Str),
    attr("familyName", Str),
    attr("givenName", Str),
    attr("middleName", Str),
    attr("honorificPrefix", Str),
    attr("honorificSuffix", Str),
];

/// RFC 7643 §4.1: the core User schema.
pub static CORE_USER_ATTRS: &[AttrDef] = &[
    read_only("id", Str),
    attr("externalId", Str),
    attr("userName", Str),
    complex("name", NAME_SUBS),
    attr("displayName", Str),
    attr("nickName", Str),
    attr("profileUrl", Reference),
    attr("title", Str),
    attr("userType", Str),
    attr("preferredLanguage", Str),
    attr("locale", Str),
    attr("timezone", Str),
    attr("active", Boolean),
    AttrDef {
        mutability: Mutability::WriteOnly,
        ..attr("password", Str)
    },
    multi("emails", MULTI_SUBS),
    multi("phoneNumbers", MULTI_SUBS),
    multi("ims", MULTI_SUBS),
    multi("photos", PHOTO_SUBS),
    multi("addresses", ADDRESS_SUBS),
    AttrDef {
        mutability: Mutability::ReadOnly,
        ..multi("groups", GROUP_REF_SUBS)
    },
    multi("entitlements", MULTI_SUBS),
    multi("roles", MULTI_SUBS),
    multi("x509Certificates", CERT_SUBS),
];

const MANAGER_SUBS: &[AttrDef] = &[
    attr("value", Str),
    attr("$ref", Reference),
    read_only("displayName", Str),
];

/// RFC 7643 §4.3: the enterprise User extension.
pub static ENTERPRISE_USER_ATTRS: &[AttrDef] = &[
    attr("employeeNumber", Str),
    attr("costCenter", Str),
    attr("organization", Str),
    attr("division", Str),
    attr("department", Str),
    complex("manager", MANAGER_SUBS),
];

/// The attributes of a schema scimsync knows, or `None` for a custom extension.
pub fn known_attributes(schema: Option<&str>) -> Option<&'static [AttrDef]> {
    match schema {
        None => Some(CORE_USER_ATTRS),
        Some(urn) if urn.eq_ignore_ascii_case(CORE_USER) => Some(CORE_USER_ATTRS),
        Some(urn) if urn.eq_ignore_ascii_case(ENTERPRISE_USER) => Some(ENTERPRISE_USER_ATTRS),
        Some(_) => None,
    }
}

/// Why a path does not fit a known schema.
#[derive(Debug, PartialEq)]
pub enum PathProblem {
    UnknownAttribute {
        candidates: Vec<&'static str>,
    },
    UnknownSubAttribute {
        attribute: &'static str,
        candidates: Vec<&'static str>,
    },
    FilterOnSingleValued {
        attribute: &'static str,
    },
    MissingSubAttribute {
        attribute: &'static str,
        candidates: Vec<&'static str>,
    },
    NotComplex {
        attribute: &'static str,
    },
    ReadOnly {
        attribute: &'static str,
    },
}

/// Resolves `path` against a known attribute list: the definition of the leaf it writes.
pub fn resolve(
    attrs: &'static [AttrDef],
    path: &AttrPath,
) -> Result<&'static AttrDef, PathProblem> {
    let find = |list: &'static [AttrDef], name: &str| {
        list.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    };
    let names = |list: &'static [AttrDef]| list.iter().map(|a| a.name).collect::<Vec<_>>();
    let top = find(attrs, &path.name).ok_or_else(|| PathProblem::UnknownAttribute {
        candidates: names(attrs),
    })?;
    if path.filter.is_some() && !top.multi_valued {
        return Err(PathProblem::FilterOnSingleValued {
            attribute: top.name,
        });
    }
    let leaf = match &path.sub {
        Some(sub) => {
            if top.sub_attributes.is_empty() {
                return Err(PathProblem::NotComplex {
                    attribute: top.name,
                });
            }
            find(top.sub_attributes, sub).ok_or_else(|| PathProblem::UnknownSubAttribute {
                attribute: top.name,
                candidates: names(top.sub_attributes),
            })?
        }
        None if top.ty == AttrType::Complex => {
            return Err(PathProblem::MissingSubAttribute {
                attribute: top.name,
                candidates: names(top.sub_attributes),
            });
        }
        None => top,
    };
    if leaf.mutability == Mutability::ReadOnly {
        return Err(PathProblem::ReadOnly {
            attribute: leaf.name,
        });
    }
    Ok(leaf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_core_and_filtered_paths() {
        let p = AttrPath::core_filtered("emails", "type", "work", "value");
        assert_eq!(resolve(CORE_USER_ATTRS, &p).map(|a| a.name), Ok("value"));
        assert_eq!(
            resolve(CORE_USER_ATTRS, &AttrPath::core("active")).map(|a| a.ty),
            Ok(AttrType::Boolean)
        );
    }

    #[test]
    fn reports_what_is_wrong() {
        assert!(matches!(
            resolve(CORE_USER_ATTRS, &AttrPath::core("usrName")),
            Err(PathProblem::UnknownAttribute { .. })
        ));
        assert!(matches!(
            resolve(CORE_USER_ATTRS, &AttrPath::core("name")),
            Err(PathProblem::MissingSubAttribute { .. })
        ));
        assert!(matches!(
            resolve(CORE_USER_ATTRS, &AttrPath::core("id")),
            Err(PathProblem::ReadOnly { .. })
        ));
    }
}
