#!/usr/bin/env bash
# The trainer's leave-one-out evaluation through a live node, in one command: a fresh local OpenSearch
# 3.6.0 node with the plugin and BUNDLE loaded as MODEL, the bundle's items indexed (one shard), then
# `genrec-tools evaluate` over EVENTS (the event schema; trainer/scripts/export_dataset.py writes a
# benchmark dataset in it). The node is stopped at the end.
#
#   scripts/evaluate-live.sh BUNDLE MODEL EVENTS.jsonl OUT.json [extra evaluate flags, e.g. --k 100 --rank true,false]
#
# Settings as scripts/bench-node.sh, and GENREC_EVAL_SHARDS (1): the items index's shards (with more than one, each
# shard retrieves k and ranks its own window, as in any multi-shard search). Needs `mvn -B package -DskipTests` first
# (plugin zip, genrec-tools.jar).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUNDLE=$(realpath "$1") MODEL=$2 EVENTS=$(realpath "$3") OUT=$(realpath -m "$4")
shift 4
source scripts/bench-node.sh
"${TOOLS[@]}" index-items --bundle "$BUNDLE" --url "$URL" --index items --shards "${GENREC_EVAL_SHARDS:-1}" --recreate
"${TOOLS[@]}" evaluate --events "$EVENTS" --model "$MODEL" --url "$URL" --index items --out "$OUT" "$@"
