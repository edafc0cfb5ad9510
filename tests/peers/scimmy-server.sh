#!/usr/bin/env bash
# Second, independent SCIM 2.0 peer for tests: SCIMMY + scimmy-routers + Express (npm, pinned
# by tests/peers/scimmy/package-lock.json), in memory, bound to 127.0.0.1 only.
#
#   scimmy-server.sh install                 # idempotent: npm ci into <repo>/target/peers/scimmy
#   scimmy-server.sh start [TOKEN] STATE     # background start on a free port; prints the base URL
#   scimmy-server.sh stop STATE              # graceful stop by saved pid (never by name)
#
# TOKEN "env" reads $SCIM_PEER_TOKEN (so the token never appears in argv); "-" means no auth.
# Env: SCIMMY_PEER_HOME  install location (default <repo>/target/peers/scimmy)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=pid.sh
source "$(dirname "${BASH_SOURCE[0]}")/pid.sh"
SRC=$ROOT/tests/peers/scimmy
PEER_HOME=${SCIMMY_PEER_HOME:-$ROOT/target/peers/scimmy}

die() { echo "scimmy-server.sh: $*" >&2; exit 1; }

install() {
  command -v node >/dev/null && command -v npm >/dev/null || die "node and npm are needed (apt-get install nodejs npm)"
  mkdir -p "$PEER_HOME"
  exec 9>"$PEER_HOME/.install.lock"
  flock 9
  cp "$SRC/server.mjs" "$SRC/package.json" "$SRC/package-lock.json" "$PEER_HOME/"
  if ! cmp -s "$SRC/package-lock.json" "$PEER_HOME/node_modules/.installed-lock" 2>/dev/null; then
    (cd "$PEER_HOME" && npm ci --no-audit --no-fund --loglevel=error >&2)
    cp "$SRC/package-lock.json" "$PEER_HOME/node_modules/.installed-lock"
  fi
  flock -u 9
}

pid_alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q 'server.mjs'; }

start() {
  local token=${1:--} st=${2:?usage: start TOKEN STATE}
  install
  mkdir -p "$st"
  if [ -f "$st/pid" ] && pid_alive "$(cat "$st/pid")"; then die "already running (state $st)"; fi
  [ "$token" = env ] && token=${SCIM_PEER_TOKEN:?SCIM_PEER_TOKEN is not set}
  [ "$token" = - ] && token=
  rm -f "$st/url"
  (cd "$PEER_HOME" && SCIM_PEER_TOKEN=$token exec setsid node server.mjs 0 "$st/url" >"$st/server.log" 2>&1 </dev/null) &
  local pid=$!
  echo "$pid" >"$st/pid"
  local deadline=$((SECONDS + 30))
  until [ -s "$st/url" ]; do
    kill -0 "$pid" 2>/dev/null || { cat "$st/server.log" >&2; rm -f "$st/pid"; die "exited during start-up"; }
    [ $SECONDS -lt $deadline ] || { kill "$pid" 2>/dev/null || true; die "not listening after 30s"; }
    sleep 0.1
  done
  cat "$st/url"
}

stop() {
  local st=${1:?usage: stop STATE}
  [ -f "$st/pid" ] || return 0
  local pid; pid=$(cat "$st/pid")
  if pid_alive "$pid"; then
    terminate "$pid" 5
  fi
  rm -f "$st/pid"
}

cmd=${1:-}; shift || true
case "$cmd" in
  install) install ;;
  start) start "$@" ;;
  stop) stop "$@" ;;
  *) sed -n '2,11p' "$0" >&2; exit 2 ;;
esac
