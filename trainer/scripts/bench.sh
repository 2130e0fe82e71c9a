#!/usr/bin/env bash
# Benchmarks in one harness: our model vs the SASRec and HSTU baselines (presets of the same
# trainer, same protocol, same budget). Writes build/bench/<dataset>-<preset>-s<seed>.{json,png,log}.
# Usage: scripts/bench.sh DATASET DATA_DIR MAX_HISTORY "PRESETS" "SEEDS" [extra trainer flags...]
#   e.g. scripts/bench.sh ml-100k ../../shared/data/ml-100k 200 "ours sasrec hstu" "1"
# BENCH_TAG=x names the files <dataset>-<preset>-x-s<seed>.* (a recipe variant; no overwriting).
# BENCH_SCORES=1 also writes <name>.scores.npz (--scores-out: every validation and test request's catalogue scores,
# users x items floats, so kept opt-in; scripts/burst_prior.py reads them).
# Each run checkpoints to <name>.ckpt: the same command after a stop (kill -USR1) resumes it, and for a
# finished run only tests again; delete the .ckpt to start over.
set -euo pipefail
TRAINER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATASET=$1 DATA_DIR=$(cd "$2" && pwd) MAX_HISTORY=$3 PRESETS=$4 SEEDS=$5
shift 5
"$TRAINER_DIR/scripts/ensure_venv.sh"
cd "$TRAINER_DIR"
mkdir -p build/bench
for seed in $SEEDS; do
  for preset in $PRESETS; do
    name="build/bench/$DATASET-$preset${BENCH_TAG:+-$BENCH_TAG}-s$seed"
    echo "== $name"
    [ -e "$name.ckpt" ] || : > "$name.log"  # a resumed run appends to its log, a fresh one starts it
    /usr/bin/time -f "wall %e s" nice -n 10 .venv/bin/python -u -m genrec_trainer.train --dataset "$DATASET" \
      --data-dir "$DATA_DIR" --max-history "$MAX_HISTORY" --preset "$preset" --seed "$seed" \
      --no-export --out "$name.bundle" --metrics-out "$name.json" --ranks-out "$name.ranks.jsonl" --curves "$name.png" --checkpoint "$name.ckpt" \
      ${BENCH_SCORES:+--scores-out "$name.scores.npz"} "$@" 2>&1 | tee -a "$name.log"
  done
done
