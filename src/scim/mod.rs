//! SCIM 2.0 (RFC 7643/7644): attribute paths, what the User schema contains, and the HTTP
//! client that talks to a service provider.
//!
//! `path` and `schema` are pure data shared with the mapping language; `client` and `patch`
//! are the wire side and know nothing of `.map` files.

pub mod auth;
pub mod client;
pub mod discovery;
pub mod patch;
pub mod path;
pub mod resource;
pub mod schema;
pub mod throttle;
