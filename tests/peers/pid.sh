# Sourced by the peer scripts: stopping a server by the PID it recorded, never by name, and
# picking a port for it.

# terminate PID [SECONDS]: SIGTERM, then up to SECONDS (default 10) for it to exit, then SIGKILL.
terminate() {
  local pid=$1 tenths=$(( ${2:-10} * 10 ))
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq "$tenths"); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

# free_port: a free port on 127.0.0.1 below Linux's ephemeral range (32768-60999). A port
# bind(0) hands out is in that range, where the kernel may give it to any outgoing connection
# or other bind(0) before the server binds it (seen in CI as "Address already in use").
free_port() {
  python3 -c '
import random, socket
for _ in range(200):
    port = random.randint(20000, 32000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    raise SystemExit("no free port")'
}
