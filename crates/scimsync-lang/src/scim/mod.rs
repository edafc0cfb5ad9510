//! The pure SCIM 2.0 model: attribute paths and the User schema (RFC 7643), PATCH operations
//! (RFC 7644 §3.5.2) and resources as JSON. Pure data shared by the mapping language and the
//! sync engine; the wire client lives in `scimsync-scim`.

pub mod patch;
pub mod path;
pub mod resource;
pub mod schema;
