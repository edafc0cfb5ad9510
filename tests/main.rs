//! The integration tests of the scimsync binary and library, as one test binary: every
//! `tests/<file>.rs` is a module here, so the whole stack is linked once, not once per file.
//! The shared harness (`support/`: peers, scratch projects, the fault server) is declared once.
//! The language core's own corpora and properties live in `crates/scimsync-lang/tests/`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests and their harness fail loudly on a broken assumption"
)]

mod support;

mod active_directory;
mod architecture;
mod bad_input;
mod bulk;
mod bulk_groups;
mod bulk_peers;
mod cli_contract;
mod daemon;
mod daemon_systemd;
mod daemon_targets;
mod entra_e2e;
mod explain;
mod exports;
mod faults;
mod fmt;
mod incremental;
mod ldap_source;
mod ldap_sync_e2e;
mod many_targets_cli;
mod many_targets_e2e;
mod many_targets_engine;
mod no_panic;
mod peers_e2e;
mod presets;
mod store;
mod sync_e2e;
mod upgrade;
