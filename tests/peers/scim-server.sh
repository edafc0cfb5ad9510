#!/usr/bin/env bash
# A real SCIM 2.0 service provider for tests and the quickstart: python-scim's `scim2-server`
# (PyPI), in memory, bound to 127.0.0.1 only. Nobody on this project wrote it.
#
#   scim-server.sh install                      # idempotent: venv + pinned scim2-server
#   scim-server.sh start PORT [TOKEN] [STATE]   # background start; prints the base URL (…/v2)
#   scim-server.sh stop  PORT|STATE             # graceful stop by saved pid (never by name)
#   scim-server.sh status PORT|STATE
#
# PORT 0 picks a free port. TOKEN "-" or "" means no auth. The token is read from
# $SCIM_PEER_TOKEN when TOKEN is "env", so it does not appear in this script's argv.
# STATE defaults to ${TMPDIR:-/tmp}/scimsync-scim-PORT (pid, log, schema files).
# Env: SCIM_PEER_HOME   venv location (default: <repo>/target/peers)
#      SCIM2_SERVER_VERSION (default 0.8.3)
#      SCIM_DUMP=FILE   write every resource as JSON to FILE on stop
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=pid.sh
source "$(dirname "${BASH_SOURCE[0]}")/pid.sh"
PEER_HOME=${SCIM_PEER_HOME:-$ROOT/target/peers}
VENV=$PEER_HOME/scim2-venv
PY=$VENV/bin/python
VERSION=${SCIM2_SERVER_VERSION:-0.8.3}
HOST=127.0.0.1

die() { echo "scim-server.sh: $*" >&2; exit 1; }

install() {
  mkdir -p "$PEER_HOME"
  exec 9>"$PEER_HOME/.scim2-install.lock"
  flock 9
  if [ -x "$PY" ] && "$PY" - "$VERSION" <<'PYEOF' 2>/dev/null
import sys, importlib.metadata as m
sys.exit(0 if m.version("scim2-server") == sys.argv[1] else 1)
PYEOF
  then flock -u 9; return 0; fi
  command -v python3 >/dev/null || die "python3 not found"
  [ -x "$PY" ] || python3 -m venv "$VENV" >&2
  "$PY" -m pip install -q --disable-pip-version-check "scim2-server==$VERSION" >&2
  flock -u 9
}

state_dir() {
  local a=${1:?PORT or STATE dir}
  if [[ "$a" =~ ^[0-9]+$ ]]; then echo "${TMPDIR:-/tmp}/scimsync-scim-$a"; else echo "$a"; fi
}

pid_alive() {
  local pid=$1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q scim2_server
}


# RFC 7643 schemas plus the custom User extensions of the targets scimsync ships presets for.
write_config() {
  "$PY" - "$1" <<'PYEOF'
import json, sys, pathlib
from scim2_server.utils import load_json_resource
out = pathlib.Path(sys.argv[1])
def attr(name, type_="string", **kw):
    a = {"name": name, "type": type_, "multiValued": False, "required": False, "caseExact": False,
         "mutability": "readWrite", "returned": "default", "uniqueness": "none", "description": name}
    a.update(kw); return a
BASE44 = "urn:base44:params:scim:schemas:extension:user:2.0"
APPSPACE = "urn:ietf:params:scim:schemas:extension:appspace:2.0:User"
ACTIVEPIECES = "urn:ietf:params:scim:schemas:activepieces:1.0:CustomUserAttributes"
schemas = load_json_resource("default-schemas.json") + [
    {"id": BASE44, "name": "Base44User", "description": "Base44 workspace member",
     "attributes": [attr("role", canonicalValues=["admin", "editor", "viewer"]), attr("creditLimit", "integer")]},
    {"id": APPSPACE, "name": "AppspaceUser", "description": "Appspace custom attributes",
     "attributes": [attr("costCenter"), attr("location"), attr("employeeType"), attr("workspaceId")]},
    {"id": ACTIVEPIECES, "name": "ActivepiecesUser", "description": "Activepieces platform role",
     "attributes": [attr("platformRole", canonicalValues=["ADMIN", "MEMBER", "OPERATOR"])]},
]
rts = load_json_resource("default-resource-types.json")
for rt in rts:
    if rt["id"] == "User":
        rt["schemaExtensions"] += [{"schema": s, "required": False} for s in (BASE44, APPSPACE, ACTIVEPIECES)]
(out / "schemas.json").write_text(json.dumps(schemas, indent=1))
(out / "resource-types.json").write_text(json.dumps(rts, indent=1))
PYEOF
}

start() {
  local port=${1:?usage: start PORT [TOKEN] [STATE]} token=${2:-} st=${3:-}
  [[ "$port" =~ ^[0-9]+$ ]] || die "bad port: $port"
  install
  if [ "$port" != 0 ]; then
    start_on "$port" "$token" "$st" || die "server did not start on port $port"
    return
  fi
  # A port picked here can still be taken before the server binds it: another, at most 5 times.
  local attempt code
  for attempt in 1 2 3 4 5; do
    code=0
    start_on "$(free_port)" "$token" "$st" || code=$?
    [ "$code" = 0 ] && return 0
    if [ "$code" = 1 ] && ! grep -q "Address already in use" "$START_LOG" 2>/dev/null; then
      die "server exited during start-up"
    fi
    echo "scim-server.sh: the port was taken before the server bound it; another (attempt $attempt)" >&2
  done
  die "no free port after 5 attempts"
}

# Starts the server on PORT; returns 1 (after printing its log) if it exits during start-up,
# 2 if the port is in use already.
START_LOG=
start_on() {
  local port=$1 token=$2 st=$3
  st=${st:-$(state_dir "$port")}
  mkdir -p "$st"
  if [ -f "$st/pid" ] && pid_alive "$(cat "$st/pid")"; then die "already running (state $st)"; fi
  if (exec 3<>"/dev/tcp/$HOST/$port") 2>/dev/null; then
    echo "scim-server.sh: port $port on $HOST is already in use" >&2
    return 2
  fi
  [ "$token" = env ] && token=${SCIM_PEER_TOKEN:?SCIM_PEER_TOKEN is not set}
  local args=(--hostname "$HOST" --port "$port")
  [ -n "$token" ] && [ "$token" != "-" ] && args+=(--bearer-token "$token")
  write_config "$st"
  args+=(--schema "$st/schemas.json" --resource-type "$st/resource-types.json")
  [ -n "${SCIM_DUMP:-}" ] && args+=(--dump-resources "$SCIM_DUMP")
  # SIGTERM -> KeyboardInterrupt so the server stops cleanly (background jobs ignore SIGINT);
  # a listen backlog of 128 instead of 5 avoids 1 s SYN-retry stalls under concurrency.
  setsid "$PY" -u -c '
import signal, sys
def _stop(*_): raise KeyboardInterrupt
signal.signal(signal.SIGTERM, _stop); signal.signal(signal.SIGINT, _stop)
sys.argv[0] = "scim2-server"
import socketserver
socketserver.TCPServer.request_queue_size = 128
from scim2_server.testserver.cli import main
main()' "${args[@]}" >"$st/server.log" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$st/pid"
  local url="http://$HOST:$port/v2" deadline=$((SECONDS + ${SCIM_START_TIMEOUT:-30}))
  until curl -fsS -o /dev/null --max-time 2 "$url/ServiceProviderConfig" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { cat "$st/server.log" >&2; rm -f "$st/pid"; START_LOG=$st/server.log; return 1; }
    [ $SECONDS -ge $deadline ] && { kill "$pid" 2>/dev/null; cat "$st/server.log" >&2; die "not answering after ${SCIM_START_TIMEOUT:-30}s"; }
    sleep 0.1
  done
  echo "$url" >"$st/url"
  echo "$url"
}

stop() {
  local st; st=$(state_dir "${1:-}")
  [ -f "$st/pid" ] || return 0
  local pid; pid=$(cat "$st/pid")
  if pid_alive "$pid"; then
    terminate "$pid" 5
  fi
  rm -f "$st/pid"
}

status() {
  local st; st=$(state_dir "${1:-}")
  if [ -f "$st/pid" ] && pid_alive "$(cat "$st/pid")"; then echo "running url=$(cat "$st/url" 2>/dev/null)"; else echo stopped; return 1; fi
}

cmd=${1:-}; shift || true
case "$cmd" in
  install) install ;;
  start) start "$@" ;;
  stop) stop "$@" ;;
  status) status "$@" ;;
  *) sed -n '2,16p' "$0" >&2; exit 2 ;;
esac
