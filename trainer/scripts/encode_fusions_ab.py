"""Would fewer kernels inside the blocks make the encode call faster? (BENCHMARKS.md, "Session 47".)

Below ~150 events the encode graph spends about as long in its ~120 small kernels as in its matrix
products. This takes the graph as ONNX Runtime optimizes it (all optimizations, as the Java runtime
loads it) and rewrites it two ways that keep its outputs, then times each against the unrewritten
optimized graph, alternated in one process (score_graph_ab.alternated):

- "skip": each residual Add and the RMS norm reading it become one com.microsoft
  SkipSimplifiedLayerNormalization (its fourth output is the sum the next residual reads);
  ONNX Runtime does not fuse them itself because the sum has a second reader.
- "transpose": with one head, the Transpose of the attention output before the out projection
  moves a dimension of size 1; the Reshape after it becomes a Squeeze of the product itself.

    .venv/bin/python scripts/encode_fusions_ab.py BUNDLE_DIR [N ...]

The rewritten graphs are checked against the original on each feed (max |difference| printed).
A probe, not an export path: the optimized graph it rewrites is specific to this machine.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

from onnx_op_profile import encode_feed, session
from score_graph_ab import alternated

SQUEEZE_AXIS = "encode_fusions_ab_axis_1"


def optimized(graph: Path, out: Path) -> onnx.ModelProto:
    """The graph as ONNX Runtime runs it (fused norms, FusedMatMul, ...), written to out."""
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.optimized_model_filepath = str(out)
    ort.InferenceSession(str(graph), so, providers=["CPUExecutionProvider"])
    return onnx.load(str(out))


def fuse_skip_norms(model: onnx.ModelProto) -> int:
    """Add -> SimplifiedLayerNormalization pairs into SkipSimplifiedLayerNormalization; returns how many."""
    nodes = list(model.graph.node)
    producer = {o: n for n in nodes for o in n.output}
    fused_adds = []
    for node in nodes:
        add = producer.get(node.input[0]) if node.op_type == "SimplifiedLayerNormalization" else None
        if add is None or add.op_type != "Add":
            continue
        epsilon = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-6)
        node.CopyFrom(helper.make_node("SkipSimplifiedLayerNormalization", [add.input[0], add.input[1], node.input[1]],
                                       [node.output[0], "", "", add.output[0]], name=node.name + "/skip",
                                       domain="com.microsoft", epsilon=epsilon))
        fused_adds.append(add)
    _drop(model, fused_adds)
    return len(fused_adds)


def drop_one_head_transposes(model: onnx.ModelProto) -> int:
    """[B, 1, S, Dh] -> Transpose -> [B, S, 1, Dh] -> Reshape [B, S, Dh] becomes Squeeze(axis 1); returns how many."""
    nodes = list(model.graph.node)
    readers: dict[str, list] = {}
    for n in nodes:
        for name in n.input:
            readers.setdefault(name, []).append(n)
    dropped = []
    for node in nodes:
        if node.op_type != "Transpose" or list(next(a.ints for a in node.attribute if a.name == "perm")) != [0, 2, 1, 3]:
            continue
        after = readers.get(node.output[0], [])
        if len(after) != 1 or after[0].op_type != "Reshape":
            continue
        reshape = after[0]
        reshape.op_type, reshape.input[0], reshape.input[1] = "Squeeze", node.input[0], SQUEEZE_AXIS
        del reshape.attribute[:]
        dropped.append(node)
    if dropped:
        model.graph.initializer.append(numpy_helper.from_array(np.array([1], np.int64), SQUEEZE_AXIS))
    _drop(model, dropped)
    return len(dropped)


def _drop(model: onnx.ModelProto, dropped: list) -> None:
    kept = [n for n in model.graph.node if all(n is not d for d in dropped)]
    del model.graph.node[:]
    model.graph.node.extend(kept)


def main(bundle: Path, sizes: list[int]) -> None:
    work = Path(tempfile.mkdtemp())
    try:
        base = optimized(bundle / "encode.onnx", work / "optimized.onnx")
        variants = {}
        for name, rewrite in (("skip", fuse_skip_norms), ("transpose", drop_one_head_transposes)):
            model = onnx.ModelProto()
            model.CopyFrom(base)
            count = rewrite(model)
            onnx.save(model, str(work / f"{name}.onnx"))
            variants[name] = count
        print(f"optimized graph: {len(base.graph.node)} kernels; skip: {variants['skip']} fused, "
              f"transpose: {variants['transpose']} dropped")
        reference = session(work / "optimized.onnx", None)
        for name in variants:
            candidate = session(work / f"{name}.onnx", None)
            print(f"{name}:  N   optimized    rewritten   rewritten / optimized   max |difference|")
            for n in sizes:
                inputs = encode_feed(bundle, n)
                difference = max(float(np.abs(a - b).max()) for a, b in zip(reference.run(None, inputs), candidate.run(None, inputs)))
                a, b = alternated([reference, candidate], [inputs, inputs])
                print(f"     {n:<4d} {a:8.3f} ms {b:8.3f} ms   {b / a:.3f}                   {difference:.1e}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), [int(n) for n in sys.argv[2:]] or [10, 50, 100, 200])
