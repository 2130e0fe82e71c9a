"""The encode graph under ONNX Runtime session options other than the Java runtime's, each alternated with the
runtime's own settings in one process (BENCHMARKS.md, "Session 49: end to end on the current graphs").

The runtime's settings (OnnxGraph.options): all graph optimizations, one intra-op thread, no spinning. Each variant
changes one thing: memory patterns off, the CPU arena off, denormals flushed to zero, or the "extended" optimization
level instead of "all". Printed: each variant's ms per call (score_graph_ab.alternated: median of 15 rounds of 20
calls, the order reversed every other round) and its ratio to the runtime's settings.

    .venv/bin/python scripts/encode_session_options_ab.py BUNDLE [N ...]    # history lengths, 10 50 100 200 by default
"""
from __future__ import annotations

import sys
from pathlib import Path

import onnxruntime as ort

from onnx_op_profile import encode_feed, runtime_options, session
from score_graph_ab import alternated

VARIANTS = ("runtime", "memory pattern off", "cpu arena off", "denormals as zero", "extended optimizations")


def options(variant: str) -> ort.SessionOptions:
    """The runtime's session options with the one change `variant` names."""
    so = runtime_options()
    if variant == "memory pattern off":
        so.enable_mem_pattern = False
    elif variant == "cpu arena off":
        so.enable_cpu_mem_arena = False
    elif variant == "denormals as zero":
        so.add_session_config_entry("session.set_denormal_as_zero", "1")
    elif variant == "extended optimizations":
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    return so


def main(bundle: Path, sizes: list[int]) -> None:
    sessions = [session(bundle / "encode.onnx", None, options(v)) for v in VARIANTS]
    print("N      " + "   ".join(f"{v:>22s}" for v in VARIANTS))
    for n in sizes:
        feed = encode_feed(bundle, n)
        ms = alternated(sessions, [feed] * len(sessions))
        print(f"{n:<6d} " + "   ".join(f"{t:8.3f} ms ({t / ms[0]:.3f})" for t in ms), flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), [int(n) for n in sys.argv[2:]] or [10, 50, 100, 200])
