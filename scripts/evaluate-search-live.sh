#!/usr/bin/env bash
# The trainer's search test through a live node, in one command: a fresh local OpenSearch 3.6.0 node with the plugin
# and BUNDLE loaded as MODEL, the bundle's items indexed (SHARDS shards, title and categories.text searchable), then
# (STAGES) two `genrec-tools evaluate` runs over SEARCHES, the requests the trainer's search test made (train.py
# --search-log-out):
#   OUT_DIR/knn.json    the genrec query itself (kNN, ranked and not): the trainer's search_model_* figures
#   OUT_DIR/match.json  a text search (combined_fields over title and categories.text) alone and with the genrec
#                       rescorer over its best 100 hits: what the trainer's search_bm25* figures measure with its own BM25
# Each with --protocol loo (the log holds the trainer's test users only, already filtered by its protocol) and one client,
# so that each variant's seconds / users is its mean request time. The node is stopped at the end.
#
#   [SHARDS=1] [STAGES="knn match"] scripts/evaluate-search-live.sh BUNDLE MODEL SEARCHES.jsonl OUT_DIR [extra evaluate flags]
#
# SHARDS: the items index's shards. The rescorer's window is per shard, so on N shards it reorders up to N x window hits
# (BENCHMARKS.md, "The rescorer over OpenSearch's BM25 on three shards"). STAGES: which runs; the extra flags go to each,
# so flags of one first stage only (--window) need STAGES=match.
#
# Settings as scripts/bench-node.sh. Needs `mvn -B package -DskipTests` first (plugin zip, genrec-tools.jar).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUNDLE=$(realpath "$1") MODEL=$2 SEARCHES=$(realpath "$3") OUT=$(realpath -m "$4")
shift 4
mkdir -p "$OUT"
source scripts/bench-node.sh
"${TOOLS[@]}" index-items --bundle "$BUNDLE" --url "$URL" --index items --shards "${SHARDS:-1}" --recreate
warm_up_node "$OUT"
for stage in ${STAGES:-knn match}; do
  echo "== $stage"
  "${TOOLS[@]}" evaluate --events "$SEARCHES" --model "$MODEL" --url "$URL" --index items --protocol loo --k 100 \
    --rank true,false --first-stage "$stage" --out "$OUT/$stage.json" --ranks-out "$OUT/$stage.ranks.jsonl" "$@"
done
