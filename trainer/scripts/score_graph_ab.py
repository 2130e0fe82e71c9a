"""Two bundles' score graphs timed against each other in one process, alternating (BENCHMARKS.md,
"The score graph reshaped").

On a shared 2-vCPU VM two sequential timings of the same graph differ by more than the changes
being measured, so the graphs take turns: ROUNDS rounds of CALLS calls each, order A B then B A, and
each graph's figure is the median over its rounds of the mean call time. Sessions are configured
as the Java runtime configures them (scripts/onnx_op_profile.py), inputs as there: a full history
cache, K random catalogue items.

    .venv/bin/python scripts/score_graph_ab.py [--rounds R] BUNDLE_A BUNDLE_B [K ...]
    .venv/bin/python scripts/score_graph_ab.py [--rounds R] --encode BUNDLE_A BUNDLE_B [N ...]   # the encode graphs, history N

(--rounds: more rounds for differences of a few percent; 15 by default.)
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from onnx_op_profile import encode_feed, feed, session

ROUNDS, CALLS = 15, 20


def mean_call_ms(sess, inputs, calls: int = CALLS) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        sess.run(None, inputs)
    return (time.perf_counter() - start) / calls * 1e3


def main(bundles: list[Path], sizes: list[int], graph: str) -> None:
    sessions = [session(b / f"{graph}.onnx", None) for b in bundles]
    print(("K      " if graph == "score" else "N      ") + "   ".join(f"{b.name:>24s}" for b in bundles) + "   B / A")
    for k in sizes:
        a, b = alternated(sessions, [feed(b, k) if graph == "score" else encode_feed(b, k) for b in bundles])
        print(f"{k:<6d} {a:21.3f} ms {b:21.3f} ms   {b / a:.3f}")


def alternated(sessions: list, inputs: list[dict]) -> list[float]:
    """Each session's ms per call, the median over ROUNDS rounds of CALLS calls, in order then in reverse order."""
    for s, x in zip(sessions, inputs):
        mean_call_ms(s, x)                                                   # warm-up
    order = list(range(len(sessions)))
    times = [[] for _ in sessions]
    for r in range(ROUNDS):
        for i in order if r % 2 == 0 else order[::-1]:
            times[i].append(mean_call_ms(sessions[i], inputs[i]))
    return [statistics.median(t) for t in times]


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[0] == "--rounds":
        ROUNDS, args = int(args[1]), args[2:]
    which = "encode" if args[0] == "--encode" else "score"
    args = args[1:] if which == "encode" else args
    main([Path(args[0]), Path(args[1])], [int(k) for k in args[2:]] or ([100, 200, 500, 1000, 2048] if which == "score" else [200]),
         which)
