#!/usr/bin/env bash
# Groups with their members created with and without /Bulk, against scim2-server (or SCIMMY)
# on loopback:
# N users in G groups (N/G members each), one full sync per mode, each into a fresh server.
# Prints, per mode, the write requests the server logged (/Bulk requests and single writes)
# and the sync's wall time.
#
#   benches/groups-bulk.sh                         # N=1000 users, G=100 groups
#   N=2000 G=200 BIN=target/debug/scimsync benches/groups-bulk.sh
#   PEER=scimmy benches/groups-bulk.sh             # SCIMMY instead of scim2-server
#
# BIN defaults to the release build (target/release/scimsync, built if missing). The request
# counts do not depend on the build or the machine; the wall times do.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-1000}
G=${G:-100}
BIN=${BIN:-$root/target/release/scimsync}
PEER=${PEER:-scim2}
[ -x "$BIN" ] || (cd "$root" && cargo build --release --bin scimsync >&2)
work=$(mktemp -d)
peers=$root/tests/peers
cleanup() {
  for st in "$work"/server-*; do [ -d "$st" ] && stop_peer "$st"; done
  rm -rf "$work"
}
trap cleanup EXIT
start_peer() {
  case $PEER in
    scimmy) "$peers/scimmy-server.sh" start env "$1" ;;
    *) "$peers/scim-server.sh" start 0 env "$1" ;;
  esac
}
stop_peer() {
  case $PEER in
    scimmy) "$peers/scimmy-server.sh" stop "$1" >/dev/null 2>&1 || true ;;
    *) "$peers/scim-server.sh" stop "$1" >/dev/null 2>&1 || true ;;
  esac
}

python3 - "$N" "$G" >"$work/users.json" <<'PY'
import json, sys
n, g = int(sys.argv[1]), int(sys.argv[2])
print(json.dumps([{"id": f"s{i}", "email": f"u{i:06}@example.com", "last": f"L{i}",
                   "groups": [f"team-{i % g:04}"]} for i in range(n)]))
PY
printf 'userName <- user.email\nname.familyName <- user.last\ngroups matching "^team-"\n' >"$work/bench.map"
export SCIM_PEER_TOKEN=bench-token-$$ SCIMSYNC_BENCH_TOKEN=bench-token-$$

printf '%s\n%-5s %8s %8s %14s %8s\n' "$PEER" bulk users groups "/Bulk + single" "wall s"
for mode in auto off; do
  st=$work/server-$mode
  mkdir -p "$st"
  url=$(start_peer "$st")
  cat >"$work/$mode.toml" <<TOML
mapping = "bench.map"
[source]
kind = "json"
path = "users.json"
format = "plain"
[target]
url = "$url"
token_env = "SCIMSYNC_BENCH_TOKEN"
bulk = "$mode"
concurrency = 4
timeout_seconds = 120
[state]
path = "state-$mode"
TOML
  start=$(date +%s.%N)
  (cd "$work" && "$BIN" sync --config "$mode.toml" >"$work/$mode.out" 2>&1) || { cat "$work/$mode.out" >&2; exit 1; }
  end=$(date +%s.%N)
  sleep 0.3
  bulk=$(grep -cE '"POST [^ ]*/Bulk HTTP' "$st/server.log" || true)
  single=$(grep -E '"(POST|PUT|PATCH|DELETE) [^ ]* HTTP' "$st/server.log" | grep -cv '/Bulk HTTP' || true)
  printf '%-5s %8s %8s %14s %8.2f\n' "$mode" "$N" "$G" "$bulk + $single" "$(echo "$end - $start" | bc)"
  grep -E '^Groups:' "$work/$mode.out" | sed 's/^/      /'
  stop_peer "$st"
done
