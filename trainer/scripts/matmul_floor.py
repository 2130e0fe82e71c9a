"""The floor under a score or encode call: the graph's matrix products alone, at the bundle's shapes,
timed by ONNX Runtime as the Java runtime configures it (BENCHMARKS.md, "The keys turned at encode
time" and "Session 45: the encode call's floor"). Prints, per K (or history N), the FLOP bound (the
runtime's FlopCount over the GEMM rate of a 512^3 MatMul in the same process), the products alone and
the whole graph, each as a multiple of the bound: what the products cost is what no rearranging of the
other kernels can remove.

    .venv/bin/python scripts/matmul_floor.py BUNDLE_DIR [K ...]
    .venv/bin/python scripts/matmul_floor.py --encode BUNDLE_DIR [N ...]
"""
from __future__ import annotations

import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from onnx_op_profile import encode_feed, feed, session
from score_graph_ab import mean_call_ms

ROUNDS, CALLS = 15, 100


def _graph(nodes, inputs, initializers, path: Path) -> Path:
    outputs = [helper.make_tensor_value_info(n.output[0], TensorProto.FLOAT, None) for n in nodes]
    model = helper.make_model(helper.make_graph(nodes, "g", inputs, outputs, initializers),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # what ONNX Runtime 1.30 reads
    onnx.save(model, path)
    return path


def mlp_hidden(arch: dict) -> int:
    return arch.get("mlp_hidden") or 4 * arch["d_model"]


def score_flops(arch: dict, t: int, k: int) -> float:
    """FlopCount.score: K candidates, each against T + 1 keys, plus the output head."""
    d = arch["d_model"]
    return 2.0 * k * (arch["layers"] * (4 * d * d + 3 * d * mlp_hidden(arch) + 2 * d * (t + 1)) + d)


def last_layer_rows(arch: dict, t: int) -> int:
    """How many tokens' output the encode graph's last layer computes (the manifest's last_layer_rows; all t without)."""
    return min(arch.get("last_layer_rows") or t, t)


def encode_flops(arch: dict, t: int) -> float:
    """FlopCount.encode: t tokens against each other (the last layer's output for last_layer_rows of them), plus the
    embedding head."""
    d, hidden = arch["d_model"], mlp_hidden(arch)

    def layer(rows: int) -> float:
        return t * 3 * d * d + rows * (d * d + 3 * d * hidden) + 2 * d * t * rows
    return 2.0 * ((arch["layers"] - 1) * layer(t) + layer(last_layer_rows(arch, t)) + d * d)


def block_products(arch: dict, rows: int, keys: int, path: Path, own_key_column: bool,
                   embedding_head: bool, last_rows: int | None = None) -> tuple[Path, dict[str, np.ndarray]]:
    """Per layer the block's products for `rows` query rows against `keys` keys: qkv, scores, weights x
    values, output projection, gate, up, down; then, for encode, the embedding head. last_rows: the last layer's
    products after its qkv for that many rows only (the encode graph's last layer)."""
    d, heads, layers = arch["d_model"], arch["heads"], arch["layers"]
    dh, hidden = d // heads, mlp_hidden(arch)
    kw = dh + 1 if own_key_column else dh
    rng = np.random.default_rng(0)
    nodes, weights = [], []

    def w(name: str, shape: list[int]) -> str:
        weights.append(numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32) * 0.05, name))
        return name

    last = "" if last_rows is None else "_last"  # the last layer's own inputs, of last_rows rows
    for layer in range(layers):
        r = last if layer == layers - 1 else ""
        for a, b, out in (("x", w(f"qkv{layer}", [d, 3 * d]), "qkv"), ("q" + r, w(f"keys{layer}", [heads, kw, keys]), "s"),
                          ("p" + r, w(f"values{layer}", [heads, keys, dh]), "a"), ("x" + r, w(f"out{layer}", [d, d]), "o"),
                          ("x" + r, w(f"gate{layer}", [d, hidden]), "g"), ("x" + r, w(f"up{layer}", [d, hidden]), "u"),
                          ("m" + r, w(f"down{layer}", [hidden, d]), "dn")):
            nodes.append(helper.make_node("MatMul", [a, b], [f"y_{out}{layer}"]))
    shapes = {"x": [rows, d], "q": [heads, rows, kw], "p": [heads, rows, keys], "m": [rows, hidden]}
    if last_rows is not None:
        shapes.update({"x_last": [last_rows, d], "q_last": [heads, last_rows, kw], "p_last": [heads, last_rows, keys],
                       "m_last": [last_rows, hidden]})
    if embedding_head:
        nodes.append(helper.make_node("MatMul", ["r", w("head", [d, d])], ["y_head"]))
        shapes["r"] = [1, d]
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in shapes.items()]
    feeds = {n: rng.standard_normal(s).astype(np.float32) for n, s in shapes.items()}
    return _graph(nodes, inputs, weights, path), feeds


def score_products(arch: dict, t: int, k: int, path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    """K candidates against T + 1 keys (the own-key slot and column included)."""
    return block_products(arch, k, t + 1, path, own_key_column=True, embedding_head=False)


def encode_products(arch: dict, t: int, path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    """The request's t tokens (history, context, RET) against each other, then the embedding head."""
    return block_products(arch, t, t, path, own_key_column=False, embedding_head=True,
                          last_rows=last_layer_rows(arch, t))


def gemm_rate(path: Path) -> tuple[object, dict[str, np.ndarray]]:
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [512, 512]) for n in "ab"]
    rng = np.random.default_rng(1)
    return (session(_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], inputs, [], path), None),
            {n: rng.standard_normal((512, 512)).astype(np.float32) for n in "ab"})


def main(bundle: Path, sizes: list[int], graph: str = "score") -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())
    arch, n_max = manifest["architecture"], manifest["max_history"]
    workdir = Path(tempfile.mkdtemp())
    gemm, gemm_in = gemm_rate(workdir / "gemm.onnx")
    full = session(bundle / f"{graph}.onnx", None)
    for size in sizes:
        if graph == "score":   # size = K candidates over a full history cache
            t = n_max + 1
            path, mm_in = score_products(arch, t, size, workdir / f"matmuls-{size}.onnx")
            full_in = feed(bundle, size)
            flops = score_flops(arch, t, size)
        else:                  # size = N history events, then the context and RET tokens
            t = size + 2
            path, mm_in = encode_products(arch, t, workdir / f"encode-matmuls-{size}.onnx")
            full_in = encode_feed(bundle, size)
            flops = encode_flops(arch, t)
        mm = session(path, None)
        rounds: dict[str, list[float]] = {"gemm": [], "matmuls": [], "graph": []}
        for _ in range(ROUNDS):
            rounds["gemm"].append(2 * 512 ** 3 / mean_call_ms(gemm, gemm_in, 10) / 1e6)   # GFLOP/s
            rounds["matmuls"].append(mean_call_ms(mm, mm_in, CALLS))
            rounds["graph"].append(mean_call_ms(full, full_in, CALLS))
        med = {n: statistics.median(v) for n, v in rounds.items()}
        bound = flops / (med["gemm"] * 1e9) * 1e3
        print(f"{'K' if graph == 'score' else 'N'}={size:<5d} GEMM {med['gemm']:6.1f} GFLOP/s  bound {bound:.3f} ms | "
              f"products alone {med['matmuls']:.3f} ms ({med['matmuls'] / bound:.2f}x) | "
              f"{graph} graph {med['graph']:.3f} ms ({med['graph'] / bound:.2f}x)")


if __name__ == "__main__":
    if sys.argv[1] == "--encode":
        main(Path(sys.argv[2]), [int(n) for n in sys.argv[3:]] or [10, 50, 200], "encode")
    else:
        main(Path(sys.argv[1]), [int(k) for k in sys.argv[2:]] or [100, 200, 500])
