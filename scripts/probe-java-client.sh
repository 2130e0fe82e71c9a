#!/usr/bin/env bash
# The Java client's transport by request size, with the httpcore5 genrec-tools.jar ships (5.4.4, pinned in the root pom)
# and, on the same node, with opensearch-java 3.6.0's own 5.4 first on the classpath: 5.4 left TCP_NODELAY off, and the
# requests of a few KB or more waited ~40 ms each for the node's delayed ACK (BENCHMARKS.md, "The Java client's stall,
# found"). Prints each one's mean request times (scripts/probes/JavaClientLatency.java), twice.
#
#   scripts/probe-java-client.sh BUNDLE
#
# BUNDLE: any model bundle (the node needs one to start the plugin with). Needs `mvn -B package -DskipTests` first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUNDLE=$(realpath "$1") MODEL=probe
source scripts/bench-node.sh
JAR=index-tools/target/genrec-tools.jar
CORE=~/.m2/repository/org/apache/httpcomponents/core5
for artifact in httpcore5 httpcore5-h2; do
  [[ -f $CORE/$artifact/5.4/$artifact-5.4.jar ]] || mvn -B -ntp -q dependency:get -Dartifact=org.apache.httpcomponents.core5:$artifact:5.4
done
OLD=$CORE/httpcore5/5.4/httpcore5-5.4.jar:$CORE/httpcore5-h2/5.4/httpcore5-h2-5.4.jar
for run in 1 2; do
  for classpath in "$JAR" "$OLD:$JAR"; do
    "$JAVA_HOME/bin/java" -cp "$classpath" scripts/probes/JavaClientLatency.java "$URL" 2>/dev/null
  done
done
