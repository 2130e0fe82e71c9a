#!/usr/bin/env bash
# Creates trainer/.venv with trainer/requirements.txt unless it is already there.
# On machines with a local wheel store (/opt/pypi/simple) pip is pointed at it, so it does not
# retry an unreachable public index; elsewhere pip uses its default index.
set -euo pipefail
TRAINER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$TRAINER_DIR/.venv"
STAMP="$VENV/.requirements-installed"
if [[ -f $STAMP ]] && cmp -s "$STAMP" "$TRAINER_DIR/requirements.txt"; then
  exit 0
fi
"${PYTHON:-python3}" -m venv "$VENV"
PIP_FLAGS=()
if [[ -d /opt/pypi/simple ]]; then
  PIP_FLAGS=(--index-url file:///opt/pypi/simple)
  [[ -d /opt/pypi-more/simple ]] && PIP_FLAGS+=(--extra-index-url file:///opt/pypi-more/simple)
fi
"$VENV/bin/pip" install -q "${PIP_FLAGS[@]}" -r "$TRAINER_DIR/requirements.txt"
cp "$TRAINER_DIR/requirements.txt" "$STAMP"
