#!/usr/bin/env bash
# The GPU checks of issues 6 and 7 as one command for a lent GPU machine (the `device` tool). That
# machine starts bare and reaches no network: this uses the python3, torch and onnxruntime found there
# and carries only the repository, the serving bundle and the benchmark data (both ignored paths):
#   device run, carry [target/ml100k-bundle, target/device-data]:
#     bash scripts/device-check.sh target/ml100k-bundle target/device-data 520
#   (target/device-data: copies of ../shared/data/ml-100k and ml-1m-part, which do not travel)
# DEVICE=cpu runs every step on a machine without a GPU (a dry run of this script, tiny budgets).
# PARTS (default "latency train") picks the parts after the machine's facts; RUNS picks the trainings:
#   "next" (default): what session 36 left open — ml-1m-part seeds 4 and 5 and ML-100K seed 6, ours and
#     SASRec+SS, to their patience (~2 s an epoch alone on an H200, 110-165 epochs on ml-1m-part; whether
#     six at once end inside one command's 10 minutes is not known yet);
#   "session36": what session 36 ran (BENCHMARKS.md, "Training on an H200").
#
# What it does, in this order, inside BUDGET seconds (device time is short: nothing is retried):
# 1. the machine: GPU, driver, torch, whether ONNX Runtime there has a CUDA provider; the GEMM rates;
# 2. serving latency, alone on the machine (issue 6): the bundle's architecture at history 200, encode
#    at batch 1/8/32 (cross-request batching), score at K = 100..2048, each row against its FLOP
#    bound; torch fp32 and fp16 autocast, eager and replayed as CUDA graphs; ONNX Runtime's CUDA
#    provider when the onnxruntime there has one;
# 3. training on the GPU (issue 7), all at once on the one GPU, one CPU core each: the trainer's CUDA
#    test, and benchmark runs (scripts/bench.sh's command) of ours against SASRec+SS (RUNS). Whatever
#    has not stopped by itself before the budget runs out gets SIGUSR1: it stops, and tests and
#    reports its best epoch so far.
# Results: $OUT/results.tar.gz (logs, metrics JSON, curves, latency JSON) and $OUT/log.
set -uo pipefail
shopt -s nullglob
BUNDLE=${1:-target/ml100k-bundle} DATA=$(realpath "${2:-target/device-data}") BUDGET=${3:-520}
DEVICE=${DEVICE:-cuda} PARTS=${PARTS:-latency train} RUNS=${RUNS:-next}
OUT=${OUT:-/tmp/device-check}
mkdir -p "$OUT/latency" "$OUT/train"
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD/trainer
PY=${PYTHON:-python3}
left() { echo $((BUDGET - SECONDS)); }

machine() {
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv || echo "no nvidia-smi"
  nproc
  $PY - <<'EOF'
import json, torch, onnxruntime as ort
from genrec_trainer.flops import rate_of
print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU")
print("onnxruntime", ort.__version__, ort.get_available_providers())
dev = "cuda" if torch.cuda.is_available() else "cpu"
sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
n, rates = (8192 if dev == "cuda" else 1024), {}
for name, dtype, tf32 in [("fp32", torch.float32, False), ("tf32", torch.float32, True), ("fp16", torch.float16, False),
                          ("bf16", torch.bfloat16, False)]:
    if dev == "cpu" and name != "fp32":
        continue
    torch.backends.cuda.matmul.allow_tf32 = tf32  # random data: a product of zeros runs faster than real work
    a, b = torch.randn(n, n, device=dev).to(dtype), torch.randn(n, n, device=dev).to(dtype)
    rates[name] = round(rate_of(lambda: a @ b, 2.0 * n ** 3, 0.5, sync) / 1e12, 1)
torch.backends.cuda.matmul.allow_tf32 = False
print(f"GEMM TFLOP/s ({n}^3, torch):", json.dumps(rates))
EOF
}

latency() {  # NAME FLAGS...: one variant, alone on the machine
  local name=$1; shift
  echo "== latency $name"
  timeout 90 $PY -m genrec_trainer.latency --bundle "$BUNDLE" --reps "$REPS" --candidates 100,200,500,1000,2048 \
    --out "$OUT/latency/$name.json" "$@" | grep -E '"engine"|"gemm_gflops"' || echo "latency $name failed (see above)"
  [[ -f $OUT/latency/$name.json ]] && $PY - "$OUT/latency/$name.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
for row in r["encode"]:
    print(f"  encode batch {row['batch']:>4}: p50 {row['p50_ms']:8.3f} p99 {row['p99_ms']:8.3f} ms  x{row['x_flop_bound']} FLOP bound")
for row in r["score"]:
    print(f"  score K {row['candidates']:>8}: p50 {row['p50_ms']:8.3f} p99 {row['p99_ms']:8.3f} ms  x{row['x_flop_bound']} FLOP bound")
EOF
}

train_run() {  # DATASET DIR HISTORY PRESET SEED TAG FLAGS...: scripts/bench.sh's command, on $DEVICE
  local dataset=$1 dir=$2 history=$3 preset=$4 seed=$5 tag=$6; shift 6
  local name="$OUT/train/$dataset-$preset-$tag-s$seed"
  # SIGUSR1 50 s before the budget's end: the trainer stops after its step and tests its best epoch so far
  timeout -s USR1 -k 40 $(($(left) - 50)) $PY -u -m genrec_trainer.train --dataset "$dataset" --data-dir "$DATA/$dir" \
    --max-history "$history" --preset "$preset" --seed "$seed" --device "$DEVICE" --threads 1 \
    --no-export --out "$name.bundle" --metrics-out "$name.json" --curves "$name.png" "$@" > "$name.log" 2>&1
}

{
  echo "== machine"; machine
  if [[ $PARTS == *latency* ]]; then
    if [[ $DEVICE == cuda ]]; then
      REPS=300
      latency torch-cuda-fp32 --backend torch --device cuda
      latency torch-cuda-fp16 --backend torch --device cuda --fp16
      latency torch-cuda-fp32-graph --backend torch --device cuda --cuda-graph
      latency torch-cuda-fp16-graph --backend torch --device cuda --fp16 --cuda-graph
      latency onnx-cuda-fp32 --backend onnx --device cuda
    fi
    REPS=$([[ $DEVICE == cuda ]] && echo 100 || echo 3)
    latency onnx-cpu-fp32 --backend onnx --device cpu
  fi
  if [[ $PARTS == *train* ]]; then
    echo "== training ($RUNS), $(left) s left"
    Q=(--recipe quality --exclude-seen --layers 4 --tied-next 4)
    [[ $DEVICE == cpu ]] && Q+=(--epochs 1)
    (cd trainer && timeout $(($(left) - 30)) $PY -m pytest -q -p no:cacheprovider tests/test_train_smoke.py -k cuda \
       > "$OUT/train/pytest-cuda.log" 2>&1) &
    for preset in ours sasrec; do
      if [[ $RUNS == session36 ]]; then
        train_run ml-100k ml-100k 200 "$preset" 1 gpu "${Q[@]}" &
        train_run ml-1m ml-1m-part 200 "$preset" 4 gpu "${Q[@]}" &
        train_run ml-1m ml-1m-part 200 "$preset" 1 gpu-d256 "${Q[@]}" --d-model 256 --heads 4 &
        train_run ml-1m ml-1m-part 200 "$preset" 2 gpu-d256 "${Q[@]}" --d-model 256 --heads 4 &
      else
        train_run ml-1m ml-1m-part 200 "$preset" 4 gpu "${Q[@]}" &
        train_run ml-1m ml-1m-part 200 "$preset" 5 gpu "${Q[@]}" &
        train_run ml-100k ml-100k 200 "$preset" 6 gpu "${Q[@]}" &
      fi
    done
    for ((tick = 1; $(jobs -rp | wc -l) > 0; tick++)); do  # every 30 s, each run's last epoch
      sleep 5; ((tick % 6)) && continue
      echo "-- $(left) s left"; for f in "$OUT"/train/*.log; do echo "$(basename "$f"): $(grep -E '^epoch' "$f" | tail -1 | cut -c1-150)"; done
    done
  fi
  echo "== results"
  [[ -f $OUT/train/pytest-cuda.log ]] && tail -5 "$OUT/train/pytest-cuda.log"
  for f in "$OUT"/train/*.log; do echo "$(basename "$f"): $(grep -E '^test|stopping|Error' "$f" | cut -c1-200 | tr '\n' ' ')"; done
} 2>&1 | tee "$OUT/log"
tar -czf "$OUT/results.tar.gz" --exclude='*.bundle' -C "$OUT" latency train log
rm -rf "$OUT/latency" "$OUT/train"
