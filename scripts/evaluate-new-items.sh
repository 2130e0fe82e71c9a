#!/usr/bin/env bash
# Items added after training, through a live node: the same leave-one-out requests evaluated twice on a fresh local
# node, once with every item trained and once with a seeded share of the catalogue renamed so that the model knows
# those items by their text alone (trainer/scripts/new_items_split.py says how; only the users whose held-out item is
# in the share are evaluated). The second run goes through what serves new items: index-items --items (their vectors
# from item_encoder) and the genrec query ranking them from the text in _source (score_rows).
# Then the users whose held-out item is trained but whose history holds new items, three times: every item trained
# (history-trained.json); the share renamed and indexed, so that a bundle that reads new history items reads them by
# the text it looks up (history-read.json); and the same index with the share's text removed from _source, so that the
# history's new items are left out while the candidates stay the same (history-left-out.json; ranked, a new item in
# the window is then unrankable too, so compare its "rank false" figures).
#
#   scripts/evaluate-new-items.sh BUNDLE MODEL DATASET_DIR FRACTION SEED OUT_DIR [extra evaluate flags, e.g. --k 100]
#
# DATASET_DIR holds events.jsonl and items.jsonl (trainer/scripts/export_dataset.py). Settings as scripts/bench-node.sh.
# Needs `mvn -B package -DskipTests` first (plugin zip, genrec-tools.jar) and a bundle with an item encoder.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUNDLE=$(realpath "$1") MODEL=$2 DATA=$(realpath "$3") FRACTION=$4 SEED=$5 OUT=$(realpath -m "$6")
shift 6
mkdir -p "$OUT"
trainer/.venv/bin/python trainer/scripts/new_items_split.py "$DATA/events.jsonl" "$DATA/items.jsonl" "$FRACTION" "$SEED" "$OUT"
source scripts/bench-node.sh
"${TOOLS[@]}" index-items --bundle "$BUNDLE" --url "$URL" --index items --recreate
evaluate() { "${TOOLS[@]}" evaluate --events "$OUT/$1" --model "$MODEL" --url "$URL" --index items --out "$OUT/$2" "${@:3}"; }
evaluate events-trained.jsonl trained.json "$@"
evaluate events-history-trained.jsonl history-trained.json "$@"
"${TOOLS[@]}" index-items --bundle "$BUNDLE" --items "$OUT/catalogue.jsonl" --url "$URL" --index items --recreate
evaluate events-new.jsonl new.json "$@"
evaluate events-history-new.jsonl history-read.json "$@"
curl -fsS -XPOST "$URL/items/_update_by_query?refresh=true&conflicts=proceed" -H 'Content-Type: application/json' -d \
  '{"query": {"prefix": {"item_id": "new:"}}, "script": {"source": "ctx._source.remove(\"title\"); ctx._source.remove(\"categories\")"}}' \
  | grep -o '"updated":[0-9]*'
evaluate events-history-new.jsonl history-left-out.json "$@"
