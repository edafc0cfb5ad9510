#!/usr/bin/env bash
# One directory read planned for three targets, side by side with the same read planned for
# one target, against a private slapd holding N generated users: the read + plan half of
# `scimsync sync` over a many-target config (benches/targets_read.rs, `read_desired_for`).
#
#   benches/targets-vs-one.sh              # N=100000 users, 5 rounds
#   N=10000 ROUNDS=3 benches/targets-vs-one.sh
#   BIN=/tmp/targets_read.before benches/targets-vs-one.sh   # a saved build of the bench
#
# Each round runs, one process each (so each peak RSS is its own configuration's):
#   one        K=1: base44 (benches/ldap/base44-ldap.map)
#   three      K=3: base44, appspace and activepieces (benches/ldap/*-ldap.map), one read
#   separate   the same three targets as three K=1 runs one after the other: what three
#              configs (three daemons) cost before one config could hold several targets
#   same       three targets with base44's mapping, one read (a diagnostic: the read asks for
#              what one target asks for, so the difference from `one` is planning alone)
# and prints one line per run, then medians, min-max and the ratios. The LDIF and the slapd
# database are cached under target/bench-ldap/N, shared with benches/ldap-vs-ldapsearch.sh (so
# the two scripts are not run at the same time).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/lib.sh
. "$root/benches/lib.sh"
N=${N:-100000}
ROUNDS=${ROUNDS:-5}
work=$root/target/bench-ldap/$N
mkdir -p "$work"
peers=$root/tests/peers
suffix=dc=example,dc=com

[ -s "$work/users.ldif" ] || python3 "$peers/gen-ldif.py" -n "$N" -o "$work/users.ldif"
echo reader >"$work/password"
cleanup() { "$peers/ldap-server.sh" stop "$work/slapd" >/dev/null 2>&1 || true; }
trap cleanup EXIT
url=$(LDAP_LOG=none "$peers/ldap-server.sh" start 0 "$work/users.ldif" "$work/slapd" | head -n1)

targets=(base44 appspace activepieces)
# Two more targets with base44's mapping, after the three (K counts from the top).
copies=(base44-b base44-c)
config=$work/targets.toml
{
  cat <<TOML
[source]
kind = "ldap"
url = "$url"
bind_dn = "cn=reader,$suffix"
bind_password_file = "$work/password"
base_dn = "ou=people,$suffix"
filter = "(objectClass=inetOrgPerson)"
page_size = 1000

[state]
dir = "$work/state"

# The bench stops before the SCIM side: the targets are never reached.
[defaults]
token_env = "UNUSED"
TOML
  for t in "${targets[@]}" "${copies[@]}"; do
    printf '\n[[target]]\nname = "%s"\nmapping = "%s"\nurl = "http://127.0.0.1:9/%s"\n' \
      "$t" "$root/benches/ldap/${t%-[bc]}-ldap.map" "$t"
  done
} >"$config"

# BIN=path runs a saved build of benches/targets_read.rs instead (a before/after comparison).
bin=${BIN:-$(bench_binary targets_read)}
log=$work/targets-vs-one.jsonl
: >"$log"

slapd_pid=$(cat "$work/slapd/slapd.pid")
# slapd_cpu: slapd's user + system CPU seconds so far (its share of a read is not in the bench
# process's own CPU time).
slapd_cpu() { awk -v t="$(getconf CLK_TCK)" '{sub(/.*\) /, ""); print ($12 + $13) / t}' "/proc/$slapd_pid/stat"; }

# run LABEL ROUND ARGS...: one process, its JSON line tagged with slapd's CPU for it and kept in
# $log.
run() {
  local label=$1 round=$2 line before after
  shift 2
  before=$(slapd_cpu)
  line=$("$bin" "$config" "$@")
  after=$(slapd_cpu)
  line=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["slapd_cpu_s"]=round(float(sys.argv[3])-float(sys.argv[2]), 2); print(json.dumps(d))' \
    "$line" "$before" "$after")
  echo "round $round $label ($*): $line"
  python3 -c 'import json,sys; d=json.loads(sys.argv[3]); d["run"]=sys.argv[1]; d["round"]=int(sys.argv[2]); print(json.dumps(d))' \
    "$label" "$round" "$line" >>"$log"
}

run warm-up 0 3 >/dev/null   # slapd's caches and the binary's pages
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
  run one "$r" 1
  run three "$r" 3
  for t in "${targets[@]}"; do run separate "$r" "$t"; done
  run same "$r" base44 "${copies[@]}"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$log" "$N" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
rounds = sorted({r["round"] for r in runs if r["round"] > 0})
def per_round(label, key, combine):
    return [combine([r[key] for r in runs if r["run"] == label and r["round"] == n]) for n in rounds]
one = {k: per_round("one", k, sum) for k in ("total_s", "cpu_s", "slapd_cpu_s", "peak_rss_mb")}
three = {k: per_round("three", k, sum) for k in ("total_s", "cpu_s", "slapd_cpu_s", "peak_rss_mb")}
same = {k: per_round("same", k, sum) for k in ("total_s", "cpu_s", "slapd_cpu_s", "peak_rss_mb")}
sep = {"total_s": per_round("separate", "total_s", sum), "cpu_s": per_round("separate", "cpu_s", sum),
       "slapd_cpu_s": per_round("separate", "slapd_cpu_s", sum),
       "peak_rss_mb": per_round("separate", "peak_rss_mb", max),
       "rss_sum": per_round("separate", "peak_rss_mb", sum)}
def cell(xs, unit):
    return f"{statistics.median(xs):.3f}{unit} ({min(xs):.3f}-{max(xs):.3f})" if unit == " s" \
        else f"{statistics.median(xs):.0f}{unit} ({min(xs):.0f}-{max(xs):.0f})"
print(f"N={sys.argv[2]} users, {len(rounds)} rounds; median (min-max)")
print("| run | wall time | CPU time (scimsync) | CPU time (slapd) | peak RSS |")
print("| --- | --- | --- | --- | --- |")
print(f"| 1 target (base44) | {cell(one['total_s'], ' s')} | {cell(one['cpu_s'], ' s')} | {cell(one['slapd_cpu_s'], ' s')} | {cell(one['peak_rss_mb'], ' MB')} |")
print(f"| 3 targets, one read | {cell(three['total_s'], ' s')} | {cell(three['cpu_s'], ' s')} | {cell(three['slapd_cpu_s'], ' s')} | {cell(three['peak_rss_mb'], ' MB')} |")
print(f"| 3 separate reads (sum; RSS: largest process) | {cell(sep['total_s'], ' s')} | {cell(sep['cpu_s'], ' s')} | {cell(sep['slapd_cpu_s'], ' s')} | {cell(sep['peak_rss_mb'], ' MB')} |")
print(f"| 3 targets, same mapping (base44 x3), one read | {cell(same['total_s'], ' s')} | {cell(same['cpu_s'], ' s')} | {cell(same['slapd_cpu_s'], ' s')} | {cell(same['peak_rss_mb'], ' MB')} |")
print(f"  (3 separate reads' peak RSS summed, as three daemons reading at once: {cell(sep['rss_sum'], ' MB')})")
med = statistics.median
def both(run):
    return [a + b for a, b in zip(run["cpu_s"], run["slapd_cpu_s"])]
def ratios(a, b):
    paired = [x / y for x, y in zip(a, b)]
    return f"{med(a) / med(b):.2f}x (per round {min(paired):.2f}-{max(paired):.2f}x)"
print(f"3 targets / 1 target: time {ratios(three['total_s'], one['total_s'])} [target <= 1.3x],"
      f" CPU {ratios(three['cpu_s'], one['cpu_s'])},"
      f" CPU with slapd's {ratios(both(three), both(one))},"
      f" peak RSS {ratios(three['peak_rss_mb'], one['peak_rss_mb'])} [target <= 1.5x]")
print(f"3 targets with base44's mapping / 1 target: time {ratios(same['total_s'], one['total_s'])},"
      f" CPU {ratios(same['cpu_s'], one['cpu_s'])}, peak RSS {ratios(same['peak_rss_mb'], one['peak_rss_mb'])}")
print(f"3 targets, one read / 3 separate reads: time {ratios(three['total_s'], sep['total_s'])},"
      f" CPU {ratios(three['cpu_s'], sep['cpu_s'])}, CPU with slapd's {ratios(both(three), both(sep))}")
for r in runs:
    if r["run"] == "three":
        print("desired per target (one read):", ", ".join(f"{d['target']} {d['desired']}" for d in r["desired"]),
              f"of {r['users']} users")
        break
PY
