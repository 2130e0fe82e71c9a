"""Latency of a bundle's two graphs on this machine: the prepared device check for issue 6
(encode at history 200, score at K up to 2048, p50/p99), runnable on CPU here and on a lent GPU.

    python -m genrec_trainer.latency --bundle DIR [--backend onnx|torch] [--device cpu|cuda] \\
        [--history 200] [--candidates 100,500,1000,2048] [--batches 1,8,32] [--reps 200] [--out F.json]

onnx: the bundle's own graphs under ONNX Runtime (CUDA execution provider when asked for and the
installed build has it; CPU with one intra-op thread, as the plugin runs them), --fp16: its float16
graphs. torch: the same architecture in PyTorch with random weights (latency does not depend on the
weights), fp32 and, on CUDA, fp16 autocast. Encode runs at
each batch size (the plugin's cross-request batching), score at each K against one user's cache.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .export import score_feed
from .model import GenRecModel, ModelConfig


def percentiles(run: Callable[[], object], reps: int, warmup: int, sync: Callable[[], None]) -> dict:
    for _ in range(warmup):
        run()
    sync()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        run()
        sync()
        times.append((time.perf_counter() - start) * 1e3)
    return {"p50_ms": round(float(np.percentile(times, 50)), 4), "p99_ms": round(float(np.percentile(times, 99)), 4),
            "reps": reps}


def random_inputs(manifest: dict, batch: int, history: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    items = manifest["items"]["count"]
    q = manifest["max_query_tokens"]
    return {"history_items": rng.integers(1, items + 1, (batch, history)),
            "history_actions": np.ones((batch, history), dtype=np.int64),
            "history_age_seconds": np.tile(np.arange(history, 0, -1, dtype=np.int64) * 3600, (batch, 1)),
            "history_query_tokens": np.zeros((batch, history, q), dtype=np.int64),
            "query_tokens": np.zeros((batch, q), dtype=np.int64)}


def onnx_runner(bundle: Path, device: str, fp16: bool):
    import onnxruntime as ort
    providers = ["CPUExecutionProvider"]
    if device == "cuda":
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise SystemExit(f"onnxruntime {ort.__version__} has no CUDA provider (pip install onnxruntime-gpu), "
                             "or use --backend torch")
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    suffix = "_fp16" if fp16 else ""  # the bundle's float16 graphs (docs/bundle-format.md)
    encode = ort.InferenceSession(str(bundle / f"encode{suffix}.onnx"), options, providers=providers)
    score = ort.InferenceSession(str(bundle / f"score{suffix}.onnx"), options, providers=providers)

    def run_encode(inputs):
        return encode.run(None, inputs)

    def run_score(cache, candidates):
        return score.run(None, score_feed([c[:1] for c in cache], candidates))  # the first request's cache
    return encode.get_providers()[0] + (" fp16 graphs" if fp16 else ""), run_encode, run_score, lambda: None


def torch_runner(manifest: dict, bundle: Path, device: str, fp16: bool):
    arch = manifest["architecture"]
    vocab = sum(1 for _ in open(bundle / manifest["tokenizer"]["vocab"], encoding="utf-8"))
    cfg = ModelConfig(num_items=manifest["items"]["count"], vocab_size=vocab, num_actions=len(manifest["actions"]),
                      d_model=arch["d_model"], layers=arch["layers"], heads=arch["heads"],
                      embedding_dim=manifest["embedding_dim"], mlp_hidden=arch["mlp_hidden"],
                      block="hstu" if arch["backbone"] == "hstu" else "softmax",
                      time_signal=arch.get("time_signal", "rope"), item_text=arch.get("item_text", True),
                      **{key: arch[key] for key in ("norm", "mlp") if key in arch})  # absent: ModelConfig's default
    model = GenRecModel(cfg, torch.zeros(cfg.num_items + 1, cfg.max_item_tokens, dtype=torch.long)).to(device).eval()
    dev = torch.device(device)

    def run_encode(inputs):
        with torch.no_grad(), torch.autocast(dev.type, dtype=torch.float16, enabled=fp16):
            return model.encode(*(torch.from_numpy(inputs[k]).to(dev) for k in
                                  ("history_items", "history_actions", "history_age_seconds", "history_query_tokens",
                                   "query_tokens")))

    def run_score(cache, candidates):
        with torch.no_grad(), torch.autocast(dev.type, dtype=torch.float16, enabled=fp16):
            return model.score(cache[1][:, :1], cache[2][:, :1], cache[3][:1], torch.from_numpy(candidates).to(dev))
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    return f"torch {torch.__version__} {device}" + (" fp16 autocast" if fp16 else " fp32"), run_encode, run_score, sync


def measure(bundle: Path, backend: str, device: str, history: int, candidates: list[int], batches: list[int],
            reps: int, fp16: bool = False, seed: int = 0) -> dict:
    manifest = json.loads((bundle / "manifest.json").read_text())
    history = min(history, manifest["max_history"])
    rng = np.random.default_rng(seed)
    if backend == "onnx":
        engine, run_encode, run_score, sync = onnx_runner(bundle, device, fp16)
    else:
        engine, run_encode, run_score, sync = torch_runner(manifest, bundle, device, fp16)
    result = {"bundle": str(bundle), "engine": engine, "history": history, "encode": [], "score": []}
    for b in batches:
        inputs = random_inputs(manifest, b, history, rng)
        result["encode"].append({"batch": b, **percentiles(lambda: run_encode(inputs), reps, 5, sync)})
    cache = run_encode(random_inputs(manifest, 1, history, rng))
    for k in candidates:
        cand = rng.integers(1, manifest["items"]["count"] + 1, (1, k))
        result["score"].append({"candidates": k, **percentiles(lambda: run_score(cache, cand), reps, 5, sync)})
    return result


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bundle", required=True)
    p.add_argument("--backend", choices=["onnx", "torch"], default="onnx")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--fp16", action="store_true", help="onnx: the bundle's float16 graphs; torch: fp16 autocast")
    p.add_argument("--history", type=int, default=200)
    p.add_argument("--candidates", default="100,500,1000,2048")
    p.add_argument("--batches", default="1,8,32")
    p.add_argument("--reps", type=int, default=200)
    p.add_argument("--out")
    a = p.parse_args(argv)
    if a.device == "cuda" and a.backend == "torch" and not torch.cuda.is_available():
        raise SystemExit(f"--device cuda: torch {torch.__version__} sees no CUDA device")
    result = measure(Path(a.bundle), a.backend, a.device, a.history, [int(x) for x in a.candidates.split(",")],
                     [int(x) for x in a.batches.split(",")], a.reps, a.fp16)
    text = json.dumps(result, indent=1)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
