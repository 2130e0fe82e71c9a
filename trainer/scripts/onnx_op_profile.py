"""Where a score call's time goes, per ONNX operator type (BENCHMARKS.md, "Model time per score call").

Runs a bundle's score graph in ONNX Runtime as the Java runtime configures it (all graph
optimizations, one intra-op thread, no spinning) for K candidates over a full history cache, with
ONNX Runtime's profiler on, and prints the mean wall time per call and the kernel time per
operator type. The profiler adds a few microseconds per kernel, so the kernel total is above the
unprofiled mean; read the shares, not the absolute sum.

    .venv/bin/python scripts/onnx_op_profile.py BUNDLE_DIR [K ...]
    .venv/bin/python scripts/onnx_op_profile.py --encode BUNDLE_DIR [N ...]   # the encode graph, history N
"""
from __future__ import annotations

import collections
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere
from genrec_trainer.encoding import encode_graph_feed  # noqa: E402
from genrec_trainer.export import score_feed  # noqa: E402

CALLS = 200


def runtime_options() -> ort.SessionOptions:
    """The session options the Java runtime sets (OnnxGraph.options): all graph optimizations, one intra-op thread,
    no spinning."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return so


def session(graph: Path | bytes, profile_prefix: str | None,
            options: ort.SessionOptions | None = None) -> ort.InferenceSession:
    """graph: a file, or a serialized model; options: the runtime's unless given."""
    so = options or runtime_options()
    if profile_prefix:
        so.enable_profiling = True
        so.profile_file_prefix = profile_prefix
    return ort.InferenceSession(graph if isinstance(graph, bytes) else str(graph), so, providers=["CPUExecutionProvider"])


def catalogue_size(bundle: Path) -> int:
    """The bundle's item count (rows of items.jsonl; model item indices run 1..count)."""
    return sum(1 for _ in (bundle / "items.jsonl").open())


def feed(bundle: Path, k: int) -> dict[str, np.ndarray]:
    """A full history's cache (random, every slot visible) in the score graph's layout, and K random items."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    layers, heads, dh = (manifest["architecture"][key] for key in ("layers", "heads", "head_dim"))
    slots = manifest["max_history"] + 2   # the history, the context token and the own-key slot
    rng = np.random.default_rng(0)
    keys = rng.standard_normal((layers, 1, heads, slots, dh + 2), np.float32)
    keys[..., -1] = 0.0                   # the mask column: nothing hidden
    keys[..., -2] = 0.0                   # the own-key column: 1 in the own slot only
    keys[..., -1, -2] = 1.0
    values = rng.standard_normal((layers, 1, heads, slots, dh), np.float32)
    values[..., -1, :] = 0.0
    encoded = [None, *keys, *values, None]
    return score_feed(encoded, rng.integers(1, catalogue_size(bundle) + 1, (1, k), dtype=np.int64))


def encode_feed(bundle: Path, n: int) -> dict[str, np.ndarray]:
    """One request with n history events of the bundle's catalogue (distinct ages, no queries)."""
    rng = np.random.default_rng(0)
    inputs = {"history_items": rng.integers(1, catalogue_size(bundle) + 1, (1, n)), "history_actions": np.ones((1, n), np.int64),
              "history_age_seconds": np.sort(rng.integers(0, 10**7, (1, n)))[:, ::-1].copy(),
              "history_query_tokens": np.zeros((1, n, 8), np.int64), "query_tokens": np.zeros((1, 8), np.int64)}
    return encode_graph_feed(json.loads((bundle / "manifest.json").read_text()), inputs)


def main(bundle: Path, sizes: list[int], graph_name: str = "score") -> None:
    graph = bundle / f"{graph_name}.onnx"
    for k in sizes:
        inputs = feed(bundle, k) if graph_name == "score" else encode_feed(bundle, k)
        plain = session(graph, None)
        for _ in range(20):
            plain.run(None, inputs)
        start = time.perf_counter()
        for _ in range(CALLS):
            plain.run(None, inputs)
        mean_ms = (time.perf_counter() - start) / CALLS * 1e3

        profiled = session(graph, str(Path(tempfile.mkdtemp()) / "ort"))
        for _ in range(CALLS):
            profiled.run(None, inputs)
        events = json.loads(Path(profiled.end_profiling()).read_text())
        micros, kernels = collections.Counter(), set()
        for e in events:
            if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
                micros[e["args"]["op_name"]] += e["dur"]
                kernels.add(e["name"])
        total = sum(micros.values())
        print(f"{'K' if graph_name == 'score' else 'history'}={k}: {mean_ms:.3f} ms per call unprofiled; {len(kernels)} kernels per call, "
              f"{total / CALLS:.0f} us of kernel time per call profiled")
        for op, us in micros.most_common(12):
            print(f"  {op:30s} {us / CALLS:8.1f} us  {100 * us / total:5.1f} %")


if __name__ == "__main__":
    if sys.argv[1] == "--encode":
        main(Path(sys.argv[2]), [int(n) for n in sys.argv[3:]] or [200], "encode")
    else:
        main(Path(sys.argv[1]), [int(k) for k in sys.argv[2:]] or [100, 2048])
