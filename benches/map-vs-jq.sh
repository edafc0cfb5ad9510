#!/usr/bin/env bash
# `scimsync map` against jq doing the same transform (benches/map-vs-jq/transform.jq) over a
# generated 100,000-user Okta export, side by side: wall time and peak memory of each, for
# JSON Lines and for a JSON array input, after checking both print the same bytes.
#
#   benches/map-vs-jq.sh [USERS]     (default 100000; needs jq, python3 and GNU time)
#   RUNS=1 benches/map-vs-jq.sh      (one run of each instead of the best of three)
#
# Figures go to stdout; BENCHMARKS.md records them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
users=${1:-100000}
dir="$root/target/bench"
mkdir -p "$dir"
for tool in jq python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "map-vs-jq: $tool is required (apt-get install jq time python3)" >&2; exit 1; }
done

lines="$dir/okta-$users.jsonl"
array="$dir/okta-$users.json"
if [ ! -s "$lines" ]; then
  python3 "$root/benches/map-vs-jq/generate.py" "$users" "$lines"
fi
if [ ! -s "$array" ]; then
  jq -cs '.' "$lines" >"$array"
fi

cargo build --release --quiet --manifest-path "$root/Cargo.toml"
scimsync="$root/target/release/scimsync"
mapping="$root/benches/map-vs-jq/bench.map"
jq_lib="$root/benches/map-vs-jq"   # transform.jq defines `scim`

# Same output, byte for byte, before anything is timed.
"$scimsync" map --mapping "$mapping" --input "$lines" >"$dir/scimsync.out" 2>"$dir/scimsync.err"
jq -c -L "$jq_lib" 'include "transform"; scim' "$lines" >"$dir/jq.out"
if ! cmp -s "$dir/scimsync.out" "$dir/jq.out"; then
  echo "map-vs-jq: scimsync and jq disagree; first difference:" >&2
  diff <(head -c 200000 "$dir/scimsync.out") <(head -c 200000 "$dir/jq.out") | head -5 >&2
  exit 1
fi
echo "outputs identical: $(wc -l <"$dir/jq.out") resources from $users users ($(du -h "$lines" | cut -f1) JSON Lines)"

# Best of $RUNS runs (default 3): wall seconds, CPU seconds (user + system, which a busy
# machine disturbs less than wall time) and peak resident memory (the largest seen).
runs=${RUNS:-3}
measure() {
  local best_wall="" best_cpu="" peak=0
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %U %S %M" -o "$dir/time.txt" "$@" >/dev/null 2>/dev/null
    read -r wall user sys kb <"$dir/time.txt"
    cpu=$(awk "BEGIN{print $user + $sys}")
    if [ -z "$best_wall" ] || awk "BEGIN{exit !($wall < $best_wall)}"; then best_wall=$wall; fi
    if [ -z "$best_cpu" ] || awk "BEGIN{exit !($cpu < $best_cpu)}"; then best_cpu=$cpu; fi
    if [ "$kb" -gt "$peak" ]; then peak=$kb; fi
  done
  echo "$best_wall $best_cpu $peak"
}

printf '%-11s %-9s %9s %9s %12s\n' input tool "wall s" "CPU s" "peak RSS MB"
for input in "$lines" "$array"; do
  kind=$([ "$input" = "$lines" ] && echo "JSON Lines" || echo "JSON array")
  read -r s_wall s_cpu s_mem < <(measure "$scimsync" map --mapping "$mapping" --input "$input")
  if [ "$input" = "$lines" ]; then
    read -r j_wall j_cpu j_mem < <(measure jq -c -L "$jq_lib" 'include "transform"; scim' "$input")
  else
    read -r j_wall j_cpu j_mem < <(measure jq -c -L "$jq_lib" 'include "transform"; .[] | scim' "$input")
  fi
  printf '%-11s %-9s %9s %9s %12s\n' "$kind" scimsync "$s_wall" "$s_cpu" "$((s_mem / 1024))"
  printf '%-11s %-9s %9s %9s %12s\n' "$kind" jq "$j_wall" "$j_cpu" "$((j_mem / 1024))"
  awk "BEGIN{printf \"%-11s %-9s %8.1fx %8.1fx\n\", \"$kind\", \"speed-up\", $j_wall / $s_wall, $j_cpu / ($s_cpu > 0 ? $s_cpu : 0.01)}"
done
