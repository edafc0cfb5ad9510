#!/usr/bin/env bash
# Side by side: `ldapsearch -E pr=1000/noprompt` dumping the users of a private slapd, and
# scimsync reading the same users (paged, 1,000 per page) and mapping them through
# benches/ldap/base44-ldap.map (the bench binary benches/ldap_read.rs).
#
#   benches/ldap-vs-ldapsearch.sh            # N=100000 users, 3 rounds
#   N=10000 ROUNDS=5 benches/ldap-vs-ldapsearch.sh
#
# Prints one line per run and a summary with medians. The LDIF and the slapd database are
# cached under target/bench-ldap/N so repeated runs skip the seeding.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/lib.sh
. "$root/benches/lib.sh"
N=${N:-100000}
ROUNDS=${ROUNDS:-3}
work=$root/target/bench-ldap/$N
mkdir -p "$work"
peers=$root/tests/peers
suffix=dc=example,dc=com

[ -s "$work/users.ldif" ] || python3 "$peers/gen-ldif.py" -n "$N" -o "$work/users.ldif"
echo reader >"$work/password"
cleanup() { "$peers/ldap-server.sh" stop "$work/slapd" >/dev/null 2>&1 || true; }
trap cleanup EXIT
url=$(LDAP_LOG=none "$peers/ldap-server.sh" start 0 "$work/users.ldif" "$work/slapd" | head -n1)

cat >"$work/scimsync.toml" <<TOML
mapping = "$root/benches/ldap/base44-ldap.map"

[source]
kind = "ldap"
url = "$url"
bind_dn = "cn=reader,$suffix"
bind_password_file = "$work/password"
base_dn = "ou=people,$suffix"
filter = "(objectClass=inetOrgPerson)"
page_size = 1000

TOML
unused_target "$work/state" >>"$work/scimsync.toml"

bin=$(bench_binary ldap_read)

# The attributes scimsync asks for with this mapping (what slapd sends it), for a like-for-like dump.
attrs=(displayName employeeType givenName sn uid objectGUID entryUUID userAccountControl accountExpires nsAccountLock pwdAccountLockedTime shadowExpire memberOf)
dump() { ldapsearch -x -LLL -o ldif-wrap=no -H "$url" -D "cn=reader,$suffix" -w reader \
  -b "ou=people,$suffix" -E pr=1000/noprompt '(objectClass=inetOrgPerson)' "$@" >/dev/null; }
seconds() { local t0 t1; t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}'; }

dump "${attrs[@]}"   # warm slapd's caches
same=() all=() ours=() rss=()
for r in $(seq "$ROUNDS"); do
  s=$(seconds dump "${attrs[@]}"); same+=("$s")
  a=$(seconds dump '*' memberOf); all+=("$a")
  line=$("$bin" "$work/scimsync.toml")
  t=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["total_s"])' "$line"); ours+=("$t")
  m=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["peak_rss_mb"])' "$line"); rss+=("$m")
  echo "round $r: ldapsearch same attributes ${s}s, ldapsearch '*' memberOf ${a}s, scimsync $line"
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}'; }
ms=$(median "${same[@]}"); ma=$(median "${all[@]}"); mo=$(median "${ours[@]}"); mr=$(median "${rss[@]}")
echo "N=$N users: median ldapsearch (same attributes) ${ms}s, ldapsearch ('*' memberOf) ${ma}s," \
  "scimsync read+map ${mo}s (x$(awk -v a="$mo" -v b="$ms" 'BEGIN{printf "%.2f", a/b}') vs same attributes," \
  "x$(awk -v a="$mo" -v b="$ma" 'BEGIN{printf "%.2f", a/b}') vs '*'), peak RSS ${mr} MB"
