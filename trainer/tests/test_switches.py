"""Non-default model switches: the same invariants as the default model, and export parity."""
import json

import numpy as np
import pytest
import torch

from conftest import ACTIONS, MAX_HISTORY, MAX_Q, rank_head_with_candidate_in_ret_place, tensors
from genrec_trainer import model as mod
from genrec_trainer.data import item_token_table
from genrec_trainer.export import check_onnx_parity, default_golden_requests, export_bundle, score_inputs
from genrec_trainer.model import GenRecModel, ModelConfig

CONFIGS = [dict(block="hstu", time_signal="bucket", item_text=False),
           dict(block="softmax", time_signal="bucket", item_text=True),
           dict(block="hstu", time_signal="rope", item_text=True),
           dict(block="softmax", time_signal="none", item_text=False),
           dict(block="softmax", time_signal="rope", item_text=True, similarity="dot"),
           dict(block="softmax", time_signal="rope", item_text=True, time_rope_fraction=0.75),
           dict(block="softmax", time_signal="rope", item_text=True, time_rope_fraction=0.75, time_rope_slowest=0.1),
           dict(block="softmax", time_signal="rope", item_text=True, readout="last_event", tied_embeddings=True,
                input_scale=8.0),
           dict(block="softmax", time_signal="rope", item_text=True, time_scale="linear"),
           dict(block="softmax", time_signal="rope", item_text=True, tie_positions=True),
           dict(block="softmax", time_signal="rope", item_text=True, time_scale="linear", query_time="next"),
           dict(block="hstu", time_signal="bucket", item_text=False, query_time="next"),
           dict(block="softmax", time_signal="none", item_text=False, action_input=False)]
TIME_ROPE_FRACTION = CONFIGS[5]
TIME_ROPE_SLOWEST = CONFIGS[6]
LINEAR_TIME = CONFIGS[-5]
TIE_POSITIONS = CONFIGS[-4]
QUERY_AT_NEXT_TIME = CONFIGS[-3]  # the linear scale: only time differences count, so prefixes are requests
HSTU_QUERY_AT_NEXT_TIME = CONFIGS[-2]
PUBLISHED_SASREC_INPUTS = CONFIGS[-1]  # item ids only: no time, no text, no action


def _model(tiny, **switches) -> GenRecModel:
    torch.manual_seed(0)
    cfg = ModelConfig(num_items=len(tiny.items), vocab_size=len(tiny.vocab), num_actions=len(ACTIONS),
                      max_item_tokens=8, d_model=16, layers=2, heads=2, embedding_dim=16, mlp_hidden=32, **switches)
    m = GenRecModel(cfg, torch.from_numpy(item_token_table(tiny.items, tiny.vocab, 8))).eval()
    if cfg.time_signal == "bucket":  # a non-zero bias, so the test sees it
        with torch.no_grad():
            m.time_bias.copy_(torch.randn_like(m.time_bias))
    return m


def _pad(enc, extra):
    i = enc.graph_inputs()
    lp = ((0, 0), (extra, 0))
    return [torch.from_numpy(a) for a in (np.pad(i["history_items"], lp), np.pad(i["history_actions"], lp),
                                          np.pad(i["history_age_seconds"], lp),
                                          np.pad(i["history_query_tokens"], lp + ((0, 2),)),
                                          np.pad(i["query_tokens"], ((0, 0), (0, 3))))]


def _request_age(ages: torch.Tensor, i: int, switches: dict) -> torch.Tensor | int:
    """When the request that prefix i of the training pass stands for was made, as an age of the full
    history's frame: at the full request's time (0), or with query_time "next" at event i + 1's (the
    history cut after event i then has the ages ages[:, :i + 1] - this)."""
    at_next = switches.get("query_time") == "next" and i + 1 < ages.shape[1]
    return ages[:, i + 1:i + 2] if at_next else 0


# Recency positions are not prefix-consistent by design (SASRec's right-aligned positions), so
# they are not in the prefix_users test below; every other invariant holds.
RECENCY = dict(block="softmax", time_signal="rope", item_text=True, readout="last_event", recency_positions=5)


@pytest.mark.parametrize("switches", CONFIGS + [RECENCY], ids=lambda c: "-".join(str(v) for v in c.values()))
@torch.no_grad()
def test_switch_invariants(tiny, switches):
    m = _model(tiny, **switches)
    hist = tiny.history(7)
    enc = tiny.encoder.encode(hist, "ball", hist[-1]["time"] + 600)
    emb, ck, cv, cm = m.encode(*tensors(enc))
    assert torch.isfinite(emb).all()
    # padding changes nothing
    emb2, ck2, cv2, cm2 = m.encode(*_pad(enc, 4))
    torch.testing.assert_close(emb2, emb, atol=1e-5, rtol=0)
    cands = torch.tensor([[1, 2, 3, 7]])
    scores = m.score(ck, cv, cm, cands)
    torch.testing.assert_close(m.score(ck2, cv2, cm2, cands), scores, atol=1e-5, rtol=0)
    # M-FALCON: a candidate's score does not depend on the others
    torch.testing.assert_close(m.score(ck, cv, cm, torch.tensor([[7]]))[0, 0], scores[0, 3], atol=1e-5, rtol=0)
    # a constant time shift changes nothing; a different gap does (when time is used)
    shift = 987_654_321
    shifted = tiny.encoder.encode([{**e, "time": e["time"] + shift} for e in hist], "ball",
                                  hist[-1]["time"] + 600 + shift)
    torch.testing.assert_close(m.encode(*tensors(shifted))[0], emb, atol=0, rtol=0)
    later = tiny.encoder.encode(hist, "ball", hist[-1]["time"] + 30 * 86400)
    moved = not torch.allclose(m.encode(*tensors(later))[0], emb, atol=1e-4)
    assert moved == (switches["time_signal"] != "none")
    # candidate stream == the full causal pass with the candidate in RET's place (not with the
    # time-bucket bias: RET sees it, candidates cannot, score.onnx has no ages)
    if switches["time_signal"] == "bucket":
        return
    got = rank_head_with_candidate_in_ret_place(m, enc, 9)
    torch.testing.assert_close(got, m.score(ck, cv, cm, torch.tensor([[9]]))[0, 0], atol=1e-5, rtol=0)


def _export(m: GenRecModel, tiny, out, model_id: str) -> dict:
    """m exported as a bundle in out, with golden cases from the tiny log; -> its manifest."""
    requests = default_golden_requests(tiny.items, tiny.events, ACTIONS, MAX_HISTORY, n_candidates=20)
    export_bundle(m, out, items=tiny.items, vocab=tiny.vocab, actions=ACTIONS, max_history=MAX_HISTORY,
                  max_query_tokens=MAX_Q, model_id=model_id, model_version="0", golden_requests=requests,
                  training={"data": "tiny", "data_fingerprint": "sha256:x", "seed": 0, "epochs": 0, "metrics": {}})
    return json.loads((out / "manifest.json").read_text())


def test_hstu_bucket_export_parity(tiny, tmp_path):
    """The HSTU baseline configuration (HSTU block, time-bucket bias, ids only) exports graphs that
    reproduce PyTorch on every golden case, under the unchanged bundle contract."""
    manifest = _export(_model(tiny, **CONFIGS[0]), tiny, tmp_path, "tiny-hstu")
    assert manifest["architecture"]["backbone"] == "hstu" and manifest["architecture"]["time_signal"] == "bucket"
    assert manifest["graphs"]["score"]["inputs"] == score_inputs(manifest["architecture"]["layers"])
    golden = json.loads((tmp_path / "golden.json").read_text())
    assert check_onnx_parity(tmp_path, golden) <= 1e-5
    # ids only: nothing to embed an item added after training with, so no item encoder is promised
    assert "item_encoder" not in manifest["graphs"] and "new_items" not in golden
    assert "score_rows" not in manifest["graphs"]
    assert not (tmp_path / "item_encoder.onnx").exists() and not (tmp_path / "score_rows.onnx").exists()


def test_linear_time_export_parity(tiny, tmp_path):
    """The linear time scale's int64 modulo and angles run in the exported encode graph as in PyTorch."""
    manifest = _export(_model(tiny, **LINEAR_TIME), tiny, tmp_path, "tiny-linear-time")
    assert manifest["architecture"]["time_scale"] == "linear"
    assert check_onnx_parity(tmp_path, json.loads((tmp_path / "golden.json").read_text())) <= 1e-5


def test_time_rope_fraction_export_parity(tiny, tmp_path):
    """Three of a head's four rotary pairs turning with time: the manifest lists that many time frequencies (what the
    runtime makes the rotary rows from) and the exported graphs reproduce PyTorch on every golden case."""
    manifest = _export(_model(tiny, **TIME_ROPE_FRACTION), tiny, tmp_path, "tiny-time-fraction")
    assert len(manifest["rotary"]["time_frequencies"]) == 3 and len(manifest["rotary"]["position_frequencies"]) == 1
    assert check_onnx_parity(tmp_path, json.loads((tmp_path / "golden.json").read_text())) <= 1e-5


def _train_tiny(tmp_path, name: str, **switches) -> None:
    """One epoch on a tiny synthetic log: for the switches train() must refuse before it trains anything."""
    from genrec_trainer import synthetic
    from genrec_trainer.train import train

    items, events = synthetic.generate(seed=1, num_users=10, num_items=20, min_len=5, max_len=6)
    train(items, events, out=str(tmp_path / name), data_desc="tiny", epochs=1, max_history=10, d_model=16,
          log=lambda *_: None, export=False, **switches)


def test_time_rope_fraction_is_refused_outside_zero_to_one_and_without_the_rotary_time_signal(tmp_path):
    with pytest.raises(ValueError, match="from 0 to 1, not 1.5"):
        _train_tiny(tmp_path, "a", time_rope_fraction=1.5)
    with pytest.raises(ValueError, match="only the time signal rope does, not 'none'"):
        _train_tiny(tmp_path, "b", time_rope_fraction=0.25, time_signal="none")


def test_time_rope_slowest_export_parity(tiny, tmp_path):
    """The time pairs spread from 1 down to the slowest frequency (geometric, not halving): the manifest carries those
    frequencies, which is all the runtime needs, and the exported graphs reproduce PyTorch on every golden case."""
    manifest = _export(_model(tiny, **TIME_ROPE_SLOWEST), tiny, tmp_path, "tiny-time-slowest")
    assert manifest["rotary"]["time_frequencies"] == pytest.approx([1.0, 0.1 ** 0.5, 0.1], rel=1e-6)
    assert manifest["architecture"]["time_rope_slowest"] == 0.1
    assert check_onnx_parity(tmp_path, json.loads((tmp_path / "golden.json").read_text())) <= 1e-5


def test_time_rope_slowest_is_refused_off_the_log_scale_of_the_rotary_time_signal_and_outside_zero_to_one(tmp_path):
    for i, bad in enumerate([dict(time_rope_slowest=1.5), dict(time_rope_slowest=-0.1),
                             dict(time_rope_slowest=0.1, time_scale="linear"),
                             dict(time_rope_slowest=0.1, time_signal="none")]):
        with pytest.raises(ValueError, match="time_rope_slowest is the log time scale's slowest time frequency"):
            _train_tiny(tmp_path, str(i), **bad)


def _with_ties(hist: list[dict]) -> list[dict]:
    """hist (7 events) retimed so that events 1-3 share one second and events 5-6 another."""
    base = hist[0]["time"]
    return [{**e, "time": base + dt} for e, dt in zip(hist, (0, 100, 100, 100, 200, 300, 300))]


@torch.no_grad()
def test_tie_positions_make_the_order_inside_a_second_no_signal(tiny):
    """One layer, so the user embedding reads each event's token once: with tie_positions two events logged
    in the same second can swap places and nothing changes; without it their order is a signal."""
    hist = _with_ties(tiny.history(7))
    swapped = [hist[0], hist[3], hist[2], hist[1], *hist[4:]]
    t = hist[-1]["time"] + 600
    for tie in (True, False):
        m = _model(tiny, block="softmax", time_signal="rope", item_text=True, tie_positions=tie)
        m.blocks = m.blocks[:1]
        emb = m.encode(*tensors(tiny.encoder.encode(hist, None, t)))[0]
        emb_swapped = m.encode(*tensors(tiny.encoder.encode(swapped, None, t)))[0]
        assert torch.allclose(emb, emb_swapped, atol=1e-6) == tie


@torch.no_grad()
def test_tie_positions_prefix_users_row_i_is_encode_of_the_history_cut_after_event_i(tiny):
    """With ties, an event's position depends only on the events before it, so every prefix of the
    training pass (cut inside a second too) is what inference computes for that shorter history."""
    m = _model(tiny, **TIE_POSITIONS)
    hist = _with_ties(tiny.history(7))
    items, actions, ages, hq, _ = _pad(tiny.encoder.encode(hist, None, hist[-1]["time"] + 600), 3)
    users = m.prefix_users(items, actions, ages, hq)                        # [1, N, E]
    n = items.shape[1]
    no_query = torch.zeros(1, MAX_Q, dtype=torch.long)
    for i in range(n - 7, n):
        cut = slice(0, i + 1)
        expected = m.encode(items[:, cut], actions[:, cut], ages[:, cut], hq[:, cut], no_query)[0]
        torch.testing.assert_close(users[:, i], expected, atol=1e-5, rtol=0)
    positions = m._event_positions(items > 0, ages)[0, -7:]
    assert positions.tolist() == [0, 1, 1, 1, 4, 5, 5]


def test_tie_positions_export_parity(tiny, tmp_path):
    """The positions by timestamp run in the exported encode graph as in PyTorch (the golden cases hold
    events with equal timestamps)."""
    manifest = _export(_model(tiny, **TIE_POSITIONS), tiny, tmp_path, "tiny-tie-positions")
    assert manifest["architecture"]["tie_positions"] is True
    assert check_onnx_parity(tmp_path, json.loads((tmp_path / "golden.json").read_text())) <= 1e-5


@torch.no_grad()
def test_query_time_next_tells_the_last_event_how_long_ago_it_was(tiny):
    """Read at the last event, on the linear time scale: with queries at their own time the user embedding
    cannot see when the request comes (only differences between the events count); with queries at the
    prediction's time it can, and that is the one thing the switch adds."""
    hist = tiny.history(7)
    for query_time in ("own", "next"):
        m = _model(tiny, block="softmax", time_signal="rope", item_text=True, time_scale="linear",
                   readout="last_event", query_time=query_time)
        soon, later = (m.encode(*tensors(tiny.encoder.encode(hist, None, hist[-1]["time"] + dt)))[0]
                       for dt in (60, 3 * 86400))
        assert torch.allclose(soon, later, atol=1e-6) == (query_time == "own")


@pytest.mark.parametrize("switches", [QUERY_AT_NEXT_TIME, HSTU_QUERY_AT_NEXT_TIME], ids=["rope", "hstu-bucket"])
def test_query_time_next_export_parity(tiny, tmp_path, switches):
    """The encode graph shifts the ages it already has: same inputs, and ONNX reproduces PyTorch."""
    manifest = _export(_model(tiny, **switches), tiny, tmp_path, "tiny-query-time-next")
    assert manifest["architecture"]["query_time"] == "next"
    assert check_onnx_parity(tmp_path, json.loads((tmp_path / "golden.json").read_text())) <= 1e-5


@torch.no_grad()
def test_action_input_off_reads_no_action(tiny):
    """With action_input off the same events with other actions (MovieLens: other ratings) give the same user
    embedding and cache; with it on (the default) they do not."""
    hist = tiny.history(7)
    other = [{**e, "action": ACTIONS[1 - ACTIONS.index(e["action"])]} for e in hist]
    t = hist[-1]["time"] + 600
    for action_input in (True, False):
        m = _model(tiny, block="softmax", time_signal="rope", item_text=True, action_input=action_input)
        emb, ck, *_ = m.encode(*tensors(tiny.encoder.encode(hist, None, t)))
        emb2, ck2, *_ = m.encode(*tensors(tiny.encoder.encode(other, None, t)))
        assert torch.allclose(emb, emb2, atol=1e-6) == (not action_input)
        assert torch.allclose(ck, ck2, atol=1e-6) == (not action_input)


def test_action_input_off_export_keeps_the_actions_input(tiny, tmp_path):
    """The published SASRec's inputs (ids only) export under the unchanged bundle contract: the encode graph
    still takes history_actions (the runtime feeds every request alike), and ONNX reproduces PyTorch."""
    manifest = _export(_model(tiny, **PUBLISHED_SASREC_INPUTS), tiny, tmp_path, "tiny-ids-only")
    assert manifest["architecture"]["action_input"] is False
    assert "history_actions" in manifest["graphs"]["encode"]["inputs"]
    assert check_onnx_parity(tmp_path, json.loads((tmp_path / "golden.json").read_text())) <= 1e-5


@pytest.mark.parametrize("switches", [dict(block="softmax", time_signal="rope", item_text=True)] + CONFIGS,
                         ids=lambda c: "-".join(str(v) for v in c.values()))
@torch.no_grad()
def test_prefix_users_row_i_is_encode_of_the_history_cut_after_event_i(tiny, switches):
    """The training-only all-prefix pass (dense loss read at RET) must equal what inference computes
    for each shorter history: same positions, ages, masks, time-bucket bias; left padding ignored.
    With query_time "next" prefix i is the request made at event i + 1's time (ages counted from it)."""
    m = _model(tiny, **switches)
    hist = tiny.history(6)
    items, actions, ages, hq, _ = _pad(tiny.encoder.encode(hist, None, hist[-1]["time"] + 600), 3)
    users = m.prefix_users(items, actions, ages, hq)                        # [1, N, E]
    n = items.shape[1]
    no_query = torch.zeros(1, MAX_Q, dtype=torch.long)
    for i in range(n - 6, n):                                               # the real events' columns
        cut = slice(0, i + 1)
        cut_ages = ages[:, cut] - _request_age(ages, i, switches)
        expected = m.encode(items[:, cut], actions[:, cut], cut_ages, hq[:, cut], no_query)[0]
        torch.testing.assert_close(users[:, i], expected, atol=1e-5, rtol=0)
    assert not torch.allclose(users[:, n - 6], users[:, n - 1], atol=1e-3)  # prefixes differ


@pytest.mark.parametrize("switches", [dict(block="softmax", time_signal="rope", item_text=True)] + CONFIGS,
                         ids=lambda c: "-".join(str(v) for v in c.values()))
@torch.no_grad()
def test_prefix_users_with_the_next_events_queries_is_encode_of_each_search_request(tiny, switches):
    """The dense loss's search rows: row i with a query = encode() of the history cut after event i
    with that query (read at RET, whatever the no-query readout); rows without one stay no-query."""
    m = _model(tiny, **switches)
    hist = tiny.history(6)
    items, actions, ages, hq, q = _pad(tiny.encoder.encode(hist, "ball", hist[-1]["time"] + 600), 3)
    n = items.shape[1]
    searched = torch.zeros(1, n, dtype=torch.bool)
    searched[0, [n - 5, n - 2]] = True                                      # two of the six prefixes searched
    nq = torch.where(searched[..., None], q[:, None, :], torch.zeros_like(q[:, None, :]))  # [1, N, Q]
    users = m.prefix_users(items, actions, ages, hq, next_query_tokens=nq)
    for i in range(n - 6, n):
        cut = slice(0, i + 1)
        cut_ages = ages[:, cut] - _request_age(ages, i, switches)
        expected = m.encode(items[:, cut], actions[:, cut], cut_ages, hq[:, cut], nq[:, i])[0]
        torch.testing.assert_close(users[:, i], expected, atol=1e-5, rtol=0)
    plain = m.prefix_users(items, actions, ages, hq)
    assert not torch.allclose(users[:, n - 2], plain[:, n - 2], atol=1e-3)  # the query changes the row
    torch.testing.assert_close(users[:, n - 1], plain[:, n - 1], atol=1e-6, rtol=0)


@pytest.mark.parametrize("switches", [dict(block="softmax", time_signal="rope", item_text=True, readout="last_event")] + CONFIGS,
                         ids=lambda c: "-".join(str(v) for v in c.values()))
@torch.no_grad()
def test_prefix_users_over_the_causal_pass_of_encode_is_the_same(tiny, switches):
    """Training passes encode()'s cache and history readouts to prefix_users so that the events are
    not run twice in a step: the rows must be those of prefix_users' own event pass."""
    m = _model(tiny, **switches)
    hist = tiny.history(6)
    items, actions, ages, hq, q = _pad(tiny.encoder.encode(hist, "ball", hist[-1]["time"] + 600), 3)
    n = items.shape[1]
    nq = torch.zeros(1, n, q.shape[1], dtype=torch.long)
    nq[0, [n - 5, n - 2]] = q[0]                                            # two of the six prefixes searched
    hidden: list = []
    _, ck, cv, _ = m.encode(items, actions, ages, hq, q, hidden=hidden)
    reused = m.prefix_users(items, actions, ages, hq, next_query_tokens=nq, events=(ck, cv, hidden[0]))
    own = m.prefix_users(items, actions, ages, hq, next_query_tokens=nq)
    torch.testing.assert_close(reused[:, n - 6:], own[:, n - 6:], atol=1e-5, rtol=0)


@pytest.mark.parametrize("readout", ["ret", "last_event"])
@torch.no_grad()
def test_prefix_users_in_a_batch_is_each_row_alone(tiny, readout):
    """Rows of one batch read different prefixes at RET (their own searches, their own lengths), so
    the pass builds one sequence layout per row: a row's embeddings must not depend on its batch."""
    m = _model(tiny, block="softmax", time_signal="rope", item_text=True, readout=readout)
    rows = []
    for events, searched in ((6, [1, 4]), (4, [0, 1, 2])):                 # a different count of searches each
        hist = tiny.history(events)
        items, actions, ages, hq, q = _pad(tiny.encoder.encode(hist, "ball", hist[-1]["time"] + 600), 8 - events)
        mask = torch.zeros(1, items.shape[1], dtype=torch.bool)
        mask[0, [items.shape[1] - events + i for i in searched]] = True
        nq = torch.where(mask[..., None], q[:, None, :], torch.zeros_like(q[:, None, :]))
        rows.append((items, actions, ages, hq, nq))
    batch = [torch.cat(parts) for parts in zip(*rows)]
    together = m.prefix_users(*batch[:4], next_query_tokens=batch[4])
    for r, (items, actions, ages, hq, nq) in enumerate(rows):
        alone = m.prefix_users(items, actions, ages, hq, next_query_tokens=nq)[0]
        real = items[0] > 0
        torch.testing.assert_close(together[r][real], alone[real], atol=1e-5, rtol=0)


@pytest.mark.parametrize("switches", [dict(block="softmax", time_signal="rope", item_text=True)] + CONFIGS,
                         ids=lambda c: "-".join(str(v) for v in c.values()))
@torch.no_grad()
def test_score_every_prefix_column_i_is_score_after_the_history_cut_after_event_i(tiny, switches):
    """The training-only dense ranking call must score event i + 1's item as score() would for a
    request right after event i: the prefix's cache (context token hidden: it saw the whole
    history), the candidate where score() puts it, at event i + 1's age; padding ignored."""
    m = _model(tiny, **switches)
    hist = tiny.history(6)
    items, actions, ages, hq, q = _pad(tiny.encoder.encode(hist, None, hist[-1]["time"] + 600), 3)
    _, ck, cv, _ = m.encode(items, actions, ages, hq, q)
    n = items.shape[1]
    nxt = torch.cat([items[:, 1:], torch.tensor([[11]])], dim=1) * (items > 0)
    got = m.score_every_prefix(ck, cv, items, ages, nxt)                    # [1, N]
    next_age = torch.cat([ages[:, 1:], torch.zeros_like(ages[:, :1])], dim=1)
    for i in range(n - 6, n):
        cut = slice(0, i + 1)
        request_age = _request_age(ages, i, switches)
        _, pk, pv, pm = m.encode(items[:, cut], actions[:, cut], ages[:, cut] - request_age, hq[:, cut], q)
        pm[:, -1] = 0                                                       # hide the context token
        real = (items[:, cut] > 0).sum().item()
        want = m.score(pk, pv, pm, nxt[:, i:i + 1], positions=torch.tensor([[real + 1.0]]),
                       ages=next_age[:, i:i + 1] - request_age)
        torch.testing.assert_close(got[:, i], want[:, 0], atol=1e-5, rtol=0)
