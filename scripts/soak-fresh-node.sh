#!/usr/bin/env bash
# The soak (scripts/soak-serving.sh) on a fresh local node, in one command: OpenSearch 3.6.0 with the plugin and
# BUNDLE loaded as MODEL (scripts/bench-node.sh), the bundle's items indexed, 30 s of warm-up, then SECONDS of soak.
# The node is stopped at the end.
#
#   scripts/soak-fresh-node.sh BUNDLE MODEL SECONDS OUT_DIR
#
# Results as soak-serving.sh writes them (OUT_DIR/memory.tsv, the bench logs and results), and the node's genrec
# stats after the soak (OUT_DIR/node-stats.json). Needs `mvn -B package -DskipTests` first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUNDLE=$(realpath "$1") MODEL=$2 SECONDS_TOTAL=$3 OUT=$(realpath -m "$4")
source scripts/bench-node.sh
"${TOOLS[@]}" index-items --bundle "$BUNDLE" --url "$URL" --index items --recreate
mkdir -p "$OUT"
warm_up_node "$OUT"
scripts/soak-serving.sh "$BUNDLE" "$MODEL" "$NODE_DIR" "$PORT" "$SECONDS_TOTAL" "$OUT"
curl -s "$URL/_plugins/_genrec/stats?pretty" > "$OUT/node-stats.json"
