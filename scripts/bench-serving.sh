#!/usr/bin/env bash
# Serving benchmark in one command (BENCHMARKS.md, "Serving performance"): a fresh local OpenSearch
# 3.6.0 node with the plugin and BUNDLE loaded as MODEL, the bundle's items indexed, then
# `genrec-tools bench` — genrec against plain kNN (and the rescorer against plain match) in the
# same run — and the model-only time-vs-candidates curve. The node is stopped at the end.
#
#   scripts/bench-serving.sh BUNDLE MODEL OUT_DIR [extra bench flags, e.g. --duration 20]
#
# Results: OUT_DIR/{headline,mixes,model-only}/results.json and PNG charts. Settings:
# GENREC_BENCH_PORT (9271), GENREC_BENCH_NODE (/tmp/genrec-bench), GENREC_BENCH_HEAP (1g).
# Needs `mvn -B package -DskipTests` first (plugin zip, genrec-tools.jar).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUNDLE=$(realpath "$1") MODEL=$2 OUT=$(realpath -m "$3")
shift 3
source scripts/bench-node.sh
"${TOOLS[@]}" index-items --bundle "$BUNDLE" --url "$URL" --index items --recreate

mkdir -p "$OUT"
warm_up_node "$OUT" "$@"
echo "== headline: recommendation, history 200, k 100, rank window 100, 1/2/4/8 clients"
"${TOOLS[@]}" bench --bundle "$BUNDLE" --model "$MODEL" --url "$URL" --mix recommend --history 200 --k 100 --window 100 \
  --concurrency 1,2,4,8 --duration 10 --warmup 5 --out "$OUT/headline" "$@"
echo "== request mixes at one client"
"${TOOLS[@]}" bench --bundle "$BUNDLE" --model "$MODEL" --url "$URL" --mix recommend,search,rescore --history 10,50,200 \
  --k 100 --window 100 --concurrency 1 --duration 5 --warmup 2 --out "$OUT/mixes" "$@"
echo "== node stats after the runs"
curl -s "$URL/_plugins/_genrec/stats?pretty" > "$OUT/node-stats.json"
echo "== model alone: time vs candidates"
"${TOOLS[@]}" bench --bundle "$BUNDLE" --model "$MODEL" --model-only --out "$OUT/model-only"
