#!/usr/bin/env bash
# scimsync end to end on the quickstart example, against a real SCIM server on 127.0.0.1:
#   1. starts scim2-server (installed into target/peers by tests/peers/scim-server.sh),
#   2. shows the dry-run diff of the example export against it,
#   3. applies the sync,
#   4. shows that a second dry run has nothing to do,
# then stops the server. Needs cargo and python3; nothing else is touched.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
peer="$root/tests/peers/scim-server.sh"

echo "==> building scimsync"
cargo build --quiet --manifest-path "$root/Cargo.toml"
scimsync="$root/target/debug/scimsync"

echo "==> starting scim2-server on 127.0.0.1 (first run installs it into target/peers)"
# A fresh random token: handed to the server and to scimsync through the environment only.
SCIMSYNC_DEMO_TOKEN=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
export SCIMSYNC_DEMO_TOKEN SCIM_PEER_TOKEN=$SCIMSYNC_DEMO_TOKEN
server_state=$(mktemp -d "${TMPDIR:-/tmp}/scimsync-demo.XXXXXX")
url=$("$peer" start "${SCIMSYNC_DEMO_PORT:-0}" env "$server_state")
trap '"$peer" stop "$server_state"; rm -rf "$server_state"' EXIT
echo "    SCIM server: $url"

# The shipped config names port 18080; point a copy at the port the server got.
rm -rf "$here/.demo"
mkdir -p "$here/.demo"
config="$here/.demo.toml"
sed "s#^url = .*#url = \"$url\"#" "$here/scimsync.toml" >"$config"
trap '"$peer" stop "$server_state"; rm -rf "$server_state" "$config"' EXIT

echo
echo "==> scimsync check quickstart.map"
"$scimsync" check "$here/quickstart.map"
echo
echo "==> scimsync sync --dry-run   (what would change; nothing is written)"
"$scimsync" sync --config "$config" --dry-run
echo
echo "==> scimsync sync             (apply)"
"$scimsync" sync --config "$config"
echo
echo "==> scimsync sync --dry-run   (again: nothing left to do)"
"$scimsync" sync --config "$config" --dry-run
