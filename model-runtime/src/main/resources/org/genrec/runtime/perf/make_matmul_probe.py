"""Writes matmul_probe.onnx next to this script: one MatMul of two dynamic float32 matrices.

The runtime times it to learn the machine's GEMM rate with ONNX Runtime itself (GemmProbe.java),
the denominator of every "time / FLOP lower bound" figure. Regenerate with the trainer's venv:
    trainer/.venv/bin/python model-runtime/src/main/resources/org/genrec/runtime/perf/make_matmul_probe.py
"""
from pathlib import Path

import onnx
from onnx import TensorProto, helper

a = helper.make_tensor_value_info("a", TensorProto.FLOAT, ["m", "k"])
b = helper.make_tensor_value_info("b", TensorProto.FLOAT, ["k", "n"])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["m", "n"])
graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["y"])], "matmul_probe", [a, b], [y])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="genrec")
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, Path(__file__).with_name("matmul_probe.onnx"))
