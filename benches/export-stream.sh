#!/usr/bin/env bash
# Streams a large Okta JSON Lines export through the base44 preset (mappings/base44-okta.map)
# one record at a time (the bench binary benches/export_stream.rs) and reports time and
# peak resident memory.
#
#   benches/export-stream.sh               # N=1000000 users
#   N=100000 benches/export-stream.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/lib.sh
. "$root/benches/lib.sh"
N=${N:-1000000}
work=$root/target/bench-export/$N
mkdir -p "$work"
[ -s "$work/users.jsonl" ] || python3 "$root/benches/gen-jsonl.py" -n "$N" -o "$work/users.jsonl"
cat >"$work/scimsync.toml" <<TOML
mapping = "$root/mappings/base44-okta.map"

[source]
kind = "json"
path = "$work/users.jsonl"

TOML
unused_target "$work/state" >>"$work/scimsync.toml"
bin=$(bench_binary export_stream)
echo "export: $(du -h "$work/users.jsonl" | cut -f1), $N users"
"$bin" "$work/scimsync.toml"
