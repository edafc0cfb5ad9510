//! scimsync: provision directory users into SaaS apps over SCIM 2.0, driven by `.map` files.
//!
//! The crate is laid out along its two pipelines:
//!
//! ```text
//! mapping:  .map text ─▶ mapping::parse ─▶ mapping::check ─▶ mapping::plan ─▶ mapping::eval
//! sync:     source ─▶ sync::desired ─▶ sync::diff (against scim::client) ─▶ sync::apply
//! ```
//!
//! with the command line (`cli`) on top. The language core (`mapping`, `value`, `record`,
//! `scim::path`, `scim::schema`) does no I/O; sources and the SCIM client know nothing of the
//! grammar.

pub mod cli;
pub mod config;
pub mod daemon;
pub mod mapping;
pub mod observe;
pub mod private_file;
pub mod record;
pub mod scim;
pub mod secret;
pub mod source;
pub mod state;
pub mod sync;
pub mod value;
