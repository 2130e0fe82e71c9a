"""One layer's candidate attention two ways, timed against each other (BENCHMARKS.md, "The mask inside
the score product"): as the score graph computes it (one product with the cached keys, each query
carrying its own-key score in an extra column; softmax; one product with the cached values plus the
own value), and as ONNX Runtime's fused com.microsoft.MultiHeadAttention computes the same thing
(keys and values in BNSH layout with the own-key slot, a key padding mask, and a last value column
of 1 in the own slot that returns each candidate's own-key weight). Checks that both give the same
output, then alternates them as scripts/score_graph_ab.py does. Shapes of the ML-100K serving model:
2 heads of 32, 200 cached events + context + the own slot.

    .venv/bin/python scripts/fused_attention_ab.py [K ...]
"""
from __future__ import annotations

import sys

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

from onnx_op_profile import session
from score_graph_ab import alternated

HEADS, HEAD_DIM, SLOTS = 2, 32, 202
SCALE = HEAD_DIM ** -0.5
F = TensorProto.FLOAT


def _session(nodes, inputs, initializers, opsets) -> ort.InferenceSession:
    graph = helper.make_graph(nodes, "attention", inputs, [helper.make_tensor_value_info("out", F, None)], initializers)
    model = helper.make_model(graph, opset_imports=opsets, ir_version=9)  # ONNX Runtime 1.29-1.30 read IR 9
    return session(model.SerializeToString(), None)                       # configured as the Java runtime does


def _ints(name: str, values: list[int]):
    return helper.make_tensor(name, TensorProto.INT64, [len(values)], values)


def unfused() -> ort.InferenceSession:
    """q [1, H, K, Dh + 1], keys [1, H, S, Dh + 1], add [1, 1, 1, S], values [1, H, S, Dh], v [1, H, K, Dh] -> [1, K, H Dh]."""
    nodes = [helper.make_node("FusedMatMul", ["q", "keys"], ["s"], domain="com.microsoft", transB=1, alpha=SCALE),
             helper.make_node("Add", ["s", "add"], ["masked"]),
             helper.make_node("Softmax", ["masked"], ["p"], axis=-1),
             helper.make_node("Slice", ["p", "last", "end", "axis"], ["p_own"]),
             helper.make_node("Mul", ["p_own", "v"], ["own"]),
             helper.make_node("MatMul", ["p", "values"], ["pv"]),
             helper.make_node("Add", ["pv", "own"], ["o"]),
             helper.make_node("Transpose", ["o"], ["o_t"], perm=[0, 2, 1, 3]),
             helper.make_node("Reshape", ["o_t", "shape"], ["out"])]
    inputs = [helper.make_tensor_value_info(n, F, None) for n in ("q", "keys", "add", "values", "v")]
    consts = [_ints("last", [-1]), _ints("end", [2 ** 62]), _ints("axis", [-1]), _ints("shape", [1, -1, HEADS * HEAD_DIM])]
    return _session(nodes, inputs, consts, [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])


def fused() -> ort.InferenceSession:
    """q [1, K, H (Dh + 1)], key [1, H, S, Dh + 1], value [1, H, S, Dh + 1], key_padding_mask int32 [1, S], v [1, K, H, Dh]."""
    nodes = [helper.make_node("MultiHeadAttention", ["q", "key", "value", "", "key_padding_mask"], ["a"],
                              domain="com.microsoft", num_heads=HEADS, scale=SCALE),
             helper.make_node("Reshape", ["a", "heads"], ["a4"]),
             helper.make_node("Split", ["a4", "split"], ["pv", "p_own"], axis=-1),
             helper.make_node("Mul", ["p_own", "v"], ["own"]),
             helper.make_node("Add", ["pv", "own"], ["o"]),
             helper.make_node("Reshape", ["o", "shape"], ["out"])]
    inputs = [helper.make_tensor_value_info(n, F, None) for n in ("q", "key", "value", "v")]
    inputs.append(helper.make_tensor_value_info("key_padding_mask", TensorProto.INT32, None))
    consts = [_ints("heads", [1, -1, HEADS, HEAD_DIM + 1]), _ints("split", [HEAD_DIM, 1]), _ints("shape", [1, -1, HEADS * HEAD_DIM])]
    return _session(nodes, inputs, consts, [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])


def feeds(k: int) -> tuple[dict, dict]:
    rng = np.random.default_rng(0)
    q = rng.standard_normal((1, HEADS, k, HEAD_DIM + 1), np.float32)
    keys = rng.standard_normal((1, HEADS, SLOTS, HEAD_DIM + 1), np.float32)
    keys[..., -1] = 0.0                                   # the own-score column: 0 for cached keys ...
    keys[..., -1, :] = 0.0
    keys[..., -1, -1] = 1.0                               # ... 1 in the own slot
    values = rng.standard_normal((1, HEADS, SLOTS, HEAD_DIM), np.float32)
    values[..., -1, :] = 0.0
    visible = np.ones((1, SLOTS), np.float32)
    visible[0, :50] = 0.0                                 # a history shorter than the cache
    v = rng.standard_normal((1, HEADS, k, HEAD_DIM), np.float32)
    value_with_own = np.concatenate([values, np.zeros((1, HEADS, SLOTS, 1), np.float32)], -1)
    value_with_own[..., -1, -1] = 1.0                     # the output's last column is the own-key weight
    plain = {"q": q, "keys": keys, "add": ((1.0 - visible) * -1e9).reshape(1, 1, 1, SLOTS), "values": values, "v": v}
    mha = {"q": np.ascontiguousarray(q.transpose(0, 2, 1, 3).reshape(1, k, -1)), "key": keys, "value": value_with_own,
           "key_padding_mask": visible.astype(np.int32), "v": np.ascontiguousarray(v.transpose(0, 2, 1, 3))}
    return plain, mha


def main(ks: list[int]) -> None:
    sessions = [unfused(), fused()]
    print("K      unfused (ms)   MultiHeadAttention (ms)   fused / unfused")
    for k in ks:
        inputs = feeds(k)
        a, b = (s.run(None, x)[0] for s, x in zip(sessions, inputs))
        assert np.allclose(a, b, atol=1e-5), f"the two attentions differ by {np.abs(a - b).max()}"
        t0, t1 = alternated(sessions, list(inputs))
        print(f"{k:<6d} {t0:12.4f} {t1:22.4f} {t1 / t0:20.3f}")


if __name__ == "__main__":
    main([int(k) for k in sys.argv[1:]] or [100, 500, 2048])
