"""Latency of a bundle's two graphs on this machine: the prepared device check for issue 6
(encode at history 200, score at K up to 2048, p50/p99), runnable on CPU here and on a lent GPU.

    python -m genrec_trainer.latency --bundle DIR [--backend onnx|torch] [--device cpu|cuda] [--fp16] \\
        [--cuda-graph] [--history 200] [--candidates 100,500,1000,2048] [--batches 1,8,32] [--reps 200] [--out F.json]

onnx: the bundle's own graphs under ONNX Runtime (CUDA execution provider when asked for and the
installed build has it; CPU with one intra-op thread, as the plugin runs them), --fp16: its float16
graphs. torch: the same architecture in PyTorch with random weights (latency does not depend on the
weights), fp32 and, on CUDA, fp16 autocast; --cuda-graph replays each shape's calls as one captured CUDA
graph, which removes the per-kernel launch cost that dominates a d-64 model on a GPU (what ONNX Runtime's
`enable_cuda_graph` option would do). Encode runs at each batch size (the plugin's cross-request batching),
score at each K against one user's cache.

Every row also carries the call's matrix FLOPs (counted by torch's FlopCounterMode on the same architecture)
and `x_flop_bound`: p50 over the time those FLOPs take at the device's measured GEMM rate in the row's
precision (issue 6's yardstick: <= 2 on the CPU for K >= 100).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .encoding import encode_graph_feed
from .export import HISTORY_ITEM_TOKENS, score_feed
from .flops import flop_counter, rate_of, square_matmul_rate
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
    inputs = {"history_items": rng.integers(1, items + 1, (batch, history)),
              "history_actions": np.ones((batch, history), dtype=np.int64),
              "history_age_seconds": np.tile(np.arange(history, 0, -1, dtype=np.int64) * 3600, (batch, 1)),
              "history_query_tokens": np.zeros((batch, history, q), dtype=np.int64),
              "query_tokens": np.zeros((batch, q), dtype=np.int64)}
    if HISTORY_ITEM_TOKENS in manifest["graphs"]["encode"]["inputs"]:  # no new item in the history, as most requests
        inputs[HISTORY_ITEM_TOKENS] = np.zeros((batch, history, 1), dtype=np.int64)
    return inputs | encode_graph_feed(manifest, inputs)  # the model's inputs and the graph's (the rotary rows)


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

    names = [i.name for i in encode.get_inputs()]

    def run_encode(inputs):
        return encode.run(None, {name: inputs[name] for name in names})

    def run_score(cache, candidates):
        return score.run(None, score_feed([c[:1] for c in cache], candidates))  # the first request's cache
    return encode.get_providers()[0] + (" fp16 graphs" if fp16 else ""), run_encode, run_score, lambda: None


def torch_model(manifest: dict, bundle: Path) -> GenRecModel:
    """The bundle's architecture in PyTorch, random weights (latency and FLOPs do not depend on them)."""
    arch = manifest["architecture"]
    vocab = sum(1 for _ in open(bundle / manifest["tokenizer"]["vocab"], encoding="utf-8"))
    cfg = ModelConfig(num_items=manifest["items"]["count"], vocab_size=vocab, num_actions=len(manifest["actions"]),
                      d_model=arch["d_model"], layers=arch["layers"], heads=arch["heads"],
                      embedding_dim=manifest["embedding_dim"], mlp_hidden=arch["mlp_hidden"],
                      block="hstu" if arch["backbone"] == "hstu" else "softmax",
                      time_signal=arch.get("time_signal", "rope"), item_text=arch.get("item_text", True),
                      **{key: arch[key] for key in ("norm", "mlp", "readout") if key in arch})  # absent: the default
    return GenRecModel(cfg, torch.zeros(cfg.num_items + 1, cfg.max_item_tokens, dtype=torch.long)).eval()


ENCODE_INPUTS = ("history_items", "history_actions", "history_age_seconds", "history_query_tokens", "query_tokens")


class GraphedCalls:
    """Each distinct input (by identity) is captured once as a CUDA graph; a call then copies the host inputs
    into the graph's static tensors and replays it: the same GPU work, one launch instead of one per kernel."""

    def __init__(self, dev: torch.device):
        self.dev, self.graphs = dev, {}

    def __call__(self, key: object, host: list[torch.Tensor], fn: Callable):
        entry = self.graphs.get(id(key))
        if entry is None:
            static = [t.to(self.dev) for t in host]
            side = torch.cuda.Stream()  # warm-up off the default stream, as torch.cuda.graphs asks
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(3):
                    fn(*static)
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                out = fn(*static)
            entry = self.graphs[id(key)] = (key, static, graph, out)  # key kept alive: its id stays unique
        _, static, graph, out = entry
        for target, source in zip(static, host):
            target.copy_(source)
        graph.replay()
        return out


def torch_runner(manifest: dict, bundle: Path, device: str, fp16: bool, cuda_graph: bool = False):
    dev = torch.device(device)
    served = ServedCalls(torch_model(manifest, bundle).to(dev))

    def precision():  # autocast's cache of cast weights cannot live across a graph capture (torch.cuda.graphs)
        return torch.autocast(dev.type, dtype=torch.float16, enabled=fp16, cache_enabled=not cuda_graph)

    def encode(*tensors):
        with torch.no_grad(), precision():
            return served.encode(*tensors)

    def scorer(cache):
        def score(candidates):
            with torch.no_grad(), precision():
                return served.score(cache, candidates)
        return score

    if cuda_graph:
        graphed = GraphedCalls(dev)

        def run_encode(inputs):
            return graphed(inputs, [torch.from_numpy(inputs[k]) for k in ENCODE_INPUTS], encode)

        def run_score(cache, candidates):
            return graphed(candidates, [torch.from_numpy(candidates)], scorer(cache))
    else:
        def run_encode(inputs):
            return encode(*(torch.from_numpy(inputs[k]).to(dev) for k in ENCODE_INPUTS))

        def run_score(cache, candidates):
            return scorer(cache)(torch.from_numpy(candidates).to(dev))
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    engine = (f"torch {torch.__version__} {device}" + (" fp16 autocast" if fp16 else " fp32")
              + (" cuda graph" if cuda_graph else ""))
    return engine, run_encode, run_score, sync


class ServedCalls:
    """The model's calls as the exported graphs make them: encode_served/score_served, with the item and
    candidate tables as constants (not recomputed per call)."""

    def __init__(self, model: GenRecModel):
        self.model, self.layers = model, model.cfg.layers
        with torch.no_grad():
            self.items, self.candidate_rows = model.item_table(), model.candidate_table()

    def encode(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.model.encode_served(*tensors, item_table=self.items)  # embedding, L keys, L values, mask

    def score(self, cache: tuple[torch.Tensor, ...], candidates: torch.Tensor) -> torch.Tensor:
        """candidates [1, K] against the first user's cache."""
        keys, values = cache[1:1 + self.layers], cache[1 + self.layers:1 + 2 * self.layers]
        return self.model.score_served([k[:1] for k in keys], [v[:1] for v in values], candidates, self.candidate_rows)


def gemm_rate(backend: str, device: str, fp16: bool) -> float:
    """FLOP/s of one square matrix product in the rows' engine and precision: the yardstick of x_flop_bound.
    onnx on CPU: one MatMul under ONNX Runtime with one intra-op thread, as the graphs run (the Java runtime's
    GemmProbe does the same); torch: torch's own product (TF32 off, torch's default) on one CPU thread or the GPU."""
    dev = torch.device(device)
    size = 4096 if dev.type == "cuda" else 1024
    if backend == "onnx" and dev.type == "cpu":
        return rate_of(onnx_matmul(size), 2.0 * size ** 3, 0.5, lambda: None)
    dtype = torch.float16 if fp16 and dev.type == "cuda" else torch.float32  # no fast float16 products on a CPU
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return square_matmul_rate(str(dev), 1, size, 0.5, dtype)
    finally:
        torch.set_num_threads(threads)


def onnx_matmul(size: int) -> Callable[[], object]:
    import onnxruntime as ort
    from onnx import TensorProto, helper
    graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "matmul",
                              [helper.make_tensor_value_info(n, TensorProto.FLOAT, [size, size]) for n in "ab"],
                              [helper.make_tensor_value_info("c", TensorProto.FLOAT, [size, size])])
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)  # old enough for any ORT
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    feed = {"a": np.full((size, size), 0.5, np.float32), "b": np.full((size, size), 0.25, np.float32)}
    return lambda: session.run(None, feed)


class CallFlops:
    """Matrix FLOPs of one encode or score call at a shape, as the exported graphs make it, counted on the
    architecture in PyTorch on CPU."""

    def __init__(self, manifest: dict, bundle: Path):
        self.served = ServedCalls(torch_model(manifest, bundle))

    @staticmethod
    def _count(call: Callable) -> int:
        with torch.no_grad(), flop_counter() as counter:
            call()
        return counter.get_total_flops()

    def _encode(self, inputs: dict[str, np.ndarray]):
        return self.served.encode(*(torch.from_numpy(inputs[k]) for k in ENCODE_INPUTS))

    def encode(self, inputs: dict[str, np.ndarray]) -> int:
        return self._count(lambda: self._encode(inputs))

    def score(self, inputs: dict[str, np.ndarray], candidates: np.ndarray) -> int:
        with torch.no_grad():
            cache = self._encode(inputs)
        return self._count(lambda: self.served.score(cache, torch.from_numpy(candidates)))


def against_flops(row: dict, flops: int, rate: float) -> dict:
    return {**row, "flops": flops, "x_flop_bound": round(row["p50_ms"] / (flops / rate * 1e3), 2)}


def measure(bundle: Path, backend: str, device: str, history: int, candidates: list[int], batches: list[int],
            reps: int, fp16: bool = False, seed: int = 0, cuda_graph: bool = False) -> dict:
    manifest = json.loads((bundle / "manifest.json").read_text())
    history = min(history, manifest["max_history"])
    rng = np.random.default_rng(seed)
    if backend == "onnx":
        engine, run_encode, run_score, sync = onnx_runner(bundle, device, fp16)
    else:
        engine, run_encode, run_score, sync = torch_runner(manifest, bundle, device, fp16, cuda_graph)
    rate, flops = gemm_rate(backend, device, fp16), CallFlops(manifest, bundle)
    result = {"bundle": str(bundle), "engine": engine, "history": history, "gemm_gflops": round(rate / 1e9, 1),
              "encode": [], "score": []}
    for b in batches:
        inputs = random_inputs(manifest, b, history, rng)
        row = {"batch": b, **percentiles(lambda: run_encode(inputs), reps, 5, sync)}
        result["encode"].append(against_flops(row, flops.encode(inputs), rate))
    one_user = random_inputs(manifest, 1, history, rng)
    cache = run_encode(one_user)
    for k in candidates:
        cand = rng.integers(1, manifest["items"]["count"] + 1, (1, k))
        row = {"candidates": k, **percentiles(lambda: run_score(cache, cand), reps, 5, sync)}
        result["score"].append(against_flops(row, flops.score(one_user, cand), rate))
    return result


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bundle", required=True)
    p.add_argument("--backend", choices=["onnx", "torch"], default="onnx")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--fp16", action="store_true", help="onnx: the bundle's float16 graphs; torch: fp16 autocast")
    p.add_argument("--cuda-graph", action="store_true", help="torch on cuda: replay each shape as a captured CUDA graph")
    p.add_argument("--history", type=int, default=200)
    p.add_argument("--candidates", default="100,500,1000,2048")
    p.add_argument("--batches", default="1,8,32")
    p.add_argument("--reps", type=int, default=200)
    p.add_argument("--out")
    a = p.parse_args(argv)
    if a.device == "cuda" and a.backend == "torch" and not torch.cuda.is_available():
        raise SystemExit(f"--device cuda: torch {torch.__version__} sees no CUDA device")
    if a.cuda_graph and (a.backend, a.device) != ("torch", "cuda"):
        raise SystemExit("--cuda-graph needs --backend torch --device cuda")
    result = measure(Path(a.bundle), a.backend, a.device, a.history, [int(x) for x in a.candidates.split(",")],
                     [int(x) for x in a.batches.split(",")], a.reps, a.fp16, cuda_graph=a.cuda_graph)
    text = json.dumps(result, indent=1)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
