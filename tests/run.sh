#!/usr/bin/env bash
# The full test suite. Installs the test peers it needs (scim2-server from PyPI and SCIMMY
# from npm into target/peers; slapd and Samba's AD DC from Debian) when they are missing, then
# runs every test. Extra arguments go to `cargo test`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tests/peers/scim-server.sh" install
"$root/tests/peers/scimmy-server.sh" install
"$root/tests/peers/ldap-server.sh" install
"$root/tests/peers/samba-ad.sh" install
cargo test --manifest-path "$root/Cargo.toml" --workspace --locked "$@"
