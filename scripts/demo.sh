#!/usr/bin/env bash
# The main job, from a fresh clone: train the small synthetic model, start a local OpenSearch 3.6.0
# node with the genrec plugin installed, index the model's items, and print a recommendation and a
# personalized search for a sample user. The node keeps running afterwards (the last line says how
# to stop it). Settings: GENREC_PORT (9200), GENREC_NODE_DIR (/tmp/genrec-demo), JAVA_HOME (JDK 21+).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
PORT=${GENREC_PORT:-9200}
NODE_DIR=${GENREC_NODE_DIR:-/tmp/genrec-demo}
BUNDLE=$ROOT/target/demo-bundle
OPENSEARCH_VERSION=3.6.0

if [[ -z "${JAVA_HOME:-}" && -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]]; then
  export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
fi

echo "== 1/5 train the synthetic model -> $BUNDLE"
trainer/scripts/make_fixture_bundle.sh "$BUNDLE"

echo "== 2/5 build the plugin and genrec-tools"
mvn -B -ntp -q package -DskipTests
mvn -B -ntp -q dependency:copy -Dartifact=org.opensearch.distribution.integ-test-zip:opensearch:$OPENSEARCH_VERSION:zip \
  -DoutputDirectory="$ROOT/target"

echo "== 3/5 OpenSearch $OPENSEARCH_VERSION with the plugin in $NODE_DIR"
scripts/opensearch-node.sh stop "$NODE_DIR" >/dev/null 2>&1 || true
scripts/opensearch-node.sh install "$ROOT/target/opensearch-$OPENSEARCH_VERSION.zip" plugin/target/genrec-*.zip "$NODE_DIR"
scripts/opensearch-node.sh add-model "$NODE_DIR" synthetic "$BUNDLE"
scripts/opensearch-node.sh start "$NODE_DIR" "$PORT"

echo "== 4/5 index the items"
"$JAVA_HOME/bin/java" -jar index-tools/target/genrec-tools.jar index-items --bundle "$BUNDLE" \
  --url "http://127.0.0.1:$PORT" --index items --recreate

echo "== 5/5 a recommendation, a personalized search, and an item added after training"
trainer/.venv/bin/python trainer/scripts/demo_queries.py --bundle "$BUNDLE" --url "http://127.0.0.1:$PORT"

echo
echo "The node is still running on http://127.0.0.1:$PORT. Stop it with: scripts/opensearch-node.sh stop $NODE_DIR"
