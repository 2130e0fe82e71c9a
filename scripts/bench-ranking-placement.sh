#!/usr/bin/env bash
# Where ranking runs (issue 6): the cost the shard-side design pays per shard, measured on one
# local node. For 1, 2 and 4 shards it benches the genrec recommendation (history 200, k 100,
# rank window 100, one client) with ranking on each shard (the plugin's design: the rewritten query
# carries the history's key/value cache, every shard scores its own top window), with ranking off
# (retrieval only) and plain kNN, alternated in 1-second slices of one run (so node drift is shared);
# then the model alone scores one window (what ranking the merged top window once on the
# coordinating node would add instead).
#
#   scripts/bench-ranking-placement.sh BUNDLE MODEL OUT_DIR
#
# Results: OUT_DIR/shards-S/results.json (a cell per rank value), OUT_DIR/model-only/results.json.
# Needs `mvn -B package -DskipTests` first (plugin zip, genrec-tools.jar).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUNDLE=$(realpath "$1") MODEL=$2 OUT=$(realpath -m "$3")
source scripts/bench-node.sh
mkdir -p "$OUT"
for shards in 1 2 4; do
  "${TOOLS[@]}" index-items --bundle "$BUNDLE" --url "$URL" --index items --shards "$shards" --recreate
  echo "== $shards shard(s): ranking on, ranking off, plain kNN"
  "${TOOLS[@]}" bench --bundle "$BUNDLE" --model "$MODEL" --url "$URL" --mix recommend --history 200 --k 100 \
    --window 100 --rank true,false --concurrency 1 --duration 15 --slices 15 --warmup 5 --candidates 100 --out "$OUT/shards-$shards"
done
echo "== model alone: one score call over the window"
"${TOOLS[@]}" bench --bundle "$BUNDLE" --model "$MODEL" --model-only --candidates 100,200,400 --out "$OUT/model-only"
