#!/usr/bin/env bash
# What reading items added after training in a history costs (issue 6): on a fresh local node, the genrec
# recommendation (history 200, k 100, window 100) with 1, 10 and 50 of its events naming items the model was not trained
# on (read by their text: from the node's cache, or looked up in the items index), timed alternately with the same request
# naming trained items only. trainer/scripts/bench_new_history_items.py says how.
#
#   scripts/bench-new-history-items.sh BUNDLE MODEL OUT_DIR [extra flags of bench_new_history_items.py]
#
# BUNDLE must be exported with --item-id-dropout (its encode graph takes history_item_tokens).
# Needs `mvn -B package -DskipTests` first (plugin zip, genrec-tools.jar).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUNDLE=$(realpath "$1") MODEL=$2 OUT=$(realpath -m "$3")
shift 3
grep -q history_item_tokens "$BUNDLE/manifest.json" || { echo "$BUNDLE does not read new items in a history" >&2; exit 2; }
source scripts/bench-node.sh
"${TOOLS[@]}" index-items --bundle "$BUNDLE" --url "$URL" --index items --recreate
trainer/scripts/ensure_venv.sh
trainer/.venv/bin/python trainer/scripts/bench_new_history_items.py --bundle "$BUNDLE" --model "$MODEL" --url "$URL" \
  --index items --out "$OUT/results.json" "$@"
