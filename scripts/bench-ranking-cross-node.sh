#!/usr/bin/env bash
# Where ranking runs (issue 6), across nodes: what shipping the history's key/value cache to a shard
# on another node costs. A two-node local cluster (two OpenSearch processes on this machine, talking
# over the loopback transport); the first node receives every request and coordinates. The items
# index has one shard, placed first on the coordinating node (the cache never leaves the process),
# then on the other node (the rewritten query, cache included, is serialized, sent and read back),
# then two shards, one on each node. Each placement benches the genrec recommendation (history 200,
# k 100, rank window 100, one client) ranked on the shards (the cache travels), ranked once on the
# coordinating node by the genrec_rank processor (only the embedding travels), retrieval only, and
# plain kNN, alternated in 1-second slices of one run: what each placement adds is a difference
# within one run.
#
#   scripts/bench-ranking-cross-node.sh BUNDLE MODEL OUT_DIR
#
# Results: OUT_DIR/{local,remote,spread}/results.json. Needs `mvn -B package -DskipTests` first.
# Loopback is not a network: the figures hold the cache's serialization and the transport's copies,
# not its time on a wire (206 KB per shard request for the ML-100K model).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUNDLE=$(realpath "$1") MODEL=$2 OUT=$(realpath -m "$3")
BENCH_NODES=2
source scripts/bench-node.sh
mkdir -p "$OUT"

place() {  # place SHARDS SETTINGS_JSON: recreate the index and wait until its shards sit where SETTINGS asks
  "${TOOLS[@]}" index-items --bundle "$BUNDLE" --url "$URL" --index items --shards "$1" --recreate
  curl -fs -XPUT "$URL/items/_settings" -H 'Content-Type: application/json' -d "$2" >/dev/null
  curl -fs "$URL/_cluster/health/items?wait_for_status=green&wait_for_no_relocating_shards=true&timeout=120s" >/dev/null
  curl -fs "$URL/_cat/shards/items?h=index,shard,prirep,state,node"
}

bench() {
  "${TOOLS[@]}" bench --bundle "$BUNDLE" --model "$MODEL" --url "$URL" --mix recommend --history 200 --k 100 \
    --window 100 --rank true,false,coordinator --concurrency 1 --duration 40 --slices 40 --warmup 10 --candidates 100 --out "$OUT/$1"
}

echo "== one shard on the coordinating node"
place 1 "{\"index.routing.allocation.require._name\": \"genrec-node-$PORT\"}"
bench local
echo "== one shard on the other node"
place 1 "{\"index.routing.allocation.require._name\": \"genrec-node-$(( PORT + 1 ))\"}"
bench remote
echo "== two shards, one per node"
place 2 '{"index.routing.allocation.total_shards_per_node": 1}'
bench spread
