"""The encode graph under ONNX Runtime session options other than the Java runtime's, each alternated with the
runtime's own settings in one process (BENCHMARKS.md, "Session 49: end to end on the current graphs").

The runtime's settings (OnnxGraph.options): all graph optimizations, one intra-op thread, no spinning. Each variant
changes one thing: memory patterns off, the CPU arena off, denormals flushed to zero, or the "extended" optimization
level instead of "all". Printed: each variant's ms per call (median of ROUNDS rounds of 20 calls, the order reversed
every other round) and its ratio to the runtime's settings.

    .venv/bin/python scripts/encode_session_options_ab.py BUNDLE [N ...]    # history lengths, 10 50 100 200 by default
"""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

import onnxruntime as ort

from onnx_op_profile import encode_feed
from score_graph_ab import mean_call_ms

ROUNDS = 15
VARIANTS = ("runtime", "memory pattern off", "cpu arena off", "denormals as zero", "extended optimizations")


def session(bundle: Path, variant: str) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if variant == "memory pattern off":
        so.enable_mem_pattern = False
    elif variant == "cpu arena off":
        so.enable_cpu_mem_arena = False
    elif variant == "denormals as zero":
        so.add_session_config_entry("session.set_denormal_as_zero", "1")
    elif variant == "extended optimizations":
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    return ort.InferenceSession(str(bundle / "encode.onnx"), so, providers=["CPUExecutionProvider"])


def main(bundle: Path, sizes: list[int]) -> None:
    sessions = {v: session(bundle, v) for v in VARIANTS}
    print("N      " + "   ".join(f"{v:>22s}" for v in VARIANTS))
    for n in sizes:
        feed = encode_feed(bundle, n)
        for s in sessions.values():
            mean_call_ms(s, feed)                                            # warm-up
        rounds = {v: [] for v in VARIANTS}
        for r in range(ROUNDS):
            for v in VARIANTS if r % 2 == 0 else reversed(VARIANTS):
                rounds[v].append(mean_call_ms(sessions[v], feed))
        ms = {v: statistics.median(t) for v, t in rounds.items()}
        print(f"{n:<6d} " + "   ".join(f"{ms[v]:8.3f} ms ({ms[v] / ms['runtime']:.3f})" for v in VARIANTS), flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), [int(n) for n in sys.argv[2:]] or [10, 50, 100, 200])
