#!/usr/bin/env bash
# The GPU checks of issue 6, prepared as one command for a lent GPU machine (the `device` tool),
# which starts bare and reaches no network: it uses the Python and torch found there and carries
# nothing but the repository and the bundle named below (carry target/ml100k-bundle).
#   device run: bash scripts/device-check.sh target/ml100k-bundle      (writes $OUT/*.json, $OUT/log)
# What it measures: both graphs' p50/p99 at history 200, encode at batch 1/8/32 (cross-request
# batching), score at K = 100..2048, with torch on CUDA in fp32 and fp16 autocast, and with ONNX
# Runtime's CUDA provider (the bundle's fp32 and fp16 graphs) when the Python there has
# onnxruntime-gpu; then the trainer's CUDA test.
set -uo pipefail
BUNDLE=${1:-target/ml100k-bundle}
OUT=${OUT:-/tmp/device-check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD/trainer
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))"
  for precision in fp32 fp16; do
    flag=$([[ $precision == fp16 ]] && echo --fp16)
    python3 -m genrec_trainer.latency --bundle "$BUNDLE" --backend torch --device cuda $flag --reps 500 \
      --out "$OUT/latency-torch-cuda-$precision.json" | tail -3
  done
  for precision in fp32 fp16; do  # the bundle's float32 and float16 graphs (what genrec.precision picks)
    flag=$([[ $precision == fp16 ]] && echo --fp16)
    python3 -m genrec_trainer.latency --bundle "$BUNDLE" --backend onnx --device cuda $flag --reps 500 \
      --out "$OUT/latency-onnx-cuda-$precision.json" | tail -3 || echo "no ONNX Runtime CUDA provider here"
  done
  python3 -m genrec_trainer.latency --bundle "$BUNDLE" --backend onnx --device cpu --reps 200 \
    --out "$OUT/latency-onnx-cpu.json" | tail -3 || echo "no onnxruntime here"
  (cd trainer && python3 -m pytest -q tests/test_train_smoke.py -k cuda) || echo "CUDA training test failed or could not run"
} 2>&1 | tee "$OUT/log"
