#!/usr/bin/env bash
# A real Active Directory domain controller (Samba's AD DC, Debian package) for scimsync's
# tests, on 127.0.0.1 only, with its own provisioned directory under a state directory. The
# system's samba services are never configured or started.
#
#   samba-ad.sh install                 # apt-get install samba ... ldap-utils openssl (idempotent)
#   samba-ad.sh start STATE [USERS]     # provision + seed (first time), start, wait for a bind;
#                                       #   prints key=value lines (urls, DNs, files, pid)
#   samba-ad.sh stop STATE              # SIGTERM to the pid this script started (never by name)
#   samba-ad.sh destroy STATE           # stop + remove STATE
#
# Listens on 127.0.0.1:389 (LDAP, StartTLS), :636 (LDAPS), :3268/:3269 (global catalog), fixed
# by Samba: one DC per machine at a time. Only the LDAP service runs (`server services = ldap`).
# `ldap server require strong auth` stays at Samba's (and hardened AD's) default, `yes`: a
# simple bind over plain LDAP is refused with strongerAuthRequired; AD_STRONG_AUTH=no allows it.
# Samba's own certificate has no subjectAltName (rustls refuses it): a test CA and a server
# certificate for IP:127.0.0.1 and localhost are made in STATE/tls (ca.pem).
# Seeding (tests/peers/gen-ad-ldif.py) goes through Samba's Python SamDB in one transaction
# while the server is stopped (samba-tool user add is ~10x slower).
#
# Env: AD_OWNER_PID: destroy the DC (stop it by pid, remove STATE) once this process has
#        exited (a test binary that started it), however it exited.
#      AD_MAX_RUNTIME (1800): samba exits by itself after this many seconds, a safety net.
set -euo pipefail

PEERS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=pid.sh
source "$(dirname "${BASH_SOURCE[0]}")/pid.sh"
REALM=CORP.EXAMPLE.TEST
DOMAIN=CORP
BASE="DC=corp,DC=example,DC=test"
SVC_DN="CN=svc-scimsync,OU=Service Accounts,OU=Corp,$BASE"
PACKAGES=(samba samba-ad-provision samba-dsdb-modules ldap-utils openssl)
# Samba's Python modules are Debian's, for Debian's python3 (not a pyenv or venv one).
PY=/usr/bin/python3
export PATH=$PATH:/usr/sbin:/sbin

die() { echo "samba-ad.sh: $*" >&2; exit 1; }

install() {
  if command -v samba >/dev/null && command -v ldapsearch >/dev/null &&
    "$PY" -c 'import samba.samdb' 2>/dev/null; then
    return 0
  fi
  [ "$(id -u)" = 0 ] || die "need root to apt-get install ${PACKAGES[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # The packages would start smbd/nmbd/samba-ad-dc with the system smb.conf; we never use them.
  local guard=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && guard=1
  fi
  local rc=0
  apt-get install -y -q "${PACKAGES[@]}" >&2 ||
    { apt-get update -q >&2 && apt-get install -y -q "${PACKAGES[@]}" >&2; } || rc=$?
  [ -n "$guard" ] && rm -f /usr/sbin/policy-rc.d
  [ $rc = 0 ] || die "apt-get install failed"
}

password() { "$PY" -c 'import secrets; print("Aa1-" + secrets.token_urlsafe(18), end="")'; }

make_tls() { # STATE: a CA and a server certificate rustls accepts for 127.0.0.1
  local t=$1/tls
  mkdir -p "$t"
  (cd "$t" && umask 077 &&
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj '/CN=scimsync AD test CA' \
      -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' \
      -keyout ca.key -out ca.pem 2>/dev/null &&
    openssl req -newkey rsa:2048 -nodes -subj '/CN=dc1.corp.example.test' \
      -keyout key.pem -out server.csr 2>/dev/null &&
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:dc1.corp.example.test\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n' >ext.cnf &&
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
      -extfile ext.cnf -out cert.pem 2>/dev/null &&
    chmod 644 ca.pem cert.pem) || die "certificate generation failed"
}

provision() { # STATE USERS
  local st=$1 users=$2
  mkdir -p "$st"/{log,run,ncalrpc}
  chmod 700 "$st"
  (umask 077; password >"$st/admin.pass"; password >"$st/svc.pass")
  timeout 600 samba-tool domain provision --realm="$REALM" --domain="$DOMAIN" --server-role=dc \
    --dns-backend=SAMBA_INTERNAL --host-name=dc1 --host-ip=127.0.0.1 --use-rfc2307 \
    --adminpass="$(cat "$st/admin.pass")" --targetdir="$st" \
    --option="interfaces = 127.0.0.1" --option="bind interfaces only = yes" \
    --option="server services = ldap" >"$st/log/provision.log" 2>&1 ||
    { tail -20 "$st/log/provision.log" >&2; die "provision failed"; }
  make_tls "$st"
  # provision keeps only some --option values: the rest goes into [global] here.
  "$PY" - "$st/etc/smb.conf" "$st" <<'EOF'
import re, sys
conf, st = sys.argv[1], sys.argv[2]
text = re.sub(r"\tlog file = .*\n", "", open(conf).read())
extra = (f"\tlog file = {st}/log/samba.log\n\tlog level = 1\n\tpid directory = {st}/run\n"
         f"\tncalrpc dir = {st}/ncalrpc\n\ttls enabled = yes\n\ttls keyfile = {st}/tls/key.pem\n"
         f"\ttls certfile = {st}/tls/cert.pem\n\ttls cafile = {st}/tls/ca.pem\n")
open(conf, "w").write(text.replace("[global]\n", "[global]\n" + extra, 1))
EOF
  "$PY" "$PEERS/gen-ad-ldif.py" "$BASE" "$users" "$st/seed" >&2
  timeout 900 "$PY" "$PEERS/load-ad-ldif.py" "$st/etc/smb.conf" "$st/seed/seed.ldif" \
    "$st/seed/seed-modify.ldif" --service-account "$SVC_DN" "$st/svc.pass" >&2 ||
    die "seeding failed"
  touch "$st/.provisioned"
}

# Samba rewrites its command line: the pid is ours when it runs samba and samba wrote it too.
running() { # STATE
  local pid
  pid=$(cat "$1/run/launch.pid" 2>/dev/null) || return 1
  kill -0 "$pid" 2>/dev/null && [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == */samba ]]
}

start() {
  local st=${1:?usage: start STATE [USERS]} users=${2:-2000}
  [[ "$users" =~ ^[0-9]+$ ]] || die "bad user count: $users"
  install
  if [ -d "$st" ] && running "$st"; then die "already running (pid $(cat "$st/run/launch.pid"), state $st)"; fi
  for port in 389 636 3268 3269; do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && die "port $port on 127.0.0.1 is in use"
  done
  mkdir -p "$st"
  st=$(cd "$st" && pwd)
  [ -f "$st/.provisioned" ] || provision "$st" "$users"
  setsid samba --foreground --no-process-group -M single -s "$st/etc/smb.conf" \
    --option="ldap server require strong auth = ${AD_STRONG_AUTH:-yes}" \
    --maximum-runtime="${AD_MAX_RUNTIME:-1800}" >"$st/log/samba.stdout" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$st/run/launch.pid"
  if [ -n "${AD_OWNER_PID:-}" ]; then
    # Stops the DC by its pid and removes it once the owner (a test binary) has exited.
    setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; "$2" destroy "$3"' \
      owner-watch "$AD_OWNER_PID" "$PEERS/samba-ad.sh" "$st" >/dev/null 2>&1 </dev/null &
  fi
  local deadline=$((SECONDS + 90))
  until LDAPTLS_CACERT=$st/tls/ca.pem ldapsearch -LLL -o nettimeout=2 -H ldaps://127.0.0.1 -x \
    -D "$SVC_DN" -y "$st/svc.pass" -b "$BASE" -s base dn >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { tail -20 "$st/log/samba.log" "$st/log/samba.stdout" >&2; die "samba exited"; }
    [ $SECONDS -ge $deadline ] && { stop "$st"; die "no LDAP answer after 90s"; }
    sleep 0.2
  done
  cat <<EOF
ldap_url=ldap://127.0.0.1
ldaps_url=ldaps://127.0.0.1
gc_url=ldaps://127.0.0.1:3269
ca_file=$st/tls/ca.pem
base_dn=$BASE
bind_dn=$SVC_DN
bind_password_file=$st/svc.pass
admin_bind_dn=Administrator@$REALM
admin_password_file=$st/admin.pass
expected=$st/seed/expected.json
pid=$pid
EOF
}

stop() {
  local st=${1:?STATE} pid
  if running "$st"; then
    pid=$(cat "$st/run/launch.pid")
    terminate "$pid" 10
  fi
  rm -f "$st/run/launch.pid"
}

cmd=${1:-}; shift || true
case "$cmd" in
  install) install ;;
  start) start "$@" ;;
  stop) stop "$@" ;;
  destroy) stop "${1:?STATE}"; rm -rf "$1" ;;
  *) sed -n '2,26p' "$0" >&2; exit 2 ;;
esac
