# Sourced by the serving benchmarks (bench-serving.sh, bench-ranking-placement.sh), from the
# repository root with BUNDLE and MODEL set: a fresh local OpenSearch node with the plugin and the
# bundle installed as MODEL, started, and stopped when the calling script exits. Defines URL, TOOLS.
# Settings: GENREC_BENCH_PORT (9271), GENREC_BENCH_NODE (/tmp/genrec-bench), GENREC_BENCH_HEAP (1g).
PORT=${GENREC_BENCH_PORT:-9271}
NODE_DIR=${GENREC_BENCH_NODE:-/tmp/genrec-bench}
HEAP=${GENREC_BENCH_HEAP:-1g}
OPENSEARCH_VERSION=3.6.0
if [[ -z "${JAVA_HOME:-}" && -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]]; then
  export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
fi
TOOLS=("$JAVA_HOME/bin/java" -jar index-tools/target/genrec-tools.jar)
URL=http://127.0.0.1:$PORT

[[ -f target/opensearch-$OPENSEARCH_VERSION.zip ]] || mvn -B -ntp -q dependency:copy \
  -Dartifact=org.opensearch.distribution.integ-test-zip:opensearch:$OPENSEARCH_VERSION:zip -DoutputDirectory="$PWD/target"
scripts/opensearch-node.sh stop "$NODE_DIR" >/dev/null 2>&1 || true
scripts/opensearch-node.sh install "target/opensearch-$OPENSEARCH_VERSION.zip" plugin/target/genrec-*.zip "$NODE_DIR"
scripts/opensearch-node.sh add-model "$NODE_DIR" "$MODEL" "$BUNDLE"
trap 'scripts/opensearch-node.sh stop "$NODE_DIR"' EXIT
OPENSEARCH_JAVA_OPTS="-Xms$HEAP -Xmx$HEAP" scripts/opensearch-node.sh start "$NODE_DIR" "$PORT"
