#!/usr/bin/env bash
# Train the small synthetic model into OUT_DIR, deterministically (the Java tests and the demo use it). Trained with
# --item-id-dropout so that its bundle reads items added after training in a history too (history_item_tokens).
# Usage: trainer/scripts/make_fixture_bundle.sh OUT_DIR [TRAIN_ARGS...]
# TRAIN_ARGS are added to the train command (a later flag wins): scripts/test.sh trains a second, shorter fixture with
# --absolute-time, whose bundle also takes the request's date (request_time).
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 OUT_DIR [TRAIN_ARGS...]" >&2
  exit 2
fi
OUT_DIR=$1
shift
TRAINER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$TRAINER_DIR/scripts/ensure_venv.sh"

cd "$TRAINER_DIR"
exec "$TRAINER_DIR/.venv/bin/python" -m genrec_trainer.train --dataset synthetic --out "$OUT_DIR" \
  --epochs 8 --seed 7 --model-id synthetic --item-id-dropout 0.3 --co-occurrence 50 "$@"
