//! What keeps scimsync's secrets secret.
//!
//! - `secret`: loading tokens and passwords from env vars, files and systemd credentials
//!   (never argv), and `secret::redact`, the process-wide list every outside text passes
//!   through before it is logged, stored or served.
//! - `private_file`: files only their owner reads (state, lock, audit log).
//! - `tls`: the one rustls client configuration (system roots or a private CA, always
//!   verified) shared by the SCIM client and the LDAP source.

pub mod private_file;
pub mod secret;
pub mod tls;
