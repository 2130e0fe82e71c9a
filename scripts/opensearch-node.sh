#!/usr/bin/env bash
# A local single-node OpenSearch with the genrec plugin, for the demo and the end-to-end test.
#
#   opensearch-node.sh install DIST_ZIP PLUGIN_ZIP NODE_DIR     unpack the distribution, install the plugin
#   opensearch-node.sh add-model NODE_DIR NAME BUNDLE_DIR        copy a bundle to NODE_DIR/config/genrec/NAME
#   opensearch-node.sh start NODE_DIR HTTP_PORT [TRANSPORT_PORT] start bound to 127.0.0.1, wait until it answers
#   opensearch-node.sh stop NODE_DIR                             stop it by its PID file
#
# A multi-node local cluster (one process per node dir): start every node with GENREC_CLUSTER_SEED
# set to HOST:TRANSPORT_PORT of the first one. That node bootstraps the cluster; the others join it
# as data nodes. Nodes are then named genrec-node-HTTP_PORT (for allocation filters); alone, genrec-node.
#
# OpenSearch refuses to run as root. When this script runs as root it runs the node as the user
# $GENREC_NODE_USER (default: genrec, created if missing) and hands NODE_DIR to that user.
# The JDK is $OPENSEARCH_JAVA_HOME, else Temurin 25 where it exists, else $JAVA_HOME.
set -euo pipefail

die() { echo "opensearch-node: $*" >&2; exit 1; }

java_home() {
  if [[ -n "${OPENSEARCH_JAVA_HOME:-}" ]]; then echo "$OPENSEARCH_JAVA_HOME"
  elif [[ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]]; then echo /usr/lib/jvm/temurin-25-jdk-amd64
  elif [[ -n "${JAVA_HOME:-}" ]]; then echo "$JAVA_HOME"
  else die "set OPENSEARCH_JAVA_HOME to a JDK 21+"; fi
}

node_user() { echo "${GENREC_NODE_USER:-genrec}"; }

# Runs a command as the node's user (as is, when not root).
as_node_user() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u "$(node_user)" -- "$@"; else "$@"; fi
}

hand_over() {
  local dir=$1
  if [[ $(id -u) -eq 0 ]]; then
    id -u "$(node_user)" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$(node_user)"
    chown -R "$(node_user)" "$dir"
  fi
}

cmd_install() {
  local dist=$1 plugin=$2 dir=$3
  [[ -f $dist ]] || die "distribution zip $dist not found"
  [[ -f $plugin ]] || die "plugin zip $plugin not found"
  rm -rf "$dir"; mkdir -p "$dir"
  local tmp; tmp=$(mktemp -d)
  unzip -q "$dist" -d "$tmp"
  mv "$tmp"/opensearch-*/* "$dir"/; rm -rf "$tmp"
  OPENSEARCH_JAVA_HOME=$(java_home) "$dir/bin/opensearch-plugin" install --batch "file://$(realpath "$plugin")"
  mkdir -p "$dir/config/genrec"
  hand_over "$dir"
}

cmd_add_model() {
  local dir=$1 name=$2 bundle=$3
  [[ -f $bundle/manifest.json ]] || die "$bundle is not a model bundle (no manifest.json)"
  rm -rf "$dir/config/genrec/$name"; mkdir -p "$dir/config/genrec/$name"
  cp -r "$bundle"/. "$dir/config/genrec/$name"/
  hand_over "$dir/config/genrec"
}

cmd_start() {
  local dir=$1 http=$2 transport=${3:-$(( $2 + 100 ))}
  [[ -x $dir/bin/opensearch ]] || die "$dir has no OpenSearch; run install first"
  local name=genrec-node discovery="discovery.type: single-node"
  if [[ -n ${GENREC_CLUSTER_SEED:-} ]]; then
    name=genrec-node-$http
    discovery="discovery.seed_hosts: [\"$GENREC_CLUSTER_SEED\"]"
    if [[ $GENREC_CLUSTER_SEED == "127.0.0.1:$transport" ]]; then
      discovery+=$'\n'"cluster.initial_cluster_manager_nodes: [\"$name\"]"
    else
      discovery+=$'\n'"node.roles: [data, ingest]"
    fi
  fi
  cat > "$dir/config/opensearch.yml" <<YML
cluster.name: genrec-local
node.name: $name
network.host: 127.0.0.1
http.port: $http
transport.port: $transport
$discovery
YML
  # The node's temp files (ONNX Runtime's native library among them) inside its directory: by default OpenSearch makes a
  # new /tmp/opensearch-* per start and never removes it.
  mkdir -p "$dir/tmp"
  hand_over "$dir"
  rm -f "$dir/opensearch.pid"
  as_node_user env OPENSEARCH_JAVA_HOME="$(java_home)" OPENSEARCH_JAVA_OPTS="${OPENSEARCH_JAVA_OPTS:--Xms512m -Xmx512m}" \
    OPENSEARCH_TMPDIR="$dir/tmp" "$dir/bin/opensearch" -d -p "$dir/opensearch.pid" >"$dir/logs/console.log" 2>&1
  for _ in $(seq 1 180); do
    if curl -fs "http://127.0.0.1:$http/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1; then
      echo "OpenSearch is up on http://127.0.0.1:$http (pid $(cat "$dir/opensearch.pid"))"
      return 0
    fi
    if [[ -f $dir/opensearch.pid ]] && ! kill -0 "$(cat "$dir/opensearch.pid")" 2>/dev/null; then break; fi
    sleep 1
  done
  tail -n 40 "$dir"/logs/*.log >&2 || true
  cmd_stop "$dir" || true
  die "OpenSearch did not come up on port $http"
}

cmd_stop() {
  local dir=$1 pidfile=$1/opensearch.pid
  [[ -f $pidfile ]] || { echo "no PID file in $dir: nothing to stop"; return 0; }
  local pid; pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
  echo "OpenSearch (pid $pid) stopped"
}

case "${1:-}" in
  install) shift; [[ $# -eq 3 ]] || die "usage: install DIST_ZIP PLUGIN_ZIP NODE_DIR"; cmd_install "$@" ;;
  add-model) shift; [[ $# -eq 3 ]] || die "usage: add-model NODE_DIR NAME BUNDLE_DIR"; cmd_add_model "$@" ;;
  start) shift; [[ $# -ge 2 ]] || die "usage: start NODE_DIR HTTP_PORT [TRANSPORT_PORT]"; cmd_start "$@" ;;
  stop) shift; [[ $# -eq 1 ]] || die "usage: stop NODE_DIR"; cmd_stop "$@" ;;
  *) die "usage: $0 install|add-model|start|stop ..." ;;
esac
