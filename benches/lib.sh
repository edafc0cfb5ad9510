# Shared by the benchmark scripts (sourced, not run).

# bench_binary NAME: builds benches/NAME.rs in the bench (release) profile and prints the
# executable's path.
bench_binary() {
  local name=$1 bin
  bin=$(cd "$root" && cargo bench --no-run --bench "$name" --message-format=json 2>/dev/null \
    | python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m.get("target",{}).get("name")==sys.argv[1] and m.get("executable"): print(m["executable"])' "$name" | tail -n1)
  [ -x "$bin" ] || { echo "could not build benches/$name.rs" >&2; return 1; }
  echo "$bin"
}

# unused_target STATE_DIR: the [target] and [state] sections of a config that never reaches
# a target (the bench binaries stop before the SCIM side).
unused_target() {
  printf '[target]\nurl = "http://127.0.0.1:9/unused"\ntoken_env = "UNUSED"\n\n[state]\npath = "%s"\n' "$1"
}
