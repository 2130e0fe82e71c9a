import numpy as np
import pytest
import torch

from conftest import rank_head_with_candidate_in_ret_place, tensors
from genrec_trainer.model import MASK_KEY


def _pad(enc, extra_history: int, extra_q: int, extra_hq: int):
    """Left-pad the history by extra_history events and right-pad both kinds of query tokens."""
    i = enc.graph_inputs()
    lp = ((0, 0), (extra_history, 0))
    return [torch.from_numpy(a) for a in (
        np.pad(i["history_items"], lp), np.pad(i["history_actions"], lp), np.pad(i["history_age_seconds"], lp),
        np.pad(i["history_query_tokens"], lp + ((0, extra_hq),)), np.pad(i["query_tokens"], ((0, 0), (0, extra_q))))]


def _tiny_with(tiny, **changes):
    """The tiny model's weights under a config with these switches changed (none of them adds a parameter)."""
    from genrec_trainer.model import GenRecModel

    m = GenRecModel(type(tiny.model.cfg)(**{**tiny.model.cfg.to_dict(), **changes}), tiny.model.item_tokens.clone())
    m.load_state_dict(tiny.model.state_dict())
    return m


@torch.no_grad()
def test_outputs_do_not_depend_on_padding(tiny):
    m = tiny.model
    enc = tiny.encoder.encode(tiny.history(6), "ball goal", tiny.history(7)[-1]["time"])
    assert (enc.history_query_tokens > 0).any(), "the test history should contain a search event"
    emb, ck, cv, cm = m.encode(*tensors(enc))
    emb2, ck2, cv2, cm2 = m.encode(*_pad(enc, extra_history=5, extra_q=3, extra_hq=6))
    torch.testing.assert_close(emb2, emb, atol=1e-5, rtol=0)
    torch.testing.assert_close(ck2[:, :, :, 5:], ck, atol=1e-5, rtol=0)  # the real part of the cache
    torch.testing.assert_close(cv2[:, :, :, 5:], cv, atol=1e-5, rtol=0)
    assert cm2[0, :5].sum() == 0 and torch.equal(cm2[:, 5:], cm)
    cands = torch.tensor([[1, 2, 3, 7]])
    torch.testing.assert_close(m.score(ck2, cv2, cm2, cands), m.score(ck, cv, cm, cands), atol=1e-5, rtol=0)


@torch.no_grad()
def test_all_padding_history_is_finite_and_query_matters(tiny):
    m = tiny.model
    with_q = m.encode(*tensors(tiny.encoder.encode([], "guitar piano", 1_700_000_000)))
    no_q = m.encode(*tensors(tiny.encoder.encode([], None, 1_700_000_000)))
    for out in (*with_q, *no_q):
        assert torch.isfinite(out).all()
    assert not torch.allclose(with_q[0], no_q[0])
    assert torch.isfinite(m.score(*with_q[1:], torch.tensor([[1, 2]]))).all()


@torch.no_grad()
def test_mfalcon_candidate_score_independent_of_other_candidates(tiny):
    m = tiny.model
    n_items = m.cfg.num_items
    encs = [tiny.encoder.encode(tiny.history(5), None, 1_800_000_000),
            tiny.encoder.encode(tiny.history(8), "drum", 1_800_000_000)]
    for enc in encs:
        _, ck, cv, cm = m.encode(*tensors(enc))
        alone = m.score(ck, cv, cm, torch.tensor([[7]]))[0, 0]
        others = torch.randint(1, n_items + 1, (1, 99), generator=torch.Generator().manual_seed(1))
        for pos in (0, 50, 99):
            crowd = torch.cat([others[:, :pos], torch.tensor([[7]]), others[:, pos:]], dim=1)  # [1, 100]
            torch.testing.assert_close(m.score(ck, cv, cm, crowd)[0, pos], alone, atol=1e-5, rtol=0)


@torch.no_grad()
def test_candidate_equals_full_causal_pass_in_ret_place(tiny):
    """The cached two-stream path computes what the full causal model would for a candidate token
    standing where RET stands (same position, age 0, attends to history + context + itself)."""
    m = tiny.model
    enc = tiny.encoder.encode(tiny.history(6), "ball", 1_800_000_000)
    _, ck, cv, cm = m.encode(*tensors(enc))
    want = m.score(ck, cv, cm, torch.tensor([[9]]))[0, 0]
    got = rank_head_with_candidate_in_ret_place(m, enc, 9)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=0)


@torch.no_grad()
@pytest.mark.parametrize("changes", [{}, {"readout": "last_event"}, {"block": "hstu"}])
def test_encode_computes_the_last_layers_output_only_where_it_is_read(tiny, changes):
    """Served, the last layer's output is read at RET (and the last event) only: encode() computes those rows there,
    the training path (hidden, every position read) all of them, and both give the same embedding and cache."""
    from genrec_trainer.model import GenRecModel

    m = GenRecModel(type(tiny.model.cfg)(**{**tiny.model.cfg.to_dict(), **changes}), tiny.model.item_tokens.clone())
    if "block" not in changes:  # an HSTU block has other weights: its own random ones
        m.load_state_dict(tiny.model.state_dict())
    m.eval()
    rows = []
    m.blocks[-1].out.register_forward_hook(lambda module, args, out: rows.append(args[0].shape[1]))
    for query in ("ball goal", None):
        inputs = tensors(tiny.encoder.encode(tiny.history(7), query, tiny.history(8)[-1]["time"]))
        tokens = inputs[0].shape[1] + 2                                     # history, query context, RET
        full = m.encode(*inputs, hidden=[])
        cut = m.encode(*inputs)
        assert rows[-2:] == [tokens, m.cfg.encode_read_rows], (rows, tokens)
        for a, b in zip(full, cut):
            torch.testing.assert_close(b, a, atol=1e-5, rtol=0)


@torch.no_grad()
def test_rotation_matrix_is_the_rotary_of_rows_at_one_place():
    from genrec_trainer.model import TimeRotary, apply_rotary
    rotary = TimeRotary(head_dim=8, time_fraction=0.5, base=10000.0)
    positions = torch.tensor([[3.0], [40.0]])                                 # [B, 1]
    x = torch.randn(2, 2, 5, 8, generator=torch.Generator().manual_seed(0))   # [B, H, K, Dh]
    cos, sin = rotary(positions.expand(2, 5), torch.zeros(2, 5))
    torch.testing.assert_close(x @ rotary.matrix_at_age_zero(positions), apply_rotary(x, cos, sin),
                               atol=1e-6, rtol=0)


@torch.no_grad()
def test_exported_rotary_reads_each_tokens_row_by_its_id(tmp_path):
    """The exported encode graph rotates with ONNX Runtime's RotaryEmbedding, token t of request b reading the row its id
    names in the rows the runtime hands in (rotary_rows.py): each token gets its own rotation, as in PyTorch."""
    import onnx
    import onnxruntime as ort
    from genrec_trainer.model import _rotate_half_split, apply_rotary

    class Rotate(torch.nn.Module):
        def forward(self, x, cos_rows, sin_rows, ids):
            return apply_rotary(x, cos_rows, sin_rows, ids)

    g = torch.Generator().manual_seed(1)
    angles = torch.rand(2 * 5, 4, generator=g) * 50                           # [B * S, Dh/2]
    x = torch.randn(2, 3, 5, 8, generator=g)                                  # [B, H, S, Dh]
    ids = torch.arange(2 * 5).reshape(2, 5)
    torch.onnx.export(Rotate(), (x, angles.cos(), angles.sin(), ids), str(tmp_path / "rotate.onnx"), dynamo=False,
                      opset_version=17, input_names=["x", "cos", "sin", "ids"], output_names=["out"],
                      dynamic_axes={"x": {0: "B", 2: "S"}, "cos": {0: "R"}, "sin": {0: "R"}, "ids": {0: "B", 1: "S"}})
    assert "RotaryEmbedding" in [n.op_type for n in onnx.load(tmp_path / "rotate.onnx").graph.node]
    session = ort.InferenceSession(str(tmp_path / "rotate.onnx"), providers=["CPUExecutionProvider"])
    for b, s in ((2, 5), (1, 3)):  # other shapes than the traced one
        rows = angles[: b * s]
        ids = torch.arange(b * s).reshape(b, s).flip(1)                        # any row for any token
        (out,) = session.run(None, {"x": x[:b, :, :s].numpy(), "cos": rows.cos().numpy(), "sin": rows.sin().numpy(),
                                    "ids": ids.numpy()})
        want = _rotate_half_split(x[:b, :, :s], rows.cos()[ids][:, None], rows.sin()[ids][:, None])
        np.testing.assert_allclose(out, want.numpy(), atol=1e-5)


@torch.no_grad()
def test_score_graph_shortcuts_give_the_general_path_scores(tiny):
    """What the exported score graph takes as given (every candidate at the request's place, so one
    rotation matrix, applied to the cached keys at encode time; candidates' input rows precomputed)
    changes no score against the general path training uses (a rotary angle per candidate, input
    rows computed from the items)."""
    m = tiny.model
    enc = tiny.encoder.encode(tiny.history(6), "ball", 1_800_000_000)
    _, ck, cv, cm = m.encode(*_pad(enc, extra_history=3, extra_q=0, extra_hq=0))
    cands = torch.tensor([[1, 4, 9, 2, 7]])
    general = m.score(ck, cv, cm, cands, positions=cm.sum(-1, keepdim=True).expand(1, 5))
    torch.testing.assert_close(m.score(ck, cv, cm, cands), general, atol=1e-5, rtol=0)
    torch.testing.assert_close(m.score(ck, cv, cm, cands, candidate_rows=m.candidate_table()), general,
                               atol=1e-5, rtol=0)
    _, *cache, mask = m.encode_served(*_pad(enc, extra_history=3, extra_q=0, extra_hq=0))  # the exported encode
    keys, values = cache[:m.cfg.layers], cache[m.cfg.layers:]
    t, dh = ck.shape[3], ck.shape[4]
    assert torch.equal(mask, cm)
    assert [k.shape for k in keys] == [(1, m.cfg.heads, t + 1, dh + 2)] * m.cfg.layers
    assert [v.shape for v in values] == [(1, m.cfg.heads, t + 1, dh)] * m.cfg.layers
    assert not torch.allclose(keys[0][..., :t, :dh], ck[0], atol=1e-3)     # the keys did move ...
    torch.testing.assert_close(m.score_served(keys, values, cands, m.candidate_table()), general,
                               atol=1e-5, rtol=0)                           # ... and the scores did not
    hidden = (cm[0] == 0).nonzero().flatten()
    assert len(hidden) == 3 and (keys[0][0, :, hidden, -1] == MASK_KEY).all()  # the padding, hidden in the product


@torch.no_grad()
def test_time_rope_invariant_to_constant_shift_but_sensitive_to_gaps(tiny):
    m = tiny.model
    hist = tiny.history(6)
    t_req = hist[-1]["time"] + 600
    base = tiny.encoder.encode(hist, "ball", t_req)
    shift = 123_456_789
    shifted = tiny.encoder.encode([{**e, "time": e["time"] + shift} for e in hist], "ball", t_req + shift)
    assert np.array_equal(base.history_age_seconds, shifted.history_age_seconds)
    a, b = m.encode(*tensors(base)), m.encode(*tensors(shifted))
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y, atol=0, rtol=0)
    # ... while changing the gaps (not just shifting) changes the output: time is really used.
    later = tiny.encoder.encode(hist, "ball", t_req + 30 * 86400)
    assert not torch.allclose(m.encode(*tensors(later))[0], a[0], atol=1e-4)


@torch.no_grad()
@pytest.mark.parametrize("time_scale", ["log", "linear"])
def test_linear_time_rope_leaves_the_events_states_independent_of_the_request_time(tiny, time_scale):
    """What the dense loss needs: a prefix inside a longer history (ages counted from a later target) must be
    the prefix served as a request (ages counted from that request). With log-age angles the events' states
    move with the request time; with linear ones only the request's own tokens (context, RET) do."""
    m = _tiny_with(tiny, time_scale=time_scale).eval()
    hist = tiny.history(6)
    soon, later = (m.encode(*tensors(tiny.encoder.encode(hist, None, hist[-1]["time"] + dt)))
                   for dt in (600, 200 * 86400))
    n = len(hist)
    values_soon, values_later = soon[2][:, :, :, :n], later[2][:, :, :, :n]  # [L, B, H, N, Dh]: the events' values
    torch.testing.assert_close(values_soon[0], values_later[0])            # layer 1's: the inputs alone
    if time_scale == "linear":
        torch.testing.assert_close(values_soon, values_later, atol=1e-5, rtol=0)
    else:
        assert not torch.allclose(values_soon[1:], values_later[1:], atol=1e-4)
    assert not torch.allclose(soon[0], later[0], atol=1e-4), "the request's recency still reaches RET"


def test_item_table_is_item_repr_of_every_item_with_the_same_gradients(tiny):
    m = tiny.model
    assert (m.item_tokens > 0).sum(-1).max() > 1, "items with several tokens (the mean matters)"
    everything = torch.arange(m.cfg.num_items + 1)
    torch.testing.assert_close(m.item_table(), m.item_repr(everything), atol=1e-6, rtol=0)
    m.zero_grad()
    (m.item_table() ** 2).sum().backward()
    sparse_grad = m.token_emb.weight.grad.clone()
    m.zero_grad()
    (m.item_repr(everything) ** 2).sum().backward()
    torch.testing.assert_close(sparse_grad, m.token_emb.weight.grad, atol=1e-5, rtol=0)
    m.zero_grad()


@torch.no_grad()
@pytest.mark.parametrize("switch", ["dropout", "attention_dropout"])
def test_dropout_acts_in_training_only(tiny, switch):
    m = _tiny_with(tiny, **{switch: 0.5})
    enc = tiny.encoder.encode(tiny.history(6), None, tiny.history(7)[-1]["time"])
    m.eval()
    torch.testing.assert_close(m.encode(*tensors(enc))[0], tiny.model.encode(*tensors(enc))[0])
    m.train()
    assert not torch.allclose(m.encode(*tensors(enc))[0], tiny.model.encode(*tensors(enc))[0])


@torch.no_grad()
def test_item_id_dropout_leaves_whole_items_with_their_text_alone_in_training_only(tiny):
    m = tiny.model
    full = m.item_table()
    text_alone = full - m.item_id_emb.weight
    m.train()
    try:
        torch.manual_seed(0)
        dropped = m.item_table(id_dropout=0.5)
    finally:
        m.eval()
    is_full = torch.isclose(dropped, full, atol=1e-6).all(-1)
    is_text = torch.isclose(dropped, text_alone, atol=1e-6).all(-1)
    assert bool((is_full | is_text).all()), "each row whole: with its id, or its text alone"
    assert is_text[1:].any() and is_full[1:].any(), "half the items of the tiny catalogue lose their id row"
    torch.testing.assert_close(m.item_table(id_dropout=0.5), full, atol=0, rtol=0)  # eval: nothing dropped
    torch.testing.assert_close(m.cold_item_embeddings(m.item_tokens)[1:],
                               m._retrieval_space(m.item_head(text_alone))[1:], atol=1e-6, rtol=0)
