# Sourced by the peer scripts: stopping a server by the PID it recorded, never by name.

# terminate PID [SECONDS]: SIGTERM, then up to SECONDS (default 10) for it to exit, then SIGKILL.
terminate() {
  local pid=$1 tenths=$(( ${2:-10} * 10 ))
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq "$tenths"); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
