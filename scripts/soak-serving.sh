#!/usr/bin/env bash
# Soak: concurrent genrec traffic against a running node for SECONDS, sampling the node's resident
# memory (RSS, from /proc) and JVM heap / direct-buffer use (from _nodes/stats) every 30 s.
# Two genrec-tools bench clients run side by side: recommendation (history 200, 2 clients; ranked on
# the shards and ranked once by the genrec_rank processor, alternated with plain kNN) and the
# rescorer over a match query (history 50, 2 clients; alternated with plain match). The soak
# samples until both benches have finished.
#
#   scripts/soak-serving.sh BUNDLE MODEL NODE_DIR PORT SECONDS OUT_DIR
#
# Start the node first (scripts/bench-serving.sh leaves one installed under /tmp/genrec-bench:
# `scripts/opensearch-node.sh start /tmp/genrec-bench 9271`), or run scripts/soak-fresh-node.sh, which starts
# one. Results: OUT_DIR/memory.tsv, the two bench logs and OUT_DIR/{recommend,rescore}/results.json (requests,
# errors, latency per variant).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUNDLE=$1 MODEL=$2 NODE_DIR=$3 PORT=$4 SECONDS_TOTAL=$5 OUT=$6
JAVA=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java
URL=http://127.0.0.1:$PORT
PID=$(cat "$NODE_DIR/opensearch.pid" 2>/dev/null || pgrep -f "opensearch.*$NODE_DIR" | head -1)
[[ -n $PID ]] || { echo "no running node for $NODE_DIR" >&2; exit 1; }
mkdir -p "$OUT"

sample() {
  local rss heap direct
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
  read -r heap direct < <(curl -s "$URL/_nodes/_local/stats/jvm" | python3 -c '
import json, sys
n = next(iter(json.load(sys.stdin)["nodes"].values()))["jvm"]
print(n["mem"]["heap_used_in_bytes"] // 1024, n["buffer_pools"]["direct"]["used_in_bytes"] // 1024)')
  printf '%s\t%s\t%s\t%s\n' "$(( $(date +%s) - START ))" "$rss" "$heap" "$direct" >> "$OUT/memory.tsv"
}

printf 'seconds\trss_kib\theap_used_kib\tdirect_buffers_kib\n' > "$OUT/memory.tsv"
START=$(date +%s)
# bench's --duration is per variant and the variants alternate: split SECONDS among them (3 and 2).
"$JAVA" -jar index-tools/target/genrec-tools.jar bench --bundle "$BUNDLE" --model "$MODEL" --url "$URL" --mix recommend \
  --history 200 --k 100 --window 100 --rank true,coordinator --concurrency 2 --warmup 10 --duration $(( SECONDS_TOTAL / 3 )) \
  --slices $(( SECONDS_TOTAL / 30 )) --candidates 100 --out "$OUT/recommend" \
  > "$OUT/recommend.log" 2>&1 &
A=$!
"$JAVA" -jar index-tools/target/genrec-tools.jar bench --bundle "$BUNDLE" --model "$MODEL" --url "$URL" --mix rescore \
  --history 50 --k 100 --window 100 --concurrency 2 --warmup 10 --duration $(( SECONDS_TOTAL / 2 )) \
  --slices $(( SECONDS_TOTAL / 20 )) --candidates 100 --out "$OUT/rescore" \
  > "$OUT/rescore.log" 2>&1 &
B=$!
trap 'kill $A $B 2>/dev/null || true' EXIT
while kill -0 $A 2>/dev/null || kill -0 $B 2>/dev/null; do
  sample
  sleep 30
done
sample
