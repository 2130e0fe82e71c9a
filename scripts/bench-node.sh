# Sourced by the serving benchmarks (bench-serving.sh, bench-ranking-placement.sh, ...), from the
# repository root with BUNDLE and MODEL set: a fresh local OpenSearch node with the plugin and the
# bundle installed as MODEL, started, and stopped when the calling script exits. Defines URL, TOOLS and
# warm_up_node (below).
# Settings: GENREC_BENCH_PORT (9271), GENREC_BENCH_NODE (/tmp/genrec-bench), GENREC_BENCH_HEAP (1g).
# BENCH_NODES=2 (set by the caller) starts a two-node cluster instead: the first node (URL, named
# genrec-node-PORT) bootstraps it and coordinates the benchmark's requests, the second
# (NODE_DIR-2, HTTP port PORT+1, named genrec-node-PORT+1) joins it as a data node.
PORT=${GENREC_BENCH_PORT:-9271}
NODE_DIR=${GENREC_BENCH_NODE:-/tmp/genrec-bench}
HEAP=${GENREC_BENCH_HEAP:-1g}
OPENSEARCH_VERSION=3.6.0
if [[ -z "${JAVA_HOME:-}" && -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]]; then
  export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
fi
TOOLS=("$JAVA_HOME/bin/java" -jar index-tools/target/genrec-tools.jar)
URL=http://127.0.0.1:$PORT
NODE_DIRS=("$NODE_DIR")
[[ ${BENCH_NODES:-1} == 2 ]] && NODE_DIRS+=("$NODE_DIR-2")

[[ -f target/opensearch-$OPENSEARCH_VERSION.zip ]] || mvn -B -ntp -q dependency:copy \
  -Dartifact=org.opensearch.distribution.integ-test-zip:opensearch:$OPENSEARCH_VERSION:zip -DoutputDirectory="$PWD/target"
for dir in "${NODE_DIRS[@]}"; do
  scripts/opensearch-node.sh stop "$dir" >/dev/null 2>&1 || true
  scripts/opensearch-node.sh install "target/opensearch-$OPENSEARCH_VERSION.zip" plugin/target/genrec-*.zip "$dir"
  scripts/opensearch-node.sh add-model "$dir" "$MODEL" "$BUNDLE"
done
trap 'for dir in "${NODE_DIRS[@]}"; do scripts/opensearch-node.sh stop "$dir"; done' EXIT
if [[ ${#NODE_DIRS[@]} == 2 ]]; then
  export GENREC_CLUSTER_SEED=127.0.0.1:$(( PORT + 100 ))
  OPENSEARCH_JAVA_OPTS="-Xms$HEAP -Xmx$HEAP" scripts/opensearch-node.sh start "$NODE_DIR" "$PORT" "$(( PORT + 100 ))"
  OPENSEARCH_JAVA_OPTS="-Xms$HEAP -Xmx$HEAP" scripts/opensearch-node.sh start "$NODE_DIR-2" "$(( PORT + 1 ))" "$(( PORT + 101 ))"
  curl -fs "$URL/_cluster/health?wait_for_nodes=2&timeout=60s" >/dev/null
else
  OPENSEARCH_JAVA_OPTS="-Xms$HEAP -Xmx$HEAP" scripts/opensearch-node.sh start "$NODE_DIR" "$PORT"
fi

# warm_up_node OUT_DIR [bench flags]: a node fresh from start and indexing is slower for its first minute (JIT, page
# cache): measured, the first 15-second cell ran at ~2x the p50 of the same request a few minutes later. This runs the
# headline request (recommendation, history 200, k 100, window 100) for 30 s at two clients, its results discarded
# (OUT_DIR/warmup), so that no measured cell is that minute.
warm_up_node() {
  local out=$1
  shift
  echo "== warm-up (discarded)"
  "${TOOLS[@]}" bench --bundle "$BUNDLE" --model "$MODEL" --url "$URL" --mix recommend --history 200 --k 100 --window 100 \
    --concurrency 2 --duration 30 --warmup 10 --candidates 100 --out "$out/warmup" "$@" > /dev/null
}
