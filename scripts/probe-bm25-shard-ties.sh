#!/usr/bin/env bash
# Is BM25 on three shards under dfs_query_then_fetch the one-shard BM25, the order of equal scores aside? The bundle's
# items are indexed twice on one fresh node (items1: 1 shard, items3: 3 shards) and each user's search from SEARCHES (the
# last event per user, as `evaluate --first-stage match` sends it: combined_fields over title and categories.text, the
# history's items in must_not) goes to both, to items3 with dfs. Prints how many users' top-100 scores are the same
# score for score, how many targets move, and how many sit among equal scores (scripts/probes/bm25_shard_ties.py;
# BENCHMARKS.md, "BM25 on three shards with `dfs_query_then_fetch`").
#
#   scripts/probe-bm25-shard-ties.sh BUNDLE MODEL SEARCHES.jsonl
#
# Settings as scripts/bench-node.sh. Needs `mvn -B package -DskipTests` first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUNDLE=$(realpath "$1") MODEL=$2 SEARCHES=$(realpath "$3")
source scripts/bench-node.sh
for shards in 1 3; do
  "${TOOLS[@]}" index-items --bundle "$BUNDLE" --url "$URL" --index "items$shards" --shards "$shards" --recreate > /dev/null
done
python3 scripts/probes/bm25_shard_ties.py "$URL" "$SEARCHES"
