"""--absolute-time: a learned embedding of when each prediction is made (model.absolute_time_bucket)."""
import dataclasses
import json

import numpy as np
import onnxruntime as ort
import pytest
import torch

from conftest import ACTIONS, tensors
from genrec_trainer.encoding import SLOT_INPUTS
from genrec_trainer.export import ENCODE_INPUTS, golden_feed
from genrec_trainer.rotary_rows import ROTARY_COS, ROTARY_IDS, ROTARY_SIN
from genrec_trainer.data import item_token_table
from genrec_trainer.model import GenRecModel, ModelConfig, next_event_ages
from genrec_trainer.train import absolute_time_buckets


def _model(tiny, **switches) -> GenRecModel:
    torch.manual_seed(0)
    cfg = ModelConfig(num_items=len(tiny.items), vocab_size=len(tiny.vocab), num_actions=len(ACTIONS),
                      max_item_tokens=8, d_model=16, layers=2, heads=2, embedding_dim=16, mlp_hidden=32,
                      readout="last_event", tied_embeddings=True, **switches)
    return GenRecModel(cfg, torch.from_numpy(item_token_table(tiny.items, tiny.vocab, 8))).eval()


def test_buckets_are_whole_widths_from_the_origin_and_times_outside_share_the_end_buckets(tiny):
    m = _model(tiny, absolute_time_buckets=5, absolute_time_origin=1_000, absolute_time_width=100)
    times = torch.tensor([900, 1_000, 1_099, 1_100, 1_450, 10**12])
    assert m.absolute_time_bucket(times).tolist() == [0, 0, 0, 1, 4, 4]


def test_the_bucket_count_spans_the_log_to_its_last_training_target(tiny):
    from genrec_trainer.data import build_vocab, group_by_user, item_index

    seqs = group_by_user(tiny.events, item_index(tiny.items), ACTIONS, build_vocab([], []), 1)
    train = [(u, len(s.items) - 3) for u, s in enumerate(seqs)]
    fields = absolute_time_buckets(seqs, train, 1.0)
    first = min(int(s.timestamps[0]) for s in seqs)
    last = max(int(seqs[u].timestamps[t]) for u, t in train)
    assert fields == {"absolute_time_origin": first, "absolute_time_width": 86_400,
                      "absolute_time_buckets": (last - first) // 86_400 + 1}
    assert absolute_time_buckets(seqs, train, 0.0) == {}


@torch.no_grad()
def test_the_output_moves_with_the_request_times_bucket_only(tiny):
    """The one input that breaks the time-RoPE's invariance to a constant shift of all times, and only by its
    buckets: a shift inside every event's bucket changes nothing, a shift into another bucket changes the output."""
    hist = tiny.history(6)
    t_req = hist[-1]["time"] + 600
    width = 10**9  # every time of the tiny log falls in bucket 1
    m = _model(tiny, absolute_time_buckets=4, absolute_time_origin=0, absolute_time_width=width)

    def encode(shift: int):
        enc = tiny.encoder.encode([{**e, "time": e["time"] + shift} for e in hist], None, t_req + shift)
        return m.encode(*tensors(enc), request_time=torch.tensor([t_req + shift]))[0]

    torch.testing.assert_close(encode(0), encode(1_000), atol=0, rtol=0)
    assert not torch.allclose(encode(0), encode(width), atol=1e-4)
    with pytest.raises(ValueError, match="needs request_time"):
        m.encode(*tensors(tiny.encoder.encode(hist, None, t_req)))


@torch.no_grad()
def test_each_event_reads_its_predictions_time_so_the_dense_readout_is_the_served_prefix(tiny):
    """The dense loss reads event i's state as the prediction of event i + 1: that state must be what a request
    made at event i + 1's time computes for the history cut after event i (no later time leaks into it). The linear
    time scale, whose events' states do not move with the request time, isolates the absolute time."""
    m = _model(tiny, time_scale="linear", absolute_time_buckets=30,
               absolute_time_origin=int(tiny.events[0].timestamp) - 86_400, absolute_time_width=86_400)
    hist = tiny.history(7)
    t_req = hist[-1]["time"] + 7 * 86_400
    items, actions, ages, hq, q = tensors(tiny.encoder.encode(hist, None, t_req))
    hidden = []
    m.encode(items, actions, ages, hq, q, hidden=hidden, request_time=torch.tensor([t_req]))
    n = items.shape[1]
    buckets = set()
    for i in range(n - 7, n - 1):
        cut = slice(0, i + 1)
        asked_at = t_req - int(ages[0, i + 1])
        buckets.add(int(m.absolute_time_bucket(torch.tensor(asked_at))))
        served = m.encode(items[:, cut], actions[:, cut], ages[:, cut] - ages[0, i + 1], hq[:, cut], q,
                          request_time=torch.tensor([asked_at]))[0]
        torch.testing.assert_close(hidden[0][:, i], served, atol=1e-5, rtol=0)
    assert len(buckets) > 1, "the events' predictions fall in more than one bucket: the test sees the embedding"


def test_training_needs_timestamps_and_exports_an_encode_graph_that_reads_the_request_time(tmp_path):
    from genrec_trainer import synthetic
    from genrec_trainer.train import train

    items, events = synthetic.generate(seed=1, num_users=30, num_items=30, min_len=12, max_len=16)
    kw = dict(data_desc="tiny", seed=1, epochs=1, max_history=10, d_model=16, batch_size=32,
              examples_per_epoch=32, negatives=16, log=lambda *_: None, absolute_time_days=1.0)
    order_only = [dataclasses.replace(e, timestamp=0) for e in events]
    with pytest.raises(ValueError, match="absolute_time_days needs timestamps"):
        train(items, order_only, out=str(tmp_path / "never"), export=False, **kw)
    logged = []
    metrics = train(items, events, out=str(tmp_path / "bundle"), **{**kw, "log": logged.append})
    days = (max(e.timestamp for e in events) - min(e.timestamp for e in events)) // 86_400
    buckets = next(int(line.split("absolute time in ")[1].split()[0]) for line in logged if "absolute time in" in line)
    assert 1 < buckets <= days + 1
    assert 0 <= metrics["hr@10"] <= 1

    # The bundle (its export already checked ONNX against PyTorch on every golden case): the encode graph's last input is
    # the request's time, which each golden case gives as sent, and which the graph reads by its bucket alone.
    bundle = tmp_path / "bundle"
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["graphs"]["encode"]["inputs"] == [*ENCODE_INPUTS, "request_time", ROTARY_COS, ROTARY_SIN,
                                                      ROTARY_IDS, *SLOT_INPUTS]
    absolute = manifest["architecture"]["absolute_time"]
    assert absolute["buckets"] == buckets and absolute["width_seconds"] == 86_400
    golden = json.loads((bundle / "golden.json").read_text())
    assert all(c["inputs"]["request_time"] == [c["request"]["request_time"]] for c in golden["cases"])
    graph = ort.InferenceSession(str(bundle / "encode.onnx"), providers=["CPUExecutionProvider"])
    case = next(c for c in golden["cases"] if c["name"] == "recommendation_with_history")
    feeds = golden_feed(graph, case)
    asked = feeds["request_time"] - next_event_ages(torch.from_numpy(feeds["history_age_seconds"])).numpy()  # [1, N]
    # how much later the request can be before any event's prediction enters the next bucket (ages as given)
    slack = int((absolute["width_seconds"] - 1 - (asked - absolute["origin"]) % absolute["width_seconds"]).min())

    def embedding(later: int) -> np.ndarray:
        return graph.run(["embedding"], feeds | {"request_time": feeds["request_time"] + later})[0]
    assert np.array_equal(embedding(0), embedding(slack))
    assert np.abs(embedding(0) - embedding(slack + 1)).max() > 1e-4
