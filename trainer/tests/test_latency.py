"""The prepared device check runs here on CPU, with both backends, on a freshly exported bundle."""
import json

import pytest

from genrec_trainer import synthetic
from genrec_trainer.latency import main, measure
from genrec_trainer.train import train


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    items, events = synthetic.generate(seed=2, num_users=40, num_items=30, min_len=8, max_len=12)
    out = tmp_path_factory.mktemp("latency") / "b"
    train(items, events, out=str(out), data_desc="tiny", seed=2, epochs=1, max_history=12, d_model=16,
          batch_size=32, examples_per_epoch=32, negatives=8, log=lambda *_: None)
    return out


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_latency_reports_every_shape(bundle, backend):
    r = measure(bundle, backend, "cpu", history=50, candidates=[3, 7], batches=[1, 2], reps=3)
    assert r["history"] == 12, "capped at the bundle's max_history"
    assert [e["batch"] for e in r["encode"]] == [1, 2] and [s["candidates"] for s in r["score"]] == [3, 7]
    assert all(0 < x["p50_ms"] <= x["p99_ms"] for x in r["encode"] + r["score"])
    assert all(x["x_flop_bound"] > 0 for x in r["encode"] + r["score"]) and r["gemm_gflops"] > 0
    one, two = (e["flops"] for e in r["encode"])
    assert two == pytest.approx(2 * one, rel=0.01), "a batch of two users is two users' products"
    k3, k7 = (s["flops"] for s in r["score"])
    assert k7 == pytest.approx(k3 * 7 / 3, rel=0.05), "score's products grow linearly in K"
    assert r["engine"] == ("CPUExecutionProvider" if backend == "onnx" else "torch " + r["engine"].split()[1] + " cpu fp32")


def test_the_float16_graphs_are_measured_too(bundle):
    r = measure(bundle, "onnx", "cpu", history=12, candidates=[5], batches=[1], reps=2, fp16=True)
    assert r["engine"] == "CPUExecutionProvider fp16 graphs" and r["score"][0]["p50_ms"] > 0


def test_cli_writes_json_and_refuses_cuda_without_a_gpu(bundle, tmp_path):
    main(["--bundle", str(bundle), "--candidates", "4", "--batches", "1", "--reps", "2", "--out", str(tmp_path / "r.json")])
    assert json.loads((tmp_path / "r.json").read_text())["score"][0]["candidates"] == 4
    import torch
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit, match="no CUDA"):
            main(["--bundle", str(bundle), "--backend", "torch", "--device", "cuda"])
    with pytest.raises(SystemExit, match="--cuda-graph needs --backend torch --device cuda"):
        main(["--bundle", str(bundle), "--backend", "onnx", "--cuda-graph"])
