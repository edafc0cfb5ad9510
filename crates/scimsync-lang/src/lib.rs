//! The language core of scimsync: `.map` files from text to values, and the data they work on.
//!
//! ```text
//! .map text ─▶ mapping::parse ─▶ mapping::check ─▶ mapping::plan ─▶ mapping::eval
//!                                      │
//!                     scim::path, scim::schema (what a target's User holds)
//! ```
//!
//! `record` and `value` are what sources produce and the evaluator reads; `scim` is the pure
//! SCIM 2.0 model (RFC 7643 paths and the User schema, RFC 7644 PATCH operations and
//! resources) that the checker checks against and the engine diffs with. This crate does no
//! I/O: it has no async runtime, no network and no knowledge of LDAP, HTTP or the CLI, and
//! `cargo tree -p scimsync-lang` shows it (tests/architecture.rs keeps it so).

pub mod mapping;
pub mod record;
pub mod scim;
pub mod value;
