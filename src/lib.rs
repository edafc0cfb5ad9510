//! scimsync: provision directory users into SaaS apps over SCIM 2.0, driven by `.map` files.
//!
//! This crate is the top of the workspace: the sync engine, its state, the daemon and the
//! command line. Beneath it (docs/architecture.md):
//!
//! ```text
//! scimsync-lang    .map text ─▶ parse ─▶ check ─▶ plan ─▶ eval; records, values, SCIM model
//! scimsync-source  LDAP and JSON exports ─▶ records
//! scimsync-scim    the SCIM 2.0 wire client
//! scimsync-secure  secrets, redaction, owner-only files, TLS
//!
//! here:            source ─▶ sync::desired ─▶ sync::diff ─▶ sync::apply (through the client)
//!                  config, state, observe; daemon and cli on top
//! ```

pub mod cli;
pub mod config;
pub mod daemon;
pub mod observe;
pub mod state;
pub mod sync;
