#!/usr/bin/env bash
# What the `user` lookup costs (issue 6): on a fresh local node, the genrec recommendation (k 100, rank window 100)
# with its history sent in the request and, alternated with it in the same run, the same history looked up by user
# from an events index (all of it: "events" = the history length), for 10 to 1,000 events, beside plain kNN with
# the same vector. Before timing, bench checks that both return the same hits. One client, then four.
#
#   scripts/bench-lookup.sh BUNDLE MODEL OUT_DIR [extra bench flags, e.g. --duration 20]
#
# Results: OUT_DIR/c1/results.json, OUT_DIR/c4/results.json (a cell per history length and source).
# Needs `mvn -B package -DskipTests` first (plugin zip, genrec-tools.jar).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUNDLE=$(realpath "$1") MODEL=$2 OUT=$(realpath -m "$3")
shift 3
source scripts/bench-node.sh
"${TOOLS[@]}" index-items --bundle "$BUNDLE" --url "$URL" --index items --recreate
mkdir -p "$OUT"
warm_up_node "$OUT" --history-from request,index "$@"
for clients in 1 4; do
  echo "== history in the request vs looked up, 10-1000 events, $clients client(s)"
  "${TOOLS[@]}" bench --bundle "$BUNDLE" --model "$MODEL" --url "$URL" --mix recommend --history 10,50,200,1000 --k 100 \
    --window 100 --history-from request,index --concurrency "$clients" --duration 20 --slices 20 --warmup 5 --candidates 100 \
    --out "$OUT/c$clients" "$@"
done
