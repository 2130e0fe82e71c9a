#!/usr/bin/env bash
# Every test of the project, on a machine with Python 3.11, Maven and a JDK 21+ (no GPU needed):
#   1. trainer unit tests (pytest)
#   2. the fixture models: the small synthetic model trained into target/fixture-bundle, and a shorter-trained one that
#      also reads the request's date (--absolute-time) and counts co-occurrence a few events apart instead of in one
#      second (--co-occurrence-span) into target/fixture-bundle-absolute-time
#   3. Java: model-runtime unit tests (golden vectors), plugin tests, and the end-to-end test
#      against a real OpenSearch 3.6.0 node (mvn verify)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

if [[ -z "${JAVA_HOME:-}" && -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]]; then
  export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
fi

echo "== trainer: pytest"
trainer/scripts/ensure_venv.sh
(cd trainer && .venv/bin/python -m pytest)   # -q comes from pytest.ini; the summary line stays

echo "== trainer: fixture model -> target/fixture-bundle"
trainer/scripts/make_fixture_bundle.sh "$ROOT/target/fixture-bundle"
echo "== trainer: fixture model reading the request's date and its last events' co-occurrence -> target/fixture-bundle-absolute-time"
trainer/scripts/make_fixture_bundle.sh "$ROOT/target/fixture-bundle-absolute-time" --epochs 2 --absolute-time 7 --co-occurrence-span 3

echo "== java: mvn verify"
mvn -B -ntp verify -Dgenrec.test.bundle="$ROOT/target/fixture-bundle" \
  -Dgenrec.test.absolute-time-bundle="$ROOT/target/fixture-bundle-absolute-time"
